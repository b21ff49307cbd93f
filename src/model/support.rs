//! What taskrun can run: flags of `build` lines that parse (they are real docker flags) but that
//! taskrun does not carry out yet, and the context and Dockerfile of a build as
//! [`crate::model::buildpath::locate`] resolves them. [`build_refusals`] is the one judgement of
//! a `build` string: `validate` reports it (what ACR runs and taskrun cannot yet as warnings
//! that `run` turns into errors), so nothing runs differently from what the file says and each
//! problem is reported once. Every `docker run` flag of a `cmd` line with an engine API
//! counterpart is carried out (see [`crate::model::runopts`]); the three that read agent files
//! are refused when the line is parsed.
//!
//! `--secret` is carried out for BuildKit builds ([`uses_buildkit`]) and judged here: a value
//! the docker CLI cannot parse, or a secret given to the classic builder, is an error of the
//! file ([`secret_refusals`]).

use crate::diag::Code;
use crate::model::Step;
use crate::model::buildargs::BuildArgs;
use crate::model::buildpath::locate;
use crate::model::buildsecret::parse_secret;

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
/// see the secret, so taskrun refuses it before the run.
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
    let mut out: Vec<(Code, String)> = args
        .other
        .iter()
        .map(|(f, _)| {
            (
                Code::UnsupportedFlag,
                format!("the flag `{f}` is not supported by taskrun yet"),
            )
        })
        .collect();
    let flags = [
        (args.iidfile.is_some(), "--iidfile"),
        (args.squash, "--squash"),
        (args.isolation.is_some(), "--isolation"),
    ];
    for (set, flag) in flags {
        if set {
            out.push((
                Code::UnsupportedFlag,
                format!("the flag `{flag}` is not supported by taskrun yet"),
            ));
        }
    }
    out
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
