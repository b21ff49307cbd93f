//! `build` steps: the docker-build string parsed without a shell (model::buildargs), the context
//! read back from the workspace volume (so files written by earlier steps are in it), filtered
//! by `.dockerignore` with Docker's rules, and built by the engine's classic builder. A
//! Dockerfile outside the context (but inside the workspace) is read from the workspace and sent
//! in the context archive under a generated `.dockerfile.<hex>` name, with that name added to
//! the archive's `.dockerignore`, as the docker CLI does.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::context::{self, DockerIgnore};
use crate::engine::{BuildRequest, Engine, EngineError, LogSink, LogStream};
use crate::exec::step::{Outcome, StepContext, StepSink, attempts};
use crate::model::Step;
use crate::model::buildargs::{BuildArgs, parse_build};
use crate::model::buildpath::{DockerfilePlace, Located, locate};
use crate::registry::reference::registry_of;

/// Runs a `build` step.
pub(crate) async fn run<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    args: &str,
    cancel: &CancellationToken,
) -> Outcome {
    let parsed = match parse_build(args) {
        Ok(p) => p,
        Err(errors) => {
            let msgs: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            return Outcome::Failed {
                message: format!("cannot parse the build arguments: {}", msgs.join("; ")),
                exit_code: None,
            };
        }
    };
    let plan = match locate(step, &parsed) {
        Ok(p) => p,
        Err(e) => {
            return Outcome::Failed {
                message: e.to_string(),
                exit_code: None,
            };
        }
    };
    if step.env.iter().any(|e| e == "DOCKER_BUILDKIT=1") {
        ctx.reporter.step_message(
            &step.id,
            "DOCKER_BUILDKIT=1 is set, but taskrun builds with the engine's classic builder (as ACR does by default)",
        );
    }
    let sink = StepSink::new(step, Arc::clone(&ctx.reporter));
    let image_id: Arc<Mutex<Option<String>>> = Arc::default();
    let (plan, parsed, sink_ref, image_slot) = (&plan, &parsed, &sink, &image_id);
    let outcome = attempts(ctx, step, &sink, cancel, move |_n| {
        Box::pin(async move {
            let (sink, image_id) = (sink_ref, image_slot);
            let ignore = read_ignore(ctx, plan).await?;
            let outside = match &plan.dockerfile {
                DockerfilePlace::Inside(_) => None,
                DockerfilePlace::Outside(path) => match read_dockerfile(ctx, path).await? {
                    Ok(bytes) => Some(bytes),
                    Err(message) => {
                        sink.line(LogStream::Stderr, &message);
                        return Ok(1);
                    }
                },
            };
            let archive = ctx
                .engine
                .get_from_volume(&ctx.env.workspace, &plan.volume_path_contents())
                .await?;
            let mut filter =
                context::TarFilter::new(&ignore, plan.dockerfile_in_context()).strip_prefix(".");
            let dockerfile = match outside {
                Some(bytes) => filter.add_outside_dockerfile(bytes),
                None => plan
                    .dockerfile_in_context()
                    .unwrap_or("Dockerfile")
                    .to_owned(),
            };
            let filtered = filter.stream_from(archive);
            let left_out = filtered.handle();
            let request = BuildRequest {
                context: filtered.boxed(),
                dockerfile,
                tags: parsed.tags.clone(),
                build_args: build_args(parsed, step),
                target: parsed.target.clone(),
                no_cache: parsed.no_cache,
                pull: parsed.pull,
                labels: parsed.labels.iter().cloned().collect(),
                platform: parsed.platform.clone(),
                network: parsed.network.as_ref().map(|n| {
                    ctx.env
                        .networks
                        .get(n)
                        .cloned()
                        .unwrap_or_else(|| n.clone())
                }),
                cache_from: parsed.cache_from.clone(),
                extra_hosts: parsed.add_hosts.clone(),
                auths: parsed
                    .tags
                    .iter()
                    .chain(ctx.options.login_registries.iter())
                    .filter_map(|r| ctx.options.credentials.for_registry(registry_of(r)))
                    .collect(),
            };
            let built = ctx
                .engine
                .build(request, sink.clone() as Arc<dyn LogSink>, cancel.clone())
                .await;
            for warning in left_out.warnings() {
                ctx.reporter
                    .step_message(&step.id, &format!("warning: {warning}"));
            }
            match built {
                Ok(id) => {
                    if let Ok(mut slot) = image_id.lock() {
                        *slot = Some(id);
                    }
                    Ok(0)
                }
                Err(EngineError::Failed { message, .. }) => {
                    sink.line(LogStream::Stderr, &message);
                    Ok(1)
                }
                Err(e) => Err(e),
            }
        })
    })
    .await;
    match outcome {
        Outcome::Done {
            exit_code, pushed, ..
        } => Outcome::Done {
            exit_code,
            pushed,
            image_id: image_id.lock().ok().and_then(|s| s.clone()),
            dependencies: scan_dependencies(ctx, step, plan, parsed).await,
        },
        other => other,
    }
}

