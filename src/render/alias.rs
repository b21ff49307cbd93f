//! `$` aliases of task files version v1.1.0, as acb's preprocessor (`graph/preprocessor.go`,
//! reference/acb-behaviour.md §4.6): find the version, cut out the `alias:` block, build the alias
//! map (block `values`, then `src` files, then built-ins) and substitute `$name` references in the
//! rest of the text before the template render. After YAML parsing, [`expand_command_alias`]
//! rewrites the first word of each `cmd` step.
//!
//! Differences from acb, on purpose:
//! * The alias block's lines are replaced by empty lines instead of being removed, so every other
//!   line keeps its line number.
//! * Full-line comments (flagged by the caller) are kept and copied verbatim; acb deletes them
//!   before this stage. Inside the alias block they are dropped, as in acb, except that a `#`
//!   line the caller marks as content (inside a `|` value, e.g. a `#!/bin/sh`) is kept.
//! * `src` files are read relative to the task file's directory (acb: its working directory), and
//!   remote (`http(s)://`) sources are refused with an error instead of being downloaded.
//! * Every problem found is reported, not only the first.
//!
//! Reproduced on purpose, although surprising: the version gate is a byte-wise string comparison
//! with `v1.1.0` (so `V1.1.0` disables aliases and a templated `{{.Values.v}}` enables them); an
//! unknown name swallows the character that ends it, even a `$`; aliases are expanded inside
//! quotes and scripts; built-in `Run` aliases used as the first word of `cmd` are inserted
//! unrendered.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// acb's default image aliases at HEAD (Linux): name → image reference.
pub const DEFAULT_IMAGE_ALIASES: &[(&str, &str)] = &[
    ("acr", "mcr.microsoft.com/acr/acr-cli:0.19"),
    ("az", "mcr.microsoft.com/acr/azure-cli:2ff604c"),
    ("bash", "mcr.microsoft.com/acr/bash:2ff604c"),
    ("curl", "mcr.microsoft.com/acr/curl:2ff604c"),
    ("cssc", "mcr.microsoft.com/acr/cssc:2ff604c"),
];

/// The `.Run` fields that are built-in aliases: `$ID` is `{{.Run.ID}}`, and so on.
pub const RUN_ALIASES: &[&str] = &[
    "ID",
    "SharedVolume",
    "Registry",
    "RegistryName",
    "Date",
    "OS",
    "Architecture",
    "Commit",
    "Branch",
];

/// The lowest version string that enables aliases (compared byte-wise, as acb).
pub const ALIAS_VERSION: &str = "v1.1.0";

/// The default directive character.
pub const DEFAULT_DIRECTIVE: char = '$';

/// Inputs of [`preprocess`] that do not come from the task text.
#[derive(Debug, Clone, Copy)]
pub struct AliasOptions<'a> {
    /// Directory that relative `src` paths are read from (the task file's directory).
    pub base_dir: &'a Path,
    /// Image aliases (acb's defaults plus `--image-alias NAME=REF` overrides).
    pub image_aliases: &'a BTreeMap<String, String>,
    /// Template delimiters of the file, used to write the built-in `Run` aliases
    /// (`{{.Run.ID}}` or `<<.Run.ID>>`).
    pub delims: (&'a str, &'a str),
    /// For each 0-based line of the text, whether it is a full-line comment. Comment lines are
    /// copied verbatim and dropped from the alias block. Lines past the end of the mask are
    /// content, except inside the alias block, where a line whose trimmed text starts with `#`
    /// is a comment.
    pub comment_lines: &'a [bool],
}

/// The alias map: name → value, ordered by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases {
    map: BTreeMap<String, String>,
}

impl Aliases {
    /// The value of alias `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Whether `name` is an alias.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The aliases, ordered by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many aliases there are.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no aliases.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Sets `name` unless it is already set (acb never overwrites an alias). Returns whether it
    /// was set.
    fn set_if_absent(&mut self, name: &str, value: &str) -> bool {
        if self.map.contains_key(name) {
            return false;
        }
        self.map.insert(name.to_owned(), value.to_owned());
        true
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Aliases {
    /// Builds a map from pairs; a later pair with the same name replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            map: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// The result of [`preprocess`].
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// The text after substitution, with the alias block's lines emptied.
    pub text: String,
    /// The alias map (empty when aliases are not enabled).
    pub aliases: Aliases,
    /// Whether the version enables aliases (for the tests: `render` asks [`aliases_enabled`]
    /// before it calls [`preprocess`]).
    #[cfg(test)]
    pub enabled: bool,
    /// The directive character in effect (for the tests).
    #[cfg(test)]
    pub directive: char,
}

/// A problem with the alias block, an alias source or an alias name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasError {
    /// One sentence saying what is wrong.
    pub message: String,
    /// 1-based line of the input text the problem is on; 0 when it has no place in the text.
    pub line: usize,
    /// What to do about it.
    pub help: Option<String>,
}

impl AliasError {
    fn new(message: impl Into<String>, line: usize, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            line,
            help: Some(help.into()),
        }
    }
}

impl fmt::Display for AliasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AliasError {}

/// acb's `FindVersion`: the value of the first line that starts at column 0 (after optional
/// leading quotes) with `version` and whose text before the first `:`, trimmed of spaces and
/// quotes, is exactly `version`. The value is trimmed of spaces and quotes. Indented lines never
/// match (and neither do comment lines).
pub fn find_version(text: &str) -> Option<String> {
    const TRIM: [char; 3] = [' ', '"', '\''];
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if !line.trim_start_matches(['"', '\'']).starts_with("version") {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim_matches(TRIM) == "version" {
            return Some(value.trim_matches(TRIM).to_owned());
        }
    }
    None
}

