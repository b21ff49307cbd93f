//! The Dockerfile scanner: finds the stages, their base images and the images a build pulls, the
//! way Docker (BuildKit's Dockerfile frontend) reads the file.
//!
//! Only what decides dependencies is interpreted: parser directives (`escape`, `syntax`, `check`),
//! line continuations, comments, heredocs (so their bodies are skipped), global `ARG`s, `FROM`,
//! `COPY --from` and `RUN --mount=…,from=`. Everything else is skipped without complaint.
//!
//! Semantics (Docker's, where acb's own line scanner differs):
//! * `FROM [--platform=<p>] <image> [AS <name>]`; the image and `--platform` are expanded with
//!   the automatic platform ARGs and the **global** ARGs (those before the first `FROM`), in
//!   declaration order, a `--build-arg` replacing a declared ARG's default. Stage-local ARGs never
//!   reach a `FROM`. A `--build-arg` that is not declared is not visible either (warned).
//! * A `FROM` naming an earlier stage (case-insensitive) builds on that stage; `scratch` is no image.
//! * `COPY --from=` takes a stage index, then a stage name (any stage), then `scratch`, else an
//!   image; variables are not expanded there (an error, as in BuildKit). `RUN --mount=…,from=`
//!   takes a stage name, else an image (tmpfs mounts and cache mounts without `from` need nothing).
//! * Only stages the target needs count (BuildKit's reachability from `--target`, default the
//!   last stage, through `FROM <stage>`, `COPY --from` and `--mount from=`).
//! * Runtime dependency = the external origin of the target stage (following `FROM <stage>`);
//!   `None` when that is `scratch`. Build-time = every other image the needed stages pull,
//!   de-duplicated by their Docker name, in order of first appearance in the file.
//!
//! Every error and warning carries a byte span into the text given to [`scan`] (the BOM included).

use std::collections::HashMap;
use std::ops::Range;

use crate::diag::SpanError;

use super::expand::{self, Expanded};
use super::reference::{self, ImageRef, RefErrorKind};

/// What the build command line contributes to the scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// `--build-arg` values in command-line order (a later one wins). `None` is the pass-through
    /// form `--build-arg NAME` (value from the caller's environment), which the scan ignores.
    pub build_args: Vec<(String, Option<String>)>,
    /// `--target`: the stage to build (by name, case-insensitive); default the last stage.
    pub target: Option<String>,
    /// `--platform` of the build, for `TARGETPLATFORM`/`TARGETOS`/`TARGETARCH`/`TARGETVARIANT`;
    /// default [`host_platform`]. With a comma-separated list the first platform is used.
    pub platform: Option<String>,
}

/// The result of [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Every stage, in file order.
    pub stages: Vec<Stage>,
    /// Index of the stage that is built (the `--target`, else the last).
    pub target: usize,
    /// The target stage's external base image; `None` when it is `scratch`.
    pub runtime: Option<ImageUse>,
    /// Every other image the needed stages pull, de-duplicated, in order of first appearance.
    pub buildtime: Vec<ImageUse>,
    /// The global ARGs (before the first `FROM`), in order, with the values `FROM` sees.
    pub global_args: Vec<GlobalArg>,
    /// The active escape character (`\` unless `# escape=`` ` ``).
    pub escape: char,
    /// The `# syntax=` directive, if any.
    pub syntax: Option<String>,
    /// Things that do not stop the scan but deserve a look.
    pub warnings: Vec<Warning>,
}

/// One `FROM` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position among the stages (what `COPY --from=<n>` names).
    pub index: usize,
    /// The `AS` name, lower-cased as Docker does.
    pub name: Option<String>,
    /// What the stage builds on.
    pub base: Base,
    /// Byte span of the whole `FROM` instruction (all its physical lines).
    pub from_span: Range<usize>,
    /// Byte span of the image word of the `FROM`.
    pub base_span: Range<usize>,
    /// The expanded `--platform` flag of the `FROM`, if any.
    pub platform: Option<String>,
    /// `COPY --from` and `RUN --mount from=` references in this stage, in order.
    pub sources: Vec<Source>,
    /// Whether the target needs this stage (only needed stages contribute dependencies).
    pub needed: bool,
}

/// What a `FROM` (or a `--from`) refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// An external image.
    Image(ImageUse),
    /// Another stage, by index.
    Stage(usize),
    /// The empty image.
    Scratch,
}

/// How an image or stage is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `FROM <image>`.
    From,
    /// `COPY --from=<image|stage|index>`.
    CopyFrom,
    /// `RUN --mount=…,from=<image|stage>`.
    MountFrom,
}

/// An external image named in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// The name after ARG expansion (e.g. `node:15-alpine`).
    pub name: String,
    /// The parsed reference (acb's fields plus the Docker name for lookups).
    pub image: ImageRef,
    /// Byte span of the word that names it.
    pub span: Range<usize>,
    /// The stage it appears in.
    pub stage: usize,
    /// Which instruction names it.
    pub via: Via,
}

