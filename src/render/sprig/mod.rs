//! The Sprig v2.22.0 template functions that taskrun ships (SPEC §2.2, acb-behaviour §4.2).
//!
//! ACR renders task files with Go `text/template` plus `sprig.TxtFuncMap()` from
//! `github.com/Masterminds/sprig` v2.22.0. This module re-implements the part of that map that task
//! files use, with Sprig's argument order (a piped value is the *last* argument:
//! `{{ .x | default "d" }}` is `default "d" .x`) and Sprig's conversions (`add`, `sub`, … convert
//! with `toInt64`: strings are parsed, floats truncated, anything else is 0).
//!
//! [`funcs`] returns every shipped function and [`names`] lists their names. `env` and `expandenv`
//! are not shipped: they would leak the host environment into the task.
//!
//! # Layout
//!
//! One file per function family, in the order of the Sprig documentation: `strings`,
//! `defaults`, `lists`, `dicts`, `encoding`, `numbers`, `dates`, `regexp`, `paths`,
//! `reflect` and `semver`. Each family exports `ROWS`, its functions with
//! their template names, and `FAMILIES` lists the families: a name and its function are written
//! down once, side by side. The shared helpers are `args` (arity, typed arguments, size
//! limits), `gofmt` (Go's `fmt.Sprint` and `%q`), `convert` (Sprig's `toInt64`, `empty`, …)
//! and `random`.
//!
//! # Representation choices
//!
//! * **Time values** are [`Value::String`]s in RFC 3339 with nanoseconds, UTC
//!   (`2024-05-01T12:00:00.123456789Z`); that is what `now` and `dateModify` return. `date`,
//!   `dateInZone`, `htmlDate`, `htmlDateInZone`, `dateModify` and `unixEpoch` accept such
//!   strings, any other RFC 3339 string, or a [`Value::Int`] of Unix seconds. As in Sprig, `date`
//!   formats the current time when given anything else (Sprig does this for every value that is
//!   not a `time.Time` or an integer).
//! * **Time zones.** Every zone is UTC: `"Local"` is taken to be UTC (acb runs in UTC) and named
//!   zones are not converted (Sprig also falls back to UTC for zones it cannot load).
//! * **Go layouts** (`"2006-01-02T15:04:05Z07:00"`, `"20060102-150405"`,
//!   `"Jan _2 15:04:05.000"`, …) are interpreted chunk by chunk, as Go's `time.Format` does.
//! * **String conversion** (`toString`, `cat`, `quote`, `join`, `b64enc`, dict keys, …) follows
//!   Go's `fmt.Sprint`: `[a b c]` for lists, `map[a:1 b:2]` for maps, `<nil>` for nil, floats as
//!   `%v` (`1e+06`, `0.5`, `1.5e-07`).
//! * **Dicts are values.** gotmpl values are immutable, so `set`, `unset`, `merge` and
//!   `mergeOverwrite` return an updated copy instead of mutating their argument: write
//!   `{{ $d = set $d "k" "v" }}` where Sprig code writes `{{ $_ := set $d "k" "v" }}`.
//! * **Go types.** `typeOf`/`kindOf` report `int` for every integer, `float64` for floats,
//!   `[]interface {}` for lists and `map[string]interface {}` for dicts; Sprig would say `int64`
//!   for the result of `add`, or `[]string` for the result of `splitList`.
//! * **Strings are UTF-8.** Functions that cut strings at byte offsets (`substr`, `trunc`,
//!   `abbrev`, `wrap`) replace a split UTF-8 sequence with U+FFFD where Go would emit the raw
//!   bytes, and `b64dec` decodes invalid UTF-8 the same way.
//! * **Regular expressions** use Go's RE2 syntax: `\d`, `\w`, `\s` and `\b` are ASCII-only as
//!   in Go, and `\Q…\E` quotes. Matching, replacement (`$1`, `${name}`) and the handling of empty
//!   matches follow Go's `regexp`.
//! * **Size limits.** A function whose result is a string longer than 64 MiB (`repeat`, `indent`,
//!   random strings, `cat` in a loop, …) or a list longer than 4 Mi items (`until`, `untilStep`)
//!   fails instead of exhausting memory; so does a render whose text grows past 64 MiB
//!   ([`crate::render::MAX_OUTPUT`]).
//! * **`slice` is Sprig's** (`slice LIST [START [END]]`, lists only); as in Go, a registered
//!   function replaces the built-in of the same name.
//! * **`b64enc`** maps nil to `""`, as acb's override does. acb encodes `<int Value>` for other
//!   non-strings (a bug); taskrun encodes their `fmt.Sprint` text: `{{ 1867 | b64enc }}` is
//!   `MTg2Nw==`.
//!
//! Functions never panic: bad arity is [`gotmpl::TemplateError::ArgCount`], everything else
//! is [`gotmpl::TemplateError::Exec`] with a message that starts `error calling NAME:` as in Go.
//! Where Sprig panics (`first 1`, `div 1 0`, an invalid `regexFind` pattern) the call fails with an
//! error.
//!
//! Not shipped, because Sprig v2.22.0 does not have them (they arrived in v3, so a task file using
//! them fails on ACR): `get`, `toRawJson`, `fromJson`, `dig`, `chunk`, `seq`, `randInt`, `all`,
//! `any`, `osBase` and the other `os*` path functions, the `must*` family and the `*f` float
//! arithmetic. `required` is a Helm function, not Sprig's. Sprig v2.22.0 functions not shipped:
//! `toDate`, `ago`, `b32enc`/`b32dec`, `urlParse`/`urlJoin`, `getHostByName`, `toDecimal`,
//! `semver`, `abbrevboth`, and the crypto helpers (`genCA`, `genPrivateKey`, `derivePassword`,
//! `encryptAES`, …).

