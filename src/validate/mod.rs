//! The `validate` stage: [`ast::File`] → [`model::Task`], applying every rule acb applies when
//! it loads a task (`graph/task.go`, `graph/step.go`, `graph/dag.go`, `secretmgmt`,
//! `pkg/volume`) and its defaults, and collecting every problem instead of stopping at the
//! first one.
//!
//! Defaults, as acb: `version` empty → `v1.0.0`; `stepTimeout` ≤ 0 → 600; step `timeout` ≤ 0 →
//! `stepTimeout`; `retryDelay` ≤ 0 → 5; step id empty → `acb_step_<index>`; step
//! `workingDirectory` empty → the task's; task env merged into each step (step keys win); push
//! references get `:latest` when they contain neither `:` nor `@`, and are de-duplicated.

mod env;
mod lines;
mod ports;
mod resources;
mod when;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::ops::Range;

use crate::diag::{Code, Problem, Problems};
use crate::model::{self, DEFAULT_RETRY_DELAY, DEFAULT_STEP_TIMEOUT, Needs, StepKind, Task};
use crate::registry::reference;
use crate::source::Source;
use crate::syntax::ast::{self, Spanned, items};

/// The versions acb accepts (compared case-insensitively).
pub const VALID_VERSIONS: &[&str] = &["1.0-preview-1", "v1.0.0", "v1.1.0"];

/// The version used when the file sets none.
pub const DEFAULT_VERSION: &str = "v1.0.0";

/// The id acb reserves for the root of its step graph.
pub const ROOT_ID: &str = "acb_root";

/// Validates a parsed task file against every acb rule and applies acb's defaults.
///
/// Returns the task whenever every step has a kind (callers must check the problems for errors
/// before using it), and every problem found (errors and warnings), in file order: version,
/// task `env`, secrets, networks, volumes, then each step.
pub fn validate(file: &ast::File, src: &Source) -> (Option<Task>, Problems) {
    let mut v = Validator {
        src,
        problems: Problems::new(),
        first_ids: HashMap::new(),
    };

    let version = v.version(file);
    let step_timeout = file
        .step_timeout
        .as_ref()
        .map_or(0, |t| t.value)
        .try_into()
        .ok()
        .filter(|t: &u64| *t > 0)
        .unwrap_or(DEFAULT_STEP_TIMEOUT);
    let working_directory = file
        .working_directory
        .as_ref()
        .map(|w| w.value.clone())
        .filter(|w| !w.is_empty());
    let task_env = env::check_entries(&mut v, file.env.as_ref(), "the task");
    let secrets = resources::secrets(&mut v, file);
    let networks = resources::networks(&mut v, file);
    let volumes = resources::volumes(&mut v, file);

    let infos = step_infos(&file.steps, src);
    for info in &infos {
        v.first_ids.entry(info.id.clone()).or_insert(info.index);
    }
    let mut ids = HashMap::new();
    let mut steps = Vec::new();
    let mut all_kinds = true;
    for info in &infos {
        let (kind, (needs, deps)) = v.step_rules(info, file, &mut ids, &infos);
        let step_env = env::check_entries(&mut v, info.step.env.as_ref(), &info.name);
        lines::check(&mut v, info, kind.as_ref());
        let Some(kind) = kind else {
            all_kinds = false;
            continue;
        };
        let s = &info.step;
        let mut step = model::Step::new(info.index, info.id.clone(), kind);
        step.needs = needs;
        step.deps = deps;
        step.env = env::merge(&step_env, &task_env);
        step.working_directory = text(&s.working_directory).or_else(|| working_directory.clone());
        step.disable_working_directory_override = flag(&s.disable_working_directory_override);
        step.entry_point = text(&s.entry_point);
        step.user = text(&s.user);
        step.privileged = flag(&s.privileged);
        (step.ports, step.expose, step.cpus) = ports::check(&mut v, info);
        step.network = text(&s.network);
        step.isolation = text(&s.isolation);
        step.keep = flag(&s.keep);
        step.detach = flag(&s.detach);
        step.timeout = positive(&s.timeout).unwrap_or(step_timeout);
        step.start_delay = positive(&s.start_delay).unwrap_or(0);
        step.retries = positive(&s.retries).unwrap_or(0);
        step.retry_delay = positive(&s.retry_delay).unwrap_or(DEFAULT_RETRY_DELAY);
        step.retry_on_errors = strings(&s.retry_on_errors);
        step.repeat = positive(&s.repeat).unwrap_or(0);
        step.ignore_errors = flag(&s.ignore_errors);
        step.pull = flag(&s.pull);
        step.cache = s
            .cache
            .as_ref()
            .is_some_and(|c| c.value.eq_ignore_ascii_case("enabled"));
        step.volume_mounts = items(&s.volume_mounts)
            .iter()
            .map(|m| model::VolumeMount {
                name: text(&m.value.name).unwrap_or_default(),
                mount_path: text(&m.value.mount_path).unwrap_or_default(),
            })
            .collect();
        lines::check_build_step(&mut v, info, &step);
        steps.push(step);
    }

    let problems = v.problems;
    // The task is returned with errors too (the caller may soften some, e.g. problems caused by
    // placeholder values), unless a step could not be built at all.
    if !all_kinds {
        return (None, problems);
    }
    let task = Task {
        version,
        step_timeout,
        working_directory,
        env: task_env,
        secrets,
        networks,
        volumes,
        steps,
    };
    (Some(task), problems)
}

