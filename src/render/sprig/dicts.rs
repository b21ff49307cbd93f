//! Dict functions: `dict`, `set`, `unset`, `hasKey`, `keys`, `values`, `pluck`, `pick`, `omit`,
//! `merge` and `mergeOverwrite`. Dicts are values: the updating functions return a copy.

use std::sync::Arc;

use gotmpl::Value;

use super::{
    Func, Map, Res,
    args::{arity, arity_min, fail, list, map_at, str_at, string},
    convert::is_empty,
    gofmt::sprint,
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("dict", f_dict),
    ("set", f_set),
    ("unset", f_unset),
    ("hasKey", f_has_key),
    ("keys", f_keys),
    ("values", f_values),
    ("pluck", f_pluck),
    ("pick", f_pick),
    ("omit", f_omit),
    ("merge", f_merge),
    ("mergeOverwrite", f_merge_overwrite),
];

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

#[cfg(test)]
mod tests {
    use crate::render::sprig::test_util::*;

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
}
