//! What taskrun can run: flags of `build` lines that parse (they are real docker flags) but that
//! taskrun does not carry out yet, and the context and Dockerfile of a build as
//! [`crate::model::buildpath::locate`] resolves them. [`build_refusals`] is the one judgement of
//! a `build` string: `validate` reports it (what ACR runs and taskrun cannot yet as warnings
//! that `run` turns into errors), so nothing runs differently from what the file says and each
//! problem is reported once. Every `docker run` flag of a `cmd` line with an engine API
//! counterpart is carried out (see [`crate::model::runopts`]); the three that read agent files
//! are refused when the line is parsed.
//!
//! `--secret` is carried out for BuildKit builds ([`uses_buildkit`]) and judged here
//! ([`secret_refusals`]): a value the docker CLI cannot parse, or a secret given to the classic
//! builder, is an error of the file; a secret file taskrun cannot have (outside `/workspace`
//! and the step's mounts) is unsupported.

use crate::diag::Code;
use crate::model::Step;
use crate::model::buildargs::BuildArgs;
use crate::model::buildpath::{WORKSPACE, build_workdir, clean, locate};
use crate::model::buildsecret::{SecretSource, cli_env, file_place, parse_secret};

/// Whether a `build` step builds with BuildKit: acb builds with the legacy builder unless the
/// step's merged env holds exactly `DOCKER_BUILDKIT=1`, and with buildx when it has
/// `cache: enabled`.
pub fn uses_buildkit(step: &Step) -> bool {
    step.cache || step.env.iter().any(|e| e == "DOCKER_BUILDKIT=1")
}

/// What is wrong with a build's `--secret` flags: a value the docker CLI rejects, or secrets
/// for the classic builder. acb runs the classic builder with `DOCKER_BUILDKIT=0` unless the
/// step's env says `DOCKER_BUILDKIT=1`, and its docker CLI then cannot pass the secret: the
/// 23.0-and-later CLI has no `--secret` on the legacy `docker build` (`unknown flag: --secret`,
/// the step fails), and the 20.10 CLI ignores the flag (a `RUN --mount=type=secret` then fails
/// in the classic builder: `the --mount option requires BuildKit`). Either way the build cannot
/// see the secret, so taskrun refuses it before the run. A secret file outside `/workspace`
/// and the step's mounts (the CLI container's own files on ACR) is unsupported: `validate`
/// warns, `run` refuses.
pub fn secret_refusals(step: &Step, args: &BuildArgs) -> Vec<BuildRefusal> {
    let mut out = Vec::new();
    if let Some((value, message)) = args
        .secrets
        .iter()
        .find_map(|v| parse_secret(v).err().map(|e| (v, e)))
    {
        out.push(BuildRefusal {
            code: Code::BuildSecret,
            unsupported: false,
            message: format!("`--secret {value}`: {message}"),
            help: Some(
                "write it as `--secret id=ID[,src=PATH|env=VAR][,type=file|env]`, as \
                 `docker build` takes it",
            ),
            at: Some(value.clone()),
        });
    }
    // A file that can never be read: outside /workspace and the step's mounts (on ACR the
    // docker CLI container's own files are there too, which taskrun does not have).
    let env = cli_env(step);
    let workdir = build_workdir(step, args).unwrap_or_else(|_| WORKSPACE.to_owned());
    for value in &args.secrets {
        let Ok(spec) = parse_secret(value) else {
            continue;
        };
        let SecretSource::File(path) = spec.source(|name| env.iter().any(|(k, _)| k == name))
        else {
            continue;
        };
        let abs = if path.starts_with('/') {
            clean(&path)
        } else {
            clean(&format!("{workdir}/{path}"))
        };
        if file_place(&abs, &step.volume_mounts).is_none() {
            out.push(BuildRefusal {
                code: Code::BuildSecret,
                unsupported: true,
                message: format!(
                    "`--secret {value}`: the file {}, outside /workspace and the step's \
                     volumeMounts; taskrun reads secret files only from those",
                    if path == abs {
                        format!("`{abs}` is")
                    } else {
                        format!("`{path}` resolves to `{abs}`")
                    }
                ),
                help: None,
                at: Some(value.clone()),
            });
        }
    }
    if !args.secrets.is_empty() && !uses_buildkit(step) {
        out.push(BuildRefusal {
            code: Code::BuildSecret,
            unsupported: false,
            message: "`--secret` requires BuildKit: acb builds this step with the classic \
                      builder (DOCKER_BUILDKIT=0), whose docker CLI rejects or ignores the \
                      flag, so the build never sees the secret"
                .to_owned(),
            help: Some(
                "add `DOCKER_BUILDKIT=1` to the step's `env:` (as ACR's docs say for build \
                 secrets)",
            ),
            at: Some("--secret".to_owned()),
        });
    }
    out
}