/// Scans the step's Dockerfile (as built, from the workspace) for its base images: acb's
/// dependency records, one per tag, digests filled at the end of the run. A Dockerfile the
/// scanner cannot read is reported as a step message, never a failure (the build succeeded).
async fn scan_dependencies<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    plan: &Located,
    parsed: &BuildArgs,
) -> Vec<crate::deps::Dependencies> {
    let path = plan.dockerfile_in_workspace();
    let text = match ctx.engine.get_from_volume(&ctx.env.workspace, &path).await {
        Ok(mut stream) => {
            let mut bytes = Vec::new();
            while let Some(Ok(chunk)) = stream.next().await {
                bytes.extend_from_slice(&chunk);
            }
            first_file(&bytes).unwrap_or_default()
        }
        Err(_) => String::new(),
    };
    let options = crate::deps::ScanOptions {
        build_args: build_args(parsed, step)
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect(),
        target: parsed.target.clone(),
        platform: parsed.platform.clone(),
    };
    let scanned = match crate::deps::scan(&text, &options) {
        Ok(s) => s,
        Err(e) => {
            ctx.reporter.step_message(
                &step.id,
                &format!("Could not scan {path} for base images: {}", e.message),
            );
            return Vec::new();
        }
    };
    match crate::deps::dependencies_for_build(&scanned, &parsed.tags, &ctx.options.git_head) {
        Ok(d) => d,
        Err(e) => {
            ctx.reporter
                .step_message(&step.id, &format!("Could not record dependencies: {e}"));
            Vec::new()
        }
    }
}

/// `--build-arg K=V` as given; `--build-arg K` takes K from the step's env (the docker CLI in
/// acb's build container sees the step env), and is dropped when unset there.
fn build_args(args: &BuildArgs, step: &Step) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in &args.build_args {
        let value = match v {
            Some(v) => Some(v.clone()),
            None => step
                .env
                .iter()
                .rev()
                .find_map(|e| e.strip_prefix(&format!("{k}=")).map(str::to_owned)),
        };
        if let Some(v) = value {
            out.insert(k.clone(), v);
        }
    }
    out
}

/// Reads the first ignore file that exists: `<Dockerfile>.dockerignore` next to the Dockerfile
/// (inside the context or not), else the context's `.dockerignore`.
async fn read_ignore<E: Engine>(
    ctx: &StepContext<E>,
    plan: &Located,
) -> Result<DockerIgnore, EngineError> {
    for path in plan.ignore_candidates() {
        let Ok(mut stream) = ctx.engine.get_from_volume(&ctx.env.workspace, &path).await else {
            continue;
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => bytes.extend_from_slice(&c),
                Err(_) => break,
            }
            if bytes.len() > 16 << 20 {
                break;
            }
        }
        let text = first_file(&bytes).unwrap_or_default();
        return DockerIgnore::parse(&text).map_err(|e| EngineError::Failed {
            operation: "read",
            subject: path,
            message: e.to_string(),
        });
    }
    Ok(DockerIgnore::default())
}

