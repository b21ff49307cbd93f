//! The `build:` string of a step: `docker build` flags and one context.
//!
//! acb passes the string to `docker build` through `/bin/sh -c` but itself reads it by splitting on
//! whitespace (reference §5.1.1), which misses `-f=x`/`--tag=x`/`--build-arg=x` and a context written
//! right after a boolean flag. taskrun parses it once, with POSIX quoting rules
//! ([`crate::model::shellwords`]) and docker's own (pflag) flag rules, into [`BuildArgs`].
//!
//! Decisions:
//! * Both `--flag value` and `--flag=value` (and `-t x`, `-tx`, `-t=x`) forms; flags and the context
//!   may come in any order; the context is found after boolean flags too (acb bug fixed); default
//!   context `.`.
//! * `--build-arg NAME` (no `=`) is recorded as `(NAME, None)`: docker takes the value from the
//!   environment of the docker CLI, i.e. the step's `env:`.
//! * A build string holds only flags and a context, so host-shell constructs (`&&`, `|`, `>`,
//!   `$VAR`, `$(…)`, line breaks, `~`, `$'…'`) are errors. Comments and globs are reproduced as
//!   acb's shell would (comment dropped, glob kept literally) and returned in [`BuildArgs::notes`]
//!   for a warning.
//! * Every `docker build` flag (legacy builder and buildx) is recognised; those without a typed
//!   field are kept in [`BuildArgs::other`] for the runner to handle or refuse. Unknown flags are
//!   errors with a did-you-mean (`--image`, listed by the ACR docs, points to `--tag`).
//! * A context or Dockerfile of `-` (stdin) is an error: ACR steps have no stdin.
//! * Remote contexts are classified as acb does (`util/url.go`) into [`ContextKind`].
//! * All errors are collected, each with a byte range in the string and a help line.

use std::ops::Range;

use crate::diag::SpanError;
use crate::model::buildresources::BuildResources;
use crate::model::shellwords::{
    self, ConstructKind, FlagErrorKind, FlagItem, FlagSpec, FlagUse, ShellConstruct,
};

/// The parsed `build:` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildArgs {
    /// `-t`/`--tag` values, in order.
    pub tags: Vec<String>,
    /// `-f`/`--file` (last one wins).
    pub dockerfile: Option<String>,
    /// `--build-arg` entries: `K=V` as `(K, Some(V))`, `K` alone as `(K, None)` (value from the
    /// environment of the docker CLI, i.e. the step's `env:`).
    pub build_args: Vec<(String, Option<String>)>,
    /// `--target`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// `--label` entries: `K=V` as `(K, V)`, `K` alone as `(K, "")`.
    pub labels: Vec<(String, String)>,
    /// `--platform`.
    pub platform: Option<String>,
    /// `--network` (of the build's `RUN` instructions).
    pub network: Option<String>,
    /// `--cache-from` values.
    pub cache_from: Vec<String>,
    /// `--add-host` values.
    pub add_hosts: Vec<String>,
    /// `--secret` values, verbatim (`id=x,src=path` / `id=x,env=VAR`).
    pub secrets: Vec<String>,
    /// The flags for the build's `RUN` containers (`--memory`, `--ulimit`, `--isolation`, …) and
    /// `--squash`, for the engine.
    pub resources: BuildResources,
    /// `-q`/`--quiet`.
    pub quiet: bool,
    /// `--rm` (docker's default: true).
    pub rm: bool,
    /// `--force-rm`.
    pub force_rm: bool,
    /// `--iidfile`: on ACR the docker CLI runs in the step's working directory, so a relative path
    /// lands in `/workspace`.
    pub iidfile: Option<String>,
    /// Other genuine `docker build`/`buildx build` flags, in order: canonical long name with
    /// dashes (`--ssh`) and the value (`None` for a bare boolean).
    pub other: Vec<(String, Option<String>)>,
    /// The build context (default `.`).
    pub context: ContextKind,
    /// Byte range of the context word, `None` when defaulted.
    pub context_span: Option<Range<usize>>,
    /// Constructs taskrun reproduces (comments, globs): not errors, but worth a warning.
    pub notes: Vec<ShellConstruct>,
}

impl Default for BuildArgs {
    fn default() -> Self {
        BuildArgs {
            tags: Vec::new(),
            dockerfile: None,
            build_args: Vec::new(),
            target: None,
            no_cache: false,
            pull: false,
            labels: Vec::new(),
            platform: None,
            network: None,
            cache_from: Vec::new(),
            add_hosts: Vec::new(),
            secrets: Vec::new(),
            resources: BuildResources::default(),
            quiet: false,
            rm: true,
            force_rm: false,
            iidfile: None,
            other: Vec::new(),
            context: ContextKind::Local(".".to_string()),
            context_span: None,
            notes: Vec::new(),
        }
    }
}

