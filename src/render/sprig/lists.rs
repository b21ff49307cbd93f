//! List functions: `list`, `first`, `last`, `rest`, `append`, `concat`, `uniq`, `has`, `slice`,
//! `until`, `split`, `splitList`, `join`, …

use std::sync::Arc;

use gotmpl::Value;

use super::{
    Func, Map, Res,
    args::{arity, arity_min, check_items, fail, int_at, list, list_of, str_at, str_list, string},
    convert::{str_slice, to_i64},
    gofmt::{kind_of, sprint},
    strings::slice_err,
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("list", f_list),
    ("tuple", f_list),
    ("first", f_first),
    ("last", f_last),
    ("rest", f_rest),
    ("initial", f_initial),
    ("append", f_append),
    ("push", f_append),
    ("prepend", f_prepend),
    ("concat", f_concat),
    ("uniq", f_uniq),
    ("without", f_without),
    ("has", f_has),
    ("reverse", f_reverse),
    ("sortAlpha", f_sort_alpha),
    ("slice", f_slice),
    ("until", f_until),
    ("untilStep", f_until_step),
    ("split", f_split),
    ("splitList", f_split_list),
    ("splitn", f_splitn),
    ("join", f_join),
    ("toStrings", f_to_strings),
];

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

#[cfg(test)]
mod tests {
    use crate::render::sprig::test_util::*;

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
}
