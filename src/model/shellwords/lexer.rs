//! The shell lexer: splits a `cmd:` or `build:` string into words the way `/bin/sh` would,
//! without running a shell, and reports every construct only the host shell would act on.
//!
//! See the [parent module](super) for the rules.

use std::fmt;
use std::ops::Range;

/// One shell word after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word as the command would receive it (quotes and escapes removed, expansions kept
    /// verbatim, e.g. `$HOME`).
    pub text: String,
    /// Byte range of the word in the lexed string, quotes included.
    pub span: Range<usize>,
    /// Whether any part of the word was quoted or backslash-escaped.
    pub quoted: bool,
}

/// What kind of host-shell construct was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConstructKind {
    /// `&&`: run the next command if `docker run` succeeded.
    And,
    /// `||`: run the next command if `docker run` failed.
    Or,
    /// `;` or `;;`: command separator.
    Semicolon,
    /// `|`: pipe the output of `docker run` into a host command.
    Pipe,
    /// `&`: run `docker run` in the background.
    Background,
    /// An unquoted line break followed by more text: the next line is a separate host command.
    Newline,
    /// `(` or `)`: subshell syntax (or a syntax error) for the host shell.
    Subshell,
    /// `>`, `>|`, `2>`: output redirection of the host-side `docker run`.
    RedirectOut,
    /// `>>`: appending output redirection.
    RedirectAppend,
    /// `<`, `<>`: input redirection.
    RedirectIn,
    /// `<<`, `<<-`: here-document.
    Heredoc,
    /// `>&`, `<&` (e.g. `2>&1`): file-descriptor duplication.
    RedirectFd,
    /// `$(…)`: command substitution.
    CommandSubstitution,
    /// `` `…` ``: command substitution (backticks).
    Backtick,
    /// `$((…))`: arithmetic expansion.
    Arithmetic,
    /// `$VAR`, `${VAR…}`, `$1`, `$?`, …: parameter expansion (also inside double quotes).
    Variable,
    /// `$'…'` / `$"…"`: quoting whose meaning depends on the shell (not POSIX).
    DollarQuote,
    /// `~` or `~user` at the start of a word: tilde expansion.
    Tilde,
    /// An unquoted `*`, `?` or `[…]` in a word: pathname expansion (glob).
    Glob,
    /// `# …` at the start of a word: a comment up to the end of the line.
    Comment,
}

impl ConstructKind {
    /// Whether taskrun reproduces what acb's host shell does with this construct, so `run` does
    /// not need to refuse it (`validate` should still warn). True for comments (dropped, as the
    /// shell does) and globs (passed literally, as happens on ACR when nothing on the agent matches).
    pub fn emulated(self) -> bool {
        matches!(self, ConstructKind::Comment | ConstructKind::Glob)
    }

    /// Whether this is a redirection operator (it consumes the following word as its target).
    pub fn is_redirect(self) -> bool {
        matches!(
            self,
            ConstructKind::RedirectOut
                | ConstructKind::RedirectAppend
                | ConstructKind::RedirectIn
                | ConstructKind::Heredoc
                | ConstructKind::RedirectFd
        )
    }

    /// Whether this construct ends the first command (`&&`, `;`, `|`, line break, …).
    pub fn is_separator(self) -> bool {
        matches!(
            self,
            ConstructKind::And
                | ConstructKind::Or
                | ConstructKind::Semicolon
                | ConstructKind::Pipe
                | ConstructKind::Background
                | ConstructKind::Newline
                | ConstructKind::Subshell
        )
    }

    /// A short human name, e.g. "command substitution".
    pub fn name(self) -> &'static str {
        match self {
            ConstructKind::And => "`&&` list",
            ConstructKind::Or => "`||` list",
            ConstructKind::Semicolon => "`;` command separator",
            ConstructKind::Pipe => "pipe",
            ConstructKind::Background => "background `&`",
            ConstructKind::Newline => "line break",
            ConstructKind::Subshell => "parenthesis",
            ConstructKind::RedirectOut => "output redirection",
            ConstructKind::RedirectAppend => "appending redirection",
            ConstructKind::RedirectIn => "input redirection",
            ConstructKind::Heredoc => "here-document",
            ConstructKind::RedirectFd => "file-descriptor redirection",
            ConstructKind::CommandSubstitution => "command substitution",
            ConstructKind::Backtick => "backtick command substitution",
            ConstructKind::Arithmetic => "arithmetic expansion",
            ConstructKind::Variable => "variable expansion",
            ConstructKind::DollarQuote => "`$'…'` quoting",
            ConstructKind::Tilde => "tilde expansion",
            ConstructKind::Glob => "glob",
            ConstructKind::Comment => "comment",
        }
    }
}

/// A construct that only the host shell running acb's `docker run` line would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellConstruct {
    /// What it is.
    pub kind: ConstructKind,
    /// Byte range in the lexed string.
    pub span: Range<usize>,
    /// The source text of the construct (e.g. `&&`, `$HOME`, `2>`, `$(date)`, `*.txt`).
    pub text: String,
}