/// A `COPY --from` or `RUN --mount from=` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Which instruction.
    pub via: Via,
    /// What it resolves to.
    pub from: Base,
    /// Byte span of the value.
    pub span: Range<usize>,
}

/// A global ARG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalArg {
    /// Its name.
    pub name: String,
    /// The value `FROM` lines see: the `--build-arg` value, else the expanded default; `None`
    /// when neither exists (Docker then expands it to an empty string).
    pub value: Option<String>,
    /// Whether the value came from `--build-arg`.
    pub from_build_arg: bool,
    /// Byte span of the declaration word.
    pub span: Range<usize>,
}

/// A non-fatal finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What kind.
    pub kind: WarningKind,
    /// One sentence.
    pub message: String,
    /// Where (may be empty, e.g. `0..0` for a problem with the options).
    pub span: Range<usize>,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// A variable in a `FROM` or global ARG default is not defined; it expands to nothing.
    UndefinedVariable,
    /// A `--build-arg` used by a `FROM` was never declared by a global ARG, so `FROM` sees nothing.
    UndeclaredBuildArg,
    /// A whitespace-only line inside a continuation (Docker warns; a future error).
    EmptyContinuationLine,
    /// A stage named `scratch` or `context`.
    ReservedStageName,
    /// Two stages with the same name (the later one wins for later references).
    DuplicateStageName,
    /// A `FROM` names a stage defined later; Docker treats it as an image.
    LaterStage,
    /// Several `--platform` values; the first is used for the automatic ARGs.
    MultiplePlatforms,
}

/// Why the Dockerfile could not be scanned (the span is `0..0` for problems that have no place
/// in the file, like an unknown target).
pub type ScanError = SpanError<ScanErrorKind>;

/// The kinds of [`ScanError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanErrorKind {
    /// No `FROM` at all (acb: `unexpected dockerfile format`).
    NoFrom,
    /// A `FROM` with the wrong number of arguments or without an image.
    MalformedFrom,
    /// An unknown flag, or a flag without a value.
    BadFlag,
    /// An `ARG` without a name.
    MalformedArg,
    /// An `AS` name Docker rejects.
    InvalidStageName,
    /// A `FROM` image that expands to nothing.
    EmptyBaseName,
    /// An image that is not a valid reference.
    InvalidReference,
    /// A `${…}` syntax error or a `${X:?msg}` failure.
    BadSubstitution,
    /// A duplicate parser directive or an invalid `escape` value.
    InvalidDirective,
    /// A heredoc without its terminator line.
    UnterminatedHeredoc,
    /// `COPY --from=<n>` with no stage `n`.
    InvalidStageIndex,
    /// `COPY --from` with a variable (Docker does not expand it).
    VariableInCopyFrom,
    /// Stages that depend on each other.
    CircularDependency,
    /// `--target` names no stage.
    UnknownTarget,
}

/// The platform Docker uses by default: `linux/<GOARCH>` of this machine.
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "arm" => "arm/v7",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        other => other,
    };
    format!("linux/{arch}")
}

/// Splits and normalises a platform string into (os, arch, variant) as containerd does
/// (`x86_64` → `amd64`, `aarch64` → `arm64`, `arm` → `arm/v7`, `arm64/v8` → `arm64`).
fn split_platform(p: &str) -> (String, String, String) {
    let mut parts = p.trim().split('/').map(str::to_ascii_lowercase);
    let os = parts
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "linux".to_owned());
    let arch = parts.next().unwrap_or_default();
    let variant = parts.next().unwrap_or_default();
    let (arch, variant) = match (arch.as_str(), variant.as_str()) {
        ("x86_64" | "x86-64" | "amd64", "v1") => ("amd64".to_owned(), String::new()),
        ("x86_64" | "x86-64", v) => ("amd64".to_owned(), v.to_owned()),
        ("aarch64" | "arm64", "v8" | "8") => ("arm64".to_owned(), String::new()),
        ("aarch64", v) => ("arm64".to_owned(), v.to_owned()),
        ("armhf", _) => ("arm".to_owned(), "v7".to_owned()),
        ("armel", _) => ("arm".to_owned(), "v6".to_owned()),
        ("arm", "") => ("arm".to_owned(), "v7".to_owned()),
        ("arm", v) => ("arm".to_owned(), format!("v{}", v.trim_start_matches('v'))),
        ("i386" | "i686", v) => ("386".to_owned(), v.to_owned()),
        (a, v) => (a.to_owned(), v.to_owned()),
    };
    (os, arch, variant)
}

/// The automatic platform ARGs for a target platform and the build platform.
fn automatic_args(target: &str, build: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (prefix, p) in [("TARGET", target), ("BUILD", build)] {
        let (os, arch, variant) = split_platform(p);
        let platform = if variant.is_empty() {
            format!("{os}/{arch}")
        } else {
            format!("{os}/{arch}/{variant}")
        };
        out.push((format!("{prefix}PLATFORM"), platform));
        out.push((format!("{prefix}OS"), os));
        out.push((format!("{prefix}ARCH"), arch));
        out.push((format!("{prefix}VARIANT"), variant));
    }
    out
}

