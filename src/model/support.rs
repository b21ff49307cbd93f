//! What taskrun can run: flags of `build` lines that parse (they are real docker flags) but that
//! taskrun does not carry out yet. `validate` reports them (warnings that `run` turns into
//! errors), so nothing runs differently from what the file says. Every `docker run` flag of a
//! `cmd` line with an engine API counterpart is carried out (see [`crate::model::runopts`]);
//! the three that read agent files are refused when the line is parsed.

use crate::diag::Code;
use crate::model::buildargs::{BuildArgs, ContextKind};

/// Problems with a `build` string that taskrun cannot carry out, each with the code that names
/// it: unsupported flags ([`Code::UnsupportedFlag`]), more than one `--add-host` (one per build
/// through the engine API, [`Code::BuildAddHost`]), remote contexts
/// ([`Code::BuildContextRemote`]).
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
        (!args.secrets.is_empty(), "--secret"),
        (args.iidfile.is_some(), "--iidfile"),
        (args.squash, "--squash"),
        (args.isolation.is_some(), "--isolation"),
    ];
    for (set, flag) in flags {
        if set {
            out.push((
                Code::UnsupportedFlag,
                format!(
                    "the flag `{flag}` is not supported by taskrun yet (the classic builder is \
                     used)"
                ),
            ));
        }
    }
    if args.add_hosts.len() > 1 {
        out.push((
            Code::BuildAddHost,
            "more than one `--add-host` in one build is not supported yet (the engine API \
             takes one); use one entry"
                .to_owned(),
        ));
    }
    if !matches!(args.context, ContextKind::Local(_)) {
        out.push((
            Code::BuildContextRemote,
            format!(
                "the build context `{}` is remote (git, URL or OCI); taskrun builds from the \
                 workspace only: fetch it in an earlier step or pass it as the CONTEXT directory",
                args.context.as_str()
            ),
        ));
    }
    out
}
