//! Records kept in the store and their small enums.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::now;

/// A value that is not one of an enum's words (e.g. a run status of `Bogus`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    /// Which kind of value, e.g. `run status`.
    pub what: &'static str,
    /// The text that was given.
    pub value: String,
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $v:ident => $s:literal $(| $alt:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }

        impl $name {
            /// The word stored in the database and shown to users.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            /// Parses the word case-insensitively (spaces, `-` and `_` ignored: `image-update`).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let key: String = s
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '_'))
                    .collect::<String>()
                    .to_ascii_lowercase();
                $(
                    if key == $s.replace(' ', "").to_ascii_lowercase() $(|| key == $alt)* {
                        return Ok($name::$v);
                    }
                )+
                Err(UnknownValue { what: $what, value: s.to_owned() })
            }
        }
    };
}

word_enum!(
    /// Which base-image dependencies fire a task's base-image trigger (`--base-image-trigger-type`).
    BaseImageTriggerType, "base-image trigger type", {
        /// Only the runtime (final-stage) image: az's default.
        Runtime => "Runtime",
        /// Runtime and buildtime images.
        All => "All",
    }
);

word_enum!(
    /// Role of a base image in a task's builds (acb `runtime-dependency` / `buildtime-dependency`).
    DependencyKind, "dependency kind", {
        /// The origin of the final stage.
        Runtime => "Runtime",
        /// Any other external origin (`COPY --from=image` included).
        Buildtime => "Buildtime",
    }
);

word_enum!(
    /// Status of a run, with ACR's words.
    RunStatus, "run status", {
        /// Allocated, not started yet.
        Queued => "Queued",
        /// Executing.
        Running => "Running" | "started",
        /// All steps succeeded.
        Succeeded => "Succeeded",
        /// A step failed.
        Failed => "Failed",
        /// Interrupted by the user.
        Canceled => "Canceled" | "cancelled",
        /// The run exceeded its timeout.
        Timeout => "Timeout" | "timedout",
        /// The run could not execute (environment or input failure).
        Error => "Error",
    }
);

impl RunStatus {
    /// Whether the run is over (anything but `Queued` and `Running`).
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

word_enum!(
    /// What started a run; displayed like `az acr task list-runs` does.
    RunTrigger, "run trigger", {
        /// `taskrun task run` (or a quick run).
        Manual => "Manual",
        /// A new commit on the context's git branch.
        Commit => "Commit",
        /// A `--schedule` timer.
        Timer => "Timer",
        /// A base image got a new digest.
        ImageUpdate => "Image Update",
    }
);

/// A named task (`taskrun task create`).
///
/// `Debug` never shows the values of `set_secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct TaskDef {
    /// Task name (see [`super::validate_task_name`]).
    pub name: String,
    /// The task file (`-f`), an absolute path.
    pub file: String,
    /// Build context: a local directory, or a local git repository with an optional `#branch`.
    pub context: Option<String>,
    /// `--values FILE`.
    pub values_file: Option<String>,
    /// `--set K=V`, in order (later wins when applied).
    pub set: Vec<(String, String)>,
    /// `--set-secret K=V`, in order. Stored in the database file (mode 0600); never in `Debug`.
    pub set_secret: Vec<(String, String)>,
    /// `-r/--registry`.
    pub registry: Option<String>,
    /// `--base-image-trigger-enabled` (default true, as az).
    pub base_image_trigger_enabled: bool,
    /// `--base-image-trigger-type` (default `Runtime`, as az).
    pub base_image_trigger_type: BaseImageTriggerType,
    /// `--schedule CRON`, each a 5-field UTC cron expression (not validated here).
    pub schedules: Vec<String>,
    /// `--commit-trigger-enabled` (default: whether the context is a git repository, see
    /// [`is_git_context`]).
    pub commit_trigger_enabled: bool,
    /// `--timeout` in seconds (default 3600, as az).
    pub timeout_secs: u64,
    /// `--git-access-token`: the token for an `https` git context (the runs' fetch and the
    /// commit trigger's poll). Stored in the database file (mode 0600) like `set_secret`;
    /// never in `Debug`.
    pub git_access_token: Option<String>,
    /// When the task was created (set by the store).
    pub created: DateTime<Utc>,
    /// When the task was last changed (set by the store).
    pub updated: DateTime<Utc>,
}

/// Default `--timeout` of a task, in seconds (az's default).
pub const DEFAULT_TIMEOUT_SECS: u64 = 3600;

