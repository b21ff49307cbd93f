//! `build` steps: the docker-build string parsed without a shell (model::buildargs), the context
//! read back from the workspace volume (so files written by earlier steps are in it), filtered
//! by `.dockerignore` with Docker's rules, and built by the engine's classic builder.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::context::remote::{self, FetchOptions, RemoteSource};
use crate::context::{self, DockerIgnore};
use crate::engine::{BuildRequest, Engine, EngineError, LogSink, LogStream};
use crate::exec::step::{Outcome, StepContext, StepSink, attempts, clean_path, working_dir};
use crate::model::Step;
use crate::model::buildargs::{BuildArgs, ContextKind, parse_build};
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
        Err(message) => {
            return Outcome::Failed {
                message,
                exit_code: None,
            };
        }
    };
    if let Some(warning) = parsed.context.warning() {
        ctx.reporter.step_message(
            &step.id,
            &format!("WARNING: {}", remote::mask_url(&warning)),
        );
    }
    if let Some(source) = RemoteSource::from_kind(&parsed.context)
        && let Err(outcome) = fetch_remote(ctx, step, &source, cancel).await
    {
        return outcome;
    }
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
            let archive = ctx
                .engine
                .get_from_volume(&ctx.env.workspace, &plan.volume_path_contents())
                .await?;
            let filtered =
                context::filter_tar_stream(archive, ".", &ignore, Some(&plan.dockerfile));
            let left_out = filtered.handle();
            let request = BuildRequest {
                context: filtered.boxed(),
                dockerfile: plan.dockerfile.clone(),
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

/// Fetches a remote context into the workspace volume under `<stepID>`, as acb's scanner
/// downloads it into `<workdir>/<stepID>` (the fake engine only records it).
async fn fetch_remote<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    source: &RemoteSource,
    cancel: &CancellationToken,
) -> Result<(), Outcome> {
    let options = FetchOptions {
        git: remote::git_program(),
        credentials: ctx.options.credentials.clone(),
        insecure_registries: ctx.options.insecure_registries.clone(),
        ..FetchOptions::default()
    };
    let sink = StepSink::new(step, Arc::clone(&ctx.reporter));
    match ctx
        .engine
        .put_remote_context(
            &ctx.env.workspace,
            &step.id,
            source,
            &options,
            sink as Arc<dyn LogSink>,
            cancel.clone(),
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(EngineError::Failed {
            operation: "fetch the build context",
            message,
            ..
        }) => Err(Outcome::Failed {
            message: format!(
                "failed to fetch the {} context {}: {message}",
                source.kind(),
                source.display()
            ),
            exit_code: None,
        }),
        Err(e) => Err(Outcome::Engine(e)),
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
    let path = if plan.context.is_empty() {
        plan.dockerfile.clone()
    } else {
        format!("{}/{}", plan.context, plan.dockerfile)
    };
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

/// Where the context and Dockerfile are inside the workspace volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    /// Context directory relative to the volume root (empty for the root).
    pub context: String,
    /// Dockerfile path relative to the context.
    pub dockerfile: String,
}

impl Located {
    /// The volume path whose *contents* are the context (`docker cp` `path/.` semantics).
    fn volume_path_contents(&self) -> String {
        if self.context.is_empty() {
            ".".to_owned()
        } else {
            format!("{}/.", self.context)
        }
    }
}

/// Resolves the context and Dockerfile against the step's working directory, as the docker
/// CLI does inside acb's build container (`-f` is relative to the working directory, the default
/// Dockerfile is `<context>/Dockerfile`). Both must be inside `/workspace`. A remote context is
/// fetched into `<stepID>` and built from `/workspace/<stepID>[/<subdir>]` with context `.`,
/// whatever the step's `workingDirectory` (acb, reference §5.1.3).
pub(crate) fn locate(step: &Step, args: &BuildArgs) -> Result<Located, String> {
    if let Some(source) = RemoteSource::from_kind(&args.context) {
        let mut wd = format!("/workspace/{}", step.id);
        if let Some(sub) = source.subdir() {
            wd = format!("{wd}/{sub}");
        }
        let fetched = clean_path(&format!("/workspace/{}", step.id));
        let wd = clean_path(&wd);
        if wd != fetched && !wd.starts_with(&format!("{fetched}/")) {
            return Err(format!(
                "the sub-directory of the build context `{}` is outside the fetched files",
                source.display()
            ));
        }
        return locate_in(&wd, ".", args.dockerfile.as_deref());
    }
    let ContextKind::Local(ctx_path) = &args.context else {
        return Err(format!(
            "the build context `{}` is not supported",
            args.context.as_str()
        ));
    };
    let wd = working_dir(step).unwrap_or_else(|| "/workspace".to_owned());
    locate_in(&wd, ctx_path, args.dockerfile.as_deref())
}

fn locate_in(wd: &str, ctx_path: &str, dockerfile: Option<&str>) -> Result<Located, String> {
    let join = |p: &str| {
        if p.starts_with('/') {
            clean_path(p)
        } else {
            clean_path(&format!("{wd}/{p}"))
        }
    };
    let ctx_abs = join(ctx_path);
    let Some(ctx_rel) = under_workspace(&ctx_abs) else {
        return Err(format!(
            "the build context `{ctx_path}` resolves to `{ctx_abs}`, outside /workspace; taskrun builds only from the shared workspace"
        ));
    };
    let df_abs = match dockerfile {
        Some(f) => join(f),
        None => format!("{}/Dockerfile", ctx_abs.trim_end_matches('/')),
    };
    let prefix = format!("{}/", ctx_abs.trim_end_matches('/'));
    let Some(df_rel) = df_abs.strip_prefix(&prefix) else {
        return Err(format!(
            "the Dockerfile `{df_abs}` is outside the build context `{ctx_abs}`; move it into the context"
        ));
    };
    Ok(Located {
        context: ctx_rel,
        dockerfile: df_rel.to_owned(),
    })
}

fn under_workspace(abs: &str) -> Option<String> {
    if abs == "/workspace" {
        return Some(String::new());
    }
    abs.strip_prefix("/workspace/").map(str::to_owned)
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

/// Reads the first ignore file that exists in the workspace context.
async fn read_ignore<E: Engine>(
    ctx: &StepContext<E>,
    plan: &Located,
) -> Result<DockerIgnore, EngineError> {
    for candidate in context::ignore_file_candidates(Some(&plan.dockerfile)) {
        let path = if plan.context.is_empty() {
            candidate.clone()
        } else {
            format!("{}/{candidate}", plan.context)
        };
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
    use crate::model::StepKind;

    fn located(wd: Option<&str>, build: &str) -> Result<Located, String> {
        let mut s = Step::new(0, "b".into(), StepKind::Build(build.into()));
        s.working_directory = wd.map(str::to_owned);
        locate(&s, &parse_build(build).unwrap())
    }

    #[test]
    fn context_and_dockerfile_resolution() {
        assert_eq!(
            located(None, "-t a .").unwrap(),
            Located {
                context: String::new(),
                dockerfile: "Dockerfile".into()
            }
        );
        assert_eq!(
            located(None, "-f app/Dockerfile.x app").unwrap(),
            Located {
                context: "app".into(),
                dockerfile: "Dockerfile.x".into()
            }
        );
        assert_eq!(
            located(Some("src"), "-f docker/Dockerfile .").unwrap(),
            Located {
                context: "src".into(),
                dockerfile: "docker/Dockerfile".into()
            }
        );
        assert!(
            located(None, "-f ../Dockerfile .")
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            located(None, "/etc")
                .unwrap_err()
                .contains("outside /workspace")
        );
        // Remote: `<stepID>[/<subdir>]`, context `.`, working directory ignored.
        assert_eq!(
            located(Some("src"), "https://github.com/a/b.git#main:app").unwrap(),
            Located {
                context: "b/app".into(),
                dockerfile: "Dockerfile".into()
            }
        );
        assert_eq!(
            located(None, "-f docker/Dockerfile.x git://h/r.git").unwrap(),
            Located {
                context: "b".into(),
                dockerfile: "docker/Dockerfile.x".into()
            }
        );
        assert!(
            located(None, "http://h/c.tar.gz#x")
                .map(|l| l.context)
                .is_ok_and(|c| c == "b")
        );
        assert!(
            located(None, "https://h/r.git#main:../..")
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            located(None, "-f ../Dockerfile https://h/r.git")
                .unwrap_err()
                .contains("outside")
        );
    }
}
