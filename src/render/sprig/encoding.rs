//! Encoding and hashes: `b64enc`/`b64dec` (with Go's decoder rules), `toJson`/`toPrettyJson`
//! (with Go's encoder rules), `sha256sum`, `sha1sum` and `adler32sum`.

use std::fmt::Write as _;

use gotmpl::Value;
use sha2::{Digest, Sha256};

use super::{
    Func, Res,
    args::{arity, lossy, str_at, string},
    gofmt::{exp_from_digits, fixed_from_digits, float_digits, go_float_v, go_type, sprint},
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("b64enc", f_b64enc),
    ("b64dec", f_b64dec),
    ("toJson", f_to_json),
    ("toPrettyJson", f_to_pretty_json),
    ("sha256sum", f_sha256sum),
    ("sha1sum", f_sha1sum),
    ("adler32sum", f_adler32sum),
];

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

/// Why a value has no JSON form: Go's `json.UnsupportedValueError` and
/// `json.UnsupportedTypeError`, with their text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum JsonError {
    /// A float that is NaN or infinite (as Go prints it).
    #[error("json: unsupported value: {0}")]
    UnsupportedValue(String),
    /// A value of a type JSON cannot hold (its Go type name).
    #[error("json: unsupported type: {0}")]
    UnsupportedType(&'static str),
}

/// Go's `json.Marshal` / `json.MarshalIndent(v, "", "  ")` (HTML characters escaped, sorted keys).
fn json_encode(v: &Value, pretty: bool, depth: usize, out: &mut String) -> Result<(), JsonError> {
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
        other => return Err(JsonError::UnsupportedType(go_type(other))),
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
pub(super) fn go_json_float(f: f64) -> Result<String, JsonError> {
    if !f.is_finite() {
        return Err(JsonError::UnsupportedValue(go_float_v(f)));
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

pub(super) fn hex(bytes: &[u8]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sprig::test_util::*;
    use gotmpl::tmap;

    #[test]
    fn b64enc_encodes_sprint_text() {
        assert_eq!(r("{{ \"hello\" | b64enc }}"), "aGVsbG8=");
        // acb encodes `<int Value>` here; taskrun encodes the number's text.
        assert_eq!(r("{{ 1867 | b64enc }}"), "MTg2Nw==");
        assert_eq!(r("{{ true | b64enc }}"), "dHJ1ZQ==");
        assert_eq!(r("[{{ .missing | b64enc }}]"), "[]");
    }

    #[test]
    fn json_errors_are_gos_text() {
        let mut out = String::new();
        assert_eq!(
            json_encode(&Value::Float(f64::NAN), false, 0, &mut out)
                .unwrap_err()
                .to_string(),
            "json: unsupported value: NaN"
        );
        assert_eq!(
            JsonError::UnsupportedType("func(...interface {}) (interface {}, error)").to_string(),
            "json: unsupported type: func(...interface {}) (interface {}, error)"
        );
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
}
