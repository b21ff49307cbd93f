//! Where a `build` step's context and Dockerfile are in the run's `/workspace`, resolved the way
//! the docker CLI in acb's build container resolves them: the context and `-f` are relative to
//! the step's working directory, the default Dockerfile is `<context>/Dockerfile`, and paths are
//! cleaned like Go's `path.Clean`.
//!
//! A Dockerfile outside the context (`-f Dockerfile sub`, `-f ../x/Dockerfile .`) is allowed, as
//! `docker build` allows it: the CLI sends it inside the context archive under a generated name.
//! What taskrun refuses is a context or Dockerfile that leaves `/workspace` (it never reads the
//! host) and a remote context (not fetched yet). Both `validate` and `run` call [`locate`], so
//! they judge a build string the same way.

use crate::model::Step;
use crate::model::buildargs::{BuildArgs, ContextKind};

/// The root of the run's shared volume inside step containers.
pub const WORKSPACE: &str = "/workspace";

/// Where the context and Dockerfile of a build are inside the workspace volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The context directory relative to the volume root (empty for the root).
    pub context: String,
    /// The Dockerfile.
    pub dockerfile: DockerfilePlace,
}

/// Where a build's Dockerfile is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerfilePlace {
    /// Inside the context; the path is relative to the context directory.
    Inside(String),
    /// Outside the context but inside the workspace; the path is relative to the volume root.
    /// It is sent in the context archive under a generated `.dockerfile.<hex>` name, as the
    /// docker CLI does.
    Outside(String),
}

impl Located {
    /// The Dockerfile's path relative to the volume root.
    pub fn dockerfile_in_workspace(&self) -> String {
        match &self.dockerfile {
            DockerfilePlace::Inside(rel) => join(&self.context, rel),
            DockerfilePlace::Outside(rel) => rel.clone(),
        }
    }

    /// The Dockerfile's path inside the context, when it is inside.
    pub fn dockerfile_in_context(&self) -> Option<&str> {
        match &self.dockerfile {
            DockerfilePlace::Inside(rel) => Some(rel),
            DockerfilePlace::Outside(_) => None,
        }
    }

    /// The volume path whose *contents* are the context (`docker cp` `path/.` semantics).
    pub fn volume_path_contents(&self) -> String {
        join(&self.context, ".")
    }

    /// The ignore files that may apply, relative to the volume root, in order of precedence:
    /// `<Dockerfile>.dockerignore` next to the Dockerfile (also when the Dockerfile is outside
    /// the context), then the context's `.dockerignore`.
    pub fn ignore_candidates(&self) -> Vec<String> {
        vec![
            format!("{}.dockerignore", self.dockerfile_in_workspace()),
            join(&self.context, ".dockerignore"),
        ]
    }
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Why a build's context or Dockerfile cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    /// The sub-directory of a remote git context (`#ref:subdir`) leaves the fetched files.
    #[error("the sub-directory `{subdir}` of the build context is outside the fetched files")]
    SubdirOutside {
        /// The sub-directory as written.
        subdir: String,
    },
    /// The context directory resolves outside `/workspace`.
    #[error(
        "the build context `{given}` resolves to `{resolved}`, outside /workspace; taskrun \
         builds only from the shared workspace"
    )]
    ContextOutsideWorkspace {
        /// The context as written.
        given: String,
        /// The cleaned absolute path.
        resolved: String,
    },
    /// The Dockerfile resolves outside `/workspace`.
    #[error(
        "the Dockerfile `{given}` resolves to `{resolved}`, outside /workspace; taskrun reads \
         Dockerfiles only from the shared workspace"
    )]
    DockerfileOutsideWorkspace {
        /// The `-f` value as written.
        given: String,
        /// The cleaned absolute path.
        resolved: String,
    },
}

/// The step's working directory as the build container sees it (`/workspace` by default; a
/// relative one is below `/workspace`; `disableWorkingDirectoryOverride` keeps `/workspace`).
fn step_dir(step: &Step) -> String {
    match step.working_directory.as_deref() {
        _ if step.disable_working_directory_override => WORKSPACE.to_owned(),
        None | Some("") => WORKSPACE.to_owned(),
        Some(wd) if wd.starts_with('/') => clean(wd),
        Some(wd) => clean(&format!("{WORKSPACE}/{wd}")),
    }
}

