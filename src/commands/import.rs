//! `taskrun import`: copy an image (every platform of a multi-arch index) from one registry to
//! another through the registry API, as `az acr import`; no engine involved. See
//! [`crate::registry::import`] for how the copy works.
//!
//! Credentials: `--username`/`--password` are for the SOURCE registry (as in az); without them
//! the source's docker-config login is used, else anonymous. The target registry's credentials
//! come from the docker config (`$DOCKER_CONFIG/config.json`: `auths`, `credHelpers`,
//! `credsStore`), else anonymous. Targets are expected in one registry (the `-r` host, or the host
//! of the first `--image` that names one); that registry's login is used for all targets.
//!
//! Output: one line per target on stdout, `Imported <source> to <target> (<digest>)`.
//!
//! Exit codes: 0 imported; 2 invalid input (a bad `--source`/`--image` reference, no target
//! registry); 3 environment (a registry cannot be reached, or refuses the credentials); 1
//! otherwise (source not found, target tag exists without `--force`, registry errors).

use crate::cli::ImportArgs;
use crate::commands::ExitStatus;
use crate::diag::{Code, Problem};
use crate::registry::Credentials;
use crate::registry::import::{ImportError, import as run_import};
use crate::registry::reference::registry_of;
use crate::report::Printer;

/// Runs `taskrun import`.
pub fn import(args: &ImportArgs, printer: &Printer) -> ExitStatus {
    let credentials = Credentials::load(&[]).unwrap_or_default();
    let source_host = registry_of(args.source.trim()).to_owned();
    let source_auth = match (&args.username, &args.password) {
        (Some(u), Some(p)) => Some(crate::engine::RegistryAuth {
            server: source_host.clone(),
            username: u.clone(),
            password: p.clone(),
        }),
        _ => credentials.for_registry(&source_host),
    };
    let target_host = args
        .registry
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            args.images
                .iter()
                .map(|i| registry_of(i.trim()))
                .find(|h| *h != "docker.io")
                .map(str::to_owned)
        });
    let target_auth = target_host
        .as_deref()
        .and_then(|h| credentials.for_registry(h));

    let Some(runtime) = crate::ops::runtime::new(crate::ops::runtime::Threads::Many, printer)
    else {
        return ExitStatus::Environment;
    };
    let result = runtime.block_on(run_import(
        &args.source,
        &args.images,
        args.registry.as_deref(),
        source_auth,
        target_auth,
        args.force,
        &args.insecure_registries,
    ));
    match result {
        Ok(report) => {
            let mut out = String::new();
            for target in &report.targets {
                out.push_str(&format!(
                    "Imported {} to {target} ({})\n",
                    report.source, report.digest
                ));
            }
            printer.data(&out);
            ExitStatus::Success
        }
        Err(ImportError::Invalid(message)) => {
            printer.problems(
                &Problem::error(Code::FlagFormat, message)
                    .with_help(
                        "--source is a full `registry/repository:tag`; --image is `NAME[:TAG]` in the -r registry",
                    )
                    .into(),
                &[],
            );
            ExitStatus::InvalidInput
        }
        Err(e @ (ImportError::Unreachable { .. } | ImportError::Unauthorized { .. })) => {
            printer.status(&format!("error: {e}"));
            ExitStatus::Environment
        }
        Err(e) => {
            printer.status(&format!("error: {e}"));
            ExitStatus::StepFailed
        }
    }
}
