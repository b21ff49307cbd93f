//! The run's agent: what stands in for the machine acb runs on.
//!
//! * The name proxy (`engine::proxy`), when the engine is local: steps mount one of its sockets
//!   at `/var/run/docker.sock`, so `docker stop <step id>` and `docker exec <name>` find the
//!   run's containers while their real names stay unique per run.
//! * The agent's shell (`engine::shell`), for `cmd` lines that need it: a real `/bin/sh` and the
//!   real docker CLI, with a defined environment that never comes from the user's process:
//!
//!   | Variable | Value |
//!   |---|---|
//!   | `PATH` | the docker CLI's directory, then `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` |
//!   | `HOME` | the run's agent home, `<tmp>/taskrun-<run key>-agent/home` |
//!   | `DOCKER_CONFIG` | `$HOME/.docker`, whose `config.json` holds the run's registry logins (as the home volume's) |
//!   | `DOCKER_HOST` | the step's proxy socket (local engine), else the engine's own endpoint (and its TLS variables) |
//!
//!   Its working directory is an empty directory of the agent, so globs on the agent match
//!   nothing, as on ACR's agent.
//!
//! Everything lives in a private directory (mode 0700) removed when the run ends.

use std::path::{Path, PathBuf};

use crate::engine::Engine;
use crate::engine::proxy::NameProxy;
use crate::exec::RunOptions;
use crate::exec::resources::PREFIX;
use crate::model::{StepKind, Task};

/// The `PATH` of the agent's shell after the docker CLI's directory.
const AGENT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The agent of one run (see the module docs).
#[derive(Debug)]
pub struct Agent {
    dir: PathBuf,
    run: String,
    mount_proxy: bool,
    /// The name proxy, when the engine is local.
    pub proxy: Option<NameProxy>,
    /// The agent's shell, when a step needs it and a docker CLI was found.
    pub shell: Option<AgentShell>,
}

/// How the agent's shell is started.
#[derive(Debug, Clone)]
pub struct AgentShell {
    /// `/bin/sh`.
    pub sh: PathBuf,
    /// The docker CLI.
    pub docker: PathBuf,
    /// `HOME` of the shell (holds `.docker/config.json`).
    pub home: PathBuf,
    /// The shell's working directory.
    pub cwd: PathBuf,
    /// How the CLI reaches the engine directly (remote engines).
    pub engine_env: Vec<(String, String)>,
}

impl AgentShell {
    /// The shell's whole environment; `socket`: the step's proxy socket, if any.
    pub fn env(&self, socket: Option<&Path>) -> Vec<(String, String)> {
        let cli_dir = self
            .docker
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let mut env = vec![
            ("PATH".to_owned(), format!("{cli_dir}:{AGENT_PATH}")),
            ("HOME".to_owned(), self.home.display().to_string()),
            (
                "DOCKER_CONFIG".to_owned(),
                self.home.join(".docker").display().to_string(),
            ),
        ];
        match socket {
            Some(s) => env.push(("DOCKER_HOST".to_owned(), format!("unix://{}", s.display()))),
            None => env.extend(self.engine_env.iter().cloned()),
        }
        env
    }
}