/// Scans a Dockerfile's text. See the module docs for the semantics.
pub fn scan(text: &str, opts: &ScanOptions) -> Result<Scan, ScanError> {
    let mut p = Parser::new(text, opts);
    p.run()?;
    p.finish(opts)
}

fn error(kind: ScanErrorKind, message: impl Into<String>, span: Range<usize>) -> ScanError {
    ScanError {
        kind,
        message: message.into(),
        span,
        help: None,
    }
}

trait WithHelp {
    fn help(self, help: impl Into<String>) -> Self;
}

impl WithHelp for ScanError {
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// An instruction's text with continuations joined, and the map back to the source.
struct Logical {
    text: String,
    /// (offset in `text`, offset in the source) for each joined piece.
    segs: Vec<(usize, usize)>,
    /// Source span of the instruction's physical lines.
    start: usize,
    end: usize,
}

impl Logical {
    fn push(&mut self, piece: &str, src: usize) {
        if !piece.is_empty() {
            self.segs.push((self.text.len(), src));
            self.text.push_str(piece);
        }
    }

    fn src(&self, off: usize) -> usize {
        let k = self.segs.partition_point(|s| s.0 <= off);
        match k.checked_sub(1).and_then(|k| self.segs.get(k)) {
            Some((l, s)) => s + (off - l),
            None => self.start,
        }
    }

