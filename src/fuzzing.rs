//! Entry points of the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer) and of
//! `tests/it/fuzz_corpus.rs`, which replays the committed corpora on stable Rust.
//!
//! Each function takes arbitrary bytes, turns them into text (invalid UTF-8 becomes U+FFFD) and
//! drives one front-end stage through its public entry points, as the pipeline does. A target
//! passes when it returns: any panic, hang or unbounded allocation is a bug of the stage. The
//! functions also check a few invariants that later stages rely on (every span points inside
//! the input, on character boundaries) and render every diagnostic as `taskrun` would print it.
//!
//! Nothing here reads the environment; `alias` sources are looked up in a directory that does
//! not exist. See `docs/fuzzing.md`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::context::DockerIgnore;
use crate::deps::dockerfile::{self, ScanOptions};
use crate::deps::reference;
use crate::diag::Problems;
use crate::model::buildargs::{self, ContextKind};
use crate::model::{cmdline, shellwords, support};
use crate::plan::{self, Plan};
use crate::render::{self, RenderOptions, RunInfo, SecretValues, TemplateData, alias};
use crate::report::render_problem;
use crate::source::Source;
use crate::{syntax, validate};

/// The entry function of a fuzz target: arbitrary bytes in, nothing out (failure is a panic).
pub type Entry = fn(&[u8]);

/// Every fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs` and the corpus directory
/// `fuzz/corpus/<name>/`) and its entry function.
pub const TARGETS: &[(&str, Entry)] = &[
    ("alias", alias),
    ("render", render),
    ("yaml", yaml),
    ("cmdline", cmdline),
    ("buildargs", buildargs),
    ("dockerignore", dockerignore),
    ("dockerfile", dockerfile),
];

/// A directory that does not exist: relative alias `src` paths resolve into it.
const NO_DIR: &str = "/nonexistent/taskrun-fuzz";

fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Panics unless `span` lies inside `text` with both ends on character boundaries.
fn check_span(what: &str, text: &str, span: &Range<usize>) {
    assert!(
        span.start <= span.end
            && span.end <= text.len()
            && text.is_char_boundary(span.start)
            && text.is_char_boundary(span.end),
        "{what}: span {span:?} is not a valid range of the {}-byte input",
        text.len()
    );
}

/// Renders every problem the way the `human` output does (miette's graphical report).
fn show(problems: &Problems) {
    for p in problems.iter() {
        if let Some(src) = &p.source {
            for l in &p.labels {
                check_span("diagnostic label", &src.text, &l.span);
            }
        }
        let _ = render_problem(p, false);
        let _ = crate::report::github_annotation(p);
    }
}

/// `render::alias`: version sniff, alias block, map, substitution and the `cmd` image-alias
/// rewrite of every line, with an identity block renderer.
pub fn alias(data: &[u8]) {
    let text = text(data);
    let mask = render::comments::comment_lines(&text);
    let images: BTreeMap<String, String> = alias::DEFAULT_IMAGE_ALIASES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let opts = alias::AliasOptions {
        base_dir: Path::new(NO_DIR),
        image_aliases: &images,
        delims: ("{{", "}}"),
        comment_lines: &mask,
    };
    let identity =
        |block: &str| -> Result<String, std::convert::Infallible> { Ok(block.to_owned()) };
    let _ = alias::aliases_enabled(alias::find_version(&text).as_deref());
    match alias::preprocess(&text, &opts, &identity) {
        Ok(pre) => {
            for line in pre.text.lines() {
                let cmd = line.trim_start().trim_start_matches("- ");
                let cmd = cmd.strip_prefix("cmd:").unwrap_or(cmd).trim();
                let _ = alias::expand_command_alias(cmd, &pre.aliases);
            }
        }
        Err(errors) => {
            let lines = text.split('\n').count();
            for e in errors {
                assert!(e.line <= lines, "alias error on line {} of {lines}", e.line);
            }
        }
    }
}

