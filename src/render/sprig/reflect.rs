//! Reflection and other: `typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`, `deepEqual` and
//! `uuidv4`.

use gotmpl::Value;

use super::{
    Func, Res,
    args::{arity, str_at, string},
    encoding::hex,
    gofmt::{go_type, kind_of},
    random::random_bytes,
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("typeOf", f_type_of),
    ("typeIs", f_type_is),
    ("typeIsLike", f_type_is_like),
    ("kindOf", f_kind_of),
    ("kindIs", f_kind_is),
    ("deepEqual", f_deep_equal),
    ("uuidv4", f_uuidv4),
];

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

#[cfg(test)]
mod tests {
    use crate::render::sprig::test_util::*;
    use regex::Regex;

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
}