    /// Source span of a byte range of `text`.
    fn span(&self, r: Range<usize>) -> Range<usize> {
        if r.end <= r.start {
            let s = self.src(r.start);
            s..s
        } else {
            self.src(r.start)..self.src(r.end - 1) + 1
        }
    }
}

/// Pending `COPY --from` / `--mount from=` to resolve once every stage is known.
struct Pending {
    stage: usize,
    via: Via,
    value: String,
    span: Range<usize>,
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    escape: char,
    syntax: Option<String>,
    build_args: HashMap<String, String>,
    automatic: HashMap<String, String>,
    env: HashMap<String, String>,
    global_args: Vec<GlobalArg>,
    stages: Vec<Stage>,
    names: HashMap<String, usize>,
    pending: Vec<Pending>,
    warnings: Vec<Warning>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, opts: &ScanOptions) -> Self {
        let mut warnings = Vec::new();
        let host = host_platform();
        let target = match opts.platform.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => {
                let mut list = p.split(',').map(str::trim).filter(|s| !s.is_empty());
                let first = list.next().unwrap_or(&host).to_owned();
                if list.next().is_some() {
                    warnings.push(Warning {
                        kind: WarningKind::MultiplePlatforms,
                        message: format!(
                            "several platforms given ({p}); the scan uses {first} for TARGETPLATFORM"
                        ),
                        span: 0..0,
                    });
                }
                first
            }
            _ => host.clone(),
        };
        let automatic: HashMap<String, String> =
            automatic_args(&target, &host).into_iter().collect();
        let build_args = opts
            .build_args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
            .collect();
        Parser {
            text,
            pos: if text.starts_with('\u{feff}') { 3 } else { 0 },
            escape: '\\',
            syntax: None,
            build_args,
            env: automatic.clone(),
            automatic,
            global_args: Vec::new(),
            stages: Vec::new(),
            names: HashMap::new(),
            pending: Vec::new(),
            warnings,
        }
    }

    /// The next physical line: (start offset, content without the line ending).
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        let text = self.text;
        if self.pos >= text.len() {
            return None;
        }
        let start = self.pos;
        let rest = text.get(start..)?;
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], start + i + 1),
            None => (rest, text.len()),
        };
        self.pos = next;
        Some((start, line.strip_suffix('\r').unwrap_or(line)))
    }

    fn warn(&mut self, kind: WarningKind, message: impl Into<String>, span: Range<usize>) {
        self.warnings.push(Warning {
            kind,
            message: message.into(),
            span,
        });
    }

    /// Strips a trailing escape character (plus blanks after it): (content, continues).
    fn trim_continuation<'s>(&self, s: &'s str) -> (&'s str, bool) {
        let t = s.trim_end_matches([' ', '\t']);
        match t.strip_suffix(self.escape) {
            Some(body) => (body, true),
            None => (s, false),
        }
    }

    fn run(&mut self) -> Result<(), ScanError> {
        let mut directives = true;
        let mut seen: Vec<String> = Vec::new();
        while let Some((start, line)) = self.next_line() {
            let lead = line.len() - line.trim_start().len();
            let content = &line[lead..];
            if directives {
                match parse_directive(content) {
                    Some((name, value))
                        if matches!(name.as_str(), "escape" | "syntax" | "check") =>
                    {
                        let span = start + lead..start + line.len();
                        if seen.contains(&name) {
                            return Err(error(
                                ScanErrorKind::InvalidDirective,
                                format!("only one {name} parser directive can be used"),
                                span,
                            ));
                        }
                        match name.as_str() {
                            "escape" => {
                                self.escape = match value.as_str() {
                                    "\\" => '\\',
                                    "`" => '`',
                                    _ => {
                                        return Err(error(
                                            ScanErrorKind::InvalidDirective,
                                            format!(
                                                "invalid escape token '{value}' does not validate"
                                            ),
                                            span,
                                        )
                                        .help("the escape character must be \\ or `"));
                                    }
                                }
                            }
                            "syntax" => self.syntax = Some(value),
                            _ => {}
                        }
                        seen.push(name);
                        continue;
                    }
                    _ => directives = false,
                }
            }
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let mut logical = Logical {
                text: String::new(),
                segs: Vec::new(),
                start: start + lead,
                end: start + line.len(),
            };
            let (piece, mut more) = self.trim_continuation(content);
            logical.push(piece, start + lead);
            while more {
                let Some((s, l)) = self.next_line() else {
                    break;
                };
                let trimmed = l.trim_start();
                if trimmed.starts_with('#') {
                    continue;
                }
                if trimmed.is_empty() {
                    self.warn(
                        WarningKind::EmptyContinuationLine,
                        "empty continuation line (Docker warns; it will become an error)",
                        s..s + l.len(),
                    );
                    continue;
                }
                let (piece, m) = self.trim_continuation(l);
                logical.push(piece, s);
                logical.end = s + l.len();
                more = m;
            }
            if logical.text.trim().is_empty() {
                continue;
            }
            self.instruction(&logical)?;
        }
        Ok(())
    }

    fn instruction(&mut self, l: &Logical) -> Result<(), ScanError> {
        let t = l.text.as_str();
        let kw_end = t.find(is_blank).unwrap_or(t.len());
        let keyword = t[..kw_end].to_ascii_uppercase();
        let rest_start = t[kw_end..]
            .find(|c: char| !is_blank(c))
            .map_or(t.len(), |i| kw_end + i);
        match keyword.as_str() {
            "FROM" => self.from(l, rest_start),
            "ARG" if self.stages.is_empty() => self.global_arg(l, rest_start),
            "COPY" | "ADD" | "RUN" => {
                let (flags, args_start) = flags(t, rest_start, self.escape);
                if !self.stages.is_empty() {
                    match keyword.as_str() {
                        "COPY" => self.copy_from(l, &flags)?,
                        "RUN" => self.mounts(l, &flags)?,
                        _ => {}
                    }
                }
                self.heredocs(l, args_start)
            }
            _ => Ok(()),
        }
    }

    /// Looks a variable up for `FROM` and global ARG expansion.
    fn expand(&mut self, l: &Logical, word: Range<usize>) -> Result<String, ScanError> {
        let env = &self.env;
        let lookup = |n: &str| env.get(n).map(String::as_str);
        let raw = &l.text[word.clone()];
        let Expanded { value, undefined } = expand::process_word(raw, self.escape, &lookup)
            .map_err(|e| {
                error(
                    ScanErrorKind::BadSubstitution,
                    format!("cannot expand {raw:?}: {}", e.message),
                    l.span(word.start + e.range.start..word.start + e.range.end),
                )
            })?;
        for (name, r) in undefined {
            let span = l.span(word.start + r.start..word.start + r.end);
            if self.build_args.contains_key(&name) {
                self.warn(
                    WarningKind::UndeclaredBuildArg,
                    format!(
                        "{name} is passed with --build-arg but not declared by an ARG before the first FROM, so it expands to an empty string here"
                    ),
                    span,
                );
            } else {
                self.warn(
                    WarningKind::UndefinedVariable,
                    format!("{name} is not defined, so it expands to an empty string"),
                    span,
                );
            }
        }
        Ok(value)
    }

    fn global_arg(&mut self, l: &Logical, rest: usize) -> Result<(), ScanError> {
        let words = quoted_words(&l.text, rest, self.escape);
        if words.is_empty() {
            return Err(error(
                ScanErrorKind::MalformedArg,
                "ARG requires at least one argument",
                l.start..l.end,
            ));
        }
        for w in words {
            let raw = &l.text[w.clone()];
            let (name, default) = match raw.split_once('=') {
                Some((n, _)) => (n.to_owned(), Some(w.start + n.len() + 1..w.end)),
                None => (raw.to_owned(), None),
            };
            if name.is_empty() {
                return Err(error(
                    ScanErrorKind::MalformedArg,
                    "ARG names can not be blank",
                    l.span(w),
                ));
            }
            let (value, from_build_arg) = match (self.build_args.get(&name), default) {
                (Some(v), _) => (Some(v.clone()), true),
                (None, Some(d)) => (Some(self.expand(l, d)?), false),
                (None, None) => (None, false),
            };
            let effective = value
                .clone()
                .or_else(|| self.automatic.get(&name).cloned())
                .unwrap_or_default();
            self.env.insert(name.clone(), effective);
            self.global_args.push(GlobalArg {
                name,
                value,
                from_build_arg,
                span: l.span(w),
            });
        }
        Ok(())
    }

    fn from(&mut self, l: &Logical, rest: usize) -> Result<(), ScanError> {
        let t = l.text.as_str();
        let index = self.stages.len();
        let from_span = l.start..l.end;
        let usage = "write FROM [--platform=<platform>] <image> [AS <name>]";
        let (flag_words, args_start) = flags(t, rest, self.escape);
        let mut platform = None;
        for f in flag_words {
            let word = &t[f.clone()];
            let body = &word[2..];
            let (name, value) = match body.split_once('=') {
                Some((n, _)) => (n, Some(f.start + 2 + n.len() + 1..f.end)),
                None => (body, None),
            };
            if name != "platform" {
                return Err(error(
                    ScanErrorKind::BadFlag,
                    format!("unknown flag: {name}"),
                    l.span(f),
                )
                .help("FROM only takes --platform=<platform>"));
            }
            let Some(v) = value else {
                return Err(error(
                    ScanErrorKind::BadFlag,
                    "missing a value on flag: platform",
                    l.span(f),
                )
                .help("write --platform=<platform>"));
            };
            platform = Some(self.expand(l, v)?);
        }
        let args = fields(t, args_start);
        let (image_word, name_word) = match args.as_slice() {
            [image] => (image.clone(), None),
            [image, as_kw, name] if t[as_kw.clone()].eq_ignore_ascii_case("as") => {
                (image.clone(), Some(name.clone()))
            }
            [] => {
                return Err(error(
                    ScanErrorKind::MalformedFrom,
                    "FROM requires either one or three arguments: no image given",
                    from_span,
                )
                .help(usage));
            }
            _ => {
                let extra = args.first().map_or(0, |a| a.start)..args.last().map_or(0, |a| a.end);
                return Err(error(
                    ScanErrorKind::MalformedFrom,
                    format!(
                        "FROM requires either one or three arguments: got {:?}",
                        t[args_start..].trim_end()
                    ),
                    l.span(extra),
                )
                .help(usage));
            }
        };
        let base_span = l.span(image_word.clone());
        let raw_image = t[image_word.clone()].to_owned();
        let expanded = self.expand(l, image_word)?;
        if expanded.is_empty() {
            return Err(error(
                ScanErrorKind::EmptyBaseName,
                format!("base name ({raw_image}) should not be blank"),
                base_span,
            )
            .help("give the ARG a default, or pass it with --build-arg"));
        }
        let base = match self.names.get(&expanded.to_ascii_lowercase()) {
            Some(&j) => Base::Stage(j),
            None if expanded == "scratch" => Base::Scratch,
            None => Base::Image(image_use(&expanded, base_span.clone(), index, Via::From)?),
        };
        let name = match name_word {
            Some(w) => {
                let written = &t[w.clone()];
                let lower = written.to_ascii_lowercase();
                let span = l.span(w);
                if !is_stage_name(&lower) {
                    return Err(error(
                        ScanErrorKind::InvalidStageName,
                        format!(
                            "invalid name for build stage: {written:?}, name can't start with a number or contain symbols"
                        ),
                        span,
                    ));
                }
                if lower == "scratch" || lower == "context" {
                    self.warn(
                        WarningKind::ReservedStageName,
                        format!("{lower:?} is reserved and should not be used as a stage name"),
                        span.clone(),
                    );
                }
                if self.names.contains_key(&lower) {
                    self.warn(
                        WarningKind::DuplicateStageName,
                        format!("duplicate stage name {lower:?}; later references use this stage"),
                        span,
                    );
                }
                self.names.insert(lower.clone(), index);
                Some(lower)
            }
            None => None,
        };
        self.stages.push(Stage {
            index,
            name,
            base,
            from_span,
            base_span,
            platform,
            sources: Vec::new(),
            needed: false,
        });
        Ok(())
    }

    fn copy_from(&mut self, l: &Logical, flags: &[Range<usize>]) -> Result<(), ScanError> {
        let stage = self.stages.len().saturating_sub(1);
        for f in flags {
            let word = &l.text[f.clone()];
            let body = &word[2..];
            let (name, value) = match body.split_once('=') {
                Some((n, _)) => (n, Some(f.start + 2 + n.len() + 1..f.end)),
                None => (body, None),
            };
            if name != "from" {
                continue;
            }
            let Some(v) = value else {
                return Err(error(
                    ScanErrorKind::BadFlag,
                    "missing a value on flag: from",
                    l.span(f.clone()),
                )
                .help("write --from=<stage|image>"));
            };
            let span = l.span(v.clone());
            let literal = expand::unquote(&l.text[v], self.escape);
            let env = &self.env;
            let lookup = |n: &str| env.get(n).map(String::as_str);
            let expanded = expand::process_word(&literal, self.escape, &lookup);
            if literal.contains('$') && expanded.map(|e| e.value).as_deref() != Ok(literal.as_str())
            {
                return Err(error(
                    ScanErrorKind::VariableInCopyFrom,
                    "variable expansion is not supported for --from",
                    span,
                )
                .help("define a new stage with FROM using ARG from global scope as a workaround"));
            }
            self.pending.push(Pending {
                stage,
                via: Via::CopyFrom,
                value: literal,
                span,
            });
        }
        Ok(())
    }

    fn mounts(&mut self, l: &Logical, flags: &[Range<usize>]) -> Result<(), ScanError> {
        let stage = self.stages.len().saturating_sub(1);
        for f in flags {
            let word = &l.text[f.clone()];
            let body = &word[2..];
            let (name, value) = match body.split_once('=') {
                Some((n, _)) => (n, f.start + 2 + n.len() + 1),
                None => (body, f.end),
            };
            if name != "mount" {
                continue;
            }
            if value >= f.end {
                return Err(error(
                    ScanErrorKind::BadFlag,
                    "missing a value on flag: mount",
                    l.span(f.clone()),
                )
                .help("write --mount=type=<type>,…"));
            }
            // Quotes around (parts of) the flag are removed first, as Docker's flag parser does;
            // spans are exact when there were none.
            let raw = &l.text[value..f.end];
            let spec = expand::unquote(raw, self.escape);
            let exact = spec == raw;
            let mut kind = String::from("bind");
            let mut from = None;
            for field in csv_fields(&spec) {
                let text = &spec[field.clone()];
                let (key, val) = text.split_once('=').unwrap_or((text, ""));
                let span = if exact {
                    l.span(value + field.start + key.len() + 1..value + field.end)
                } else {
                    l.span(f.clone())
                };
                let val = expand::unquote(val, '\0');
                match key.trim().to_ascii_lowercase().as_str() {
                    "type" => kind = val.to_ascii_lowercase(),
                    "from" => from = Some((val, span)),
                    _ => {}
                }
            }
            if kind == "tmpfs" {
                continue;
            }
            if let Some((value, span)) = from.filter(|(v, _)| !v.is_empty()) {
                self.pending.push(Pending {
                    stage,
                    via: Via::MountFrom,
                    value,
                    span,
                });
            }
        }
        Ok(())
    }

    /// Skips the bodies of the heredocs the instruction opens.
    fn heredocs(&mut self, l: &Logical, args_start: usize) -> Result<(), ScanError> {
        let args = l.text[args_start..].trim();
        if args.starts_with('[') && serde_json::from_str::<Vec<String>>(args).is_ok() {
            return Ok(());
        }
        for w in quoted_words(&l.text, args_start, '\\') {
            let Some((name, chomp)) = parse_heredoc(&l.text[w.clone()]) else {
                continue;
            };
            let mut terminated = false;
            while let Some((_, line)) = self.next_line() {
                let candidate = if chomp {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if candidate == name {
                    terminated = true;
                    break;
                }
            }
            if !terminated {
                return Err(error(
                    ScanErrorKind::UnterminatedHeredoc,
                    format!("unterminated heredoc: no line {name:?} closes it"),
                    l.span(w),
                ));
            }
        }
        Ok(())
    }

    fn resolve(&self, p: &Pending) -> Result<Base, ScanError> {
        if p.via == Via::CopyFrom
            && let Ok(i) = p.value.parse::<i64>()
        {
            return match usize::try_from(i).ok().filter(|&i| i < self.stages.len()) {
                Some(i) => Ok(Base::Stage(i)),
                None => Err(error(
                    ScanErrorKind::InvalidStageIndex,
                    format!(
                        "invalid stage index {i}: the Dockerfile has {} stage(s), numbered from 0",
                        self.stages.len()
                    ),
                    p.span.clone(),
                )),
            };
        }
        if let Some(&j) = self.names.get(&p.value.to_ascii_lowercase()) {
            return Ok(Base::Stage(j));
        }
        if p.value == "scratch" {
            return Ok(Base::Scratch);
        }
        Ok(Base::Image(image_use(
            &p.value,
            p.span.clone(),
            p.stage,
            p.via,
        )?))
    }

    fn finish(mut self, opts: &ScanOptions) -> Result<Scan, ScanError> {
        if self.stages.is_empty() {
            return Err(error(
                ScanErrorKind::NoFrom,
                "no FROM instruction: the Dockerfile defines no build stage (acb: unexpected dockerfile format)",
                0..0,
            )
            .help("a Dockerfile needs at least one FROM <image>"));
        }
        for p in std::mem::take(&mut self.pending) {
            let from = self.resolve(&p)?;
            if let Some(stage) = self.stages.get_mut(p.stage) {
                stage.sources.push(Source {
                    via: p.via,
                    from,
                    span: p.span,
                });
            }
        }
        self.later_stage_warnings();
        self.check_cycles()?;

        let target = match &opts.target {
            Some(t) => {
                let found = self
                    .stages
                    .iter()
                    .rev()
                    .find(|s| s.name.as_deref() == Some(t.to_ascii_lowercase().as_str()));
                match found {
                    Some(s) => s.index,
                    None => {
                        let names: Vec<&str> = self
                            .stages
                            .iter()
                            .filter_map(|s| s.name.as_deref())
                            .collect();
                        let list = if names.is_empty() {
                            "none of the stages has a name".to_owned()
                        } else {
                            format!("the stages are: {}", names.join(", "))
                        };
                        return Err(error(
                            ScanErrorKind::UnknownTarget,
                            format!("target stage {t:?} could not be found; {list}"),
                            0..0,
                        )
                        .help("--target takes the name given with FROM … AS <name>"));
                    }
                }
            }
            None => self.stages.len() - 1,
        };

        // Reachability from the target.
        let mut stack = vec![target];
        while let Some(i) = stack.pop() {
            let Some(stage) = self.stages.get_mut(i) else {
                continue;
            };
            if stage.needed {
                continue;
            }
            stage.needed = true;
            if let Base::Stage(j) = stage.base {
                stack.push(j);
            }
            for s in &stage.sources {
                if let Base::Stage(j) = s.from {
                    stack.push(j);
                }
            }
        }

        // Runtime: follow FROM <stage> to the external origin (bases only point backwards).
        let mut origin = target;
        let runtime = loop {
            match self.stages.get(origin).map(|s| &s.base) {
                Some(Base::Stage(j)) if *j < origin => origin = *j,
                Some(Base::Image(u)) => break Some(u.clone()),
                _ => break None,
            }
        };

        let mut uses: Vec<&ImageUse> = Vec::new();
        for s in self.stages.iter().filter(|s| s.needed) {
            if let Base::Image(u) = &s.base {
                uses.push(u);
            }
            for src in &s.sources {
                if let Base::Image(u) = &src.from {
                    uses.push(u);
                }
            }
        }
        uses.sort_by_key(|u| u.span.start);
        let mut seen: Vec<&str> = runtime
            .iter()
            .map(|u| u.image.docker_name.as_str())
            .collect();
        let mut buildtime = Vec::new();
        for u in uses {
            if !seen.contains(&u.image.docker_name.as_str()) {
                seen.push(&u.image.docker_name);
                buildtime.push(u.clone());
            }
        }

        Ok(Scan {
            target,
            runtime,
            buildtime,
            global_args: self.global_args,
            escape: self.escape,
            syntax: self.syntax,
            warnings: self.warnings,
            stages: self.stages,
        })
    }

    fn later_stage_warnings(&mut self) {
        let mut found = Vec::new();
        for s in &self.stages {
            if let Base::Image(u) = &s.base
                && let Some(&j) = self.names.get(&u.name.to_ascii_lowercase())
                && j > s.index
            {
                found.push((u.name.clone(), j, u.span.clone()));
            }
        }
        for (name, j, span) in found {
            self.warn(
                WarningKind::LaterStage,
                format!(
                    "{name:?} is the name of stage {j}, which comes later; FROM can only build on earlier stages, so this pulls an image"
                ),
                span,
            );
        }
    }

    /// Errors on stages that (transitively) depend on themselves.
    fn check_cycles(&self) -> Result<(), ScanError> {
        // 0 = unvisited, 1 = on the current path, 2 = done
        let mut state = vec![0u8; self.stages.len()];
        for root in 0..self.stages.len() {
            if state.get(root) != Some(&0) {
                continue;
            }
            // (stage, next edge index)
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            if let Some(s) = state.get_mut(root) {
                *s = 1;
            }
            while let Some(&mut (i, ref mut e)) = stack.last_mut() {
                let edges = self.edges(i);
                if let Some((j, span)) = edges.get(*e).cloned() {
                    *e += 1;
                    match state.get(j) {
                        Some(1) => {
                            let name = self
                                .stages
                                .get(j)
                                .and_then(|s| s.name.clone())
                                .unwrap_or_else(|| j.to_string());
                            return Err(error(
                                ScanErrorKind::CircularDependency,
                                format!("circular dependency detected on stage: {name}"),
                                span,
                            ));
                        }
                        Some(0) => {
                            if let Some(s) = state.get_mut(j) {
                                *s = 1;
                            }
                            stack.push((j, 0));
                        }
                        _ => {}
                    }
                } else {
                    if let Some(s) = state.get_mut(i) {
                        *s = 2;
                    }
                    stack.pop();
                }
            }
        }
        Ok(())
    }

    /// Stage-to-stage edges of stage `i`, with the span that creates each.
    fn edges(&self, i: usize) -> Vec<(usize, Range<usize>)> {
        let Some(s) = self.stages.get(i) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Base::Stage(j) = s.base {
            out.push((j, s.base_span.clone()));
        }
        for src in &s.sources {
            if let Base::Stage(j) = src.from {
                out.push((j, src.span.clone()));
            }
        }
        out
    }
}