impl ShellConstruct {
    /// One-line description of what acb's host shell would do, naming the construct, written for a
    /// `cmd` step (e.g. "unquoted `&&` is run by acb's host shell: …").
    pub fn message(&self) -> String {
        let t = shown(&self.text);
        match self.kind {
            ConstructKind::And | ConstructKind::Or | ConstructKind::Semicolon => format!(
                "unquoted `{t}` is acted on by acb's host shell: on ACR, what follows it runs as a separate command on the build agent, not in the container"
            ),
            ConstructKind::Pipe => format!(
                "unquoted `{t}` is acted on by acb's host shell: on ACR, the output of `docker run` is piped into a command on the build agent, not in the container"
            ),
            ConstructKind::Background => format!(
                "unquoted `{t}` is acted on by acb's host shell: on ACR, `docker run` is sent to the background on the build agent"
            ),
            ConstructKind::Newline => "an unquoted line break separates commands for acb's host shell: on ACR, the next line runs as a separate command on the build agent, not in the container".to_string(),
            ConstructKind::Subshell => format!(
                "unquoted `{t}` is shell syntax for acb's host shell (a subshell, or a syntax error)"
            ),
            ConstructKind::RedirectOut
            | ConstructKind::RedirectAppend
            | ConstructKind::RedirectIn
            | ConstructKind::Heredoc
            | ConstructKind::RedirectFd => format!(
                "unquoted `{t}` redirects the host-side `docker run` on ACR's build agent: the file is read or written there, not in the container"
            ),
            ConstructKind::CommandSubstitution
            | ConstructKind::Backtick
            | ConstructKind::Arithmetic => format!(
                "`{t}` is expanded by acb's host shell on the build agent before Docker sees it, even inside double quotes"
            ),
            ConstructKind::Variable => format!(
                "`{t}` is expanded by acb's host shell on the build agent (to the agent's value, usually empty) before Docker sees it, even inside double quotes"
            ),
            ConstructKind::DollarQuote => format!(
                "`{t}` quoting means different things in different shells (POSIX `/bin/sh` keeps the `$`)"
            ),
            ConstructKind::Tilde => format!(
                "`{t}` at the start of a word is expanded by acb's host shell to a home directory on the build agent"
            ),
            ConstructKind::Glob => format!(
                "unquoted `{t}` is a glob for acb's host shell, matched against the build agent's working directory; taskrun passes it unchanged (what ACR does when nothing matches)"
            ),
            ConstructKind::Comment => "`#` starts a comment for acb's host shell: the rest of the line is ignored (taskrun ignores it too)".to_string(),
        }
    }

    /// The fix, for a `cmd` step: how to run the construct inside the container, or how to pass it
    /// literally.
    pub fn help(&self) -> String {
        let t = shown(&self.text);
        match self.kind {
            ConstructKind::And
            | ConstructKind::Or
            | ConstructKind::Semicolon
            | ConstructKind::Pipe
            | ConstructKind::Background => format!(
                "to run it inside the container, wrap the command in a shell: `<image> sh -c '… {t} …'`; to pass `{t}` as an argument, quote it: `'{t}'`"
            ),
            ConstructKind::Newline => "to continue the line, end it with `\\` or use a folded scalar (`cmd: >`); to run several commands in the container, use `<image> sh -c '…'`; or split them into separate steps".to_string(),
            ConstructKind::Subshell => format!(
                "quote it (`'{t}'`) to pass it as an argument, or wrap the command in `sh -c '…'`"
            ),
            ConstructKind::RedirectOut
            | ConstructKind::RedirectAppend
            | ConstructKind::RedirectIn
            | ConstructKind::Heredoc
            | ConstructKind::RedirectFd => format!(
                "to redirect inside the container, use a shell: `<image> sh -c '… {t} /workspace/file'`; to pass `{t}` as an argument, quote it: `'{t}'`"
            ),
            ConstructKind::CommandSubstitution
            | ConstructKind::Backtick
            | ConstructKind::Arithmetic => format!(
                "to run it in the container, single-quote it inside a shell: `<image> sh -c 'echo {t}'`; for run information use a template such as `{{{{.Run.ID}}}}`"
            ),
            ConstructKind::Variable => format!(
                "to expand it in the container, single-quote it inside a shell: `<image> sh -c 'echo {t}'` (set it with the step's `env:`); for a literal `$`, use single quotes or `\\$`; for a task value, use a template such as `{{{{.Values.name}}}}`"
            ),
            ConstructKind::DollarQuote => "use plain single or double quotes".to_string(),
            ConstructKind::Tilde => {
                format!("quote it (`'{t}'`) or write an absolute path such as `/workspace/…`")
            }
            ConstructKind::Glob => format!(
                "quote it (`'{t}'`) to pass it literally, or expand it in the container: `<image> sh -c 'ls {t}'`"
            ),
            ConstructKind::Comment => {
                "quote the `#` (`'#…'`) to pass it as an argument".to_string()
            }
        }
    }
}

impl fmt::Display for ShellConstruct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Show construct text on one line (line breaks as `\n`).
fn shown(text: &str) -> String {
    text.replace('\n', "\\n")
}

