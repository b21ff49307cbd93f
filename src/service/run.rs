//! One run of a named task, recorded: the task's stored settings with the `task run` overrides
//! over them ([`super::RunInputs`]) become a [`RunRequest`], which runs through [`ops::run`];
//! the run is recorded in the store (ACR-style id, trigger, status, steps, dependencies) with
//! its masked log, and the task is linked to its base images for `serve`'s triggers.

use std::path::Path;

use crate::exec::{RunEnd, RunSummary};
use crate::ops::{self, ExitStatus, FileRequest, RunOutcome, RunRequest};
use crate::report::Printer;
use crate::report::run::OutputMode;
use crate::store::{
    BaseImageRecord, DependencyKind, RunFinish, RunRecord, RunStatus, RunTrigger, StepRecord,
    Store, now,
};

/// What `task run` (or a trigger) asks for.
#[derive(Debug, Clone, Default)]
pub struct TaskRunRequest {
    /// The task's name.
    pub name: String,
    /// The settings given for this run only.
    pub overrides: super::RunOverrides,
    /// Output mode of the run.
    pub output: Option<OutputMode>,
}

/// How a named task's run ended: the exit status (also recorded) and, when the run started,
/// its summary.
#[derive(Debug)]
pub struct TaskRunOutcome {
    /// The exit status of SPEC §3.
    pub status: ExitStatus,
    /// The run's summary, when it started.
    pub summary: Option<RunSummary>,
}

/// Runs a named task and records the run under `trigger`.
pub fn run_task(
    store: &Store,
    request: &TaskRunRequest,
    trigger: RunTrigger,
    printer: &Printer,
) -> TaskRunOutcome {
    let not_run = |status| TaskRunOutcome {
        status,
        summary: None,
    };
    let def = match store.get_task(&request.name) {
        Ok(Some(d)) => d,
        Ok(None) => {
            printer.status(&format!("error: no task named `{}`", request.name));
            return not_run(ExitStatus::InvalidInput);
        }
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return not_run(ExitStatus::Environment);
        }
    };
    let inputs = super::RunInputs::new(&def, &request.overrides);
    let registry = def.registry.clone().unwrap_or_default();
    let run_id = match store.next_run_id(&registry) {
        Ok(id) => id,
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return not_run(ExitStatus::Environment);
        }
    };
    // The commit and branch the run is for: a local repository's checkout; for a git URL what
    // its remote says now (the run itself checks out the reference and fills `.Run.Commit` /
    // `.Run.Branch` from the checkout).
    let remote = super::is_remote_context(&inputs.context_dir);
    let (commit, branch) = if remote {
        let rev = super::commits::revision(&inputs.context_dir, def.git_access_token.as_deref())
            .ok()
            .flatten();
        (
            rev.as_ref().map(|r| r.commit.clone()).unwrap_or_default(),
            rev.and_then(|r| r.branch),
        )
    } else {
        (
            crate::deps::git::head_revision(Path::new(&inputs.context_dir)),
            inputs.branch.clone(),
        )
    };
    let log = super::RunLog::new(store.home(), &run_id);
    let run = RunRequest {
        file: FileRequest {
            file: Some(inputs.file.into()),
            set: inputs.set,
            values: inputs.values_file.map(Into::into),
            set_secret: inputs.set_secret,
            registry: def.registry.clone(),
            run_id: Some(run_id.clone()),
            commit: (!commit.is_empty() && !remote).then(|| commit.clone()),
            branch: branch.clone().filter(|_| !remote),
            triggered_by: Some(trigger.to_string()),
            name: Some(def.name.clone()),
            masked: def.git_access_token.iter().cloned().collect(),
            ..FileRequest::default()
        },
        context: Some(inputs.context_dir.into()),
        output: request.output,
        timeout: Some(std::time::Duration::from_secs(def.timeout_secs)),
        log: Some(Box::new(log.clone())),
        git_access_token: def
            .git_access_token
            .clone()
            .map(crate::context::remote::GitToken),
        ..RunRequest::default()
    };
    let mut record = RunRecord::new(&run_id, Some(def.name.clone()), trigger, "linux");
    record.status = RunStatus::Running;
    record.commit = (!commit.is_empty()).then_some(commit);
    record.branch = branch;
    if let Err(e) = store.insert_run(&record) {
        printer.status(&format!("error: {e}"));
        return not_run(ExitStatus::Environment);
    }
    if let Err(e) = store.set_run_owner(&run_id, &crate::exec::resources::owner_tag()) {
        printer.status(&format!("warning: {e}"));
    }
    let outcome = ops::run(run, printer);
    log.finish();
    let status = outcome.exit_status();
    let run_status = recorded_status(&outcome);
    let summary = outcome.into_summary();
    let steps = summary
        .as_ref()
        .map(|s| {
            s.steps
                .iter()
                .map(|r| StepRecord {
                    id: r.id.clone(),
                    status: r.status.as_str().to_owned(),
                    duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
                    exit_code: r.exit_code,
                })
                .collect()
        })
        .unwrap_or_default();
    let deps = summary
        .as_ref()
        .map(|s| s.dependencies.clone())
        .unwrap_or_default();
    let _ = store.finish_run(
        &run_id,
        &RunFinish {
            status: run_status,
            finished: now(),
            exit_code: Some(i64::from(status.as_u8())),
            steps,
            dependencies_json: (!deps.is_empty())
                .then(|| serde_json::to_string(&deps).unwrap_or_default()),
        },
    );
    if run_status == RunStatus::Succeeded && !deps.is_empty() {
        let mut links = Vec::new();
        for d in &deps {
            if let Some(r) = &d.runtime_dependency {
                links.push((r.docker_name.clone(), DependencyKind::Runtime));
                record_digest(store, &r.docker_name, &r.digest);
            }
            for b in d.buildtime_dependency.iter().flatten() {
                links.push((b.docker_name.clone(), DependencyKind::Buildtime));
                record_digest(store, &b.docker_name, &b.digest);
            }
        }
        let _ = store.set_task_dependencies(&def.name, &links);
    }
    TaskRunOutcome { status, summary }
}

