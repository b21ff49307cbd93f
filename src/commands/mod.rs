//! One small function per subcommand, and the dispatch `match`. Commands return an
//! [`ExitStatus`]; only the report layer prints.

mod build;
pub mod check;
mod graph;
mod import;
mod render;
mod run;
mod scan;
mod schema;
mod serve;
pub mod task;
mod validate;

pub use check::{Checked, check};

use crate::cli::{Cli, Command};
use crate::report::Printer;

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

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> ExitStatus {
    let printer = Printer::new(cli.color);
    match cli.command {
        None => run::run(&cli.run, &printer),
        Some(Command::Run(args)) => run::run(&args, &printer),
        Some(Command::Build(args)) => build::build(&args, &printer),
        Some(Command::Render(args)) => render::render(&args, &printer),
        Some(Command::Validate(args)) => validate::validate(&args, &printer),
        Some(Command::Graph(args)) => graph::graph(&args, &printer),
        Some(Command::Scan(args)) => scan::scan(&args, &printer),
        Some(Command::Task(cmd)) => task::task(&cmd, &printer),
        Some(Command::Serve(args)) => serve::serve(&args, &printer),
        Some(Command::Schema) => schema::schema(&printer),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "taskrun", &mut out);
            printer.data(&String::from_utf8_lossy(&out));
            ExitStatus::Success
        }
        Some(Command::Man) => {
            let mut out = Vec::new();
            let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            if clap_mangen::Man::new(cmd).render(&mut out).is_err() {
                return ExitStatus::Environment;
            }
            printer.data(&String::from_utf8_lossy(&out));
            ExitStatus::Success
        }
        Some(Command::Import(args)) => import::import(&args, &printer),
    }
}

/// Prints the problems of a failed check, then its note.
fn print_failed(failed: &check::Failed, printer: &Printer) {
    printer.problems(&failed.problems, &failed.masked);
    if let Some(note) = &failed.note {
        printer.status(note);
    }
}