/// A syntax error that stops lexing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::enum_variant_names,
    reason = "every lexer error is a construct left open"
)]
pub enum LexErrorKind {
    /// `'` without its closing `'`.
    UnterminatedSingleQuote,
    /// `"` without its closing `"`.
    UnterminatedDoubleQuote,
    /// `` ` `` without its closing backtick.
    UnterminatedBacktick,
    /// `$(` without its closing `)`.
    UnterminatedSubstitution,
    /// `${` without its closing `}`.
    UnterminatedBrace,
}

/// A lexing error with the byte range from the opening character to the end of the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// What went wrong.
    pub kind: LexErrorKind,
    /// From the unmatched opener to the end of the string.
    pub span: Range<usize>,
}

impl LexError {
    /// One-line description.
    pub fn message(&self) -> String {
        match self.kind {
            LexErrorKind::UnterminatedSingleQuote => "unterminated single quote".to_string(),
            LexErrorKind::UnterminatedDoubleQuote => "unterminated double quote".to_string(),
            LexErrorKind::UnterminatedBacktick => "unterminated backtick".to_string(),
            LexErrorKind::UnterminatedSubstitution => "unterminated `$(`".to_string(),
            LexErrorKind::UnterminatedBrace => "unterminated `${`".to_string(),
        }
    }

    /// How to fix it.
    pub fn help(&self) -> String {
        match self.kind {
            LexErrorKind::UnterminatedSingleQuote => "add the closing `'`; inside single quotes nothing is special, so a single quote itself is written `'\\''`".to_string(),
            LexErrorKind::UnterminatedDoubleQuote => "add the closing `\"`; a double quote inside double quotes is written `\\\"`".to_string(),
            LexErrorKind::UnterminatedBacktick => "add the closing backtick, or quote it with single quotes to pass it literally".to_string(),
            LexErrorKind::UnterminatedSubstitution => "add the closing `)`, or single-quote the text to pass it literally".to_string(),
            LexErrorKind::UnterminatedBrace => "add the closing `}`, or single-quote the text to pass it literally".to_string(),
        }
    }
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for LexError {}

/// Result of [`lex`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lexed {
    /// Words of the first simple command, redirection targets removed: what `docker run` (or
    /// `docker build`) would receive on ACR.
    pub words: Vec<Word>,
    /// Every host-shell construct in the string, in source order.
    pub constructs: Vec<ShellConstruct>,
}

/// The character at byte offset `i`, if `i` is a character boundary inside `s`.
fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..)?.chars().next()
}

/// Whether `c` ends an unquoted word (blank, line break or operator character).
fn is_word_end(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '&' | '|' | ';' | '<' | '>' | '(' | ')'
    )
}

/// Operators by maximal munch, longest first.
const OPERATORS: &[(&str, ConstructKind)] = &[
    ("<<-", ConstructKind::Heredoc),
    ("&&", ConstructKind::And),
    ("||", ConstructKind::Or),
    (";;", ConstructKind::Semicolon),
    ("<<", ConstructKind::Heredoc),
    ("<&", ConstructKind::RedirectFd),
    ("<>", ConstructKind::RedirectIn),
    (">>", ConstructKind::RedirectAppend),
    (">&", ConstructKind::RedirectFd),
    (">|", ConstructKind::RedirectOut),
    ("&", ConstructKind::Background),
    ("|", ConstructKind::Pipe),
    (";", ConstructKind::Semicolon),
    ("<", ConstructKind::RedirectIn),
    (">", ConstructKind::RedirectOut),
    ("(", ConstructKind::Subshell),
    (")", ConstructKind::Subshell),
];

/// A word being accumulated.
struct WordBuf {
    start: usize,
    end: usize,
    text: String,
    quoted: bool,
    digits_only: bool,
    glob: bool,
    bracket_open: bool,
}

/// A token: a word or an operator.
enum Tok {
    Word(Word),
    Op(ConstructKind, Range<usize>),
}

struct Lexer<'a> {
    s: &'a str,
    i: usize,
    toks: Vec<Tok>,
    constructs: Vec<ShellConstruct>,
    cur: Option<WordBuf>,
    /// After `<<` / `<<-`: the next word is a here-document delimiter (`true`: strip tabs).
    heredoc_next: Option<bool>,
    /// Here-documents whose bodies start after the next line break: (delimiter, strip tabs).
    heredocs: Vec<(String, bool)>,
}

