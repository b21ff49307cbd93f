//! A remote CONTEXT (git, tarball, OCI artifact) fetched once, before anything else, for
//! `run`, `build`, `scan` and `validate` ([`crate::context::source`] does the work): progress
//! and a failure's diagnostic go through the report layer, and the failure comes back as the
//! exit status it means with a one-line (masked) message for a named task's log.

use crate::context::remote::{FetchOptions, RemoteSource};
use crate::context::source::{self, FailureKind, FetchFailure, FetchedContext};
use crate::diag::Problems;
use crate::report::Printer;

use super::ExitStatus;

/// Fetches `source` (progress on stderr); `json`: a failure is also a JSON event.
pub fn fetch_context(
    source: &RemoteSource,
    options: &FetchOptions,
    json: bool,
    printer: &Printer,
) -> Result<FetchedContext, (ExitStatus, String)> {
    // acb's warning for a `github` URL that is not a git URL (it is then a tarball URL).
    if let Some(w) = crate::model::buildargs::ContextKind::classify(&source.display()).warning() {
        printer.status(&format!("WARNING: {w}"));
    }
    match source::fetch_blocking(source, options, &|line| printer.status(line)) {
        Ok(f) => Ok(f),
        Err(FetchFailure::Failed(e)) => {
            let problems: Problems = source::failure_problem(&e).into();
            printer.problems(&problems, &[]);
            if json {
                printer.problem_events(&problems, &[]);
            }
            let status = if FailureKind::of(&e).is_environment() {
                ExitStatus::Environment
            } else {
                ExitStatus::InvalidInput
            };
            Err((status, format!("{} ({})", e, FailureKind::of(&e).code())))
        }
        Err(FetchFailure::Interrupted) => Err((
            ExitStatus::Interrupted,
            format!("interrupted while fetching the context {source}"),
        )),
        Err(FetchFailure::Environment(e)) => {
            printer.status(&format!("error: {e}"));
            Err((ExitStatus::Environment, e))
        }
    }
}

/// For `scan` and `validate`: when `context` names a remote CONTEXT, fetches it anonymously
/// (the docker config's logins for OCI artifacts) into a temporary directory; `Ok(None)` for a
/// local directory; `Err` is the exit status of a failed fetch (already reported).
pub fn fetch_if_remote(
    context: &std::path::Path,
    insecure_registries: Vec<String>,
    printer: &Printer,
) -> Result<Option<FetchedContext>, ExitStatus> {
    let Some(source) = source::remote_context(context) else {
        return Ok(None);
    };
    let options = source::options(
        crate::registry::Credentials::load(&[]).unwrap_or_default(),
        insecure_registries,
        None,
    );
    fetch_context(&source, &options, false, printer)
        .map(Some)
        .map_err(|(status, _)| status)
}
