//! Stage 1, text → text: comments, `$` aliases (v1.1.0), and the Go template render, as acb does
//! before any YAML parsing (reference/acb-behaviour.md §4.1).
//!
//! The output is the text the YAML stage parses. When it differs from the file, diagnostics of
//! later stages point into the rendered text, named `<file> (rendered)`, and say how to see it
//! with `taskrun render`.

pub mod alias;
pub mod comments;
pub mod data;
pub mod delims;
pub mod placeholders;
pub mod secrets;
pub mod sprig;
pub mod values;

use std::collections::BTreeMap;
use std::path::PathBuf;

use gotmpl::{MissingKey, Template, TemplateError};

use crate::diag::{Code, Problem, Problems};
use crate::source::Source;

pub use data::{RunInfo, TemplateData};
pub use delims::Delims;
pub use secrets::{DeclaredSecret, SecretValues};

/// Go's `text/template` built-in functions (they may start an action).
const BUILTINS: &[&str] = &[
    "print", "printf", "println", "len", "index", "slice", "call", "eq", "ne", "lt", "le", "gt",
    "ge", "and", "or", "not", "html", "js", "urlquery",
];

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Missing values are errors (`--strict`).
    pub strict: bool,
    /// Forced delimiters (`--delims`); detected when `None`.
    pub delims: Option<Delims>,
    /// Image aliases for v1.1.0 files (defaults plus `--image-alias`).
    pub image_aliases: BTreeMap<String, String>,
    /// The names given with `--image-alias` (a warning when the file's version has no aliases).
    pub explicit_image_aliases: Vec<String>,
    /// Directory that relative alias `src` files are read from (the task file's directory).
    pub base_dir: PathBuf,
}

/// The result of rendering a task file.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The rendered text, named `<file> (rendered)` when it differs from the file.
    pub source: Source,
    /// Whether rendering changed the text.
    pub changed: bool,
    /// The delimiters used.
    pub delims: Delims,
    /// Whether `$` aliases were applied (v1.1.0).
    pub aliases_enabled: bool,
    /// The alias map, for the image alias rewrite of `cmd` after parsing.
    pub aliases: alias::Aliases,
    /// Secrets declared in the file and whether each had a local value.
    pub secrets: Vec<DeclaredSecret>,
    /// Warnings (unresolved secrets, delimiter notes).
    pub warnings: Problems,
}