/// The largest Dockerfile from outside the context taskrun sends (the CLI reads it whole into
/// memory too; this keeps that bounded).
const MAX_DOCKERFILE: usize = 16 << 20;

/// Reads a Dockerfile that lies outside the context from the workspace (`path` relative to the
/// volume root). A file that cannot be read fails the step with the returned message, as the
/// CLI's `unable to prepare context`; engine failures are passed on.
async fn read_dockerfile<E: Engine>(
    ctx: &StepContext<E>,
    path: &str,
) -> Result<Result<Vec<u8>, String>, EngineError> {
    let shown = format!("/workspace/{path}");
    let mut stream = match ctx.engine.get_from_volume(&ctx.env.workspace, path).await {
        Ok(s) => s,
        Err(EngineError::Failed { message, .. }) => {
            return Ok(Err(format!(
                "unable to prepare context: cannot read the Dockerfile {shown}: {message}"
            )));
        }
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| EngineError::Failed {
            operation: "read from volume",
            subject: shown.clone(),
            message: e.to_string(),
        })?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_DOCKERFILE + (64 << 10) {
            break;
        }
    }
    Ok(first_file_bytes(&bytes, MAX_DOCKERFILE)
        .map_err(|why| format!("unable to prepare context: the Dockerfile {shown} {why}")))
}

/// The content of the first entry of a tar when it is a regular file of at most `limit` bytes.
/// An archive without entries (only the fake engine of `--dry-run` answers so) is an empty
/// file, which the engine's builder then reports.
fn first_file_bytes(tar_bytes: &[u8], limit: usize) -> Result<Vec<u8>, &'static str> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut entries = archive.entries().map_err(|_| "cannot be read")?;
    let mut entry = match entries.next() {
        Some(Ok(e)) => e,
        None => return Ok(Vec::new()),
        Some(Err(_)) => return Err("cannot be read"),
    };
    if !entry.header().entry_type().is_file() {
        return Err("is not a regular file");
    }
    if entry.size() > limit as u64 {
        return Err("is larger than 16 MiB");
    }
    let mut out = Vec::new();
    entry.read_to_end(&mut out).map_err(|_| "cannot be read")?;
    Ok(out)
}

fn first_file(tar_bytes: &[u8]) -> Option<String> {
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.header().entry_type().is_file() {
            let mut s = String::new();
            entry.read_to_string(&mut s).ok()?;
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, content) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(content.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *content).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn a_dockerfile_read_back_from_the_volume_is_its_first_file() {
        let tar = tar_of(&[("Dockerfile", b"FROM scratch\n")]);
        assert_eq!(first_file(&tar).as_deref(), Some("FROM scratch\n"));
        assert_eq!(first_file(&tar_of(&[])), None);
    }

    #[test]
    fn outside_dockerfiles_over_the_limit_are_refused() {
        let big = vec![b'#'; MAX_DOCKERFILE + 1];
        let tar = tar_of(&[("Dockerfile", &big)]);
        assert!(first_file_bytes(&tar, MAX_DOCKERFILE).is_err());
        let tar = tar_of(&[("Dockerfile", b"FROM a\n")]);
        assert_eq!(first_file_bytes(&tar, MAX_DOCKERFILE).unwrap(), b"FROM a\n");
        assert_eq!(first_file_bytes(&[0u8; 1024], MAX_DOCKERFILE).unwrap(), b"");
        let dir = {
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            h.set_mode(0o755);
            h.set_cksum();
            b.append_data(&mut h, "Dockerfile/", &[][..]).unwrap();
            b.into_inner().unwrap()
        };
        assert_eq!(
            first_file_bytes(&dir, MAX_DOCKERFILE),
            Err("is not a regular file")
        );
    }
}
