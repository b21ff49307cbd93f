//! `cmd` steps whose line needs the agent's shell (`&&`, pipes, redirections, `$VAR`, `$(…)`,
//! line breaks, quoted `env` values only a shell reads, …): run as acb runs every line,
//! `/bin/sh -c "docker run <acb's flags> <cmd>"`, with a real shell and the real docker CLI
//! (`engine::shell`), so output, exit code, files in `/workspace` and images come out as on ACR.
//!
//! The flags are acb's (`builder/context.go` `getDockerRunArgs`), with taskrun's unique names
//! and labels: `--rm` unless `keep`, `-d` for `detach`, `--name <run's name for the step>`, the
//! workspace, engine socket, home and task volumes, the run network with the step id as alias,
//! `--env HOME=/acb/home`, each `env` entry as written (the shell removes quotes and expands),
//! the working directory, and the step's `user`, `privileged`, `ports`, `expose`, `cpus`,
//! `entryPoint`. taskrun's own words are single-quoted; the `cmd` text follows verbatim.
//! The CLI reaches the engine through the step's proxy socket (local engines), so a `--name` in
//! the line and every container the line starts get names and labels of the run: a timeout or
//! Ctrl-C removes them, and the end of the run removes whatever is left.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::engine::proxy::VIA_LABEL;
use crate::engine::{Engine, EngineError, LogSink, ShellRequest};
use crate::exec::step::{
    Outcome, StepContext, StepSink, attempts, pull, step_network, takes_aliases, working_dir,
};
use crate::model::{CmdStep, Step};

/// Runs a `cmd` step through the agent's shell.
pub(crate) async fn run<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    line: &CmdStep,
    cancel: &CancellationToken,
) -> Outcome {
    let Some(agent) = ctx.env.agent.clone() else {
        return no_shell();
    };
    let Some(shell) = agent.shell.clone() else {
        return no_shell();
    };
    let sink = StepSink::new(step, Arc::clone(&ctx.reporter));
    if step.pull
        && let Some(parsed) = line.parsed()
    {
        sink.announce();
        if let Err(e) = pull(ctx, step, &parsed.cmd.image, true).await {
            return Outcome::Engine(e);
        }
    }
    let socket = agent.socket(&step.id);
    let base = ctx.options.key.name(&step.id);
    let (sink_ref, agent, shell, socket, base) = (&sink, &agent, &shell, &socket, &base);
    attempts(ctx, step, &sink, cancel, move |n| {
        Box::pin(async move {
            let name = if n > 0 {
                format!("{base}-{}", n + 1)
            } else {
                base.clone()
            };
            if let Some(proxy) = &agent.proxy {
                proxy.alias(&step.id, &name);
            }
            let mount = agent
                .mount_socket(&step.id)
                .map(|s| s.display().to_string())
                .or_else(|| ctx.options.engine_socket.clone());
            let request = ShellRequest {
                shell: shell.sh.clone(),
                script: script(ctx, step, line, &name, mount.as_deref()),
                env: shell.env(socket.as_deref()),
                cwd: shell.cwd.clone(),
            };
            let output = sink_ref.clone() as Arc<dyn LogSink>;
            let status = ctx.engine.run_shell(&request, output, cancel.clone()).await;
            if matches!(status, Err(EngineError::Cancelled)) {
                // Killed by a timeout or Ctrl-C: what the line started goes with it.
                let _ = ctx.engine.remove_container(&name).await;
                if let Ok(found) = ctx
                    .engine
                    .list_labelled(VIA_LABEL, Some(&agent.scope(&step.id)))
                    .await
                {
                    for c in &found.containers {
                        let _ = ctx.engine.remove_container(c).await;
                    }
                }
            }
            status.map(|s| s.code)
        })
    })
    .await
}

fn no_shell() -> Outcome {
    Outcome::Failed {
        message: "this cmd line needs the agent's shell and no docker CLI was found; install \
                  the docker CLI or set TASKRUN_DOCKER_CLI"
            .to_owned(),
        exit_code: None,
    }
}

/// acb's `docker run …` text for the step, with `line` appended verbatim.
pub(crate) fn script<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    line: &str,
    name: &str,
    socket: Option<&str>,
) -> String {
    let mut out = String::from("docker run");
    let mut add = |s: &str| {
        out.push(' ');
        out.push_str(s);
    };
    if !step.keep {
        add("--rm");
    }
    if step.detach {
        add("--detach");
    }
    for p in &step.ports {
        add(&format!("-p {}", quote(&p.to_string())));
    }
    for e in &step.expose {
        add(&format!("--expose {}", quote(e)));
    }
    if step.privileged {
        add("--privileged");
    }
    if let Some(u) = &step.user {
        add(&format!("--user {}", quote(u)));
    }
    if let Some(n) = &step_network(ctx, step) {
        add(&format!("--network {}", quote(n)));
        if takes_aliases(n) {
            add(&format!("--network-alias {}", quote(&step.id)));
        }
    }
    if let Some(c) = step.cpus {
        add(&format!("--cpus {c}"));
    }
    if let Some(ep) = &step.entry_point {
        add(&format!("--entrypoint {}", quote(ep)));
    }
    add(&format!("--name {}", quote(name)));
    let mut labels = ctx.options.key.labels();
    labels.insert("io.taskrun.step".to_owned(), step.id.clone());
    for (k, v) in &labels {
        add(&format!("--label {}", quote(&format!("{k}={v}"))));
    }
    add(&format!(
        "--volume {}",
        quote(&format!("{}:/workspace", ctx.env.workspace))
    ));
    if let Some(s) = socket {
        add(&format!(
            "--volume {}",
            quote(&format!("{s}:/var/run/docker.sock"))
        ));
    }
    add(&format!(
        "--volume {}",
        quote(&format!("{}:/acb/home", ctx.env.home))
    ));
    for m in &step.volume_mounts {
        if let Some(actual) = ctx.env.volumes.get(&m.name) {
            add(&format!(
                "--volume {}",
                quote(&format!("{actual}:{}", m.mount_path))
            ));
        }
    }
    add("--env HOME=/acb/home");
    for e in &step.env {
        // As acb: the entry as written, for the shell to read.
        add(&format!("--env {e}"));
    }
    if let Some(wd) = working_dir(step) {
        add(&format!("--workdir {}", quote(&wd)));
    }
    add(line);
    out
}

/// A word in single quotes, for the shell to read back unchanged.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting() {
        assert_eq!(quote("taskrun-a-1:/workspace"), "taskrun-a-1:/workspace");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }
}