impl Agent {
    /// Sets up the agent of a run: the proxy (local engines only; the fake engine of a dry run
    /// has none), and the shell's home when some `cmd` step needs the shell.
    pub async fn start<E: Engine>(
        engine: &E,
        task: &Task,
        options: &RunOptions,
    ) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(options.key.name("agent"));
        let proxy = match engine.local_socket() {
            Some(socket) => {
                let p = NameProxy::new(
                    &socket,
                    dir.join("sockets"),
                    format!("{PREFIX}{}-", options.key.as_string()),
                    options.key.labels(),
                )?;
                for step in &task.steps {
                    p.alias(&step.id, &options.key.name(&step.id));
                    if let StepKind::Cmd(line) = &step.kind
                        && let Some(parsed) = line.parsed()
                        && let Some(name) = &parsed.cmd.run.name
                    {
                        p.alias(name, &options.key.name(&step.id));
                    }
                }
                Some(p)
            }
            None => None,
        };
        let needs_shell = task.steps.iter().any(|s| match &s.kind {
            StepKind::Cmd(line) => line.needs_shell(&s.env),
            _ => false,
        });
        let shell = match (&options.docker_cli, needs_shell) {
            (Some(docker), true) => {
                let home = dir.join("home");
                let cwd = dir.join("cwd");
                write_private(
                    &home.join(".docker/config.json"),
                    &crate::exec::setup::docker_config(options),
                )?;
                std::fs::create_dir_all(&cwd)?;
                Some(AgentShell {
                    sh: PathBuf::from("/bin/sh"),
                    docker: docker.clone(),
                    home,
                    cwd,
                    engine_env: engine.cli_environment(),
                })
            }
            _ => None,
        };
        Ok(Self {
            dir,
            run: options.key.as_string(),
            mount_proxy: options.mount_proxy && engine_sees_our_files(engine).await,
            proxy,
            shell,
        })
    }

    /// The socket a step's agent CLI uses, when the proxy runs.
    pub fn socket(&self, step: &str) -> Option<PathBuf> {
        self.proxy
            .as_ref()
            .and_then(|p| p.socket(&self.scope(step)).ok())
    }

    /// The socket a step mounts at `/var/run/docker.sock`: the proxy's, unless
    /// `TASKRUN_ENGINE_PROXY=0` says the engine's host cannot see this machine's temporary
    /// directory (taskrun in a container that does not share it); the step then mounts the
    /// engine's own socket and names are not mapped.
    pub fn mount_socket(&self, step: &str) -> Option<PathBuf> {
        if !self.mount_proxy {
            return None;
        }
        self.socket(step)
    }

    /// The `io.taskrun.via` label value of what step `step` creates: `<run key>/<step id>`
    /// (unique across concurrent runs of one file).
    pub fn scope(&self, step: &str) -> String {
        format!("{}/{step}", self.run)
    }

    /// Stops the proxy and removes the agent's directory.
    pub fn finish(&self) {
        if let Some(p) = &self.proxy {
            p.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Whether the engine can bind-mount a file of this machine's temporary directory. On a host
/// (no `/.dockerenv`) a local engine always can. In a container it can when the engine runs in
/// the same machine, which the engine's host name tells (taskrun in its own container, talking
/// to the host's engine through a mounted socket, has another host name; the engine could not
/// see the proxy's socket there, so steps get the engine's own socket instead).
async fn engine_sees_our_files<E: Engine>(engine: &E) -> bool {
    if !Path::new("/.dockerenv").exists() {
        return true;
    }
    let ours = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    engine
        .host_name()
        .await
        .is_some_and(|theirs| !ours.is_empty() && theirs == ours)
}

/// Writes `text` to `path`, creating private (0700) directories and a 0600 file.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// The docker CLI the agent's shell uses: `TASKRUN_DOCKER_CLI`, else `docker` on `PATH`.
pub fn find_docker_cli(env_override: Option<&str>, path: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = env_override.filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return is_executable(&p).then_some(p);
    }
    path?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join("docker"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docker_cli_is_found_on_path_or_named() {
        assert_eq!(find_docker_cli(None, Some("/nonexistent:")), None);
        assert_eq!(
            find_docker_cli(Some("/bin/sh"), None),
            Some("/bin/sh".into())
        );
        assert_eq!(
            find_docker_cli(Some("/nonexistent/docker"), Some("/bin")),
            None
        );
        let dir = tempfile::tempdir().unwrap();
        let cli = dir.path().join("docker");
        std::fs::write(&cli, "#!/bin/sh\n").unwrap();
        assert_eq!(
            find_docker_cli(None, dir.path().to_str()),
            None,
            "not executable"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(find_docker_cli(None, Some(&path)), Some(cli));
    }

    #[test]
    fn the_shell_environment_is_defined_and_small() {
        let shell = AgentShell {
            sh: "/bin/sh".into(),
            docker: "/opt/d/docker".into(),
            home: "/tmp/a/home".into(),
            cwd: "/tmp/a/cwd".into(),
            engine_env: vec![("DOCKER_HOST".into(), "tcp://h:2376".into())],
        };
        let local = shell.env(Some(Path::new("/tmp/a/s0.sock")));
        let names: Vec<&str> = local.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["PATH", "HOME", "DOCKER_CONFIG", "DOCKER_HOST"]);
        assert!(local[0].1.starts_with("/opt/d:/usr/local/sbin"));
        assert_eq!(local[3].1, "unix:///tmp/a/s0.sock");
        let remote = shell.env(None);
        assert_eq!(remote[3].1, "tcp://h:2376");
    }
}
