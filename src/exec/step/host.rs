//! Where a `build` step reads its context: the CONTEXT directory on this machine, or the
//! workspace volume.
//!
//! The workspace starts as a copy of the CONTEXT directory (minus what its root `.dockerignore`
//! excludes), and only `cmd` steps can change it: they alone mount `/workspace` writable; builds
//! and pushes never write it. So until the first `cmd` step of the run starts, a build's context
//! in the workspace is exactly its context in the CONTEXT directory, and the build can send it
//! straight from there: one pass over the bytes, as `docker build` makes, instead of seeding the
//! volume, reading it back through the engine and sending it again. Once any `cmd` step has
//! started (the executor sets [`RunEnv::cmd_started`](crate::exec::setup::RunEnv::cmd_started) before the step's container is created,
//! started or released from the gate), every build reads the volume as before, so a build never
//! misses a file an earlier step wrote. A build that reads the host while a parallel `cmd` step
//! starts sees the workspace as it was before that step: a valid order of two parallel steps.
//!
//! Whether a build *can* read the host is decided once, when the run is prepared
//! ([`host_eligible`]), from the CONTEXT directory's files, so that the decision to skip seeding
//! the workspace (a task without `cmd` steps whose builds all read the host) and the builds
//! agree. The host route is only taken when it is the same tree with the same rules:
//!
//! * the build has no `--secret` (its files are read from the volumes, see
//!   `step::buildsecrets`);
//! * the build's context is local, its path and the Dockerfile's contain no symlink (the volume
//!   would resolve a link inside the volume, the host outside it), the Dockerfile is a regular
//!   file, and each ignore file is a regular file or absent;
//! * without a root `.dockerignore` the workspace is the whole directory, so any context
//!   directory qualifies; with one, the workspace lacks what it excludes, so only a build of the
//!   root context whose ignore file is that same `.dockerignore` (no `<Dockerfile>.dockerignore`)
//!   and whose Dockerfile it does not exclude qualifies.
//!
//! The user's directory is only read, never written.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::context::{self, ContextStream, DockerIgnore};
use crate::engine::Engine;
use crate::exec::step::StepContext;
use crate::exec::step::failure::StepFailure;
use crate::model::buildargs::ContextKind;
use crate::model::buildpath::{DockerfilePlace, Located, locate};
use crate::model::{Step, StepKind, Task};

/// Where one attempt of a build reads its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContextSource {
    /// The CONTEXT directory on this machine (no `cmd` step has started yet).
    Host(PathBuf),
    /// The workspace volume, through the engine.
    Volume,
}

impl ContextSource {
    /// The source of `step`'s context now: the host while no `cmd` step has started and the
    /// step qualified when the run was prepared, else the volume.
    pub(crate) fn now<E: Engine>(ctx: &StepContext<E>, step: &Step) -> Self {
        if ctx.env.host_builds.contains(&step.id) && !ctx.env.cmd_started.load(Ordering::SeqCst) {
            ContextSource::Host(ctx.options.context_dir.clone())
        } else {
            ContextSource::Volume
        }
    }
}

/// The build steps of `task` that can read their context from the CONTEXT directory `dir` (see
/// the module docs).
pub(crate) fn host_builds(task: &Task, dir: &Path) -> BTreeSet<String> {
    task.steps
        .iter()
        .filter(|s| host_eligible(s, dir))
        .map(|s| s.id.clone())
        .collect()
}

/// Whether the workspace needs seeding: a `cmd` step may read it, a build may read it (it does
/// not qualify for the host), or the user keeps it.
pub(crate) fn needs_seeding(task: &Task, host_builds: &BTreeSet<String>, keep: bool) -> bool {
    keep || task.steps.iter().any(|s| match &s.kind {
        StepKind::Cmd(_) => true,
        StepKind::Build(_) => !host_builds.contains(&s.id),
        StepKind::Push(_) => false,
    })
}