impl TaskDef {
    /// A task with az's defaults: base-image trigger on (`Runtime`), no schedules, timeout 3600 s,
    /// commit trigger on exactly when `context` is a git repository ([`is_git_context`]).
    pub fn new(name: impl Into<String>, file: impl Into<String>, context: Option<String>) -> Self {
        let commit_trigger_enabled = context.as_deref().is_some_and(is_git_context);
        let t = now();
        TaskDef {
            name: name.into(),
            file: file.into(),
            context,
            values_file: None,
            set: Vec::new(),
            set_secret: Vec::new(),
            registry: None,
            base_image_trigger_enabled: true,
            base_image_trigger_type: BaseImageTriggerType::Runtime,
            schedules: Vec::new(),
            commit_trigger_enabled,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            git_access_token: None,
            created: t,
            updated: t,
        }
    }
}

/// Redacts secret values.
struct Redacted<'a>(&'a [(String, String)]);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| (k, "***")))
            .finish()
    }
}

impl fmt::Debug for TaskDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskDef")
            .field("name", &self.name)
            .field("file", &self.file)
            .field("context", &self.context)
            .field("values_file", &self.values_file)
            .field("set", &self.set)
            .field("set_secret", &Redacted(&self.set_secret))
            .field("registry", &self.registry)
            .field(
                "base_image_trigger_enabled",
                &self.base_image_trigger_enabled,
            )
            .field("base_image_trigger_type", &self.base_image_trigger_type)
            .field("schedules", &self.schedules)
            .field("commit_trigger_enabled", &self.commit_trigger_enabled)
            .field("timeout_secs", &self.timeout_secs)
            .field(
                "git_access_token",
                &self.git_access_token.as_ref().map(|_| "***"),
            )
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish()
    }
}

/// A partial change to a task (`taskrun task update`): `None` keeps the current value.
///
/// For the optional fields, `Some(None)` clears the value. List fields (`set`, `set_secret`,
/// `schedules`) replace the whole list; merging with the current list is the caller's choice.
/// `Debug` never shows the values of `set_secret`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TaskUpdate {
    /// New task file (absolute).
    pub file: Option<String>,
    /// New context, or `Some(None)` to remove it.
    pub context: Option<Option<String>>,
    /// New values file, or `Some(None)` to remove it.
    pub values_file: Option<Option<String>>,
    /// Replacement `--set` list.
    pub set: Option<Vec<(String, String)>>,
    /// Replacement `--set-secret` list.
    pub set_secret: Option<Vec<(String, String)>>,
    /// New registry, or `Some(None)` to remove it.
    pub registry: Option<Option<String>>,
    /// Enable or disable the base-image trigger.
    pub base_image_trigger_enabled: Option<bool>,
    /// New base-image trigger type.
    pub base_image_trigger_type: Option<BaseImageTriggerType>,
    /// Replacement schedules.
    pub schedules: Option<Vec<String>>,
    /// Enable or disable the commit trigger.
    pub commit_trigger_enabled: Option<bool>,
    /// New timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// New git access token, or `Some(None)` to remove it. Never in `Debug`.
    pub git_access_token: Option<Option<String>>,
}

impl fmt::Debug for TaskUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskUpdate")
            .field("file", &self.file)
            .field("context", &self.context)
            .field("values_file", &self.values_file)
            .field("set", &self.set)
            .field("set_secret", &self.set_secret.as_deref().map(Redacted))
            .field("registry", &self.registry)
            .field(
                "base_image_trigger_enabled",
                &self.base_image_trigger_enabled,
            )
            .field("base_image_trigger_type", &self.base_image_trigger_type)
            .field("schedules", &self.schedules)
            .field("commit_trigger_enabled", &self.commit_trigger_enabled)
            .field("timeout_secs", &self.timeout_secs)
            .field(
                "git_access_token",
                &self
                    .git_access_token
                    .as_ref()
                    .map(|t| t.as_ref().map(|_| "***")),
            )
            .finish()
    }
}

