//! The `cmd` and `build` strings of a step, parsed the way `run` will parse them: unparsable
//! lines, bad `docker run` flag values and unknown `docker build` flags are errors, each pointing
//! into the string. Host-shell constructs in `cmd` (`&&`, `$VAR`, redirections, …) are fine:
//! `run` hands such a line to the agent's shell, as acb does. What ACR runs and taskrun cannot
//! yet is a warning here that `run` reports as an error
//! ([`crate::diag::Problem::refused_by_run`]), so each problem is reported once.

use std::ops::Range;

use crate::diag::{Code, Problem};
use crate::model::buildargs::parse_build;
use crate::model::cmdline::{CmdErrorKind, flag_value_errors, parse_cmd};
use crate::model::support::build_refusals;
use crate::model::{Step, StepKind};
use crate::syntax::ast::Spanned;
use crate::validate::{StepInfo, Validator};

/// Checks the step's `cmd` or `build` string. A `cmd` step's line was parsed once when its
/// kind was made (`kind`); only a step whose kind could not be made is parsed here, for its
/// diagnostics.
pub(super) fn check(v: &mut Validator<'_>, info: &StepInfo<'_>, kind: Option<&StepKind>) {
    if let Some(cmd) = info
        .step
        .cmd
        .as_ref()
        .filter(|c| !c.value.trim().is_empty())
    {
        match kind {
            Some(StepKind::Cmd(step)) => check_cmd(v, info, cmd, &step.parsed),
            _ => check_cmd(v, info, cmd, &parse_cmd(&cmd.value).map(|_| ())),
        }
    }
    if let Some(build) = info
        .step
        .build
        .as_ref()
        .filter(|b| !b.value.trim().is_empty())
    {
        match kind {
            Some(StepKind::Build(step)) => check_build(v, info, build, &step.parsed),
            _ => check_build(v, info, build, &parse_build(&build.value).map(Box::new)),
        }
    }
}

fn check_cmd<T>(
    v: &mut Validator<'_>,
    info: &StepInfo<'_>,
    cmd: &Spanned<String>,
    parsed: &Result<T, crate::model::cmdline::CmdError>,
) {
    match parsed {
        // Host-shell constructs are no problem: such a line runs through the agent's shell, as
        // on ACR (`exec::step::shell`).
        Ok(_) => {}
        Err(first) => {
            // Every bad flag value at once when there are several; else the one error.
            let mut errors = flag_value_errors(&cmd.value);
            if errors.is_empty() {
                errors.push(first.clone());
            }
            for e in errors {
                let code = if e.kind == CmdErrorKind::Unsupported {
                    Code::UnsupportedFlag
                } else {
                    Code::CmdShell
                };
                v.report(
                    Problem::error(code, format!("{}: {}", info.name, e.message))
                        .with_label(inner(v, cmd, &e.span), "here")
                        .with_help(e.help.unwrap_or_else(|| {
                            "write the cmd as `[docker run flags] IMAGE [ARGS…]`".to_owned()
                        })),
                );
            }
        }
    }
}

/// Checks a validated `build` step's flags, context and Dockerfile with the same judgement as
/// `run` ([`build_refusals`]): a path outside `/workspace` is an error (`build_path`); what ACR
/// runs but taskrun cannot yet is a warning here (`unsupported_flag`) and refused by `run`.
pub(super) fn check_build_step(v: &mut Validator<'_>, info: &StepInfo<'_>, step: &Step) {
    let (StepKind::Build(args), Some(build)) = (&step.kind, info.step.build.as_ref()) else {
        return;
    };
    let Some(parsed) = args.parsed() else {
        return; // reported by `check_build`
    };
    for refusal in build_refusals(step, parsed) {
        let message = format!("{}: {}", info.name, refusal.message);
        let problem = if refusal.unsupported {
            Problem::warning(refusal.code, message)
                .with_help(
                    "ACR accepts this, but `taskrun run` refuses it; `docs/compat.md` lists the \
                     build flags and contexts taskrun runs",
                )
                .refused_by_run()
        } else {
            Problem::error(refusal.code, message).with_help(refusal.help.unwrap_or(
                "keep the context and `-f` inside /workspace (both are relative to the step's \
                 working directory); a Dockerfile outside the context is fine",
            ))
        };
        let label = match refusal
            .at
            .as_deref()
            .and_then(|at| build.value.find(at).map(|i| (i, at)))
        {
            Some((start, at)) => inner(v, build, &(start..start + at.len())),
            None => build.span.clone(),
        };
        v.report(problem.with_label(label, ""));
    }
}

fn check_build(
    v: &mut Validator<'_>,
    info: &StepInfo<'_>,
    build: &Spanned<String>,
    parsed: &Result<
        Box<crate::model::buildargs::BuildArgs>,
        Vec<crate::model::buildargs::BuildArgError>,
    >,
) {
    match parsed {
        Ok(parsed) => {
            for c in &parsed.notes {
                v.report(
                    Problem::warning(
                        Code::CmdShell,
                        format!("{} `build`: {}", info.name, c.message()),
                    )
                    .with_label(inner(v, build, &c.span), c.text.clone())
                    .with_help(c.help()),
                );
            }
        }
        Err(errors) => {
            for e in errors {
                v.report(
                    Problem::error(Code::CmdShell, format!("{}: {}", info.name, e.message))
                        .with_label(inner(v, build, &e.span), "here")
                        .with_help(e.help.clone().unwrap_or_else(|| {
                            "write the build as docker-build flags and a context, e.g. \
                             `-t app:1 -f Dockerfile .`"
                                .to_owned()
                        })),
                );
            }
        }
    }
}

/// The source range of `range` (bytes inside the decoded string): exact when the value is
/// written as-is in the source (a plain scalar), else the whole value.
fn inner(v: &Validator<'_>, value: &Spanned<String>, range: &Range<usize>) -> Range<usize> {
    let written = v.src_text().get(value.span.clone());
    if written == Some(value.value.as_str()) && range.end <= value.value.len() {
        let start = value.span.start + range.start;
        let end = (value.span.start + range.end).max(start + 1);
        start..end.min(value.span.end.max(start + 1))
    } else {
        value.span.clone()
    }
}
