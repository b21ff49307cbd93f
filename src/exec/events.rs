//! What the executor tells the outside world while a run progresses. The report layer implements
//! [`Reporter`] (human, plain, json); `exec` never prints.

use std::time::Duration;

use serde::Serialize;

use crate::deps::Dependencies;

use crate::engine::LogStream;

use super::{RunError, StepError};

/// Final status of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Exited 0 (or started, for `detach`).
    Succeeded,
    /// Failed and failed the run.
    Failed,
    /// Failed, but `ignoreErrors` let the run continue.
    Ignored,
    /// Exceeded its timeout.
    TimedOut,
    /// Stopped because another step failed or the run was interrupted.
    Cancelled,
    /// Never started (a dependency failed or the run stopped first).
    Skipped,
}

impl StepStatus {
    /// The word shown in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Ignored => "failed (ignored)",
            StepStatus::TimedOut => "timed out",
            StepStatus::Cancelled => "cancelled",
            StepStatus::Skipped => "skipped",
        }
    }

    /// Whether the step counts as done for its dependants.
    pub fn lets_dependants_run(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Ignored)
    }
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// Step id.
    pub id: String,
    /// `build`, `cmd` or `push`.
    pub kind: &'static str,
    /// Status.
    pub status: StepStatus,
    /// Wall time from start (after `startDelay`) to end.
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    /// Exit code of the last attempt, when a container ran.
    pub exit_code: Option<i64>,
    /// Why it failed (or was cancelled or skipped), when it did; serialized as its text.
    pub error: Option<StepError>,
    /// Digests of pushed images (`image@sha256:…`), for push steps.
    pub pushed: Vec<String>,
    /// Image id built, for build steps.
    pub image_id: Option<String>,
    /// Base-image dependencies of a build step (acb's dependency JSON), digests filled at the end
    /// of a successful run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependencies>,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Whether every step succeeded (or was ignored).
    pub success: bool,
    /// Whether the run was interrupted (Ctrl-C, SIGTERM).
    pub interrupted: bool,
    /// Whether the whole-run timeout (`--timeout`) stopped the run.
    #[serde(default)]
    pub timed_out: bool,
    /// Wall time of the whole run.
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    /// Per-step results in file order.
    pub steps: Vec<StepResult>,
    /// The run-level error (first failing step, or an engine fault); serialized as its text.
    pub error: Option<RunError>,
    /// Every build step's dependencies, in file order (acb's dependency JSON).
    pub dependencies: Vec<Dependencies>,
    /// Digests that could not be resolved (never a failure).
    pub dependency_warnings: Vec<String>,
    /// How the run ended, as a type: what the exit status and a named task's recorded status
    /// are chosen from (the booleans above are the JSON shape of the `finished` event).
    #[serde(skip)]
    pub end: RunEnd,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunEnd {
    /// Every step succeeded (or was ignored).
    #[default]
    Succeeded,
    /// A step failed (or timed out), or the run could not be prepared on a working engine.
    StepFailed,
    /// The whole-run timeout stopped it.
    TimedOut,
    /// Ctrl-C, SIGTERM or a cancel request stopped it.
    Interrupted,
    /// The engine could not be reached, or went away during the run.
    EngineLost,
}

/// Receives run events. Implementations must be cheap and must not block for long: they are
/// called from step tasks.
pub trait Reporter: Send + Sync {
    /// The run begins; `steps` are the step ids in file order.
    fn run_started(&self, run_id: &str, steps: &[String]);
    /// A run-level message (network created, leftovers removed, …).
    fn run_message(&self, message: &str);
    /// A step starts an attempt (1-based).
    fn step_started(&self, step: &str, attempt: u64);
    /// A line of output from a step's container, build or push.
    fn step_line(&self, step: &str, stream: LogStream, line: &str);
    /// A message from taskrun about a step (retry, pull, push attempt).
    fn step_message(&self, step: &str, message: &str);
    /// A step finished.
    fn step_finished(&self, result: &StepResult);
    /// The run finished.
    fn run_finished(&self, summary: &RunSummary);
    /// Secret forms learnt during the run (a build secret read from a file) to mask in
    /// everything written from now on, like the secrets known when the run started.
    fn add_masked(&self, _forms: &[String]) {}
}
