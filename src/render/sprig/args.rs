//! Argument helpers shared by every family: arity checks, typed access to arguments
//! (`str_at`, `int_at`, …), result builders and the size limits ([`super::MAX_SIZE`],
//! [`super::MAX_ITEMS`]).

use std::sync::Arc;

use gotmpl::{TemplateError, Value};

use super::{
    MAX_ITEMS, MAX_SIZE, Map,
    gofmt::{go_type, kind_of},
};

pub(super) fn fail(name: &str, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError::Exec(format!("error calling {name}: {msg}"))
}

pub(super) fn arity(name: &str, args: &[Value], n: usize) -> gotmpl::Result<()> {
    if args.len() == n {
        Ok(())
    } else {
        Err(arg_count(name, n, args.len()))
    }
}

pub(super) fn arity_min(name: &str, args: &[Value], n: usize) -> gotmpl::Result<()> {
    if args.len() >= n {
        Ok(())
    } else {
        Err(arg_count(name, n, args.len()))
    }
}

pub(super) fn arity_range(name: &str, args: &[Value], lo: usize, hi: usize) -> gotmpl::Result<()> {
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
pub(super) fn str_at<'a>(name: &str, args: &'a [Value], i: usize) -> gotmpl::Result<&'a str> {
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
pub(super) fn int_at(name: &str, args: &[Value], i: usize) -> gotmpl::Result<i64> {
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
pub(super) fn float_at(name: &str, args: &[Value], i: usize) -> gotmpl::Result<f64> {
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
pub(super) fn bool_at(name: &str, args: &[Value], i: usize) -> gotmpl::Result<bool> {
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
pub(super) fn map_at<'a>(
    name: &str,
    args: &'a [Value],
    i: usize,
) -> gotmpl::Result<Option<&'a Map>> {
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
pub(super) fn list_of<'a>(name: &str, v: &'a Value, what: &str) -> gotmpl::Result<&'a [Value]> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(fail(
            name,
            format!("Cannot {what} on type {}", kind_of(other)),
        )),
    }
}

pub(super) fn string(s: impl Into<Arc<str>>) -> Value {
    Value::String(s.into())
}

pub(super) fn list(items: Vec<Value>) -> Value {
    Value::List(items.into())
}

pub(super) fn str_list<S: AsRef<str>>(items: &[S]) -> Value {
    list(items.iter().map(|s| string(s.as_ref())).collect())
}

pub(super) fn check_size(name: &str, size: usize) -> gotmpl::Result<()> {
    if size > MAX_SIZE {
        Err(fail(
            name,
            format!("result too large ({size} > {MAX_SIZE} bytes)"),
        ))
    } else {
        Ok(())
    }
}

pub(super) fn check_items(name: &str, items: usize) -> gotmpl::Result<()> {
    if items > MAX_ITEMS {
        Err(fail(
            name,
            format!("result too large ({items} > {MAX_ITEMS} items)"),
        ))
    } else {
        Ok(())
    }
}

pub(super) fn lossy(bytes: &[u8]) -> Value {
    string(String::from_utf8_lossy(bytes).as_ref())
}
