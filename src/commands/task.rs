//! `taskrun task …`: named tasks, their runs and logs, in the store under `$TASKRUN_HOME`
//! (mirrors `az acr task`). `task run` runs the task's file through the same path as
//! `taskrun run`, records the run (ACR-style id, trigger, status, steps, dependencies) and its
//! masked log, and links the task to its base images for `serve`'s triggers.

use std::path::Path;

use crate::cli::{
    CancelRunArgs, FileArgs, ListRunsArgs, LogsArgs, OutputArgs, RunArgs, TableFormat, TaskCommand,
    TaskDefArgs, TaskNameArgs, TaskRunArgs,
};
use crate::commands::ExitStatus;
use crate::diag::{Code, Problem};
use crate::exec::StepStatus;
use crate::report::Printer;
use crate::store::{
    BaseImageRecord, BaseImageTriggerType, DependencyKind, RunFinish, RunRecord, RunStatus,
    RunTrigger, StepRecord, Store, StoreError, TaskDef, TaskUpdate, default_home, now,
};

/// Runs a `task` subcommand.
pub fn task(cmd: &TaskCommand, printer: &Printer) -> ExitStatus {
    let store = match Store::open(&default_home()) {
        Ok(s) => s,
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return ExitStatus::Environment;
        }
    };
    reap_orphans(&store, printer);
    let result = match cmd {
        TaskCommand::Create(a) => create(&store, a, printer).map_err(Failure::from),
        TaskCommand::Update(a) => update(&store, a, printer).map_err(Failure::from),
        TaskCommand::Show(a) => show(&store, a, printer).map_err(Failure::from),
        TaskCommand::List(a) => list(&store, a, printer).map_err(Failure::from),
        TaskCommand::Delete(a) => store
            .delete_task(&a.name)
            .map(|()| ExitStatus::Success)
            .map_err(|e| Failure::from(e.to_string())),
        TaskCommand::Run(a) => return run(&store, a, RunTrigger::Manual, printer),
        TaskCommand::ListRuns(a) => list_runs(&store, a, printer).map_err(Failure::from),
        TaskCommand::Logs(a) => logs(&store, a, printer),
        TaskCommand::CancelRun(a) => cancel_run(&store, a, printer),
    };
    result.unwrap_or_else(|failure| {
        printer.problems(
            &Problem::error(failure.code, failure.message)
                .with_help(failure.help)
                .into(),
            &[],
        );
        ExitStatus::InvalidInput
    })
}

/// Why a `task` subcommand failed: the code and help depend on what went wrong.
struct Failure {
    code: Code,
    message: String,
    help: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self {
            code: Code::FlagFormat,
            message,
            help: "see `taskrun task --help`".to_owned(),
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Self::from(message.to_owned())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::RunNotFound(_) => Self {
                code: Code::RunNotFound,
                message: e.to_string(),
                help: "`taskrun task list-runs` lists the recorded runs and their ids".to_owned(),
            },
            e => Self::from(e.to_string()),
        }
    }
}

/// Runs left `Running` by a taskrun process that was killed are finished as `Error` (their
/// engine resources are removed by the next `taskrun run`, see `exec::setup`).
pub(crate) fn reap_orphans(store: &Store, printer: &Printer) {
    match store.reap_orphans(crate::exec::resources::owner_is_gone) {
        Ok(ids) => {
            for id in ids {
                printer.status(&format!(
                    "Run {id} was marked Error: the taskrun process running it has ended"
                ));
            }
        }
        Err(e) => printer.status(&format!("warning: {e}")),
    }
}

fn pairs(flag: &str, raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|r| {
            crate::render::values::parse_assignment(flag, r).map_err(|p| {
                // A malformed `--set-secret` may be the secret itself: never echo it.
                if flag == "--set-secret" && !r.is_empty() {
                    p.message.replace(r.as_str(), "***")
                } else {
                    p.message
                }
            })
        })
        .collect()
}

use crate::service::absolute;

/// The absolute path of a task's `--file`: a relative one is looked up in the task's
/// `--context` directory first, then in the current directory (as `az acr task create`).
fn task_file(file: &Path, context: Option<&str>) -> Result<String, String> {
    if file == Path::new("-") {
        return Err(
            "a named task cannot read its file from standard input (`-f -`); pass a path".into(),
        );
    }
    if context.is_some_and(crate::service::is_remote_context) {
        // Relative to the context fetched for each run (as `az acr task create -f … URL`).
        return Ok(file.display().to_string());
    }
    let dir = context.map(|c| Path::new(c.split_once('#').map_or(c, |(d, _)| d)));
    Ok(absolute(&crate::cli::locate_task_file(file, dir)))
}