/// The template data the `render` target renders with: a fixed run, a few values and one secret.
fn template_data() -> TemplateData {
    let now = Utc
        .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let mut run = RunInfo::new("ca1", "myregistry.azurecr.io", now);
    run.commit = "0123456789abcdef0123456789abcdef01234567".to_owned();
    run.branch = "main".to_owned();
    let values = json!({
        "tag": "v1",
        "count": 3,
        "flag": true,
        "list": ["a", "b", 1, 2.5],
        "map": {"k": "v", "n": {"deep": null}},
        "empty": ""
    });
    let values = match values {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    TemplateData {
        run,
        values,
        secrets: BTreeMap::new(),
    }
}

/// `render::render`: delimiters, comments, aliases (v1.1.0), the Go template engine and the
/// Sprig subset, the two-pass render of `secrets:`; then the placeholder filler. The input is
/// the task file's text.
pub fn render(data: &[u8]) {
    let text = text(data);
    let file = Source::new("acr-task.yaml", text.as_ref());
    let mut values = template_data();
    let mut secrets = SecretValues::new();
    secrets.insert("pw", "s3cret");
    let options = RenderOptions {
        strict: data.first().is_some_and(|b| b & 1 == 1),
        delims: None,
        image_aliases: alias::DEFAULT_IMAGE_ALIASES
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        explicit_image_aliases: Vec::new(),
        base_dir: NO_DIR.into(),
    };
    match render::render(&file, &values, &secrets, &options) {
        Ok(rendered) => show(&rendered.warnings),
        Err(problems) => show(&problems),
    }
    let _ = render::placeholders::fill(&text, &mut values);
}

/// The YAML front end: the yaml.v2 compatibility rewrite, the spanned parse, the AST conversion,
/// validation (every acb rule, including the `cmd`/`build` strings) and the plan with its
/// text, dot, mermaid and JSON forms.
pub fn yaml(data: &[u8]) {
    let text = text(data);
    let src = syntax::yaml11_compat(&Source::new("acr-task.yaml", text.as_ref()));
    let (ast, problems) = syntax::parse(&src);
    show(&problems);
    let Some(ast) = ast else { return };
    let (task, problems) = validate::validate(&ast, &src);
    show(&problems);
    if let Some(task) = task.filter(|_| !problems.has_errors()) {
        let graph = Plan::new(&task);
        let _ = graph.waves();
        let _ = plan::to_text(&graph);
        let _ = plan::to_dot(&graph);
        let _ = plan::to_mermaid(&graph);
        let _ = plan::to_json(&graph);
    }
}

/// The `cmd` string: shell words (both flag modes), the `docker run` flag parser, the image
/// reference and the unsupported-flag check.
pub fn cmdline(data: &[u8]) {
    let line = text(data);
    if let Ok(lexed) = shellwords::lex(&line) {
        for w in &lexed.words {
            check_span("word", &line, &w.span);
        }
        for c in &lexed.constructs {
            check_span("construct", &line, &c.span);
            let _ = (c.message(), c.help());
        }
        for interspersed in [false, true] {
            let parsed = shellwords::parse_flags(&lexed.words, cmdline::RUN_FLAGS, interspersed);
            for e in &parsed.errors {
                check_span("flag error", &line, &e.span);
                let _ = (e.message(), e.help());
            }
            for item in &parsed.items {
                if let shellwords::FlagItem::Flag(f) = item {
                    check_span("flag", &line, &f.span);
                    let _ = f.enabled();
                }
            }
        }
    }
    match cmdline::parse_cmd(&line) {
        Ok(parsed) => {
            check_span("image", &line, &parsed.cmd.image_span);
            for c in &parsed.constructs {
                check_span("construct", &line, &c.span);
            }
            let _ = parsed.refused().count();
            if let Ok(image) = reference::parse(&parsed.cmd.image) {
                let _ = (image.to_string(), image.for_buildtime(), image.is_scratch());
            }
        }
        Err(e) => {
            check_span("cmd error", &line, &e.span);
            for e in cmdline::flag_value_errors(&line) {
                check_span("cmd flag value error", &line, &e.span);
            }
        }
    }
}

/// The `build` string: the `docker build` flag parser, the context classification, the
/// unsupported-feature check and the `--secret` values (docker CLI CSV form).
pub fn buildargs(data: &[u8]) {
    let line = text(data);
    match buildargs::parse_build(&line) {
        Ok(args) => {
            if let Some(span) = &args.context_span {
                check_span("context", &line, span);
            }
            for c in &args.notes {
                check_span("note", &line, &c.span);
            }
            let _ = (args.context.warning(), args.context.is_remote());
            let _ = ContextKind::classify(args.context.as_str());
            let _ = support::unsupported_build(&args);
            if let Ok(specs) = crate::model::buildsecret::parse_secrets(&args.secrets) {
                for spec in specs {
                    let _ = spec.source(|v| v.len() % 2 == 0);
                }
            }
            for tag in &args.tags {
                let _ = reference::parse(tag);
            }
        }
        Err(errors) => {
            for e in &errors {
                check_span("build error", &line, &e.span);
            }
        }
    }
}

/// `.dockerignore`: the input is the file's text, then (after the first NUL byte) the paths to
/// match, one per line; without a NUL the pattern lines are matched as paths too. Checks that an
/// excluded directory reported as skippable has no included path below it, and that
/// `keep_build_files` keeps the build files.
pub fn dockerignore(data: &[u8]) {
    let all = text(data);
    let (patterns, paths) = match all.split_once('\0') {
        Some((p, rest)) => (p, rest.split('\n').collect::<Vec<_>>()),
        None => (all.as_ref(), all.split('\n').collect()),
    };
    let _ = DockerIgnore::from_patterns(patterns.split('\n'));
    let Ok(mut ignore) = DockerIgnore::parse(patterns) else {
        return;
    };
    let _ = (ignore.patterns(), ignore.has_exceptions(), ignore.len());
    for path in paths.iter().take(64) {
        let excluded = ignore.is_excluded(path);
        let _ = ignore.dir_may_contain_included(path);
        if excluded {
            continue;
        }
        // No excluded parent directory that a walker would skip may hide this included path.
        // Only for paths a walker produces (no empty, `.` or `..` segments).
        if path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            continue;
        }
        for (i, _) in path.match_indices('/') {
            let dir = &path[..i];
            assert!(
                !ignore.is_excluded(dir) || ignore.dir_may_contain_included(dir),
                "`{path}` is included but its directory `{dir}` would be skipped"
            );
        }
    }
    let dockerfile = paths
        .first()
        .copied()
        .filter(|p| !p.is_empty())
        .unwrap_or("Dockerfile");
    ignore.keep_build_files(Some(dockerfile));
    let _ = ignore.is_excluded(".dockerignore");
    let _ = ignore.is_excluded(dockerfile);
}