/// Go's `path.Clean` for absolute paths.
pub fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

fn under_workspace(abs: &str) -> Option<String> {
    if abs == WORKSPACE {
        return Some(String::new());
    }
    abs.strip_prefix("/workspace/").map(str::to_owned)
}

/// The working directory of a build step's docker CLI (absolute): the step's own, or for a
/// remote context `/workspace/<stepID>[/<subdir>]` (acb, reference §5.1.3). Relative paths of
/// the build string (context, `-f`, `--secret src=`) are relative to it.
pub fn build_workdir(step: &Step, args: &BuildArgs) -> Result<String, LocateError> {
    match &args.context {
        ContextKind::Local(_) => Ok(step_dir(step)),
        remote => {
            let fetched = clean(&format!("{WORKSPACE}/{}", step.id));
            let subdir = match remote {
                ContextKind::GitUrl { subdir, .. } => subdir.as_deref(),
                _ => None,
            };
            let wd = match subdir {
                Some(sub) => clean(&format!("{fetched}/{sub}")),
                None => fetched.clone(),
            };
            if wd != fetched && !wd.starts_with(&format!("{fetched}/")) {
                return Err(LocateError::SubdirOutside {
                    subdir: subdir.unwrap_or_default().to_owned(),
                });
            }
            Ok(wd)
        }
    }
}

/// `path` of the build string (`--secret src=`, `--iidfile`) as an absolute, cleaned path of
/// the build's docker CLI: a relative one is relative to [`build_workdir`] (`/workspace` when
/// that cannot be found).
pub fn cli_path(step: &Step, args: &BuildArgs, path: &str) -> String {
    if path.starts_with('/') {
        return clean(path);
    }
    let workdir = build_workdir(step, args).unwrap_or_else(|_| WORKSPACE.to_owned());
    clean(&format!("{workdir}/{path}"))
}