/// Renders `file` with `data`: aliases, then templates (twice when the file declares secrets).
pub fn render(
    file: &Source,
    data: &TemplateData,
    secret_values: &SecretValues,
    options: &RenderOptions,
) -> Result<Rendered, Problems> {
    let mut warnings = Problems::new();
    let mask = comments::comment_lines(&file.text);
    let function_names: Vec<&str> = BUILTINS.iter().copied().chain(sprig::names()).collect();
    let actions = delims::find_actions(&file.text, &mask, &function_names);
    let choice = delims::choose(&file.text, &actions, options.delims);
    if !choice.conflicting.is_empty() {
        let mut p = if options.delims.is_some() {
            Problem::warning(
                Code::MixedDelims,
                format!(
                    "this file is rendered with {} (forced by --delims), so these actions stay literal text",
                    choice.delims
                ),
            )
        } else {
            Problem::error(
                Code::MixedDelims,
                format!(
                    "this file uses both `{{{{ }}}}` and `<< >>` template actions; it is rendered with {}",
                    choice.delims
                ),
            )
        };
        for r in &choice.conflicting {
            p = p.with_label(r.clone(), "not rendered: uses the other delimiters");
        }
        p = p.in_source(file).with_help(
            "use one kind of delimiters for every action, or choose with `--delims braces|angles`",
        );
        if p.is_error() {
            return Err(p.into());
        }
        warnings.push(p);
    }
    let (left, right) = choice.delims.pair();

    // `$` aliases (v1.1.0 only).
    let version = alias::find_version(&file.text);
    let enabled = alias::aliases_enabled(version.as_deref());
    let (text, aliases) = if enabled {
        let render_block = |block: &str| -> Result<String, TemplateError> {
            execute(
                block,
                &file.name,
                data,
                options,
                choice.delims,
                MissingKey::ZeroValue,
            )
        };
        let opts = alias::AliasOptions {
            base_dir: &options.base_dir,
            image_aliases: &options.image_aliases,
            delims: (left, right),
            comment_lines: &mask,
        };
        match alias::preprocess(&file.text, &opts, &render_block) {
            Ok(pre) => (pre.text, pre.aliases),
            Err(errors) => {
                let mut problems = Problems::new();
                for e in errors {
                    let mut p = Problem::error(Code::Alias, e.message).in_source(file);
                    if e.line > 0 {
                        let at = file.offset_of(e.line, 1);
                        p = p.with_label(at..line_end(&file.text, at), "");
                    }
                    p = p.with_help(e.help.unwrap_or_else(|| {
                        "see https://aka.ms/acr/tasks/task-aliases for the alias format".to_owned()
                    }));
                    problems.push(p);
                }
                return Err(problems);
            }
        }
    } else {
        if !options.explicit_image_aliases.is_empty() {
            // acb ignores them too; say so rather than run a different image without a word.
            warnings.push(
                Problem::warning(
                    Code::Alias,
                    format!(
                        "--image-alias {} has no effect: aliases are off in files below \
                         version v1.1.0 (this file: {})",
                        options.explicit_image_aliases.join(", "),
                        version.as_deref().unwrap_or("no version, v1.0.0")
                    ),
                )
                .with_help("add `version: v1.1.0` to the file to use image aliases"),
            );
        }
        (file.text.to_string(), alias::Aliases::default())
    };
    // The text the template engine sees (after aliases) is what template errors point into.
    let template_src = if text == *file.text {
        file.clone()
    } else {
        Source::new(format!("{} (after aliases)", file.name), text.as_str())
    };
    let mask = comments::comment_lines(&text);
    let mut protected = comments::protect(&text, &mask, left, right);
    if choice.delims == Delims::Angles {
        protected = delims::escape_literal_angles(&protected, &mask, &function_names);
    }

    let strict = if options.strict {
        MissingKey::Error
    } else {
        MissingKey::ZeroValue
    };
    let mut declared = Vec::new();
    let filled;
    let data = if options.strict {
        data
    } else {
        filled = with_referenced_secrets(data, &protected);
        &filled
    };
    let out = if text.contains("secrets") {
        let first = execute(
            &protected,
            &file.name,
            data,
            options,
            choice.delims,
            MissingKey::ZeroValue,
        )
        .map_err(|e| template_problem(e, &template_src, options.strict, left))?;
        let ids = secrets::declared_ids(&first);
        if ids.is_empty() {
            finish(first)
        } else {
            let mut with_secrets = data.clone();
            for id in ids {
                let value = secret_values.lookup(&id);
                declared.push(DeclaredSecret {
                    id: id.clone(),
                    resolved: value.is_some(),
                });
                if value.is_none() {
                    warnings.push(unresolved_secret(&id, file));
                }
                with_secrets
                    .secrets
                    .insert(id, value.unwrap_or_default().to_owned());
            }
            let second = execute(
                &protected,
                &file.name,
                &with_secrets,
                options,
                choice.delims,
                strict,
            )
            .map_err(|e| template_problem(e, &template_src, options.strict, left))?;
            finish(second)
        }
    } else {
        let out = execute(&protected, &file.name, data, options, choice.delims, strict)
            .map_err(|e| template_problem(e, &template_src, options.strict, left))?;
        finish(out)
    };

    let changed = out != *file.text;
    let source = if changed {
        Source::new(format!("{} (rendered)", file.name), out)
    } else {
        file.clone()
    };
    Ok(Rendered {
        source,
        changed,
        delims: choice.delims,
        aliases_enabled: enabled,
        aliases,
        secrets: declared,
        warnings,
    })
}

