//! `taskrun build` (quick build, as `az acr build`): the flags become a generated one-step task
//! (`quick::build_task`), which runs through the normal run path ([`ops::run`]).

use crate::cli::BuildArgs;
use crate::commands::ExitStatus;
use crate::ops::{self, FileRequest, RunRequest};
use crate::quick::{self, QuickBuild};
use crate::report::Printer;

/// Builds (and unless `--no-push`, pushes) the images.
pub fn build(args: &BuildArgs, printer: &Printer) -> ExitStatus {
    let quick = QuickBuild {
        tags: args.images.clone(),
        dockerfile: args.file.clone(),
        build_args: args.build_args.clone(),
        secret_build_args: args.secret_build_args.clone(),
        target: args.target.clone(),
        platform: args.platform.clone(),
        no_cache: args.no_cache,
        no_push: args.no_push,
        registry: args.registry.clone(),
        known_registries: quick::credential_registries(&args.control.credential),
    };
    let problems = quick::build_problems(&quick);
    if problems.has_errors() {
        printer.problems(&problems, &quick::secret_values(&args.secret_build_args));
        return ExitStatus::InvalidInput;
    }
    let mut run = RunRequest {
        file: FileRequest {
            registry: Some(args.registry.clone()),
            run_id: args.run_id.clone(),
            generated: Some((
                quick::BUILD_SOURCE_NAME.to_owned(),
                quick::build_task(&quick),
            )),
            masked: quick::secret_values(&args.secret_build_args),
            ..FileRequest::default()
        },
        context: Some(args.context.clone()),
        ..RunRequest::default()
    };
    args.control.apply(&mut run);
    ops::run(run, printer).exit_status()
}
