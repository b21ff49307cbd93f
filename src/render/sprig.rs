//! The Sprig v2.22.0 template functions that taskrun ships (SPEC §2.2, acb-behaviour §4.2).
//!
//! ACR renders task files with Go `text/template` plus `sprig.TxtFuncMap()` from
//! `github.com/Masterminds/sprig` v2.22.0. This module re-implements the part of that map that task
//! files use, with Sprig's argument order (a piped value is the *last* argument:
//! `{{ .x | default "d" }}` is `default "d" .x`) and Sprig's conversions (`add`, `sub`, … convert
//! with `toInt64`: strings are parsed, floats truncated, anything else is 0).
//!
//! [`funcs`] returns every shipped function and [`NAMES`] lists their names. `env` and `expandenv`
//! read the host environment, so they are not in [`funcs`]; [`env_funcs`] provides them for callers
//! that opt in.
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
//! Functions never panic: bad arity is [`TemplateError::ArgCount`], everything else is
//! [`TemplateError::Exec`] with a message that starts `error calling NAME:` as in Go. Where Sprig
//! panics (`first 1`, `div 1 0`, an invalid `regexFind` pattern) the call fails with an error.
//!
//! Not shipped, because Sprig v2.22.0 does not have them (they arrived in v3, so a task file using
//! them fails on ACR): `get`, `toRawJson`, `fromJson`, `dig`, `chunk`, `seq`, `randInt`, `all`,
//! `any`, `osBase` and the other `os*` path functions, the `must*` family and the `*f` float
//! arithmetic. `required` is a Helm function, not Sprig's. Sprig v2.22.0 functions not shipped:
//! `toDate`, `ago`, `b32enc`/`b32dec`, `urlParse`/`urlJoin`, `getHostByName`, `toDecimal`,
//! `semver`, `abbrevboth`, and the crypto helpers (`genCA`, `genPrivateKey`, `derivePassword`,
//! `encryptAES`, …).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::sync::Arc;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use gotmpl::{FuncMap, TemplateError, Value, ValueFunc};
use regex::{Captures, Regex};
use sha2::{Digest, Sha256};

type Res = gotmpl::Result<Value>;
type Func = fn(&str, &[Value]) -> Res;
type Map = BTreeMap<Arc<str>, Value>;

/// Largest string (in bytes) a function may build.
const MAX_SIZE: usize = 64 << 20;
/// Longest list a function may build.
const MAX_ITEMS: usize = 4 << 20;

/// Names of every function returned by [`funcs`], in the order of the Sprig documentation's
/// sections. The renderer uses it to recognise template actions.
pub const NAMES: &[&str] = &[
    // strings
    "hello",
    "upper",
    "lower",
    "title",
    "untitle",
    "trim",
    "trimAll",
    "trimall",
    "trimPrefix",
    "trimSuffix",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "quote",
    "squote",
    "cat",
    "indent",
    "nindent",
    "substr",
    "trunc",
    "repeat",
    "nospace",
    "abbrev",
    "initials",
    "plural",
    "snakecase",
    "camelcase",
    "kebabcase",
    "swapcase",
    "shuffle",
    "wrap",
    "wrapWith",
    "randAlphaNum",
    "randAlpha",
    "randNumeric",
    "randAscii",
    // defaults and flow control
    "default",
    "empty",
    "coalesce",
    "ternary",
    "compact",
    "deepCopy",
    "fail",
    // lists
    "list",
    "tuple",
    "first",
    "last",
    "rest",
    "initial",
    "append",
    "push",
    "prepend",
    "concat",
    "uniq",
    "without",
    "has",
    "reverse",
    "sortAlpha",
    "slice",
    "until",
    "untilStep",
    "split",
    "splitList",
    "splitn",
    "join",
    "toStrings",
    // dicts
    "dict",
    "set",
    "unset",
    "hasKey",
    "keys",
    "values",
    "pluck",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    // encoding and hashes
    "b64enc",
    "b64dec",
    "toJson",
    "toPrettyJson",
    "sha256sum",
    "sha1sum",
    "adler32sum",
    // numbers and conversion
    "add",
    "add1",
    "sub",
    "mul",
    "div",
    "mod",
    "max",
    "biggest",
    "min",
    "floor",
    "ceil",
    "round",
    "int",
    "int64",
    "float64",
    "atoi",
    "toString",
    // dates
    "now",
    "date",
    "dateInZone",
    "date_in_zone",
    "htmlDate",
    "htmlDateInZone",
    "dateModify",
    "date_modify",
    "unixEpoch",
    // regular expressions
    "regexMatch",
    "regexFind",
    "regexFindAll",
    "regexReplaceAll",
    "regexReplaceAllLiteral",
    "regexSplit",
    // paths
    "base",
    "dir",
    "clean",
    "ext",
    "isAbs",
    // reflection and other
    "typeOf",
    "typeIs",
    "typeIsLike",
    "kindOf",
    "kindIs",
    "deepEqual",
    "uuidv4",
    "semverCompare",
];

/// Returns every shipped Sprig function, ready for `Template::new(name).funcs(sprig::funcs())`.
pub fn funcs() -> FuncMap {
    NAMES
        .iter()
        .filter_map(|name| lookup(name).map(|f| (name.to_string(), wrap_fn(name, f))))
        .collect()
}

/// Returns `env` and `expandenv`, which read the host environment (ACR exposes them; taskrun
/// registers them only on request).
pub fn env_funcs() -> FuncMap {
    let mut map = FuncMap::new();
    map.insert("env".to_string(), wrap_fn("env", f_env));
    map.insert("expandenv".to_string(), wrap_fn("expandenv", f_expandenv));
    map
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

fn lookup(name: &str) -> Option<Func> {
    let f: Func = match name {
        "hello" => f_hello,
        "upper" => f_upper,
        "lower" => f_lower,
        "title" => f_title,
        "untitle" => f_untitle,
        "trim" => f_trim,
        "trimAll" | "trimall" => f_trim_all,
        "trimPrefix" => f_trim_prefix,
        "trimSuffix" => f_trim_suffix,
        "replace" => f_replace,
        "contains" => f_contains,
        "hasPrefix" => f_has_prefix,
        "hasSuffix" => f_has_suffix,
        "quote" => f_quote,
        "squote" => f_squote,
        "cat" => f_cat,
        "indent" => f_indent,
        "nindent" => f_nindent,
        "substr" => f_substr,
        "trunc" => f_trunc,
        "repeat" => f_repeat,
        "nospace" => f_nospace,
        "abbrev" => f_abbrev,
        "initials" => f_initials,
        "plural" => f_plural,
        "snakecase" => f_snakecase,
        "camelcase" => f_camelcase,
        "kebabcase" => f_kebabcase,
        "swapcase" => f_swapcase,
        "shuffle" => f_shuffle,
        "wrap" => f_wrap,
        "wrapWith" => f_wrap_with,
        "randAlphaNum" => f_rand_alpha_num,
        "randAlpha" => f_rand_alpha,
        "randNumeric" => f_rand_numeric,
        "randAscii" => f_rand_ascii,
        "default" => f_default,
        "empty" => f_empty,
        "coalesce" => f_coalesce,
        "ternary" => f_ternary,
        "compact" => f_compact,
        "deepCopy" => f_deep_copy,
        "fail" => f_fail,
        "list" | "tuple" => f_list,
        "first" => f_first,
        "last" => f_last,
        "rest" => f_rest,
        "initial" => f_initial,
        "append" | "push" => f_append,
        "prepend" => f_prepend,
        "concat" => f_concat,
        "uniq" => f_uniq,
        "without" => f_without,
        "has" => f_has,
        "reverse" => f_reverse,
        "sortAlpha" => f_sort_alpha,
        "slice" => f_slice,
        "until" => f_until,
        "untilStep" => f_until_step,
        "split" => f_split,
        "splitList" => f_split_list,
        "splitn" => f_splitn,
        "join" => f_join,
        "toStrings" => f_to_strings,
        "dict" => f_dict,
        "set" => f_set,
        "unset" => f_unset,
        "hasKey" => f_has_key,
        "keys" => f_keys,
        "values" => f_values,
        "pluck" => f_pluck,
        "pick" => f_pick,
        "omit" => f_omit,
        "merge" => f_merge,
        "mergeOverwrite" => f_merge_overwrite,
        "b64enc" => f_b64enc,
        "b64dec" => f_b64dec,
        "toJson" => f_to_json,
        "toPrettyJson" => f_to_pretty_json,
        "sha256sum" => f_sha256sum,
        "sha1sum" => f_sha1sum,
        "adler32sum" => f_adler32sum,
        "add" => f_add,
        "add1" => f_add1,
        "sub" => f_sub,
        "mul" => f_mul,
        "div" => f_div,
        "mod" => f_mod,
        "max" | "biggest" => f_max,
        "min" => f_min,
        "floor" => f_floor,
        "ceil" => f_ceil,
        "round" => f_round,
        "int" | "int64" => f_int,
        "float64" => f_float64,
        "atoi" => f_atoi,
        "toString" => f_to_string,
        "now" => f_now,
        "date" => f_date,
        "dateInZone" | "date_in_zone" => f_date_in_zone,
        "htmlDate" => f_html_date,
        "htmlDateInZone" => f_html_date_in_zone,
        "dateModify" | "date_modify" => f_date_modify,
        "unixEpoch" => f_unix_epoch,
        "regexMatch" => f_regex_match,
        "regexFind" => f_regex_find,
        "regexFindAll" => f_regex_find_all,
        "regexReplaceAll" => f_regex_replace_all,
        "regexReplaceAllLiteral" => f_regex_replace_all_literal,
        "regexSplit" => f_regex_split,
        "base" => f_base,
        "dir" => f_dir,
        "clean" => f_clean,
        "ext" => f_ext,
        "isAbs" => f_is_abs,
        "typeOf" => f_type_of,
        "typeIs" => f_type_is,
        "typeIsLike" => f_type_is_like,
        "kindOf" => f_kind_of,
        "kindIs" => f_kind_is,
        "deepEqual" => f_deep_equal,
        "uuidv4" => f_uuidv4,
        "semverCompare" => f_semver_compare,
        _ => return None,
    };
    Some(f)
}

// ---------------------------------------------------------------------------------------------
// Argument helpers

fn fail(name: &str, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError::Exec(format!("error calling {name}: {msg}"))
}

fn arity(name: &str, args: &[Value], n: usize) -> gotmpl::Result<()> {
    if args.len() == n {
        Ok(())
    } else {
        Err(arg_count(name, n, args.len()))
    }
}

fn arity_min(name: &str, args: &[Value], n: usize) -> gotmpl::Result<()> {
    if args.len() >= n {
        Ok(())
    } else {
        Err(arg_count(name, n, args.len()))
    }
}

fn arity_range(name: &str, args: &[Value], lo: usize, hi: usize) -> gotmpl::Result<()> {
    if args.len() < lo {
        Err(arg_count(name, lo, args.len()))
    } else if args.len() > hi {
        Err(arg_count(name, hi, args.len()))
    } else {
        Ok(())
    }
}

fn arg_count(name: &str, expected: usize, got: usize) -> TemplateError {
    TemplateError::ArgCount {
        name: name.to_string(),
        expected,
        got,
    }
}

/// A Go `string` parameter.
fn str_at<'a>(name: &str, args: &'a [Value], i: usize) -> gotmpl::Result<&'a str> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Nil) | None => Err(fail(name, "invalid value; expected string")),
        Some(v) => Err(fail(
            name,
            format!("wrong type for value; expected string; got {}", go_type(v)),
        )),
    }
}

/// A Go `int` parameter (an integral float is accepted, as Go accepts the constant `2.0`).
fn int_at(name: &str, args: &[Value], i: usize) -> gotmpl::Result<i64> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Uint(n)) => {
            i64::try_from(*n).map_err(|_| fail(name, format!("{n} overflows int")))
        }
        Some(Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        Some(Value::Nil) | None => Err(fail(name, "invalid value; expected int")),
        Some(v) => Err(fail(
            name,
            format!("wrong type for value; expected int; got {}", go_type(v)),
        )),
    }
}

/// A Go `float64` parameter.
fn float_at(name: &str, args: &[Value], i: usize) -> gotmpl::Result<f64> {
    match args.get(i) {
        Some(Value::Float(f)) => Ok(*f),
        Some(Value::Int(n)) => Ok(*n as f64),
        Some(Value::Uint(n)) => Ok(*n as f64),
        Some(Value::Nil) | None => Err(fail(name, "invalid value; expected float64")),
        Some(v) => Err(fail(
            name,
            format!("wrong type for value; expected float64; got {}", go_type(v)),
        )),
    }
}

/// A Go `bool` parameter.
fn bool_at(name: &str, args: &[Value], i: usize) -> gotmpl::Result<bool> {
    match args.get(i) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Nil) | None => Err(fail(name, "invalid value; expected bool")),
        Some(v) => Err(fail(
            name,
            format!("wrong type for value; expected bool; got {}", go_type(v)),
        )),
    }
}

/// A Go `map[string]interface{}` parameter; nil is Go's nil map (`None`).
fn map_at<'a>(name: &str, args: &'a [Value], i: usize) -> gotmpl::Result<Option<&'a Map>> {
    match args.get(i) {
        Some(Value::Map(m)) => Ok(Some(m)),
        Some(Value::Nil) | None => Ok(None),
        Some(v) => Err(fail(
            name,
            format!(
                "wrong type for value; expected map[string]interface {{}}; got {}",
                go_type(v)
            ),
        )),
    }
}

/// An `interface{}` parameter that Sprig requires to be a slice (it panics otherwise).
fn list_of<'a>(name: &str, v: &'a Value, what: &str) -> gotmpl::Result<&'a [Value]> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(fail(
            name,
            format!("Cannot {what} on type {}", kind_of(other)),
        )),
    }
}

fn string(s: impl Into<Arc<str>>) -> Value {
    Value::String(s.into())
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items.into())
}

fn str_list<S: AsRef<str>>(items: &[S]) -> Value {
    list(items.iter().map(|s| string(s.as_ref())).collect())
}

fn check_size(name: &str, size: usize) -> gotmpl::Result<()> {
    if size > MAX_SIZE {
        Err(fail(
            name,
            format!("result too large ({size} > {MAX_SIZE} bytes)"),
        ))
    } else {
        Ok(())
    }
}

