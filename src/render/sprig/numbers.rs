//! Numbers and conversions: `add`, `sub`, `mul`, `div`, `mod`, `max`, `floor`, `round`, `int`,
//! `atoi`, `toString`, … (integers convert with Sprig's `toInt64`).

use gotmpl::Value;

use super::{
    Func, Res,
    args::{arity, arity_min, arity_range, fail, float_at, int_at, str_at, string},
    convert::{to_f64, to_i64},
    gofmt::sprint,
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("add", f_add),
    ("add1", f_add1),
    ("sub", f_sub),
    ("mul", f_mul),
    ("div", f_div),
    ("mod", f_mod),
    ("max", f_max),
    ("biggest", f_max),
    ("min", f_min),
    ("floor", f_floor),
    ("ceil", f_ceil),
    ("round", f_round),
    ("int", f_int),
    ("int64", f_int),
    ("float64", f_float64),
    ("atoi", f_atoi),
    ("toString", f_to_string),
];

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

#[cfg(test)]
mod tests {
    use crate::render::sprig::test_util::*;

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
}
