//! The environment variables that tune a run, read in one place (the flags are the command
//! line's; these are for comparisons, remote engines and containers).
//!
//! | Variable | Default | Effect |
//! | --- | --- | --- |
//! | `DOCKER_HOST` | `unix:///var/run/docker.sock` | the engine; a `unix://` path is also the socket mounted into steps |
//! | `TASKRUN_DOCKER_CLI` | `docker` on `PATH` | the docker CLI of the agent's shell |
//! | `TASKRUN_START_AHEAD` | on | start step containers ahead, held at the gate |
//! | `TASKRUN_HOST_CONTEXT` | on | builds read CONTEXT from the host while no `cmd` step ran |
//! | `TASKRUN_ENGINE_PROXY` | on | mount the run's engine proxy into steps |
//!
//! A switch is off when its variable is `0`, `false`, `off` or `no`.

use std::path::PathBuf;

/// The run settings read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    /// The engine socket path to bind-mount into steps, on the engine's host.
    pub engine_socket: String,
    /// The docker CLI of the agent's shell, when one was found.
    pub docker_cli: Option<PathBuf>,
    /// `TASKRUN_START_AHEAD`.
    pub start_ahead: bool,
    /// `TASKRUN_HOST_CONTEXT`.
    pub host_context: bool,
    /// `TASKRUN_ENGINE_PROXY`.
    pub mount_proxy: bool,
}

impl RunSettings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `var` (a lookup of one variable).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let on = |name: &str| {
            !var(name).is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "0" | "false" | "off" | "no"
                )
            })
        };
        RunSettings {
            engine_socket: var("DOCKER_HOST")
                .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/var/run/docker.sock".to_owned()),
            docker_cli: crate::exec::agent::find_docker_cli(
                var("TASKRUN_DOCKER_CLI").as_deref(),
                var("PATH").as_deref(),
            ),
            start_ahead: on("TASKRUN_START_AHEAD"),
            host_context: on("TASKRUN_HOST_CONTEXT"),
            mount_proxy: on("TASKRUN_ENGINE_PROXY"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_on_unless_turned_off_and_the_socket_follows_docker_host() {
        let s = RunSettings::from_vars(|name| match name {
            "TASKRUN_START_AHEAD" => Some("Off".into()),
            "TASKRUN_HOST_CONTEXT" => Some("1".into()),
            "DOCKER_HOST" => Some("unix:///run/user/docker.sock".into()),
            _ => None,
        });
        assert!(!s.start_ahead);
        assert!(s.host_context && s.mount_proxy);
        assert_eq!(s.engine_socket, "/run/user/docker.sock");
        let tcp = RunSettings::from_vars(|name| {
            (name == "DOCKER_HOST").then(|| "tcp://10.0.0.1:2375".into())
        });
        assert_eq!(tcp.engine_socket, "/var/run/docker.sock");
    }
}