/// Flags of a `build` string that taskrun cannot carry out yet, each with the code that names it.
pub fn unsupported_build(args: &BuildArgs) -> Vec<(Code, String)> {
    args.other
        .iter()
        .map(|(f, _)| {
            (
                Code::UnsupportedFlag,
                format!("the flag `{f}` is not supported by taskrun yet"),
            )
        })
        .collect()
}

/// Why a `build` step cannot run as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRefusal {
    /// The code that names the problem.
    pub code: Code,
    /// True when ACR runs it and taskrun cannot yet (a flag): `validate`
    /// warns, `run` refuses. False for a path taskrun never reads (outside `/workspace`): an
    /// error of the file for both.
    pub unsupported: bool,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when the code's general advice does not fit.
    pub help: Option<&'static str>,
    /// The text in the build string the problem is about (its first occurrence is labelled).
    pub at: Option<String>,
}

/// Everything that stops a parsed `build` string from running: unsupported flags, `--secret`
/// problems ([`secret_refusals`]) and the context and Dockerfile as [`locate`] resolves them.
pub fn build_refusals(step: &Step, args: &BuildArgs) -> Vec<BuildRefusal> {
    let mut out: Vec<BuildRefusal> = unsupported_build(args)
        .into_iter()
        .map(|(code, message)| BuildRefusal {
            code,
            unsupported: true,
            message,
            help: None,
            at: None,
        })
        .collect();
    out.extend(secret_refusals(step, args));
    if let Err(e) = locate(step, args) {
        out.push(BuildRefusal {
            code: Code::BuildPath,
            unsupported: false,
            message: e.to_string(),
            help: None,
            at: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::buildargs::parse_build;
    use crate::model::{StepKind, VolumeMount};

    fn refusals(build: &str, env: &[&str], mounts: &[(&str, &str)]) -> Vec<BuildRefusal> {
        let mut step = Step::new(0, "b".into(), StepKind::Build(build.into()));
        step.env = env.iter().map(|e| (*e).to_owned()).collect();
        step.volume_mounts = mounts
            .iter()
            .map(|(name, path)| VolumeMount {
                name: (*name).into(),
                mount_path: (*path).into(),
            })
            .collect();
        let args = parse_build(build).unwrap();
        secret_refusals(&step, &args)
    }

    #[test]
    fn buildkit_secrets_in_the_workspace_or_a_mount_pass() {
        let bk = ["DOCKER_BUILDKIT=1", "TOK=v"];
        assert!(refusals("--secret id=a,src=f .", &bk, &[]).is_empty());
        assert!(refusals("--secret id=a,src=/run/s/f .", &bk, &[("sv", "/run/s")]).is_empty());
        assert!(refusals("--secret id=TOK .", &bk, &[]).is_empty());
        assert!(refusals("-t x .", &[], &[]).is_empty());
    }

    #[test]
    fn bad_values_classic_builds_and_outside_files_are_refused() {
        let r = refusals("--secret id=a,mode=1 .", &["DOCKER_BUILDKIT=1"], &[]);
        assert_eq!(r.len(), 1);
        assert!(!r[0].unsupported);
        assert_eq!(r[0].at.as_deref(), Some("id=a,mode=1"));
        assert!(
            r[0].message.contains("unexpected key 'mode'"),
            "{}",
            r[0].message
        );

        let r = refusals("--secret id=a,src=f .", &[], &[]);
        assert_eq!(r.len(), 1);
        assert!(r[0].message.contains("requires BuildKit"));
        assert_eq!(r[0].at.as_deref(), Some("--secret"));

        for build in [
            "--secret id=a,src=/etc/hostname .",
            "--secret id=a,src=../x .",
        ] {
            let r = refusals(build, &["DOCKER_BUILDKIT=1"], &[]);
            assert_eq!(r.len(), 1, "{build}");
            assert!(r[0].unsupported);
            assert!(
                r[0].message.contains("outside /workspace"),
                "{}",
                r[0].message
            );
        }
        // A bare id names a file when the step's env does not set it.
        let r = refusals("--secret id=a .", &["DOCKER_BUILDKIT=1"], &[]);
        assert!(r.is_empty(), "{r:?}");
    }
}
