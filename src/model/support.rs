//! What taskrun can run: flags of `cmd` and `build` lines that parse (they are real docker
//! flags) but that taskrun does not carry out yet. `validate` warns about them (ACR runs them)
//! and `run` refuses to start, so nothing runs differently from what the file says. [`build_refusals`]
//! is the one judgement of a `build` string that both `validate` and `run` use.

use crate::model::Step;
use crate::model::buildargs::BuildArgs;
use crate::model::buildpath::locate;
use crate::model::cmdline::RunFlags;

/// The `docker run` flags of a `cmd` line that taskrun does not carry out.
pub fn unsupported_run_flags(flags: &RunFlags) -> Vec<String> {
    flags
        .other
        .iter()
        .map(|(f, _)| f.clone())
        .chain(flags.ipc.as_ref().map(|_| "--ipc".to_owned()))
        .chain(flags.shm_size.as_ref().map(|_| "--shm-size".to_owned()))
        .chain((!flags.ulimits.is_empty()).then(|| "--ulimit".to_owned()))
        .chain((!flags.mounts.is_empty()).then(|| "--mount".to_owned()))
        .chain(flags.publish_all.then(|| "--publish-all".to_owned()))
        .chain(flags.isolation.as_ref().map(|_| "--isolation".to_owned()))
        .collect()
}

/// Flags of a `build` string that taskrun cannot carry out yet (the context and Dockerfile are
/// judged by [`crate::model::buildpath::locate`]).
pub fn unsupported_build(args: &BuildArgs) -> Vec<String> {
    let mut out: Vec<String> = args
        .other
        .iter()
        .map(|(f, _)| format!("the flag `{f}` is not supported by taskrun yet"))
        .collect();
    if !args.secrets.is_empty() {
        out.push(
            "the flag `--secret` is not supported by taskrun yet: BuildKit reads build secrets \
             from a session the client serves over the engine's `/session` endpoint (gRPC), \
             and taskrun's engine client (bollard 0.21) offers no secrets session for engine \
             builds"
                .to_owned(),
        );
    }
    let flags = [
        (args.iidfile.is_some(), "--iidfile"),
        (args.squash, "--squash"),
        (args.isolation.is_some(), "--isolation"),
    ];
    for (set, flag) in flags {
        if set {
            out.push(format!(
                "the flag `{flag}` is not supported by taskrun yet (the classic builder is used)"
            ));
        }
    }
    out
}

/// Why a `build` step cannot run as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRefusal {
    /// True when ACR runs it and taskrun cannot yet (a flag, a remote context): `validate`
    /// warns, `run` refuses. False for a path taskrun never reads (outside `/workspace`): an
    /// error of the file for both.
    pub unsupported: bool,
    /// What is wrong.
    pub message: String,
}

/// Everything that stops a parsed `build` string from running: unsupported flags and the
/// context and Dockerfile as [`locate`] resolves them. `validate` and `run` both use this.
pub fn build_refusals(step: &Step, args: &BuildArgs) -> Vec<BuildRefusal> {
    let mut out: Vec<BuildRefusal> = unsupported_build(args)
        .into_iter()
        .map(|message| BuildRefusal {
            unsupported: true,
            message,
        })
        .collect();
    if let Err(e) = locate(step, args) {
        out.push(BuildRefusal {
            unsupported: e.is_unsupported(),
            message: e.to_string(),
        });
    }
    out
}
