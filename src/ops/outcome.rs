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

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(end: RunEnd) -> RunOutcome {
        RunOutcome::Ran(RunSummary {
            run_id: "ca1".into(),
            success: end == RunEnd::Succeeded,
            interrupted: end == RunEnd::Interrupted,
            timed_out: end == RunEnd::TimedOut,
            duration: std::time::Duration::ZERO,
            steps: Vec::new(),
            error: None,
            dependencies: Vec::new(),
            dependency_warnings: Vec::new(),
            end,
        })
    }

    #[test]
    fn the_exit_status_follows_the_outcome_type_alone() {
        let cases = [
            (RunOutcome::Refused, 2),
            (RunOutcome::NotStarted, 3),
            (RunOutcome::Interrupted, 130),
            (ran(RunEnd::Succeeded), 0),
            (ran(RunEnd::StepFailed), 1),
            (ran(RunEnd::TimedOut), 1),
            (ran(RunEnd::Interrupted), 130),
            (ran(RunEnd::EngineLost), 3),
        ];
        for (outcome, code) in cases {
            assert_eq!(outcome.exit_status().as_u8(), code, "{outcome:?}");
        }
        assert_eq!(
            RunOutcome::before_start(ExitStatus::Interrupted).exit_status(),
            ExitStatus::Interrupted
        );
        assert_eq!(
            RunOutcome::before_start(ExitStatus::Environment).exit_status(),
            ExitStatus::Environment
        );
        assert_eq!(
            RunOutcome::before_start(ExitStatus::InvalidInput).exit_status(),
            ExitStatus::InvalidInput
        );
    }
}
