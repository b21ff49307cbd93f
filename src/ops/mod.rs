//! The library's operations, in the manner of cargo's `ops`: a request type in, a typed outcome
//! out, and the report layer ([`crate::report::Printer`]) for everything shown on the way.
//!
//! The command line maps its arguments onto these requests (`commands::*` are argument mapping
//! and a call); named tasks and `serve` ([`crate::service`]) make the same requests. No clap
//! type is used below `commands`.
//!
//! - [`inputs`]: a [`FileRequest`] (task file, values, secrets) → resolved [`Inputs`].
//! - [`check`]: inputs → render → parse → validate → plan, collecting every problem.
//! - [`fetch`]: a remote CONTEXT fetched once, before the rest.
//! - [`run()`]: a [`RunRequest`] → checked, run on the engine (or the dry-run fake) →
//!   [`RunOutcome`], from which alone the exit status is chosen ([`ExitStatus`]).
//! - [`settings`]: the environment variables that tune a run, read in one place.
//! - [`runtime`]: the one async runtime helper.

pub mod check;
pub mod fetch;
pub mod inputs;
mod outcome;
pub mod run;
pub mod runtime;
pub mod settings;

pub use check::{Checked, Failed, check};
pub use fetch::{fetch_context, fetch_if_remote};
pub use inputs::{FileRequest, Inputs, STDIN_NAME, locate_task_file, resolve_inputs};
pub use outcome::{ExitStatus, RunOutcome};
pub use run::{RunRequest, run};