/// Collects problems for one validation run.
pub(crate) struct Validator<'a> {
    src: &'a Source,
    problems: Problems,
    /// Index of the first step defining each id.
    first_ids: HashMap<String, usize>,
}

impl Validator<'_> {
    /// Adds a problem, pointing into the validated source.
    fn src_text(&self) -> &str {
        &self.src.text
    }

    fn report(&mut self, problem: Problem) {
        self.problems.push(problem.in_source(self.src));
    }

    /// The first line of `span` (for labels on a whole step or entry).
    fn head(&self, span: &Range<usize>) -> Range<usize> {
        head(self.src, span)
    }

    fn version(&mut self, file: &ast::File) -> String {
        let Some(version) = &file.version else {
            return DEFAULT_VERSION.to_owned();
        };
        let written = &version.value;
        if written.is_empty() {
            return DEFAULT_VERSION.to_owned();
        }
        if !VALID_VERSIONS
            .iter()
            .any(|v| v.eq_ignore_ascii_case(written))
        {
            // acb refuses unknown versions (graph/task.go validateTaskVersion), `version: 1.0`
            // included; so does taskrun, in validate and run alike.
            self.report(
                Problem::error(
                    Code::Version,
                    format!(
                        "invalid version specified: \"{written}\", the current version is \"v1.0.0\" \
                         (ACR's runner accepts `v1.1.0`, `v1.0.0` or `1.0-preview-1`)"
                    ),
                )
                .with_label(version.span.clone(), "unknown version")
                .with_help(
                    "use `version: v1.1.0` (with `$` aliases) or `version: v1.0.0`, or remove the \
                     key (default v1.0.0)",
                ),
            );
        }
        if VALID_VERSIONS
            .iter()
            .any(|v| v.eq_ignore_ascii_case(written))
        {
            written.clone()
        } else {
            DEFAULT_VERSION.to_owned()
        }
    }

    /// A step id: whitespace, reserved id, duplicates (default ids included); `first` holds the
    /// ids of the steps before it.
    fn step_id<'i>(
        &mut self,
        info: &'i StepInfo<'i>,
        first: &mut HashMap<&'i str, &'i StepInfo<'i>>,
    ) {
        if info.explicit {
            if info.id.chars().any(char::is_whitespace) {
                self.report(
                    Problem::error(
                        Code::StepIdSpaces,
                        format!("step id `{}` contains whitespace", info.id.escape_debug()),
                    )
                    .with_label(info.id_span.clone(), "whitespace in id")
                    .with_help(format!(
                        "use a name without spaces, e.g. `{}` (the id is also the container \
                         name); acb: step ID cannot contain spaces",
                        info.id.split_whitespace().collect::<Vec<_>>().join("-")
                    )),
                );
            }
            if info.id == ROOT_ID {
                self.report(
                    Problem::error(
                        Code::StepIdReserved,
                        format!("step id `{ROOT_ID}` is reserved"),
                    )
                    .with_label(info.id_span.clone(), "reserved id")
                    .with_help(format!(
                        "choose another id: acb names the root of its step graph \
                         `{ROOT_ID}` (acb: acb_root is a reserved ID, it can't be used)"
                    )),
                );
            }
        }
        match first.get(info.id.as_str()) {
            Some(earlier) => {
                let again_text = if info.explicit {
                    "defined again here".to_owned()
                } else {
                    format!("this step gets the default id `{}`", info.id)
                };
                let first_text = if earlier.explicit {
                    "first defined here".to_owned()
                } else {
                    format!("first defined here (default id `{}`)", earlier.id)
                };
                self.report(
                    Problem::error(
                        Code::StepIdDuplicate,
                        format!("two steps have the id `{}`", info.id),
                    )
                    .with_label(info.id_span.clone(), again_text)
                    .with_label(earlier.id_span.clone(), first_text)
                    .with_help(format!(
                        "step ids must be unique; rename {} (acb: {} already exists as a \
                         vertex)",
                        info.name, info.id
                    )),
                );
            }
            None => {
                first.insert(info.id.as_str(), info);
            }
        }
    }

    /// Every rule of one step, in acb's order (retries, repeat, kind, id, mounts, `when`,
    /// cache); returns the step kind when it has exactly one, and its `when` resolution.
    fn step_rules<'i>(
        &mut self,
        info: &'i StepInfo<'i>,
        file: &ast::File,
        ids: &mut HashMap<&'i str, &'i StepInfo<'i>>,
        infos: &[StepInfo<'_>],
    ) -> (Option<StepKind>, (Needs, Vec<usize>)) {
        let s = &info.step;
        for (key, value) in [("retries", &s.retries), ("repeat", &s.repeat)] {
            if let Some(n) = value
                && n.value < 0
            {
                self.report(
                    Problem::error(
                        Code::NegativeCount,
                        format!("`{key}` of {} is negative ({})", info.name, n.value),
                    )
                    .with_label(n.span.clone(), "must be 0 or more")
                    .with_help(format!(
                        "use `{key}: 0` or more (acb: step must specify {key} >= 0)"
                    )),
                );
            }
        }
        let kind = self.step_kind(info);
        self.step_id(info, ids);
        self.mounts(info, kind.as_ref(), file);
        let needs = when::resolve(self, infos, info);
        if let Some(cache) = &s.cache
            && !cache.value.is_empty()
            && !cache.value.eq_ignore_ascii_case("enabled")
            && !cache.value.eq_ignore_ascii_case("disabled")
        {
            self.report(
                Problem::error(
                    Code::CacheValue,
                    format!(
                        "`cache` of {} is `{}`, but it must be `enabled` or `disabled`",
                        info.name, cache.value
                    ),
                )
                .with_label(cache.span.clone(), "invalid cache value")
                .with_help(
                    "use `cache: enabled` or `cache: disabled` (any case); acb: invalid value for \
                     cache property. Valid values are 'enabled', 'disabled'",
                ),
            );
        }
        (kind, needs)
    }

    fn step_kind(&mut self, info: &StepInfo<'_>) -> Option<StepKind> {
        let s = &info.step;
        let mut present: Vec<(&str, Range<usize>)> = Vec::new();
        let mut kind = None;
        if let Some(cmd) = s.cmd.as_ref().filter(|c| !c.value.is_empty()) {
            present.push(("cmd", cmd.span.clone()));
            kind = Some(StepKind::Cmd(
                model::CmdStep::new(cmd.value.clone()).at(cmd.span.clone()),
            ));
        }
        if let Some(build) = s.build.as_ref().filter(|b| !b.value.is_empty()) {
            present.push(("build", build.span.clone()));
            kind = Some(StepKind::Build(model::BuildStep::new(build.value.clone())));
        }
        if let Some(push) = s.push.as_ref().filter(|p| !p.value.is_empty()) {
            present.push(("push", push.span.clone()));
            kind = Some(StepKind::Push(normalize_push(&push.value)));
        }
        match present.len() {
            1 => kind,
            // Already reported by `syntax` (a type error): no second report.
            0 if s.kind_mistyped => None,
            0 => {
                let empty = [
                    ("cmd", s.cmd.as_ref().map(|c| c.span.clone())),
                    ("build", s.build.as_ref().map(|b| b.span.clone())),
                    ("push", s.push.as_ref().map(|p| p.span.clone())),
                ]
                .into_iter()
                .find_map(|(k, span)| span.map(|sp| (k, sp)));
                let mut problem = Problem::error(
                    Code::StepKindMissing,
                    format!("{} has none of `cmd`, `build` or `push`", info.name),
                );
                problem = match &empty {
                    Some((key, span)) => {
                        let span = if span.is_empty() {
                            self.head(&info.step_span)
                        } else {
                            span.clone()
                        };
                        problem.with_label(span, format!("`{key}` is empty"))
                    }
                    None => problem.with_label(self.head(&info.step_span), "this step"),
                };
                let mut help = "add `cmd: <image> [args…]`, `build: <docker build arguments>` or \
                                `push: [<image>]`"
                    .to_owned();
                if empty.is_some() {
                    help.push_str("; an empty value (e.g. a template that rendered to nothing) counts as missing");
                }
                help.push_str(" (acb: step is missing a cmd, build, or push property)");
                self.report(problem.with_help(help));
                None
            }
            _ => {
                let names: Vec<String> = present.iter().map(|(k, _)| format!("`{k}`")).collect();
                let listed = match names.as_slice() {
                    [a, b] => format!("both {a} and {b}"),
                    _ => format!("all of {}", names.join(", ")),
                };
                let mut problem = Problem::error(
                    Code::StepKindMultiple,
                    format!("{} has {listed}; a step has exactly one of them", info.name),
                );
                for (key, span) in &present {
                    problem = problem.with_label(span.clone(), format!("`{key}`"));
                }
                self.report(problem.with_help(
                    "a step does one thing: split it into one step per action (a later step runs \
                     after the one above it); acb: step must only contain a single build, cmd, or \
                     push property",
                ));
                None
            }
        }
    }

    /// `volumeMounts`: only on cmd/build steps, non-empty name and path, unique paths, names of
    /// declared volumes.
    fn mounts(&mut self, info: &StepInfo<'_>, kind: Option<&StepKind>, file: &ast::File) {
        let Some(list) = &info.step.volume_mounts else {
            return;
        };
        if list.value.is_empty() {
            return;
        }
        if let Some(StepKind::Push(_)) = kind {
            self.report(
                Problem::error(
                    Code::VolumeMount,
                    format!("{} is a push step, but it has `volumeMounts`", info.name),
                )
                .with_label(self.head(&list.span), "mounts on a push step")
                .with_help(
                    "only cmd and build steps can mount volumes; remove `volumeMounts` here \
                     (acb: invalid use of Mounts. Mounts must have unique container paths and \
                     only used for cmd or build steps)",
                ),
            );
        }
        let declared: Vec<&str> = items(&file.volumes)
            .iter()
            .filter_map(|v| v.value.name.as_ref().map(|n| n.value.as_str()))
            .filter(|n| !n.is_empty())
            .collect();
        let mut paths: HashMap<&str, Range<usize>> = HashMap::new();
        for (i, mount) in list.value.iter().enumerate() {
            let m = &mount.value;
            let name = m.name.as_ref().filter(|n| !n.value.is_empty());
            let path = m.mount_path.as_ref().filter(|p| !p.value.is_empty());
            let (Some(name), Some(path)) = (name, path) else {
                let missing = match (name, path) {
                    (None, None) => "`name` and `mountPath`",
                    (None, _) => "`name`",
                    _ => "`mountPath`",
                };
                self.report(
                    Problem::error(
                        Code::VolumeMount,
                        format!("volume mount {} of {} has no {missing}", i + 1, info.name),
                    )
                    .with_label(self.head(&mount.span), format!("missing {missing}"))
                    .with_help(
                        "each mount needs `name: <declared volume>` and `mountPath: <path in the \
                         container>` (acb: mount name or mount path is empty)",
                    ),
                );
                continue;
            };
            if let Some(first) = paths.get(path.value.as_str()) {
                self.report(
                    Problem::error(
                        Code::VolumeMount,
                        format!("{} mounts two volumes at `{}`", info.name, path.value),
                    )
                    .with_label(path.span.clone(), "mounted again here")
                    .with_label(first.clone(), "first mounted here")
                    .with_help(
                        "give each mount its own `mountPath` (acb: mount with duplicate container \
                         file path found)",
                    ),
                );
            } else {
                paths.insert(path.value.as_str(), path.span.clone());
            }
            if !declared.contains(&name.value.as_str()) {
                let help = match crate::diag::suggest::closest(
                    &name.value,
                    declared.iter().copied(),
                ) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if declared.is_empty() => {
                        "declare it under the top-level `volumes:` with a `secret:` map of files"
                            .to_owned()
                    }
                    None => format!(
                        "declared volumes: {}",
                        declared
                            .iter()
                            .map(|d| format!("`{d}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.report(
                    Problem::error(
                        Code::VolumeMount,
                        format!(
                            "{} mounts volume `{}`, which is not declared in `volumes`",
                            info.name, name.value
                        ),
                    )
                    .with_label(name.span.clone(), "unknown volume")
                    .with_help(format!(
                        "{help} (acb: mount name, {}, does not correspond to a volume)",
                        name.value
                    )),
                );
            }
        }
    }
}

/// What validation needs to know about each step up front.
pub(crate) struct StepInfo<'a> {
    /// Position in the file (0-based).
    pub index: usize,
    /// The id, explicit or `acb_step_<index>`.
    pub id: String,
    /// Whether the id was written in the file (non-empty).
    pub explicit: bool,
    /// Where the id is (the step's first line for default ids).
    pub id_span: Range<usize>,
    /// "step `id`" or "step N" (1-based), for messages ([`crate::model::step_label`]).
    pub name: String,
    /// The whole step.
    pub step_span: Range<usize>,
    /// The step as parsed.
    pub step: &'a ast::Step,
}

