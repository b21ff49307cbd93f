//! Task definitions from `task create` and `task update` requests (as `az acr task create` /
//! `update`): paths made absolute, a relative `--file` looked up in the `--context` first,
//! values and schedules checked, then stored.

use std::path::{Path, PathBuf};

use crate::diag::{Code, Problem};
use crate::store::{BaseImageTriggerType, Store, TaskDef, TaskUpdate};

use super::absolute;

/// What `task create` / `task update` ask for (raw flag text: it is checked here).
#[derive(Debug, Clone, Default)]
pub struct TaskDefRequest {
    /// The task name.
    pub name: String,
    /// The task file.
    pub file: Option<PathBuf>,
    /// The context: a directory, or a git repository with `#branch`.
    pub context: Option<String>,
    /// `--set K=V` entries.
    pub set: Vec<String>,
    /// `--set-secret K=V` entries.
    pub set_secret: Vec<String>,
    /// A values file.
    pub values: Option<PathBuf>,
    /// The run registry.
    pub registry: Option<String>,
    /// Base-image trigger on or off.
    pub base_image_trigger_enabled: Option<bool>,
    /// `Runtime` or `All`.
    pub base_image_trigger_type: Option<String>,
    /// 5-field UTC cron schedules.
    pub schedules: Vec<String>,
    /// Commit trigger on or off.
    pub commit_trigger_enabled: Option<bool>,
    /// Whole-run timeout in seconds.
    pub timeout: Option<u64>,
    /// The access token for an `https` git context (`--git-access-token`; empty removes it).
    pub git_access_token: Option<String>,
}

/// A problem with a request's flags (code `flag_format`).
fn flag_problem(message: impl Into<String>) -> Problem {
    Problem::error(Code::FlagFormat, message).with_help("see `taskrun task --help`")
}

/// `K=V` entries of `flag` as pairs; a malformed `--set-secret` is never echoed.
pub fn parse_pairs(flag: &str, raw: &[String]) -> Result<Vec<(String, String)>, Problem> {
    raw.iter()
        .map(|r| {
            crate::render::values::parse_assignment(flag, r).map_err(|p| {
                // A malformed `--set-secret` may be the secret itself: never echo it.
                let message = if flag == "--set-secret" && !r.is_empty() {
                    p.message.replace(r.as_str(), "***")
                } else {
                    p.message
                };
                flag_problem(message)
            })
        })
        .collect()
}

/// The absolute path of a task's `--file`: a relative one is looked up in the task's
/// `--context` directory first, then in the current directory (as `az acr task create`).
fn task_file(file: &Path, context: Option<&str>) -> Result<String, Problem> {
    if file == Path::new("-") {
        return Err(flag_problem(
            "a named task cannot read its file from standard input (`-f -`); pass a path",
        ));
    }
    if context.is_some_and(super::is_remote_context) {
        // Relative to the context fetched for each run (as `az acr task create -f … URL`).
        return Ok(file.display().to_string());
    }
    let dir = context.map(|c| Path::new(c.split_once('#').map_or(c, |(d, _)| d)));
    Ok(absolute(&crate::ops::locate_task_file(file, dir)))
}

fn trigger_type(raw: &str) -> Result<BaseImageTriggerType, Problem> {
    raw.parse().map_err(|_| {
        flag_problem(format!(
            "--base-image-trigger-type {raw}: expected Runtime or All"
        ))
    })
}

fn check_schedules(schedules: &[String]) -> Result<(), Problem> {
    for s in schedules {
        if s.split_whitespace().count() != 5 {
            return Err(flag_problem(format!(
                "--schedule `{s}`: expected 5 fields (minute hour day month day-of-week), in UTC"
            )));
        }
    }
    Ok(())
}

/// Stores a new task.
pub fn create_task(store: &Store, a: &TaskDefRequest) -> Result<TaskDef, Problem> {
    let file = a
        .file
        .as_ref()
        .ok_or_else(|| flag_problem("task create needs -f FILE"))?;
    check_schedules(&a.schedules)?;
    let context = a.context.clone().map(|c| {
        if super::is_remote_context(&c) {
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
    def.set = parse_pairs("--set", &a.set)?;
    def.set_secret = parse_pairs("--set-secret", &a.set_secret)?;
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
    store.create_task(&def).map_err(Problem::from)
}

/// Changes a stored task; what the request leaves out stays.
pub fn update_task(store: &Store, a: &TaskDefRequest) -> Result<TaskDef, Problem> {
    check_schedules(&a.schedules)?;
    let file = match &a.file {
        Some(f) => {
            let context = match &a.context {
                Some(c) => Some(c.clone()),
                None => store
                    .get_task(&a.name)
                    .map_err(Problem::from)?
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
            .then(|| parse_pairs("--set", &a.set))
            .transpose()?,
        set_secret: (!a.set_secret.is_empty())
            .then(|| parse_pairs("--set-secret", &a.set_secret))
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
    store.update_task(&a.name, &update).map_err(Problem::from)
}