/// Whether `step` is a build whose context and Dockerfile are the same on the host as in a
/// freshly seeded workspace.
pub(crate) fn host_eligible(step: &Step, dir: &Path) -> bool {
    let StepKind::Build(args) = &step.kind else {
        return false;
    };
    let Some(parsed) = args.parsed() else {
        return false;
    };
    // A `--secret` file is read from the workspace as the build container sees it (with the
    // root `.dockerignore` applied and the step's volumes), so such a build uses the volume.
    if !matches!(parsed.context, ContextKind::Local(_)) || !parsed.secrets.is_empty() {
        return false;
    }
    let Ok(plan) = locate(step, parsed) else {
        return false;
    };
    plan_eligible(&plan, dir)
}

/// What a path of the CONTEXT directory is, without following symlinks along it.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Absent,
    File,
    Dir,
    /// A symlink along the path, or something else.
    Other,
}

fn kind(dir: &Path, rel: &str) -> Kind {
    let mut path = dir.to_path_buf();
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if *part == ".." {
            return Kind::Other;
        }
        path.push(part);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Kind::Absent,
            Err(_) => return Kind::Other,
        };
        let last = i + 1 == parts.len();
        if meta.is_dir() {
            if last {
                return Kind::Dir;
            }
        } else if meta.is_file() && last {
            return Kind::File;
        } else {
            return Kind::Other;
        }
    }
    // Only reached for the root itself (no parts).
    if fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        Kind::Dir
    } else {
        Kind::Other
    }
}

fn plan_eligible(plan: &Located, dir: &Path) -> bool {
    if kind(dir, &plan.context) != Kind::Dir
        || kind(dir, &plan.dockerfile_in_workspace()) != Kind::File
    {
        return false;
    }
    let candidates = plan.ignore_candidates();
    if candidates
        .iter()
        .any(|c| !matches!(kind(dir, c), Kind::Absent | Kind::File))
    {
        return false;
    }
    match kind(dir, ".dockerignore") {
        Kind::Absent => true,
        Kind::File => {
            // The workspace lacks what the root rules exclude: the same only for a build of the
            // root context with those rules, whose Dockerfile they keep.
            let Some(rules) = read_small(&dir.join(".dockerignore"))
                .and_then(|text| DockerIgnore::parse(&text).ok())
            else {
                return false;
            };
            plan.context.is_empty()
                && kind(dir, &candidates[0]) == Kind::Absent
                && !rules.is_excluded(&plan.dockerfile_in_workspace())
        }
        _ => false,
    }
}

/// The largest ignore file or Dockerfile read from the host (as the volume route's limit).
const MAX_FILE: u64 = 16 << 20;

fn read_small(path: &Path) -> Option<String> {
    let mut text = String::new();
    fs::File::open(path)
        .ok()?
        .take(MAX_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The build's context read from the CONTEXT directory `dir`, with its ignore rules and
/// Dockerfile handled as the volume route handles them: the stream and the Dockerfile's name in
/// it.
pub(crate) async fn context_from_host(
    dir: &Path,
    plan: &Located,
) -> Result<(ContextStream, String), StepFailure> {
    let (dir, plan) = (dir.to_path_buf(), plan.clone());
    tokio::task::spawn_blocking(move || context_from_host_blocking(&dir, &plan))
        .await
        .map_err(|e| StepFailure::new(format!("unable to prepare context: {e}")))?
}

fn context_from_host_blocking(
    dir: &Path,
    plan: &Located,
) -> Result<(ContextStream, String), StepFailure> {
    let mut ignore = DockerIgnore::default();
    for candidate in plan.ignore_candidates() {
        if kind(dir, &candidate) == Kind::File {
            let text = read_small(&dir.join(&candidate)).unwrap_or_default();
            ignore = DockerIgnore::parse(&text).map_err(|e| {
                StepFailure::new(format!(
                    "unable to prepare context: invalid ignore file /workspace/{candidate}: {e}"
                ))
            })?;
            break;
        }
    }
    let context_dir = if plan.context.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(&plan.context)
    };
    let unable =
        |e: context::ContextError| StepFailure::new(format!("unable to prepare context: {e}"));
    match &plan.dockerfile {
        DockerfilePlace::Inside(rel) => {
            let tar = context::context_tar(&context_dir, Some(rel), &ignore).map_err(unable)?;
            let name = tar.dockerfile().unwrap_or(rel).to_owned();
            Ok((tar.into_stream(), name))
        }
        DockerfilePlace::Outside(path) => {
            let bytes = read_dockerfile(dir, path)?;
            let mut tar = context::context_tar(&context_dir, None, &ignore).map_err(unable)?;
            let name = tar.add_outside_dockerfile(bytes);
            Ok((tar.into_stream(), name))
        }
    }
}

fn read_dockerfile(dir: &Path, path: &str) -> Result<Vec<u8>, StepFailure> {
    let shown = format!("/workspace/{path}");
    let mut bytes = Vec::new();
    fs::File::open(dir.join(path))
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| {
            StepFailure::new(format!(
                "unable to prepare context: cannot read the Dockerfile {shown}: {e}"
            ))
        })?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(StepFailure::new(format!(
            "unable to prepare context: the Dockerfile {shown} is larger than 16 MiB"
        )));
    }
    Ok(bytes)
}

