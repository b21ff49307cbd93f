//! One step → engine calls: start delay, explicit pull, the retry/repeat loop under one
//! timeout, and the kind-specific work (`cmd` container, `build`, `push` with back-off).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::deps::Dependencies;
use crate::engine::{ContainerSpec, Engine, EngineError, LogSink, LogStream, Mount};
use crate::exec::setup::RunEnv;
use crate::exec::{Reporter, RunOptions, StepError, StepResult, StepStatus};
use crate::model::{Step, StepKind};
use crate::registry::reference::registry_of;

mod build;
mod buildsecrets;
mod cmd;
mod failure;
pub(crate) mod host;
mod iidfile;
mod shell;

/// How long a timed-out step's body gets to stop its container after cancellation.
const TIMEOUT_GRACE: Duration = Duration::from_secs(10);

/// What a step task needs.
pub struct StepContext<E: Engine> {
    /// The engine.
    pub engine: E,
    /// The prepared run resources.
    pub env: Arc<RunEnv>,
    /// Run options.
    pub options: Arc<RunOptions>,
    /// Event sink.
    pub reporter: Arc<dyn Reporter>,
    /// Cancelled when the run stops (first failure or interrupt).
    pub cancel: CancellationToken,
    /// Set when the whole-run timeout stopped the run (steps it stops are `timed out`).
    pub(crate) run_timed_out: Arc<std::sync::atomic::AtomicBool>,
}

/// The container to create ahead of `step` (see `exec::precreate`): `cmd` steps that neither
/// pull nor run detached.
pub(crate) fn precreate_spec<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
) -> Option<ContainerSpec> {
    let StepKind::Cmd(line) = &step.kind else {
        return None;
    };
    if step.pull || step.detach || line.needs_shell(&step.env) {
        return None;
    }
    let (spec, detach) = cmd::prepare(ctx, step, line).ok()?;
    (!detach).then_some(spec)
}

/// The outcome of one attempt or of the whole step body.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Finished; exit code when a container ran.
    Done {
        exit_code: Option<i64>,
        pushed: Vec<String>,
        image_id: Option<String>,
        dependencies: Vec<Dependencies>,
    },
    /// Failed with a message (and the exit code, when a container ran).
    Failed {
        message: String,
        exit_code: Option<i64>,
    },
    /// The engine went away or an infrastructure operation failed.
    Engine(EngineError),
}

/// Forwards a container's output to the reporter (and remembers whether a `retryOnErrors`
/// marker was seen).
pub(crate) struct StepSink {
    step: String,
    reporter: Arc<dyn Reporter>,
    markers: Vec<String>,
    seen: Mutex<bool>,
    /// Whether the first attempt's `started` was already reported (before a pull).
    announced: std::sync::atomic::AtomicBool,
}

