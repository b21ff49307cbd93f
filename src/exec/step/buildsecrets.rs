//! The values of a BuildKit build's `--secret` flags, found where the docker CLI in acb's build
//! container finds them.
//!
//! In acb the build's docker CLI runs in a container whose environment is `HOME=/acb/home` and
//! the step's `env`, whose working directory is the step's (in `/workspace`), and which has the
//! step's `volumeMounts`. So `env=VAR` (or a bare `id=VAR`) reads the step's env, where
//! `{{.Secrets.x}}` values usually arrive; a relative `src` is relative to the step's working
//! directory; an absolute `src` is in `/workspace` or in a mounted volume (a secret volume).
//! taskrun reads those files from the run's volumes through the engine, as it reads the
//! Dockerfile. A file that cannot be read fails the attempt with the CLI's
//! `failed to stat <path>` (exit code 1, as the CLI exits); a variable that is not set gives an
//! empty secret, as in the CLI, with a warning. Every value is added to the run's masking before
//! the build starts.

use futures_util::StreamExt;
use std::io::Read;

use crate::engine::{BuildSecret, Engine, EngineError};
use crate::exec::step::StepContext;
use crate::exec::step::failure::StepFailure;
use crate::model::Step;
use crate::model::buildargs::BuildArgs;
use crate::model::buildpath::cli_path;
use crate::model::buildsecret::{
    FilePlace, MAX_SECRET_SIZE, SecretSource, cli_env, file_place, parse_secrets,
};

/// The build's secrets and the warnings about them, or what the attempt fails with (never a
/// value).
pub(crate) type Resolved = Result<(Vec<BuildSecret>, Vec<String>), StepFailure>;

/// Why a secret file cannot be read (the text after the CLI's `failed to stat <path>: `).
#[derive(Debug, thiserror::Error)]
enum SecretFileError {
    /// The path is in none of the volumes taskrun can read.
    #[error(
        "taskrun reads secret files only from /workspace and the step's volumeMounts \
         (the docker CLI's own container files are not there)"
    )]
    Outside,
    /// The engine could not read the volume (its message).
    #[error("{0}")]
    Engine(String),
    /// The archive of the file could not be read.
    #[error("{0}")]
    Read(#[from] std::io::Error),
    /// The path is a directory or special file.
    #[error("not a regular file")]
    NotAFile,
}

/// Reads the values of the build's `--secret` flags and adds them to the run's masking.
pub(crate) async fn resolve<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    args: &BuildArgs,
) -> Result<Resolved, EngineError> {
    let specs = match parse_secrets(&args.secrets) {
        Ok(s) => s,
        Err(message) => return Ok(Err(StepFailure::new(format!("--secret: {message}")))),
    };
    let env = cli_env(step);
    let lookup = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let (mut secrets, mut warnings) = (Vec::new(), Vec::new());
    for spec in specs {
        let value = match spec.source(|name| lookup(name).is_some()) {
            SecretSource::Env(var) => match lookup(&var) {
                Some(v) => v.clone().into_bytes(),
                None => {
                    warnings.push(format!(
                        "--secret id={}: the variable {var} is not set in the step's env; the \
                         secret is empty (as with the docker CLI)",
                        spec.id
                    ));
                    Vec::new()
                }
            },
            SecretSource::File(path) => {
                let abs = cli_path(step, args, &path);
                match read_file(ctx, step, &abs).await? {
                    Ok(bytes) if bytes.len() > MAX_SECRET_SIZE => {
                        return Ok(Err(StepFailure::new(format!(
                            "--secret id={}: secret {} too big. max size 500KiB",
                            spec.id, spec.id
                        ))));
                    }
                    Ok(bytes) => bytes,
                    Err(why) => {
                        return Ok(Err(StepFailure::new(format!(
                            "--secret id={}: failed to stat {abs}: {why}",
                            spec.id
                        ))));
                    }
                }
            }
        };
        secrets.push(BuildSecret { id: spec.id, value });
    }
    let values: Vec<String> = secrets
        .iter()
        .map(|s| String::from_utf8_lossy(&s.value).into_owned())
        .collect();
    let trimmed: Vec<&str> = values
        .iter()
        .map(|v| v.trim_end_matches(['\n', '\r']))
        .collect();
    let mut forms = crate::report::secret_forms(values.iter().map(String::as_str).chain(trimmed));
    // Output is masked line by line: a form with a line break (a file's trailing newline)
    // would take the line's own break with it; the lines of a value are forms of their own.
    forms.retain(|f| !f.contains(['\n', '\r']));
    ctx.reporter.add_masked(&forms);
    Ok(Ok((secrets, warnings)))
}