fn trigger_type(raw: &str) -> Result<BaseImageTriggerType, String> {
    raw.parse()
        .map_err(|_| format!("--base-image-trigger-type {raw}: expected Runtime or All"))
}

fn validate_schedules(schedules: &[String]) -> Result<(), String> {
    for s in schedules {
        if s.split_whitespace().count() != 5 {
            return Err(format!(
                "--schedule `{s}`: expected 5 fields (minute hour day month day-of-week), in UTC"
            ));
        }
    }
    Ok(())
}

fn create(store: &Store, a: &TaskDefArgs, printer: &Printer) -> Result<ExitStatus, String> {
    let file = a.file.as_ref().ok_or("task create needs -f FILE")?;
    validate_schedules(&a.schedules)?;
    let context = a.context.clone().map(|c| {
        if crate::service::is_remote_context(&c) {
            return c;
        }
        let (dir, branch) = c
            .split_once('#')
            .map_or((c.as_str(), None), |(d, b)| (d, Some(b)));
        let dir = absolute(Path::new(dir));
        branch.map_or(dir.clone(), |b| format!("{dir}#{b}"))
    });
    let file = task_file(file, a.context.as_deref())?;
    let mut def = TaskDef::new(&a.name, file, context);
    def.values_file = a.values.as_deref().map(absolute);
    def.set = pairs("--set", &a.set)?;
    def.set_secret = pairs("--set-secret", &a.set_secret)?;
    def.registry = a.registry.clone();
    if let Some(b) = a.base_image_trigger_enabled {
        def.base_image_trigger_enabled = b;
    }
    if let Some(t) = &a.base_image_trigger_type {
        def.base_image_trigger_type = trigger_type(t)?;
    }
    def.schedules = a.schedules.clone();
    if let Some(c) = a.commit_trigger_enabled {
        def.commit_trigger_enabled = c;
    }
    if let Some(t) = a.timeout {
        def.timeout_secs = t;
    }
    def.git_access_token = a.git_access_token.clone().filter(|t| !t.is_empty());
    let created = store.create_task(&def).map_err(|e| e.to_string())?;
    print_task(&created, a.output, printer);
    Ok(ExitStatus::Success)
}

fn update(store: &Store, a: &TaskDefArgs, printer: &Printer) -> Result<ExitStatus, String> {
    validate_schedules(&a.schedules)?;
    let file = match &a.file {
        Some(f) => {
            let context = match &a.context {
                Some(c) => Some(c.clone()),
                None => store
                    .get_task(&a.name)
                    .map_err(|e| e.to_string())?
                    .and_then(|t| t.context),
            };
            Some(task_file(f, context.as_deref())?)
        }
        None => None,
    };
    let update = TaskUpdate {
        file,
        context: a.context.clone().map(Some),
        values_file: a.values.as_deref().map(|v| Some(absolute(v))),
        set: (!a.set.is_empty())
            .then(|| pairs("--set", &a.set))
            .transpose()?,
        set_secret: (!a.set_secret.is_empty())
            .then(|| pairs("--set-secret", &a.set_secret))
            .transpose()?,
        registry: a.registry.clone().map(Some),
        base_image_trigger_enabled: a.base_image_trigger_enabled,
        base_image_trigger_type: a
            .base_image_trigger_type
            .as_deref()
            .map(trigger_type)
            .transpose()?,
        schedules: (!a.schedules.is_empty()).then(|| a.schedules.clone()),
        commit_trigger_enabled: a.commit_trigger_enabled,
        timeout_secs: a.timeout,
        git_access_token: a
            .git_access_token
            .clone()
            .map(|t| Some(t).filter(|t| !t.is_empty())),
    };
    let t = store
        .update_task(&a.name, &update)
        .map_err(|e| e.to_string())?;
    print_task(&t, a.output, printer);
    Ok(ExitStatus::Success)
}

fn task_json(t: &TaskDef) -> serde_json::Value {
    serde_json::json!({
        "name": t.name,
        "file": t.file,
        "context": t.context.as_deref().map(crate::context::remote::mask_url),
        "valuesFile": t.values_file,
        "set": t.set.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "setSecret": t.set_secret.iter().map(|(k, _)| format!("{k}=***")).collect::<Vec<_>>(),
        "registry": t.registry,
        "baseImageTriggerEnabled": t.base_image_trigger_enabled,
        "baseImageTriggerType": t.base_image_trigger_type.to_string(),
        "schedules": t.schedules,
        "commitTriggerEnabled": t.commit_trigger_enabled,
        "timeout": t.timeout_secs,
        "created": t.created.to_rfc3339(),
        "updated": t.updated.to_rfc3339(),
    })
}

