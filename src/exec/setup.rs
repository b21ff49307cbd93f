//! Run preparation and cleanup: networks, the workspace volume seeded from CONTEXT (unless
//! nothing reads it: see `exec::step::host`), the home
//! volume with the run's docker config, task secret volumes; and removal of everything labelled
//! with the run key (and of leftovers of killed runs).

use std::collections::BTreeMap;

pub use crate::engine::tarball::tar_of;
use crate::engine::{Engine, EngineError, NetworkSpec, RUN_LABEL};
use crate::exec::resources::RunKey;
use crate::exec::{Reporter, RunOptions};
use crate::model::{StepKind, Task};
use crate::registry::credentials::docker_config_json;

/// Resources prepared for a run.
#[derive(Debug, Clone)]
pub struct RunEnv {
    /// Workspace volume, mounted at `/workspace`.
    pub workspace: String,
    /// Home volume, mounted at `/acb/home`.
    pub home: String,
    /// The network steps join when they set none.
    pub default_network: Option<String>,
    /// Task network name → engine network name.
    pub networks: BTreeMap<String, String>,
    /// Task volume name → engine volume name.
    pub volumes: BTreeMap<String, String>,
    /// The run's agent: name proxy and shell (see `exec::agent`).
    pub agent: Option<std::sync::Arc<crate::exec::agent::Agent>>,
    /// The ids of the build steps that read their context from the CONTEXT directory while no
    /// `cmd` step has started (decided when the run is prepared; see `exec::step::host`).
    pub host_builds: std::collections::BTreeSet<String>,
    /// Set when the workspace may differ from the CONTEXT directory: the first `cmd` step starts
    /// (before its container is created, started or released), or a build fetches a remote
    /// context into it. From then on builds read their context from the workspace volume.
    pub cmd_started: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Whether the workspace is seeded from the CONTEXT directory: not when nothing would read
    /// it (no `cmd` step, every build reads the host, no `--keep-workspace`).
    pub seed_workspace: bool,
}

/// The label of volumes kept with `--keep-workspace`: never removed as leftovers.
pub const KEEP_LABEL: &str = "io.taskrun.keep";

/// Removes resources of runs on this host whose process is gone (killed with SIGKILL); volumes
/// kept with `--keep-workspace` stay.
pub async fn remove_leftovers<E: Engine>(engine: &E, reporter: &dyn Reporter) {
    let Ok(mut all) = engine.list_labelled(RUN_LABEL, None).await else {
        return;
    };
    if let Ok(kept) = engine.list_labelled(KEEP_LABEL, None).await {
        all.volumes.retain(|v| !kept.volumes.contains(v));
    }
    let dead = |name: &String| RunKey::from_name(name).is_some_and(|k| k.is_dead_local_run());
    let mut removed = 0;
    for c in all.containers.iter().filter(|n| dead(n)) {
        removed += usize::from(engine.remove_container(c).await.is_ok());
    }
    for n in all.networks.iter().filter(|n| dead(n)) {
        removed += usize::from(engine.remove_network(n).await.is_ok());
    }
    for v in all.volumes.iter().filter(|n| dead(n)) {
        removed += usize::from(engine.remove_volume(v).await.is_ok());
    }
    if removed > 0 {
        reporter.run_message(&format!(
            "Removed {removed} leftover resource(s) of interrupted runs"
        ));
    }
}