/// Split `s` into shell words the way POSIX `sh` would, without performing any expansion, and
/// report every construct that only the host shell would act on.
///
/// # Errors
///
/// Only for an unterminated quote, backtick, `$(` or `${` ([`LexErrorKind`]); everything else
/// (operators, expansions, …) is reported in [`Lexed::constructs`].
pub fn lex(s: &str) -> Result<Lexed, LexError> {
    let mut lx = Lexer {
        s,
        i: 0,
        toks: Vec::new(),
        constructs: Vec::new(),
        cur: None,
        heredoc_next: None,
        heredocs: Vec::new(),
    };
    lx.run()?;
    lx.finish_word();

    let Lexer {
        toks,
        mut constructs,
        ..
    } = lx;

    // Line breaks: a separator when something follows, unless the previous token continues the
    // list across lines (`&&`, `||`, `|`). A leading break counts, because acb puts its own
    // `docker run …` text before the string. `followed[k]`: some token after `k` is not a line
    // break.
    let mut followed = vec![false; toks.len()];
    let mut seen = false;
    for (k, tok) in toks.iter().enumerate().rev() {
        if let Some(slot) = followed.get_mut(k) {
            *slot = seen;
        }
        seen |= !matches!(tok, Tok::Op(ConstructKind::Newline, _));
    }
    for (k, tok) in toks.iter().enumerate() {
        let Tok::Op(ConstructKind::Newline, span) = tok else {
            continue;
        };
        let continues = k.checked_sub(1).and_then(|p| toks.get(p)).is_some_and(|t| {
            matches!(
                t,
                Tok::Op(
                    ConstructKind::And | ConstructKind::Or | ConstructKind::Pipe,
                    _
                )
            )
        });
        if !continues && followed.get(k).copied().unwrap_or(false) {
            constructs.push(ShellConstruct {
                kind: ConstructKind::Newline,
                span: span.clone(),
                text: "\n".to_string(),
            });
        }
    }
    constructs.sort_by_key(|c| (c.span.start, c.span.end));

    // The first simple command.
    let mut words = Vec::new();
    let mut redirect_target = false;
    for tok in toks {
        match tok {
            Tok::Word(w) => {
                if redirect_target {
                    redirect_target = false;
                } else {
                    words.push(w);
                }
            }
            Tok::Op(kind, _) if kind.is_redirect() => redirect_target = true,
            Tok::Op(..) => break,
        }
    }
    Ok(Lexed { words, constructs })
}