fn check_items(name: &str, items: usize) -> gotmpl::Result<()> {
    if items > MAX_ITEMS {
        Err(fail(
            name,
            format!("result too large ({items} > {MAX_ITEMS} items)"),
        ))
    } else {
        Ok(())
    }
}

fn lossy(bytes: &[u8]) -> Value {
    string(String::from_utf8_lossy(bytes).as_ref())
}

// ---------------------------------------------------------------------------------------------
// Go formatting: fmt.Sprint, %q, type names

/// Go's `%T` for the value (used by `typeOf` and error messages).
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        Value::Function(_) => "func(...interface {}) (interface {}, error)",
        #[allow(unreachable_patterns)]
        _ => "string",
    }
}

/// Go's `reflect.Kind` name for the value.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Function(_) => "func",
        #[allow(unreachable_patterns)]
        _ => "string",
    }
}

/// Go's `fmt.Sprint(v)` (Sprig's `strval` for everything but strings, which are unchanged).
fn sprint(v: &Value) -> String {
    let mut out = String::new();
    write_sprint(&mut out, v);
    out
}

fn write_sprint(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_float_v(*f)),
        Value::String(s) => out.push_str(s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_sprint(out, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_sprint(out, item);
            }
            out.push(']');
        }
        Value::Function(_) => out.push_str("<func>"),
        #[allow(unreachable_patterns)]
        other => out.push_str(&other.to_string()),
    }
}

/// Shortest round-trip decimal digits of `|f|` (finite, non-zero) and the decimal point position:
/// `|f| = 0.d1d2d3… × 10^dp`.
fn float_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp + 1)
}

/// `%f`-style rendering of shortest digits.
fn fixed_from_digits(digits: &str, dp: i32) -> String {
    let nd = digits.len() as i32;
    if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp >= nd {
        format!("{}{}", digits, "0".repeat((dp - nd) as usize))
    } else {
        let (a, b) = digits.split_at(dp as usize);
        format!("{a}.{b}")
    }
}

/// `%e`-style rendering of shortest digits; `min_exp_digits` is Go's two-digit minimum.
fn exp_from_digits(digits: &str, dp: i32, min_exp_digits: usize) -> String {
    let exp = dp - 1;
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let mut out = first.to_string();
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs().to_string();
    for _ in e.len()..min_exp_digits {
        out.push('0');
    }
    out.push_str(&e);
    out
}

/// Go's `%v` for a float64: `%g` with the shortest digits, which switches to `%e` when the
/// decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-07`, `123456`).
fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, dp) = float_digits(f);
    let exp = dp - 1;
    let body = if !(-4..6).contains(&exp) {
        exp_from_digits(&digits, dp, 2)
    } else {
        fixed_from_digits(&digits, dp)
    };
    if f < 0.0 { format!("-{body}") } else { body }
}

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Approximates Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the
/// ASCII space. Unassigned code points are treated as printable (Go escapes them).
fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format_or_private = matches!(u,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF
        | 0xFDD0..=0xFDEF | 0xFFFE | 0xFFFF);
    !format_or_private
}

// ---------------------------------------------------------------------------------------------
// Go-like conversions (Sprig's toInt64 / toFloat64 / strslice / empty)

/// Sprig's `toInt64`.
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse::<i64>().unwrap_or(0),
        Value::Int(n) => *n,
        Value::Uint(n) => i64::try_from(*n).unwrap_or(i64::MAX),
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// Sprig's `toFloat64`.
fn to_f64(v: &Value) -> f64 {
    match v {
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Int(n) => *n as f64,
        Value::Uint(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// `strconv.ParseFloat(s, 64)`; out-of-range values are errors as in Go.
fn parse_go_float(s: &str) -> Option<f64> {
    if s.contains('_') {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() {
        let t = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if t != "inf" && t != "infinity" {
            return None;
        }
    }
    Some(f)
}

/// Sprig's `empty`: the zero value of its type (nil, false, 0, "", empty list or map).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(n) => *n == 0,
        Value::Uint(n) => *n == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// Sprig's `strslice`: a list becomes its non-nil elements as strings, nil becomes an empty list,
/// anything else a one-element list.
fn str_slice(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items
            .iter()
            .filter(|i| !matches!(i, Value::Nil))
            .map(sprint)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![sprint(other)],
    }
}

// ---------------------------------------------------------------------------------------------
// Strings

fn f_hello(name: &str, args: &[Value]) -> Res {
    arity(name, args, 0)?;
    Ok(string("Hello!"))
}

fn go_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn go_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn go_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        c => go_upper(c),
    }
}

fn f_upper(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(
        str_at(name, args, 0)?
            .chars()
            .map(go_upper)
            .collect::<String>(),
    ))
}

fn f_lower(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(
        str_at(name, args, 0)?
            .chars()
            .map(go_lower)
            .collect::<String>(),
    ))
}

/// Go's `strings.Title` word separator rule.
fn title_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

fn f_title(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    let mut prev = ' ';
    let out: String = s
        .chars()
        .map(|c| {
            let r = if title_separator(prev) {
                go_title(c)
            } else {
                c
            };
            prev = c;
            r
        })
        .collect();
    Ok(string(out))
}

fn f_untitle(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    let mut next = true;
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                go_lower(c)
            } else {
                c
            }
        })
        .collect();
    Ok(string(out))
}

fn f_trim(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(str_at(name, args, 0)?.trim()))
}

fn f_trim_all(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let cutset = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(string(s.trim_matches(|c| cutset.contains(c))))
}

fn f_trim_prefix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let prefix = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(string(s.strip_prefix(prefix).unwrap_or(s)))
}

fn f_trim_suffix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let suffix = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(string(s.strip_suffix(suffix).unwrap_or(s)))
}

fn f_replace(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let old = str_at(name, args, 0)?;
    let new = str_at(name, args, 1)?;
    let s = str_at(name, args, 2)?;
    let count = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    check_size(
        name,
        s.len()
            .saturating_add(count.saturating_mul(new.len().saturating_sub(old.len()))),
    )?;
    Ok(string(s.replace(old, new)))
}

fn f_contains(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(
        str_at(name, args, 1)?.contains(str_at(name, args, 0)?),
    ))
}

fn f_has_prefix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(
        str_at(name, args, 1)?.starts_with(str_at(name, args, 0)?),
    ))
}

fn f_has_suffix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(
        str_at(name, args, 1)?.ends_with(str_at(name, args, 0)?),
    ))
}

fn f_quote(_name: &str, args: &[Value]) -> Res {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| go_quote(&sprint(v)))
        .collect();
    Ok(string(parts.join(" ")))
}

fn f_squote(_name: &str, args: &[Value]) -> Res {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| format!("'{}'", sprint(v)))
        .collect();
    Ok(string(parts.join(" ")))
}

fn f_cat(_name: &str, args: &[Value]) -> Res {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(sprint)
        .collect();
    Ok(string(parts.join(" ")))
}

fn indent_str(name: &str, spaces: i64, s: &str) -> gotmpl::Result<String> {
    let n = usize::try_from(spaces).map_err(|_| fail(name, "strings: negative Repeat count"))?;
    let lines = s.matches('\n').count() + 1;
    check_size(name, s.len().saturating_add(n.saturating_mul(lines)))?;
    let pad = " ".repeat(n);
    let mut out = String::with_capacity(s.len() + n * lines);
    out.push_str(&pad);
    out.push_str(&s.replace('\n', &format!("\n{pad}")));
    Ok(out)
}

fn f_indent(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let n = int_at(name, args, 0)?;
    Ok(string(indent_str(name, n, str_at(name, args, 1)?)?))
}

fn f_nindent(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let n = int_at(name, args, 0)?;
    Ok(string(format!(
        "\n{}",
        indent_str(name, n, str_at(name, args, 1)?)?
    )))
}

fn slice_err(name: &str, start: i64, end: i64, len: usize) -> TemplateError {
    fail(
        name,
        format!("runtime error: slice bounds out of range [{start}:{end}] with length {len}"),
    )
}

fn f_substr(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let start = int_at(name, args, 0)?;
    let end = int_at(name, args, 1)?;
    let s = str_at(name, args, 2)?;
    let b = s.as_bytes();
    let len = b.len() as i64;
    // Sprig: start < 0 → s[:end]; end < 0 or end > len → s[start:]; else s[start:end].
    let (lo, hi) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if lo < 0 || hi < lo || hi > len {
        return Err(slice_err(name, lo, hi, b.len()));
    }
    Ok(lossy(&b[lo as usize..hi as usize]))
}

fn f_trunc(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let c = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    let len = s.len() as i64;
    if len <= c {
        return Ok(string(s));
    }
    if c < 0 {
        return Err(slice_err(name, 0, c, s.len()));
    }
    Ok(lossy(&s.as_bytes()[..c as usize]))
}

fn f_repeat(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let count = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    let n = usize::try_from(count).map_err(|_| fail(name, "strings: negative Repeat count"))?;
    check_size(name, s.len().saturating_mul(n))?;
    Ok(string(s.repeat(n)))
}

fn f_nospace(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(
        str_at(name, args, 0)?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>(),
    ))
}

fn f_abbrev(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let width = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    if width < 4 || s.len() as i64 <= width {
        return Ok(string(s));
    }
    let mut out = String::from_utf8_lossy(&s.as_bytes()[..(width - 3) as usize]).into_owned();
    out.push_str("...");
    Ok(string(out))
}

fn f_initials(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    let mut gap = true;
    let mut out = String::new();
    for c in s.chars() {
        if c.is_whitespace() {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    Ok(string(out))
}

fn f_plural(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let one = str_at(name, args, 0)?;
    let many = str_at(name, args, 1)?;
    let count = int_at(name, args, 2)?;
    Ok(string(if count == 1 { one } else { many }))
}

fn is_word_sep(c: char) -> bool {
    c == ' ' || c == '-' || c == '_'
}

/// `snakecase` / `kebabcase`: words split at separators (` `, `-`, `_`), at lower→upper changes,
/// before the last capital of an acronym followed by a lower-case letter (`HTTPServer` →
/// `http_server`) and before a number (`http2xx` → `http_2xx`); then lower-cased and joined.
fn to_lower_words(s: &str, connector: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if is_word_sep(c) {
            out.push(connector);
            continue;
        }
        let prev = if i > 0 {
            chars.get(i - 1).copied()
        } else {
            None
        };
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            None => false,
            Some(p) if is_word_sep(p) => false,
            Some(p) => {
                (c.is_uppercase() && p.is_lowercase())
                    || (c.is_uppercase()
                        && p.is_uppercase()
                        && next.is_some_and(char::is_lowercase))
                    || (c.is_numeric() && !p.is_numeric())
            }
        };
        if boundary {
            out.push(connector);
        }
        out.push(go_lower(c));
    }
    out
}

fn f_snakecase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(to_lower_words(str_at(name, args, 0)?, '_')))
}

fn f_kebabcase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(to_lower_words(str_at(name, args, 0)?, '-')))
}

fn is_camel_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// `camelcase` (upper camel case, as Sprig v2): `http_server` → `HttpServer`. Leading connectors
/// stay; inside a run of connectors before a letter all but the last are kept (`a__b` → `A_B`);
/// trailing connectors stay; other letters keep their case.
fn to_camel(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() && is_camel_connector(chars[i]) {
        out.push(chars[i]);
        i += 1;
    }
    let mut upper_next = true;
    while i < chars.len() {
        let c = chars[i];
        if is_camel_connector(c) {
            let start = i;
            while i < chars.len() && is_camel_connector(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            if i == chars.len() {
                out.extend(run);
            } else {
                out.extend(&run[..run.len() - 1]);
                upper_next = true;
            }
            continue;
        }
        out.push(if upper_next { go_upper(c) } else { c });
        upper_next = false;
        i += 1;
    }
    out
}

fn f_camelcase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(to_camel(str_at(name, args, 0)?)))
}

fn f_swapcase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let out: String = str_at(name, args, 0)?
        .chars()
        .map(|c| {
            if c.is_uppercase() {
                go_lower(c)
            } else if c.is_lowercase() {
                go_upper(c)
            } else {
                c
            }
        })
        .collect();
    Ok(string(out))
}

fn f_shuffle(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let mut chars: Vec<char> = str_at(name, args, 0)?.chars().collect();
    let mut rng = Rng::new();
    for i in (1..chars.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        chars.swap(i, j);
    }
    Ok(string(chars.into_iter().collect::<String>()))
}