/// The names of the run's networks and volumes (nothing is created yet).
pub fn names(task: &Task, options: &RunOptions) -> RunEnv {
    let key = &options.key;
    let host_builds = if options.host_context {
        crate::exec::step::host::host_builds(task, &options.context_dir)
    } else {
        std::collections::BTreeSet::new()
    };
    let mut networks = BTreeMap::new();
    let mut default_network = None;
    // acb's default network is for `cmd` containers; a task without `cmd` steps (a quick build,
    // builds and pushes) needs none, and creating it is the slowest part of the setup.
    if task.networks.is_empty()
        && task
            .steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Cmd(_)))
    {
        default_network = Some(key.name("network"));
    }
    for n in &task.networks {
        let actual = if n.skip_creation {
            n.name.clone()
        } else {
            key.name(&format!("net-{}", n.name))
        };
        if n.is_default {
            default_network = Some(actual.clone());
        }
        networks.insert(n.name.clone(), actual);
    }
    RunEnv {
        workspace: key.name("workspace"),
        home: key.name("home"),
        default_network,
        networks,
        volumes: task
            .volumes
            .iter()
            .map(|v| (v.name.clone(), key.name(&format!("vol-{}", v.name))))
            .collect(),
        agent: None,
        seed_workspace: crate::exec::step::host::needs_seeding(
            task,
            &host_builds,
            options.keep_workspace,
        ),
        host_builds,
        cmd_started: std::sync::Arc::default(),
    }
}

/// Creates the run's networks: acb's default bridge network unless the task declares networks.
pub async fn make_networks<E: Engine>(
    engine: &E,
    task: &Task,
    env: &RunEnv,
    options: &RunOptions,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let labels = options.key.labels();
    let mut specs = Vec::new();
    if task.networks.is_empty() {
        specs.extend(env.default_network.iter().map(|name| NetworkSpec {
            name: name.clone(),
            driver: Some("bridge".to_owned()),
            ipv6: false,
            labels: labels.clone(),
        }));
    }
    for n in &task.networks {
        if n.skip_creation {
            reporter.run_message(&format!("Skip creating network: {}", n.name));
        } else if let Some(actual) = env.networks.get(&n.name) {
            specs.push(NetworkSpec {
                name: actual.clone(),
                driver: n.driver.clone(),
                ipv6: n.ipv6,
                labels: labels.clone(),
            });
        }
    }
    for spec in &specs {
        engine.create_network(spec).await?;
    }
    Ok(())
}

/// Creates the run's volumes (all at once; `created` is told when they exist) and fills them:
/// the workspace from the CONTEXT directory (when something reads it:
/// [`RunEnv::seed_workspace`]), the home volume with the docker config holding the run's
/// registry logins, and the task's secret volumes.
pub async fn make_volumes<E: Engine>(
    engine: &E,
    task: &Task,
    env: &RunEnv,
    options: &RunOptions,
    reporter: &dyn Reporter,
    created: tokio::sync::oneshot::Sender<()>,
) -> Result<(), EngineError> {
    let mut labels = options.key.labels();
    if options.keep_workspace {
        // Kept volumes are the user's now: the next run must not take them for leftovers.
        labels.insert(KEEP_LABEL.to_owned(), "1".to_owned());
    }
    let mut names = vec![&env.workspace, &env.home];
    names.extend(env.volumes.values());
    futures_util::future::try_join_all(names.iter().map(|n| engine.create_volume(n, &labels)))
        .await?;
    let _ = created.send(());
    let workspace = async {
        if env.seed_workspace {
            seed_workspace(engine, &env.workspace, options, reporter).await
        } else {
            Ok(())
        }
    };
    futures_util::try_join!(
        workspace,
        seed_home(engine, &env.home, options),
        seed_volumes(engine, task, env, reporter),
    )?;
    Ok(())
}

/// The workspace, seeded from the CONTEXT directory. What was left out (fifos, sockets,
/// devices…) is said, as `docker build` says it.
async fn seed_workspace<E: Engine>(
    engine: &E,
    workspace: &str,
    options: &RunOptions,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let seed = crate::context::workspace_stream(&options.context_dir).map_err(|e| {
        EngineError::Failed {
            operation: "read the context directory",
            subject: options.context_dir.display().to_string(),
            message: e.to_string(),
        }
    })?;
    let handle = seed.handle();
    let result = engine.put_into_volume(workspace, "", seed.boxed()).await;
    for warning in handle.warnings() {
        reporter.run_message(&format!("Workspace: {warning}"));
    }
    result
}

/// The home volume's docker config with the run's registry logins (an empty `auths` without
/// any: on ACR the run registry's login is always there, so the file always is).
async fn seed_home<E: Engine>(
    engine: &E,
    home: &str,
    options: &RunOptions,
) -> Result<(), EngineError> {
    let config = docker_config(options);
    engine
        .put_into_volume(
            home,
            "",
            tar_of(&[(".docker/config.json", config.as_bytes())]),
        )
        .await
}

