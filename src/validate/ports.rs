//! A step's `ports`, `expose` and `cpus`, parsed once in docker's syntax (`model::ports`,
//! `model::runopts`): a value the docker CLI in acb's agent would refuse is an error at its
//! position (`step_value`), never a run-time surprise or a value silently dropped.

use crate::diag::{Code, Problem};
use crate::model::ports::{PublishedPort, parse_expose, parse_publish};
use crate::model::runopts::parse_cpus;
use crate::syntax::ast::{Spanned, items};
use crate::validate::{StepInfo, Validator};

/// The parsed `ports`, `expose` and `cpus` of the step; what does not parse is reported and
/// left out.
pub(super) fn check(
    v: &mut Validator<'_>,
    info: &StepInfo<'_>,
) -> (Vec<PublishedPort>, Vec<String>, Option<f64>) {
    let s = info.step;
    let mut ports = Vec::new();
    for p in items(&s.ports) {
        match parse_publish(&p.value) {
            Ok(parsed) => ports.extend(parsed),
            Err(why) => report(v, info, "ports", p, why.to_string()),
        }
    }
    let mut expose = Vec::new();
    for e in items(&s.expose) {
        match parse_expose(&e.value) {
            Ok(parsed) => expose.extend(parsed),
            Err(why) => report(v, info, "expose", e, why.to_string()),
        }
    }
    let cpus = s
        .cpus
        .as_ref()
        .filter(|c| !c.value.is_empty())
        .and_then(|c| match parse_cpus(&c.value) {
            // `--cpus` in nano-CPUs, as the docker CLI reads it.
            Ok(nano) => Some(nano as f64 / 1e9),
            Err(why) => {
                report(v, info, "cpus", c, why.to_string());
                None
            }
        });
    (ports, expose, cpus)
}

fn report(
    v: &mut Validator<'_>,
    info: &StepInfo<'_>,
    key: &str,
    at: &Spanned<String>,
    why: String,
) {
    v.report(
        Problem::error(Code::StepValue, format!("`{key}` of {}: {why}", info.name))
            .with_label(at.span.clone(), "not docker's syntax")
            .with_help(match key {
                "cpus" => "write a number of CPUs, like `cpus: 1.5` (docker's `--cpus`)",
                "expose" => "write `PORT[/PROTOCOL]` or a range, like `80`, `53/udp`, `8000-8001`",
                _ => "write docker's `-p` syntax: `80`, `8080:80`, `127.0.0.1:8080:80/udp`",
            }),
    );
}
