//! `taskrun validate`: every check that needs no engine; with CONTEXT, also the checks against
//! the directory `run` would seed `/workspace` from, made exactly as `run` makes them.

use crate::cli::ValidateArgs;
use crate::commands::ExitStatus;
use crate::ops::check;
use crate::report::Printer;

/// Checks the task file; exit 0 (warnings allowed) or 2.
pub fn validate(args: &ValidateArgs, printer: &Printer) -> ExitStatus {
    // A remote CONTEXT is fetched (read-only) so that the checks are those `run` makes.
    let mut args = args.clone();
    let fetched = match args.context.as_deref() {
        Some(context) => match crate::ops::fetch_if_remote(context, Vec::new(), printer) {
            Ok(f) => f,
            Err(status) => return status,
        },
        None => None,
    };
    if let Some(f) = &fetched {
        args.context = Some(f.dir().to_owned());
        if args.file.commit.is_none() {
            args.file.commit = f.commit().map(str::to_owned);
        }
        if args.file.branch.is_none() {
            args.file.branch = f.branch().map(str::to_owned);
        }
    }
    if let Some(problem) = args.context.as_deref().and_then(check::context_dir_problem) {
        printer.problems(&problem.into(), &[]);
        return ExitStatus::InvalidInput;
    }
    let mut file = args.file.request();
    file.context_dir.clone_from(&args.context);
    let checked = check::check(&file, true);
    // Ctrl-C after a remote CONTEXT was fetched (the fetch's handler took the default away).
    if fetched.as_ref().is_some_and(|f| f.interrupted()) {
        return ExitStatus::Interrupted;
    }
    match checked {
        Ok(mut checked) => {
            if let Some(dir) = &args.context {
                let found = check::context_problems(&checked.task, dir, checked.inputs.strict);
                if found.has_errors() {
                    let mut all = checked.warnings.clone();
                    all.extend(found);
                    printer.problems(&all, &checked.inputs.masked);
                    return ExitStatus::InvalidInput;
                }
                checked.warnings.extend(found);
            }
            printer.problems(&checked.warnings, &checked.inputs.masked);
            let steps = checked.task.steps.len();
            let warnings = checked.warnings.iter().count();
            printer.status(&format!(
                "{}: valid, {steps} step{}, {} template delimiters, aliases {}{}",
                checked.inputs.file.name,
                if steps == 1 { "" } else { "s" },
                checked.rendered.delims,
                if checked.rendered.aliases_enabled {
                    "on"
                } else {
                    "off"
                },
                match warnings {
                    0 => String::new(),
                    1 => ", 1 warning".to_owned(),
                    n => format!(", {n} warnings"),
                }
            ));
            if let Some(note) = check::placeholder_note(&checked.placeholders) {
                printer.status(&note);
            }
            ExitStatus::Success
        }
        Err(failed) => {
            printer.failed(&failed.problems, &failed.masked, failed.note.as_deref());
            ExitStatus::InvalidInput
        }
    }
}
