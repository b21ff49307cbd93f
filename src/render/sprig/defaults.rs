//! Defaults and flow control: `default`, `empty`, `coalesce`, `ternary`, `compact`, `deepCopy`
//! and `fail`.

use gotmpl::Value;

use super::{
    Func, Res,
    args::{arity, arity_min, bool_at, fail, list, list_of, str_at},
    convert::is_empty,
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("default", f_default),
    ("empty", f_empty),
    ("coalesce", f_coalesce),
    ("ternary", f_ternary),
    ("compact", f_compact),
    ("deepCopy", f_deep_copy),
    ("fail", f_fail),
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sprig::test_util::*;
    use gotmpl::tmap;

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
}