/// Whether `version` (from [`find_version`]) enables aliases. Like acb this is a byte-wise string
/// comparison `>= "v1.1.0"`, not a version comparison: `v1.1.0` and `v1.10.0` enable aliases,
/// `V1.1.0`, `v1.0.0`, `1.0-preview-1` and a missing version do not, and a templated
/// `{{.Values.v}}` does (`{` sorts after `v`).
pub fn aliases_enabled(version: Option<&str>) -> bool {
    version.is_some_and(|v| v >= ALIAS_VERSION)
}

/// acb's `ExpandCommandAliases` for one `cmd` step: the command is trimmed and split on single
/// spaces; when the first piece is an alias name it is replaced by the value and the pieces are
/// joined again with single spaces. Returns `None` when the command does not change.
///
/// Every alias counts, including built-in `Run` aliases, whose value is inserted unrendered
/// (`cmd: ID` becomes `{{.Run.ID}}`), as in acb.
pub fn expand_command_alias(cmd: &str, aliases: &Aliases) -> Option<String> {
    let mut parts: Vec<&str> = cmd.trim().split(' ').collect();
    let first = parts.first_mut()?;
    *first = aliases.get(first)?;
    let out = parts.join(" ");
    (out != cmd).then_some(out)
}

/// Runs alias preprocessing on a task file's `text`.
///
/// When the version does not enable aliases (see [`aliases_enabled`]) the text is returned
/// unchanged with an empty alias map; the `alias:` block then stays in the text, where acb
/// ignores it as an unknown key. Otherwise the alias block is cut out (its lines become empty
/// lines), rendered with `render_block` (the template engine; its error is shown after
/// `unable to render alias data: `), decoded, the alias map is built and validated, and every
/// reference in the rest of the text is substituted.
///
/// # Errors
///
/// Every problem found, together: the block does not render or decode, a `src` file is remote,
/// missing or malformed, an alias name is not alphanumeric, or the directive is not a single
/// non-alphanumeric character.
pub fn preprocess<E: fmt::Display>(
    text: &str,
    opts: &AliasOptions<'_>,
    render_block: &dyn Fn(&str) -> Result<String, E>,
) -> Result<Preprocessed, Vec<AliasError>> {
    let enabled = aliases_enabled(find_version(text).as_deref());
    if !enabled {
        return Ok(Preprocessed {
            text: text.to_owned(),
            aliases: Aliases::default(),
            #[cfg(test)]
            enabled,
            #[cfg(test)]
            directive: DEFAULT_DIRECTIVE,
        });
    }

    let split = separate(text, opts.comment_lines);
    let decl = declarations(&split.blocks, render_block)?;

    let mut errors = Vec::new();
    let directive = directive(&decl, &mut errors);
    let aliases = build_map(&decl, opts, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }

    let text = substitute(&split.remaining, &aliases, directive, opts.comment_lines);
    Ok(Preprocessed {
        text,
        aliases,
        #[cfg(test)]
        enabled,
        #[cfg(test)]
        directive,
    })
}

/// Whitespace as Go's regexp `\s`.
const GO_SPACE: [char; 5] = [' ', '\t', '\n', '\x0c', '\r'];

/// One `alias:` block of the text.
#[derive(Debug)]
struct Block {
    /// The block's lines (comments dropped): 0-based line number and text without `\r`.
    lines: Vec<(usize, String)>,
}

impl Block {
    /// 1-based line of the `alias:` line.
    fn first_line(&self) -> usize {
        self.lines.first().map_or(0, |(i, _)| i + 1)
    }

    /// The block's text, as given to the template engine.
    fn text(&self) -> String {
        let mut out = String::new();
        for (_, line) in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// 1-based line of the first block line after the `after` key line (or of any block line when
    /// there is no such key) that defines key `key`; the `alias:` line when none does.
    fn key_line(&self, after: &str, key: &str) -> usize {
        let start = self
            .lines
            .iter()
            .position(|(_, l)| defines_key(l, after))
            .map_or(0, |p| p + 1);
        self.lines[start.min(self.lines.len())..]
            .iter()
            .find(|(_, l)| defines_key(l, key))
            .map_or(self.first_line(), |(i, _)| i + 1)
    }

    /// 1-based line of the first block line containing `needle`; the `alias:` line when none
    /// does.
    fn line_containing(&self, needle: &str) -> usize {
        self.lines
            .iter()
            .find(|(_, l)| !needle.is_empty() && l.contains(needle))
            .map_or(self.first_line(), |(i, _)| i + 1)
    }
}

/// Whether `line` starts (after indentation, a `- ` and quotes) with the mapping key `key`.
fn defines_key(line: &str, key: &str) -> bool {
    let t = line
        .trim_start_matches(GO_SPACE)
        .trim_start_matches(['-', ' '])
        .trim_start_matches(['"', '\'']);
    t.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start_matches(['"', '\'', ' ']).starts_with(':'))
}

/// The text split into alias blocks and the rest.
#[derive(Debug)]
struct Separated {
    blocks: Vec<Block>,
    /// The text with every alias block line (and comments between them) emptied.
    remaining: String,
}