fn print_task(t: &TaskDef, format: TableFormat, printer: &Printer) {
    let v = task_json(t);
    match format {
        TableFormat::Json => {
            printer.data(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        }
        TableFormat::Table => {
            let mut out = String::new();
            if let Some(o) = v.as_object() {
                for (k, val) in o {
                    let shown = match val {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => "-".to_owned(),
                        other => other.to_string(),
                    };
                    out.push_str(&format!("{k:<24} {shown}\n"));
                }
            }
            printer.data(&out);
        }
    }
}

fn show(store: &Store, a: &TaskNameArgs, printer: &Printer) -> Result<ExitStatus, String> {
    let t = store
        .get_task(&a.name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no task named `{}`", a.name))?;
    print_task(&t, a.output, printer);
    Ok(ExitStatus::Success)
}

fn list(store: &Store, a: &OutputArgs, printer: &Printer) -> Result<ExitStatus, String> {
    let tasks = store.list_tasks().map_err(|e| e.to_string())?;
    if a.output == TableFormat::Json {
        let v: Vec<_> = tasks.iter().map(task_json).collect();
        printer.data(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        return Ok(ExitStatus::Success);
    }
    let mut out = format!(
        "{:<24} {:<8} {:<12} {:<9} {}\n",
        "NAME", "TRIGGER", "BASE IMAGE", "TIMEOUT", "FILE"
    );
    for t in &tasks {
        out.push_str(&format!(
            "{:<24} {:<8} {:<12} {:<9} {}\n",
            t.name,
            if t.commit_trigger_enabled {
                "Commit"
            } else {
                "-"
            },
            if t.base_image_trigger_enabled {
                t.base_image_trigger_type.to_string()
            } else {
                "-".to_owned()
            },
            t.timeout_secs,
            t.file
        ));
    }
    printer.data(&out);
    Ok(ExitStatus::Success)
}

fn list_runs(store: &Store, a: &ListRunsArgs, printer: &Printer) -> Result<ExitStatus, String> {
    let runs = store
        .list_runs_with(a.name.as_deref(), a.status, a.top)
        .map_err(|e| e.to_string())?;
    if a.output == TableFormat::Json {
        let v: Vec<_> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "runId": r.id,
                    "task": r.task,
                    "platform": r.platform,
                    "status": r.status.to_string(),
                    "trigger": r.trigger.to_string(),
                    "started": r.started.to_rfc3339(),
                    "finished": r.finished.map(|f| f.to_rfc3339()),
                    "duration": r.duration().map(|d| d.num_seconds()),
                })
            })
            .collect();
        printer.data(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        return Ok(ExitStatus::Success);
    }
    let mut out = format!(
        "{:<8} {:<20} {:<10} {:<10} {:<13} {:<22} {}\n",
        "RUN ID", "TASK", "PLATFORM", "STATUS", "TRIGGER", "STARTED", "DURATION"
    );
    out.push_str(&format!(
        "{:<8} {:<20} {:<10} {:<10} {:<13} {:<22} {}\n",
        "-".repeat(8),
        "-".repeat(20),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(13),
        "-".repeat(22),
        "-".repeat(10)
    ));
    for r in &runs {
        let duration = r.duration().map_or(String::new(), |d| {
            let s = d.num_seconds();
            format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        });
        out.push_str(&format!(
            "{:<8} {:<20} {:<10} {:<10} {:<13} {:<22} {}\n",
            r.id,
            r.task.as_deref().unwrap_or(""),
            r.platform,
            r.status.to_string(),
            r.trigger.to_string(),
            r.started.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            duration
        ));
    }
    printer.data(&out);
    Ok(ExitStatus::Success)
}

fn logs(store: &Store, a: &LogsArgs, printer: &Printer) -> Result<ExitStatus, Failure> {
    let id = match &a.run_id {
        Some(id) => id.clone(),
        None => {
            store
                .latest_run(a.name.as_deref())?
                .ok_or("no runs yet")?
                .id
        }
    };
    let log = store.read_log(&id)?;
    printer.data(&String::from_utf8_lossy(&log));
    Ok(ExitStatus::Success)
}

