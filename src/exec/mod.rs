//! Stage 5, plan → run: drives the steps of a validated task on an [`Engine`].
//!
//! A step starts the moment its dependencies finish (ready queue); independent steps run
//! concurrently (`--max-parallel` limits them). The first failing step (without `ignoreErrors`)
//! stops new starts and cancels running steps; dependants of a failed step are skipped. Whatever
//! happens — success, failure, Ctrl-C — every container, network and volume the run created is
//! removed at the end (unless `--keep-workspace`), and leftovers of killed runs are removed at
//! the start. `exec` knows nothing of Docker (only the trait) and never prints (only events).

pub mod agent;
mod events;
mod precreate;
mod queue;
pub mod resources;
mod run_error;
pub(crate) mod setup;
mod step;
mod step_error;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::model::Task;
use crate::plan::Plan;
use crate::registry::Credentials;

pub use events::{Reporter, RunEnd, RunSummary, StepResult, StepStatus};
pub use queue::ReadyQueue;
pub use resources::RunKey;
pub use run_error::RunError;
pub use step_error::StepError;

/// Everything a run needs besides the task and the engine.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run id shown to the user (`.Run.ID`).
    pub run_id: String,
    /// The unique key of this run's resources.
    pub key: RunKey,
    /// The CONTEXT directory seeded into `/workspace`.
    pub context_dir: PathBuf,
    /// Limit of concurrently running steps (`None`: unlimited, as ACR).
    pub max_parallel: Option<usize>,
    /// Keep the workspace and home volumes after the run.
    pub keep_workspace: bool,
    /// Registry credentials.
    pub credentials: Credentials,
    /// Registries whose logins go into the run's docker config (the run registry and every
    /// `--credential`).
    pub login_registries: Vec<String>,
    /// The engine socket path bind-mounted into steps (`None`: do not mount).
    pub engine_socket: Option<String>,
    /// The git revision of the CONTEXT directory (`git-head-revision`).
    pub git_head: String,
    /// Registries reached over plain HTTP for digest lookups (besides local ones).
    pub insecure_registries: Vec<String>,
    /// Build steps read their context from the CONTEXT directory while no `cmd` step has
    /// started (see `exec::step::host`). Off with `TASKRUN_HOST_CONTEXT=0` (every build then
    /// reads the seeded workspace volume, as before; for comparisons).
    pub host_context: bool,
    /// The docker CLI of the agent's shell (`cmd` lines that need a shell; see `exec::agent`).
    pub docker_cli: Option<PathBuf>,
    /// The whole-run timeout (`--timeout`; named tasks' timeout): the run stops as on Ctrl-C,
    /// and the summary says it timed out.
    pub timeout: Option<std::time::Duration>,
    /// Mount the run's engine proxy into steps (`TASKRUN_ENGINE_PROXY`, default on; off when
    /// the engine's host cannot see this machine's temporary directory).
    pub mount_proxy: bool,
    /// A dry run on the fake engine: what cannot be known without running (an image an earlier
    /// `cmd` step would make) is said, not failed.
    pub dry_run: bool,
    /// The run registry (`--registry`, `.Run.Registry`; empty when not given): the cache image
    /// of a `cache: enabled` build whose tags name no registry goes there, as in acb.
    pub run_registry: String,
    /// The task name (`--name`; empty when not given, acb's `quickrun`): part of the cache
    /// image's tag.
    pub task_name: String,
    /// Where the task came from (`Task file: …`), said as a run message right after the run
    /// starts; empty: nothing is said.
    pub task_source: String,
}