/// The docker config with the run's registry logins (the home volume's, and the agent's).
pub fn docker_config(options: &RunOptions) -> String {
    let auths: Vec<_> = options
        .login_registries
        .iter()
        .filter_map(|r| options.credentials.for_registry(r))
        .collect();
    docker_config_json(&auths)
}

/// The files of the task's secret volumes.
async fn seed_volumes<E: Engine>(
    engine: &E,
    task: &Task,
    env: &RunEnv,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    for v in &task.volumes {
        let Some(actual) = env.volumes.get(&v.name) else {
            continue;
        };
        let files: Vec<(&str, &[u8])> = v
            .files
            .iter()
            .map(|(k, c)| (k.as_str(), c.as_slice()))
            .collect();
        engine.put_into_volume(actual, "", tar_of(&files)).await?;
        reporter.run_message(&format!("Volume source {} successfully created", v.name));
    }
    Ok(())
}

/// Removes every container, network and volume labelled with this run's key (volumes are kept
/// with `--keep-workspace`). Failures are reported, never fatal.
pub async fn cleanup<E: Engine>(engine: &E, options: &RunOptions, reporter: &dyn Reporter) {
    let key = options.key.as_string();
    let found = match engine.list_labelled(RUN_LABEL, Some(&key)).await {
        Ok(f) => f,
        Err(e) => {
            reporter.run_message(&format!("Cleanup could not list the run's resources: {e}"));
            return;
        }
    };
    // Containers and networks at once: a network is only held by running containers, and the
    // step containers have exited by now (a network still held, by a detached container, is
    // tried again once the containers are gone). Volumes are held until their containers are
    // removed, so they come last.
    let (containers, networks) = futures_util::join!(
        futures_util::future::join_all(found.containers.iter().map(|c| engine.remove_container(c))),
        futures_util::future::join_all(found.networks.iter().map(|n| engine.remove_network(n))),
    );
    for (c, r) in found.containers.iter().zip(containers) {
        if let Err(e) = r {
            reporter.run_message(&format!("Failed to remove container {c}: {e}"));
        }
    }
    let held: Vec<&String> = found
        .networks
        .iter()
        .zip(networks)
        .filter_map(|(n, r)| r.is_err().then_some(n))
        .collect();
    let retried =
        futures_util::future::join_all(held.iter().map(|n| remove_network(engine, n))).await;
    for (n, r) in held.iter().zip(retried) {
        if let Err(e) = r {
            reporter.run_message(&format!("Failed to delete network: {n}: {e}"));
        }
    }
    // The gate volume (see `engine::ahead`) is taskrun's own: never kept.
    let gate = options.key.gate_volume().name;
    let (kept, volumes): (Vec<&String>, Vec<&String>) = found
        .volumes
        .iter()
        .partition(|v| options.keep_workspace && **v != gate);
    if !kept.is_empty() {
        let kept: Vec<&str> = kept.iter().map(|v| v.as_str()).collect();
        reporter.run_message(&format!(
            "Kept volumes (--keep-workspace): {}; remove them with `docker volume rm {}`",
            kept.join(", "),
            kept.join(" ")
        ));
    }
    let removed =
        futures_util::future::join_all(volumes.iter().map(|v| engine.remove_volume(v))).await;
    for (v, r) in volumes.iter().zip(removed) {
        if let Err(e) = r {
            reporter.run_message(&format!("Failed to delete volume: {v}: {e}"));
        }
    }
}

/// Removes a network its containers have just left, trying again for a few seconds: under load
/// (20 concurrent runs) the engine was seen refusing it once more after every container on it
/// had been removed.
async fn remove_network<E: Engine>(engine: &E, name: &str) -> Result<(), EngineError> {
    let mut delay = std::time::Duration::from_millis(100);
    let mut result = engine.remove_network(name).await;
    for _ in 0..6 {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(2));
        result = engine.remove_network(name).await;
    }
    result
}
