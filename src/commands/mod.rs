//! One small function per subcommand, and the dispatch `match`: each maps its clap arguments
//! onto a library request ([`crate::ops`], [`crate::service`]) and returns an [`ExitStatus`];
//! only the report layer prints.

mod build;
mod graph;
mod import;
mod render;
mod run;
mod scan;
mod schema;
mod serve;
mod task;
mod validate;

pub use crate::ops::ExitStatus;

use crate::cli::{Cli, Command};
use crate::report::Printer;

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