/// Word wrapping as Sprig's `wrap`/`wrapWith` (Apache Commons `WordUtils.wrap`): break at the last
/// space within `width`; a longer word is split (`long_words`) or left whole.
fn wrap_text(s: &str, width: i64, newline: &str, long_words: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = usize::try_from(width.max(1)).unwrap_or(1);
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 8);
    let mut offset = 0usize;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let window_end = (offset + width + 1).min(b.len());
        let space = b[offset..window_end].iter().rposition(|&c| c == b' ');
        match space {
            Some(rel) => {
                out.extend_from_slice(&b[offset..offset + rel]);
                out.extend_from_slice(newline.as_bytes());
                offset += rel + 1;
            }
            None if long_words => {
                out.extend_from_slice(&b[offset..offset + width]);
                out.extend_from_slice(newline.as_bytes());
                offset += width;
            }
            None => {
                let end = offset + width;
                match b[end..].iter().position(|&c| c == b' ') {
                    None => {
                        out.extend_from_slice(&b[offset..]);
                        offset = b.len();
                    }
                    Some(rel) => {
                        out.extend_from_slice(&b[offset..end + rel]);
                        out.extend_from_slice(newline.as_bytes());
                        offset = end + rel + 1;
                    }
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    out
}

fn f_wrap(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let width = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    check_size(name, s.len().saturating_mul(2))?;
    Ok(lossy(&wrap_text(s, width, "\n", false)))
}

fn f_wrap_with(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let width = int_at(name, args, 0)?;
    let sep = str_at(name, args, 1)?;
    let s = str_at(name, args, 2)?;
    check_size(name, s.len().saturating_mul(sep.len().saturating_add(1)))?;
    Ok(lossy(&wrap_text(s, width, sep, true)))
}

fn random_string(name: &str, args: &[Value], alphabet: &[u8]) -> Res {
    arity(name, args, 1)?;
    let count = int_at(name, args, 0)?;
    // goutils returns an error for a negative count, which Sprig turns into "".
    let Ok(n) = usize::try_from(count) else {
        return Ok(string(""));
    };
    check_size(name, n)?;
    let mut rng = Rng::new();
    let out: String = (0..n)
        .map(|_| {
            let i = rng.below(alphabet.len() as u64) as usize;
            char::from(alphabet.get(i).copied().unwrap_or(b'a'))
        })
        .collect();
    Ok(string(out))
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";

fn f_rand_alpha_num(name: &str, args: &[Value]) -> Res {
    random_string(name, args, ALNUM)
}

fn f_rand_alpha(name: &str, args: &[Value]) -> Res {
    random_string(name, args, ALPHA)
}

fn f_rand_numeric(name: &str, args: &[Value]) -> Res {
    random_string(name, args, DIGITS)
}

fn f_rand_ascii(name: &str, args: &[Value]) -> Res {
    let printable: Vec<u8> = (32u8..=126).collect();
    random_string(name, args, &printable)
}

// ---------------------------------------------------------------------------------------------
// Randomness (no rand crate: the OS source, with a hasher-based fallback)

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom")
        && f.read_exact(&mut buf).is_ok()
    {
        return buf;
    }
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(nanos);
        let bytes = h.finish().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    buf
}

/// Random numbers drawn from a buffer of OS randomness.
struct Rng {
    buf: Vec<u8>,
    pos: usize,
}

impl Rng {
    fn new() -> Self {
        Rng {
            buf: Vec::new(),
            pos: 0,
        }
    }

    fn byte(&mut self) -> u8 {
        if self.pos >= self.buf.len() {
            self.buf = random_bytes(4096);
            self.pos = 0;
        }
        let b = self.buf.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A uniform random number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let x = (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.byte()));
            if x < zone {
                return x % bound;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Defaults and flow control

fn f_default(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    match args.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

fn f_empty(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

fn f_coalesce(_name: &str, args: &[Value]) -> Res {
    Ok(args
        .iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or(Value::Nil))
}

fn f_ternary(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    Ok(if bool_at(name, args, 2)? {
        args[0].clone()
    } else {
        args[1].clone()
    })
}

fn f_compact(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let items = list_of(name, &args[0], "compact")?;
    Ok(list(
        items.iter().filter(|v| !is_empty(v)).cloned().collect(),
    ))
}

fn f_deep_copy(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(args[0].clone())
}

fn f_fail(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Err(fail(name, str_at(name, args, 0)?))
}

// ---------------------------------------------------------------------------------------------
// Lists

fn f_list(_name: &str, args: &[Value]) -> Res {
    Ok(list(args.to_vec()))
}

fn f_first(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let items = list_of(name, &args[0], "find first")?;
    Ok(items.first().cloned().unwrap_or(Value::Nil))
}

fn f_last(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let items = list_of(name, &args[0], "find last")?;
    Ok(items.last().cloned().unwrap_or(Value::Nil))
}

fn f_rest(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let items = list_of(name, &args[0], "find rest")?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(list(items[1..].to_vec()))
}

fn f_initial(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let items = list_of(name, &args[0], "find initial")?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(list(items[..items.len() - 1].to_vec()))
}

fn f_append(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let items = list_of(name, &args[0], "push")?;
    let mut out = items.to_vec();
    out.push(args[1].clone());
    Ok(list(out))
}

fn f_prepend(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let items = list_of(name, &args[0], "prepend")?;
    let mut out = Vec::with_capacity(items.len() + 1);
    out.push(args[1].clone());
    out.extend_from_slice(items);
    Ok(list(out))
}

fn f_concat(name: &str, args: &[Value]) -> Res {
    let mut out = Vec::new();
    for v in args {
        match v {
            Value::List(items) => out.extend_from_slice(items),
            other => {
                return Err(fail(
                    name,
                    format!("Cannot concat type {} as list", kind_of(other)),
                ));
            }
        }
    }
    Ok(list(out))
}

fn f_uniq(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let items = list_of(name, &args[0], "find uniq")?;
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(list(out))
}

fn f_without(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    let items = list_of(name, &args[0], "find without")?;
    let omit = &args[1..];
    Ok(list(
        items
            .iter()
            .filter(|v| !omit.contains(v))
            .cloned()
            .collect(),
    ))
}

fn f_has(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    match &args[1] {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(items) => Ok(Value::Bool(items.contains(&args[0]))),
        other => Err(fail(
            name,
            format!("Cannot find has on type {}", kind_of(other)),
        )),
    }
}

fn f_reverse(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let items = list_of(name, &args[0], "find reverse")?;
    Ok(list(items.iter().rev().cloned().collect()))
}

fn f_sort_alpha(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let mut items = match &args[0] {
        v @ Value::List(_) => str_slice(v),
        other => vec![sprint(other)],
    };
    items.sort();
    Ok(str_list(&items))
}

fn f_slice(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    let Value::List(items) = &args[0] else {
        return Err(fail(
            name,
            format!(
                "list should be type of slice or array but {}",
                kind_of(&args[0])
            ),
        ));
    };
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = args.get(1).map(to_i64).unwrap_or(0);
    let end = args.get(2).map(to_i64).unwrap_or(items.len() as i64);
    if start < 0 || end < start || end > items.len() as i64 {
        return Err(slice_err(name, start, end, items.len()));
    }
    Ok(list(items[start as usize..end as usize].to_vec()))
}

fn until_step(name: &str, start: i64, stop: i64, step: i64) -> Res {
    let count: i128 = if step == 0 || (stop < start && step > 0) || (stop >= start && step < 0) {
        0
    } else {
        let span = (i128::from(stop) - i128::from(start)).abs();
        let st = i128::from(step).abs();
        (span + st - 1) / st
    };
    check_items(name, usize::try_from(count).unwrap_or(usize::MAX))?;
    let mut out = Vec::with_capacity(count as usize);
    let mut i = i128::from(start);
    for _ in 0..count {
        out.push(Value::Int(i as i64));
        i += i128::from(step);
    }
    Ok(list(out))
}

fn f_until(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let count = int_at(name, args, 0)?;
    let step = if count < 0 { -1 } else { 1 };
    until_step(name, 0, count, step)
}

fn f_until_step(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    until_step(
        name,
        int_at(name, args, 0)?,
        int_at(name, args, 1)?,
        int_at(name, args, 2)?,
    )
}

/// Go's `strings.SplitN` (`n < 0`: all parts).
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    if sep.is_empty() {
        let mut out: Vec<String> = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if out.len() + 1 == limit {
                out.push(rest.to_string());
                return out;
            }
            out.push(c.to_string());
            rest = &rest[c.len_utf8()..];
        }
        return out;
    }
    s.splitn(limit, sep).map(str::to_string).collect()
}

fn split_map(parts: Vec<String>) -> Value {
    let map: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (Arc::from(format!("_{i}")), string(p)))
        .collect();
    Value::Map(Arc::new(map))
}

fn f_split(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let sep = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(split_map(go_split(s, sep, -1)))
}

fn f_split_list(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let sep = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(str_list(&go_split(s, sep, -1)))
}

fn f_splitn(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let sep = str_at(name, args, 0)?;
    let n = int_at(name, args, 1)?;
    let s = str_at(name, args, 2)?;
    Ok(split_map(go_split(s, sep, n)))
}

fn f_join(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let sep = str_at(name, args, 0)?;
    Ok(string(str_slice(&args[1]).join(sep)))
}

fn f_to_strings(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(str_list(&str_slice(&args[0])))
}

// ---------------------------------------------------------------------------------------------
// Dicts

fn f_dict(_name: &str, args: &[Value]) -> Res {
    let mut map = Map::new();
    for pair in args.chunks(2) {
        let key: Arc<str> = Arc::from(sprint(&pair[0]));
        map.insert(key, pair.get(1).cloned().unwrap_or_else(|| string("")));
    }
    Ok(Value::Map(Arc::new(map)))
}

fn f_set(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let Some(d) = map_at(name, args, 0)? else {
        return Err(fail(name, "assignment to entry in nil map"));
    };
    let key = str_at(name, args, 1)?;
    let mut out = d.clone();
    out.insert(Arc::from(key), args[2].clone());
    Ok(Value::Map(Arc::new(out)))
}

fn f_unset(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let d = map_at(name, args, 0)?;
    let key = str_at(name, args, 1)?;
    let mut out = d.cloned().unwrap_or_default();
    out.remove(key);
    Ok(Value::Map(Arc::new(out)))
}

fn f_has_key(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let d = map_at(name, args, 0)?;
    let key = str_at(name, args, 1)?;
    Ok(Value::Bool(d.is_some_and(|m| m.contains_key(key))))
}

fn f_keys(name: &str, args: &[Value]) -> Res {
    let mut out = Vec::new();
    for i in 0..args.len() {
        if let Some(m) = map_at(name, args, i)? {
            out.extend(m.keys().map(|k| Value::String(Arc::clone(k))));
        }
    }
    Ok(list(out))
}

fn f_values(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let d = map_at(name, args, 0)?;
    Ok(list(
        d.map(|m| m.values().cloned().collect()).unwrap_or_default(),
    ))
}

fn f_pluck(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    let key = str_at(name, args, 0)?;
    let mut out = Vec::new();
    for i in 1..args.len() {
        if let Some(v) = map_at(name, args, i)?.and_then(|m| m.get(key)) {
            out.push(v.clone());
        }
    }
    Ok(list(out))
}

fn string_args(name: &str, args: &[Value], from: usize) -> gotmpl::Result<Vec<String>> {
    (from..args.len())
        .map(|i| str_at(name, args, i).map(str::to_string))
        .collect()
}

fn f_pick(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    let d = map_at(name, args, 0)?;
    let keys = string_args(name, args, 1)?;
    let out: Map = d
        .map(|m| {
            m.iter()
                .filter(|(k, _)| keys.iter().any(|want| want.as_str() == k.as_ref()))
                .map(|(k, v)| (Arc::clone(k), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Value::Map(Arc::new(out)))
}

fn f_omit(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    let d = map_at(name, args, 0)?;
    let keys = string_args(name, args, 1)?;
    let out: Map = d
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !keys.iter().any(|drop| drop.as_str() == k.as_ref()))
                .map(|(k, v)| (Arc::clone(k), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Value::Map(Arc::new(out)))
}

/// Deep merge as Sprig's `merge` (mergo): a destination value that is missing or empty takes the
/// source value; two dicts merge recursively; with `overwrite` the source wins.
fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    for (k, sv) in src {
        if matches!(sv, Value::Nil) {
            continue;
        }
        match dst.get_mut(k) {
            None => {
                dst.insert(Arc::clone(k), sv.clone());
            }
            Some(dv) => {
                if let (Value::Map(dm), Value::Map(sm)) = (&*dv, sv) {
                    let mut inner = (**dm).clone();
                    merge_into(&mut inner, sm, overwrite);
                    *dv = Value::Map(Arc::new(inner));
                } else if overwrite || is_empty(dv) {
                    *dv = sv.clone();
                }
            }
        }
    }
}

fn merge_impl(name: &str, args: &[Value], overwrite: bool) -> Res {
    arity_min(name, args, 1)?;
    let mut dst = map_at(name, args, 0)?.cloned().unwrap_or_default();
    for i in 1..args.len() {
        if let Some(src) = map_at(name, args, i)? {
            merge_into(&mut dst, src, overwrite);
        }
    }
    Ok(Value::Map(Arc::new(dst)))
}

fn f_merge(name: &str, args: &[Value]) -> Res {
    merge_impl(name, args, false)
}

fn f_merge_overwrite(name: &str, args: &[Value]) -> Res {
    merge_impl(name, args, true)
}

// ---------------------------------------------------------------------------------------------
// Encoding and hashes

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn f_b64enc(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    // acb maps nil to ""; for other non-strings acb encodes `<int Value>` (a bug): taskrun encodes
    // the fmt.Sprint text instead, so `{{ 1867 | b64enc }}` is base64("1867").
    let text = match &args[0] {
        Value::Nil => return Ok(string("")),
        v => sprint(v),
    };
    use base64::Engine as _;
    Ok(string(
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
    ))
}

/// Go's `base64.StdEncoding.DecodeString`, including its error offsets; `\r` and `\n` are
/// ignored and trailing bits are not checked, as in Go.
fn go_b64_decode(s: &str) -> Result<Vec<u8>, usize> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let mut si = 0usize;
    let decode = |c: u8| B64.iter().position(|&x| x == c).map(|p| p as u32);
    let skip_newlines = |mut i: usize| {
        while i < b.len() && (b[i] == b'\n' || b[i] == b'\r') {
            i += 1;
        }
        i
    };
    loop {
        let mut vals = [0u32; 4];
        let mut j = 0usize;
        let mut used = 4usize;
        while j < 4 {
            if si == b.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = b[si];
            si += 1;
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if let Some(v) = decode(c) {
                vals[j] = v;
                j += 1;
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // Padding: the quantum ends here.
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    si = skip_newlines(si);
                    if si == b.len() {
                        return Err(b.len());
                    }
                    if b[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            si = skip_newlines(si);
            if si < b.len() {
                return Err(si);
            }
            used = j;
            break;
        }
        let n = (vals[0] << 18) | (vals[1] << 12) | (vals[2] << 6) | vals[3];
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..used - 1]);
        if used < 4 {
            return Ok(out);
        }
    }
}

fn f_b64dec(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    match go_b64_decode(s) {
        Ok(bytes) => Ok(lossy(&bytes)),
        // Sprig returns the error text as the result.
        Err(at) => Ok(string(format!("illegal base64 data at input byte {at}"))),
    }
}

/// Go's `json.Marshal` / `json.MarshalIndent(v, "", "  ")` (HTML characters escaped, sorted keys).
fn json_encode(v: &Value, pretty: bool, depth: usize, out: &mut String) -> Result<(), String> {
    let newline = |out: &mut String, depth: usize| {
        if pretty {
            out.push('\n');
            for _ in 0..depth {
                out.push_str("  ");
            }
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::String(s) => json_string(s, out),
        Value::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                json_encode(item, pretty, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                json_string(k, out);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                json_encode(item, pretty, depth + 1, out)?;
            }
            newline(out, depth);
            out.push('}');
        }
        other => return Err(format!("json: unsupported type: {}", go_type(other))),
    }
    Ok(())
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's encoding/json float format: `%f` shortest, `%e` below 1e-6 or from 1e21.
fn go_json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!("json: unsupported value: {}", go_float_v(f)));
    }
    if f == 0.0 {
        return Ok(if f.is_sign_negative() { "-0" } else { "0" }.to_string());
    }
    let (digits, dp) = float_digits(f);
    let abs = f.abs();
    let body = if !(1e-6..1e21).contains(&abs) {
        let exp = dp - 1;
        exp_from_digits(&digits, dp, if exp < 0 { 1 } else { 2 })
    } else {
        fixed_from_digits(&digits, dp)
    };
    Ok(if f < 0.0 { format!("-{body}") } else { body })
}

fn to_json(name: &str, args: &[Value], pretty: bool) -> Res {
    arity(name, args, 1)?;
    let mut out = String::new();
    // Sprig ignores the marshalling error and returns "".
    match json_encode(&args[0], pretty, 0, &mut out) {
        Ok(()) => Ok(string(out)),
        Err(_) => Ok(string("")),
    }
}

fn f_to_json(name: &str, args: &[Value]) -> Res {
    to_json(name, args, false)
}

fn f_to_pretty_json(name: &str, args: &[Value]) -> Res {
    to_json(name, args, true)
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn f_sha256sum(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let digest = Sha256::digest(str_at(name, args, 0)?.as_bytes());
    Ok(string(hex(&digest)))
}

/// SHA-1 (FIPS 180-4).
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
        h[4] = h[4].wrapping_add(e);
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn f_sha1sum(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(hex(&sha1(str_at(name, args, 0)?.as_bytes()))))
}

fn f_adler32sum(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in str_at(name, args, 0)?.as_bytes() {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    Ok(string(((b << 16) | a).to_string()))
}

// ---------------------------------------------------------------------------------------------
// Numbers

fn f_add(_name: &str, args: &[Value]) -> Res {
    Ok(Value::Int(
        args.iter().fold(0i64, |acc, v| acc.wrapping_add(to_i64(v))),
    ))
}

fn f_add1(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Int(to_i64(&args[0]).wrapping_add(1)))
}

fn f_sub(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Int(to_i64(&args[0]).wrapping_sub(to_i64(&args[1]))))
}

fn f_mul(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    Ok(Value::Int(
        args[1..]
            .iter()
            .fold(to_i64(&args[0]), |acc, v| acc.wrapping_mul(to_i64(v))),
    ))
}

fn f_div(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let b = to_i64(&args[1]);
    if b == 0 {
        return Err(fail(name, "runtime error: integer divide by zero"));
    }
    Ok(Value::Int(to_i64(&args[0]).wrapping_div(b)))
}

fn f_mod(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let b = to_i64(&args[1]);
    if b == 0 {
        return Err(fail(name, "runtime error: integer divide by zero"));
    }
    Ok(Value::Int(to_i64(&args[0]).wrapping_rem(b)))
}

fn f_max(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    Ok(Value::Int(args.iter().map(to_i64).max().unwrap_or(0)))
}

fn f_min(name: &str, args: &[Value]) -> Res {
    arity_min(name, args, 1)?;
    Ok(Value::Int(args.iter().map(to_i64).min().unwrap_or(0)))
}

fn f_floor(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Float(to_f64(&args[0]).floor()))
}

