//! `build` steps: the docker-build string parsed without a shell (model::buildargs), the context
//! read from the CONTEXT directory while no `cmd` step has started (one pass, see
//! `step::host`), else read back from the workspace volume (so files written by earlier steps
//! are in it), filtered
//! by `.dockerignore` with Docker's rules, and built by the engine's classic builder, or by its
//! BuildKit when the step's env has `DOCKER_BUILDKIT=1` or the step has `cache: enabled` (see
//! [`Builder`] and `docs/compat.md`). A Dockerfile outside the context (but inside the
//! workspace) is read from the workspace and sent in the context archive under a generated
//! `.dockerfile.<hex>` name, with that name added to the archive's `.dockerignore`, as the docker
//! CLI does. `--secret` values are found by `step::buildsecrets` and served by the engine's
//! BuildKit session (`engine::session`).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::context::remote::{self, FetchOptions, RemoteSource};
use crate::context::{self, DockerIgnore};
use crate::engine::{BuildRequest, Engine, EngineError, LogSink, LogStream};
use crate::exec::RunOptions;
use crate::exec::step::buildsecrets;
use crate::exec::step::failure::StepFailure;
use crate::exec::step::host::{self, ContextSource};
use crate::exec::step::{Outcome, StepContext, StepSink, attempts};
use crate::model::Step;
use crate::model::buildargs::BuildArgs;
use crate::model::buildpath::{DockerfilePlace, Located, locate};
use crate::registry::reference::{registry_of, split_tag};