/// acb's `basicAliasSeparation`, keeping line numbers: a block starts at a line matching
/// `^alias\s*:` and ends before the next line that starts with a character other than
/// whitespace or `:` and contains a `:` (the next top-level key). Comment lines are skipped:
/// they neither start nor end a block, and are left out of the block's text. A later `alias:`
/// line starts another block, as in acb.
fn separate(text: &str, comment_mask: &[bool]) -> Separated {
    let raw_lines: Vec<&str> = text.split('\n').collect();
    let mut blank = vec![false; raw_lines.len()];
    let mut blocks: Vec<Block> = Vec::new();
    let mut inside = false;
    for (i, raw) in raw_lines.iter().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let comment = comment_mask
            .get(i)
            .copied()
            .unwrap_or_else(|| line.trim_start_matches(GO_SPACE).starts_with('#'));
        if comment {
            continue;
        }
        if !inside && is_alias_line(line) {
            inside = true;
            blocks.push(Block { lines: Vec::new() });
        } else if inside && is_top_level_key(line) {
            inside = false;
        }
        if inside && let Some(block) = blocks.last_mut() {
            block.lines.push((i, line.to_owned()));
        }
    }
    // Empty each block from its `alias:` line to its last line, comments in between included.
    for block in &blocks {
        if let (Some((first, _)), Some((last, _))) = (block.lines.first(), block.lines.last()) {
            for b in &mut blank[*first..=*last] {
                *b = true;
            }
        }
    }
    let mut remaining = String::with_capacity(text.len());
    for (i, raw) in raw_lines.iter().enumerate() {
        if i > 0 {
            remaining.push('\n');
        }
        if blank[i] {
            if raw.ends_with('\r') {
                remaining.push('\r');
            }
        } else {
            remaining.push_str(raw);
        }
    }
    Separated { blocks, remaining }
}

/// `^alias\s*:`
fn is_alias_line(line: &str) -> bool {
    line.strip_prefix("alias")
        .is_some_and(|rest| rest.trim_start_matches(GO_SPACE).starts_with(':'))
}

/// `^[^\s:]+[^:]*:` — a line starting with a character other than whitespace or `:` that
/// contains a `:`.
fn is_top_level_key(line: &str) -> bool {
    let mut chars = line.chars();
    match chars.next() {
        Some(c) if c != ':' && !GO_SPACE.contains(&c) => chars.as_str().contains(':'),
        _ => false,
    }
}

/// The `alias:` block as written.
#[derive(Debug, Default, Deserialize)]
struct Wrapper {
    #[serde(default)]
    alias: Option<BlockDecl>,
}

/// The fields of an `alias:` block; unknown fields are ignored, as in acb.
#[derive(Debug, Default, Deserialize)]
struct BlockDecl {
    #[serde(default)]
    src: Option<Vec<Option<String>>>,
    #[serde(default)]
    values: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    directive: Option<String>,
}

/// The alias declarations of every block, merged, with where each came from.
#[derive(Debug, Default)]
struct Declarations {
    /// `src` entries and the block they were declared in.
    src: Vec<(String, usize)>,
    /// `values`, and the block each was declared in.
    values: BTreeMap<String, (String, usize)>,
    /// `directive` and its block.
    directive: Option<(String, usize)>,
}

/// Renders, decodes and merges the blocks. With several blocks, later ones override per field
/// (`values` per key), as yaml.v2 decoding a repeated `alias` key into the same struct does.
fn declarations<E: fmt::Display>(
    blocks: &[Block],
    render_block: &dyn Fn(&str) -> Result<String, E>,
) -> Result<Declarations, Vec<AliasError>> {
    let mut decl = Declarations::default();
    let mut errors = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let text = block.text();
        let rendered = match render_block(&text) {
            Ok(r) => r,
            Err(e) => {
                errors.push(AliasError::new(
                    format!("unable to render alias data: {e}"),
                    block.first_line(),
                    "fix the template action in the `alias` block; it is rendered before the rest of the file",
                ));
                continue;
            }
        };
        let options = serde_saphyr::options! {
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        };
        let wrapper: Wrapper = match serde_saphyr::from_str_with_options(&rendered, options) {
            Ok(w) => w,
            Err(e) => {
                let (message, line) = yaml_error(&e);
                let line = line
                    .filter(|_| rendered.lines().count() == text.lines().count())
                    .and_then(|l| block.lines.get(l.saturating_sub(1)))
                    .map_or(block.first_line(), |(i, _)| i + 1);
                errors.push(AliasError::new(
                    format!("error during alias unmarshaling: {message}"),
                    line,
                    "the `alias` block is a map with `src` (a list of files), `values` (a map of name: value) and `directive` (one character)",
                ));
                continue;
            }
        };
        let Some(parsed) = wrapper.alias else {
            continue;
        };
        if let Some(src) = parsed.src {
            decl.src = src
                .into_iter()
                .map(|s| (s.unwrap_or_default(), index))
                .collect();
        }
        for (k, v) in parsed.values.unwrap_or_default() {
            decl.values.insert(k, (v.unwrap_or_default(), index));
        }
        if let Some(d) = parsed.directive {
            decl.directive = Some((d, index));
        }
    }
    if errors.is_empty() {
        Ok(attach_blocks(decl, blocks))
    } else {
        Err(errors)
    }
}

