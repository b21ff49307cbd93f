//! A [`FileRequest`] (the task file and the values it is rendered with), the environment and
//! files → the resolved [`Inputs`] of a command (ripgrep's low → high args).
//!
//! Reads the task file, the values file and the secrets file; every problem is collected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::diag::{Code, Problem, Problems};
use crate::render::alias::DEFAULT_IMAGE_ALIASES;
use crate::render::{RenderOptions, RunInfo, SecretValues, TemplateData, values};
use crate::source::Source;

/// The run id used by `render`, `validate` and `graph` when `--run-id` is not given.
pub const DEFAULT_RUN_ID: &str = "local";

/// The task file and the values it is rendered with, as the CLI (`FileArgs`), named tasks and
/// quick tasks ask for them. Raw flag text is kept: [`resolve_inputs`] parses it and reports
/// every malformed entry with the flag's name.
#[derive(Debug, Clone, Default)]
pub struct FileRequest {
    /// `-f FILE`; `None`: `acr-task.yaml`, else `acb.yaml`; `-`: standard input.
    pub file: Option<PathBuf>,
    /// `--set KEY=VALUE` entries.
    pub set: Vec<String>,
    /// `--values FILE`.
    pub values: Option<PathBuf>,
    /// `--set-secret KEY=VALUE` entries (masked).
    pub set_secret: Vec<String>,
    /// `--secret ID=VALUE` entries (task secrets).
    pub secret: Vec<String>,
    /// `--secrets-file FILE`.
    pub secrets_file: Option<PathBuf>,
    /// The run registry, `.Run.Registry`.
    pub registry: Option<String>,
    /// The run id, `.Run.ID`.
    pub run_id: Option<String>,
    /// `.Run.Commit`.
    pub commit: Option<String>,
    /// `.Run.Branch`.
    pub branch: Option<String>,
    /// `.Run.GitTag`.
    pub git_tag: Option<String>,
    /// `.Run.Repository`.
    pub repository: Option<String>,
    /// `.Run.TriggeredBy`.
    pub triggered_by: Option<String>,
    /// The task name, `.Run.TaskName`.
    pub name: Option<String>,
    /// Warnings are errors.
    pub strict: bool,
    /// Template delimiters; `None`: detected.
    pub delims: Option<crate::render::Delims>,
    /// `--image-alias NAME=REF` entries.
    pub image_alias: Vec<String>,
    /// The workspace volume name `.Run.SharedVolume` renders (set by a run, which knows it).
    pub shared_volume: Option<String>,
    /// A generated task (quick build, quick run) used in place of a file: its name and text.
    pub generated: Option<(String, String)>,
    /// The CONTEXT directory, where a relative `-f` is looked up first.
    pub context_dir: Option<PathBuf>,
    /// More values to mask in all output (the `--secret-build-arg` values of a quick build).
    pub masked: Vec<String>,
}

/// Everything a command needs to render and check a task file.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The task file as read.
    pub file: Source,
    /// Template data (`.Run`, `.Values`).
    pub data: TemplateData,
    /// Locally supplied secret values.
    pub secrets: SecretValues,
    /// Render options.
    pub render: RenderOptions,
    /// Values to mask in all output (`--set-secret` values and secrets).
    pub masked: Vec<String>,
    /// `--strict`.
    pub strict: bool,
}