fn image_use(
    name: &str,
    span: Range<usize>,
    stage: usize,
    via: Via,
) -> Result<ImageUse, ScanError> {
    match reference::parse(name) {
        Ok(image) => Ok(ImageUse {
            name: name.to_owned(),
            image,
            span,
            stage,
            via,
        }),
        Err(e) => {
            let help = match e.kind {
                RefErrorKind::Uppercase => {
                    "image names must be lower case (tags may use upper case)"
                }
                _ => "an image reference looks like [registry/]repository[:tag][@sha256:digest]",
            };
            Err(error(ScanErrorKind::InvalidReference, e.to_string(), span).help(help))
        }
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r')
}

/// Whitespace-separated fields of `t[from..]`, as ranges of `t`.
fn fields(t: &str, from: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in t[from..].char_indices() {
        let i = from + i;
        if is_blank(c) {
            if let Some(s) = start.take() {
                out.push(s..i);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(s..t.len());
    }
    out
}

/// Shell-like words of `t[from..]` (quotes and escapes keep blanks inside a word; nothing is
/// removed), as ranges of `t`.
fn quoted_words(t: &str, from: usize, escape: char) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    let mut it = t[from..].char_indices().map(|(i, c)| (from + i, c));
    while let Some((i, c)) = it.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == escape && q == '"' {
                it.next();
            }
            continue;
        }
        if is_blank(c) {
            if let Some(s) = start.take() {
                out.push(s..i);
            }
            continue;
        }
        if start.is_none() {
            start = Some(i);
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
        } else if c == escape {
            it.next();
        }
    }
    if let Some(s) = start {
        out.push(s..t.len());
    }
    out
}