/// `data` with an empty value for every `.Secrets.<id>` the text refers to and `data` lacks. On
/// ACR `.Secrets` is a map of strings rendered with `missingkey=zero`, so a secret nobody
/// declared or gave is `""`, also inside a pipeline (`{{.Secrets.x | lower}}`); gotmpl's zero
/// value for a missing key has no type, and `lower` refuses it.
fn with_referenced_secrets(data: &TemplateData, text: &str) -> TemplateData {
    let mut out = data.clone();
    for (at, found) in text.match_indices(".Secrets.") {
        let rest = &text[at + found.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 {
            out.secrets.entry(rest[..end].to_owned()).or_default();
        }
    }
    out
}

/// ACR deletes every `<no value>` from the output.
fn finish(out: String) -> String {
    if out.contains("<no value>") {
        out.replace("<no value>", "")
    } else {
        out
    }
}

/// Largest rendered text, in bytes: rendering stops with an error past it instead of exhausting
/// memory (`{{ range until 4000000 }}{{ repeat 60000000 "x" }}{{ end }}`). Task files are a few
/// KiB; so is what ACR renders.
pub const MAX_OUTPUT: usize = 64 << 20;

/// The template engine's output, refusing to grow past [`MAX_OUTPUT`].
#[derive(Default)]
struct CappedOutput {
    text: String,
    overflowed: bool,
}

impl std::fmt::Write for CappedOutput {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.text.len().saturating_add(s.len()) > MAX_OUTPUT {
            self.overflowed = true;
            return Err(std::fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

fn execute(
    text: &str,
    name: &str,
    data: &TemplateData,
    options: &RenderOptions,
    delims: Delims,
    missing: MissingKey,
) -> Result<String, TemplateError> {
    let _ = options;
    let (left, right) = delims.pair();
    let template = Template::new(name)
        .funcs(sprig::funcs())
        .delims(left, right)
        .missing_key(missing)
        .parse(text)?;
    let mut out = CappedOutput::default();
    match template.execute_fmt(&mut out, &data.to_template_value()) {
        Ok(()) => Ok(out.text),
        Err(_) if out.overflowed => Err(TemplateError::Exec(format!(
            "the rendered text is larger than {} MiB",
            MAX_OUTPUT >> 20
        ))),
        Err(e) => Err(e),
    }
}

fn line_end(text: &str, at: usize) -> usize {
    text[at.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| at + i)
}

fn unresolved_secret(id: &str, file: &Source) -> Problem {
    let mut p = Problem::warning(
        Code::SecretUnresolved,
        format!("secret `{id}` has no local value; it renders as an empty string"),
    )
    .with_help(format!(
        "pass `--secret {id}=VALUE`, set `TASKRUN_SECRET_{}`, or list it in a `--secrets-file`; `taskrun run` refuses to start without it",
        secrets::env_name(id)
    ));
    if let Some(at) = find_secret_decl(&file.text, id) {
        p = p.in_source(file).with_label(at.clone(), "declared here");
    }
    p
}

fn find_secret_decl(text: &str, id: &str) -> Option<std::ops::Range<usize>> {
    let mut offset = 0;
    for line in text.split('\n') {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        if let Some(rest) = t.strip_prefix("id:") {
            let v = rest.trim().trim_matches(['"', '\'']);
            if v == id {
                let start = offset + line.find(id).unwrap_or(0);
                return Some(start..start + id.len());
            }
        }
        offset += line.len() + 1;
    }
    None
}

/// Maps a template engine error to a diagnostic in `src`.
fn template_problem(err: TemplateError, src: &Source, strict: bool, left: &str) -> Problems {
    let p = match &err {
        TemplateError::Parse {
            line, col, message, ..
        }
        | TemplateError::Lex {
            line, col, message, ..
        } => {
            let mut at = src.offset_of(*line, *col);
            if message.contains("unclosed") || message.contains("unexpected EOF") {
                // Point at the action that was never closed, not at the end of the text.
                if let Some(open) = src.text[..at].rfind(left) {
                    at = open;
                }
            }
            let help = if message.contains("not defined") || message.contains("undefined function")
            {
                "taskrun ships the Sprig functions listed in docs/task-format.md; check the spelling"
            } else {
                "check the template action here: every action needs its closing delimiter and valid Go template syntax"
            };
            Problem::error(Code::TemplateParse, format!("template error: {message}"))
                .in_source(src)
                .with_label(at..line_end(&src.text, at), "")
                .with_help(help)
        }
        TemplateError::MissingKey { key } if strict => Problem::error(
            Code::MissingValue,
            format!("the template refers to `{key}`, which has no value (--strict)"),
        )
        .in_source(src)
        .with_labels_for(key)
        .with_help(format!(
            "pass `--set {key}=VALUE` or add `{key}` to the --values file, or drop --strict"
        )),
        other => {
            let text = other.to_string();
            let p = Problem::error(
                Code::TemplateExec,
                format!("template error while rendering `{}`: {text}", src.name),
            )
            .with_help("fix the template, or run `taskrun render` to see the text around it");
            // The engine gives no position for execution errors: point at the actions that call
            // the function named in the message, when there is one.
            match function_in_error(&text) {
                Some(name) => p.in_source(src).with_calls_of(name, left),
                None => p,
            }
        }
    };
    p.into()
}

/// The function named by an execution error (`error calling X: …`, `undefined function: X`).
fn function_in_error(message: &str) -> Option<&str> {
    let rest = message
        .split_once("error calling ")
        .or_else(|| message.split_once("undefined function: "))
        .map(|(_, r)| r)?;
    let name = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?;
    (!name.is_empty()).then_some(name)
}

impl Problem {
    /// Labels the template actions (opened by `left`) that mention function `name`.
    fn with_calls_of(mut self, name: &str, left: &str) -> Self {
        let Some(text) = self.source.as_ref().map(|s| s.text.clone()) else {
            return self;
        };
        let mut from = 0;
        while let Some(i) = text[from..].find(left) {
            let start = from + i;
            let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
            let line = &text[start..end];
            if let Some(at) = line.find(name) {
                let s = start + at;
                let boundary_ok = text[..s]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
                    && text[s + name.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                if boundary_ok {
                    self = self.with_label(s..s + name.len(), format!("calls `{name}`"));
                }
            }
            from = end.max(start + left.len());
            if self.labels.len() >= 8 {
                break;
            }
        }
        self
    }

    /// Labels every occurrence of `.<key>` in the source (for errors without positions).
    fn with_labels_for(mut self, key: &str) -> Self {
        let Some(text) = self.source.as_ref().map(|s| s.text.clone()) else {
            return self;
        };
        let needle = format!(".{key}");
        let mut from = 0;
        while let Some(i) = text[from..].find(&needle) {
            let start = from + i + 1;
            let end = start + key.len();
            let boundary = text[end..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if boundary {
                self = self.with_label(start..end, "no value");
            }
            from = end;
            if self.labels.len() >= 8 {
                break;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_text(text: &str) -> Result<Rendered, Problems> {
        let file = Source::new("acr-task.yaml", text);
        render(
            &file,
            &TemplateData::default(),
            &SecretValues::default(),
            &RenderOptions::default(),
        )
    }

    #[test]
    fn an_image_alias_given_for_a_file_without_aliases_is_a_warning() {
        let options = RenderOptions {
            explicit_image_aliases: vec!["node".into()],
            ..RenderOptions::default()
        };
        let render_with = |text: &str| {
            let file = Source::new("acr-task.yaml", text);
            render(
                &file,
                &TemplateData::default(),
                &SecretValues::default(),
                &options,
            )
            .expect("renders")
        };
        let old = render_with("version: v1.0.0\nsteps:\n  - cmd: node x\n");
        assert_eq!(old.warnings.iter().count(), 1);
        let w = old.warnings.iter().next().expect("warning");
        assert_eq!(w.code, Code::Alias);
        assert!(
            w.message.contains("--image-alias node has no effect"),
            "{}",
            w.message
        );
        let new = render_with("version: v1.1.0\nsteps:\n  - cmd: node x\n");
        assert_eq!(new.warnings.iter().count(), 0);
    }

    #[test]
    fn secrets_nobody_gave_are_empty_strings_in_pipelines_as_on_acr() {
        let out = render_text(
            "secrets:\n  - id: given\n    keyvault: https://v.vault.azure.net/secrets/x\nsteps:\n  - cmd: \"a{{ .Secrets.given | lower }}b{{ .Secrets.undeclared | upper }}c\"\n",
        )
        .expect("renders");
        assert!(
            out.source.text.contains("cmd: \"abc\""),
            "{}",
            out.source.text
        );
    }

    /// Found while fuzzing (`fuzz/regressions/render/output-too-large`): the output grew until
    /// the process ran out of memory.
    #[test]
    fn output_larger_than_the_cap_is_an_error() {
        let problems =
            render_text(r#"{{ range until 4000000 }}{{ repeat 60000000 "x" }}{{ end }}"#)
                .expect_err("too large");
        let p = problems.iter().next().expect("one problem");
        assert_eq!(p.code, Code::TemplateExec);
        assert!(p.message.contains("larger than 64 MiB"), "{}", p.message);
    }

    #[test]
    fn output_below_the_cap_renders() {
        let rendered = render_text(r#"{{ repeat 1000 "x" }}"#).expect("renders");
        assert_eq!(rendered.source.text.len(), 1000);
    }
}