/// What the build context is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextKind {
    /// A local directory (relative to the step's working directory), as written.
    Local(String),
    /// A git repository: `http(s)://….git[#…]`, Azure DevOps / VSTS `https://…/_git/…`,
    /// `git://…`, `git@…`, `github.com/…`.
    GitUrl {
        /// The context as written.
        raw: String,
        /// The repository URL, without the `#fragment`.
        repo: String,
        /// Branch, tag, commit or ref from `#ref[:subdir]`, if non-empty.
        reference: Option<String>,
        /// Sub-directory from `#ref:subdir`, if non-empty.
        subdir: Option<String>,
    },
    /// An `http(s)://` URL that is not a git repository: a tarball (or a plain Dockerfile).
    TarUrl(String),
    /// An OCI artifact: `oci://registry/repo:tag`.
    Oci(String),
}

impl ContextKind {
    /// Classify a context the way acb does (`util/url.go`, docker's `urlutil`).
    pub fn classify(ctx: &str) -> ContextKind {
        if ctx.starts_with("oci://") {
            return ContextKind::Oci(ctx.to_string());
        }
        if is_git_url(ctx) || is_azure_devops_git_url(ctx) || is_vsts_git_url(ctx) {
            let (repo, fragment) = match ctx.split_once('#') {
                Some((r, f)) => (r, Some(f)),
                None => (ctx, None),
            };
            let (reference, subdir) = match fragment.map(|f| f.split_once(':').unwrap_or((f, ""))) {
                Some((r, d)) => (non_empty(r), non_empty(d)),
                None => (None, None),
            };
            return ContextKind::GitUrl {
                raw: ctx.to_string(),
                repo: repo.to_string(),
                reference,
                subdir,
            };
        }
        if is_http_url(ctx) {
            return ContextKind::TarUrl(ctx.to_string());
        }
        ContextKind::Local(ctx.to_string())
    }

    /// The context as written.
    pub fn as_str(&self) -> &str {
        match self {
            ContextKind::Local(s) | ContextKind::TarUrl(s) | ContextKind::Oci(s) => s,
            ContextKind::GitUrl { raw, .. } => raw,
        }
    }

    /// Whether the context is fetched from elsewhere rather than read from the workspace.
    pub fn is_remote(&self) -> bool {
        !matches!(self, ContextKind::Local(_))
    }