/// Resolves the context and Dockerfile of a build step against its working directory. Pure:
/// whether the files exist is for the caller (they may be written by an earlier step).
pub fn locate(step: &Step, args: &BuildArgs) -> Result<Located, LocateError> {
    // A remote context is fetched into `<stepID>` and built from `/workspace/<stepID>[/<subdir>]`
    // with context `.`, whatever the step's `workingDirectory` (acb, reference §5.1.3).
    let wd = build_workdir(step, args)?;
    let ctx_path = match &args.context {
        ContextKind::Local(ctx_path) => ctx_path.clone(),
        _ => ".".to_owned(),
    };
    let ctx_path = &ctx_path;
    let resolve = |p: &str| {
        if p.starts_with('/') {
            clean(p)
        } else {
            clean(&format!("{wd}/{p}"))
        }
    };
    let ctx_abs = resolve(ctx_path);
    let Some(context) = under_workspace(&ctx_abs) else {
        return Err(LocateError::ContextOutsideWorkspace {
            given: ctx_path.to_string(),
            resolved: ctx_abs,
        });
    };
    let df_abs = match &args.dockerfile {
        Some(f) => resolve(f),
        None => format!("{}/Dockerfile", ctx_abs.trim_end_matches('/')),
    };
    let Some(df_ws) = under_workspace(&df_abs).filter(|d| !d.is_empty()) else {
        return Err(LocateError::DockerfileOutsideWorkspace {
            given: args.dockerfile.clone().unwrap_or_default(),
            resolved: df_abs,
        });
    };
    let prefix = format!("{}/", ctx_abs.trim_end_matches('/'));
    let dockerfile = match df_abs.strip_prefix(&prefix) {
        Some(rel) => DockerfilePlace::Inside(rel.to_owned()),
        None => DockerfilePlace::Outside(df_ws),
    };
    Ok(Located {
        context,
        dockerfile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StepKind;
    use crate::model::buildargs::parse_build;

    fn located(wd: Option<&str>, build: &str) -> Result<Located, LocateError> {
        let mut s = Step::new(0, "b".into(), StepKind::Build(build.into()));
        s.working_directory = wd.map(str::to_owned);
        locate(&s, &parse_build(build).unwrap())
    }

    fn inside(context: &str, dockerfile: &str) -> Located {
        Located {
            context: context.into(),
            dockerfile: DockerfilePlace::Inside(dockerfile.into()),
        }
    }

    #[test]
    fn remote_contexts_build_from_the_step_directory() {
        // `<stepID>[/<subdir>]`, context `.`, the working directory ignored (acb).
        assert_eq!(
            located(Some("src"), "https://github.com/a/b.git#main:app").unwrap(),
            inside("b/app", "Dockerfile")
        );
        assert_eq!(
            located(None, "-f docker/Dockerfile.x git://h/r.git").unwrap(),
            inside("b", "docker/Dockerfile.x")
        );
        assert!(
            located(None, "http://h/c.tar.gz#x").is_ok_and(|l| l.context == "b"),
            "a tarball has no sub-directory"
        );
        assert!(matches!(
            located(None, "https://h/r.git#main:../.."),
            Err(LocateError::SubdirOutside { .. })
        ));
        assert!(matches!(
            located(None, "-f ../../Dockerfile https://h/r.git"),
            Err(LocateError::DockerfileOutsideWorkspace { .. })
        ));
    }

    #[test]
    fn dockerfile_inside_the_context() {
        assert_eq!(located(None, "-t a .").unwrap(), inside("", "Dockerfile"));
        assert_eq!(
            located(None, "-f app/Dockerfile.x app").unwrap(),
            inside("app", "Dockerfile.x")
        );
        assert_eq!(
            located(Some("src"), "-f docker/Dockerfile .").unwrap(),
            inside("src", "docker/Dockerfile")
        );
        assert_eq!(
            located(None, "-f sub/../Dockerfile .").unwrap(),
            inside("", "Dockerfile")
        );
    }

    #[test]
    fn dockerfile_outside_the_context_but_in_the_workspace() {
        let l = located(None, "-f Dockerfile sub").unwrap();
        assert_eq!(l.context, "sub");
        assert_eq!(l.dockerfile, DockerfilePlace::Outside("Dockerfile".into()));
        assert_eq!(l.dockerfile_in_workspace(), "Dockerfile");
        assert_eq!(
            l.ignore_candidates(),
            ["Dockerfile.dockerignore", "sub/.dockerignore"]
        );
        assert_eq!(l.volume_path_contents(), "sub/.");
        let l = located(Some("app"), "-f ../x/Dockerfile .").unwrap();
        assert_eq!(l.context, "app");
        assert_eq!(
            l.dockerfile,
            DockerfilePlace::Outside("x/Dockerfile".into())
        );
        assert_eq!(l.dockerfile_in_context(), None);
        let l = located(None, "-f /workspace/d/Dockerfile /workspace/c").unwrap();
        assert_eq!(
            l.dockerfile,
            DockerfilePlace::Outside("d/Dockerfile".into())
        );
    }

    #[test]
    fn paths_leaving_the_workspace_are_errors() {
        assert!(matches!(
            located(None, "-f ../../etc/passwd ."),
            Err(LocateError::DockerfileOutsideWorkspace { ref resolved, .. }) if resolved == "/etc/passwd"
        ));
        assert!(matches!(
            located(None, "-f .. ."),
            Err(LocateError::DockerfileOutsideWorkspace { .. })
        ));
        assert!(matches!(
            located(None, "/etc"),
            Err(LocateError::ContextOutsideWorkspace { .. })
        ));
        assert!(matches!(
            located(None, "-f ../Dockerfile .."),
            Err(LocateError::ContextOutsideWorkspace { .. })
        ));
    }

    #[test]
    fn disabled_working_directory_override_builds_from_the_workspace() {
        let mut s = Step::new(0, "b".into(), StepKind::Build("-f ../D .".into()));
        s.working_directory = Some("sub".into());
        s.disable_working_directory_override = true;
        assert!(matches!(
            locate(&s, &parse_build("-f ../D .").unwrap()),
            Err(LocateError::DockerfileOutsideWorkspace { .. })
        ));
    }
}