impl StepSink {
    pub(crate) fn new(step: &Step, reporter: Arc<dyn Reporter>) -> Arc<Self> {
        Arc::new(Self {
            step: step.id.clone(),
            reporter,
            markers: step.retry_on_errors.clone(),
            seen: Mutex::new(false),
            announced: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Reports the step's first `started` now (before a pull, so the pull's lines follow it);
    /// the first attempt then does not report it again.
    pub(crate) fn announce(&self) {
        if !self
            .announced
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.reporter.step_started(&self.step, 1);
        }
    }

    pub(crate) fn marker_seen(&self) -> bool {
        self.seen.lock().map(|s| *s).unwrap_or(false)
    }

    pub(crate) fn reset(&self) {
        if let Ok(mut s) = self.seen.lock() {
            *s = false;
        }
    }
}

impl LogSink for StepSink {
    fn line(&self, stream: LogStream, line: &str) {
        if !self.markers.is_empty()
            && self.markers.iter().any(|m| line.contains(m.as_str()))
            && let Ok(mut s) = self.seen.lock()
        {
            *s = true;
        }
        self.reporter.step_line(&self.step, stream, line);
    }
}

/// Runs one step to completion and reports nothing itself (the executor reports the result).
pub async fn run_step<E: Engine>(ctx: &StepContext<E>, step: &Step) -> StepResult {
    let mut result = StepResult {
        id: step.id.clone(),
        kind: step.kind.name(),
        status: StepStatus::Succeeded,
        duration: Duration::ZERO,
        exit_code: None,
        error: None,
        pushed: Vec::new(),
        image_id: None,
        dependencies: Vec::new(),
    };
    if step.start_delay > 0 {
        ctx.reporter.step_message(
            &step.id,
            &format!(
                "Waiting {} seconds before executing step ID: {}",
                step.start_delay, step.id
            ),
        );
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(step.start_delay)) => {}
            () = ctx.cancel.cancelled() => {
                result.status = StepStatus::Cancelled;
                result.error = Some(StepError::StoppedBeforeStart);
                return result;
            }
        }
    }
    if matches!(step.kind, StepKind::Cmd(_)) {
        // Before the step's container is created, started or released from the gate: from now
        // on the workspace may differ from the CONTEXT directory, so builds read the volume
        // (see `step::host`).
        ctx.env
            .cmd_started
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let started = Instant::now();
    // One deadline covers the whole step body: the pull (if any) and every attempt. (acb starts
    // the deadline after its explicit pull; see docs/compat.md.)
    let step_cancel = ctx.cancel.child_token();
    let mut body = std::pin::pin!(body(ctx, step, &step_cancel));
    let outcome = tokio::select! {
        o = &mut body => o,
        () = tokio::time::sleep(Duration::from_secs(step.timeout)) => {
            step_cancel.cancel();
            // Let the body see the cancellation instead of dropping it: the engine call then
            // kills the step's container and `cmd` removes it. Dropping the future left a
            // timed-out container running until the end-of-run cleanup (with `ignoreErrors`,
            // alongside the later steps). Calls that do not watch the token (push, pull) get a
            // short grace and are then dropped as before.
            let _ = tokio::time::timeout(TIMEOUT_GRACE, &mut body).await;
            result.status = StepStatus::TimedOut;
            result.error = Some(StepError::TimedOut { secs: step.timeout });
            None
        }
    };
    result.duration = started.elapsed();
    match outcome {
        None => {}
        Some(Outcome::Done {
            exit_code,
            pushed,
            image_id,
            dependencies,
        }) => {
            result.exit_code = exit_code;
            result.pushed = pushed;
            result.image_id = image_id;
            result.dependencies = dependencies;
        }
        Some(Outcome::Failed { message, exit_code }) => {
            result.exit_code = exit_code;
            result.error = Some(StepError::Failed { message, exit_code });
            result.status = if ctx.cancel.is_cancelled() {
                StepStatus::Cancelled
            } else {
                StepStatus::Failed
            };
        }
        Some(Outcome::Engine(EngineError::Cancelled)) => {
            result.status = StepStatus::Cancelled;
            result.error = Some(StepError::Cancelled);
        }
        Some(Outcome::Engine(e)) => {
            result.status = StepStatus::Failed;
            result.error = Some(StepError::Engine(e));
        }
    }
    if result.status == StepStatus::Cancelled
        && ctx.run_timed_out.load(std::sync::atomic::Ordering::SeqCst)
    {
        result.status = StepStatus::TimedOut;
        result.error = Some(StepError::RunTimedOut {
            limit: ctx.options.timeout,
        });
        return result;
    }
    if step.ignore_errors && matches!(result.status, StepStatus::Failed | StepStatus::TimedOut) {
        ctx.reporter.step_message(
            &step.id,
            &format!(
                "Step ID: {} encountered an error: {}, but is set to ignore errors. Continuing...",
                step.id,
                result
                    .error
                    .as_ref()
                    .map_or_else(|| "failed".to_owned(), ToString::to_string)
            ),
        );
        result.status = StepStatus::Ignored;
    }
    result
}

async fn body<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    cancel: &CancellationToken,
) -> Option<Outcome> {
    Some(match &step.kind {
        StepKind::Push(images) => push(ctx, step, images, cancel).await,
        StepKind::Cmd(line) => cmd::run(ctx, step, line, cancel).await,
        StepKind::Build(args) => build::run(ctx, step, args, cancel).await,
    })
}

/// The result of one attempt: an exit code (0 = success), or an engine fault.
pub(crate) type Attempt = Result<i64, EngineError>;

/// The retry (`retries`, `retryDelay`, `retryOnErrors`) and `repeat` loops of acb around
/// `run_once` (called with the 0-based attempt number). Every repetition runs even if one
/// fails; errors are joined with `, `.
pub(crate) async fn attempts<'a, E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    sink: &StepSink,
    cancel: &CancellationToken,
    run_once: impl Fn(u64) -> BoxFuture<'a, Attempt>,
) -> Outcome {
    let mut errors = Vec::new();
    let mut last_code = None;
    let mut n: u64 = 0;
    for _rep in 0..=step.repeat {
        for attempt in 0..=step.retries {
            if n == 0 {
                sink.announce();
            } else {
                ctx.reporter.step_started(&step.id, n + 1);
            }
            sink.reset();
            let code = match run_once(n).await {
                Ok(code) => code,
                Err(e) => return Outcome::Engine(e),
            };
            n += 1;
            last_code = Some(code);
            if code == 0 {
                break;
            }
            let may_retry = step.retry_on_errors.is_empty() || sink.marker_seen();
            if attempt < step.retries && may_retry {
                ctx.reporter.step_message(
                    &step.id,
                    &format!(
                        "Container failed during run: {}, waiting {} seconds before retrying...",
                        step.id, step.retry_delay
                    ),
                );
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(step.retry_delay)) => {}
                    () = cancel.cancelled() => return Outcome::Engine(EngineError::Cancelled),
                }
            } else {
                if step.retries > 0 {
                    ctx.reporter.step_message(
                        &step.id,
                        &format!(
                            "Container failed during run: {}. No retries remaining.",
                            step.id
                        ),
                    );
                }
                errors.push(format!("exit status {code}"));
                break;
            }
        }
    }
    if errors.is_empty() {
        Outcome::Done {
            exit_code: last_code,
            pushed: Vec::new(),
            image_id: None,
            dependencies: Vec::new(),
        }
    } else {
        Outcome::Failed {
            message: errors.join(", "),
            exit_code: last_code,
        }
    }
}