    /// acb's warning for a context that mentions `github` but is not a git URL
    /// (`WARNING: <ctx> might not be valid context. Valid Git repositories should end with .git.`).
    pub fn warning(&self) -> Option<String> {
        let s = self.as_str();
        (s.contains("github") && !s.contains(".git")).then(|| {
            format!("{s} might not be valid context. Valid Git repositories should end with .git.")
        })
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// docker's `urlutil.IsGitURL`: an http(s) URL matching `.git(?:#.+)?$` (unanchored, and with
/// the unescaped `.` matching any character, as in the original), or a `git://`, `github.com/`,
/// `git@` prefix.
fn is_git_url(s: &str) -> bool {
    if is_http_url(s) {
        // `<any char>git` right before the end, or before a `#` that has text after it.
        let git_suffix = |b: &str| b.ends_with("git") && b.chars().count() > 3;
        return git_suffix(s)
            || s.match_indices('#').any(|(at, _)| {
                s.get(..at).is_some_and(git_suffix)
                    && s.get(at + 1..)
                        .is_some_and(|f| !f.is_empty() && !f.contains('\n'))
            });
    }
    ["git://", "github.com/", "git@"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// Host and path of an `https://` URL (lower-cased), when it has no query parameters.
fn https_host_path(s: &str) -> Option<(String, String)> {
    let lower = s.to_lowercase();
    let rest = lower.strip_prefix("https://")?;
    let rest = rest.split('#').next().unwrap_or_default();
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    if query.split('&').any(|kv| !kv.is_empty()) {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    Some((host.to_string(), path.to_string()))
}

fn is_azure_devops_git_url(s: &str) -> bool {
    https_host_path(s).is_some_and(|(h, p)| h.contains("dev.azure.com") && p.contains("/_git/"))
}

fn is_vsts_git_url(s: &str) -> bool {
    https_host_path(s)
        .is_some_and(|(h, p)| h.ends_with(".visualstudio.com") && p.contains("/_git/"))
}

/// What kind of problem a [`BuildArgError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildArgErrorKind {
    /// Unterminated quote, backtick, `$(` or `${`.
    Syntax,
    /// A host-shell construct (`&&`, `|`, `$VAR`, …).
    ShellConstruct(ConstructKind),
    /// A flag `docker build` does not have.
    UnknownFlag,
    /// A flag that needs a value is last.
    MissingValue,
    /// A value docker would reject (`--pull=maybe`, `--build-arg =x`).
    InvalidValue,
    /// More than one positional argument.
    ExtraContext,
    /// An empty context word (`''`).
    EmptyContext,
    /// `-` as the context or Dockerfile (stdin).
    Stdin,
}

/// One problem in a `build:` string (the span is a byte range in the build string).
pub type BuildArgError = SpanError<BuildArgErrorKind>;

/// Every `docker build` flag (legacy builder, as acb uses with `DOCKER_BUILDKIT=0`, and buildx).
pub const BUILD_FLAGS: &[FlagSpec] = &[
    // Typed in `BuildArgs`.
    FlagSpec::value("tag").short('t'),
    FlagSpec::value("file").short('f'),
    FlagSpec::value("build-arg"),
    FlagSpec::value("target"),
    FlagSpec::bool("no-cache"),
    FlagSpec::bool("pull"),
    FlagSpec::value("label"),
    FlagSpec::value("platform"),
    FlagSpec::value("network"),
    FlagSpec::value("cache-from"),
    FlagSpec::value("add-host"),
    FlagSpec::value("secret"),
    FlagSpec::value("isolation"),
    FlagSpec::bool("quiet").short('q'),
    FlagSpec::bool("rm"),
    FlagSpec::bool("force-rm"),
    FlagSpec::bool("squash"),
    FlagSpec::value("iidfile"),
    // Kept in `BuildArgs::other`.
    FlagSpec::value("allow"),
    FlagSpec::value("annotation"),
    FlagSpec::value("attest"),
    FlagSpec::value("build-context"),
    FlagSpec::value("builder"),
    FlagSpec::value("cache-to"),
    FlagSpec::value("call"),
    FlagSpec::value("cgroup-parent"),
    FlagSpec::bool("check"),
    FlagSpec::bool("compress"),
    FlagSpec::value("cpu-period"),
    FlagSpec::value("cpu-quota"),
    FlagSpec::value("cpu-shares").short('c'),
    FlagSpec::value("cpuset-cpus"),
    FlagSpec::value("cpuset-mems"),
    FlagSpec::bool("disable-content-trust"),
    FlagSpec::bool("load"),
    FlagSpec::value("memory").short('m'),
    FlagSpec::value("memory-swap"),
    FlagSpec::value("metadata-file"),
    FlagSpec::value("no-cache-filter"),
    FlagSpec::value("output").short('o'),
    FlagSpec::value("progress"),
    FlagSpec::optional("provenance"),
    FlagSpec::bool("push"),
    FlagSpec::optional("sbom"),
    FlagSpec::value("security-opt"),
    FlagSpec::value("shm-size"),
    FlagSpec::value("ssh"),
    FlagSpec::bool("stream"),
    FlagSpec::value("ulimit"),
];

/// Parse a `build:` string (after template rendering).
///
/// # Errors
///
/// Every problem found, sorted by position: an unterminated quote (alone), host-shell constructs,
/// unknown flags (with a did-you-mean), flags missing values, invalid values, extra positionals, an
/// empty or stdin (`-`) context, a stdin Dockerfile.
pub fn parse_build(s: &str) -> Result<BuildArgs, Vec<BuildArgError>> {
    let lexed = shellwords::lex(s).map_err(|e| {
        vec![BuildArgError {
            kind: BuildArgErrorKind::Syntax,
            message: e.message(),
            span: e.span.clone(),
            help: Some(e.help()),
        }]
    })?;
    let mut out = BuildArgs::default();
    let mut errors = Vec::new();

    for c in lexed.constructs {
        if c.kind.emulated() {
            out.notes.push(c);
        } else {
            errors.push(construct_error(c));
        }
    }

    let words = &lexed.words;
    let parsed = shellwords::parse_flags(words, BUILD_FLAGS, true);
    let mut unknown_flags = false;
    for e in &parsed.errors {
        let kind = match &e.kind {
            FlagErrorKind::MissingValue { .. } => BuildArgErrorKind::MissingValue,
            FlagErrorKind::InvalidBool { .. } => BuildArgErrorKind::InvalidValue,
            FlagErrorKind::UnknownFlag { .. } | FlagErrorKind::UnknownShorthand { .. } => {
                unknown_flags = true;
                BuildArgErrorKind::UnknownFlag
            }
        };
        let help = match &e.kind {
            FlagErrorKind::UnknownFlag { flag, .. } if flag == "--image" => Some(
                "`--image` is not a `docker build` flag (the ACR docs list it by mistake): use `-t`/`--tag`"
                    .to_string(),
            ),
            FlagErrorKind::UnknownFlag { flag, .. } if flag == "--dockerfile" => {
                Some("did you mean `-f`/`--file`?".to_string())
            }
            _ => e.help(),
        };
        let message = match kind {
            BuildArgErrorKind::UnknownFlag => format!("{} for `docker build`", e.message()),
            _ => e.message(),
        };
        errors.push(BuildArgError {
            kind,
            message,
            span: e.span.clone(),
            help,
        });
    }

    let mut positionals = Vec::new();
    for item in &parsed.items {
        match item {
            FlagItem::Flag(flag) => apply(&mut out, flag, &mut errors),
            FlagItem::Positional(k) => {
                if let Some(w) = words.get(*k) {
                    positionals.push(w);
                }
            }
        }
    }

    // With an unknown flag we cannot tell whether it took the next word as its value, so extra
    // positionals are only reported when every flag is known.
    if !unknown_flags && let [first, extra @ ..] = positionals.as_slice() {
        for w in extra {
            errors.push(BuildArgError {
                kind: BuildArgErrorKind::ExtraContext,
                message: format!(
                    "`docker build` takes one context: `{}` is a second one (the first is `{}`)",
                    w.text, first.text
                ),
                span: w.span.clone(),
                help: Some(
                    "check that every flag that needs a value has one, and quote values that contain spaces"
                        .to_string(),
                ),
            });
        }
    }

    if let Some(w) = positionals.first() {
        if w.text.is_empty() {
            errors.push(BuildArgError {
                kind: BuildArgErrorKind::EmptyContext,
                message: "the build context is empty".to_string(),
                span: w.span.clone(),
                help: Some(
                    "write `.` for the working directory; a template value may have rendered empty"
                        .to_string(),
                ),
            });
        } else if w.text == "-" {
            errors.push(BuildArgError {
                kind: BuildArgErrorKind::Stdin,
                message:
                    "a build context of `-` reads from standard input, which ACR steps do not have"
                        .to_string(),
                span: w.span.clone(),
                help: Some("give a directory (`.`) or a URL as the context".to_string()),
            });
        }
        out.context = ContextKind::classify(&w.text);
        out.context_span = Some(w.span.clone());
    }

    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| (e.span.start, e.span.end));
        Err(errors)
    }
}

/// The error for a host-shell construct in a build string.
fn construct_error(c: ShellConstruct) -> BuildArgError {
    let t = c.text.replace('\n', "\\n");
    let (message, help) = match c.kind {
        k if k.is_separator() || k.is_redirect() => (
            if k == ConstructKind::Newline {
                "a line break in a build string separates commands for acb's host shell: the next line would run as a separate command on the build agent".to_string()
            } else {
                format!(
                    "unquoted `{t}` in a build string is acted on by acb's host shell on the build agent, not by `docker build`"
                )
            },
            if k == ConstructKind::Newline {
                "put the whole build string on one line, or use a folded scalar (`build: >`)"
                    .to_string()
            } else {
                format!(
                    "a build string holds only `docker build` flags and the context: run other commands in a `cmd` step, or quote `{t}` if it is part of a value"
                )
            },
        ),
        ConstructKind::Variable
        | ConstructKind::CommandSubstitution
        | ConstructKind::Backtick
        | ConstructKind::Arithmetic => (
            format!(
                "`{t}` in a build string is expanded by acb's host shell on the build agent (usually to nothing), even inside double quotes"
            ),
            "use a template value (`{{.Values.name}}`, `{{.Run.ID}}`), or pass a step `env:` variable through with `--build-arg NAME` (no `=`); single-quote it to pass a literal `$`".to_string(),
        ),
        _ => (c.message(), c.help()),
    };
    BuildArgError {
        kind: BuildArgErrorKind::ShellConstruct(c.kind),
        message,
        span: c.span,
        help: Some(help),
    }
}

/// Record one flag into `out`.
fn apply(out: &mut BuildArgs, flag: &FlagUse<'_>, errors: &mut Vec<BuildArgError>) {
    let value = flag.value.clone().unwrap_or_default();
    match flag.spec.canonical {
        "tag" => out.tags.push(value),
        "file" => {
            if value == "-" {
                errors.push(BuildArgError {
                    kind: BuildArgErrorKind::Stdin,
                    message: format!(
                        "`{} -` reads the Dockerfile from standard input, which ACR steps do not have",
                        flag.written
                    ),
                    span: flag.span.clone(),
                    help: Some("give the Dockerfile's path relative to the working directory".to_string()),
                });
            }
            out.dockerfile = Some(value);
        }
        "build-arg" if value.is_empty() || value.starts_with('=') => {
            errors.push(empty_key(flag, "build argument"));
        }
        "build-arg" => match value.split_once('=') {
            Some((k, v)) => out.build_args.push((k.to_string(), Some(v.to_string()))),
            None => out.build_args.push((value, None)),
        },
        "target" => out.target = Some(value),
        "no-cache" => out.no_cache = flag.enabled(),
        "pull" => out.pull = flag.enabled(),
        "label" if value.is_empty() || value.starts_with('=') => {
            errors.push(empty_key(flag, "label"));
        }
        "label" => match value.split_once('=') {
            Some((k, v)) => out.labels.push((k.to_string(), v.to_string())),
            None => out.labels.push((value, String::new())),
        },
        "platform" => out.platform = Some(value),
        "network" => out.network = Some(value),
        "cache-from" => out.cache_from.push(value),
        "add-host" => out.add_hosts.push(value),
        "secret" => out.secrets.push(value),
        "quiet" => out.quiet = flag.enabled(),
        "rm" => out.rm = flag.enabled(),
        "force-rm" => out.force_rm = flag.enabled(),
        "iidfile" => out.iidfile = Some(value),
        // The docker CLI's own business, nothing for the engine: the context's compression on
        // the way to the engine (either way), and no content-trust check (its default).
        "compress" => {}
        "disable-content-trust" if flag.enabled() => {}
        name if BuildResources::FLAGS.contains(&name) => {
            if let Err(e) = out.resources.set(name, &value, flag.enabled()) {
                errors.push(BuildArgError {
                    kind: BuildArgErrorKind::InvalidValue,
                    message: format!("`{}`: {e}", flag.written),
                    span: flag.span.clone(),
                    help: Some(format!(
                        "write a value `docker build {}` takes",
                        flag.written
                    )),
                });
            }
        }
        other => out.other.push((format!("--{other}"), flag.value.clone())),
    }
}

fn empty_key(flag: &FlagUse<'_>, what: &str) -> BuildArgError {
    BuildArgError {
        kind: BuildArgErrorKind::InvalidValue,
        message: format!("`{}` needs a {what} name", flag.written),
        span: flag.span.clone(),
        help: Some(format!("write `{} NAME=value`", flag.written)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> BuildArgs {
        match parse_build(s) {
            Ok(b) => b,
            Err(e) => panic!("{s:?}: {e:?}"),
        }
    }

    fn errs(s: &str) -> Vec<BuildArgError> {
        match parse_build(s) {
            Ok(b) => panic!("{s:?} parsed: {b:?}"),
            Err(e) => e,
        }
    }

    fn local(s: &str) -> ContextKind {
        ContextKind::Local(s.to_string())
    }

    #[test]
    fn defaults() {
        let b = ok("");
        assert_eq!(b, BuildArgs::default());
        assert_eq!(b.context, local("."));
        assert!(b.rm);
        assert_eq!(b.context_span, None);
    }

    #[test]
    fn typical() {
        let s = "-t $Registry/hello:$ID -f Dockerfile .".replace('$', "");
        let b = ok(&s);
        assert_eq!(b.tags, ["Registry/hello:ID"]);
        assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile"));
        assert_eq!(b.context, local("."));
        assert_eq!(b.context_span, Some(s.len() - 1..s.len()));
    }

    #[test]
    fn context_before_options() {
        let b = ok("src -t a -f src/Dockerfile");
        assert_eq!(b.context, local("src"));
        assert_eq!(b.context_span, Some(0..3));
        assert_eq!(b.tags, ["a"]);
    }

    #[test]
    fn context_after_bool_flags() {
        let b = ok("-t a --pull app");
        assert!(b.pull);
        assert_eq!(b.context, local("app"));
        let b = ok("-t a --no-cache app");
        assert!(b.no_cache);
        assert_eq!(b.context, local("app"));
        let b = ok("--pull=false --no-cache=true app");
        assert!(!b.pull && b.no_cache);
        assert_eq!(b.context, local("app"));
    }

    #[test]
    fn multiple_tags_and_forms() {
        let b = ok("-t a -t=b --tag c --tag=d -te .");
        assert_eq!(b.tags, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn dockerfile_forms() {
        assert_eq!(
            ok("-f=Dockerfile.x .").dockerfile.as_deref(),
            Some("Dockerfile.x")
        );
        assert_eq!(ok("--file=d/D .").dockerfile.as_deref(), Some("d/D"));
        assert_eq!(ok("-fD .").dockerfile.as_deref(), Some("D"));
        assert_eq!(
            ok("--file 'my dir/D' .").dockerfile.as_deref(),
            Some("my dir/D")
        );
    }

    #[test]
    fn build_arg_forms() {
        let b = ok(
            "--build-arg A=1 --build-arg=B=2 --build-arg C --build-arg D= --build-arg 'E=x y' --build-arg F=a=b .",
        );
        assert_eq!(
            b.build_args,
            [
                ("A".to_string(), Some("1".to_string())),
                ("B".to_string(), Some("2".to_string())),
                ("C".to_string(), None),
                ("D".to_string(), Some(String::new())),
                ("E".to_string(), Some("x y".to_string())),
                ("F".to_string(), Some("a=b".to_string())),
            ]
        );
        let e = errs("--build-arg =x .");
        assert_eq!(e[0].kind, BuildArgErrorKind::InvalidValue);
        assert_eq!(e[0].span, 0..14);
        let e = errs("--build-arg= .");
        assert_eq!(e[0].kind, BuildArgErrorKind::InvalidValue);
    }

    #[test]
    fn all_typed_flags() {
        let b = ok(
            "--target t --label a=b --label c --platform linux/arm64 --network host --cache-from x --add-host h:1.1.1.1 --secret id=s,src=f --isolation hyperv -q --rm=false --force-rm --squash --iidfile id.txt .",
        );
        assert_eq!(b.target.as_deref(), Some("t"));
        assert_eq!(
            b.labels,
            [
                ("a".to_string(), "b".to_string()),
                ("c".to_string(), String::new())
            ]
        );
        assert_eq!(b.platform.as_deref(), Some("linux/arm64"));
        assert_eq!(b.network.as_deref(), Some("host"));
        assert_eq!(b.cache_from, ["x"]);
        assert_eq!(b.add_hosts, ["h:1.1.1.1"]);
        assert_eq!(b.secrets, ["id=s,src=f"]);
        assert_eq!(b.resources.isolation.as_deref(), Some("hyperv"));
        assert!(b.quiet && !b.rm && b.force_rm && b.resources.squash);
        assert_eq!(b.iidfile.as_deref(), Some("id.txt"));
    }

    #[test]
    fn other_flags_kept() {
        let b = ok("--ssh default --load --sbom --provenance=false -o type=docker .");
        assert_eq!(
            b.other,
            [
                ("--ssh".to_string(), Some("default".to_string())),
                ("--load".to_string(), None),
                ("--sbom".to_string(), None),
                ("--provenance".to_string(), Some("false".to_string())),
                ("--output".to_string(), Some("type=docker".to_string())),
            ]
        );
        assert_eq!(b.context, local("."));
    }

    #[test]
    fn unknown_flags_collected_with_suggestions() {
        let s = "--build-args A=1 --tags x --no-cahce --image y --dockerfile D .";
        let e = errs(s);
        let msgs: Vec<_> = e
            .iter()
            .map(|e| (e.kind, &s[e.span.clone()], e.help.clone()))
            .collect();
        assert_eq!(msgs.len(), 5, "{msgs:?}");
        assert!(e.iter().all(|e| e.kind == BuildArgErrorKind::UnknownFlag));
        assert_eq!(msgs[0].1, "--build-args");
        assert_eq!(msgs[0].2.as_deref(), Some("did you mean `--build-arg`?"));
        assert_eq!(msgs[1].2.as_deref(), Some("did you mean `--tag`?"));
        assert_eq!(msgs[2].2.as_deref(), Some("did you mean `--no-cache`?"));
        assert!(msgs[3].2.as_deref().is_some_and(|h| h.contains("--tag")));
        assert!(msgs[4].2.as_deref().is_some_and(|h| h.contains("--file")));
        assert!(e[0].message.contains("`--build-args`"));
    }

    #[test]
    fn unknown_short_flag() {
        let e = errs("-x .");
        assert_eq!(e[0].kind, BuildArgErrorKind::UnknownFlag);
        assert!(e[0].message.contains("-x"));
    }

    #[test]
    fn missing_value() {
        let e = errs(". -t");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, BuildArgErrorKind::MissingValue);
        assert_eq!(e[0].span, 2..4);
        let e = errs("--pull=maybe .");
        assert_eq!(e[0].kind, BuildArgErrorKind::InvalidValue);
    }

    #[test]
    fn extra_positionals() {
        let s = "-t a . other third";
        let e = errs(s);
        assert_eq!(e.len(), 2);
        assert!(e.iter().all(|e| e.kind == BuildArgErrorKind::ExtraContext));
        assert_eq!(&s[e[0].span.clone()], "other");
        assert_eq!(&s[e[1].span.clone()], "third");
        assert!(
            e[0].message
                .contains("`other` is a second one (the first is `.`)")
        );
        // The acb bug case: a value-less flag followed by a word is still a flag here.
        let e = errs("--labell x .");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, BuildArgErrorKind::UnknownFlag);
    }

    #[test]
    fn shell_constructs_are_errors() {
        let cases: &[(&str, ConstructKind, &str)] = &[
            ("-t a . && echo hi", ConstructKind::And, "&&"),
            ("-t a . | tee", ConstructKind::Pipe, "|"),
            ("-t a . > log", ConstructKind::RedirectOut, ">"),
            ("-t a:$TAG .", ConstructKind::Variable, "$TAG"),
            ("-t \"a:${TAG}\" .", ConstructKind::Variable, "${TAG}"),
            (
                "-t a:$(date) .",
                ConstructKind::CommandSubstitution,
                "$(date)",
            ),
            ("-t a .; b", ConstructKind::Semicolon, ";"),
            ("-t a\n.", ConstructKind::Newline, "\n"),
            ("-f ~/D .", ConstructKind::Tilde, "~"),
        ];
        for (s, kind, text) in cases {
            let e = errs(s);
            let found = e
                .iter()
                .find(|e| e.kind == BuildArgErrorKind::ShellConstruct(*kind))
                .unwrap_or_else(|| panic!("{s:?}: {e:?}"));
            assert_eq!(&s[found.span.clone()], *text, "{s:?}");
            assert!(found.help.is_some());
        }
    }

    #[test]
    fn quoted_constructs_are_fine() {
        let b = ok("--build-arg 'CMD=a && b' --label \"x=y|z\" --build-arg 'P=$HOME' .");
        assert_eq!(b.build_args[0].1.as_deref(), Some("a && b"));
        assert_eq!(b.labels[0].1, "y|z");
        assert_eq!(b.build_args[1].1.as_deref(), Some("$HOME"));
        assert!(b.notes.is_empty());
    }

    #[test]
    fn trailing_newline_and_comments() {
        let b = ok("-t a .\n");
        assert_eq!(b.context, local("."));
        let b = ok("-t a . # the app");
        assert_eq!(b.notes.len(), 1);
        assert_eq!(b.notes[0].kind, ConstructKind::Comment);
        let b = ok("-t a \\\n  .");
        assert_eq!(b.context, local("."));
    }

    #[test]
    fn glob_is_a_note() {
        let b = ok("--build-arg X=* .");
        assert_eq!(b.build_args[0].1.as_deref(), Some("*"));
        assert_eq!(b.notes[0].kind, ConstructKind::Glob);
    }

    #[test]
    fn stdin_refused() {
        assert_eq!(errs("-t a -")[0].kind, BuildArgErrorKind::Stdin);
        assert_eq!(errs("-f - .")[0].kind, BuildArgErrorKind::Stdin);
    }

    #[test]
    fn empty_context() {
        assert_eq!(errs("-t a ''")[0].kind, BuildArgErrorKind::EmptyContext);
    }

    #[test]
    fn unterminated_quote() {
        let e = errs("-t 'a .");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, BuildArgErrorKind::Syntax);
        assert_eq!(e[0].span, 3..7);
    }

    #[test]
    fn double_dash() {
        let b = ok("-t a -- -odd");
        assert_eq!(b.context, local("-odd"));
    }

    #[test]
    fn url_contexts() {
        let git = |raw: &str, repo: &str, r: Option<&str>, d: Option<&str>| ContextKind::GitUrl {
            raw: raw.to_string(),
            repo: repo.to_string(),
            reference: r.map(str::to_string),
            subdir: d.map(str::to_string),
        };
        let cases = [
            (
                "https://github.com/Azure/acr-builder.git",
                git(
                    "https://github.com/Azure/acr-builder.git",
                    "https://github.com/Azure/acr-builder.git",
                    None,
                    None,
                ),
            ),
            (
                "https://github.com/Azure/acr-builder.git#master:src",
                git(
                    "https://github.com/Azure/acr-builder.git#master:src",
                    "https://github.com/Azure/acr-builder.git",
                    Some("master"),
                    Some("src"),
                ),
            ),
            (
                "https://github.com/Azure/acr-builder.git#:src",
                git(
                    "https://github.com/Azure/acr-builder.git#:src",
                    "https://github.com/Azure/acr-builder.git",
                    None,
                    Some("src"),
                ),
            ),
            (
                "https://github.com/Azure/acr-builder.git#master",
                git(
                    "https://github.com/Azure/acr-builder.git#master",
                    "https://github.com/Azure/acr-builder.git",
                    Some("master"),
                    None,
                ),
            ),
            (
                "git@github.com:Azure/acr.git#v1:dir",
                git(
                    "git@github.com:Azure/acr.git#v1:dir",
                    "git@github.com:Azure/acr.git",
                    Some("v1"),
                    Some("dir"),
                ),
            ),
            (
                "git://host/repo",
                git("git://host/repo", "git://host/repo", None, None),
            ),
            (
                "github.com/Azure/acr",
                git("github.com/Azure/acr", "github.com/Azure/acr", None, None),
            ),
            (
                "https://dev.azure.com/foo/dockerfiles/_git/dockerfiles",
                git(
                    "https://dev.azure.com/foo/dockerfiles/_git/dockerfiles",
                    "https://dev.azure.com/foo/dockerfiles/_git/dockerfiles",
                    None,
                    None,
                ),
            ),
            (
                "https://user:pat@azure.visualstudio.com/ACR/_git/Build/",
                git(
                    "https://user:pat@azure.visualstudio.com/ACR/_git/Build/",
                    "https://user:pat@azure.visualstudio.com/ACR/_git/Build/",
                    None,
                    None,
                ),
            ),
            (
                "https://github.com/Azure/acr-builder",
                ContextKind::TarUrl("https://github.com/Azure/acr-builder".to_string()),
            ),
            (
                "https://github.com/Azure/acr-builder.git#",
                ContextKind::TarUrl("https://github.com/Azure/acr-builder.git#".to_string()),
            ),
            (
                "http://example.com/ctx.tar.gz",
                ContextKind::TarUrl("http://example.com/ctx.tar.gz".to_string()),
            ),
            (
                "oci://myreg.azurecr.io/ctx:1",
                ContextKind::Oci("oci://myreg.azurecr.io/ctx:1".to_string()),
            ),
            ("baseimages/foo", local("baseimages/foo")),
            ("./git", local("./git")),
        ];
        for (ctx, want) in cases {
            assert_eq!(ContextKind::classify(ctx), want, "{ctx}");
            let b = ok(&format!("-t x {ctx}"));
            assert_eq!(b.context, want, "{ctx}");
            assert_eq!(b.context.as_str(), ctx);
        }
        assert!(ContextKind::classify("https://x/y.git").is_remote());
        assert!(!local(".").is_remote());
    }

    #[test]
    fn github_warning() {
        let w = ContextKind::classify("https://github.com/Azure/acr-builder").warning();
        assert_eq!(
            w.as_deref(),
            Some(
                "https://github.com/Azure/acr-builder might not be valid context. Valid Git repositories should end with .git."
            )
        );
        assert_eq!(
            ContextKind::classify("https://github.com/a/b.git").warning(),
            None
        );
    }

    #[test]
    fn utf8_spans() {
        let s = "-t ñandú:ü --bädflag dír";
        let e = errs(s);
        assert_eq!(&s[e[0].span.clone()], "--bädflag");
        let s = "-t ñ:ü dír";
        let b = ok(s);
        assert_eq!(b.context_span.map(|r| &s[r]), Some("dír"));
        let s = "-t ñ:$ÄX .";
        // `$` followed by a non-ASCII letter is literal.
        assert_eq!(ok(s).tags, ["ñ:$ÄX"]);
        let s = "-t \"ñ:$X\" .";
        let e = errs(s);
        assert_eq!(&s[e[0].span.clone()], "$X");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "\\",
            "'",
            "\"",
            "$",
            "${",
            "$(",
            "`",
            "-",
            "--",
            "-=",
            "--=",
            "-t=",
            "--build-arg",
            "--build-arg=",
            "--label=",
            "-\u{e9}",
            "--\u{e9}",
            "https://",
            "https://#",
            "https://?a",
            "https://x.git#",
            "#",
            "\n",
            "a\u{0}b",
            "https://@",
            "oci://",
            "git@",
        ] {
            let _ = parse_build(s);
            let _ = ContextKind::classify(s);
        }
    }
}