/// Replaces block indexes by 1-based lines of the relevant entries.
fn attach_blocks(mut decl: Declarations, blocks: &[Block]) -> Declarations {
    let line_of = |index: usize, f: &dyn Fn(&Block) -> usize| blocks.get(index).map_or(0, f);
    for (src, at) in &mut decl.src {
        *at = line_of(*at, &|b| b.line_containing(src));
    }
    for (key, (_, at)) in &mut decl.values {
        *at = line_of(*at, &|b| b.key_line("values", key));
    }
    if let Some((_, at)) = &mut decl.directive {
        *at = line_of(*at, &|b| b.key_line("alias", "directive"));
    }
    decl
}

/// A YAML error's message without its position suffix, and its 1-based line.
fn yaml_error(e: &serde_saphyr::Error) -> (String, Option<usize>) {
    let plain = e.without_snippet().to_string();
    let Some(loc) = e.location() else {
        return (plain, None);
    };
    let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
    let message = plain.strip_suffix(&suffix).unwrap_or(&plain).to_owned();
    (message, usize::try_from(loc.line()).ok())
}

/// The directive in effect, validated as acb: exactly one character, not alphanumeric.
fn directive(decl: &Declarations, errors: &mut Vec<AliasError>) -> char {
    let Some((d, line)) = &decl.directive else {
        return DEFAULT_DIRECTIVE;
    };
    let mut chars = d.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        if d.is_empty() {
            return DEFAULT_DIRECTIVE;
        }
        errors.push(AliasError::new(
            format!("directive `{d}`: $ directive can only be overwritten by a single character"),
            *line,
            "use exactly one character that is not a letter or digit, such as `#` or `🐳`",
        ));
        return DEFAULT_DIRECTIVE;
    };
    if c.is_ascii_alphanumeric() {
        errors.push(AliasError::new(
            format!("directive `{d}`: overwritten directives may not be alphanumeric characters"),
            *line,
            "use a character that is not a letter or digit, such as `#` or `🐳`",
        ));
        return DEFAULT_DIRECTIVE;
    }
    c
}

/// Whether `name` is a valid alias name (`^[a-zA-Z0-9]+$`).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

const NAME_HELP: &str = "alias names may only contain letters and digits (a-z, A-Z, 0-9); a `$` reference ends at the first other character";

/// Builds the alias map: `values` first, then `src` files (the last listed wins), then built-ins
/// (image aliases, then `Run` fields); a name once set is never overwritten.
fn build_map(
    decl: &Declarations,
    opts: &AliasOptions<'_>,
    errors: &mut Vec<AliasError>,
) -> Aliases {
    let mut aliases = Aliases::default();
    for (key, (value, line)) in &decl.values {
        if !valid_name(key) {
            errors.push(AliasError::new(
                format!(
                    "alias `{key}` in `values`: alias key names only support alphanumeric characters"
                ),
                *line,
                NAME_HELP,
            ));
        }
        aliases.set_if_absent(key, value);
    }
    for (src, line) in decl.src.iter().rev() {
        let Some(map) = load_source(src, *line, opts.base_dir, errors) else {
            continue;
        };
        for (key, value) in map {
            if aliases.set_if_absent(&key, &value) && !valid_name(&key) {
                errors.push(AliasError::new(
                    format!(
                        "alias `{key}` in alias source `{src}`: alias key names only support alphanumeric characters"
                    ),
                    *line,
                    NAME_HELP,
                ));
            }
        }
    }
    for (key, value) in opts.image_aliases {
        if aliases.set_if_absent(key, value) && !valid_name(key) {
            errors.push(AliasError::new(
                format!("image alias `{key}`: alias key names only support alphanumeric characters"),
                0,
                "image alias names given with `--image-alias NAME=REF` may only contain letters and digits (a-z, A-Z, 0-9)",
            ));
        }
    }
    let (left, right) = opts.delims;
    for name in RUN_ALIASES {
        aliases.set_if_absent(name, &format!("{left}.Run.{name}{right}"));
    }
    aliases
}

/// Reads one `src` file: a YAML map of name → value, not template-rendered. An empty file has
/// no aliases.
fn load_source(
    src: &str,
    line: usize,
    base_dir: &Path,
    errors: &mut Vec<AliasError>,
) -> Option<BTreeMap<String, String>> {
    let lower = src.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        errors.push(AliasError::new(
            format!(
                "alias source `{src}` is remote: remote alias sources are not supported locally"
            ),
            line,
            "download the file and list it in `src` as a local path (relative to the task file's directory)",
        ));
        return None;
    }
    let path = base_dir.join(src);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(AliasError::new(
                format!(
                    "unable to read alias source `{src}` ({}): {e}",
                    path.display()
                ),
                line,
                "`src` paths are relative to the task file's directory",
            ));
            return None;
        }
    };
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    match serde_saphyr::from_str_with_options::<Option<BTreeMap<String, Option<String>>>>(
        &text, options,
    ) {
        Ok(map) => Some(
            map.unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
        ),
        Err(e) => {
            let (message, at) = yaml_error(&e);
            let at = at.map_or(String::new(), |l| format!(" (line {l})"));
            errors.push(AliasError::new(
                format!("alias source `{src}` is not a valid alias file{at}: {message}"),
                line,
                "an alias source is a YAML map of name: value, for example `repo: myrepo`",
            ));
            None
        }
    }
}