fn f_ceil(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Float(to_f64(&args[0]).ceil()))
}

fn f_round(name: &str, args: &[Value]) -> Res {
    arity_range(name, args, 2, 3)?;
    let val = to_f64(&args[0]);
    let places = int_at(name, args, 1)?;
    let round_on = if args.len() == 3 {
        float_at(name, args, 2)?
    } else {
        0.5
    };
    let pow = 10f64.powf(places as f64);
    let digit = pow * val;
    let frac = digit.fract();
    let rounded = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(rounded / pow))
}

fn f_int(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Int(to_i64(&args[0])))
}

fn f_float64(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Float(to_f64(&args[0])))
}

fn f_atoi(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    // strconv.Atoi: 0 on a syntax error, the clamped value on overflow.
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let n = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        0
    } else {
        s.parse::<i64>().unwrap_or(if s.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        })
    };
    Ok(Value::Int(n))
}

fn f_to_string(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(sprint(&args[0])))
}

// ---------------------------------------------------------------------------------------------
// Dates

fn now_utc() -> DateTime<Utc> {
    Utc::now()
}

fn time_string(t: &DateTime<Utc>) -> Value {
    string(t.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn from_unix(name: &str, secs: i64) -> gotmpl::Result<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| fail(name, format!("time {secs} is out of range")))
}

/// The `date` argument of `date`/`dateInZone`: a time, Unix seconds, or (as in Sprig, for any other
/// value) the current time.
fn date_arg(name: &str, v: &Value) -> gotmpl::Result<DateTime<Utc>> {
    match v {
        Value::String(s) => Ok(parse_time(s).unwrap_or_else(now_utc)),
        Value::Int(n) => from_unix(name, *n),
        _ => Ok(now_utc()),
    }
}

/// A `time.Time` parameter.
fn time_at(name: &str, args: &[Value], i: usize) -> gotmpl::Result<DateTime<Utc>> {
    match args.get(i) {
        Some(Value::String(s)) => parse_time(s).ok_or_else(|| {
            fail(
                name,
                format!("wrong type for value; expected time.Time; got string {s:?}"),
            )
        }),
        Some(Value::Int(n)) => from_unix(name, *n),
        Some(Value::Nil) | None => Err(fail(name, "invalid value; expected time.Time")),
        Some(v) => Err(fail(
            name,
            format!(
                "wrong type for value; expected time.Time; got {}",
                go_type(v)
            ),
        )),
    }
}

fn f_now(name: &str, args: &[Value]) -> Res {
    arity(name, args, 0)?;
    Ok(time_string(&now_utc()))
}

fn f_date(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let layout = str_at(name, args, 0)?;
    let t = date_arg(name, &args[1])?;
    Ok(string(go_format_time(&t, layout)))
}

fn f_date_in_zone(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let layout = str_at(name, args, 0)?;
    let t = date_arg(name, &args[1])?;
    str_at(name, args, 2)?;
    Ok(string(go_format_time(&t, layout)))
}

fn f_html_date(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let t = date_arg(name, &args[0])?;
    Ok(string(go_format_time(&t, "2006-01-02")))
}

fn f_html_date_in_zone(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let t = date_arg(name, &args[0])?;
    str_at(name, args, 1)?;
    Ok(string(go_format_time(&t, "2006-01-02")))
}

fn f_date_modify(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let modifier = str_at(name, args, 0)?;
    let t = time_at(name, args, 1)?;
    // Sprig returns the date unchanged when the duration does not parse.
    let shifted = parse_go_duration(modifier)
        .and_then(|nanos| i64::try_from(nanos).ok())
        .and_then(|nanos| t.checked_add_signed(chrono::Duration::nanoseconds(nanos)))
        .unwrap_or(t);
    Ok(time_string(&shifted))
}

fn f_unix_epoch(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(time_at(name, args, 0)?.timestamp().to_string()))
}

/// Go's `time.ParseDuration`, in nanoseconds.
fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = if let Some(int_part) = num.strip_suffix('.') {
            int_part.parse().ok()?
        } else if num.starts_with('.') {
            format!("0{num}").parse().ok()?
        } else {
            num.parse().ok()?
        };
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
        if total > 9.3e18 {
            return None;
        }
    }
    let nanos = total as i128;
    Some(if neg { -nanos } else { nanos })
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One element of a Go layout.
enum Chunk {
    Literal(usize),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm(bool),
    Tz,
    /// ISO 8601 (`Z` for UTC) or numeric offset, with its layout text.
    Offset {
        iso: bool,
        text: &'static str,
    },
    /// Fractional seconds: separator, digit count, trim trailing zeros.
    Frac(char, usize, bool),
}

/// Recognises the Go layout element at the start of `s` (and its byte length).
fn layout_chunk(s: &str) -> (Chunk, usize) {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    const OFFSETS: [&str; 5] = ["070000", "07:00:00", "0700", "07:00", "07"];
    match at(0) {
        b'J' if s.starts_with("January") => (Chunk::LongMonth, 7),
        b'J' if s.starts_with("Jan") => (Chunk::Month, 3),
        b'M' if s.starts_with("Monday") => (Chunk::LongWeekDay, 6),
        b'M' if s.starts_with("Mon") => (Chunk::WeekDay, 3),
        b'M' if s.starts_with("MST") => (Chunk::Tz, 3),
        b'0' if (b'1'..=b'6').contains(&at(1)) => {
            let c = match at(1) {
                b'1' => Chunk::ZeroMonth,
                b'2' => Chunk::ZeroDay,
                b'3' => Chunk::ZeroHour12,
                b'4' => Chunk::ZeroMinute,
                b'5' => Chunk::ZeroSecond,
                _ => Chunk::Year,
            };
            (c, 2)
        }
        b'0' if at(1) == b'0' && at(2) == b'2' => (Chunk::ZeroYearDay, 3),
        b'1' if at(1) == b'5' => (Chunk::Hour, 2),
        b'1' => (Chunk::NumMonth, 1),
        b'2' if s.starts_with("2006") => (Chunk::LongYear, 4),
        b'2' => (Chunk::Day, 1),
        b'_' if at(1) == b'2' => {
            if s[1..].starts_with("2006") {
                (Chunk::Literal(1), 1)
            } else {
                (Chunk::UnderDay, 2)
            }
        }
        b'_' if at(1) == b'_' && at(2) == b'2' => (Chunk::UnderYearDay, 3),
        b'3' => (Chunk::Hour12, 1),
        b'4' => (Chunk::Minute, 1),
        b'5' => (Chunk::Second, 1),
        b'P' if at(1) == b'M' => (Chunk::Pm(true), 2),
        b'p' if at(1) == b'm' => (Chunk::Pm(false), 2),
        c @ (b'-' | b'Z') => {
            for text in OFFSETS {
                if s[1..].starts_with(text) {
                    return (
                        Chunk::Offset {
                            iso: c == b'Z',
                            text,
                        },
                        1 + text.len(),
                    );
                }
            }
            (Chunk::Literal(1), 1)
        }
        c @ (b'.' | b',') if at(1) == b'0' || at(1) == b'9' => {
            let digit = at(1);
            let mut j = 1;
            while at(j) == digit {
                j += 1;
            }
            if at(j).is_ascii_digit() {
                (Chunk::Literal(1), 1)
            } else {
                (Chunk::Frac(char::from(c), j - 1, digit == b'9'), j)
            }
        }
        _ => {
            let len = s.chars().next().map_or(1, char::len_utf8);
            (Chunk::Literal(len), len)
        }
    }
}

