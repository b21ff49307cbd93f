//! The front half of the pipeline shared by `render`, `validate`, `graph` and `run`:
//! inputs → render → parse → validate → plan, collecting every problem.

use crate::cli::{FileArgs, Inputs, resolve_inputs};
use crate::diag::Problems;
use crate::model::{StepKind, Task};
use crate::plan::Plan;
use crate::render::{self, Rendered, alias};
use crate::{syntax, validate};

/// A task file that passed every check.
#[derive(Debug)]
pub struct Checked {
    /// The resolved inputs.
    pub inputs: Inputs,
    /// The rendered text and render facts.
    pub rendered: Rendered,
    /// The validated task.
    pub task: Task,
    /// The step graph.
    pub plan: Plan,
    /// Warnings found on the way.
    pub warnings: Problems,
}

/// Why checking stopped.
#[derive(Debug)]
pub struct Failed {
    /// The problems (at least one error).
    pub problems: Problems,
    /// Values to mask when printing them.
    pub masked: Vec<String>,
    /// A note printed after the problems (for example that positions refer to rendered text).
    pub note: Option<String>,
}

/// Reads, renders, parses, validates and plans the task file named by `args`.
pub fn check(args: &FileArgs) -> Result<Checked, Failed> {
    let inputs = resolve_inputs(args, std::env::vars()).map_err(|problems| Failed {
        problems,
        masked: Vec::new(),
        note: None,
    })?;
    let fail = |problems: Problems| Failed {
        problems,
        masked: inputs.masked.clone(),
        note: None,
    };
    let rendered =
        render::render(&inputs.file, &inputs.data, &inputs.secrets, &inputs.render).map_err(fail)?;
    let mut problems = rendered.warnings.clone();

    let (ast, syntax_problems) = syntax::parse(&rendered.source);
    problems.extend(syntax_problems);
    let task = match &ast {
        Some(ast) => {
            let (task, validate_problems) = validate::validate(ast, &rendered.source);
            problems.extend(validate_problems);
            task
        }
        None => None,
    };
    if inputs.strict {
        problems.promote_warnings();
    }
    let Some(mut task) = task.filter(|_| !problems.has_errors()) else {
        let note = rendered.changed.then(|| rendered_note(&rendered, &inputs));
        return Err(Failed {
            note,
            ..fail(problems)
        });
    };
    if rendered.aliases_enabled {
        for step in &mut task.steps {
            if let StepKind::Cmd(cmd) = &mut step.kind
                && let Some(expanded) = alias::expand_command_alias(cmd, &rendered.aliases)
            {
                *cmd = expanded;
            }
        }
    }
    let plan = Plan::new(&task);
    Ok(Checked {
        inputs,
        rendered,
        task,
        plan,
        warnings: problems,
    })
}

fn rendered_note(rendered: &Rendered, inputs: &Inputs) -> String {
    format!(
        "note: positions refer to `{}`, the text after aliases and templates were applied; \
         run `taskrun render -f {}` with the same flags to see it",
        rendered.source.name, inputs.file.name
    )
}