/// The Dockerfile's text from the host (for the base-image scans), empty when unreadable.
pub(crate) fn dockerfile_text(dir: &Path, plan: &Located) -> String {
    read_small(&dir.join(plan.dockerfile_in_workspace())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(context: &str, dockerfile: DockerfilePlace) -> Located {
        Located {
            context: context.to_owned(),
            dockerfile,
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("taskrun-host-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_plain_directory_qualifies_for_any_local_context() {
        let d = tmp("plain");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/Dockerfile"), "FROM x\n").unwrap();
        fs::write(d.join("Dockerfile"), "FROM x\n").unwrap();
        let inside = located("sub", DockerfilePlace::Inside("Dockerfile".into()));
        assert!(plan_eligible(&inside, &d));
        let outside = located("sub", DockerfilePlace::Outside("Dockerfile".into()));
        assert!(plan_eligible(&outside, &d));
        let missing = located("", DockerfilePlace::Inside("nope".into()));
        assert!(!plan_eligible(&missing, &d));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_root_dockerignore_limits_the_host_route_to_the_root_context_with_those_rules() {
        let d = tmp("ignore");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/Dockerfile"), "FROM x\n").unwrap();
        fs::write(d.join("Dockerfile"), "FROM x\n").unwrap();
        fs::write(d.join(".dockerignore"), "big\n").unwrap();
        let root = located("", DockerfilePlace::Inside("Dockerfile".into()));
        assert!(plan_eligible(&root, &d));
        let sub = located("sub", DockerfilePlace::Inside("Dockerfile".into()));
        assert!(!plan_eligible(&sub, &d));
        fs::write(d.join("Dockerfile.dockerignore"), "other\n").unwrap();
        assert!(!plan_eligible(&root, &d));
        fs::remove_file(d.join("Dockerfile.dockerignore")).unwrap();
        fs::write(d.join(".dockerignore"), "Dockerfile\n").unwrap();
        assert!(!plan_eligible(&root, &d));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn symlinks_along_the_paths_keep_the_volume_route() {
        let d = tmp("links");
        fs::create_dir_all(d.join("real")).unwrap();
        fs::write(d.join("real/Dockerfile"), "FROM x\n").unwrap();
        std::os::unix::fs::symlink("real", d.join("link")).unwrap();
        let via_link = located("link", DockerfilePlace::Inside("Dockerfile".into()));
        assert!(!plan_eligible(&via_link, &d));
        std::os::unix::fs::symlink("real/Dockerfile", d.join("Dockerfile")).unwrap();
        let linked_file = located("", DockerfilePlace::Inside("Dockerfile".into()));
        assert!(!plan_eligible(&linked_file, &d));
        let _ = fs::remove_dir_all(&d);
    }
}
