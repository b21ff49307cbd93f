//! `when`: which steps a step waits for, with acb's rules (`graph/step.go` `Validate`,
//! `graph/dag.go` `NewDagFromTask`/`AddEdge`).
//!
//! No `when` (or an empty list): after the step written before it (at the start for the first
//! step). `["-"]`: at the start. A list: after all the listed steps, which must be defined
//! earlier in the file. acb hangs forever on a duplicate entry; taskrun reports it instead.

use std::collections::HashMap;
use std::ops::Range;

use super::{ROOT_ID, StepInfo, Validator};
use crate::diag::suggest::closest;
use crate::diag::{Code, Problem};
use crate::model::Needs;
use crate::syntax::ast::items;

/// The token that starts a step at the beginning of the run.
pub const START_TOKEN: &str = "-";

/// Resolves a step's `when` into its [`Needs`] and dependency indices, reporting problems.
pub(super) fn resolve(
    v: &mut Validator<'_>,
    steps: &[StepInfo<'_>],
    info: &StepInfo<'_>,
) -> (Needs, Vec<usize>) {
    let entries = items(&info.step.when);
    if entries.is_empty() {
        let deps = info.index.checked_sub(1).into_iter().collect();
        return (Needs::Previous, deps);
    }
    if entries.len() == 1 && entries[0].value == START_TOKEN {
        return (Needs::Start, Vec::new());
    }
    let mut deps = Vec::new();
    let mut seen: HashMap<&str, Range<usize>> = HashMap::new();
    let mut dash_reported = false;
    for entry in entries {
        let name = entry.value.as_str();
        if name == START_TOKEN {
            if !dash_reported {
                dash_reported = true;
                v.report(
                    Problem::error(
                        Code::WhenDashMixed,
                        format!("`when` of {} mixes `-` with step ids", info.name),
                    )
                    .with_label(entry.span.clone(), "`-` means \"at the start\"")
                    .with_help(
                        "use `when: [\"-\"]` alone to start at the beginning of the run, or list \
                         only step ids (acb: step cannot contain other IDs in when if the \
                         immediate execution token is specified)",
                    ),
                );
            }
            continue;
        }
        if name.is_empty() {
            v.report(
                Problem::error(
                    Code::WhenEmpty,
                    format!("`when` of {} has an empty entry", info.name),
                )
                .with_label(entry.span.clone(), "empty step id")
                .with_help(
                    "remove the empty entry or write a step id (a template may have rendered to \
                     nothing); acb: from cannot be empty",
                ),
            );
            continue;
        }
        if let Some(first) = seen.get(name) {
            v.report(
                Problem::error(
                    Code::WhenDuplicate,
                    format!("`when` of {} lists `{name}` twice", info.name),
                )
                .with_label(entry.span.clone(), "listed again here")
                .with_label(first.clone(), "first listed here")
                .with_help(format!(
                    "remove the second `{name}`: ACR (acb) would wait for it twice and hang until \
                     the run times out"
                )),
            );
            continue;
        }
        seen.insert(name, entry.span.clone());
        if name == info.id {
            v.report(
                Problem::error(Code::WhenSelf, format!("{} waits on itself", info.name))
                    .with_label(entry.span.clone(), "the step's own id")
                    .with_help(format!(
                        "remove `{name}` from `when` (acb: Step ID: {name} is self-referenced)"
                    )),
            );
            continue;
        }
        if name == ROOT_ID {
            // acb's graph root: an edge from it is satisfied at the start.
            continue;
        }
        // First definition of each id (built once per file: a linear scan per entry made
        // validation quadratic in the number of steps).
        let first = v.first_ids.get(name).copied();
        if let Some(dep) = first.filter(|&i| i < info.index).and_then(|i| steps.get(i)) {
            if !deps.contains(&dep.index) {
                deps.push(dep.index);
            }
            continue;
        }
        if let Some(later) = first.filter(|&i| i > info.index).and_then(|i| steps.get(i)) {
            v.report(
                Problem::error(
                    Code::WhenForward,
                    format!("{} waits on `{name}`, which is defined after it", info.name),
                )
                .with_label(entry.span.clone(), "refers to a later step")
                .with_label(later.id_span.clone(), format!("`{name}` is defined here"))
                .with_help(format!(
                    "ACR resolves `when` in file order; move `{name}` above {} or drop it from \
                     `when` (acb: {name} does not exist as a vertex [from: {name}, to: {}])",
                    info.name, info.id
                )),
            );
            continue;
        }
        v.report(unknown(steps, info, name, entry.span.clone()));
    }
    if deps.is_empty() {
        // Only `acb_root` entries (or errors): nothing to wait for.
        return (Needs::Start, deps);
    }
    (Needs::Steps(deps.clone()), deps)
}

fn unknown(steps: &[StepInfo<'_>], info: &StepInfo<'_>, name: &str, span: Range<usize>) -> Problem {
    let before: Vec<String> = steps[..info.index]
        .iter()
        .map(|s| format!("`{}`", s.id))
        .collect();
    let candidates = steps
        .iter()
        .filter(|s| s.index != info.index)
        .map(|s| s.id.as_str());
    let mut help = String::new();
    if let Some(suggestion) = closest(name, candidates) {
        let later = steps
            .iter()
            .find(|s| s.id == suggestion)
            .is_some_and(|s| s.index > info.index);
        help.push_str(&format!("did you mean `{suggestion}`?"));
        if later {
            help.push_str(&format!(
                " (it is defined after {}; move it above)",
                info.name
            ));
        }
        help.push(' ');
    }
    if before.is_empty() {
        help.push_str(&format!(
            "No step is defined before {}; use `when: [\"-\"]` to start it at the beginning",
            info.name
        ));
    } else {
        help.push_str(&format!(
            "Steps defined before {}: {}",
            info.name,
            before.join(", ")
        ));
    }
    help.push_str(&format!(
        " (acb: {name} does not exist as a vertex [from: {name}, to: {}])",
        info.id
    ));
    Problem::error(
        Code::WhenUnknown,
        format!("{} waits on `{name}`, but no step has that id", info.name),
    )
    .with_label(span, "unknown step id")
    .with_help(help)
}
