//! Go formatting: `fmt.Sprint` ([`sprint`]), `%v` for floats, `%q` ([`go_quote`]) and Go type
//! and kind names, so that results print as Go prints them.

use std::fmt::Write as _;

use gotmpl::Value;

/// Go's `%T` for the value (used by `typeOf` and error messages).
pub(super) fn go_type(v: &Value) -> &'static str {
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
pub(super) fn kind_of(v: &Value) -> &'static str {
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
pub(super) fn sprint(v: &Value) -> String {
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
pub(super) fn float_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp + 1)
}

/// `%f`-style rendering of shortest digits.
pub(super) fn fixed_from_digits(digits: &str, dp: i32) -> String {
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
pub(super) fn exp_from_digits(digits: &str, dp: i32, min_exp_digits: usize) -> String {
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
pub(super) fn go_float_v(f: f64) -> String {
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
pub(super) fn go_quote(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::super::encoding::go_json_float;
    use super::*;

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
        assert_eq!(
            go_json_float(f64::INFINITY).unwrap_err().to_string(),
            "json: unsupported value: +Inf"
        );
        assert_eq!(
            go_json_float(f64::NAN).unwrap_err().to_string(),
            "json: unsupported value: NaN"
        );
    }

    #[test]
    fn go_quoting() {
        assert_eq!(
            go_quote("a\u{7f}\u{a0}\u{1F600}\u{10FFFF}"),
            "\"a\\x7f\\u00a0\u{1F600}\\U0010ffff\""
        );
    }
}