/// Go's `time.Time.Format` for a UTC time.
fn go_format_time(t: &DateTime<Utc>, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut i = 0;
    let hour = t.hour();
    while i < layout.len() {
        let rest = &layout[i..];
        let (chunk, len) = layout_chunk(rest);
        let len = len.min(rest.len()).max(1);
        match chunk {
            Chunk::Literal(n) => out.push_str(&rest[..n.min(rest.len())]),
            Chunk::LongMonth => out.push_str(MONTHS[t.month0() as usize]),
            Chunk::Month => out.push_str(&MONTHS[t.month0() as usize][..3]),
            Chunk::NumMonth => out.push_str(&t.month().to_string()),
            Chunk::ZeroMonth => out.push_str(&format!("{:02}", t.month())),
            Chunk::LongWeekDay => {
                out.push_str(DAYS[t.weekday().num_days_from_sunday() as usize]);
            }
            Chunk::WeekDay => {
                out.push_str(&DAYS[t.weekday().num_days_from_sunday() as usize][..3]);
            }
            Chunk::Day => out.push_str(&t.day().to_string()),
            Chunk::UnderDay => out.push_str(&format!("{:>2}", t.day())),
            Chunk::ZeroDay => out.push_str(&format!("{:02}", t.day())),
            Chunk::UnderYearDay => out.push_str(&format!("{:>3}", t.ordinal())),
            Chunk::ZeroYearDay => out.push_str(&format!("{:03}", t.ordinal())),
            Chunk::Hour => out.push_str(&format!("{hour:02}")),
            Chunk::Hour12 | Chunk::ZeroHour12 => {
                let h = match hour % 12 {
                    0 => 12,
                    h => h,
                };
                if matches!(chunk, Chunk::ZeroHour12) {
                    out.push_str(&format!("{h:02}"));
                } else {
                    out.push_str(&h.to_string());
                }
            }
            Chunk::Minute => out.push_str(&t.minute().to_string()),
            Chunk::ZeroMinute => out.push_str(&format!("{:02}", t.minute())),
            Chunk::Second => out.push_str(&t.second().to_string()),
            Chunk::ZeroSecond => out.push_str(&format!("{:02}", t.second())),
            Chunk::LongYear => {
                let y = t.year();
                if y < 0 {
                    out.push_str(&format!("-{:04}", -y));
                } else {
                    out.push_str(&format!("{y:04}"));
                }
            }
            Chunk::Year => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            Chunk::Pm(upper) => out.push_str(match (hour >= 12, upper) {
                (true, true) => "PM",
                (true, false) => "pm",
                (false, true) => "AM",
                (false, false) => "am",
            }),
            Chunk::Tz => out.push_str("UTC"),
            Chunk::Offset { iso, text } => {
                if iso {
                    out.push('Z');
                } else {
                    out.push('+');
                    out.push_str(&text.replace('7', "0"));
                }
            }
            Chunk::Frac(sep, digits, trim) => {
                let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
                let mut frac = nanos[..digits.min(9)].to_string();
                for _ in 9..digits {
                    frac.push('0');
                }
                if trim {
                    let trimmed = frac.trim_end_matches('0');
                    if !trimmed.is_empty() {
                        out.push(sep);
                        out.push_str(trimmed);
                    }
                } else {
                    out.push(sep);
                    out.push_str(&frac);
                }
            }
        }
        i += len;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Regular expressions (Go RE2 syntax and semantics on top of the regex crate)

/// Rewrites Go-specific syntax: ASCII-only `\d \w \s \b` (Unicode-aware in the regex crate),
/// `\Q…\E`, and characters that the regex crate treats specially inside classes (`[`, `&`, `~`,
/// `-` pairs).
fn translate_go_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            i += 2;
            match n {
                'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                'D' => out.push_str("[^0-9]"),
                's' => out.push_str(if in_class {
                    "\\t\\n\\x0C\\r "
                } else {
                    "[\\t\\n\\x0C\\r ]"
                }),
                'S' => out.push_str("[^\\t\\n\\x0C\\r ]"),
                'w' => out.push_str(if in_class {
                    "0-9A-Za-z_"
                } else {
                    "[0-9A-Za-z_]"
                }),
                'W' => out.push_str("[^0-9A-Za-z_]"),
                'b' if !in_class => out.push_str("(?-u:\\b)"),
                'B' if !in_class => out.push_str("(?-u:\\B)"),
                'Q' => {
                    let mut lit = String::new();
                    while i < chars.len() {
                        if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        lit.push(chars[i]);
                        i += 1;
                    }
                    if in_class {
                        for ch in lit.chars() {
                            if ch.is_ascii_punctuation() {
                                out.push('\\');
                            }
                            out.push(ch);
                        }
                    } else {
                        out.push_str(&regex::escape(&lit));
                    }
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        if in_class {
            if c == ']' && i > class_start {
                in_class = false;
                out.push(c);
            } else if c == '[' && chars.get(i + 1) == Some(&':') {
                // POSIX class [:alpha:]: copy through the closing ":]".
                let rest: String = chars[i..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    out.push_str(&rest[..end + 2]);
                    i += rest[..end + 2].chars().count();
                    continue;
                }
                out.push_str("\\[");
            } else if matches!(c, '[' | '&' | '~') {
                out.push('\\');
                out.push(c);
            } else if c == '-' && chars.get(i + 1) == Some(&'-') {
                out.push_str("\\-");
            } else {
                out.push(c);
            }
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            out.push('[');
            i += 1;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            // A ']' right after the opening bracket is literal.
            class_start = i + 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn compile(name: &str, pattern: &str) -> gotmpl::Result<Regex> {
    Regex::new(&translate_go_regex(pattern)).map_err(|e| {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or("invalid pattern").trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        fail(
            name,
            format!("regexp: Compile({pattern:?}): error parsing regexp: {last}"),
        )
    })
}

/// Go's `FindAllStringIndex(s, n)`: successive non-overlapping matches; an empty match right
/// after the previous match is skipped.
fn go_find_all(re: &Regex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let limit = if n < 0 {
        usize::MAX
    } else {
        usize::try_from(n).unwrap_or(usize::MAX)
    };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut prev_end: Option<usize> = None;
    while out.len() < limit && pos <= s.len() {
        let Some(m) = re.find_at(s, pos) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos += s[pos..].chars().next().map_or(1, char::len_utf8);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

/// Go's `ReplaceAllString` loop; `repl` appends the replacement of one match.
fn go_replace_all(re: &Regex, src: &str, repl: impl Fn(&Captures<'_>, &mut String)) -> String {
    let mut buf = String::with_capacity(src.len());
    let mut last_end = 0usize;
    let mut search = 0usize;
    while search <= src.len() {
        let Some(caps) = re.captures_at(src, search) else {
            break;
        };
        let Some(m) = caps.get(0) else {
            break;
        };
        buf.push_str(&src[last_end..m.start()]);
        if m.end() > last_end || m.start() == 0 {
            repl(&caps, &mut buf);
        }
        last_end = m.end();
        let width = src[search..].chars().next().map_or(0, char::len_utf8);
        if search + width > m.end() {
            search += width;
        } else if search + 1 > m.end() {
            search += 1;
        } else {
            search = m.end();
        }
    }
    buf.push_str(&src[last_end..]);
    buf
}

fn f_regex_match(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let pattern = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    // Sprig ignores compile errors here: an invalid pattern never matches.
    Ok(Value::Bool(
        compile(name, pattern).is_ok_and(|re| re.is_match(s)),
    ))
}

fn f_regex_find(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    Ok(string(re.find(s).map_or("", |m| m.as_str())))
}

fn f_regex_find_all(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    let n = int_at(name, args, 2)?;
    let found: Vec<&str> = go_find_all(&re, s, n)
        .into_iter()
        .map(|(a, b)| &s[a..b])
        .collect();
    Ok(str_list(&found))
}

fn f_regex_replace_all(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    let repl = str_at(name, args, 2)?;
    Ok(string(go_replace_all(&re, s, |caps, buf| {
        caps.expand(repl, buf);
    })))
}

fn f_regex_replace_all_literal(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    let repl = str_at(name, args, 2)?;
    Ok(string(go_replace_all(&re, s, |_, buf| buf.push_str(repl))))
}

fn f_regex_split(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let pattern = str_at(name, args, 0)?;
    let re = compile(name, pattern)?;
    let s = str_at(name, args, 1)?;
    let n = int_at(name, args, 2)?;
    if n == 0 {
        return Ok(list(Vec::new()));
    }
    if !pattern.is_empty() && s.is_empty() {
        return Ok(str_list(&[""]));
    }
    let mut parts: Vec<&str> = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (a, b) in go_find_all(&re, s, n) {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = a;
        if b != 0 {
            parts.push(&s[beg..end]);
        }
        beg = b;
    }
    if end != s.len() {
        parts.push(&s[beg..]);
    }
    Ok(str_list(&parts))
}

// ---------------------------------------------------------------------------------------------
// Paths (Go's `path` package)

fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn f_base(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let p = str_at(name, args, 0)?;
    if p.is_empty() {
        return Ok(string("."));
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(string("/"));
    }
    Ok(string(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

fn f_dir(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let p = str_at(name, args, 0)?;
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    Ok(string(go_clean(dir)))
}

fn f_clean(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(go_clean(str_at(name, args, 0)?)))
}

fn f_ext(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let p = str_at(name, args, 0)?;
    let last = p.rsplit('/').next().unwrap_or(p);
    Ok(string(last.rfind('.').map_or("", |i| &last[i..])))
}

fn f_is_abs(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Bool(str_at(name, args, 0)?.starts_with('/')))
}

// ---------------------------------------------------------------------------------------------
// Reflection and other

fn f_type_of(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(go_type(&args[0])))
}

fn f_type_is(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(str_at(name, args, 0)? == go_type(&args[1])))
}

fn f_type_is_like(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let target = str_at(name, args, 0)?;
    let t = go_type(&args[1]);
    // Sprig also accepts a pointer to the target type; gotmpl values are never pointers.
    Ok(Value::Bool(
        target == t || t.strip_prefix('*') == Some(target),
    ))
}

fn f_kind_of(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(kind_of(&args[0])))
}

fn f_kind_is(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(str_at(name, args, 0)? == kind_of(&args[1])))
}

fn f_deep_equal(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(args[0] == args[1]))
}

fn f_uuidv4(name: &str, args: &[Value]) -> Res {
    arity(name, args, 0)?;
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(string(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

// ---------------------------------------------------------------------------------------------
// semverCompare (Masterminds/semver v1 constraints, as used by Sprig v2)

#[derive(Debug, Clone)]
struct SemVer {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

fn valid_idents(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// `semver.NewVersion`: `v?MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]`.
fn parse_semver(s: &str) -> Option<SemVer> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (s, meta) = match s.split_once('+') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    if meta.is_some_and(|m| !valid_idents(m)) {
        return None;
    }
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, p),
        None => (s, ""),
    };
    if s.contains('-') && !valid_idents(pre) {
        return None;
    }
    let nums: Vec<&str> = core.split('.').collect();
    if nums.is_empty() || nums.len() > 3 {
        return None;
    }
    let mut parsed = [0u64; 3];
    for (i, n) in nums.iter().enumerate() {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parsed[i] = n.parse().ok()?;
    }
    Some(SemVer {
        major: parsed[0],
        minor: parsed[1],
        patch: parsed[2],
        pre: pre.to_string(),
    })
}

fn cmp_pre_part(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if a == b {
        return Ordering::Equal;
    }
    if a.is_empty() {
        return Ordering::Less;
    }
    if b.is_empty() {
        return Ordering::Greater;
    }
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

fn cmp_semver(a: &SemVer, b: &SemVer) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let core = (a.major, a.minor, a.patch).cmp(&(b.major, b.minor, b.patch));
    if core != Ordering::Equal {
        return core;
    }
    match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let pa: Vec<&str> = a.pre.split('.').collect();
            let pb: Vec<&str> = b.pre.split('.').collect();
            for i in 0..pa.len().max(pb.len()) {
                let d = cmp_pre_part(
                    pa.get(i).copied().unwrap_or(""),
                    pb.get(i).copied().unwrap_or(""),
                );
                if d != Ordering::Equal {
                    return d;
                }
            }
            Ordering::Equal
        }
    }
}

struct SemConstraint {
    op: &'static str,
    con: SemVer,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

const SEMVER_OPS: [&str; 12] = [
    "!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^", "",
];

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// Reads one constraint version (`v?N[.N[.N]][-pre][+meta]`, `N` digits or `x X *`) at the start
/// of `s`; returns (major, ".minor", ".patch", "-pre", byte length).
fn scan_constraint_version(s: &str) -> Option<(&str, &str, &str, &str, usize)> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let part = |mut i: usize| {
        let st = i;
        while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'x' | b'X' | b'*')) {
            i += 1;
        }
        (st, i)
    };
    let (ms, me) = part(i);
    if ms == me {
        return None;
    }
    i = me;
    let mut dotted = [(i, i), (i, i)];
    for slot in &mut dotted {
        if b.get(i) == Some(&b'.') {
            let (s2, e2) = part(i + 1);
            if s2 == e2 {
                break;
            }
            *slot = (i, e2);
            i = e2;
        } else {
            *slot = (i, i);
        }
    }
    let ident_run = |mut i: usize| {
        let st = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'.') {
            i += 1;
        }
        (st, i)
    };
    let mut pre = (i, i);
    if b.get(i) == Some(&b'-') {
        let (_, e) = ident_run(i + 1);
        pre = (i, e);
        i = e;
    }
    if b.get(i) == Some(&b'+') {
        let (_, e) = ident_run(i + 1);
        i = e;
    }
    Some((
        &s[ms..me],
        &s[dotted[0].0..dotted[0].1],
        &s[dotted[1].0..dotted[1].1],
        &s[pre.0..pre.1],
        i,
    ))
}

fn parse_one_constraint(
    op: &'static str,
    cv: (&str, &str, &str, &str),
) -> Result<SemConstraint, String> {
    let (major, minor, patch, pre) = cv;
    let minor_n = minor.strip_prefix('.').unwrap_or(minor);
    let patch_n = patch.strip_prefix('.').unwrap_or(patch);
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(major) {
        dirty = true;
        "0.0.0".to_string()
    } else if minor.is_empty() || is_x(minor_n) {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch_n) {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        format!("{major}{minor}{patch}{pre}")
    };
    let con = parse_semver(&ver).ok_or_else(|| "Invalid Semantic Version".to_string())?;
    Ok(SemConstraint {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// Rewrites hyphen ranges `A - B` into `>= A, <= B`.
fn rewrite_semver_ranges(c: &str) -> String {
    let mut out = String::new();
    let mut rest = c;
    while let Some(idx) = rest.find(" - ") {
        let (left, right) = rest.split_at(idx);
        let right = right[3..].trim_start();
        let lhs_start = left
            .trim_end()
            .char_indices()
            .rev()
            .find(|(_, ch)| ch.is_whitespace() || *ch == ',' || *ch == '|')
            .map_or(0, |(i, ch)| i + ch.len_utf8());
        let lhs = left.trim_end()[lhs_start..].to_string();
        match (
            scan_constraint_version(&lhs),
            scan_constraint_version(right),
        ) {
            (Some(l), Some(r)) if l.4 == lhs.len() => {
                out.push_str(&left[..lhs_start]);
                out.push_str(&format!(">= {lhs}, <= {}", &right[..r.4]));
                rest = &right[r.4..];
            }
            _ => {
                out.push_str(&rest[..idx + 3]);
                rest = &rest[idx + 3..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn parse_semver_constraints(c: &str) -> Result<Vec<Vec<SemConstraint>>, String> {
    let c = rewrite_semver_ranges(c);
    let mut ors = Vec::new();
    for part in c.split("||") {
        let mut ands = Vec::new();
        let mut rest = part.trim_start();
        if rest.trim().is_empty() {
            return Err(format!("improper constraint: {part}"));
        }
        while !rest.trim().is_empty() {
            let op = SEMVER_OPS
                .iter()
                .copied()
                .find(|op| {
                    rest.strip_prefix(op)
                        .is_some_and(|after| scan_constraint_version(after.trim_start()).is_some())
                })
                .ok_or_else(|| format!("improper constraint: {part}"))?;
            let after = rest[op.len()..].trim_start();
            let (major, minor, patch, pre, len) = scan_constraint_version(after)
                .ok_or_else(|| format!("improper constraint: {part}"))?;
            ands.push(parse_one_constraint(op, (major, minor, patch, pre))?);
            rest = after[len..].trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
            }
        }
        ors.push(ands);
    }
    Ok(ors)
}

fn check_semver(c: &SemConstraint, v: &SemVer) -> bool {
    use std::cmp::Ordering;
    let con = &c.con;
    // A prerelease version only satisfies constraints that mention a prerelease (except a plain
    // `!=`, which compares exactly).
    let exact_not_equal = c.op == "!=" && !c.dirty;
    if !v.pre.is_empty() && con.pre.is_empty() && !exact_not_equal {
        return false;
    }
    let tilde = || {
        if cmp_semver(v, con) == Ordering::Less {
            return false;
        }
        if con.major == 0 && con.minor == 0 && con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
            return true;
        }
        v.major == con.major && (v.minor == con.minor || c.minor_dirty)
    };
    let dirty_upper = || !(v.major > con.major || (v.minor > con.minor && !c.minor_dirty));
    match c.op {
        "" | "=" => {
            if c.dirty {
                tilde()
            } else {
                cmp_semver(v, con) == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                if con.major != v.major {
                    return true;
                }
                con.minor != v.minor && !c.minor_dirty
            } else {
                cmp_semver(v, con) != Ordering::Equal
            }
        }
        ">" => cmp_semver(v, con) == Ordering::Greater,
        ">=" | "=>" => cmp_semver(v, con) != Ordering::Less,
        "<" => {
            if c.dirty {
                dirty_upper()
            } else {
                cmp_semver(v, con) == Ordering::Less
            }
        }
        "<=" | "=<" => {
            if c.dirty {
                dirty_upper()
            } else {
                cmp_semver(v, con) != Ordering::Greater
            }
        }
        "~" | "~>" => tilde(),
        "^" => cmp_semver(v, con) != Ordering::Less && v.major == con.major,
        _ => false,
    }
}

fn f_semver_compare(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let constraint = str_at(name, args, 0)?;
    let version = str_at(name, args, 1)?;
    let ors = parse_semver_constraints(constraint).map_err(|e| fail(name, e))?;
    let v = parse_semver(version).ok_or_else(|| fail(name, "Invalid Semantic Version"))?;
    Ok(Value::Bool(
        ors.iter()
            .any(|ands| ands.iter().all(|c| check_semver(c, &v))),
    ))
}

// ---------------------------------------------------------------------------------------------
// Environment (opt-in)

fn f_env(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let key = str_at(name, args, 0)?;
    Ok(string(std::env::var(key).unwrap_or_default()))
}

fn is_shell_special(b: u8) -> bool {
    matches!(b, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || b.is_ascii_digit()
}

/// Go's `os.Expand` variable-name scan: the name and the bytes consumed after `$`.
fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    match b.first() {
        Some(b'{') => {
            if b.len() > 2 && is_shell_special(b[1]) && b[2] == b'}' {
                return (&s[1..2], 3);
            }
            match s[1..].find('}') {
                Some(0) => ("", 2),
                Some(i) => (&s[1..=i], i + 2),
                None => ("", 1),
            }
        }
        Some(&c) if is_shell_special(c) => (&s[0..1], 1),
        _ => {
            let n = b
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            (&s[..n], n)
        }
    }
}

/// Go's `os.Expand(s, lookup)`.
fn go_expand(s: &str, lookup: impl Fn(&str) -> String) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0usize;
    let mut j = 0usize;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.push_str(&s[i..j]);
            let (name, w) = shell_name(&s[j + 1..]);
            if name.is_empty() && w > 0 {
                // Invalid syntax: the characters are dropped.
            } else if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&lookup(name));
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    out.push_str(&s[i.min(s.len())..]);
    out
}

fn f_expandenv(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    Ok(string(go_expand(s, |k| {
        std::env::var(k).unwrap_or_default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotmpl::{Template, tmap};

    fn render_with(src: &str, data: &Value) -> Result<String, String> {
        Template::new("t")
            .funcs(funcs())
            .parse(src)
            .and_then(|t| t.execute_to_string(data))
            .map_err(|e| e.to_string())
    }

    /// Renders `src` with `data`, failing the test on an error.
    fn rd(src: &str, data: &Value) -> String {
        match render_with(src, data) {
            Ok(out) => out,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn r(src: &str) -> String {
        rd(src, &tmap! {})
    }

    /// Renders `src`, expecting an error; returns its message.
    fn err(src: &str) -> String {
        match render_with(src, &tmap! {}) {
            Ok(out) => panic!("{src}: expected an error, got {out:?}"),
            Err(e) => e,
        }
    }

    fn assert_err(src: &str, parts: &[&str]) {
        let e = err(src);
        for p in parts {
            assert!(e.contains(p), "{src}: error {e:?} lacks {p:?}");
        }
    }

    // --- registry -----------------------------------------------------------------------------

    #[test]
    fn names_match_funcs() {
        let map = funcs();
        assert_eq!(
            map.len(),
            NAMES.len(),
            "duplicate or unknown names in NAMES"
        );
        for name in NAMES {
            assert!(map.contains_key(*name), "{name} not registered");
        }
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
    fn env_funcs_read_the_environment() {
        let path = std::env::var("PATH").unwrap_or_default();
        let out = Template::new("t")
            .funcs(funcs())
            .funcs(env_funcs())
            .parse(
                "{{ env \"PATH\" }}|{{ expandenv \"$PATH-${PATH}\" }}|\
                 {{ env \"TASKRUN_SPRIG_TEST_UNSET\" }}|\
                 {{ expandenv \"a $ b ${} c $TASKRUN_SPRIG_TEST_UNSET.d $\" }}",
            )
            .and_then(|t| t.execute_to_string(&tmap! {}));
        assert_eq!(
            out.map_err(|e| e.to_string()),
            Ok(format!("{path}|{path}-{path}||a $ b  c .d $"))
        );
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

    // --- strings ------------------------------------------------------------------------------

    #[test]
    fn hello() {
        assert_eq!(r("{{ hello }}"), "Hello!");
    }

    #[test]
    fn upper_lower() {
        assert_eq!(r("{{ \"héllo\" | upper }}"), "HÉLLO");
        assert_eq!(r("{{ upper \"straße\" }}"), "STRAßE");
        assert_eq!(r("{{ \"HÉLLO\" | lower }}"), "héllo");
    }

    #[test]
    fn title_untitle() {
        assert_eq!(
            r("{{ title \"hello world-foo o'neil snake_case\" }}"),
            "Hello World-Foo O'Neil Snake_case"
        );
        assert_eq!(r("{{ \"Hello World\" | untitle }}"), "hello world");
    }

    #[test]
    fn trims() {
        assert_eq!(r("[{{ trim \"  a b \\n\" }}]"), "[a b]");
        assert_eq!(r("{{ trimAll \"$\" \"$5.00$\" }}"), "5.00");
        assert_eq!(r("{{ \"$$5$\" | trimAll \"$\" }}"), "5");
        assert_eq!(r("{{ \"xxaxx\" | trimall \"x\" }}"), "a");
        assert_eq!(r("{{ \"foo-bar\" | trimPrefix \"foo-\" }}"), "bar");
        assert_eq!(r("{{ trimPrefix \"x\" \"foo\" }}"), "foo");
        assert_eq!(r("{{ \"hello-\" | trimSuffix \"-\" }}"), "hello");
    }

    #[test]
    fn replace() {
        assert_eq!(
            r("{{ \"I Am Henry VIII\" | replace \" \" \"-\" }}"),
            "I-Am-Henry-VIII"
        );
        assert_eq!(r("{{ replace \"\" \"-\" \"ab\" }}"), "-a-b-");
    }

    #[test]
    fn contains_has_prefix_suffix() {
        assert_eq!(r("{{ \"catch\" | contains \"cat\" }}"), "true");
        assert_eq!(r("{{ contains \"dog\" \"catch\" }}"), "false");
        assert_eq!(r("{{ if hasPrefix \"ca\" \"catch\" }}y{{ end }}"), "y");
        assert_eq!(r("{{ \"catch\" | hasSuffix \"ch\" }}"), "true");
        assert_eq!(r("{{ \"catch\" | hasSuffix \"ca\" }}"), "false");
    }

    #[test]
    fn quote_squote() {
        assert_eq!(
            r(r#"{{ quote "a\"b" 1 .missing "tab	é\x01" }}"#),
            r#""a\"b" "1" "tab\té\x01""#
        );
        assert_eq!(r("[{{ .missing | quote }}]"), "[]");
        assert_eq!(r("{{ 1.5 | quote }}"), "\"1.5\"");
        assert_eq!(r("{{ squote \"a\" 2 (list 1 2) }}"), "'a' '2' '[1 2]'");
        assert_eq!(r("{{ \"\\u200b\" | quote }}"), "\"\\u200b\"");
    }

    #[test]
    fn cat() {
        assert_eq!(
            r("{{ cat \"hello\" \"beautiful\" \"world\" }}"),
            "hello beautiful world"
        );
        assert_eq!(r("{{ cat \"a\" .missing 1 (list 1 2) }}"), "a 1 [1 2]");
    }

    #[test]
    fn indent_nindent() {
        assert_eq!(r("{{ \"a\\nb\" | indent 2 }}"), "  a\n  b");
        assert_eq!(r("[{{ indent 3 \"\" }}]"), "[   ]");
        assert_eq!(
            r("x:{{ \"a: 1\\nb: 2\" | nindent 4 }}"),
            "x:\n    a: 1\n    b: 2"
        );
        assert_eq!(r("{{ nindent 0 \"a\" }}"), "\na");
        assert_err(
            "{{ indent -1 \"a\" }}",
            &["error calling indent", "negative"],
        );
    }

    #[test]
    fn substr() {
        assert_eq!(r("{{ substr 0 5 \"hello world\" }}"), "hello");
        assert_eq!(r("{{ \"hello world\" | substr 6 -1 }}"), "world");
        assert_eq!(r("{{ substr -1 5 \"hello world\" }}"), "hello");
        assert_eq!(r("{{ substr 3 100 \"hello\" }}"), "lo");
        assert_err(
            "{{ substr 4 2 \"hello\" }}",
            &["error calling substr", "out of range"],
        );
        assert_err("{{ substr 10 -1 \"abc\" }}", &["error calling substr"]);
    }

    #[test]
    fn trunc() {
        assert_eq!(r("{{ trunc 5 \"hello world\" }}"), "hello");
        assert_eq!(r("{{ \"hi\" | trunc 20 }}"), "hi");
        assert_err("{{ trunc -1 \"hi\" }}", &["error calling trunc"]);
    }

    #[test]
    fn repeat() {
        assert_eq!(r("{{ repeat 3 \"ab\" }}"), "ababab");
        assert_eq!(r("{{ \"x\" | repeat 2 }}"), "xx");
        assert_err("{{ repeat -1 \"x\" }}", &["error calling repeat"]);
        assert_err("{{ repeat 9223372036854775807 \"x\" }}", &["too large"]);
    }

    /// Every function's result is held to the size limits, also for functions that do not check
    /// them themselves: doubling a string with `cat` or `join` in a loop stops at 64 MiB.
    #[test]
    fn results_of_every_function_are_size_limited() {
        assert_err(
            "{{ $s := \"xxxxxxxxxxxxxxxx\" }}{{ range until 40 }}{{ $s = cat $s $s }}{{ end }}",
            &["error calling cat", "too large"],
        );
        assert_err(
            "{{ $s := \"xxxxxxxxxxxxxxxx\" }}{{ range until 40 }}{{ $s = list $s $s | join $s }}{{ end }}",
            &["error calling join", "too large"],
        );
    }

    #[test]
    fn nospace_abbrev_initials_plural() {
        assert_eq!(r("{{ nospace \"hello w o r\\tld\" }}"), "helloworld");
        assert_eq!(r("{{ abbrev 5 \"hello world\" }}"), "he...");
        assert_eq!(r("{{ \"hello\" | abbrev 3 }}"), "hello");
        assert_eq!(r("{{ abbrev 20 \"hello\" }}"), "hello");
        assert_eq!(r("{{ initials \"First Try\" }}"), "FT");
        assert_eq!(
            r("{{ len \"foo\" | plural \"one anchovy\" \"many anchovies\" }}"),
            "many anchovies"
        );
        assert_eq!(r("{{ plural \"one\" \"many\" 1 }}"), "one");
    }

    #[test]
    fn case_conversions() {
        assert_eq!(r("{{ snakecase \"FirstName\" }}"), "first_name");
        assert_eq!(r("{{ snakecase \"HTTPServer\" }}"), "http_server");
        assert_eq!(r("{{ snakecase \"NoHTTPS\" }}"), "no_https");
        assert_eq!(r("{{ snakecase \"GO PATH\" }}"), "go_path");
        assert_eq!(r("{{ snakecase \"http2xx\" }}"), "http_2xx");
        assert_eq!(r("{{ kebabcase \"FirstName\" }}"), "first-name");
        assert_eq!(r("{{ camelcase \"http_server\" }}"), "HttpServer");
        assert_eq!(r("{{ camelcase \"hello world\" }}"), "HelloWorld");
        assert_eq!(r("{{ camelcase \"_complex__case_\" }}"), "_Complex_Case_");
        assert_eq!(r("{{ swapcase \"This Is A.Test\" }}"), "tHIS iS a.tEST");
    }

    #[test]
    fn shuffle_keeps_the_characters() {
        let out = r("{{ shuffle \"hello world\" }}");
        let mut got: Vec<char> = out.chars().collect();
        let mut want: Vec<char> = "hello world".chars().collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn wrap_and_wrap_with() {
        assert_eq!(r("{{ wrap 5 \"Hello World\" }}"), "Hello\nWorld");
        assert_eq!(r("{{ wrap 3 \"abcdefgh ij\" }}"), "abcdefgh\nij");
        assert_eq!(
            r("{{ wrapWith 5 \"\\t\" \"Hello World\" }}"),
            "Hello\tWorld"
        );
        assert_eq!(r("{{ wrapWith 3 \"|\" \"abcdefg\" }}"), "abc|def|g");
    }

    #[test]
    fn random_strings() {
        let check = |src: &str, len: usize, ok: fn(&u8) -> bool| {
            let out = r(src);
            assert_eq!(out.len(), len, "{src}: {out:?}");
            assert!(out.as_bytes().iter().all(ok), "{src}: {out:?}");
        };
        check("{{ randAlphaNum 32 }}", 32, u8::is_ascii_alphanumeric);
        check("{{ randAlpha 8 }}", 8, u8::is_ascii_alphabetic);
        check("{{ randNumeric 8 }}", 8, u8::is_ascii_digit);
        check("{{ randAscii 40 }}", 40, |b| (32..=126).contains(b));
        check("{{ randAlpha -1 }}", 0, |_| false);
        assert_ne!(r("{{ randAlphaNum 16 }}"), r("{{ randAlphaNum 16 }}"));
    }

    // --- defaults and flow control ------------------------------------------------------------

    #[test]
    fn default_on_empty_values() {
        let data = tmap! {
            "empty" => "",
            "zero" => 0i64,
            "fzero" => 0.0f64,
            "no" => false,
            "list" => Vec::<i64>::new(),
            "map" => tmap! {},
            "nil" => Value::Nil,
            "v" => "val",
            "n" => 5i64,
        };
        for key in [
            "empty", "zero", "fzero", "no", "list", "map", "nil", "missing",
        ] {
            assert_eq!(
                rd(&format!("{{{{ .{key} | default \"d\" }}}}"), &data),
                "d",
                "{key}"
            );
        }
        assert_eq!(rd("{{ .v | default \"d\" }}", &data), "val");
        assert_eq!(rd("{{ default \"d\" .n }}", &data), "5");
        assert_eq!(r("{{ default \"d\" }}"), "d");
        assert_eq!(r("{{ default 42 \"\" }}"), "42");
    }

    #[test]
    fn empty() {
        assert_eq!(
            r(
                "{{ empty \"\" }} {{ empty 0 }} {{ empty .missing }} {{ empty (list) }} {{ empty (dict) }} {{ empty false }}"
            ),
            "true true true true true true"
        );
        assert_eq!(
            r("{{ empty 1 }} {{ empty \"a\" }} {{ empty (list 0) }}"),
            "false false false"
        );
    }

    #[test]
    fn coalesce() {
        assert_eq!(r("{{ coalesce 0 \"\" \"x\" \"y\" }}"), "x");
        assert_eq!(r("{{ coalesce .missing 0 \"\" | typeOf }}"), "<nil>");
    }

    #[test]
    fn ternary() {
        assert_eq!(r("{{ ternary \"yes\" \"no\" true }}"), "yes");
        assert_eq!(r("{{ false | ternary \"yes\" \"no\" }}"), "no");
        assert_err(
            "{{ ternary \"a\" \"b\" 1 }}",
            &["error calling ternary", "expected bool"],
        );
    }

    #[test]
    fn fail_errors() {
        assert_err("{{ fail \"boom\" }}", &["error calling fail: boom"]);
        assert_eq!(r("{{ if false }}{{ fail \"no\" }}{{ end }}ok"), "ok");
    }

    #[test]
    fn compact_and_deep_copy() {
        assert_eq!(
            r("{{ compact (list 1 \"\" 0 \"a\" .missing false) }}"),
            "[1 a]"
        );
        assert_err(
            "{{ compact \"x\" }}",
            &["error calling compact", "Cannot compact on type string"],
        );
        assert_eq!(r("{{ deepCopy (dict \"a\" 1) }}"), "map[a:1]");
    }

    // --- lists --------------------------------------------------------------------------------

    #[test]
    fn list_and_tuple() {
        assert_eq!(r("{{ list 1 \"a\" 2.5 true }}"), "[1 a 2.5 true]");
        assert_eq!(r("{{ tuple 1 2 | len }}"), "2");
    }

    #[test]
    fn first_last_rest_initial() {
        assert_eq!(r("{{ list 1 2 3 | first }}"), "1");
        assert_eq!(r("{{ list 1 2 3 | last }}"), "3");
        assert_eq!(r("{{ list 1 2 3 | rest }}"), "[2 3]");
        assert_eq!(r("{{ list 1 2 3 | initial }}"), "[1 2]");
        assert_eq!(r("{{ first (list) | typeOf }}"), "<nil>");
        assert_eq!(r("{{ rest (list) | typeOf }}"), "<nil>");
        assert_err(
            "{{ first \"abc\" }}",
            &["error calling first", "Cannot find first on type string"],
        );
        assert_err("{{ last 1 }}", &["error calling last"]);
    }

    #[test]
    fn append_prepend_concat() {
        assert_eq!(r("{{ append (list 1 2) 3 }}"), "[1 2 3]");
        assert_eq!(r("{{ push (list) \"a\" }}"), "[a]");
        assert_eq!(r("{{ prepend (list 1 2) 0 }}"), "[0 1 2]");
        assert_eq!(r("{{ concat (list 1 2) (list 3) (list) }}"), "[1 2 3]");
        assert_err(
            "{{ concat (list 1) 2 }}",
            &["error calling concat", "Cannot concat type int as list"],
        );
        assert_err("{{ list 1 | append 2 }}", &["error calling append"]);
    }

    #[test]
    fn uniq_without_has_reverse() {
        assert_eq!(r("{{ list 1 1 2 \"1\" 2 | uniq }}"), "[1 2 1]");
        assert_eq!(r("{{ without (list 1 2 3 2) 2 }}"), "[1 3]");
        assert_eq!(r("{{ without (list 1 2 3) 1 3 }}"), "[2]");
        assert_eq!(r("{{ has 4 (list 1 2 3 4) }}"), "true");
        assert_eq!(r("{{ list 1 2 | has 3 }}"), "false");
        assert_eq!(r("{{ has 1 .missing }}"), "false");
        assert_err("{{ has 1 \"x\" }}", &["error calling has"]);
        assert_eq!(r("{{ list 1 2 3 | reverse }}"), "[3 2 1]");
    }

    #[test]
    fn sort_alpha() {
        assert_eq!(
            r("{{ list \"b\" \"a\" \"C\" 10 2 | sortAlpha }}"),
            "[10 2 C a b]"
        );
        assert_eq!(r("{{ sortAlpha \"x\" }}"), "[x]");
    }

    #[test]
    fn slice_is_sprigs() {
        assert_eq!(r("{{ slice (list 1 2 3 4) 1 3 }}"), "[2 3]");
        assert_eq!(r("{{ slice (list 1 2 3) 1 }}"), "[2 3]");
        assert_eq!(r("{{ slice (list 1 2 3) }}"), "[1 2 3]");
        assert_err("{{ slice (list 1 2 3) 2 9 }}", &["error calling slice"]);
        assert_err(
            "{{ slice \"abc\" 1 }}",
            &["error calling slice", "slice or array"],
        );
    }

    #[test]
    fn until_and_until_step() {
        assert_eq!(r("{{ until 3 }}"), "[0 1 2]");
        assert_eq!(r("{{ until -2 }}"), "[0 -1]");
        assert_eq!(r("{{ range $i := until 2 }}<{{ $i }}>{{ end }}"), "<0><1>");
        assert_eq!(r("{{ untilStep 0 10 3 }}"), "[0 3 6 9]");
        assert_eq!(r("{{ untilStep 5 0 -2 }}"), "[5 3 1]");
        assert_eq!(r("{{ untilStep 0 5 0 }}"), "[]");
        assert_eq!(r("{{ untilStep 0 5 -1 }}"), "[]");
        assert_err("{{ until 9223372036854775807 }}", &["too large"]);
    }

    #[test]
    fn split_returns_a_map() {
        assert_eq!(
            r("{{ $a := split \"$\" \"foo$bar$baz\" }}{{ $a._0 }}-{{ $a._2 }}"),
            "foo-baz"
        );
        assert_eq!(r("{{ (split \"/\" \"a/b\")._1 }}"), "b");
        assert_eq!(r("{{ \"a/b\" | split \"/\" }}"), "map[_0:a _1:b]");
        assert_eq!(r("{{ (splitn \"$\" 2 \"foo$bar$baz\")._1 }}"), "bar$baz");
        assert_eq!(r("{{ splitn \"$\" 0 \"a$b\" }}"), "map[]");
    }

    #[test]
    fn split_list_and_join() {
        assert_eq!(r("{{ splitList \",\" \"a,b,,c\" }}"), "[a b  c]");
        assert_eq!(r("{{ splitList \"\" \"abc\" }}"), "[a b c]");
        assert_eq!(r("{{ splitList \",\" \"\" | len }}"), "1");
        assert_eq!(r("{{ \"a b\" | splitList \" \" | join \"+\" }}"), "a+b");
        assert_eq!(r("{{ list \"a\" \"b\" 1 .missing | join \"-\" }}"), "a-b-1");
        assert_eq!(r("{{ join \",\" \"x\" }}"), "x");
        assert_eq!(r("[{{ join \",\" .missing }}]"), "[]");
    }

    #[test]
    fn to_strings() {
        assert_eq!(r("{{ toStrings (list 1 2.5 true) }}"), "[1 2.5 true]");
        assert_eq!(r("{{ index (toStrings (list 1)) 0 | kindOf }}"), "string");
    }

    // --- dicts --------------------------------------------------------------------------------

    #[test]
    fn dict_and_access() {
        assert_eq!(
            r("{{ $d := dict \"name1\" \"value1\" \"name2\" 2 }}{{ $d.name2 }}"),
            "2"
        );
        assert_eq!(r("{{ dict \"a\" }}"), "map[a:]");
        assert_eq!(r("{{ dict 1 2 }}"), "map[1:2]");
    }

    #[test]
    fn set_unset_has_key() {
        assert_eq!(
            r("{{ $d := dict \"a\" 1 }}{{ $d = set $d \"b\" 2 }}{{ $d }}"),
            "map[a:1 b:2]"
        );
        assert_eq!(r("{{ set (dict) \"k\" \"v\" }}"), "map[k:v]");
        assert_err("{{ set .missing \"k\" \"v\" }}", &["error calling set"]);
        assert_eq!(r("{{ unset (dict \"a\" 1 \"b\" 2) \"a\" }}"), "map[b:2]");
        assert_eq!(
            r(
                "{{ hasKey (dict \"a\" 1) \"a\" }} {{ hasKey (dict) \"a\" }} {{ hasKey .missing \"a\" }}"
            ),
            "true false false"
        );
        assert_err(
            "{{ hasKey (list) \"a\" }}",
            &["error calling hasKey", "expected map"],
        );
    }

    #[test]
    fn keys_values_pluck_pick_omit() {
        assert_eq!(r("{{ keys (dict \"b\" 1 \"a\" 2) }}"), "[a b]");
        assert_eq!(r("{{ keys (dict \"a\" 1) (dict \"b\" 2) }}"), "[a b]");
        assert_eq!(r("{{ values (dict \"b\" 1 \"a\" 2) }}"), "[2 1]");
        assert_eq!(
            r("{{ pluck \"name\" (dict \"name\" \"x\") (dict \"o\" 1) (dict \"name\" \"y\") }}"),
            "[x y]"
        );
        assert_eq!(
            r("{{ pick (dict \"a\" 1 \"b\" 2 \"c\" 3) \"a\" \"c\" }}"),
            "map[a:1 c:3]"
        );
        assert_eq!(
            r("{{ omit (dict \"a\" 1 \"b\" 2 \"c\" 3) \"a\" \"c\" }}"),
            "map[b:2]"
        );
    }

    #[test]
    fn merge_and_merge_overwrite() {
        assert_eq!(
            r(
                "{{ merge (dict \"a\" 1 \"n\" (dict \"x\" 1) \"e\" \"\") (dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 9 \"y\" 2) \"e\" \"filled\") | toJson }}"
            ),
            r#"{"a":1,"b":3,"e":"filled","n":{"x":1,"y":2}}"#
        );
        assert_eq!(
            r(
                "{{ mergeOverwrite (dict \"default\" \"default\" \"overwrite\" \"me\" \"key\" true) (dict \"overwrite\" \"overwritten\" \"key\" false) | toJson }}"
            ),
            r#"{"default":"default","key":false,"overwrite":"overwritten"}"#
        );
        assert_eq!(
            r("{{ merge (dict \"a\" 1) (dict \"a\" .missing \"b\" 2) }}"),
            "map[a:1 b:2]"
        );
    }

    // --- encoding and hashes ------------------------------------------------------------------

    #[test]
    fn b64enc_encodes_sprint_text() {
        assert_eq!(r("{{ \"hello\" | b64enc }}"), "aGVsbG8=");
        // acb encodes `<int Value>` here; taskrun encodes the number's text.
        assert_eq!(r("{{ 1867 | b64enc }}"), "MTg2Nw==");
        assert_eq!(r("{{ true | b64enc }}"), "dHJ1ZQ==");
        assert_eq!(r("[{{ .missing | b64enc }}]"), "[]");
    }

    #[test]
    fn b64dec() {
        assert_eq!(r("{{ \"aGVsbG8=\" | b64dec }}"), "hello");
        assert_eq!(r("{{ \"aGVs\\nbG8=\" | b64dec }}"), "hello");
        assert_eq!(r("{{ \"aGk=\" | b64dec }}"), "hi");
        assert_eq!(
            r("{{ \"a\" | b64dec }}"),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            r("{{ \"aGVsbG8\" | b64dec }}"),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            r("{{ \"ab!d\" | b64dec }}"),
            "illegal base64 data at input byte 2"
        );
        assert_eq!(
            r("{{ \"aGk=x\" | b64dec }}"),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(r("{{ b64enc \"round trip ✓\" | b64dec }}"), "round trip ✓");
    }

    #[test]
    fn to_json() {
        let data = tmap! {
            "m" => tmap! { "b" => 1i64, "a" => vec!["x", "y"], "c" => tmap! { "d" => Value::Nil } },
            "s" => "<&> \"q\"\n",
        };
        assert_eq!(
            rd("{{ toJson .m }}", &data),
            r#"{"a":["x","y"],"b":1,"c":{"d":null}}"#
        );
        assert_eq!(
            rd("{{ .s | toJson }}", &data),
            r#""\u003c\u0026\u003e \"q\"\n""#
        );
        assert_eq!(r("{{ toJson .missing }}"), "null");
        assert_eq!(
            r("{{ toJson 1.5 }} {{ toJson 1e21 }} {{ toJson 0.0000001 }} {{ toJson 100000000.0 }}"),
            "1.5 1e+21 1e-7 100000000"
        );
        assert_eq!(r("{{ toJson (list) }}{{ toJson (dict) }}"), "[]{}");
    }

    #[test]
    fn to_pretty_json() {
        assert_eq!(
            r("{{ toPrettyJson (dict \"a\" (list 1 2) \"b\" (dict) \"c\" \"x\") }}"),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": \"x\"\n}"
        );
    }

    #[test]
    fn hashes() {
        assert_eq!(
            r("{{ sha256sum \"abc\" }}"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            r("{{ \"abc\" | sha1sum }}"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            r("{{ sha1sum \"\" }}"),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        let long = "a".repeat(1000);
        assert_eq!(
            rd("{{ sha1sum .s }}", &tmap! { "s" => long }),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
        assert_eq!(r("{{ adler32sum \"Wikipedia\" }}"), "300286872");
    }

    // --- numbers ------------------------------------------------------------------------------

    #[test]
    fn arithmetic() {
        assert_eq!(r("{{ add 1 2 3 }}"), "6");
        assert_eq!(r("{{ add \"5\" 1.9 true }}"), "7");
        assert_eq!(r("{{ add }}"), "0");
        assert_eq!(r("{{ 3 | add 1 }}"), "4");
        assert_eq!(r("{{ add1 \"41\" }}"), "42");
        assert_eq!(r("{{ sub 10 3 }} {{ 3 | sub 10 }}"), "7 7");
        assert_eq!(r("{{ mul 2 3 4 }} {{ mul 5 }}"), "24 5");
        assert_eq!(r("{{ div 7 2 }} {{ div -7 2 }} {{ 2 | div 7 }}"), "3 -3 3");
        assert_eq!(r("{{ mod 7 3 }} {{ mod -7 3 }}"), "1 -1");
        assert_err("{{ div 1 0 }}", &["error calling div", "divide by zero"]);
        assert_err("{{ mod 1 \"x\" }}", &["error calling mod"]);
        assert_eq!(
            r("{{ max 1 5 \"9\" 2 }} {{ biggest 1 2 }} {{ min 3 -1 2 }}"),
            "9 2 -1"
        );
        assert_eq!(r("{{ add \"abc\" \"1.5\" }}"), "0");
    }

    #[test]
    fn float_functions() {
        assert_eq!(r("{{ floor 1.7 }} {{ ceil \"1.2\" }}"), "1 2");
        assert_eq!(
            r("{{ round 123.5555 3 }} {{ round 2.5 0 }} {{ round 2.4 0 }}"),
            "123.556 3 2"
        );
        assert_eq!(
            r("{{ float64 \"1.5\" }} {{ float64 3 | typeOf }}"),
            "1.5 float64"
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(
            r("{{ int \"42\" }} {{ int 3.9 }} {{ int \"abc\" }} {{ int64 true }}"),
            "42 3 0 1"
        );
        assert_eq!(
            r("{{ atoi \"42\" }} {{ atoi \"x\" }} {{ atoi \"-7\" }}"),
            "42 0 -7"
        );
        assert_eq!(
            r("{{ atoi \"99999999999999999999\" }}"),
            "9223372036854775807"
        );
        assert_err("{{ atoi 42 }}", &["error calling atoi", "expected string"]);
    }

    #[test]
    fn to_string_follows_fmt_sprint() {
        assert_eq!(r("{{ toString 1.5 }}"), "1.5");
        assert_eq!(r("{{ toString (list 1 \"a\" .missing) }}"), "[1 a <nil>]");
        assert_eq!(
            r("{{ toString (dict \"a\" 1 \"b\" (list 2)) }}"),
            "map[a:1 b:[2]]"
        );
        assert_eq!(r("{{ toString .missing }}"), "<nil>");
        assert_eq!(
            r(
                "{{ toString 1000000.0 }} {{ toString 123456.0 }} {{ toString 0.00001 }} {{ toString 0.0001 }} {{ toString 1.5e-7 }} {{ toString 12345678.0 }}"
            ),
            "1e+06 123456 1e-05 0.0001 1.5e-07 1.2345678e+07"
        );
        assert_eq!(r("{{ toString true }} {{ toString 42 }}"), "true 42");
    }

    // --- dates --------------------------------------------------------------------------------

    #[test]
    fn now_is_an_rfc3339_nano_string() {
        let out = r("{{ now }}");
        let re =
            Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$").map_err(|e| e.to_string());
        assert!(re.is_ok_and(|re| re.is_match(&out)), "{out}");
    }

    #[test]
    fn now_piped_to_date_is_the_year() {
        let out = r("{{ now | date \"2006\" }}");
        assert_eq!(out, Utc::now().year().to_string());
    }

    #[test]
    fn date_layouts() {
        assert_eq!(r("{{ date \"20060102\" 0 }}"), "19700101");
        assert_eq!(
            r("{{ 1700000000 | date \"20060102-150405\" }}"),
            "20231114-221320"
        );
        assert_eq!(
            r("{{ date \"2006-01-02T15:04:05Z07:00\" \"2024-03-05T07:08:09.123+02:00\" }}"),
            "2024-03-05T05:08:09Z"
        );
        assert_eq!(
            r("{{ date \"Mon Jan _2 3:04:05.000 PM MST 2006\" \"2024-03-05T17:08:09.123456Z\" }}"),
            "Tue Mar  5 5:08:09.123 PM UTC 2024"
        );
        assert_eq!(
            r(
                "{{ date \"Monday January 02 06 002 __2 -07:00 -0700 Z0700 pm\" \"2024-03-05T01:00:00Z\" }}"
            ),
            "Tuesday March 05 24 065  65 +00:00 +0000 Z am"
        );
        assert_eq!(
            r("{{ date \"05.999|05.000000|1/2 15h\" \"2024-03-05T17:08:09.120Z\" }}"),
            "09.12|09.120000|3/5 17h"
        );
        assert_eq!(r("{{ date \"05.999\" \"2024-03-05T17:08:09Z\" }}"), "09");
        assert_eq!(
            r("{{ date \"20060102-150405z\" 86400 }}"),
            "19700102-000000z"
        );
    }

    #[test]
    fn date_of_a_non_time_is_now() {
        let year = Utc::now().year().to_string();
        assert_eq!(r("{{ date \"2006\" \"20240101-000000z\" }}"), year);
        assert_eq!(r("{{ date \"2006\" .missing }}"), year);
    }

    #[test]
    fn date_in_zone_and_html_date() {
        assert_eq!(
            r("{{ dateInZone \"2006-01-02 15:04\" 0 \"UTC\" }}"),
            "1970-01-01 00:00"
        );
        assert_eq!(r("{{ date_in_zone \"2006\" 0 \"Local\" }}"), "1970");
        assert_eq!(r("{{ htmlDate 86400 }}"), "1970-01-02");
        assert_eq!(r("{{ htmlDateInZone 86400 \"UTC\" }}"), "1970-01-02");
    }

    #[test]
    fn date_modify() {
        assert_eq!(
            r("{{ dateModify \"1h30m\" \"2024-01-01T00:00:00Z\" }}"),
            "2024-01-01T01:30:00.000000000Z"
        );
        assert_eq!(
            r("{{ \"2024-01-01T00:00:00Z\" | date_modify \"-24h\" | date \"2006-01-02\" }}"),
            "2023-12-31"
        );
        assert_eq!(
            r("{{ dateModify \"1.5s\" 0 }} {{ dateModify \"nonsense\" 0 }}"),
            "1970-01-01T00:00:01.500000000Z 1970-01-01T00:00:00.000000000Z"
        );
        assert_err(
            "{{ dateModify \"1h\" \"yesterday\" }}",
            &["error calling dateModify", "time.Time"],
        );
    }

    #[test]
    fn unix_epoch() {
        assert_eq!(r("{{ unixEpoch \"2024-01-01T00:00:00Z\" }}"), "1704067200");
        let out = r("{{ now | unixEpoch }}");
        assert!(out.parse::<i64>().is_ok_and(|n| n > 1_700_000_000), "{out}");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("-1.5h"), Some(-5_400_000_000_000));
        assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_go_duration("2us"), Some(2_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("1"), None);
        assert_eq!(parse_go_duration("1d"), None);
    }

    // --- regular expressions ------------------------------------------------------------------

    #[test]
    fn regex_match() {
        assert_eq!(r("{{ regexMatch `^[a-z]+\\d$` \"abc1\" }}"), "true");
        assert_eq!(r("{{ \"abc\" | regexMatch `^\\d+$` }}"), "false");
        assert_eq!(r("{{ regexMatch \"(\" \"x\" }}"), "false");
        // Go's \d is ASCII-only.
        assert_eq!(r("{{ regexMatch `^\\d$` \"٣\" }}"), "false");
    }

    #[test]
    fn regex_find_and_find_all() {
        assert_eq!(r("{{ regexFind \"[a-zA-Z][1-9]\" \"abcd1234\" }}"), "d1");
        assert_eq!(r("[{{ regexFind \"z\" \"abc\" }}]"), "[]");
        assert_eq!(
            r("{{ regexFindAll \"[2,4,6,8]\" \"123456789\" -1 }}"),
            "[2 4 6 8]"
        );
        assert_eq!(
            r("{{ regexFindAll \"[2,4,6,8]\" \"123456789\" 2 }}"),
            "[2 4]"
        );
        assert_eq!(r("{{ regexFindAll \"a*\" \"baaab\" -1 | len }}"), "3");
        assert_eq!(r("{{ regexFindAll `[\\w]+` \"ab_1 é\" -1 }}"), "[ab_1]");
        assert_err(
            "{{ regexFind \"(\" \"x\" }}",
            &["error calling regexFind", "error parsing regexp"],
        );
    }

    #[test]
    fn regex_replace() {
        assert_eq!(
            r("{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}"),
            "-W-xxW-"
        );
        assert_eq!(
            r("{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"$1W\" }}"),
            "---"
        );
        assert_eq!(
            r("{{ regexReplaceAll \"(?P<k>\\\\w+)=\" \"a=1\" \"$k:\" }}"),
            "a:1"
        );
        assert_eq!(r("{{ regexReplaceAll \"a*\" \"baaac\" \"X\" }}"), "XbXcX");
        assert_eq!(
            r("{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}"),
            "-${1}-${1}-"
        );
        // Go's \b is an ASCII word boundary: é is not a word character.
        assert_eq!(
            r("{{ regexReplaceAll `\\bfoo\\b` \"foo éfoo\" \"X\" }}"),
            "X éX"
        );
        assert_eq!(
            r("{{ regexReplaceAll `\\Qa.b\\E` \"a.b axb\" \"X\" }}"),
            "X axb"
        );
    }

    #[test]
    fn regex_split() {
        assert_eq!(r("{{ regexSplit \"z+\" \"pizza\" -1 }}"), "[pi a]");
        assert_eq!(r("{{ regexSplit \"z+\" \"pizza\" 1 }}"), "[pizza]");
        assert_eq!(r("{{ regexSplit \"\" \"abc\" -1 }}"), "[a b c]");
        assert_eq!(r("{{ regexSplit \"z\" \"\" -1 | len }}"), "1");
        assert_eq!(r("{{ regexSplit \"z\" \"pizza\" 0 | len }}"), "0");
    }

    #[test]
    fn go_regex_translation() {
        assert_eq!(
            translate_go_regex(r"\d[\s\w]"),
            r"[0-9][\t\n\x0C\r 0-9A-Za-z_]"
        );
        assert_eq!(translate_go_regex(r"[]a[]"), r"[]a\[]");
        assert_eq!(translate_go_regex(r"[[:alpha:]&&x]"), r"[[:alpha:]\&\&x]");
    }

    // --- paths --------------------------------------------------------------------------------

    #[test]
    fn paths() {
        assert_eq!(
            r("{{ base \"/a/b.txt\" }} {{ base \"\" }} {{ base \"/\" }} {{ base \"a/b/\" }}"),
            "b.txt . / b"
        );
        assert_eq!(
            r("{{ dir \"/a/b/c\" }} {{ dir \"a\" }} {{ dir \"/a\" }}"),
            "/a/b . /"
        );
        assert_eq!(
            r(
                "{{ clean \"a//b/../c/.\" }} {{ clean \"/../x\" }} {{ clean \"../a/..\" }} {{ clean \"\" }}"
            ),
            "a/c /x .. ."
        );
        assert_eq!(r("{{ ext \"a/b.tar.gz\" }}|{{ ext \"a.b/c\" }}"), ".gz|");
        assert_eq!(r("{{ isAbs \"/x\" }} {{ isAbs \"x\" }}"), "true false");
    }

    // --- reflection and other -----------------------------------------------------------------

    #[test]
    fn type_and_kind() {
        assert_eq!(
            r(
                "{{ typeOf 1 }}|{{ typeOf \"a\" }}|{{ typeOf 1.5 }}|{{ typeOf (list) }}|{{ typeOf (dict) }}|{{ typeOf .missing }}"
            ),
            "int|string|float64|[]interface {}|map[string]interface {}|<nil>"
        );
        assert_eq!(
            r(
                "{{ typeIs \"string\" \"a\" }} {{ typeIsLike \"string\" \"a\" }} {{ typeIs \"int\" \"a\" }}"
            ),
            "true true false"
        );
        assert_eq!(
            r("{{ kindOf (list) }} {{ kindOf (dict) }} {{ kindOf true }}"),
            "slice map bool"
        );
        assert_eq!(
            r("{{ kindIs \"int\" 1 }} {{ kindIs \"map\" (dict) }} {{ kindIs \"string\" 1 }}"),
            "true true false"
        );
    }

    #[test]
    fn deep_equal() {
        assert_eq!(
            r(
                "{{ deepEqual (list 1 2) (list 1 2) }} {{ deepEqual 1 1.0 }} {{ deepEqual (dict \"a\" 1) (dict \"a\" 1) }}"
            ),
            "true false true"
        );
    }

    #[test]
    fn uuidv4() {
        let a = r("{{ uuidv4 }}");
        let b = r("{{ uuidv4 }}");
        let re =
            Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
                .map_err(|e| e.to_string());
        assert!(
            re.is_ok_and(|re| re.is_match(&a) && re.is_match(&b)),
            "{a} {b}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn semver_compare() {
        let cases = [
            (">=1.2.3", "1.2.4", true),
            (">= 1.2.3", "1.2.2", false),
            ("^1.2.0", "1.9.0", true),
            ("^1.2.0", "2.0.0", false),
            ("^0.2.3", "0.9.0", true),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("~1", "1.9.9", true),
            ("1.2.x", "1.2.7", true),
            ("1.2.x", "1.3.0", false),
            ("*", "4.5.6", true),
            (">1.0, <2.0", "1.5.0", true),
            (">1.0 <2.0", "2.5.0", false),
            ("<1.0 || >=3", "3.1.0", true),
            ("<1.0 || >=3", "2.0.0", false),
            ("1.0 - 2.0", "1.5.0", true),
            ("1.0 - 2.0", "2.1.0", false),
            (">=1.0.0", "1.1.0-beta", false),
            (">=1.0.0-alpha", "1.0.0-beta", true),
            (">=1.0.0-beta.2", "1.0.0-beta.11", true),
            ("!=1.2.3", "1.2.3", false),
            ("!=1.2.3", "1.2.4", true),
            ("=1.2", "1.2.0", true),
            ("v1.2.3", "v1.2.3+build.5", true),
            ("<=1.x", "1.9.0", true),
            ("<=1.x", "2.0.0", false),
        ];
        for (c, v, want) in cases {
            let got = r(&format!("{{{{ semverCompare {c:?} {v:?} }}}}"));
            assert_eq!(got, want.to_string(), "semverCompare {c:?} {v:?}");
        }
        assert_err(
            "{{ semverCompare \">=1\" \"x.y\" }}",
            &["error calling semverCompare", "Invalid Semantic Version"],
        );
        assert_err(
            "{{ semverCompare \"?1\" \"1.0.0\" }}",
            &["improper constraint"],
        );
    }

    // --- Go formatting helpers ----------------------------------------------------------------

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_float_v(0.1), "0.1");
        assert_eq!(go_float_v(-2.5), "-2.5");
        assert_eq!(go_float_v(1e21), "1e+21");
        assert_eq!(go_float_v(1e100), "1e+100");
        assert_eq!(go_float_v(f64::NAN), "NaN");
        assert_eq!(go_float_v(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_float_v(-0.0), "-0");
        assert_eq!(go_json_float(123456789.0), Ok("123456789".to_string()));
        assert_eq!(go_json_float(-1.25e-10), Ok("-1.25e-10".to_string()));
        assert!(go_json_float(f64::INFINITY).is_err());
    }

    #[test]
    fn go_quoting() {
        assert_eq!(
            go_quote("a\u{7f}\u{a0}\u{1F600}\u{10FFFF}"),
            "\"a\\x7f\\u00a0\u{1F600}\\U0010ffff\""
        );
    }
}