/// The Dockerfile scanner, with default options and with build args, a target and a platform.
pub fn dockerfile(data: &[u8]) {
    let text = text(data);
    let with_args = ScanOptions {
        build_args: vec![
            ("TAG".to_owned(), Some("1.0".to_owned())),
            ("BASE".to_owned(), Some("alpine".to_owned())),
            ("EMPTY".to_owned(), None),
        ],
        target: Some("build".to_owned()),
        platform: Some("linux/arm64/v8,linux/amd64".to_owned()),
    };
    for opts in [ScanOptions::default(), with_args] {
        match dockerfile::scan(&text, &opts) {
            Ok(scan) => {
                assert!(
                    scan.target < scan.stages.len().max(1),
                    "target out of range"
                );
                for stage in &scan.stages {
                    check_span("FROM", &text, &stage.from_span);
                    check_span("base", &text, &stage.base_span);
                    for s in &stage.sources {
                        check_span("source", &text, &s.span);
                    }
                }
                for image in scan.runtime.iter().chain(&scan.buildtime) {
                    check_span("image", &text, &image.span);
                    let _ = image.image.to_string();
                }
                for arg in &scan.global_args {
                    check_span("ARG", &text, &arg.span);
                }
                for w in &scan.warnings {
                    check_span("warning", &text, &w.span);
                }
            }
            Err(e) => check_span("scan error", &text, &e.span),
        }
    }
}