/// Pulls the image of a step with the run's credentials for its registry (`pull: true`, or an
/// image not on the engine).
pub(crate) async fn pull<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    image: &str,
    explicit: bool,
) -> Result<(), EngineError> {
    ctx.reporter.step_message(
        &step.id,
        &if explicit {
            "Step specified pull. Performing an explicit pull...".to_owned()
        } else if ctx.options.dry_run {
            // The dry-run engine knows no images: say what a real run does, not what it found.
            format!("Dry run: a real run pulls '{image}' if the engine does not have it")
        } else {
            format!("Unable to find image '{image}' locally; pulling it")
        },
    );
    let auth = ctx.options.credentials.for_registry(registry_of(image));
    let sink = StepSink::new(step, Arc::clone(&ctx.reporter));
    // A pull from a slow or stalled registry must not hold up Ctrl-C/SIGTERM or a failure
    // elsewhere: dropping the request makes the engine abandon the pull.
    tokio::select! {
        r = ctx.engine.pull(image, auth.as_ref(), sink) => r,
        () = ctx.cancel.cancelled() => Err(EngineError::Cancelled),
    }
}

/// Push each image in order, up to 3 attempts each with 250 ms / 500 ms / 1 s back-off (acb).
async fn push<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    images: &[String],
    cancel: &CancellationToken,
) -> Outcome {
    ctx.reporter.step_started(&step.id, 1);
    let sink = StepSink::new(step, Arc::clone(&ctx.reporter));
    let mut pushed = Vec::new();
    for image in images {
        match ctx.engine.inspect_image(image).await {
            Ok(Some(_)) => {}
            Ok(None) if ctx.options.dry_run => {
                ctx.reporter.step_message(
                    &step.id,
                    &format!(
                        "image `{image}` is not on the engine now; a real run pushes it if an \
                         earlier step makes it"
                    ),
                );
            }
            Ok(None) => {
                return Outcome::Failed {
                    message: format!(
                        "image `{image}` does not exist on the engine; build or pull it in an earlier step"
                    ),
                    exit_code: None,
                };
            }
            Err(e) => return Outcome::Engine(e),
        }
        let auth = ctx.options.credentials.for_registry(registry_of(image));
        let mut delay = Duration::from_millis(250);
        let mut last_err = None;
        for attempt in 1..=3 {
            ctx.reporter.step_message(
                &step.id,
                &format!("Pushing image: {image}, attempt {attempt}"),
            );
            // The push watches the step's token (Ctrl-C, SIGTERM, a failure elsewhere, the
            // step timeout): a stalled registry would otherwise hold the run until the push
            // gives up. Dropping the request makes the engine abandon the push.
            let pushed_one = tokio::select! {
                r = ctx.engine.push(image, auth.as_ref(), sink.clone()) => r,
                () = cancel.cancelled() => return Outcome::Engine(EngineError::Cancelled),
            };
            match pushed_one {
                Ok(_) if ctx.options.dry_run => {
                    // The fake engine's digest is not a registry's: say what would happen.
                    ctx.reporter.step_message(
                        &step.id,
                        &format!("Would push image: {image} (dry run: nothing was pushed)"),
                    );
                    last_err = None;
                    break;
                }
                Ok(digest) => {
                    ctx.reporter
                        .step_message(&step.id, &format!("Successfully pushed image: {image}"));
                    pushed.push(format!("{image}@{digest}"));
                    last_err = None;
                    break;
                }
                Err(e @ EngineError::Unreachable { .. }) => return Outcome::Engine(e),
                // Refused credentials do not get better by asking again (and repeated failed
                // logins can lock an account): fail at once.
                Err(e @ EngineError::Unauthorized { .. }) => {
                    return Outcome::Failed {
                        message: format!("failed to push images successfully: {e}"),
                        exit_code: None,
                    };
                }
                Err(e) => {
                    last_err = Some((attempt, e));
                    if attempt < 3 {
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = cancel.cancelled() => return Outcome::Engine(EngineError::Cancelled),
                        }
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
        if let Some((attempts, e)) = last_err {
            return Outcome::Failed {
                message: format!("failed to push images successfully ({attempts} attempts): {e}"),
                exit_code: None,
            };
        }
    }
    Outcome::Done {
        exit_code: None,
        pushed,
        image_id: None,
        dependencies: Vec::new(),
    }
}

/// The mounts and env every step container gets, as acb: workspace, engine socket, home.
pub(crate) fn base_spec<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    image: String,
) -> ContainerSpec {
    let mut mounts = vec![
        Mount::Volume {
            name: ctx.env.workspace.clone(),
            target: "/workspace".to_owned(),
        },
        Mount::Volume {
            name: ctx.env.home.clone(),
            target: "/acb/home".to_owned(),
        },
    ];
    if let Some(sock) = engine_socket(ctx, step) {
        mounts.push(Mount::Bind {
            source: sock,
            target: "/var/run/docker.sock".to_owned(),
        });
    }
    for m in &step.volume_mounts {
        if let Some(actual) = ctx.env.volumes.get(&m.name) {
            mounts.push(Mount::Volume {
                name: actual.clone(),
                target: m.mount_path.clone(),
            });
        }
    }
    let mut env = vec!["HOME=/acb/home".to_owned()];
    // acb writes `--env <entry>` into its shell line, so the shell removes quotes
    // (`CHANNEL="general"` is `general`); entries only a shell can read send the step to the
    // agent's shell (`shell.rs`).
    env.extend(
        step.env
            .iter()
            .map(|e| crate::model::cmdline::env_word(e).unwrap_or_else(|| e.clone())),
    );
    let network = step_network(ctx, step);
    let aliases = if network.as_deref().is_some_and(takes_aliases) {
        vec![step.id.clone()]
    } else {
        Vec::new()
    };
    let mut labels = ctx.options.key.labels();
    labels.insert("io.taskrun.step".to_owned(), step.id.clone());
    ContainerSpec {
        name: ctx.options.key.name(&step.id),
        image,
        env,
        working_dir: working_dir(step),
        user: step.user.clone(),
        privileged: step.privileged,
        network,
        network_aliases: aliases,
        mounts,
        publish: step.ports.clone(),
        expose: step.expose.clone(),
        labels,
        cpus: step.cpus,
        ..ContainerSpec::default()
    }
}

/// The engine socket a step mounts at `/var/run/docker.sock`: its socket of the run's name
/// proxy (local engines), else the engine's own.
pub(crate) fn engine_socket<E: Engine>(ctx: &StepContext<E>, step: &Step) -> Option<String> {
    ctx.options.engine_socket.as_ref()?;
    ctx.env
        .agent
        .as_ref()
        .and_then(|a| a.mount_socket(&step.id))
        .map(|p| p.display().to_string())
        .or_else(|| ctx.options.engine_socket.clone())
}

/// acb's working directory: relative paths under `/workspace`, absolute as given, none →
/// `/workspace`; omitted with `disableWorkingDirectoryOverride`.
pub(crate) fn working_dir(step: &Step) -> Option<String> {
    if step.disable_working_directory_override {
        return None;
    }
    Some(match step.working_directory.as_deref() {
        None | Some("") => "/workspace".to_owned(),
        Some(wd) if wd.starts_with('/') => clean_path(wd),
        Some(wd) => clean_path(&format!("/workspace/{wd}")),
    })
}

/// The engine network a step joins: its `network` (a task network maps to the run's copy),
/// else the run's default network.
pub(crate) fn step_network<E: Engine>(ctx: &StepContext<E>, step: &Step) -> Option<String> {
    match &step.network {
        Some(n) => Some(
            ctx.env
                .networks
                .get(n)
                .cloned()
                .unwrap_or_else(|| n.clone()),
        ),
        None => ctx.env.default_network.clone(),
    }
}

/// Whether containers on `network` can have DNS aliases (user-defined networks only).
pub(crate) fn takes_aliases(network: &str) -> bool {
    !matches!(network, "host" | "none" | "bridge" | "default")
}

pub(crate) use crate::model::buildpath::clean as clean_path;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_directory_rules() {
        let mut s = Step::new(0, "a".into(), StepKind::Cmd("x".into()));
        assert_eq!(working_dir(&s).as_deref(), Some("/workspace"));
        s.working_directory = Some("sub/../dir/.".into());
        assert_eq!(working_dir(&s).as_deref(), Some("/workspace/dir"));
        s.working_directory = Some("/abs//x/".into());
        assert_eq!(working_dir(&s).as_deref(), Some("/abs/x"));
        s.disable_working_directory_override = true;
        assert_eq!(working_dir(&s), None);
    }
}