mod args;
mod convert;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod gofmt;
mod lists;
mod numbers;
mod paths;
mod random;
mod reflect;
mod regexp;
mod semver;
mod strings;

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{FuncMap, Value, ValueFunc};

use args::{check_items, check_size};

type Res = gotmpl::Result<Value>;
type Func = fn(&str, &[Value]) -> Res;
type Map = BTreeMap<Arc<str>, Value>;

/// Largest string (in bytes) a function may build.
const MAX_SIZE: usize = 64 << 20;
/// Longest list a function may build.
const MAX_ITEMS: usize = 4 << 20;

/// The shipped families, in the order of the Sprig documentation's sections. Every row is a
/// template name and the function it calls.
const FAMILIES: &[&[(&str, Func)]] = &[
    strings::ROWS,
    defaults::ROWS,
    lists::ROWS,
    dicts::ROWS,
    encoding::ROWS,
    numbers::ROWS,
    dates::ROWS,
    regexp::ROWS,
    paths::ROWS,
    reflect::ROWS,
    semver::ROWS,
];

fn rows() -> impl Iterator<Item = &'static (&'static str, Func)> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// Names of every function returned by [`funcs`], in the order of the Sprig documentation's
/// sections. The renderer uses them to recognise template actions.
pub fn names() -> impl Iterator<Item = &'static str> {
    rows().map(|(name, _)| *name)
}

/// Returns every shipped Sprig function, ready for `Template::new(name).funcs(sprig::funcs())`.
pub fn funcs() -> FuncMap {
    rows()
        .map(|&(name, f)| (name.to_string(), wrap_fn(name, f)))
        .collect()
}

/// A shipped function as the template engine calls it. Every result is held to the size limits
/// ([`MAX_SIZE`], [`MAX_ITEMS`]), so that no function, even one that does not check them itself
/// (`cat`, `join`, `replace`, …), lets a loop double a value until memory runs out.
fn wrap_fn(name: &'static str, f: Func) -> ValueFunc {
    Arc::new(move |args: &[Value]| {
        let out = f(name, args)?;
        match &out {
            Value::String(s) => check_size(name, s.len())?,
            Value::List(items) => check_items(name, items.len())?,
            _ => {}
        }
        Ok(out)
    })
}

/// What the family tests share: rendering a template with every shipped function.
#[cfg(test)]
mod test_util {
    use gotmpl::{Template, TemplateError, Value, tmap};

    use super::funcs;

    pub(super) fn render_with(src: &str, data: &Value) -> Result<String, TemplateError> {
        Template::new("t")
            .funcs(funcs())
            .parse(src)
            .and_then(|t| t.execute_to_string(data))
    }

    /// Renders `src` with `data`, failing the test on an error.
    pub(super) fn rd(src: &str, data: &Value) -> String {
        match render_with(src, data) {
            Ok(out) => out,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    pub(super) fn r(src: &str) -> String {
        rd(src, &tmap! {})
    }

    /// Renders `src`, expecting an error; returns its message.
    pub(super) fn err(src: &str) -> String {
        match render_with(src, &tmap! {}) {
            Ok(out) => panic!("{src}: expected an error, got {out:?}"),
            Err(e) => e.to_string(),
        }
    }

    pub(super) fn assert_err(src: &str, parts: &[&str]) {
        let e = err(src);
        for p in parts {
            assert!(e.contains(p), "{src}: error {e:?} lacks {p:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::args::{list, string};
    use super::test_util::*;
    use super::*;
    use gotmpl::tmap;

    #[test]
    fn names_are_unique() {
        assert_eq!(funcs().len(), names().count(), "a name is registered twice");
    }

    #[test]
    fn functions_missing_from_sprig_v2_are_not_shipped() {
        let map = funcs();
        for absent in [
            "env",
            "expandenv",
            "get",
            "toRawJson",
            "fromJson",
            "required",
        ] {
            assert!(!map.contains_key(absent), "{absent} must not be shipped");
        }
    }

    #[test]
    fn env_is_not_shipped_by_default() {
        // gotmpl reports unknown functions when the action runs (Go: at parse time).
        assert_err("{{ env \"HOME\" }}", &["env"]);
        assert_err("{{ expandenv \"$HOME\" }}", &["expandenv"]);
    }

    #[test]
    fn never_panics_on_odd_arguments() {
        let samples = [
            Value::Nil,
            Value::Bool(true),
            Value::Int(-1),
            Value::Int(3),
            Value::Int(i64::MAX),
            Value::Uint(u64::MAX),
            Value::Float(f64::NAN),
            Value::Float(-2.5),
            string(""),
            string("a,é\u{0}"),
            list(vec![Value::Int(1), Value::Nil]),
            tmap! { "a" => 1i64 },
        ];
        for (name, f) in funcs() {
            f(&[]).ok();
            for a in &samples {
                f(std::slice::from_ref(a)).ok();
                for b in &samples {
                    f(&[a.clone(), b.clone()]).ok();
                    for c in &samples {
                        if name.starts_with("rand") || name == "shuffle" {
                            continue;
                        }
                        f(&[a.clone(), b.clone(), c.clone()]).ok();
                    }
                }
            }
        }
    }

    #[test]
    fn errors_name_the_function() {
        assert_err(
            "{{ upper 1 }}",
            &["error calling upper", "expected string; got int"],
        );
        assert_err(
            "{{ upper .missing }}",
            &["error calling upper", "invalid value"],
        );
        assert_err("{{ upper \"a\" \"b\" }}", &["upper", "expects 1", "got 2"]);
        assert_err(
            "{{ indent \"x\" \"y\" }}",
            &["error calling indent", "expected int"],
        );
    }
}
