//! Why a run failed, as a type ([`RunError`]): what [`super::RunSummary::error`] holds. Its text
//! (`Display`) is the `Error:` of the summary line and the `error` of the `run_finished` JSON
//! event; it serializes as that text.

use std::fmt;
use std::time::Duration;

use super::StepError;
use crate::engine::EngineError;

/// The run-level error: the first failing step, or what stopped the whole run. (Payloads are
/// boxed to keep [`super::RunSummary`] small.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// A step failed (or timed out) without `ignoreErrors`, and stopped the run.
    StepFailed {
        /// The step id.
        step: String,
        /// Why it failed.
        error: Box<StepError>,
    },
    /// The run could not be prepared (engine check, networks, volumes, agent).
    NotPrepared(Box<EngineError>),
    /// The whole-run timeout stopped the run.
    TimedOut {
        /// The run's timeout (`--timeout`), when one was set.
        limit: Option<Duration>,
    },
    /// Ctrl-C, SIGTERM or a cancel request stopped the run.
    Interrupted,
    /// The engine went away during the run; `earlier` is the error the run had already met
    /// (most often a step failing because its container was killed).
    EngineLost {
        /// The engine check that failed after the run.
        error: Box<EngineError>,
        /// The run's error before the engine was found gone, if any.
        earlier: Option<Box<RunError>>,
    },
    /// A step task panicked (a bug): the run fails instead of hanging.
    Internal {
        /// The join error's text.
        message: String,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::StepFailed { step, error } => {
                write!(f, "failed to run step ID: {step}: {error}")
            }
            RunError::NotPrepared(e) => e.fmt(f),
            RunError::TimedOut { limit } => super::step_error::fmt_run_timeout(*limit, f),
            RunError::Interrupted => f.write_str("interrupted"),
            RunError::EngineLost { error, earlier } => {
                write!(f, "{error} (the engine went away during the run; ")?;
                match earlier {
                    Some(e) => e.fmt(f)?,
                    None => f.write_str("no step had failed yet")?,
                }
                f.write_str(
                    "); whatever of this run is left on the engine is removed by the next \
                     taskrun run on this host",
                )
            }
            RunError::Internal { message } => write!(f, "internal error in a step: {message}"),
        }
    }
}

impl serde::Serialize for RunError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(e: RunError, text: &str) {
        assert_eq!(e.to_string(), text);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::Value::String(text.to_owned())
        );
    }

    fn gone() -> Box<EngineError> {
        Box::new(EngineError::Unreachable {
            endpoint: "unix:///var/run/docker.sock".into(),
            message: "connection refused".into(),
        })
    }

    #[test]
    fn each_variant_shows_and_serializes_as_its_text() {
        pinned(
            RunError::StepFailed {
                step: "bad".into(),
                error: Box::new(StepError::Failed {
                    message: "exit status 3".into(),
                    exit_code: Some(3),
                }),
            },
            "failed to run step ID: bad: exit status 3",
        );
        pinned(
            RunError::StepFailed {
                step: "push".into(),
                error: Box::new(StepError::TimedOut { secs: 5 }),
            },
            "failed to run step ID: push: timed out after 5s",
        );
        pinned(
            RunError::NotPrepared(Box::new(EngineError::Failed {
                operation: "create network",
                subject: "n".into(),
                message: "pool overlaps".into(),
            })),
            "create network `n` failed: pool overlaps",
        );
        pinned(
            RunError::TimedOut {
                limit: Some(Duration::from_secs(2)),
            },
            "the run timed out after 2s (--timeout)",
        );
        pinned(RunError::Interrupted, "interrupted");
        pinned(
            RunError::Internal {
                message: "task 7 panicked".into(),
            },
            "internal error in a step: task 7 panicked",
        );
    }

    #[test]
    fn a_lost_engine_wraps_the_earlier_error() {
        pinned(
            RunError::EngineLost {
                error: gone(),
                earlier: Some(Box::new(RunError::StepFailed {
                    step: "sleeper".into(),
                    error: Box::new(StepError::Failed {
                        message: "exit status 137".into(),
                        exit_code: Some(137),
                    }),
                })),
            },
            "cannot reach the Docker engine at unix:///var/run/docker.sock: connection refused \
             (the engine went away during the run; failed to run step ID: sleeper: exit status \
             137); whatever of this run is left on the engine is removed by the next taskrun \
             run on this host",
        );
        pinned(
            RunError::EngineLost {
                error: gone(),
                earlier: None,
            },
            "cannot reach the Docker engine at unix:///var/run/docker.sock: connection refused \
             (the engine went away during the run; no step had failed yet); whatever of this \
             run is left on the engine is removed by the next taskrun run on this host",
        );
    }
}