/// Runs a `build` step.
pub(crate) async fn run<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    args: &crate::model::BuildStep,
    cancel: &CancellationToken,
) -> Outcome {
    let parsed = match args.parsed.as_deref() {
        Ok(p) => p.clone(),
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
    let sink = StepSink::new(step, Arc::clone(&ctx.reporter));
    let builder = Builder::of(step, &parsed.tags, &ctx.options);
    if let Some(note) = builder.note() {
        // After the step's `started`, like everything the step says.
        sink.announce();
        sink.line(LogStream::Stdout, &note);
    }
    let image_id: Arc<Mutex<Option<String>>> = Arc::default();
    // Where the last attempt read its context (the dependency scan reads the same Dockerfile).
    let source: Mutex<ContextSource> = Mutex::new(ContextSource::Volume);
    let dockerfile_cache = DockerfileCache::default();
    let (plan, parsed, sink_ref, image_slot, builder_ref, source_ref, cache) = (
        &plan,
        &parsed,
        &sink,
        &image_id,
        &builder,
        &source,
        &dockerfile_cache,
    );
    let outcome = attempts(ctx, step, &sink, cancel, move |_n| {
        Box::pin(async move {
            let (sink, image_id, builder) = (sink_ref, image_slot, builder_ref);
            let now = ContextSource::now(ctx, step);
            if let Ok(mut slot) = source_ref.lock() {
                *slot = now.clone();
            }
            let context = match &now {
                ContextSource::Host(dir) => host::context_from_host(dir, plan).await,
                ContextSource::Volume => volume_context(ctx, plan).await?,
            };
            let (filtered, dockerfile) = match context {
                Ok(c) => c,
                Err(failure) => {
                    sink.line(LogStream::Stderr, &failure.to_string());
                    return Ok(1);
                }
            };
            let secrets = if parsed.secrets.is_empty() {
                Vec::new()
            } else {
                match buildsecrets::resolve(ctx, step, parsed).await? {
                    Ok((secrets, warnings)) => {
                        for warning in warnings {
                            ctx.reporter
                                .step_message(&step.id, &format!("warning: {warning}"));
                        }
                        secrets
                    }
                    Err(failure) => {
                        sink.line(LogStream::Stderr, &failure.to_string());
                        return Ok(1);
                    }
                }
            };
            let left_out = filtered.handle();
            if let Some(cache) = &builder.cache {
                pull_cache(ctx, cache).await;
            }
            let pulled = if builder.buildkit {
                pull_private_bases(ctx, step, plan, parsed, sink, &now, cache).await?
            } else {
                false
            };
            let request = BuildRequest {
                context: filtered.boxed(),
                dockerfile,
                tags: parsed.tags.clone(),
                build_args: builder.build_args(build_args(parsed, step)),
                target: parsed.target.clone(),
                no_cache: parsed.no_cache,
                pull: parsed.pull && !pulled,
                labels: parsed.labels.iter().cloned().collect(),
                platform: parsed.platform.clone(),
                network: parsed.network.as_ref().map(|n| {
                    ctx.env
                        .networks
                        .get(n)
                        .cloned()
                        .unwrap_or_else(|| n.clone())
                }),
                cache_from: builder.cache_from(&parsed.cache_from),
                extra_hosts: parsed.add_hosts.clone(),
                resources: parsed.resources.clone(),
                auths: parsed
                    .tags
                    .iter()
                    .chain(ctx.options.login_registries.iter())
                    .filter_map(|r| ctx.options.credentials.for_registry(registry_of(r)))
                    .collect(),
                buildkit: builder.buildkit,
                secrets,
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
                    if let Some(note) = super::iidfile::write(ctx, step, parsed, &id).await? {
                        ctx.reporter
                            .step_message(&step.id, &format!("warning: {note}"));
                    }
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
    let built = image_id.lock().ok().and_then(|s| s.clone());
    if let (
        Some(cache),
        Some(id),
        Outcome::Done {
            exit_code: Some(0), ..
        },
    ) = (&builder.cache, &built, &outcome)
    {
        export_cache(ctx, cache, id, &sink).await;
    }
    match outcome {
        Outcome::Done {
            exit_code, pushed, ..
        } => Outcome::Done {
            exit_code,
            pushed,
            image_id: built,
            dependencies: {
                let last = source
                    .lock()
                    .map(|s| s.clone())
                    .unwrap_or(ContextSource::Volume);
                scan_dependencies(ctx, step, plan, parsed, &last, &dockerfile_cache).await
            },
        },
        other => other,
    }
}

/// The build's context read back from the workspace volume (so files written by earlier steps
/// are in it) and filtered by its ignore rules, with the Dockerfile's name in it; an inner
/// `Err` is what the step fails with.
async fn volume_context<E: Engine>(
    ctx: &StepContext<E>,
    plan: &Located,
) -> Result<Result<(context::ContextStream, String), StepFailure>, EngineError> {
    let ignore = read_ignore(ctx, plan).await?;
    let outside = match &plan.dockerfile {
        DockerfilePlace::Inside(_) => None,
        DockerfilePlace::Outside(path) => match read_dockerfile(ctx, path).await? {
            Ok(bytes) => Some(bytes),
            Err(failure) => return Ok(Err(failure)),
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
    Ok(Ok((filter.stream_from(archive), dockerfile)))
}

/// The step's Dockerfile text, read once per context source: a BuildKit build's base-image
/// pull and the dependency scan after the build read the same file, and reading it from the
/// workspace volume costs a helper container.
#[derive(Default)]
struct DockerfileCache(Mutex<Option<(ContextSource, Option<String>)>>);

impl DockerfileCache {
    async fn text<E: Engine>(
        &self,
        ctx: &StepContext<E>,
        plan: &Located,
        source: &ContextSource,
    ) -> Option<String> {
        if let Ok(slot) = self.0.lock()
            && let Some((cached, text)) = slot.as_ref()
            && cached == source
        {
            return text.clone();
        }
        let text = dockerfile_text(ctx, plan, source).await;
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((source.clone(), text.clone()));
        }
        text
    }
}

/// The step's Dockerfile as the build reads it: from the host or from the workspace volume.
async fn dockerfile_text<E: Engine>(
    ctx: &StepContext<E>,
    plan: &Located,
    source: &ContextSource,
) -> Option<String> {
    if let ContextSource::Host(dir) = source {
        return Some(host::dockerfile_text(dir, plan));
    }
    // A dry run has no workspace: the Dockerfile is the one CONTEXT seeds it with (an earlier
    // `cmd` step may change it in a real run; `scan_dependencies` says so).
    if ctx.options.dry_run {
        return Some(host::dockerfile_text(&ctx.options.context_dir, plan));
    }
    let path = plan.dockerfile_in_workspace();
    let mut stream = ctx
        .engine
        .get_from_volume(&ctx.env.workspace, &path)
        .await
        .ok()?;
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        bytes.extend_from_slice(&chunk);
    }
    Some(first_file(&bytes).unwrap_or_default())
}

/// Which builder a build step uses, and its cache image.
///
/// acb builds with the legacy builder unless the step's merged env holds exactly
/// `DOCKER_BUILDKIT=1`, and with buildx (BuildKit) when the step has `cache: enabled`, adding
/// `--cache-to/--cache-from type=registry,ref=<cache image>,mode=max`. The engine's built-in
/// BuildKit cannot export a registry cache (that needs buildx's docker-container driver); it can
/// import one and embed an inline cache in the image. So taskrun builds `cache: enabled` steps
/// with BuildKit, `cache-from` the cache image and `BUILDKIT_INLINE_CACHE=1`, and pushes the
/// result to the cache image afterwards ([`export_cache`]); the step output says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Builder {
    /// Build with the engine's BuildKit.
    pub buildkit: bool,
    /// `cache: enabled` is set.
    pub cache_enabled: bool,
    /// The cache image of a `cache: enabled` step (`None` without one).
    pub cache: Option<String>,
}

impl Builder {
    /// The builder of `step`, whose build has `tags`.
    pub(crate) fn of(step: &Step, tags: &[String], options: &RunOptions) -> Self {
        let cache = if step.cache {
            cache_image(tags, &options.run_registry, &options.task_name, &step.id)
        } else {
            None
        };
        Self {
            buildkit: crate::model::support::uses_buildkit(step),
            cache_enabled: step.cache,
            cache,
        }
    }

    /// The line the step output gets about the builder, if any.
    pub(crate) fn note(&self) -> Option<String> {
        if !self.cache_enabled {
            return None;
        }
        Some(match &self.cache {
            Some(cache) => format!(
                "cache: enabled: acb exports a registry cache (--cache-to type=registry,mode=max \
                 through buildx); this engine's built-in BuildKit cannot, so taskrun uses an \
                 inline cache in {cache} instead (cache-from it, BUILDKIT_INLINE_CACHE=1, pushed \
                 after the build; only the final stage's layers are cached)"
            ),
            None => "cache: enabled: the build has no tag and the run no registry, so there is \
                     no cache image (acb adds no cache flags either); building with BuildKit"
                .to_owned(),
        })
    }

    /// The build arguments with `BUILDKIT_INLINE_CACHE=1` added when a cache image is used.
    pub(crate) fn build_args(
        &self,
        mut args: BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        if self.cache.is_some() {
            args.entry("BUILDKIT_INLINE_CACHE".to_owned())
                .or_insert_with(|| "1".to_owned());
        }
        args
    }

    /// The `--cache-from` images with the cache image added.
    pub(crate) fn cache_from(&self, given: &[String]) -> Vec<String> {
        let mut out = given.to_vec();
        if let Some(cache) = &self.cache
            && !out.contains(cache)
        {
            out.push(cache.clone());
        }
        out
    }
}

/// acb's cache image (`graph/step.go` `GetCmdWithCacheFlags`):
/// `<registry>/<repository>:cache_<task name>_<step id>`, from the first tag that names a
/// registry, else the run registry and the first tag's repository; task name `quickrun` when
/// the run has none. `None` without tags, or when no tag names a registry and the run has none.
pub(crate) fn cache_image(
    tags: &[String],
    run_registry: &str,
    task_name: &str,
    step_id: &str,
) -> Option<String> {
    let task = if task_name.is_empty() {
        "quickrun"
    } else {
        task_name
    };
    let with_registry = tags.iter().map(|t| split_tag(t).0).find(|repo| {
        repo.split_once('/')
            .is_some_and(|(first, _)| registry_of(repo) == first)
    });
    let repo = match (with_registry, tags.first()) {
        (Some(repo), _) => repo.to_owned(),
        (None, Some(first)) if !run_registry.is_empty() => format!(
            "{}/{}",
            run_registry.trim_end_matches('/'),
            split_tag(first).0
        ),
        _ => return None,
    };
    Some(format!("{repo}:cache_{task}_{step_id}"))
}

/// taskrun's sessions give no credentials, so the engine's BuildKit cannot authenticate its
/// cache import; the cache image of a registry the run has credentials for is pulled first (BuildKit then finds it
/// locally). A missing cache image (the first build) is normal and not reported.
async fn pull_cache<E: Engine>(ctx: &StepContext<E>, cache: &str) {
    if let Some(auth) = ctx.options.credentials.for_registry(registry_of(cache)) {
        let _ = ctx
            .engine
            .pull(cache, Some(&auth), Arc::new(crate::engine::NullSink))
            .await;
    }
}

/// Tags the built image as the cache image and pushes it (with the run's credentials for its
/// registry). A failure is a line in the step output, never a step failure: the image was built.
async fn export_cache<E: Engine>(
    ctx: &StepContext<E>,
    cache: &str,
    image_id: &str,
    sink: &Arc<StepSink>,
) {
    let pushed = async {
        ctx.engine.tag(image_id, cache).await?;
        let auth = ctx.options.credentials.for_registry(registry_of(cache));
        ctx.engine
            .push(cache, auth.as_ref(), Arc::clone(sink) as Arc<dyn LogSink>)
            .await
    }
    .await;
    match pushed {
        Ok(digest) => sink.line(
            LogStream::Stdout,
            &format!("cache: pushed the inline cache to {cache}@{digest}"),
        ),
        Err(e) => sink.line(
            LogStream::Stderr,
            &format!("cache: could not push the cache image {cache}: {e}"),
        ),
    }
}

/// BuildKit builds: the engine's BuildKit asks the client's session for registry credentials,
/// and these builds have no session (or, with `--secret`, one that serves secrets only), so a
/// base image in a registry the run has credentials for would fail (`no active sessions`, or
/// an anonymous pull). When the Dockerfile names such an image, taskrun pulls
/// the base images itself first, with the run's credentials (BuildKit then uses the local
/// images): the ones missing locally, or all of them with `--pull`, in which case the build
/// itself does not pull again. Returns whether that `--pull` was done here.
async fn pull_private_bases<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    plan: &Located,
    parsed: &BuildArgs,
    sink: &Arc<StepSink>,
    source: &ContextSource,
    cache: &DockerfileCache,
) -> Result<bool, EngineError> {
    let Some(text) = cache.text(ctx, plan, source).await else {
        return Ok(false);
    };
    let options = scan_options(parsed, step);
    let Ok(scanned) = crate::deps::scan(&text, &options) else {
        return Ok(false);
    };
    let bases: Vec<String> = scanned
        .runtime
        .iter()
        .chain(&scanned.buildtime)
        .map(|u| u.name.clone())
        .collect();
    let credentials = &ctx.options.credentials;
    if !bases
        .iter()
        .any(|b| credentials.for_registry(registry_of(b)).is_some())
    {
        return Ok(false);
    }
    for base in &bases {
        if !parsed.pull && ctx.engine.inspect_image(base).await?.is_some() {
            continue;
        }
        let auth = credentials.for_registry(registry_of(base));
        ctx.engine
            .pull(base, auth.as_ref(), Arc::clone(sink) as Arc<dyn LogSink>)
            .await?;
    }
    Ok(parsed.pull)
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
    // The fetch writes the workspace: later builds must read it back, not the CONTEXT directory.
    ctx.env
        .cmd_started
        .store(true, std::sync::atomic::Ordering::SeqCst);
    match ctx
        .engine
        .put_remote_context(
            &ctx.env.workspace,
            &step.id,
            &source.display(),
            remote::tar_fetch(source.clone(), options),
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

/// Scans the step's Dockerfile (as built: from the host or the workspace) for its base images: acb's
/// dependency records, one per tag, digests filled at the end of the run. A Dockerfile the
/// scanner cannot read is reported as a step message, never a failure (the build succeeded).
async fn scan_dependencies<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    plan: &Located,
    parsed: &BuildArgs,
    source: &ContextSource,
    cache: &DockerfileCache,
) -> Vec<crate::deps::Dependencies> {
    let path = plan.dockerfile_in_workspace();
    if ctx.options.dry_run && matches!(source, ContextSource::Volume) {
        ctx.reporter.step_message(
            &step.id,
            &format!(
                "Dry run: {path} is read from CONTEXT; an earlier cmd step may change it in a \
                 real run"
            ),
        );
    }
    let text = cache.text(ctx, plan, source).await.unwrap_or_default();
    let options = scan_options(parsed, step);
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

/// The Dockerfile scanner's view of a build: its build arguments, target and platform.
fn scan_options(parsed: &BuildArgs, step: &Step) -> crate::deps::ScanOptions {
    crate::deps::ScanOptions {
        build_args: build_args(parsed, step)
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect(),
        target: parsed.target.clone(),
        platform: parsed.platform.clone(),
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
/// volume root). A file that cannot be read fails the step (the inner `Err`), as the CLI's
/// `unable to prepare context`; engine failures are passed on.
async fn read_dockerfile<E: Engine>(
    ctx: &StepContext<E>,
    path: &str,
) -> Result<Result<Vec<u8>, StepFailure>, EngineError> {
    let shown = format!("/workspace/{path}");
    let mut stream = match ctx.engine.get_from_volume(&ctx.env.workspace, path).await {
        Ok(s) => s,
        Err(EngineError::Failed { message, .. }) => {
            return Ok(Err(StepFailure::new(format!(
                "unable to prepare context: cannot read the Dockerfile {shown}: {message}"
            ))));
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
    Ok(first_file_bytes(&bytes, MAX_DOCKERFILE).map_err(|why| {
        StepFailure::new(format!(
            "unable to prepare context: the Dockerfile {shown} {why}"
        ))
    }))
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

    #[test]
    fn cache_image_follows_acb() {
        let t = |tags: &[&str]| tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            cache_image(&t(&["app:1", "reg.io/team/app:1"]), "", "", "b").as_deref(),
            Some("reg.io/team/app:cache_quickrun_b")
        );
        assert_eq!(
            cache_image(&t(&["app:1"]), "127.0.0.1:5000", "nightly", "b").as_deref(),
            Some("127.0.0.1:5000/app:cache_nightly_b")
        );
        assert_eq!(
            cache_image(&t(&["localhost:5000/x"]), "", "", "s").as_deref(),
            Some("localhost:5000/x:cache_quickrun_s")
        );
        assert_eq!(cache_image(&t(&["app:1"]), "", "", "b"), None);
        assert_eq!(cache_image(&[], "reg.io", "", "b"), None);
    }
}