impl Lexer<'_> {
    fn word(&mut self) -> &mut WordBuf {
        let i = self.i;
        self.cur.get_or_insert_with(|| WordBuf {
            start: i,
            end: i,
            text: String::new(),
            quoted: false,
            digits_only: true,
            glob: false,
            bracket_open: false,
        })
    }

    /// Append literal text to the current word.
    fn push_text(&mut self, text: &str, quoted: bool) {
        let w = self.word();
        w.text.push_str(text);
        if quoted || !text.bytes().all(|b| b.is_ascii_digit()) {
            w.digits_only = false;
        }
        if quoted {
            w.quoted = true;
        }
    }

    fn set_end(&mut self) {
        let i = self.i;
        if let Some(w) = self.cur.as_mut() {
            w.end = i;
        }
    }

    fn finish_word(&mut self) {
        if let Some(w) = self.cur.take() {
            let span = w.start..w.end;
            if w.glob {
                self.constructs.push(ShellConstruct {
                    kind: ConstructKind::Glob,
                    span: span.clone(),
                    text: self.s.get(span.clone()).unwrap_or_default().to_string(),
                });
            }
            if let Some(strip) = self.heredoc_next.take() {
                self.heredocs.push((w.text.clone(), strip));
            }
            self.toks.push(Tok::Word(Word {
                text: w.text,
                span,
                quoted: w.quoted,
            }));
        }
    }

    fn construct(&mut self, kind: ConstructKind, span: Range<usize>) {
        let text = self.s.get(span.clone()).unwrap_or_default().to_string();
        self.constructs.push(ShellConstruct { kind, span, text });
    }

    fn run(&mut self) -> Result<(), LexError> {
        while let Some(c) = char_at(self.s, self.i) {
            let i = self.i;
            match c {
                ' ' | '\t' => {
                    self.finish_word();
                    self.i += 1;
                }
                '\n' => {
                    self.finish_word();
                    self.toks.push(Tok::Op(ConstructKind::Newline, i..i + 1));
                    self.i += 1;
                    self.skip_heredoc_bodies();
                }
                '\\' => match char_at(self.s, i + 1) {
                    None => {
                        // A trailing backslash stays literal.
                        self.push_text("\\", false);
                        self.i += 1;
                        self.set_end();
                    }
                    Some('\n') => {
                        self.i += 2;
                        self.set_end();
                    }
                    Some(n) => {
                        let mut buf = [0u8; 4];
                        self.push_text(n.encode_utf8(&mut buf), true);
                        self.i += 1 + n.len_utf8();
                        self.set_end();
                    }
                },
                '\'' => {
                    let Some(len) = self.s.get(i + 1..).and_then(|r| r.find('\'')) else {
                        return Err(LexError {
                            kind: LexErrorKind::UnterminatedSingleQuote,
                            span: i..self.s.len(),
                        });
                    };
                    let inner = self.s.get(i + 1..i + 1 + len).unwrap_or_default();
                    self.push_text(inner, true);
                    self.i = i + len + 2;
                    self.set_end();
                }
                '"' => self.double_quote()?,
                '$' => {
                    self.dollar(false)?;
                    self.set_end();
                }
                '`' => {
                    self.backtick()?;
                    self.set_end();
                }
                '#' if self.cur.is_none() => {
                    let end = self
                        .s
                        .get(i..)
                        .and_then(|r| r.find('\n'))
                        .map_or(self.s.len(), |n| i + n);
                    self.construct(ConstructKind::Comment, i..end);
                    self.i = end;
                }
                '&' | '|' | ';' | '<' | '>' | '(' | ')' => self.operator(c),
                '~' if self.cur.is_none() => {
                    self.tilde();
                    self.push_text("~", false);
                    self.i += 1;
                    self.set_end();
                }
                '*' | '?' => {
                    self.push_text(if c == '*' { "*" } else { "?" }, false);
                    self.word().glob = true;
                    self.i += 1;
                    self.set_end();
                }
                '[' => {
                    self.push_text("[", false);
                    self.word().bracket_open = true;
                    self.i += 1;
                    self.set_end();
                }
                ']' => {
                    self.push_text("]", false);
                    let w = self.word();
                    if w.bracket_open {
                        w.glob = true;
                    }
                    self.i += 1;
                    self.set_end();
                }
                _ => {
                    let mut buf = [0u8; 4];
                    self.push_text(c.encode_utf8(&mut buf), false);
                    self.i += c.len_utf8();
                    self.set_end();
                }
            }
        }
        Ok(())
    }

    fn operator(&mut self, c: char) {
        let at = self.i;
        let mut start = at;
        if matches!(c, '<' | '>')
            && let Some(w) = self.cur.as_ref()
            && w.digits_only
            && !w.text.is_empty()
            && w.end == at
        {
            // An IO number (`2>`): part of the operator, not a word.
            start = w.start;
            self.cur = None;
        }
        self.finish_word();
        // Up to three operator characters, skipping `\<newline>` between them (`&\<nl>&` is `&&`).
        let mut chars = String::new();
        let mut ends = Vec::new();
        let mut k = at;
        while chars.len() < 3 {
            match char_at(self.s, k) {
                Some(c) if matches!(c, '&' | '|' | ';' | '<' | '>' | '(' | ')' | '-') => {
                    chars.push(c);
                    k += 1;
                    ends.push(k);
                    k = skip_continuations(self.s, k);
                }
                _ => break,
            }
        }
        let (len, kind) = OPERATORS
            .iter()
            .find(|(op, _)| chars.starts_with(op))
            .map_or((1, ConstructKind::Subshell), |(op, k)| (op.len(), *k));
        let end = ends.get(len.saturating_sub(1)).copied().unwrap_or(at + 1);
        self.toks.push(Tok::Op(kind, start..end));
        self.construct(kind, start..end);
        self.i = end;
        if kind == ConstructKind::Heredoc {
            self.heredoc_next = Some(chars.starts_with("<<-"));
        }
    }

    /// After a line break: skip the bodies of pending here-documents, as the shell reads them
    /// (their text is not part of the command line; the `<<` itself is already reported).
    fn skip_heredoc_bodies(&mut self) {
        for (delim, strip) in std::mem::take(&mut self.heredocs) {
            while let Some(rest) = self.s.get(self.i..).filter(|r| !r.is_empty()) {
                let line_len = rest.find('\n').unwrap_or(rest.len());
                let line = rest.get(..line_len).unwrap_or_default();
                let line = if strip {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                self.i = (self.i + line_len + 1).min(self.s.len());
                if line == delim {
                    break;
                }
            }
        }
    }

    /// Report `~` / `~name` at the start of a word when it forms a tilde prefix.
    fn tilde(&mut self) {
        let i = self.i;
        let mut end = i + 1;
        loop {
            let j = skip_continuations(self.s, end);
            match char_at(self.s, j) {
                None => break,
                Some(c) if c == '/' || is_word_end(c) => break,
                Some(c) if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') => {
                    end = j + 1;
                }
                // Quotes, `$` or other characters: not a plain tilde prefix.
                Some(_) => return,
            }
        }
        self.construct(ConstructKind::Tilde, i..end);
    }

    fn double_quote(&mut self) -> Result<(), LexError> {
        let open = self.i;
        self.push_text("", true);
        self.i += 1;
        loop {
            let i = self.i;
            match char_at(self.s, i) {
                None => {
                    return Err(LexError {
                        kind: LexErrorKind::UnterminatedDoubleQuote,
                        span: open..self.s.len(),
                    });
                }
                Some('"') => {
                    self.i += 1;
                    break;
                }
                Some('\\') => match char_at(self.s, i + 1) {
                    Some(n @ ('$' | '`' | '"' | '\\')) => {
                        let mut buf = [0u8; 4];
                        self.push_text(n.encode_utf8(&mut buf), true);
                        self.i += 2;
                    }
                    Some('\n') => self.i += 2,
                    _ => {
                        self.push_text("\\", true);
                        self.i += 1;
                    }
                },
                Some('$') => self.dollar(true)?,
                Some('`') => self.backtick()?,
                Some(c) => {
                    let mut buf = [0u8; 4];
                    self.push_text(c.encode_utf8(&mut buf), true);
                    self.i += c.len_utf8();
                }
            }
        }
        self.set_end();
        Ok(())
    }

    /// `$` at `self.i`: an expansion (reported, kept verbatim) or a literal `$`.
    fn dollar(&mut self, in_dq: bool) -> Result<(), LexError> {
        let start = self.i;
        let s = self.s;
        // `\<newline>` is removed before tokenising, so `$\<newline>x` is `$x`.
        let j = skip_continuations(s, start + 1);
        let (kind, end) = match char_at(s, j) {
            Some('(') => {
                let Some(end) = match_paren(s, j) else {
                    return Err(LexError {
                        kind: LexErrorKind::UnterminatedSubstitution,
                        span: start..s.len(),
                    });
                };
                let arith = char_at(s, skip_continuations(s, j + 1)) == Some('(');
                let inner = s.get(start..end).unwrap_or_default();
                let kind = if arith && inner.ends_with("))") {
                    ConstructKind::Arithmetic
                } else {
                    ConstructKind::CommandSubstitution
                };
                (Some(kind), end)
            }
            Some('{') => {
                let Some(end) = match_brace(s, j) else {
                    return Err(LexError {
                        kind: LexErrorKind::UnterminatedBrace,
                        span: start..s.len(),
                    });
                };
                (Some(ConstructKind::Variable), end)
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let mut end = j + 1;
                loop {
                    let next = skip_continuations(s, end);
                    match char_at(s, next) {
                        Some(c) if c == '_' || c.is_ascii_alphanumeric() => end = next + 1,
                        _ => break,
                    }
                }
                (Some(ConstructKind::Variable), end)
            }
            Some(c)
                if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!') =>
            {
                (Some(ConstructKind::Variable), j + 1)
            }
            Some('\'' | '"') if !in_dq => {
                self.construct(ConstructKind::DollarQuote, start..j + 1);
                (None, j)
            }
            _ => (None, start + 1),
        };
        let text = s.get(start..end).unwrap_or_default();
        self.push_text(text, in_dq);
        if let Some(kind) = kind {
            self.construct(kind, start..end);
        }
        self.i = end;
        Ok(())
    }

    fn backtick(&mut self) -> Result<(), LexError> {
        let start = self.i;
        let Some(end) = skip_backtick(self.s, start) else {
            return Err(LexError {
                kind: LexErrorKind::UnterminatedBacktick,
                span: start..self.s.len(),
            });
        };
        let text = self.s.get(start..end).unwrap_or_default();
        let quoted = self.cur.as_ref().is_some_and(|w| w.quoted);
        self.push_text(text, quoted);
        self.construct(ConstructKind::Backtick, start..end);
        self.i = end;
        Ok(())
    }
}

