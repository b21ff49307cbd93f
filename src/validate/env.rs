//! `env` entries: each must be `KEY=value`; the task's entries are merged into every step's.

use std::collections::HashSet;

use super::Validator;
use crate::diag::{Code, Problem};
use crate::syntax::ast::SpannedList;

/// Checks that every entry contains `=` and returns the entries as written. `owner` is "the
/// task" or the step's name.
pub(super) fn check_entries(
    v: &mut Validator<'_>,
    list: Option<&SpannedList<String>>,
    owner: &str,
) -> Vec<String> {
    let Some(list) = list else {
        return Vec::new();
    };
    let entries = &list.value;
    let flow = v
        .src
        .text
        .get(list.span.clone())
        .is_some_and(|t| t.starts_with('['));
    let task = owner == "the task";
    for entry in entries {
        if entry.value.contains('=') {
            if let Some(word) = split_word(&entry.value) {
                // acb writes `--env <entry>` into a shell line: unquoted blanks split it.
                v.report(
                    Problem::warning(
                        Code::EnvEntry,
                        format!(
                            "entry `{}` has an unquoted blank: acb's shell splits it, and `{word}` \
                             becomes a word of the `docker run` line (on ACR, usually the image)",
                            entry.value
                        ),
                    )
                    .with_label(entry.span.clone(), "unquoted blank")
                    .with_help(format!("quote the value: `{}`", quote_value(&entry.value))),
                );
            }
            continue;
        }
        let scope = if task { "task" } else { "step" };
        let whose = if task {
            "the task's `env`".to_owned()
        } else {
            format!("`env` of {owner}")
        };
        v.report(
            Problem::error(
                Code::EnvEntry,
                format!("entry `{}` of {whose} is not `KEY=value`", entry.value),
            )
            .with_label(entry.span.clone(), "no `=` in this entry")
            .with_help(format!(
                "write `{}=<value>`; to pass an empty value write `{}=`{} (acb: cannot parse \
                 {scope} environment variable {} correctly)",
                entry.value,
                entry.value,
                if flow {
                    "; inside `[…]` a comma separates entries, so quote an entry that contains \
                     a comma (`\"NO_PROXY=a,b\"`)"
                } else {
                    ""
                },
                entry.value
            )),
        );
    }
    entries.iter().map(|e| e.value.clone()).collect()
}

/// The second word of an entry the shell splits at an unquoted blank (`A=b c` → `c`), if any.
fn split_word(entry: &str) -> Option<String> {
    let lexed = crate::model::shellwords::lex(entry).ok()?;
    lexed.words.get(1).map(|w| w.text.clone())
}

/// `K=v w` → `K='v w'`.
fn quote_value(entry: &str) -> String {
    let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
    format!("{k}='{}'", v.replace('\'', r"'\''"))
}

/// acb's `mergeEnvs(step, task)`: the step's entries in order, then each task entry whose key
/// the step does not set. Task entries are never split on commas (acb does; a bug taskrun
/// fixes).
pub(super) fn merge(step: &[String], task: &[String]) -> Vec<String> {
    let keys: HashSet<&str> = step.iter().map(|e| key(e)).collect();
    let mut out = step.to_vec();
    out.extend(task.iter().filter(|e| !keys.contains(key(e))).cloned());
    out
}

fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}