/// Runs `task` (planned as `plan`) on `engine`; `interrupt` is cancelled on Ctrl-C/SIGTERM.
pub async fn run<E: Engine>(
    engine: E,
    task: Arc<Task>,
    plan: &Plan,
    options: Arc<RunOptions>,
    reporter: Arc<dyn Reporter>,
    interrupt: CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let ids: Vec<String> = task.steps.iter().map(|s| s.id.clone()).collect();
    reporter.run_started(&options.run_id, &ids);
    if !options.task_source.is_empty() {
        reporter.run_message(&options.task_source);
    }

    let mut precreator = precreate::Precreator::new(plan);
    let stop = interrupt.child_token();
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let timer = options.timeout.map(|limit| {
        let (stop, timed_out) = (stop.clone(), Arc::clone(&timed_out));
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
            stop.cancel();
        })
    });
    // The volumes are filled while the networks are made (network creation is the slowest
    // call), and the first steps' containers are created as soon as both exist.
    let ready = async {
        engine.ping().await?;
        let mut env = setup::names(&task, &options);
        env.agent = Some(Arc::new(
            agent::Agent::start(&engine, &task, &options)
                .await
                .map_err(|e| crate::engine::EngineError::Failed {
                    operation: "prepare the agent",
                    subject: std::env::temp_dir().display().to_string(),
                    message: e.to_string(),
                })?,
        ));
        let env = Arc::new(env);
        let (volumes_made, volumes_exist) = tokio::sync::oneshot::channel();
        let networks = async {
            setup::make_networks(&engine, &task, &env, &options, &*reporter).await?;
            if volumes_exist.await.is_ok() {
                precreator.begin(
                    &task,
                    &step_context(&engine, &env, &options, &reporter, &stop),
                );
            }
            Ok::<(), crate::engine::EngineError>(())
        };
        let volumes = setup::make_volumes(&engine, &task, &env, &options, &*reporter, volumes_made);
        let (networks, volumes) = tokio::join!(networks, volumes);
        networks.and(volumes).map(|()| env)
    };
    // Leftovers of killed runs are removed meanwhile (they never share a name with this run's).
    let (_, ready) = tokio::join!(setup::remove_leftovers(&engine, &*reporter), ready);
    let env = match ready {
        Ok(env) => env,
        Err(err) => {
            let end = if interrupt.is_cancelled() {
                RunEnd::Interrupted
            } else if err.is_environment() {
                RunEnd::EngineLost
            } else {
                RunEnd::StepFailed
            };
            let summary = RunSummary {
                run_id: options.run_id.clone(),
                success: false,
                end,
                interrupted: interrupt.is_cancelled(),
                timed_out: false,
                duration: started.elapsed(),
                steps: skipped_all(&task, &StepError::NotPrepared),
                error: Some(RunError::NotPrepared(Box::new(err))),
                dependencies: Vec::new(),
                dependency_warnings: Vec::new(),
            };
            precreator.finish().await;
            setup::cleanup(&engine, &options, &*reporter).await;
            reporter.run_finished(&summary);
            return summary;
        }
    };

    let limit = Arc::new(Semaphore::new(
        options
            .max_parallel
            .unwrap_or(Semaphore::MAX_PERMITS)
            .clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut queue = ReadyQueue::new(plan);
    let mut results: BTreeMap<usize, StepResult> = BTreeMap::new();
    let mut set = JoinSet::new();
    let mut first_error: Option<RunError> = None;

    loop {
        if !stop.is_cancelled() {
            while let Some(i) = queue.pop() {
                let step = task.steps[i].clone();
                let mut ctx = step_context(&engine, &env, &options, &reporter, &stop);
                ctx.run_timed_out = Arc::clone(&timed_out);
                precreator.start(i, &task, &ctx);
                let limit = Arc::clone(&limit);
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let result = step::run_step(&ctx, &step).await;
                    // Reported while the permit is held, so events follow the real order.
                    ctx.reporter.step_finished(&result);
                    (i, result)
                });
            }
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (i, result) = match joined {
            Ok(r) => r,
            Err(e) => {
                // A panicking step task is a bug; fail the run rather than hang.
                first_error.get_or_insert_with(|| RunError::Internal {
                    message: e.to_string(),
                });
                stop.cancel();
                continue;
            }
        };
        if result.status.lets_dependants_run() {
            queue.finish(i);
        } else {
            queue.fail(i);
            if matches!(result.status, StepStatus::Failed | StepStatus::TimedOut) {
                first_error.get_or_insert_with(|| RunError::StepFailed {
                    step: result.id.clone(),
                    // Failed and timed-out steps always say why; an empty message otherwise.
                    error: Box::new(result.error.clone().unwrap_or(StepError::Failed {
                        message: String::new(),
                        exit_code: result.exit_code,
                    })),
                });
                stop.cancel();
            }
        }
        results.insert(i, result);
    }

    for i in queue.not_started() {
        let s = &task.steps[i];
        let r = StepResult {
            id: s.id.clone(),
            kind: s.kind.name(),
            status: StepStatus::Skipped,
            duration: std::time::Duration::ZERO,
            exit_code: None,
            error: Some(if interrupt.is_cancelled() {
                StepError::Interrupted
            } else if timed_out.load(std::sync::atomic::Ordering::SeqCst) {
                StepError::RunTimedOut {
                    limit: options.timeout,
                }
            } else {
                StepError::DependencyFailed
            }),
            pushed: Vec::new(),
            image_id: None,
            dependencies: Vec::new(),
        };
        reporter.step_finished(&r);
        results.insert(i, r);
    }

    if let Some(t) = &timer {
        t.abort();
    }
    let interrupted = interrupt.is_cancelled();
    let run_timed_out = !interrupted && timed_out.load(std::sync::atomic::Ordering::SeqCst);
    if run_timed_out {
        first_error = Some(RunError::TimedOut {
            limit: options.timeout,
        });
    }
    let mut steps: Vec<StepResult> = results.into_values().collect();
    let success = !interrupted
        && !run_timed_out
        && first_error.is_none()
        && steps.iter().all(|s| s.status.lets_dependants_run());
    // After a successful run, as acb: the digests of every build's images and base images.
    let mut dependency_warnings = Vec::new();
    if success && steps.iter().any(|s| !s.dependencies.is_empty()) {
        let resolver =
            crate::registry::digest::Resolver::new(crate::registry::digest::ResolveOptions {
                insecure_registries: options.insecure_registries.clone(),
                platform: crate::registry::digest::Platform::host(),
            });
        for s in &mut steps {
            for w in crate::deps::resolve::fill_digests(
                &mut s.dependencies,
                Some(&engine),
                Some(&resolver),
                &options.credentials,
            )
            .await
            .warnings
            {
                // One warning per image, however many steps build on it.
                if !dependency_warnings.contains(&w) {
                    dependency_warnings.push(w);
                }
            }
        }
    }
    let mut end = if interrupted {
        RunEnd::Interrupted
    } else if run_timed_out {
        RunEnd::TimedOut
    } else if success {
        RunEnd::Succeeded
    } else {
        RunEnd::StepFailed
    };
    // A failed run may have failed because the engine went away (stopped, restarted, crashed):
    // its steps then see killed containers or cut connections. Say so, and exit 3 (see
    // `ops::RunOutcome`) instead of blaming the step.
    if !success
        && !interrupted
        && let Ok(Err(e)) =
            tokio::time::timeout(std::time::Duration::from_secs(10), engine.ping()).await
        && e.is_environment()
    {
        first_error = Some(RunError::EngineLost {
            error: Box::new(e),
            earlier: first_error.take().map(Box::new),
        });
        end = RunEnd::EngineLost;
    }
    precreator.finish().await;
    setup::cleanup(&engine, &options, &*reporter).await;
    if let Some(agent) = &env.agent {
        agent.finish();
    }
    let dependencies = steps.iter().flat_map(|s| s.dependencies.clone()).collect();
    let summary = RunSummary {
        run_id: options.run_id.clone(),
        success,
        interrupted,
        timed_out: run_timed_out,
        duration: started.elapsed(),
        steps,
        end,
        error: if interrupted {
            Some(RunError::Interrupted)
        } else {
            first_error
        },
        dependencies,
        dependency_warnings,
    };
    reporter.run_finished(&summary);
    summary
}