/// The status the store records for a run that ended with `outcome` (ACR's run statuses).
fn recorded_status(outcome: &RunOutcome) -> RunStatus {
    let Some(summary) = outcome.summary() else {
        // Stopped before it started: by Ctrl-C or a cancel request (during the CONTEXT fetch),
        // else for a reason its log says.
        return match outcome {
            RunOutcome::Interrupted => RunStatus::Canceled,
            _ => RunStatus::Error,
        };
    };
    match summary.end {
        RunEnd::Succeeded => RunStatus::Succeeded,
        RunEnd::Interrupted => RunStatus::Canceled,
        RunEnd::TimedOut => RunStatus::Timeout,
        RunEnd::StepFailed
            if summary
                .steps
                .iter()
                .any(|r| r.status == crate::exec::StepStatus::TimedOut) =>
        {
            RunStatus::Timeout
        }
        RunEnd::StepFailed => RunStatus::Failed,
        RunEnd::EngineLost => RunStatus::Error,
    }
}

/// Records the digest a run saw for a base image (what `serve` compares against).
pub fn record_digest(store: &Store, image: &str, digest: &str) {
    if digest.is_empty() {
        return;
    }
    let _ = store.record_digest(&BaseImageRecord {
        image: image.to_owned(),
        digest: digest.to_owned(),
        platform: None,
        platform_digest: None,
        checked: now(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_stopped_before_it_started_is_recorded_by_why() {
        assert_eq!(
            recorded_status(&RunOutcome::Interrupted),
            RunStatus::Canceled
        );
        assert_eq!(recorded_status(&RunOutcome::NotStarted), RunStatus::Error);
        assert_eq!(recorded_status(&RunOutcome::Refused), RunStatus::Error);
    }
}
