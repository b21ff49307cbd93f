//! The generated tasks of ACR's quick entry points: `taskrun build` (`az acr build`) and
//! `taskrun --cmd` (`az acr run --cmd`).
//!
//! As in ACR, a quick build or quick run is a task file generated with `version: v1.1.0` and run
//! through the normal run path, so templates and `$` aliases work in what the user wrote. Every
//! user-supplied word is shell-quoted where it becomes part of a `build` string and then written
//! as a YAML scalar with proper escaping ([`yaml_scalar`]), never pasted into the YAML raw.
//! Pure: no I/O.

/// The name a generated quick build is known by in diagnostics and the run header.
pub const BUILD_SOURCE_NAME: &str = "(quick build)";
/// The name a generated quick run is known by in diagnostics and the run header.
pub const CMD_SOURCE_NAME: &str = "(quick run)";

/// acb's timeout of a quick build's `build` step (8 h).
const BUILD_TIMEOUT_SECS: u64 = 28_800;
/// acb's timeout of a quick build's `push` step, and az's of a quick run's step (1 h).
const PUSH_TIMEOUT_SECS: u64 = 3_600;

/// What `taskrun build` was asked to do (the flags of `az acr build`).
#[derive(Debug, Clone, Default)]
pub struct QuickBuild {
    /// `-t` names, relative to the registry unless they already name it.
    pub tags: Vec<String>,
    /// `-f`: the Dockerfile, relative to the context.
    pub dockerfile: Option<String>,
    /// `--build-arg K=V`.
    pub build_args: Vec<String>,
    /// `--secret-build-arg K=V` (passed as `--build-arg`, as acb does; the caller masks them).
    pub secret_build_args: Vec<String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--no-push`: build only.
    pub no_push: bool,
    /// The run registry (`-r`).
    pub registry: String,
    /// Other registries the tags may already name (the `--credential` registries).
    pub known_registries: Vec<String>,
}

/// The registries named by `--credential` values (acb's JSON form); malformed values are
/// skipped here (the run reports them).
pub fn credential_registries(credentials: &[String]) -> Vec<String> {
    credentials
        .iter()
        .filter_map(|raw| {
            let v: serde_json::Value = serde_json::from_str(raw).ok()?;
            v.get("registry")?.as_str().map(str::to_owned)
        })
        .collect()
}

/// The values of `--secret-build-arg K=V` entries, to be masked (a whole entry without `=`).
pub fn secret_values(entries: &[String]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.split_once('=').map_or(e.as_str(), |(_, v)| v).to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// What makes the flags of a quick build unusable before anything is generated: an empty `-t`
/// name, or a line break or other control character in a name (no image name has one).
pub fn build_problems(q: &QuickBuild) -> crate::diag::Problems {
    use crate::diag::{Code, Problem};
    let mut problems = crate::diag::Problems::new();
    for tag in &q.tags {
        let why = if tag.trim().is_empty() {
            "is empty"
        } else if tag.chars().any(char::is_control) {
            "has a line break or another control character"
        } else {
            continue;
        };
        problems.push(
            Problem::error(
                Code::FlagFormat,
                format!("-t {tag:?}: the image name {why}"),
            )
            .with_help("write `-t NAME[:TAG]`, relative to the registry (`-t hello:v1`)"),
        );
    }
    problems
}

/// The full image name of a `-t` value: acb prefixes the registry unless the name starts with
/// a known registry (the run registry, a credential's registry, their `$Registry` /
/// `{{.Run.Registry}}` forms) or `library/`.
pub fn qualify_tag(tag: &str, registry: &str, known: &[String]) -> String {
    let names_registry = std::iter::once(registry)
        .chain(known.iter().map(String::as_str))
        .filter(|r| !r.is_empty())
        .any(|r| tag.starts_with(&format!("{r}/")));
    let compact: String = tag.chars().filter(|c| !c.is_whitespace()).collect();
    let templated = tag.starts_with("$Registry") || compact.starts_with("{{.Run.Registry}}");
    if registry.is_empty() || names_registry || templated || tag.starts_with("library/") {
        tag.to_owned()
    } else {
        format!("{}/{tag}", registry.trim_end_matches('/'))
    }
}

/// The task text of a quick build: a `build` step, then a `push` step of every tag unless
/// `no_push`.
pub fn build_task(q: &QuickBuild) -> String {
    let tags: Vec<String> = q
        .tags
        .iter()
        .map(|t| qualify_tag(t, &q.registry, &q.known_registries))
        .collect();
    let mut words: Vec<String> = Vec::new();
    for t in &tags {
        words.push("-t".to_owned());
        words.push(shell_word(t));
    }
    if let Some(f) = &q.dockerfile {
        words.push("-f".to_owned());
        words.push(shell_word(f));
    }
    for a in q.build_args.iter().chain(&q.secret_build_args) {
        words.push("--build-arg".to_owned());
        words.push(shell_word(a));
    }
    if let Some(t) = &q.target {
        words.push("--target".to_owned());
        words.push(shell_word(t));
    }
    if let Some(p) = &q.platform {
        words.push("--platform".to_owned());
        words.push(shell_word(p));
    }
    if q.no_cache {
        words.push("--no-cache".to_owned());
    }
    words.push(".".to_owned());
    let mut text = format!(
        "version: v1.1.0\nsteps:\n  - id: build\n    build: {}\n    timeout: {BUILD_TIMEOUT_SECS}\n",
        yaml_scalar(&words.join(" "))
    );
    if !q.no_push && !tags.is_empty() {
        text.push_str("  - id: push\n    push:\n");
        for t in &tags {
            text.push_str(&format!("      - {}\n", yaml_scalar(t)));
        }
        text.push_str(&format!("    timeout: {PUSH_TIMEOUT_SECS}\n"));
    }
    text
}

/// The task text of a quick run: one `cmd` step running `cmd` as written (as az generates it:
/// v1.1.0, the image's own working directory, a 1 h step timeout).
pub fn cmd_task(cmd: &str) -> String {
    format!(
        "version: v1.1.0\nsteps:\n  - cmd: {}\n    disableWorkingDirectoryOverride: true\n    timeout: {PUSH_TIMEOUT_SECS}\n",
        yaml_scalar(cmd)
    )
}

/// `s` as one POSIX shell word: unchanged when it has no character the shell (or acb's word
/// splitting) treats specially, else in single quotes (`'` written as `'\''`).
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | '+' | ',' | '%')
        });
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `s` as a YAML flow scalar on one line that every YAML reader (yaml.v2 included) reads back
/// as exactly `s`: single-quoted (only `'` is doubled, so template actions such as
/// `{{ "x" }}` stay intact) when `s` has no line break or other control character, else
/// double-quoted with escapes.
pub fn yaml_scalar(s: &str) -> String {
    let needs_escapes = s.chars().any(|c| c.is_control() && c != '\t');
    if !needs_escapes {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let n = u32::from(c);
                if n <= 0xFF {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` with the same parser and checks as `taskrun run` (aliases and templates
    /// are not applied: the scalars must survive YAML alone).
    fn parse(text: &str) -> crate::model::Task {
        let src = crate::source::Source::new("t.yaml", text.to_owned());
        let yaml = crate::syntax::yaml11_compat(&src);
        let (ast, problems) = crate::syntax::parse(&yaml);
        assert!(!problems.has_errors(), "{problems:?}\n{text}");
        let (task, problems) = crate::validate::validate(&ast.expect("ast"), &yaml);
        assert!(!problems.has_errors(), "{problems:?}\n{text}");
        task.expect("task")
    }

    fn cmd_of(task: &crate::model::Task) -> String {
        match &task.steps[0].kind {
            crate::model::StepKind::Cmd(c) => c.line.clone(),
            other => panic!("not a cmd step: {other:?}"),
        }
    }

    #[test]
    fn yaml_scalar_round_trips_awkward_strings() {
        for s in [
            "plain",
            "a: b",
            "it's",
            "\"quoted\" and 'single'",
            "# not a comment",
            "- dash",
            "{{ \"x\" }} {{.Run.ID}}",
            "tab\there",
            "line1\nline2",
            "back\\slash\n",
            "bell\u{7}",
            "@at `tick` | pipe > gt & amp * star ! bang % pct",
            "",
            "  leading and trailing  ",
            "yes",
            "null",
            "123",
        ] {
            let text = format!("v: {}\n", yaml_scalar(s));
            assert!(!text.trim_end().contains('\n'), "one line: {text:?}");
            let src = crate::source::Source::new("v.yaml", text.clone());
            let values = crate::render::values::parse_values(&src).expect(&text);
            assert_eq!(
                values.get("v"),
                Some(&serde_json::Value::String(s.to_owned())),
                "{text}"
            );
        }
        // And as a `cmd` (which must also be a valid line).
        let task = parse(&cmd_task("echo 'a: b' \"#c\" {{ \"x\" }}"));
        assert_eq!(cmd_of(&task), "echo 'a: b' \"#c\" {{ \"x\" }}");
    }

    #[test]
    fn cmd_task_is_one_v110_cmd_step() {
        let text = cmd_task("$Registry/hello-world --name 'a b'");
        assert!(text.starts_with("version: v1.1.0\n"), "{text}");
        let task = parse(&text);
        assert_eq!(task.steps.len(), 1);
        assert_eq!(cmd_of(&task), "$Registry/hello-world --name 'a b'");
    }

    #[test]
    fn shell_word_quotes_only_what_needs_it() {
        assert_eq!(shell_word("reg/hello:v1"), "reg/hello:v1");
        assert_eq!(shell_word("K=a b"), "'K=a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$x"), "'$x'");
    }

    #[test]
    fn tags_are_relative_to_the_registry() {
        let known = vec!["other.io".to_owned()];
        let q = |t: &str| qualify_tag(t, "reg.io", &known);
        assert_eq!(q("hello:{{.Run.ID}}"), "reg.io/hello:{{.Run.ID}}");
        assert_eq!(q("reg.io/hello"), "reg.io/hello");
        assert_eq!(q("other.io/hello"), "other.io/hello");
        assert_eq!(q("$Registry/hello"), "$Registry/hello");
        assert_eq!(q("{{ .Run.Registry }}/hello"), "{{ .Run.Registry }}/hello");
        assert_eq!(q("library/hello"), "library/hello");
        assert_eq!(qualify_tag("hello", "", &[]), "hello");
    }

    #[test]
    fn build_task_builds_then_pushes_every_tag() {
        let q = QuickBuild {
            tags: vec!["hello:{{.Run.ID}}".into(), "hello:it's \"latest\"".into()],
            dockerfile: Some("sub dir/Dockerfile".into()),
            build_args: vec!["A=x: y".into(), "B=#hash".into()],
            secret_build_args: vec!["S=p'a\"ss".into()],
            target: Some("final".into()),
            platform: Some("linux/amd64".into()),
            no_cache: true,
            registry: "127.0.0.1:5000".into(),
            ..QuickBuild::default()
        };
        let text = build_task(&q);
        assert!(text.starts_with("version: v1.1.0\n"), "{text}");
        let task = parse(&text);
        assert_eq!(task.steps.len(), 2);
        assert_eq!(task.steps[0].id, "build");
        let crate::model::StepKind::Build(b) = &task.steps[0].kind else {
            panic!("not a build step");
        };
        let parsed = crate::model::buildargs::parse_build(b).expect("build string");
        assert_eq!(
            parsed.tags,
            [
                "127.0.0.1:5000/hello:{{.Run.ID}}",
                "127.0.0.1:5000/hello:it's \"latest\""
            ]
        );
        assert_eq!(parsed.dockerfile.as_deref(), Some("sub dir/Dockerfile"));
        assert_eq!(
            parsed.build_args,
            [
                ("A".to_owned(), Some("x: y".to_owned())),
                ("B".to_owned(), Some("#hash".to_owned())),
                ("S".to_owned(), Some("p'a\"ss".to_owned())),
            ]
        );
        assert_eq!(parsed.target.as_deref(), Some("final"));
        assert_eq!(parsed.platform.as_deref(), Some("linux/amd64"));
        assert!(parsed.no_cache);
        let crate::model::StepKind::Push(p) = &task.steps[1].kind else {
            panic!("not a push step");
        };
        assert_eq!(p.len(), 2);
        assert!(p[1].contains("it's \"latest\""), "{p:?}");
    }

    #[test]
    fn empty_and_multi_line_names_are_refused() {
        let q = |tags: &[&str]| QuickBuild {
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            registry: "r.io".into(),
            ..QuickBuild::default()
        };
        assert!(!build_problems(&q(&["hello:{{ .Run.ID }}"])).has_errors());
        let problems = build_problems(&q(&["", " ", "a\nb", "ok"]));
        assert_eq!(problems.iter().count(), 3);
    }

    #[test]
    fn no_push_is_one_build_step() {
        let q = QuickBuild {
            tags: vec!["hello".into()],
            no_push: true,
            registry: "r.io".into(),
            ..QuickBuild::default()
        };
        let task = parse(&build_task(&q));
        assert_eq!(task.steps.len(), 1);
    }
}