/// Resolves the file flags. `env` is the process environment (for `TASKRUN_SECRET_*`).
pub fn resolve_inputs(
    args: &FileRequest,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Inputs, Problems> {
    let mut problems = Problems::new();
    let path = task_path(args);
    let from_stdin = path == Path::new("-");
    let read_file = || {
        if let Some((name, text)) = &args.generated {
            Ok(Source::new(name.clone(), text.clone()))
        } else if from_stdin {
            read_stdin().map(|text| Source::new(STDIN_NAME, text))
        } else {
            read(&path, "task file").map(|text| Source::new(path.display().to_string(), text))
        }
    };
    let file = match read_file() {
        Ok(source) => Some(source),
        Err(p) if args.file.is_none() => {
            // Neither default name was found: say both were tried.
            problems.push(p.with_help(
                "no `-f FILE` was given, and neither `acr-task.yaml` nor `acb.yaml` (ACR's \
                 default names) is in this directory; pass the task file with `-f FILE`",
            ));
            None
        }
        Err(p) => {
            let looked_in_context = args
                .context_dir
                .as_ref()
                .zip(args.file.as_ref())
                .filter(|(_, f)| f.is_relative() && !from_stdin);
            problems.push(match looked_in_context {
                Some((dir, f)) => p.with_help(format!(
                    "a relative `-f` is looked up in CONTEXT first (`{}`), then in the current \
                     directory (`{}`); neither has it",
                    dir.join(f).display(),
                    f.display()
                )),
                None => p,
            });
            None
        }
    };

    let mut file_values = BTreeMap::new();
    if let Some(vpath) = &args.values {
        match read(vpath, "values file") {
            Ok(text) => {
                match values::parse_values(&Source::new(vpath.display().to_string(), text)) {
                    Ok(v) => file_values = v,
                    Err(p) => problems.push(p),
                }
            }
            Err(p) => problems.push(p),
        }
    }

    let mut sets = Vec::new();
    let mut masked = Vec::new();
    for raw in &args.set {
        match values::parse_assignment("--set", raw) {
            Ok(kv) => sets.push(kv),
            Err(p) => problems.push(p),
        }
    }
    for raw in &args.set_secret {
        match values::parse_assignment("--set-secret", raw) {
            Ok((k, v)) => {
                masked.push(v.clone());
                sets.push((k, v));
            }
            Err(p) => {
                masked.push(raw.clone());
                problems.push(p.with_help("write `--set-secret KEY=VALUE`"));
            }
        }
    }

    masked.extend(args.masked.iter().cloned());
    let mut secrets = SecretValues::new();
    secrets.insert_from_env(env);
    if let Some(spath) = &args.secrets_file {
        match read(spath, "secrets file") {
            Ok(text) => {
                let src = Source::new(spath.display().to_string(), text);
                match values::parse_values(&src) {
                    Ok(map) => {
                        for (k, v) in map {
                            let v = match v {
                                serde_json::Value::String(s) => s,
                                other => other.to_string(),
                            };
                            secrets.insert(k, v);
                        }
                    }
                    Err(p) => problems.push(without_secret_text(p)),
                }
            }
            Err(p) => problems.push(p),
        }
    }
    for raw in &args.secret {
        match values::parse_assignment("--secret", raw) {
            Ok((k, v)) => secrets.insert(k, v),
            Err(p) => {
                masked.push(raw.clone());
                problems.push(p);
            }
        }
    }
    masked.extend(secrets.values().map(str::to_owned));

    let mut image_aliases: BTreeMap<String, String> = DEFAULT_IMAGE_ALIASES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut explicit_image_aliases = Vec::new();
    for raw in &args.image_alias {
        match values::parse_assignment("--image-alias", raw) {
            Ok((k, v)) => {
                explicit_image_aliases.push(k.clone());
                image_aliases.insert(k, v);
            }
            Err(p) => problems.push(p),
        }
    }

    let Some(file) = file else {
        return Err(mask_problems(problems, &masked));
    };
    if problems.has_errors() {
        return Err(mask_problems(problems, &masked));
    }

    let registry = args.registry.clone().unwrap_or_default();
    let run_id = args.run_id.as_deref().unwrap_or(DEFAULT_RUN_ID);
    let mut run = RunInfo::new(run_id, &registry, Utc::now());
    run.commit = args.commit.clone().unwrap_or_default();
    run.branch = args.branch.clone().unwrap_or_default();
    run.git_tag = args.git_tag.clone().unwrap_or_default();
    run.repository = args.repository.clone().unwrap_or_default();
    run.triggered_by = args.triggered_by.clone().unwrap_or_default();
    run.task_name = args.name.clone().unwrap_or_default();
    run.shared_volume = args
        .shared_volume
        .clone()
        .unwrap_or_else(|| format!("taskrun-{run_id}-workspace"));

    let base_dir = Path::new(&file.name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let masked = crate::secrets::secret_forms(masked.iter().map(String::as_str));
    Ok(Inputs {
        data: TemplateData {
            run,
            values: values::merge(file_values, &sets),
            secrets: BTreeMap::new(),
        },
        file,
        secrets,
        render: RenderOptions {
            strict: args.strict,
            delims: args.delims,
            image_aliases,
            explicit_image_aliases,
            base_dir,
        },
        masked,
        strict: args.strict,
    })
}

/// A problem of the secrets file without the file's text: no snippet and not the parser's own
/// words (which may quote a value), only the position.
fn without_secret_text(p: Problem) -> Problem {
    let at = p
        .location()
        .map(|(_, line, col)| format!(" (line {line}, column {col})"))
        .unwrap_or_default();
    let message = p.message.replacen("the values file", "the secrets file", 1);
    let mut out = Problem::error(
        p.code,
        format!("{message}{at}; its text is not shown because it holds secrets"),
    );
    out.help = Some("fix the YAML: one `id: value` per line".to_owned());
    out
}

/// Problems found before the inputs are complete, with every secret value known so far
/// already replaced by `***` (the caller has no mask list yet).
fn mask_problems(problems: Problems, masked: &[String]) -> Problems {
    let forms = crate::secrets::secret_forms(masked.iter().map(String::as_str));
    let mut problems = problems;
    problems.map_in_place(|p| {
        p.message = crate::secrets::mask(&p.message, &forms);
        if let Some(h) = &p.help {
            p.help = Some(crate::secrets::mask(h, &forms));
        }
        for l in &mut p.labels {
            l.text = crate::secrets::mask(&l.text, &forms);
        }
    });
    problems
}

/// The name of a task file read from standard input (`-f -`).
pub const STDIN_NAME: &str = "(stdin)";

/// `-f FILE` (see [`locate_task_file`]), else `acr-task.yaml`, else `acb.yaml` (ACR's default
/// name).
fn task_path(args: &FileRequest) -> PathBuf {
    if let Some(f) = &args.file {
        return locate_task_file(f, args.context_dir.as_deref());
    }
    let default = PathBuf::from("acr-task.yaml");
    if default.exists() || !Path::new("acb.yaml").exists() {
        default
    } else {
        PathBuf::from("acb.yaml")
    }
}

/// Where a task file named `file` is, as `az acr run -f FILE CONTEXT` and `az acr task create
/// --file FILE --context CTX` read it: a relative path names a file in `context` when there is
/// one there, else a file relative to the current directory. `-` (standard input) and absolute
/// paths are returned as given.
pub fn locate_task_file(file: &Path, context: Option<&Path>) -> PathBuf {
    if file == Path::new("-") || file.is_absolute() {
        return file.to_path_buf();
    }
    match context.map(|c| c.join(file)) {
        Some(in_context) if in_context.is_file() => in_context,
        _ => file.to_path_buf(),
    }
}

/// The task file from standard input (`-f -`, as `az acr run -f -`).
fn read_stdin() -> Result<String, Problem> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| {
        Problem::error(
            Code::IoRead,
            format!("cannot read the task file from standard input: {e}"),
        )
        .with_help("pipe the task file into `taskrun -f -`")
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        Problem::error(
            Code::IoRead,
            "the task file read from standard input is not UTF-8 text",
        )
        .with_help("send the file as UTF-8")
    })
}

