//! Date functions: `now`, `date`, `dateInZone`, `htmlDate`, `dateModify`, `unixEpoch`.
//!
//! Time values are RFC 3339 strings in UTC; layouts are Go's (`2006-01-02`), interpreted chunk by
//! chunk as `time.Format` does, and `dateModify` takes Go durations (`-1h30m`).

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use gotmpl::Value;

use super::{
    Func, Res,
    args::{arity, fail, str_at, string},
    gofmt::go_type,
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("now", f_now),
    ("date", f_date),
    ("dateInZone", f_date_in_zone),
    ("date_in_zone", f_date_in_zone),
    ("htmlDate", f_html_date),
    ("htmlDateInZone", f_html_date_in_zone),
    ("dateModify", f_date_modify),
    ("date_modify", f_date_modify),
    ("unixEpoch", f_unix_epoch),
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sprig::test_util::*;
    use regex::Regex;

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
}