/// Skip any `\<newline>` line continuations at `i`.
fn skip_continuations(s: &str, mut i: usize) -> usize {
    while s.get(i..).is_some_and(|r| r.starts_with("\\\n")) {
        i += 2;
    }
    i
}

/// From `(` at `open`, the offset just past its matching `)`, skipping quoted text.
fn match_paren(s: &str, open: usize) -> Option<usize> {
    match_closing(s, open, '(', ')')
}

/// From `{` at `open`, the offset just past its matching `}`, skipping quoted text.
fn match_brace(s: &str, open: usize) -> Option<usize> {
    match_closing(s, open, '{', '}')
}

/// A nesting level while matching a closer.
enum Frame {
    /// Inside `(…)` or `{…}`: the opener, the closer and how many are open.
    Group(char, char, usize),
    /// Inside `"…"`.
    DoubleQuote,
}

/// From `opener` at `open`, the offset just past its matching `closer`, skipping quoted text and
/// nested `"…$(…)…"`. Iterative, so arbitrarily deep nesting cannot overflow the stack.
fn match_closing(s: &str, open: usize, opener: char, closer: char) -> Option<usize> {
    let mut stack = vec![Frame::Group(opener, closer, 0)];
    let mut j = open;
    while let Some(c) = char_at(s, j) {
        let top = stack.last_mut()?;
        match (top, c) {
            (_, '\\') => {
                j += 1;
                if let Some(n) = char_at(s, j) {
                    j += n.len_utf8();
                }
                continue;
            }
            (_, '`') => {
                j = skip_backtick(s, j)?;
                continue;
            }
            (Frame::Group(..), '\'') => {
                let len = s.get(j + 1..)?.find('\'')?;
                j += len + 2;
                continue;
            }
            (Frame::Group(..), '"') => stack.push(Frame::DoubleQuote),
            (Frame::Group(o, cl, depth), _) => {
                if c == *o {
                    *depth += 1;
                } else if c == *cl {
                    *depth = depth.saturating_sub(1);
                    if *depth == 0 {
                        stack.pop();
                        if stack.is_empty() {
                            return Some(j + 1);
                        }
                    }
                }
            }
            (Frame::DoubleQuote, '"') => {
                stack.pop();
            }
            (Frame::DoubleQuote, '$') => match char_at(s, j + 1) {
                Some('(') => {
                    stack.push(Frame::Group('(', ')', 1));
                    j += 2;
                    continue;
                }
                Some('{') => {
                    stack.push(Frame::Group('{', '}', 1));
                    j += 2;
                    continue;
                }
                _ => {}
            },
            (Frame::DoubleQuote, _) => {}
        }
        j += c.len_utf8();
    }
    None
}