fn read(path: &Path, what: &str) -> Result<String, Problem> {
    std::fs::read(path)
        .map_err(|e| {
            Problem::error(
                Code::IoRead,
                format!("cannot read the {what} `{}`: {e}", path.display()),
            )
            .with_help(if what == "task file" {
                "pass the task file with `-f FILE`"
            } else {
                "check the path"
            })
        })
        .and_then(|bytes| {
            let bytes = bytes
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(&bytes)
                .to_vec();
            String::from_utf8(bytes).map_err(|_| {
                Problem::error(
                    Code::IoRead,
                    format!("the {what} `{}` is not UTF-8 text", path.display()),
                )
                .with_help("save the file as UTF-8")
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_task_file_is_looked_up_in_the_context_first() {
        let dir = std::env::temp_dir().join(format!("taskrun-locate-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/acr-task.yaml"), "steps: []\n").unwrap();
        let ctx = Some(dir.as_path());
        assert_eq!(
            locate_task_file(Path::new("sub/acr-task.yaml"), ctx),
            dir.join("sub/acr-task.yaml")
        );
        // Not in the context: as given (relative to the current directory).
        assert_eq!(
            locate_task_file(Path::new("other.yaml"), ctx),
            PathBuf::from("other.yaml")
        );
        // A directory of that name in the context is not a task file.
        assert_eq!(
            locate_task_file(Path::new("sub"), ctx),
            PathBuf::from("sub")
        );
        assert_eq!(locate_task_file(Path::new("-"), ctx), PathBuf::from("-"));
        assert_eq!(
            locate_task_file(Path::new("/abs.yaml"), ctx),
            PathBuf::from("/abs.yaml")
        );
        assert_eq!(
            locate_task_file(Path::new("x.yaml"), None),
            PathBuf::from("x.yaml")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
