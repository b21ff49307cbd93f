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
    /// Could not start: the engine or a remote CONTEXT cannot be reached, or the machine
    /// refused what a run needs (a temporary directory, the async runtime); the reason was
    /// reported.
    NotStarted,
    /// Ctrl-C or SIGTERM arrived before the run started (while its CONTEXT was fetched).
    Interrupted,
    /// The run started and ended; [`RunSummary::end`] says how.
    Ran(RunSummary),
}

impl RunOutcome {
    /// The summary of a run that started.
    pub fn summary(&self) -> Option<&RunSummary> {
        match self {
            RunOutcome::Ran(s) => Some(s),
            RunOutcome::Refused | RunOutcome::NotStarted | RunOutcome::Interrupted => None,
        }
    }

    /// The summary of a run that started, by value.
    pub fn into_summary(self) -> Option<RunSummary> {
        match self {
            RunOutcome::Ran(s) => Some(s),
            RunOutcome::Refused | RunOutcome::NotStarted | RunOutcome::Interrupted => None,
        }
    }

    /// The outcome of a run that stopped before it started with `status` (a remote CONTEXT
    /// that could not be fetched, and the like).
    pub fn before_start(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Interrupted => RunOutcome::Interrupted,
            ExitStatus::Environment => RunOutcome::NotStarted,
            _ => RunOutcome::Refused,
        }
    }

    /// The exit status of SPEC §3: the one place it is chosen.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            RunOutcome::Refused => ExitStatus::InvalidInput,
            RunOutcome::NotStarted => ExitStatus::Environment,
            RunOutcome::Interrupted => ExitStatus::Interrupted,
            RunOutcome::Ran(s) => match s.end {
                RunEnd::Succeeded => ExitStatus::Success,
                RunEnd::StepFailed | RunEnd::TimedOut => ExitStatus::StepFailed,
                RunEnd::Interrupted => ExitStatus::Interrupted,
                RunEnd::EngineLost => ExitStatus::Environment,
            },
        }
    }
}
