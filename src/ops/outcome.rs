//! How an operation ended, as types: [`RunOutcome`] for a run, and the process [`ExitStatus`]
//! (SPEC §3) chosen from it in one place.

use crate::exec::{RunEnd, RunSummary};

/// Exit codes of SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success.
    Success,
    /// 1: a step failed or timed out.
    StepFailed,
    /// 2: invalid input (file, flags, template, values).
    InvalidInput,
    /// 3: environment failure (engine or registry unreachable, permission denied).
    Environment,
    /// 130: interrupted.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub fn as_u8(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::StepFailed => 1,
            ExitStatus::InvalidInput => 2,
            ExitStatus::Environment => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

/// How a run request ended.
#[derive(Debug)]
pub enum RunOutcome {
    /// Refused before anything ran: the file, a flag, a value or the context is invalid (the
    /// problems were reported).
    Refused,
    /// Could not start: the engine cannot be reached, or the machine refused what a run needs
    /// (a temporary directory, the async runtime); the reason was reported.
    NotStarted,
    /// The run started and ended; [`RunSummary::end`] says how.
    Ran(RunSummary),
}

impl RunOutcome {
    /// The summary of a run that started.
    pub fn summary(&self) -> Option<&RunSummary> {
        match self {
            RunOutcome::Ran(s) => Some(s),
            RunOutcome::Refused | RunOutcome::NotStarted => None,
        }
    }

    /// The summary of a run that started, by value.
    pub fn into_summary(self) -> Option<RunSummary> {
        match self {
            RunOutcome::Ran(s) => Some(s),
            RunOutcome::Refused | RunOutcome::NotStarted => None,
        }
    }

    /// The exit status of SPEC §3: the one place it is chosen.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            RunOutcome::Refused => ExitStatus::InvalidInput,
            RunOutcome::NotStarted => ExitStatus::Environment,
            RunOutcome::Ran(s) => match s.end {
                RunEnd::Succeeded => ExitStatus::Success,
                RunEnd::StepFailed | RunEnd::TimedOut => ExitStatus::StepFailed,
                RunEnd::Interrupted => ExitStatus::Interrupted,
                RunEnd::EngineLost => ExitStatus::Environment,
            },
        }
    }
}