/// How long `task cancel-run` waits for the run's process to stop it and record the end.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn cancel_run(store: &Store, a: &CancelRunArgs, printer: &Printer) -> Result<ExitStatus, Failure> {
    use crate::service::CancelError;
    match crate::service::cancel_run(store, a.run(), CANCEL_WAIT) {
        Ok(canceled) => {
            printer.status(&canceled.describe());
            Ok(ExitStatus::Success)
        }
        Err(CancelError::Store(e @ StoreError::RunNotFound(_))) => Err(e.into()),
        Err(e @ CancelError::NotRunning { .. }) => Err(Failure {
            code: Code::RunNotRunning,
            message: e.to_string(),
            help: format!(
                "only a Queued or Running run can be canceled; `taskrun task logs --run-id {}` \
                 prints its log",
                a.run()
            ),
        }),
        Err(e) => {
            printer.status(&format!("error: {e}"));
            Ok(ExitStatus::Environment)
        }
    }
}

/// Runs a named task and records the run (`task run`, trigger `Manual`).
pub fn run(store: &Store, a: &TaskRunArgs, trigger: RunTrigger, printer: &Printer) -> ExitStatus {
    run_recorded(store, a, trigger, printer).0
}

/// Runs a named task and records the run; returns the exit status and the run's summary (for
/// `serve`, which triggers the dependants of the images the run pushed).
pub fn run_recorded(
    store: &Store,
    a: &TaskRunArgs,
    trigger: RunTrigger,
    printer: &Printer,
) -> (ExitStatus, Option<crate::exec::RunSummary>) {
    let def = match store.get_task(&a.name) {
        Ok(Some(d)) => d,
        Ok(None) => {
            printer.status(&format!("error: no task named `{}`", a.name));
            return (ExitStatus::InvalidInput, None);
        }
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return (ExitStatus::Environment, None);
        }
    };
    let overrides = match overrides(a) {
        Ok(o) => o,
        Err(message) => {
            printer.problems(
                &Problem::error(Code::FlagFormat, message)
                    .with_help("write `--set KEY=VALUE` / `--set-secret KEY=VALUE`")
                    .into(),
                &[],
            );
            return (ExitStatus::InvalidInput, None);
        }
    };
    let inputs = crate::service::RunInputs::new(&def, &overrides);
    let registry = def.registry.clone().unwrap_or_default();
    let run_id = match store.next_run_id(&registry) {
        Ok(id) => id,
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return (ExitStatus::Environment, None);
        }
    };
    // The commit and branch the run is for: a local repository's checkout; for a git URL what
    // its remote says now (the run itself checks out the reference and fills `.Run.Commit` /
    // `.Run.Branch` from the checkout).
    let remote = crate::service::is_remote_context(&inputs.context_dir);
    let (commit, branch) = if remote {
        let rev =
            crate::service::commits::revision(&inputs.context_dir, def.git_access_token.as_deref())
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
    let args = RunArgs {
        file: FileArgs {
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
            ..FileArgs::default()
        },
        context: Some(inputs.context_dir.into()),
        output: a.output,
        timeout: Some(def.timeout_secs),
        git_access_token: def
            .git_access_token
            .clone()
            .map(crate::context::remote::GitToken),
        ..RunArgs::default()
    };
    let mut record = RunRecord::new(&run_id, Some(def.name.clone()), trigger, "linux");
    record.status = RunStatus::Running;
    record.commit = (!commit.is_empty()).then_some(commit);
    record.branch = branch;
    if let Err(e) = store.insert_run(&record) {
        printer.status(&format!("error: {e}"));
        return (ExitStatus::Environment, None);
    }
    if let Err(e) = store.set_run_owner(&run_id, &crate::exec::resources::owner_tag()) {
        printer.status(&format!("warning: {e}"));
    }
    let log = crate::service::RunLog::new(store.home(), &run_id);
    let (status, summary) = super::run::execute(&args, printer, Some(Box::new(log.clone())));
    log.finish();
    let run_status = match (&summary, status) {
        (_, ExitStatus::Success) => RunStatus::Succeeded,
        (_, ExitStatus::Interrupted) => RunStatus::Canceled,
        (Some(s), _) if s.timed_out || s.steps.iter().any(|r| r.status == StepStatus::TimedOut) => {
            RunStatus::Timeout
        }
        (Some(_), ExitStatus::StepFailed) => RunStatus::Failed,
        _ => RunStatus::Error,
    };
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
    (status, summary)
}

/// The `task run` flags that override the task's settings for this run.
fn overrides(a: &TaskRunArgs) -> Result<crate::service::RunOverrides, String> {
    Ok(crate::service::RunOverrides {
        file: a.file.clone(),
        context: a.context.clone(),
        values: a.values.clone(),
        set: pairs("--set", &a.set)?,
        set_secret: pairs("--set-secret", &a.set_secret)?,
    })
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