/// The leading `--flag` words of `t[from..]` and where the arguments start.
fn flags(t: &str, from: usize, escape: char) -> (Vec<Range<usize>>, usize) {
    let mut out = Vec::new();
    for w in quoted_words(t, from, escape) {
        let word = &t[w.clone()];
        if word == "--" {
            return (out, next_non_blank(t, w.end));
        }
        if !word.starts_with("--") {
            return (out, w.start);
        }
        out.push(w);
    }
    (out, t.len())
}

fn next_non_blank(t: &str, from: usize) -> usize {
    t[from..]
        .find(|c: char| !is_blank(c))
        .map_or(t.len(), |i| from + i)
}

/// Comma-separated fields (double quotes protect commas), as ranges of `s`.
fn csv_fields(s: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(start..s.len());
    out
}

/// `# name = value` at the top of the file.
fn parse_directive(line: &str) -> Option<(String, String)> {
    let body = line.strip_prefix('#')?.trim_start_matches([' ', '\t']);
    let name_len = body
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(body.len(), |(i, _)| i);
    let name = &body[..name_len];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = body[name_len..]
        .trim_start_matches([' ', '\t'])
        .strip_prefix('=')?
        .trim_matches([' ', '\t']);
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.to_owned()))
}

/// `[n]<<[-]WORD` (WORD possibly quoted): (terminator, strip leading tabs).
fn parse_heredoc(word: &str) -> Option<(String, bool)> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let name = expand::unquote(rest, '\\');
    (!name.is_empty()).then_some((name, chomp))
}

