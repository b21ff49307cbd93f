//! Go-like conversions, as Sprig does them: `toInt64` ([`to_i64`]), `toFloat64` ([`to_f64`]),
//! `strslice` ([`str_slice`]) and `empty` ([`is_empty`]).

use gotmpl::Value;

use super::gofmt::sprint;

/// Sprig's `toInt64`.
pub(super) fn to_i64(v: &Value) -> i64 {
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
pub(super) fn to_f64(v: &Value) -> f64 {
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
pub(super) fn is_empty(v: &Value) -> bool {
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
pub(super) fn str_slice(v: &Value) -> Vec<String> {
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
