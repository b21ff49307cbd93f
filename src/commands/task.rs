//! `taskrun task …`: named tasks, their runs and logs, in the store under `$TASKRUN_HOME`
//! (mirrors `az acr task`). Argument mapping onto [`crate::service`] and the report layer.

use crate::cli::{CancelRunArgs, ListRunsArgs, LogsArgs, TaskCommand, TaskDefArgs, TaskRunArgs};
use crate::commands::ExitStatus;
use crate::diag::{Code, Problem};
use crate::report::{Printer, tasks};
use crate::service::{self, TaskDefRequest, TaskRunRequest};
use crate::store::{RunTrigger, Store, default_home};

/// Runs a `task` subcommand.
pub fn task(cmd: &TaskCommand, printer: &Printer) -> ExitStatus {
    let store = match Store::open(&default_home()) {
        Ok(s) => s,
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return ExitStatus::Environment;
        }
    };
    service::reap_orphans(&store, printer);
    let shown = match cmd {
        TaskCommand::Create(a) => {
            service::create_task(&store, &definition(a)).map(|t| tasks::task(&t, a.output))
        }
        TaskCommand::Update(a) => {
            service::update_task(&store, &definition(a)).map(|t| tasks::task(&t, a.output))
        }
        TaskCommand::Show(a) => store
            .get_task(&a.name)
            .map_err(Problem::from)
            .and_then(|t| {
                t.ok_or_else(|| {
                    Problem::error(Code::FlagFormat, format!("no task named `{}`", a.name))
                        .with_help("`taskrun task list` lists the tasks")
                })
            })
            .map(|t| tasks::task(&t, a.output)),
        TaskCommand::List(a) => store
            .list_tasks()
            .map(|t| tasks::task_list(&t, a.output))
            .map_err(Problem::from),
        TaskCommand::Delete(a) => store
            .delete_task(&a.name)
            .map(|()| String::new())
            .map_err(Problem::from),
        TaskCommand::Run(a) => return run(&store, a, printer),
        TaskCommand::ListRuns(a) => list_runs(&store, a),
        TaskCommand::Logs(a) => logs(&store, a),
        TaskCommand::CancelRun(a) => return cancel_run(&store, a, printer),
    };
    match shown {
        Ok(text) => {
            printer.data(&text);
            ExitStatus::Success
        }
        Err(problem) => {
            printer.problems(&problem.into(), &[]);
            ExitStatus::InvalidInput
        }
    }
}

fn definition(a: &TaskDefArgs) -> TaskDefRequest {
    TaskDefRequest {
        name: a.name.clone(),
        file: a.file.clone(),
        context: a.context.clone(),
        set: a.set.clone(),
        set_secret: a.set_secret.clone(),
        values: a.values.clone(),
        registry: a.registry.clone(),
        base_image_trigger_enabled: a.base_image_trigger_enabled,
        base_image_trigger_type: a.base_image_trigger_type.clone(),
        schedules: a.schedules.clone(),
        commit_trigger_enabled: a.commit_trigger_enabled,
        timeout: a.timeout,
        git_access_token: a.git_access_token.clone(),
    }
}

fn list_runs(store: &Store, a: &ListRunsArgs) -> Result<String, Problem> {
    let runs = store.list_runs_with(a.name.as_deref(), a.status, a.top)?;
    Ok(tasks::run_list(&runs, a.output))
}

fn logs(store: &Store, a: &LogsArgs) -> Result<String, Problem> {
    let id = match &a.run_id {
        Some(id) => id.clone(),
        None => {
            store
                .latest_run(a.name.as_deref())?
                .ok_or_else(|| {
                    Problem::error(Code::RunNotFound, "no runs yet")
                        .with_help("`taskrun task run -n NAME` runs a task")
                })?
                .id
        }
    };
    Ok(String::from_utf8_lossy(&store.read_log(&id)?).into_owned())
}

/// How long `task cancel-run` waits for the run's process to stop it and record the end.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn cancel_run(store: &Store, a: &CancelRunArgs, printer: &Printer) -> ExitStatus {
    use crate::service::CancelError;
    let problem = match service::cancel_run(store, a.run(), CANCEL_WAIT) {
        Ok(canceled) => {
            printer.status(&canceled.describe());
            return ExitStatus::Success;
        }
        Err(CancelError::Store(e @ crate::store::StoreError::RunNotFound(_))) => Problem::from(e),
        Err(e @ CancelError::NotRunning { .. }) => {
            Problem::error(Code::RunNotRunning, e.to_string()).with_help(format!(
                "only a Queued or Running run can be canceled; `taskrun task logs --run-id {}` \
                 prints its log",
                a.run()
            ))
        }
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return ExitStatus::Environment;
        }
    };
    printer.problems(&problem.into(), &[]);
    ExitStatus::InvalidInput
}

/// Runs a named task and records the run (`task run`, trigger `Manual`).
fn run(store: &Store, a: &TaskRunArgs, printer: &Printer) -> ExitStatus {
    let pairs = |flag, raw| service::parse_pairs(flag, raw);
    let overrides = match (pairs("--set", &a.set), pairs("--set-secret", &a.set_secret)) {
        (Ok(set), Ok(set_secret)) => service::RunOverrides {
            file: a.file.clone(),
            context: a.context.clone(),
            values: a.values.clone(),
            set,
            set_secret,
        },
        (Err(p), _) | (_, Err(p)) => {
            printer.problems(
                &p.with_help("write `--set KEY=VALUE` / `--set-secret KEY=VALUE`")
                    .into(),
                &[],
            );
            return ExitStatus::InvalidInput;
        }
    };
    let request = TaskRunRequest {
        name: a.name.clone(),
        overrides,
        output: a.output,
    };
    service::run_task(store, &request, RunTrigger::Manual, printer).status
}