impl TaskUpdate {
    /// Applies the change to `task` (timestamps untouched).
    pub fn apply_to(&self, task: &mut TaskDef) {
        if let Some(v) = &self.file {
            task.file = v.clone();
        }
        if let Some(v) = &self.context {
            task.context = v.clone();
        }
        if let Some(v) = &self.values_file {
            task.values_file = v.clone();
        }
        if let Some(v) = &self.set {
            task.set = v.clone();
        }
        if let Some(v) = &self.set_secret {
            task.set_secret = v.clone();
        }
        if let Some(v) = &self.registry {
            task.registry = v.clone();
        }
        if let Some(v) = self.base_image_trigger_enabled {
            task.base_image_trigger_enabled = v;
        }
        if let Some(v) = self.base_image_trigger_type {
            task.base_image_trigger_type = v;
        }
        if let Some(v) = &self.schedules {
            task.schedules = v.clone();
        }
        if let Some(v) = self.commit_trigger_enabled {
            task.commit_trigger_enabled = v;
        }
        if let Some(v) = self.timeout_secs {
            task.timeout_secs = v;
        }
        if let Some(v) = &self.git_access_token {
            task.git_access_token = v.clone();
        }
    }
}

/// Whether a task context names a git repository: a git URL (`git://…`, `https://….git`, …),
/// a local directory with a `#branch` fragment, or a directory with a `.git` entry (a
/// directory, or a file for worktrees and submodules). A tarball or OCI context is not one.
pub fn is_git_context(context: &str) -> bool {
    match crate::context::remote::RemoteSource::parse(context) {
        Some(crate::context::remote::RemoteSource::Git { .. }) => return true,
        Some(_) => return false,
        None => {}
    }
    match context.split_once('#') {
        Some((dir, _)) => !dir.is_empty(),
        None => Path::new(context).join(".git").exists(),
    }
}

/// The result of one step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step id.
    pub id: String,
    /// Final status word as the executor reports it (e.g. `succeeded`, `failed`, `skipped`).
    pub status: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Exit code of the step's container, when one ran.
    pub exit_code: Option<i64>,
}

/// One run in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// ACR-style run id (see [`super::Store::next_run_id`]).
    pub id: String,
    /// The named task, or `None` for a quick run.
    pub task: Option<String>,
    /// Current status.
    pub status: RunStatus,
    /// What started it.
    pub trigger: RunTrigger,
    /// Platform shown in list-runs, e.g. `linux`.
    pub platform: String,
    /// When the run was queued or started.
    pub started: DateTime<Utc>,
    /// When it reached a final status.
    pub finished: Option<DateTime<Utc>>,
    /// taskrun's exit code for the run.
    pub exit_code: Option<i64>,
    /// Per-step results, in file order.
    pub steps: Vec<StepRecord>,
    /// acb's dependency JSON of the run (§6.2 shape), when it built images.
    pub dependencies_json: Option<String>,
    /// Commit the run built (`.Run.Commit`).
    pub commit: Option<String>,
    /// Branch the run built (`.Run.Branch`).
    pub branch: Option<String>,
}

impl RunRecord {
    /// A new `Queued` run started now with no steps, exit code or finish time.
    pub fn new(
        id: impl Into<String>,
        task: Option<String>,
        trigger: RunTrigger,
        platform: impl Into<String>,
    ) -> Self {
        RunRecord {
            id: id.into(),
            task,
            status: RunStatus::Queued,
            trigger,
            platform: platform.into(),
            started: now(),
            finished: None,
            exit_code: None,
            steps: Vec::new(),
            dependencies_json: None,
            commit: None,
            branch: None,
        }
    }

    /// `finished - started`, once finished (never negative).
    pub fn duration(&self) -> Option<chrono::Duration> {
        self.finished
            .map(|f| (f - self.started).max(chrono::Duration::zero()))
    }
}

/// How a run ended ([`super::Store::finish_run`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFinish {
    /// Final status; must be terminal.
    pub status: RunStatus,
    /// When it ended.
    pub finished: DateTime<Utc>,
    /// taskrun's exit code.
    pub exit_code: Option<i64>,
    /// Per-step results.
    pub steps: Vec<StepRecord>,
    /// acb dependency JSON, when any.
    pub dependencies_json: Option<String>,
}

/// The last known digest of a base image tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImageRecord {
    /// Docker-normalised reference, e.g. `docker.io/library/node:15-alpine` (normalised by the
    /// caller; the store compares it as text).
    pub image: String,
    /// Digest of the tag (a manifest list / index for multi-arch images).
    pub digest: String,
    /// Platform the record is about (`linux/amd64`), or `None` when platform-independent.
    pub platform: Option<String>,
    /// Digest of the platform's manifest inside a multi-arch index.
    pub platform_digest: Option<String>,
    /// When the digest was resolved.
    pub checked: DateTime<Utc>,
}