/// The first line of `span` (for labels on a whole step or entry).
fn head(src: &Source, span: &Range<usize>) -> Range<usize> {
    let text = src.text.get(span.clone()).unwrap_or_default();
    let end = text.find('\n').map_or(span.end, |i| span.start + i);
    span.start..end
}

fn step_infos<'a>(steps: &'a [Spanned<ast::Step>], src: &Source) -> Vec<StepInfo<'a>> {
    steps
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let explicit = s.value.id.as_ref().filter(|id| !id.value.is_empty());
            let (id, id_span) = match explicit {
                Some(id) => (id.value.clone(), id.span.clone()),
                None => (format!("acb_step_{index}"), head(src, &s.span)),
            };
            let name = crate::model::step_label(index, &id);
            StepInfo {
                index,
                id,
                explicit: explicit.is_some(),
                id_span,
                name,
                step_span: s.span.clone(),
                step: &s.value,
            }
        })
        .collect()
}

/// acb's push normalisation ([`reference::normalize_push`]: `:latest` appended to a reference
/// containing neither `:` nor `@`), then duplicates removed, order kept.
pub fn normalize_push(images: &[Spanned<String>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for image in images {
        let image = reference::normalize_push(&image.value);
        if !out.contains(&image) {
            out.push(image);
        }
    }
    out
}

fn text(value: &Option<Spanned<String>>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.value.clone())
        .filter(|v| !v.is_empty())
}

fn flag(value: &Option<Spanned<bool>>) -> bool {
    value.as_ref().is_some_and(|v| v.value)
}

fn strings(list: &Option<ast::SpannedList<String>>) -> Vec<String> {
    items(list).iter().map(|s| s.value.clone()).collect()
}

/// A value that is more than 0, as `u64`.
fn positive(value: &Option<Spanned<i64>>) -> Option<u64> {
    value
        .as_ref()
        .and_then(|v| u64::try_from(v.value).ok())
        .filter(|v| *v > 0)
}