/// acb's substitution over `text` with `directive` (§4.6.4). Lines flagged in `comment_mask` are
/// copied verbatim when no reference is open at their start.
fn substitute(text: &str, aliases: &Aliases, directive: char, comment_mask: &[bool]) -> String {
    let mut s = Substitution {
        aliases,
        directive,
        out: String::with_capacity(text.len()),
        name: String::new(),
        inside: false,
    };
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            s.feed('\n');
        }
        if !s.inside && comment_mask.get(i).copied().unwrap_or(false) {
            s.out.push_str(line);
        } else {
            line.chars().for_each(|c| s.feed(c));
        }
    }
    // acb appends a space to flush a pending reference, then removes it.
    s.feed(' ');
    if s.out.ends_with(' ') {
        s.out.pop();
    }
    s.out
}

/// State of the substitution scan.
struct Substitution<'a> {
    aliases: &'a Aliases,
    directive: char,
    out: String,
    /// The name read so far after a directive.
    name: String,
    /// Whether a directive started a reference.
    inside: bool,
}

impl Substitution<'_> {
    fn feed(&mut self, c: char) {
        let d = self.directive;
        if !self.inside {
            if c == d {
                self.inside = true;
            } else {
                self.out.push(c);
            }
            return;
        }
        if c.is_ascii_alphanumeric() {
            self.name.push(c);
            return;
        }
        if self.name.is_empty() && c == d {
            // Escape: `$$` is a literal `$`.
            self.out.push(d);
            self.inside = false;
            return;
        }
        match self.aliases.get(&self.name) {
            Some(value) => {
                self.out.push_str(value);
                if c != d {
                    self.out.push(c);
                    self.inside = false;
                }
            }
            None => {
                // Unknown: kept as written, with the character that ended it (even a directive).
                self.out.push(d);
                self.out.push_str(&self.name);
                self.out.push(c);
                self.inside = false;
            }
        }
        self.name.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "taskrun-alias-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, text: &str) {
            std::fs::write(self.0.join(name), text).unwrap();
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn comment_mask(text: &str) -> Vec<bool> {
        text.split('\n')
            .map(|l| l.trim_start().starts_with('#'))
            .collect()
    }

    fn identity(s: &str) -> Result<String, String> {
        Ok(s.to_owned())
    }

    fn images() -> BTreeMap<String, String> {
        DEFAULT_IMAGE_ALIASES
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn run_in(
        dir: &Path,
        text: &str,
        images: &BTreeMap<String, String>,
        render: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Preprocessed, Vec<AliasError>> {
        let mask = comment_mask(text);
        let opts = AliasOptions {
            base_dir: dir,
            image_aliases: images,
            delims: ("{{", "}}"),
            comment_lines: &mask,
        };
        preprocess(text, &opts, render)
    }

    fn run(text: &str) -> Preprocessed {
        run_in(Path::new("."), text, &images(), &identity).unwrap()
    }

    fn errors(text: &str) -> Vec<AliasError> {
        run_in(Path::new("."), text, &images(), &identity).unwrap_err()
    }

    /// Substitutes `body` in a v1.1.0 file with `values`, returning the body's output.
    fn sub(values: &str, body: &str) -> String {
        let text = format!("version: v1.1.0\nalias:\n  values:\n{values}\nsteps: |\n{body}");
        let out = run(&text).text;
        let at = out.find("steps: |\n").unwrap() + "steps: |\n".len();
        out[at..].to_owned()
    }

    fn aliases(pairs: &[(&str, &str)]) -> Aliases {
        pairs.iter().copied().collect()
    }

    #[test]
    fn version_gate() {
        let cases: &[(&str, Option<&str>, bool)] = &[
            ("version: v1.1.0\n", Some("v1.1.0"), true),
            ("version: v1.10.0\n", Some("v1.10.0"), true),
            ("version: V1.1.0\n", Some("V1.1.0"), false),
            ("version: 1.0-preview-1\n", Some("1.0-preview-1"), false),
            ("version: v1.0.0\n", Some("v1.0.0"), false),
            ("version: 'v1.1.0'\n", Some("v1.1.0"), true),
            ("\"version\": \"v1.1.0\"\n", Some("v1.1.0"), true),
            ("version : v1.1.0\r\n", Some("v1.1.0"), true),
            ("steps:\n  version: v1.1.0\n", None, false),
            ("  version: v1.1.0\n", None, false),
            ("# version: v1.1.0\n", None, false),
            ("versions: x\nversion: v1.1.0\n", Some("v1.1.0"), true),
            ("version\nversion: v1.1.0\n", Some("v1.1.0"), true),
            ("version: {{.Values.v}}\n", Some("{{.Values.v}}"), true),
            ("version: v1.0.0\nversion: v1.1.0\n", Some("v1.0.0"), false),
            ("version:\n", Some(""), false),
            ("steps:\n  - cmd: x\n", None, false),
            ("", None, false),
        ];
        for (text, version, enabled) in cases {
            let found = find_version(text);
            assert_eq!(found.as_deref(), *version, "{text:?}");
            assert_eq!(aliases_enabled(found.as_deref()), *enabled, "{text:?}");
        }
    }

    #[test]
    fn disabled_leaves_text_and_block() {
        let text = "version: v1.0.0\nalias:\n  values:\n    a: b\nsteps:\n  - cmd: $a $ID\n";
        let pre = run(text);
        assert!(!pre.enabled);
        assert_eq!(pre.text, text);
        assert!(pre.aliases.is_empty());
        assert_eq!(pre.directive, '$');
    }

    #[test]
    fn examples_from_the_reference() {
        let values = "    repo: myrepo";
        assert_eq!(
            sub(values, "-t $Registry/$repo:$ID"),
            "-t {{.Run.Registry}}/myrepo:{{.Run.ID}}"
        );
        assert_eq!(
            sub(values, "bash -c 'echo $HOME $bash'"),
            "bash -c 'echo $HOME mcr.microsoft.com/acr/bash:2ff604c'"
        );
    }

    #[test]
    fn substitution_edge_cases() {
        let v = "    a: A\n    b: B";
        let cases = [
            ("$$", "$"),
            ("$$ID", "$ID"),
            ("$$$ID", "${{.Run.ID}}"),
            ("cost: 5$$", "cost: 5$"),
            ("$unknown", "$unknown"),
            ("$unknown x", "$unknown x"),
            ("$unknown$ID", "$unknown$ID"),
            ("$unknown$ID x", "$unknown$ID x"),
            (
                "$a_x $a.x $a-x $a/x $a:x $a{x $aé",
                "A_x A.x A-x A/x A:x A{x Aé",
            ),
            ("$Registry_x", "{{.Run.Registry}}_x"),
            ("${ID}", "${ID}"),
            ("$IDfoo", "$IDfoo"),
            ("$ID$ID", "{{.Run.ID}}{{.Run.ID}}"),
            ("$a$b$a", "ABA"),
            ("$a$$", "A$"),
            ("$ ", "$ "),
            ("$ a", "$ a"),
            ("a$", "a$"),
            ("$a", "A"),
            ("$", "$"),
            ("$a\n$b\n", "A\nB\n"),
            ("x$é", "x$é"),
        ];
        for (body, want) in cases {
            assert_eq!(sub(v, body), want, "{body:?}");
        }
    }

    #[test]
    fn values_are_not_expanded_recursively() {
        assert_eq!(sub("    a: $b\n    b: B", "$a"), "$b");
    }

    #[test]
    fn directive_hash() {
        let text = "version: v1.1.0\nalias:\n  directive: '#'\n  values:\n    a: A\nsteps: $ID #ID ## #a #unknown#a $$\n";
        let pre = run(text);
        assert_eq!(pre.directive, '#');
        assert_eq!(
            pre.text,
            "version: v1.1.0\n\n\n\n\nsteps: $ID {{.Run.ID}} # A #unknown#a $$\n"
        );
    }

    #[test]
    fn directive_unicode() {
        let text = "version: v1.1.0\nalias:\n  directive: 🐳\n  values:\n    a: A\nx: $ID 🐳ID 🐳🐳 🐳a🐳a 🐳\n";
        let pre = run(text);
        assert_eq!(pre.directive, '🐳');
        assert_eq!(
            pre.text,
            "version: v1.1.0\n\n\n\n\nx: $ID {{.Run.ID}} 🐳 AA 🐳\n"
        );
    }

    #[test]
    fn invalid_directives_and_names_are_all_reported() {
        let text = "version: v1.1.0\nalias:\n  directive: ab\n  values:\n    ok: 1\n    my-name: x\n    my_other: y\nsteps: []\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs[0].message.contains("single character"));
        assert_eq!(errs[0].line, 3);
        assert!(errs[1].message.contains("`my-name`"));
        assert!(errs[1].message.contains("alphanumeric"));
        assert_eq!(errs[1].line, 6);
        assert!(errs[2].message.contains("`my_other`"));
        assert_eq!(errs[2].line, 7);

        let errs = errors("version: v1.1.0\nalias:\n  directive: x\n");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("may not be alphanumeric"));
        let errs = errors("version: v1.1.0\nalias:\n  directive: 7\n");
        assert!(errs[0].message.contains("may not be alphanumeric"));
        // Empty keeps `$`; a non-ASCII letter is allowed (acb checks ASCII only).
        assert_eq!(
            run("version: v1.1.0\nalias:\n  directive: ''\n").directive,
            '$'
        );
        assert_eq!(
            run("version: v1.1.0\nalias:\n  directive: é\n").directive,
            'é'
        );
    }

    #[test]
    fn block_lines_are_emptied_and_comments_dropped() {
        let text = "version: v1.1.0\n# top comment\nalias:\n  values:\n    # a comment inside\n    a: A # trailing\n\n  # indented comment: with colon\n# column-0 comment: with colon\n    b: B\n# before steps\nsteps:\n  - cmd: $a $b\n";
        let pre = run(text);
        assert_eq!(
            pre.text,
            "version: v1.1.0\n# top comment\n\n\n\n\n\n\n\n\n# before steps\nsteps:\n  - cmd: A B\n"
        );
        assert_eq!(pre.text.lines().count(), text.lines().count());
        assert_eq!(pre.aliases.get("b"), Some("B"));
    }

    #[test]
    fn block_ends_at_next_top_level_key() {
        let text = "version: v1.1.0\nalias :\n  values:\n:notakey\nnocolon\n\tindented: x\n# c: x\nsteps: x\n";
        let split = separate(text, &comment_mask(text));
        assert_eq!(split.blocks.len(), 1);
        let lines: Vec<usize> = split.blocks[0].lines.iter().map(|(i, _)| *i).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5]);
        assert_eq!(
            split.remaining,
            "version: v1.1.0\n\n\n\n\n\n# c: x\nsteps: x\n"
        );
        // `- x: y` at column 0 ends it too.
        let pre = run("version: v1.1.0\nalias:\n  values:\n    a: A\n- x: $a\n");
        assert_eq!(pre.text, "version: v1.1.0\n\n\n\n- x: A\n");
        // `aliases:` is not an alias block.
        let pre = run("version: v1.1.0\naliases:\n  x: $ID\n");
        assert_eq!(pre.text, "version: v1.1.0\naliases:\n  x: {{.Run.ID}}\n");
        // Block at end of file, CRLF kept.
        let pre = run("version: v1.1.0\r\nx: $a\r\nalias:\r\n  values:\r\n    a: A\r\n");
        assert_eq!(pre.text, "version: v1.1.0\r\nx: A\r\n\r\n\r\n\r\n");
    }

    #[test]
    fn several_blocks_merge() {
        let text = "version: v1.1.0\nalias:\n  values:\n    a: A\n    b: B\nsteps: $a $b\nalias:\n  values:\n    b: B2\n";
        let pre = run(text);
        assert_eq!(pre.text, "version: v1.1.0\n\n\n\n\nsteps: A B2\n\n\n\n");
    }

    #[test]
    fn comment_lines_are_verbatim() {
        let text = "version: v1.1.0\n# $ID stays\n  #$ID too\nx: $ID # $ID inline is content\n";
        let pre = run(text);
        assert_eq!(
            pre.text,
            "version: v1.1.0\n# $ID stays\n  #$ID too\nx: {{.Run.ID}} # {{.Run.ID}} inline is content\n"
        );
    }

    #[test]
    fn block_scalar_lines_follow_the_callers_mask() {
        // A `#` line inside a block scalar of a value is content when the caller says so.
        let text = "version: v1.1.0\nalias:\n  values:\n    script: |\n      #!/bin/sh\n      echo hi\nsteps:\n  - cmd: |\n      $script\n";
        let mut mask = comment_mask(text);
        mask[4] = false;
        let images = images();
        let opts = AliasOptions {
            base_dir: Path::new("."),
            image_aliases: &images,
            delims: ("{{", "}}"),
            comment_lines: &mask,
        };
        let pre = preprocess(text, &opts, &identity).unwrap();
        assert_eq!(pre.aliases.get("script"), Some("#!/bin/sh\necho hi\n"));
    }

    #[test]
    fn multi_line_values_are_spliced() {
        let text = "version: v1.1.0\nalias:\n  values:\n    pull: |\n      id: puller\n            cmd: docker pull ubuntu\nsteps:\n  - $pull\n";
        let pre = run(text);
        assert_eq!(
            pre.text,
            "version: v1.1.0\n\n\n\n\n\nsteps:\n  - id: puller\n      cmd: docker pull ubuntu\n\n"
        );
    }

    #[test]
    fn scalars_of_any_type_are_text() {
        let pre = run(
            "version: v1.1.0\nalias:\n  values:\n    n: 1.50\n    t: true\n    z: ~\n    e:\n    h: 0x1F\n",
        );
        assert_eq!(pre.aliases.get("n"), Some("1.50"));
        assert_eq!(pre.aliases.get("t"), Some("true"));
        assert_eq!(pre.aliases.get("z"), Some(""));
        assert_eq!(pre.aliases.get("e"), Some(""));
        assert_eq!(pre.aliases.get("h"), Some("0x1F"));
    }

    #[test]
    fn block_is_rendered_first() {
        let render = |s: &str| -> Result<String, String> {
            Ok(s.replace("{{.Run.Registry}}", "reg.azurecr.io"))
        };
        let text = "version: v1.1.0\nalias:\n  values:\n    img: {{.Run.Registry}}/app\nsteps: $img {{.Run.Registry}}\n";
        let pre = run_in(Path::new("."), text, &images(), &render).unwrap();
        assert_eq!(pre.aliases.get("img"), Some("reg.azurecr.io/app"));
        // Only the block is rendered here; the rest is left to the template stage.
        assert_eq!(
            pre.text,
            "version: v1.1.0\n\n\n\nsteps: reg.azurecr.io/app {{.Run.Registry}}\n"
        );

        let failing = |_: &str| -> Result<String, String> { Err("bad action".to_owned()) };
        let errs = run_in(Path::new("."), text, &images(), &failing).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].message, "unable to render alias data: bad action");
        assert_eq!(errs[0].line, 2);
    }

    #[test]
    fn malformed_block_points_at_its_line() {
        let errs = errors("version: v1.1.0\nalias:\n  values:\n    a: [1, 2]\nsteps: x\n");
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .message
                .starts_with("error during alias unmarshaling:"),
            "{}",
            errs[0].message
        );
        assert_eq!(errs[0].line, 4);
        let errs = errors("version: v1.1.0\nalias: nope\n");
        assert_eq!(errs[0].line, 2);
        // Unknown fields are ignored; an empty block is fine.
        assert_eq!(
            run("version: v1.1.0\nalias:\n  other: 1\n").aliases.len(),
            RUN_ALIASES.len() + DEFAULT_IMAGE_ALIASES.len()
        );
        assert!(
            run("version: v1.1.0\nalias:\nx: $ID\n")
                .text
                .ends_with("x: {{.Run.ID}}\n")
        );
    }

    #[test]
    fn precedence_values_then_src_then_builtins() {
        let dir = Scratch::new();
        dir.write("first.yaml", "a: first\nb: first\nc: first\n");
        dir.write(
            "second.yaml",
            "b: second\nc: second\nID: src-id\nbash: src-bash\n",
        );
        let text = "version: v1.1.0\nalias:\n  src:\n    - first.yaml\n    - ./second.yaml\n  values:\n    c: values\nsteps: $a $b $c $ID $bash $Commit\n";
        let pre = run_in(&dir.0, text, &images(), &identity).unwrap();
        assert_eq!(
            pre.text,
            "version: v1.1.0\n\n\n\n\n\n\nsteps: first second values src-id src-bash {{.Run.Commit}}\n"
        );
    }

    #[test]
    fn src_files_are_not_rendered_and_may_be_empty() {
        let dir = Scratch::new();
        dir.write("t.yaml", "r: '{{.Run.Registry}}'\n");
        dir.write("empty.yaml", "");
        dir.write("comments.yaml", "# nothing\n");
        let render =
            |s: &str| -> Result<String, String> { Ok(s.replace("{{.Run.Registry}}", "X")) };
        let text = "version: v1.1.0\nalias:\n  src: [t.yaml, empty.yaml, comments.yaml]\nx: $r\n";
        let pre = run_in(&dir.0, text, &images(), &render).unwrap();
        assert_eq!(pre.aliases.get("r"), Some("{{.Run.Registry}}"));
    }

    #[test]
    fn src_problems_are_all_reported() {
        let dir = Scratch::new();
        dir.write("bad.yaml", "a: [1\n");
        dir.write("list.yaml", "- a\n");
        dir.write("names.yaml", "good: 1\nbad.name: 2\n");
        let text = "version: v1.1.0\nalias:\n  src:\n    - https://example.com/a.yaml?sas\n    - bad.yaml\n    - list.yaml\n    - missing.yaml\n    - names.yaml\n";
        let errs = run_in(&dir.0, text, &images(), &identity).unwrap_err();
        assert_eq!(errs.len(), 5, "{errs:#?}");
        // Read in reverse order: the last listed first.
        assert!(
            errs[0]
                .message
                .contains("`bad.name` in alias source `names.yaml`")
        );
        assert_eq!(errs[0].line, 8);
        assert!(
            errs[1]
                .message
                .contains("unable to read alias source `missing.yaml`")
        );
        assert_eq!(errs[1].line, 7);
        assert!(
            errs[2]
                .message
                .contains("`list.yaml` is not a valid alias file")
        );
        assert!(
            errs[3]
                .message
                .contains("`bad.yaml` is not a valid alias file")
        );
        assert_eq!(errs[3].line, 5);
        assert!(
            errs[4]
                .message
                .contains("remote alias sources are not supported locally")
        );
        assert!(
            errs[4]
                .help
                .as_deref()
                .unwrap_or("")
                .contains("download the file")
        );
        assert_eq!(errs[4].line, 4);
    }

    #[test]
    fn image_alias_override_and_delims() {
        let mut images = images();
        images.insert("bash".to_owned(), "my/bash:1".to_owned());
        images.insert("bad-name".to_owned(), "x".to_owned());
        let text = "version: v1.1.0\nx: $bash $az\n";
        let errs = run_in(Path::new("."), text, &images, &identity).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("`bad-name`"));
        assert_eq!(errs[0].line, 0);
        images.remove("bad-name");
        let pre = run_in(Path::new("."), text, &images, &identity).unwrap();
        assert_eq!(
            pre.text,
            "version: v1.1.0\nx: my/bash:1 mcr.microsoft.com/acr/azure-cli:2ff604c\n"
        );

        let mask = comment_mask(text);
        let opts = AliasOptions {
            base_dir: Path::new("."),
            image_aliases: &images,
            delims: ("<<", ">>"),
            comment_lines: &mask,
        };
        let pre = preprocess("version: v1.1.0\nid: $ID\n", &opts, &identity).unwrap();
        assert_eq!(pre.text, "version: v1.1.0\nid: <<.Run.ID>>\n");
        assert_eq!(pre.aliases.get("Date"), Some("<<.Run.Date>>"));
        assert!(!pre.aliases.contains("TaskName"));
    }

    #[test]
    fn command_alias_expansion() {
        let a = aliases(&[
            ("bash", "mcr.microsoft.com/acr/bash:2ff604c"),
            ("docker", "my/docker"),
            ("ID", "{{.Run.ID}}"),
        ]);
        let cases = [
            (
                "bash echo hi",
                Some("mcr.microsoft.com/acr/bash:2ff604c echo hi"),
            ),
            (
                "  bash  echo hi ",
                Some("mcr.microsoft.com/acr/bash:2ff604c  echo hi"),
            ),
            ("bash", Some("mcr.microsoft.com/acr/bash:2ff604c")),
            ("docker build .", Some("my/docker build .")),
            ("ID", Some("{{.Run.ID}}")),
            ("ubuntu bash", None),
            ("bash:5 echo", None),
            (" ubuntu echo ", None),
            ("", None),
        ];
        for (cmd, want) in cases {
            assert_eq!(expand_command_alias(cmd, &a).as_deref(), want, "{cmd:?}");
        }
        let same = aliases(&[("x", "x")]);
        assert_eq!(expand_command_alias("x y", &same), None);
    }

    #[test]
    fn default_image_aliases_are_valid_names() {
        for (name, value) in DEFAULT_IMAGE_ALIASES {
            assert!(valid_name(name));
            assert!(value.starts_with("mcr.microsoft.com/acr/"));
        }
        for name in RUN_ALIASES {
            assert!(valid_name(name));
        }
    }
}
