//! The front half of the pipeline shared by `render`, `validate`, `graph` and `run`:
//! inputs → render → parse → validate → plan, collecting every problem; and the checks that
//! need the CONTEXT directory ([`context_dir_problem`], [`context_problems`]), made the same way
//! by `validate CONTEXT` and `run`.

use std::path::Path;

use super::inputs::{FileRequest, Inputs, resolve_inputs};
use crate::diag::{Code, Problem, Problems};
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
    /// The text that was parsed and validated (the rendered text, yaml.v2's `[-]` read as
    /// yaml.v2 reads it): the spans of the task's steps point into it.
    pub source: crate::source::Source,
    /// The validated task.
    pub task: Task,
    /// The step graph.
    pub plan: Plan,
    /// Warnings found on the way.
    pub warnings: Problems,
    /// Values that had no value and were checked with placeholders (validate and graph only).
    pub placeholders: Vec<String>,
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

/// Reads, renders, parses, validates and plans the task file named by `args`. With
/// `placeholders`, values the file refers to but nobody gave are filled with placeholders
/// (`validate`, `graph`); `run` and `render` use exactly what was given, as acb.
pub fn check(args: &FileRequest, placeholders: bool) -> Result<Checked, Failed> {
    let mut inputs = resolve_inputs(args, std::env::vars()).map_err(|problems| Failed {
        problems,
        masked: Vec::new(),
        note: None,
    })?;
    // --strict asks for missing values to be errors, so it never fills placeholders.
    let filled = if placeholders && !inputs.strict {
        render::placeholders::fill(&inputs.file.text, &mut inputs.data)
    } else {
        Vec::new()
    };
    let fail = |problems: Problems| Failed {
        problems,
        masked: inputs.masked.clone(),
        note: placeholder_note(&filled),
    };
    let rendered = render::render(&inputs.file, &inputs.data, &inputs.secrets, &inputs.render)
        .map_err(fail)?;
    let mut problems = rendered.warnings.clone();

    let yaml_src = syntax::yaml11_compat(&rendered.source);
    let (ast, syntax_problems) = syntax::parse(&yaml_src);
    problems.extend(syntax_problems);
    let task = match &ast {
        Some(ast) => {
            let (task, validate_problems) = validate::validate(ast, &yaml_src);
            problems.extend(validate_problems);
            task
        }
        None => None,
    };
    if !filled.is_empty() {
        soften_placeholder_problems(&mut problems, &inputs.file, &yaml_src, &filled);
    }
    if inputs.strict {
        problems.promote_warnings();
    }
    let Some(mut task) = task.filter(|_| !problems.has_errors()) else {
        let note = rendered
            .changed
            .then(|| rendered_note(&rendered, &inputs))
            .into_iter()
            .chain(placeholder_note(&filled))
            .reduce(|a, b| format!("{a}\n{b}"));
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
                *cmd = crate::model::CmdStep::new(expanded).at(cmd.span.clone());
            }
        }
    }
    let plan = Plan::new_masked(&task, &inputs.masked);
    Ok(Checked {
        inputs,
        rendered,
        source: yaml_src,
        task,
        plan,
        warnings: problems,
        placeholders: filled,
    })
}

/// The note saying which values were checked with placeholders.
pub fn placeholder_note(filled: &[String]) -> Option<String> {
    (!filled.is_empty()).then(|| {
        format!(
            "note: no value was given for {}; checked with placeholders (pass --set, --values, \
             --commit… for an exact check)",
            filled.join(", ")
        )
    })
}

fn rendered_note(rendered: &Rendered, inputs: &Inputs) -> String {
    format!(
        "note: positions refer to `{}`, the text after aliases and templates were applied; \
         run `taskrun render -f {}` with the same flags to see it",
        rendered.source.name, inputs.file.name
    )
}

/// In placeholder mode, a validation error on a line whose text in the file is a template that
/// uses a placeholder value (`keyvault: {{.Values.vault}}` checked as `keyvault: vault`) says
/// more about the placeholder than about the file: it becomes a warning. Lines are matched by
/// number, so this only applies when rendering kept the line count.
fn soften_placeholder_problems(
    problems: &mut Problems,
    file: &crate::source::Source,
    rendered: &crate::source::Source,
    filled: &[String],
) {
    let file_lines: Vec<&str> = file.text.split('\n').collect();
    if file_lines.len() != rendered.text.split('\n').count() {
        return;
    }
    let uses_placeholder = |line: &str| {
        filled.iter().any(|f| {
            let name = f.rsplit('.').next().unwrap_or(f);
            line.contains(f.as_str())
                || (f.starts_with(".Run.") && line.contains(&format!("${name}")))
        })
    };
    problems.map_in_place(|p| {
        let stage_allows = p.code.as_str().starts_with("taskrun::validate::");
        let on_placeholder_line = p
            .location()
            .and_then(|(_, line, _)| file_lines.get(line.saturating_sub(1)).copied())
            .is_some_and(uses_placeholder);
        if p.is_error() && stage_allows && on_placeholder_line {
            p.severity = crate::diag::Severity::Warning;
            p.message
                .push_str(" (with a placeholder for a value that was not given)");
        }
    });
}

/// The CONTEXT directory must exist (`run` seeds `/workspace` from it; `validate` checks against
/// it): an error (exit 2) when it does not.
pub fn context_dir_problem(dir: &Path) -> Option<Problem> {
    (!dir.is_dir()).then(|| {
        Problem::error(
            Code::IoRead,
            format!(
                "the CONTEXT directory `{}` does not exist or is not a directory",
                dir.display()
            ),
        )
        .with_help("pass an existing directory as CONTEXT (default: the current directory)")
    })
}

/// Checks of the task against the CONTEXT directory that seeds `/workspace`: a build step's
/// Dockerfile (inside its context or not) that is not in CONTEXT, or that CONTEXT's root
/// `.dockerignore` keeps out of `/workspace`, is a warning (`build_path`): an earlier step may
/// still write it (with `strict`, an error). Used by `validate CONTEXT` and `run`, so both say
/// the same.
pub fn context_problems(task: &Task, dir: &Path, strict: bool) -> Problems {
    use crate::model::buildpath::locate;
    let mut problems = Problems::new();
    let ignore = crate::context::load_dockerignore(dir, None).unwrap_or_default();
    for step in &task.steps {
        let StepKind::Build(args) = &step.kind else {
            continue;
        };
        let Some(located) = args.parsed().and_then(|p| locate(step, p).ok()) else {
            continue;
        };
        let path = located.dockerfile_in_workspace();
        let why = if ignore.is_excluded(&path) {
            "is excluded by the CONTEXT directory's `.dockerignore`, so it is not copied into \
             /workspace"
        } else if !dir.join(&path).is_file() {
            "is not in the CONTEXT directory"
        } else {
            continue;
        };
        problems.push(
            Problem::warning(
                Code::BuildPath,
                format!(
                    "step `{}`: the Dockerfile `/workspace/{path}` {why} (`{}`)",
                    step.id,
                    dir.join(&path).display()
                ),
            )
            .with_help(
                "the build fails unless an earlier step writes the Dockerfile; `-f` is relative \
                 to the step's working directory in /workspace",
            ),
        );
    }
    if strict {
        problems.promote_warnings();
    }
    problems
}