/// The context of one step task (its cancellation is a child of the run's `stop`).
fn step_context<E: Engine>(
    engine: &E,
    env: &Arc<setup::RunEnv>,
    options: &Arc<RunOptions>,
    reporter: &Arc<dyn Reporter>,
    stop: &CancellationToken,
) -> step::StepContext<E> {
    step::StepContext {
        engine: engine.clone(),
        env: Arc::clone(env),
        options: Arc::clone(options),
        reporter: Arc::clone(reporter),
        cancel: stop.child_token(),
        run_timed_out: Arc::default(),
    }
}

fn skipped_all(task: &Task, why: &StepError) -> Vec<StepResult> {
    task.steps
        .iter()
        .map(|s| StepResult {
            id: s.id.clone(),
            kind: s.kind.name(),
            status: StepStatus::Skipped,
            duration: std::time::Duration::ZERO,
            exit_code: None,
            error: Some(why.clone()),
            pushed: Vec::new(),
            image_id: None,
            dependencies: Vec::new(),
        })
        .collect()
}

/// Problems that stop `run` before anything starts and that `validate` does not report: a
/// `cmd` line that needs the agent's shell when no docker CLI was found (`docker_cli`). What
/// `validate` reports as a warning and `run` refuses (build flags and contexts taskrun does not
/// carry out) is turned into an error by [`crate::diag::Problems::refuse_for_run`], so each
/// problem is reported once.
pub fn refusals(
    task: &Task,
    docker_cli: bool,
    source: &crate::source::Source,
) -> crate::diag::Problems {
    use crate::diag::{Code, Problem};
    use crate::model::StepKind;
    let mut problems = crate::diag::Problems::new();
    for step in &task.steps {
        if let StepKind::Cmd(line) = &step.kind
            && !docker_cli
            && line.needs_shell(&step.env)
        {
            let mut problem = Problem::error(
                Code::AgentShell,
                format!(
                    "{}: this cmd line needs the agent's shell (acb runs it as `/bin/sh -c \
                         \"docker run … <cmd>\"`), and no docker CLI was found",
                    step.label()
                ),
            )
            .with_help(
                "install the docker CLI (e.g. `apt-get install docker.io`) or point \
                     TASKRUN_DOCKER_CLI at one; the shell is /bin/sh",
            );
            if !line.span.is_empty() {
                problem = problem
                    .in_source(source)
                    .with_label(line.span.clone(), "needs the agent's shell");
            }
            problems.push(problem);
        }
    }
    problems
}