/// From a backtick at `open`, the offset just past the closing backtick.
fn skip_backtick(s: &str, open: usize) -> Option<usize> {
    let mut k = open + 1;
    loop {
        match char_at(s, k)? {
            '\\' => {
                k += 1;
                k += char_at(s, k)?.len_utf8();
            }
            '`' => return Some(k + 1),
            c => k += c.len_utf8(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        match lex(s) {
            Ok(l) => l.words.into_iter().map(|w| w.text).collect(),
            Err(e) => panic!("{s:?}: {e:?}"),
        }
    }

    fn lexed(s: &str) -> Lexed {
        match lex(s) {
            Ok(l) => l,
            Err(e) => panic!("{s:?}: {e:?}"),
        }
    }

    #[test]
    fn word_spans_include_quotes() {
        let s = r#"a 'b c'd "é" \x"#;
        let l = lexed(s);
        let spans: Vec<_> = l.words.iter().map(|w| w.span.clone()).collect();
        assert_eq!(spans, [0..1, 2..8, 9..13, 14..16]);
        let quoted: Vec<_> = l.words.iter().map(|w| w.quoted).collect();
        assert_eq!(quoted, [false, true, true, true]);
        assert_eq!(words(s), ["a", "b cd", "é", "x"]);
    }

    #[test]
    fn empty_words() {
        assert_eq!(words(r#"'' "" ''''"#), ["", "", ""]);
        assert!(words("").is_empty());
        assert!(words(" \t ").is_empty());
    }

    #[test]
    fn double_quote_escapes() {
        // Only $ ` " \ and newline are escapable inside double quotes.
        assert_eq!(words(r#""\$ \` \" \\ \n \a""#), [r#"$ ` " \ \n \a"#]);
        assert_eq!(words("\"a\\\nb\""), ["ab"]);
    }

    #[test]
    fn backslash_outside_quotes() {
        assert_eq!(words(r"a\ b \'c\' \\"), ["a b", "'c'", "\\"]);
        assert_eq!(words("a\\\nb"), ["ab"]);
    }

    #[test]
    fn single_quotes_keep_everything() {
        let s = r#"'$X "y" \n `z` && ;'"#;
        assert_eq!(words(s), [r#"$X "y" \n `z` && ;"#]);
        assert!(lexed(s).constructs.is_empty());
    }

    #[test]
    fn expansions_kept_verbatim_and_reported() {
        let s = r#"a$X "${Y}b" $(c "d)") `e` $((1+2)) $$ $@ $9"#;
        let l = lexed(s);
        assert_eq!(
            l.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            [
                "a$X",
                "${Y}b",
                r#"$(c "d)")"#,
                "`e`",
                "$((1+2))",
                "$$",
                "$@",
                "$9"
            ]
        );
        let texts: Vec<_> = l.constructs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "$X",
                "${Y}",
                r#"$(c "d)")"#,
                "`e`",
                "$((1+2))",
                "$$",
                "$@",
                "$9"
            ]
        );
        for c in &l.constructs {
            assert_eq!(s.get(c.span.clone()), Some(c.text.as_str()));
        }
    }

    #[test]
    fn nested_substitutions() {
        let s = r#"$(a "$(b ")" 'c)')" d)"#;
        let l = lexed(s);
        assert_eq!(l.words.len(), 1);
        assert_eq!(l.constructs.len(), 1);
        assert_eq!(l.constructs[0].span, 0..s.len());
        let s = "${a:-'}'}";
        assert_eq!(lexed(s).constructs[0].text, s);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "$(\"".repeat(100_000);
        assert!(lex(&deep).is_err());
        let mut balanced = "$(\"".repeat(10_000);
        balanced.push_str(&"\")".repeat(10_000));
        let l = lexed(&balanced);
        assert_eq!(l.constructs.len(), 1);
    }

    #[test]
    fn many_newlines_are_linear() {
        let s = "a\n".repeat(200_000);
        let l = lexed(&s);
        assert_eq!(l.constructs.len(), 199_999);
    }

    #[test]
    fn operators_split_words() {
        let l = lexed("a&&b||c;d|e&f>g>>h<i");
        assert_eq!(
            l.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        let kinds: Vec<_> = l.constructs.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ConstructKind::And,
                ConstructKind::Or,
                ConstructKind::Semicolon,
                ConstructKind::Pipe,
                ConstructKind::Background,
                ConstructKind::RedirectOut,
                ConstructKind::RedirectAppend,
                ConstructKind::RedirectIn,
            ]
        );
    }

    #[test]
    fn redirect_targets_are_not_words() {
        assert_eq!(
            words("a >f b 2>>g c <h d 2>&1 e"),
            ["a", "b", "c", "d", "e"]
        );
        assert_eq!(words("a <<EOF b"), ["a", "b"]);
    }

    #[test]
    fn more_operators() {
        for (s, text, kind) in [
            ("a >| f", ">|", ConstructKind::RedirectOut),
            ("a <> f", "<>", ConstructKind::RedirectIn),
            ("a <&0", "<&", ConstructKind::RedirectFd),
            ("a <<-E", "<<-", ConstructKind::Heredoc),
            ("a ;; b", ";;", ConstructKind::Semicolon),
            ("a 12> f", "12>", ConstructKind::RedirectOut),
            ("(a)", "(", ConstructKind::Subshell),
        ] {
            let l = lexed(s);
            assert_eq!(l.constructs[0].text, text, "{s}");
            assert_eq!(l.constructs[0].kind, kind, "{s}");
        }
    }

    #[test]
    fn continuations_inside_tokens() {
        let l = lexed("echo $\\\nab\\\nc x");
        assert_eq!(l.constructs[0].kind, ConstructKind::Variable);
        assert_eq!(l.constructs[0].span, 5..13);
        let l = lexed("a &\\\n& b 2>\\\n&1");
        let texts: Vec<_> = l.constructs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["&\\\n&", "2>\\\n&"]);
        assert_eq!(l.constructs[0].kind, ConstructKind::And);
        let l = lexed("~\\\n/x");
        assert_eq!(l.constructs[0].kind, ConstructKind::Tilde);
        let l = lexed("$\\\n(a)");
        assert_eq!(l.constructs[0].kind, ConstructKind::CommandSubstitution);
    }

    #[test]
    fn heredoc_bodies_are_skipped() {
        let l = lexed("cat <<EOF\nit's \"odd\" $(x\nEOF\nb");
        let texts: Vec<_> = l.constructs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["<<", "\n"]);
        assert_eq!(l.constructs[1].span, 9..10);
        let l = lexed("cat <<-E\n\tbody '\n\tE\n");
        let texts: Vec<_> = l.constructs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["<<-"]);
        // Unterminated body: runs to the end.
        assert!(lex("cat <<E\n'").is_ok());
    }

    #[test]
    fn tilde_rules() {
        let kinds = |s: &str| -> Vec<ConstructKind> {
            lexed(s).constructs.iter().map(|c| c.kind).collect()
        };
        assert_eq!(kinds("~"), [ConstructKind::Tilde]);
        assert_eq!(kinds("~/x"), [ConstructKind::Tilde]);
        assert_eq!(kinds("~me/x"), [ConstructKind::Tilde]);
        assert!(kinds("a~").is_empty());
        assert!(kinds("'~'").is_empty());
        assert!(kinds(r"\~").is_empty());
        assert!(kinds("~'x'").is_empty());
        assert!(kinds("x=~/a").is_empty());
    }

    #[test]
    fn glob_rules() {
        let globs = |s: &str| -> Vec<String> {
            lexed(s)
                .constructs
                .iter()
                .filter(|c| c.kind == ConstructKind::Glob)
                .map(|c| c.text.clone())
                .collect()
        };
        assert_eq!(globs("*.txt a?b [ab] x"), ["*.txt", "a?b", "[ab]"]);
        assert!(globs(r#"'*' "?" \* [ ] a]"#).is_empty());
        assert_eq!(globs("--query=[].name"), ["--query=[].name"]);
    }

    #[test]
    fn dollar_literal_cases() {
        let l = lexed("$ a$ $/ $. $- ");
        let texts: Vec<_> = l.constructs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["$-"]);
        assert_eq!(words("\"$\""), ["$"]);
        let l = lexed("$'a'");
        assert_eq!(l.constructs[0].kind, ConstructKind::DollarQuote);
        assert_eq!(l.words[0].text, "$a");
        assert!(lexed("\"$'a'\"").constructs.is_empty());
    }

    #[test]
    fn comments() {
        let l = lexed("a # b 'c\nd");
        assert_eq!(
            l.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(l.constructs[0].kind, ConstructKind::Comment);
        assert_eq!(l.constructs[0].text, "# b 'c");
        assert_eq!(l.constructs[1].kind, ConstructKind::Newline);
        // An unterminated quote inside a comment is not an error.
        assert!(lex("a # 'x").is_ok());
    }

    #[test]
    fn errors_and_help() {
        for (s, kind) in [
            ("'a", LexErrorKind::UnterminatedSingleQuote),
            ("\"a", LexErrorKind::UnterminatedDoubleQuote),
            ("`a", LexErrorKind::UnterminatedBacktick),
            ("$(a", LexErrorKind::UnterminatedSubstitution),
            ("${a", LexErrorKind::UnterminatedBrace),
            ("\"$(a\"", LexErrorKind::UnterminatedSubstitution),
        ] {
            // The span starts at the innermost unmatched opener.
            let start = usize::from(s.starts_with("\"$"));
            let e = lex(s).err().unwrap_or_else(|| panic!("{s}"));
            assert_eq!(e.kind, kind, "{s}");
            assert_eq!(e.span, start..s.len());
            assert!(!e.message().is_empty() && !e.help().is_empty());
            assert_eq!(e.to_string(), e.message());
        }
    }

    #[test]
    fn construct_texts() {
        let all = [
            "a && b", "a || b", "a ; b", "a | b", "a & b", "a\nb", "(a)", "a > f", "a >> f",
            "a < f", "a << E", "a 2>&1", "$(a)", "`a`", "$((1))", "$A", "$'a'", "~", "*", "# c",
        ];
        for s in all {
            let l = lexed(s);
            let c = l.constructs.first().unwrap_or_else(|| panic!("{s}"));
            assert!(!c.message().contains('\n'), "{s}");
            assert!(!c.help().is_empty(), "{s}");
            assert!(!c.kind.name().is_empty());
            assert_eq!(c.to_string(), c.message());
        }
    }
}
