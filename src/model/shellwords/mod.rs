//! POSIX shell word splitting for `cmd:` and `build:` strings, without ever running a shell.
//!
//! acb appends a step's `cmd` (or `build`) string to a `docker run …` line and hands the whole line
//! to `/bin/sh -c` on the build agent. taskrun never uses a shell: [`lex`] (in `lexer`) splits the string the way
//! that shell would (single quotes, double quotes with `\` escaping only `$ \` " \` and newline,
//! backslash escapes and `\<newline>` continuations outside quotes, adjacent quoted parts joining one
//! word, `''` as an empty word, `#` comments) and reports every construct that only the outer shell
//! would act on as a [`ShellConstruct`] (operators, redirections, expansions, unquoted line breaks,
//! globs, `~`, comments), so callers can warn about them or refuse them instead of silently running
//! something different.
//!
//! Expansions are never performed: `$HOME`, `$(date)` and backticks stay in the word text exactly as
//! written (their span is reported as a construct). Only the words of the *first* simple command are
//! returned, with redirection targets removed — that is exactly what `docker run`/`docker build`
//! would receive on ACR; everything after the first separator (`&&`, `;`, `|`, a line break, …) is
//! another host command and is only visible through the constructs.
//!
//! The module also holds, in `flags`, the shared pflag-style option parser ([`parse_flags`]) used
//! by the `cmd` and `build` parsers: `--flag value`, `--flag=value`, `-f value`, `-fvalue`, `-f=value`, combined
//! short booleans (`-it`), `--` ending the options, Go `strconv.ParseBool` values for booleans.
//!
//! Everything here is pure (no I/O), never panics on any input, and works on byte offsets into the
//! original string (always on UTF-8 character boundaries).

pub(crate) mod flags;
pub(crate) mod lexer;

// Every public item of both files keeps its old path, `model::shellwords::<item>`.
pub use flags::*;
pub use lexer::*;
