//! `cmd` steps: the docker-run line parsed without a shell (model::cmdline) → one container per
//! attempt, joined to the run network under the step id, with the workspace, home volume and
//! engine socket mounted as in ACR. A line that needs the agent's shell goes to
//! [`super::shell`] instead.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::engine::{ContainerSpec, Engine, EngineError, LogSink, Mount};
use crate::exec::step::failure::StepFailure;
use crate::exec::step::{Outcome, StepContext, StepSink, attempts, base_spec, pull};
use crate::model::cmdline::CmdLine;
use crate::model::runopts::MountKind;
use crate::model::{CmdStep, Step};

/// Runs a `cmd` step.
pub(crate) async fn run<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    line: &CmdStep,
    cancel: &CancellationToken,
) -> Outcome {
    if line.needs_shell(&step.env) {
        return super::shell::run(ctx, step, line, cancel).await;
    }
    let (spec, detach) = match prepare(ctx, step, line) {
        Ok(p) => p,
        Err(failure) => {
            return Outcome::Failed {
                message: failure.to_string(),
                exit_code: None,
            };
        }
    };
    // `pull: true` pulls explicitly (acb); an image that is not on the engine is pulled too,
    // with the run's credentials for its registry (the engine's own fallback pull is anonymous).
    let image = if step.pull {
        None
    } else {
        Some(ctx.engine.inspect_image(&spec.image).await)
    };
    let missing = matches!(image, Some(Ok(None)));
    let sink = StepSink::new(step, Arc::clone(&ctx.reporter));
    if step.pull || missing {
        sink.announce();
        if let Err(e) = pull(ctx, step, &spec.image, step.pull).await {
            return Outcome::Engine(e);
        }
    }
    let detach = step.detach || detach;
    let alias_name = line.parsed().and_then(|p| p.cmd.run.name.clone());
    let (spec, sink_ref) = (&spec, &sink);
    let alias_name = &alias_name;
    attempts(ctx, step, &sink, cancel, move |n| {
        Box::pin(async move {
            let sink = sink_ref;
            let mut spec = spec.clone();
            if n > 0 {
                // acb reuses the name and then fails on `keep` + retries; each attempt gets its own.
                spec.name = format!("{}-{}", spec.name, n + 1);
                if let Some(proxy) = ctx.env.agent.as_ref().and_then(|a| a.proxy.as_ref()) {
                    proxy.alias(&step.id, &spec.name);
                    if let Some(name) = &alias_name {
                        proxy.alias(name, &spec.name);
                    }
                }
            }
            if detach {
                ctx.engine.start_detached(&spec).await?;
                return Ok(0);
            }
            let output = sink.clone() as Arc<dyn LogSink>;
            // A container made ahead for this spec (see `engine::ahead`) is used by `run`.
            let status = ctx.engine.run(&spec, output, cancel.clone()).await;
            if !step.keep {
                if matches!(status, Err(EngineError::Cancelled)) {
                    // Timed out or cancelled: the killed container is removed before the step
                    // ends, so that it is gone before any later step runs (with
                    // `ignoreErrors`), unlike acb, which leaves it to the end-of-run cleanup.
                    let _ = ctx.engine.remove_container(&spec.name).await;
                } else {
                    // Removed in the background so dependants start at once; the end-of-run
                    // cleanup removes whatever is still there.
                    let engine = ctx.engine.clone();
                    let name = spec.name.clone();
                    tokio::spawn(async move {
                        let _ = engine.remove_container(&name).await;
                    });
                }
            }
            status.map(|s| s.code)
        })
    })
    .await
}

/// The container of a `cmd` step, and whether its line asked for `-d`.
pub(crate) fn prepare<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    line: &CmdStep,
) -> Result<(ContainerSpec, bool), StepFailure> {
    let parsed = line
        .parsed
        .as_deref()
        .cloned()
        .map_err(|e| StepFailure::new(format!("cannot parse the cmd line: {e}")))?;
    // A line with host-shell constructs never gets here: `run` hands it to the agent's shell.
    debug_assert!(!parsed.needs_shell());
    let CmdLine {
        run: flags,
        image,
        args,
        ..
    } = parsed.cmd;
    let mut spec = base_spec(ctx, step, image);
    spec.cmd = args;
    if let Some(ep) = &step.entry_point {
        spec.entrypoint = Some(vec![ep.clone()]);
    }
    spec.env.extend(flags.env);
    spec.publish.extend(flags.publish);
    spec.expose.extend(flags.expose);
    spec.extra_hosts.extend(flags.add_hosts);
    for v in flags.volumes {
        spec.mounts.push(volume_flag(ctx, &v)?);
    }
    if let Some(name) = flags.name {
        // Our container names are unique per run; the requested name still resolves on the
        // run network.
        spec.network_aliases.push(name);
    }
    spec.tty = flags.tty;
    spec.interactive = flags.interactive;
    if let Some(ep) = flags.entrypoint {
        spec.entrypoint = Some(if ep.is_empty() { Vec::new() } else { vec![ep] });
    }
    if let Some(wd) = flags.workdir {
        spec.working_dir = Some(wd);
    }
    if let Some(u) = flags.user {
        spec.user = Some(u);
    }
    if let Some(n) = flags.network {
        spec.network_aliases.clear();
        spec.network = Some(ctx.env.networks.get(&n).cloned().unwrap_or(n));
        if !matches!(
            spec.network.as_deref(),
            Some("host" | "none" | "bridge" | "default")
        ) {
            spec.network_aliases.push(step.id.clone());
        }
    }
    spec.privileged |= flags.privileged;
    if let Some(nano) = flags.cpus {
        spec.cpus = Some(nano as f64 / 1e9);
    }
    spec.memory = flags.memory.or(spec.memory);
    spec.platform = flags.platform;
    spec.init = flags.init;
    spec.hostname = flags.hostname;
    spec.cap_add = flags.cap_add;
    spec.cap_drop = flags.cap_drop;
    spec.security_opt = flags.security_opts;
    spec.options = flags.options;
    for m in &mut spec.options.mounts {
        // A task volume name maps to the run's copy of it, as with `-v`.
        if m.kind == MountKind::Volume
            && let Some(actual) = m.source.as_ref().and_then(|s| ctx.env.volumes.get(s))
        {
            m.source = Some(actual.clone());
        }
    }
    for l in flags.labels {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        spec.labels.insert(k.to_owned(), v.to_owned());
    }
    Ok((spec, flags.detach))
}

/// `-v SRC:DST[:opts]`: an absolute SRC is a host path, anything else a named volume (a task
/// volume name maps to the run's copy of it).
fn volume_flag<E: Engine>(ctx: &StepContext<E>, v: &str) -> Result<Mount, StepFailure> {
    let parts: Vec<&str> = v.split(':').collect();
    match parts.as_slice() {
        [src, dst] | [src, dst, _] if !src.is_empty() && dst.starts_with('/') => {
            if src.starts_with('/') {
                Ok(Mount::Bind {
                    source: (*src).to_owned(),
                    target: (*dst).to_owned(),
                })
            } else {
                Ok(Mount::Volume {
                    name: ctx
                        .env
                        .volumes
                        .get(*src)
                        .cloned()
                        .unwrap_or_else(|| (*src).to_owned()),
                    target: (*dst).to_owned(),
                })
            }
        }
        _ => Err(StepFailure::new(format!(
            "-v {v}: expected SOURCE:/container/path (anonymous volumes are not supported)"
        ))),
    }
}