/// The volume an absolute path of the build container is in, and the path in it.
pub(crate) fn place<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    abs: &str,
) -> Option<(String, String)> {
    match file_place(abs, &step.volume_mounts)? {
        FilePlace::Workspace(rel) => Some((ctx.env.workspace.clone(), rel)),
        FilePlace::Volume(name, rel) => Some((ctx.env.volumes.get(&name)?.clone(), rel)),
    }
}

/// Reads a secret file; the inner `Err` says why it cannot be read.
async fn read_file<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    abs: &str,
) -> Result<Result<Vec<u8>, SecretFileError>, EngineError> {
    let Some((volume, rel)) = place(ctx, step, abs) else {
        return Ok(Err(SecretFileError::Outside));
    };
    let mut stream = match ctx.engine.get_from_volume(&volume, &rel).await {
        Ok(s) => s,
        Err(EngineError::Failed { message, .. }) => {
            return Ok(Err(SecretFileError::Engine(message)));
        }
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => bytes.extend_from_slice(&c),
            Err(e) => return Ok(Err(SecretFileError::Read(e))),
        }
        if bytes.len() > MAX_SECRET_SIZE + (64 << 10) {
            break;
        }
    }
    Ok(first_file(&bytes))
}

/// The content of the first entry of a tar when it is a regular file (one byte over the limit
/// at most). An archive without entries (the fake engine of `--dry-run`) is an empty file.
fn first_file(tar_bytes: &[u8]) -> Result<Vec<u8>, SecretFileError> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut entries = archive.entries()?;
    let mut entry = match entries.next() {
        None => return Ok(Vec::new()),
        Some(e) => e?,
    };
    if !entry.header().entry_type().is_file() {
        return Err(SecretFileError::NotAFile);
    }
    let mut out = Vec::new();
    entry
        .by_ref()
        .take(MAX_SECRET_SIZE as u64 + 1)
        .read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(name: &str, content: &[u8], kind: tar::EntryType) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(content.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, name, content).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn a_secret_file_is_the_first_regular_file_of_the_archive() {
        let tar = tar_of("tok", b"value\n", tar::EntryType::Regular);
        assert_eq!(first_file(&tar).unwrap(), b"value\n");
        assert_eq!(first_file(&[0u8; 1024]).unwrap(), b"");
        let dir = tar_of("d/", b"", tar::EntryType::Directory);
        assert_eq!(
            first_file(&dir).unwrap_err().to_string(),
            "not a regular file"
        );
        let big = vec![b'x'; MAX_SECRET_SIZE + 10];
        let tar = tar_of("big", &big, tar::EntryType::Regular);
        assert_eq!(first_file(&tar).unwrap().len(), MAX_SECRET_SIZE + 1);
    }

    #[test]
    fn secret_file_errors_keep_their_wording() {
        assert_eq!(
            SecretFileError::Outside.to_string(),
            "taskrun reads secret files only from /workspace and the step's volumeMounts \
             (the docker CLI's own container files are not there)"
        );
        assert_eq!(
            SecretFileError::Engine("no such file".into()).to_string(),
            "no such file"
        );
        let io = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "early eof");
        assert_eq!(SecretFileError::from(io).to_string(), "early eof");
    }
}
