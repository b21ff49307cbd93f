//! What taskrun can run: flags of `cmd` and `build` lines that parse (they are real docker
//! flags) but that taskrun does not carry out yet. `validate` reports them as errors and `run`
//! refuses to start, so nothing runs differently from what the file says.

use crate::model::buildargs::BuildArgs;
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

/// Problems with a `build` string that taskrun cannot carry out: unsupported flags, more than
/// one `--add-host` (one per build through the engine API). Remote contexts are fetched
/// (`context::remote`).
pub fn unsupported_build(args: &BuildArgs) -> Vec<String> {
    let mut out: Vec<String> = args
        .other
        .iter()
        .map(|(f, _)| format!("the flag `{f}` is not supported by taskrun yet"))
        .collect();
    let flags = [
        (!args.secrets.is_empty(), "--secret"),
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
    if args.add_hosts.len() > 1 {
        out.push(
            "more than one `--add-host` in one build is not supported yet (the engine API \
             takes one); use one entry"
                .to_owned(),
        );
    }
    out
}
