//! `taskrun scan`: the base-image dependencies of a Dockerfile, in acb's dependency JSON, with
//! digests from the local engine or the registry (unless `--no-digests`).

use crate::cli::ScanArgs;
use crate::commands::ExitStatus;
use crate::deps::{self, ScanOptions};
use crate::diag::{Code, Problem};
use crate::engine::Engine;
use crate::engine::docker::DockerEngine;
use crate::registry::Credentials;
use crate::registry::digest::{Platform, ResolveOptions, Resolver};
use crate::report::Printer;
use crate::source::Source;

/// Scans the Dockerfile of a build context and prints the dependency JSON.
pub fn scan(args: &ScanArgs, printer: &Printer) -> ExitStatus {
    // A remote CONTEXT (git, tarball, OCI artifact) is fetched into a temporary directory first.
    let fetched =
        match crate::ops::fetch_if_remote(&args.context, args.insecure_registries.clone(), printer)
        {
            Ok(f) => f,
            Err(status) => return status,
        };
    let context = fetched
        .as_ref()
        .map_or_else(|| args.context.clone(), |f| f.dir().to_owned());
    let dockerfile = args.file.clone().unwrap_or_else(|| "Dockerfile".to_owned());
    let path = context.join(&dockerfile);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            printer.problems(
                &Problem::error(
                    Code::IoRead,
                    format!("cannot read the Dockerfile `{}`: {e}", path.display()),
                )
                .with_help("pass the build context and `-f` relative to it")
                .into(),
                &[],
            );
            return ExitStatus::InvalidInput;
        }
    };
    let mut build_args = Vec::new();
    for raw in &args.build_args {
        match raw.split_once('=') {
            Some((k, v)) => build_args.push((k.to_owned(), Some(v.to_owned()))),
            None => build_args.push((raw.clone(), None)),
        }
    }
    let options = ScanOptions {
        build_args,
        target: args.target.clone(),
        platform: None,
    };
    let source = Source::new(path.display().to_string(), text.as_str());
    let scanned = match deps::scan(&text, &options) {
        Ok(s) => s,
        Err(e) => {
            let mut p = Problem::error(Code::Dockerfile, e.message.clone())
                .in_source(&source)
                .with_label(e.span.clone(), "");
            p = p.with_help(
                e.help
                    .clone()
                    .unwrap_or_else(|| "fix the Dockerfile (see `docker build`)".to_owned()),
            );
            printer.problems(&p.into(), &[]);
            return ExitStatus::InvalidInput;
        }
    };
    for w in &scanned.warnings {
        printer.status(&format!("warning: {}", w.message));
    }
    let git_head = deps::git::head_revision(&context);
    let mut found = match deps::dependencies_for_build(&scanned, &args.tags, &git_head) {
        Ok(d) => d,
        Err(e) => {
            printer.problems(
                &Problem::error(Code::Dockerfile, format!("invalid tag: {e}"))
                    .with_help("tags are lower-case `registry/repository:tag` references")
                    .into(),
                &[],
            );
            return ExitStatus::InvalidInput;
        }
    };
    if !args.no_digests {
        let Some(runtime) = crate::ops::runtime::new(crate::ops::runtime::Threads::Many, printer)
        else {
            return ExitStatus::Environment;
        };
        let warnings = runtime.block_on(async {
            let engine = match DockerEngine::connect().await {
                Ok(e) if e.ping().await.is_ok() => Some(e),
                _ => None,
            };
            let resolver = Resolver::new(ResolveOptions {
                insecure_registries: args.insecure_registries.clone(),
                platform: Platform::host(),
            });
            let credentials = Credentials::load(&[]).unwrap_or_default();
            deps::resolve::fill_digests(&mut found, engine.as_ref(), Some(&resolver), &credentials)
                .await
        });
        for image in &warnings.local {
            printer.status(&format!(
                "note: `{image}` was built locally and never pushed: it has no digest"
            ));
        }
        for w in &warnings.warnings {
            printer.status(&format!("warning: {w}"));
        }
    }
    // Ctrl-C after a remote CONTEXT was fetched (the fetch's handler took the default away).
    if fetched.as_ref().is_some_and(|f| f.interrupted()) {
        return ExitStatus::Interrupted;
    }
    let mut json = serde_json::to_string_pretty(&found).unwrap_or_default();
    json.push('\n');
    printer.data(&json);
    ExitStatus::Success
}