/// Docker's stage names: `[a-z][a-z0-9-_.]*`.
fn is_stage_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_lowercase())
        && b.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.')
        })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn platforms() {
        assert_eq!(
            split_platform("linux/amd64"),
            ("linux".into(), "amd64".into(), String::new())
        );
        assert_eq!(
            split_platform("linux/arm"),
            ("linux".into(), "arm".into(), "v7".into())
        );
        assert_eq!(
            split_platform("linux/arm/v6"),
            ("linux".into(), "arm".into(), "v6".into())
        );
        assert_eq!(
            split_platform("linux/arm64/v8"),
            ("linux".into(), "arm64".into(), String::new())
        );
        assert_eq!(
            split_platform("Windows/x86_64"),
            ("windows".into(), "amd64".into(), String::new())
        );
        assert!(host_platform().starts_with("linux/"));
    }

    #[test]
    fn directives() {
        assert_eq!(
            parse_directive("# escape=`"),
            Some(("escape".into(), "`".into()))
        );
        assert_eq!(
            parse_directive("#Syntax = docker/dockerfile:1 "),
            Some(("syntax".into(), "docker/dockerfile:1".into()))
        );
        assert_eq!(parse_directive("# just a comment"), None);
        assert_eq!(parse_directive("# x="), None);
    }

    #[test]
    fn heredoc_markers() {
        assert_eq!(parse_heredoc("<<EOF"), Some(("EOF".into(), false)));
        assert_eq!(parse_heredoc("<<-EOT"), Some(("EOT".into(), true)));
        assert_eq!(parse_heredoc("<<'EOF'"), Some(("EOF".into(), false)));
        assert_eq!(parse_heredoc("<<\"END\""), Some(("END".into(), false)));
        assert_eq!(parse_heredoc("3<<X"), Some(("X".into(), false)));
        assert_eq!(parse_heredoc("<<<here"), None);
        assert_eq!(parse_heredoc("<<"), None);
        assert_eq!(parse_heredoc("cat<<EOF"), None);
    }

    #[test]
    fn words() {
        let t = "RUN --mount=\"a b\" 'c d' e\\ f";
        let w: Vec<&str> = quoted_words(t, 4, '\\')
            .into_iter()
            .map(|r| &t[r])
            .collect();
        assert_eq!(w, vec!["--mount=\"a b\"", "'c d'", "e\\ f"]);
        assert_eq!(
            csv_fields("type=cache,\"a,b\",from=x"),
            vec![0..10, 11..16, 17..23]
        );
        assert!(is_stage_name("build-env_1.x"));
        assert!(!is_stage_name("1build"));
        assert!(!is_stage_name("bu$ld"));
    }
}
