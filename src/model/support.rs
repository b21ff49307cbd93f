//! What taskrun can run: flags of `build` lines that parse (they are real docker flags) but that
//! taskrun does not carry out yet, and the context and Dockerfile of a build as
//! [`crate::model::buildpath::locate`] resolves them. [`build_refusals`] is the one judgement of
//! a `build` string: `validate` reports it (what ACR runs and taskrun cannot yet as warnings
//! that `run` turns into errors), so nothing runs differently from what the file says and each
//! problem is reported once. Every `docker run` flag of a `cmd` line with an engine API
//! counterpart is carried out (see [`crate::model::runopts`]); the three that read agent files
//! are refused when the line is parsed.

use crate::diag::Code;
use crate::model::Step;
use crate::model::buildargs::BuildArgs;
use crate::model::buildpath::locate;

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
    if !args.secrets.is_empty() {
        out.push((
            Code::UnsupportedFlag,
            "the flag `--secret` is not supported by taskrun yet: BuildKit reads build secrets \
             from a session the client serves over the engine's `/session` endpoint (gRPC), \
             and taskrun's engine client (bollard 0.21) offers no secrets session for engine \
             builds"
                .to_owned(),
        ));
    }
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
}

/// Everything that stops a parsed `build` string from running: unsupported flags and the
/// context and Dockerfile as [`locate`] resolves them.
pub fn build_refusals(step: &Step, args: &BuildArgs) -> Vec<BuildRefusal> {
    let mut out: Vec<BuildRefusal> = unsupported_build(args)
        .into_iter()
        .map(|(code, message)| BuildRefusal {
            code,
            unsupported: true,
            message,
        })
        .collect();
    if let Err(e) = locate(step, args) {
        out.push(BuildRefusal {
            code: Code::BuildPath,
            unsupported: false,
            message: e.to_string(),
        });
    }
    out
}
