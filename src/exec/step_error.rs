//! Why a step did not succeed, as a type ([`StepError`]): what [`super::StepResult::error`]
//! holds. Its text (`Display`) is what the summaries, the `::error` annotations and the JSON
//! events show; it serializes as that text, so the JSON output keeps its plain string.

use std::fmt;
use std::time::Duration;

use crate::engine::EngineError;

/// Why a step failed, timed out, was cancelled or was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// The step ran and failed: a container exited non-zero (`exit status 3`, the repetitions of
    /// `repeat` joined with `, `), or the step's own work failed (a push of an image that is not
    /// there, a build helper's message).
    Failed {
        /// What went wrong, as shown.
        message: String,
        /// The exit code of the last attempt, when a container ran.
        exit_code: Option<i64>,
    },
    /// An engine operation failed (or the engine went away).
    Engine(EngineError),
    /// The run stopped (another step failed, Ctrl-C, a cancel request) while the step ran.
    Cancelled,
    /// The run stopped during the step's `startDelay`.
    StoppedBeforeStart,
    /// The step exceeded its own `timeout` (seconds).
    TimedOut {
        /// The step's timeout in seconds.
        secs: u64,
    },
    /// The whole-run timeout stopped the step, or came before it started.
    RunTimedOut {
        /// The run's timeout (`--timeout`), when one was set.
        limit: Option<Duration>,
    },
    /// Never started: the run was interrupted first.
    Interrupted,
    /// Never started: a step it depends on failed, or the run stopped.
    DependencyFailed,
    /// Never started: the run could not be prepared (networks, volumes, agent).
    NotPrepared,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Failed { message, .. } => f.write_str(message),
            StepError::Engine(e) => e.fmt(f),
            StepError::Cancelled => f.write_str("cancelled"),
            StepError::StoppedBeforeStart => f.write_str("the run stopped before the step started"),
            StepError::TimedOut { secs } => write!(f, "timed out after {secs}s"),
            StepError::RunTimedOut { limit } => fmt_run_timeout(*limit, f),
            StepError::Interrupted => f.write_str("the run was interrupted"),
            StepError::DependencyFailed => {
                f.write_str("a step it depends on failed, or the run stopped")
            }
            StepError::NotPrepared => f.write_str("the run could not be prepared"),
        }
    }
}

impl serde::Serialize for StepError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The text of the whole-run timeout, for a step and for the run.
pub(super) fn fmt_run_timeout(limit: Option<Duration>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match limit {
        Some(t) => write!(f, "the run timed out after {}s (--timeout)", t.as_secs()),
        None => f.write_str("the run timed out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(e: StepError, text: &str) {
        assert_eq!(e.to_string(), text);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::Value::String(text.to_owned())
        );
    }

    #[test]
    fn each_variant_shows_and_serializes_as_its_text() {
        pinned(
            StepError::Failed {
                message: "exit status 3, exit status 4".into(),
                exit_code: Some(4),
            },
            "exit status 3, exit status 4",
        );
        pinned(
            StepError::Engine(EngineError::Failed {
                operation: "create container",
                subject: "c".into(),
                message: "no such image".into(),
            }),
            "create container `c` failed: no such image",
        );
        pinned(StepError::Cancelled, "cancelled");
        pinned(
            StepError::StoppedBeforeStart,
            "the run stopped before the step started",
        );
        pinned(StepError::TimedOut { secs: 5 }, "timed out after 5s");
        pinned(
            StepError::RunTimedOut {
                limit: Some(Duration::from_secs(2)),
            },
            "the run timed out after 2s (--timeout)",
        );
        pinned(StepError::RunTimedOut { limit: None }, "the run timed out");
        pinned(StepError::Interrupted, "the run was interrupted");
        pinned(
            StepError::DependencyFailed,
            "a step it depends on failed, or the run stopped",
        );
        pinned(StepError::NotPrepared, "the run could not be prepared");
    }

    #[test]
    fn no_error_serializes_as_null() {
        assert_eq!(
            serde_json::to_value(None::<StepError>).unwrap(),
            serde_json::Value::Null
        );
    }
}
