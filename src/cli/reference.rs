//! The CLI reference (`docs/cli-reference.md`), generated from the clap definition so it cannot
//! drift: `tests/cli_reference.rs` compares it with the committed file
//! (`UPDATE_CLI_REFERENCE=1 cargo test --test cli_reference` rewrites it).

use clap::{Command, CommandFactory};

use super::Cli;

/// The fixed help width, so the output does not depend on the terminal.
const WIDTH: usize = 100;

/// The Markdown reference: for the root command and every subcommand (recursively, `help`
/// excluded) a `## taskrun <path>` heading and its long `--help` text.
pub fn cli_reference() -> String {
    let mut root = prepare(Cli::command());
    root.build();
    let mut out = String::from(
        "# Command-line reference\n\n\
         <!-- Generated from the clap definition by `taskrun::cli::reference::cli_reference()`.\n     \
         Do not edit: run `UPDATE_CLI_REFERENCE=1 cargo test --test cli_reference`. -->\n\n\
         Every command's `--help` text. See [cli.md](cli.md) for exit codes, output modes and \
         examples.\n",
    );
    let name = root.get_name().to_owned();
    section(&mut out, &root, &name);
    out
}

/// Fixes the width and hides `[env: …]` values (clap shows the variable's current value unless
/// told not to), on `cmd` and all its subcommands.
fn prepare(cmd: Command) -> Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    let mut cmd = cmd.term_width(WIDTH).max_term_width(WIDTH).mut_args(|a| {
        if a.get_env().is_some() {
            a.hide_env_values(true)
        } else {
            a
        }
    });
    for name in names {
        cmd = cmd.mut_subcommand(name, prepare);
    }
    cmd
}

fn section(out: &mut String, cmd: &Command, path: &str) {
    let help = cmd
        .clone()
        .bin_name(path)
        .term_width(WIDTH)
        .render_long_help()
        .to_string();
    let help: Vec<&str> = help.lines().map(str::trim_end).collect();
    out.push_str(&format!(
        "\n## {path}\n\n```text\n{}\n```\n",
        help.join("\n").trim_matches('\n')
    ));
    for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
        section(out, sub, &format!("{path} {}", sub.get_name()));
    }
}
