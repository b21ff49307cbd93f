//! [`FakeEngine`]: an [`Engine`] that records every call and returns scripted outcomes.
//!
//! Used by unit tests and by `--dry-run`. With no script every call succeeds without output, so
//! the [`transcript`](FakeEngine::transcript) reads as "the engine calls taskrun would make".
//! The transcript prints specs as given (environment entries and build arguments included); the
//! caller masks secrets in everything it shows, as it does for real output.
//!
//! Images: `build`, `pull` and `tag` register images, which `inspect_image` then reports;
//! `push` returns the deterministic digest `sha256:<sha256 of the reference>` and adds
//! `repo@digest` to the image's repo digests. The fake is lenient: tagging or pushing an image it
//! has not seen succeeds (in a dry run, a `cmd` step may have produced it). Script an error to
//! test failures.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::model::runopts::{ContainerOptions, MountKind, MountSpec, Restart};

use super::ahead::{CreatedContainer, Precreate};
use super::{
    BuildRequest, ContainerSpec, Engine, EngineError, EngineInfo, EngineResult, ExitStatus,
    ImageInfo, Labelled, LogSink, LogStream, Mount, NetworkSpec, RegistryAuth, TarStream,
};

/// The outcome scripted for matching calls.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Exit code of a `run` (0 by default). Ignored by other calls.
    pub exit_code: i64,
    /// Lines written to the sink before finishing.
    pub output: Vec<(LogStream, String)>,
    /// Time the call takes (cancellation is honoured during it).
    pub delay: Option<Duration>,
    /// An error returned instead of success (after the output and delay).
    pub error: Option<EngineError>,
}

impl Outcome {
    /// A run that exits with `code`.
    pub fn exit(code: i64) -> Self {
        Self {
            exit_code: code,
            ..Self::default()
        }
    }

    /// A call that fails with `error`.
    pub fn fail(error: EngineError) -> Self {
        Self {
            error: Some(error),
            ..Self::default()
        }
    }

    /// Adds a stdout line.
    pub fn stdout(mut self, line: impl Into<String>) -> Self {
        self.output.push((LogStream::Stdout, line.into()));
        self
    }

    /// Adds a stderr line.
    pub fn stderr(mut self, line: impl Into<String>) -> Self {
        self.output.push((LogStream::Stderr, line.into()));
        self
    }

    /// Sets the time the call takes.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// A build as recorded (the context stream is drained and only its size kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildCall {
    /// Dockerfile path in the context.
    pub dockerfile: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Build arguments.
    pub build_args: BTreeMap<String, String>,
    /// Target stage.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Platform.
    pub platform: Option<String>,
    /// Network.
    pub network: Option<String>,
    /// Cache sources.
    pub cache_from: Vec<String>,
    /// Extra hosts.
    pub extra_hosts: Vec<String>,
    /// Registry hosts credentials were given for (never the credentials).
    pub auth_servers: Vec<String>,
    /// Built with BuildKit.
    pub buildkit: bool,
    /// Ids of the build secrets (never their values).
    pub secret_ids: Vec<String>,
    /// The build query's resource parameters (`memory=…`, `ulimits=…`, `squash=1`).
    pub resources: Vec<String>,
    /// Size of the context tar in bytes.
    pub context_bytes: u64,
}

/// One recorded engine call.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `ping`.
    Ping,
    /// `inspect_image`.
    InspectImage {
        /// Image.
        image: String,
    },
    /// `pull`.
    Pull {
        /// Image.
        image: String,
        /// Registry the credentials were for, if any.
        auth_server: Option<String>,
    },
    /// `create_network`.
    CreateNetwork(NetworkSpec),
    /// `remove_network`.
    RemoveNetwork {
        /// Network.
        name: String,
    },
    /// `create_volume`.
    CreateVolume {
        /// Volume.
        name: String,
        /// Labels.
        labels: BTreeMap<String, String>,
    },
    /// `remove_volume`.
    RemoveVolume {
        /// Volume.
        name: String,
    },
    /// `run` (and `run_created`, which follows a `CreateContainer`).
    Run(ContainerSpec),
    /// `create_container`: a container created ahead of its step.
    CreateContainer(ContainerSpec),
    /// A running container killed because the run was cancelled.
    Kill {
        /// Container.
        name: String,
    },
    /// `start_detached`.
    StartDetached(ContainerSpec),
    /// `create_container` started the container at the gate (after its `CreateContainer`).
    StartGated {
        /// Container.
        name: String,
    },
    /// `remove_container`.
    RemoveContainer {
        /// Container.
        name: String,
    },
    /// `put_into_volume`.
    PutIntoVolume {
        /// Volume.
        volume: String,
        /// Path in the volume.
        path: String,
        /// Entry names of the tar (when it was small enough to list).
        entries: Vec<String>,
        /// Size of the tar in bytes.
        bytes: u64,
    },
    /// `get_from_volume`.
    GetFromVolume {
        /// Volume.
        volume: String,
        /// Path in the volume.
        path: String,
    },
    /// `build`.
    Build(BuildCall),
    /// `tag`.
    Tag {
        /// Source image.
        source: String,
        /// New reference.
        target: String,
    },
    /// `push`.
    Push {
        /// Image.
        image: String,
        /// Registry the credentials were for, if any.
        auth_server: Option<String>,
    },
    /// `run_shell`.
    Shell {
        /// The script given to `sh -c`.
        script: String,
    },
    /// `put_remote_context`: nothing is fetched.
    FetchContext {
        /// The remote context, credentials masked.
        source: String,
        /// Volume.
        volume: String,
        /// Path in the volume.
        path: String,
    },
    /// `list_labelled`.
    ListLabelled {
        /// Label key.
        key: String,
        /// Label value.
        value: Option<String>,
    },
}

impl Call {
    /// The call as one human-readable transcript line.
    pub fn describe(&self) -> String {
        match self {
            Call::Ping => "ping".to_string(),
            Call::InspectImage { image } => format!("inspect_image {image}"),
            Call::Pull { image, auth_server } => {
                format!("pull {image}{}", auth_suffix(auth_server.as_deref()))
            }
            Call::CreateNetwork(spec) => {
                let mut line = format!(
                    "create_network {} driver={}",
                    spec.name,
                    spec.driver.as_deref().unwrap_or("bridge")
                );
                if spec.ipv6 {
                    line.push_str(" ipv6");
                }
                push_map(&mut line, "labels", &spec.labels);
                line
            }
            Call::RemoveNetwork { name } => format!("remove_network {name}"),
            Call::CreateVolume { name, labels } => {
                let mut line = format!("create_volume {name}");
                push_map(&mut line, "labels", labels);
                line
            }
            Call::RemoveVolume { name } => format!("remove_volume {name}"),
            Call::Run(spec) => format!("run {}", describe_spec(spec)),
            Call::Shell { script } => format!("shell sh -c {script:?}"),
            Call::FetchContext {
                source,
                volume,
                path,
            } => format!("fetch_context {source} into {volume}:/{path}"),
            Call::CreateContainer(spec) => format!("create_container {}", spec.name),
            Call::Kill { name } => format!("kill {name}"),
            Call::StartGated { name } => format!("start_gated {name}"),
            Call::StartDetached(spec) => format!("start_detached {}", describe_spec(spec)),
            Call::RemoveContainer { name } => format!("remove_container {name}"),
            Call::PutIntoVolume {
                volume,
                path,
                entries,
                bytes,
            } => format!(
                "put_into_volume {volume}:/{path} entries={} bytes={bytes}",
                entries.len()
            ),
            Call::GetFromVolume { volume, path } => format!("get_from_volume {volume}:/{path}"),
            Call::Build(build) => {
                let mut line = format!(
                    "build tags={} dockerfile={}",
                    list(&build.tags),
                    build.dockerfile
                );
                push_map(&mut line, "build_args", &build.build_args);
                push_opt(&mut line, "target", build.target.as_deref());
                if build.no_cache {
                    line.push_str(" no_cache");
                }
                if build.pull {
                    line.push_str(" pull");
                }
                push_map(&mut line, "labels", &build.labels);
                push_opt(&mut line, "platform", build.platform.as_deref());
                push_opt(&mut line, "network", build.network.as_deref());
                push_list(&mut line, "cache_from", &build.cache_from);
                push_list(&mut line, "extra_hosts", &build.extra_hosts);
                push_list(&mut line, "auth", &build.auth_servers);
                if build.buildkit {
                    line.push_str(" buildkit");
                }
                push_list(&mut line, "secrets", &build.secret_ids);
                push_list(&mut line, "resources", &build.resources);
                let _ = write!(line, " context_bytes={}", build.context_bytes);
                line
            }
            Call::Tag { source, target } => format!("tag {source} {target}"),
            Call::Push { image, auth_server } => {
                format!("push {image}{}", auth_suffix(auth_server.as_deref()))
            }
            Call::ListLabelled { key, value } => match value {
                Some(value) => format!("list_labelled {key}={value}"),
                None => format!("list_labelled {key}"),
            },
        }
    }
}

fn auth_suffix(server: Option<&str>) -> String {
    server.map(|s| format!(" auth={s}")).unwrap_or_default()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Quotes a word when it would otherwise be ambiguous in a transcript line.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | ',' | '[' | ']' | '\\'))
    {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

fn push_list(line: &mut String, name: &str, items: &[String]) {
    if !items.is_empty() {
        let _ = write!(line, " {name}={}", list(items));
    }
}

fn push_map(line: &mut String, name: &str, map: &BTreeMap<String, String>) {
    if !map.is_empty() {
        let entries: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
        push_list(line, name, &entries);
    }
}

fn push_opt(line: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        let _ = write!(line, " {name}={}", quote(value));
    }
}

fn describe_spec(spec: &ContainerSpec) -> String {
    let mut line = format!("name={} image={}", spec.name, spec.image);
    if let Some(entrypoint) = &spec.entrypoint {
        let _ = write!(line, " entrypoint={}", list(entrypoint));
    }
    push_list(&mut line, "cmd", &spec.cmd);
    push_list(&mut line, "env", &spec.env);
    push_opt(&mut line, "workdir", spec.working_dir.as_deref());
    push_opt(&mut line, "user", spec.user.as_deref());
    if spec.privileged {
        line.push_str(" privileged");
    }
    push_opt(&mut line, "network", spec.network.as_deref());
    push_list(&mut line, "aliases", &spec.network_aliases);
    let mounts: Vec<String> = spec
        .mounts
        .iter()
        .map(|m| match m {
            Mount::Volume { name, target } => format!("{name}:{target}"),
            Mount::Bind { source, target } => format!("bind:{source}:{target}"),
        })
        .collect();
    push_list(&mut line, "mounts", &mounts);
    let publish: Vec<String> = spec.publish.iter().map(ToString::to_string).collect();
    push_list(&mut line, "publish", &publish);
    push_list(&mut line, "expose", &spec.expose);
    push_list(&mut line, "extra_hosts", &spec.extra_hosts);
    push_map(&mut line, "labels", &spec.labels);
    if spec.tty {
        line.push_str(" tty");
    }
    if spec.interactive {
        line.push_str(" interactive");
    }
    if let Some(cpus) = spec.cpus {
        let _ = write!(line, " cpus={cpus}");
    }
    if let Some(memory) = spec.memory {
        let _ = write!(line, " memory={memory}");
    }
    push_opt(&mut line, "hostname", spec.hostname.as_deref());
    if spec.init {
        line.push_str(" init");
    }
    push_list(&mut line, "cap_add", &spec.cap_add);
    push_list(&mut line, "cap_drop", &spec.cap_drop);
    push_list(&mut line, "security_opt", &spec.security_opt);
    push_opt(&mut line, "platform", spec.platform.as_deref());
    push_options(&mut line, &spec.options);
    line
}

/// The engine options of `docker run` flags, in the docker CLI's words, each only when set.
fn push_options(line: &mut String, o: &ContainerOptions) {
    let mounts: Vec<String> = o.mounts.iter().map(describe_mount).collect();
    push_list(line, "mount", &mounts);
    push_map(line, "tmpfs", &o.tmpfs);
    if o.read_only {
        line.push_str(" read_only");
    }
    if o.publish_all {
        line.push_str(" publish_all");
    }
    if o.oom_kill_disable {
        line.push_str(" oom_kill_disable");
    }
    let ulimits: Vec<String> = o
        .ulimits
        .iter()
        .map(|u| format!("{}={}:{}", u.name, u.soft, u.hard))
        .collect();
    push_list(line, "ulimits", &ulimits);
    let numbers = [
        ("shm_size", o.shm_size),
        ("memory_swap", o.memory_swap),
        ("memory_reservation", o.memory_reservation),
        ("memory_swappiness", o.memory_swappiness),
        ("kernel_memory", o.kernel_memory),
        ("oom_score_adj", o.oom_score_adj),
        ("cpu_shares", o.cpu_shares),
        ("cpu_period", o.cpu_period),
        ("cpu_quota", o.cpu_quota),
        ("cpu_rt_period", o.cpu_rt_period),
        ("cpu_rt_runtime", o.cpu_rt_runtime),
        ("cpu_count", o.cpu_count),
        ("cpu_percent", o.cpu_percent),
        ("pids_limit", o.pids_limit),
        ("blkio_weight", o.blkio_weight.map(i64::from)),
        ("io_max_bandwidth", o.io_max_bandwidth),
        ("io_max_iops", o.io_max_iops),
        ("stop_timeout", o.stop_timeout),
    ];
    for (name, value) in numbers {
        if let Some(v) = value {
            let _ = write!(line, " {name}={v}");
        }
    }
    let texts = [
        ("ipc", &o.ipc),
        ("pid", &o.pid),
        ("uts", &o.uts),
        ("userns", &o.userns),
        ("cgroupns", &o.cgroupns),
        ("cgroup_parent", &o.cgroup_parent),
        ("runtime", &o.runtime),
        ("isolation", &o.isolation),
        ("cpuset_cpus", &o.cpuset_cpus),
        ("cpuset_mems", &o.cpuset_mems),
        ("ip", &o.ip),
        ("ip6", &o.ip6),
        ("mac_address", &o.mac_address),
        ("domainname", &o.domainname),
        ("volume_driver", &o.volume_driver),
        ("stop_signal", &o.stop_signal),
        ("log_driver", &o.log_driver),
    ];
    for (name, value) in texts {
        push_opt(line, name, value.as_deref());
    }
    let pairs = |list: &[(String, i64)]| -> Vec<String> {
        list.iter().map(|(p, r)| format!("{p}:{r}")).collect()
    };
    let weights: Vec<String> = o
        .blkio_weight_device
        .iter()
        .map(|(p, w)| format!("{p}:{w}"))
        .collect();
    push_list(line, "blkio_weight_device", &weights);
    push_list(line, "device_read_bps", &pairs(&o.device_read_bps));
    push_list(line, "device_write_bps", &pairs(&o.device_write_bps));
    push_list(line, "device_read_iops", &pairs(&o.device_read_iops));
    push_list(line, "device_write_iops", &pairs(&o.device_write_iops));
    let devices: Vec<String> = o
        .devices
        .iter()
        .map(|d| format!("{}:{}:{}", d.host, d.container, d.permissions))
        .collect();
    push_list(line, "devices", &devices);
    push_list(line, "device_cgroup_rules", &o.device_cgroup_rules);
    if let Some(g) = &o.gpus {
        let mut parts = Vec::new();
        if let Some(d) = &g.driver {
            parts.push(format!("driver={d}"));
        }
        if let Some(c) = g.count {
            parts.push(format!("count={c}"));
        }
        if !g.device_ids.is_empty() {
            parts.push(format!("device={}", g.device_ids.join("+")));
        }
        parts.push(format!("capabilities={}", g.capabilities.join("+")));
        parts.extend(g.options.iter().map(|(k, v)| format!("{k}={v}")));
        push_list(line, "gpus", &parts);
    }
    push_list(line, "dns", &o.dns);
    push_list(line, "dns_search", &o.dns_search);
    push_list(line, "dns_options", &o.dns_options);
    push_list(line, "links", &o.links);
    push_list(line, "link_local_ips", &o.link_local_ips);
    push_list(line, "network_aliases", &o.network_aliases);
    push_list(line, "group_add", &o.group_add);
    push_map(line, "sysctls", &o.sysctls);
    push_map(line, "storage_opts", &o.storage_opts);
    push_list(line, "volumes_from", &o.volumes_from);
    if let Some(r) = o.restart {
        let text = match r {
            Restart::No => "no".to_owned(),
            Restart::Always => "always".to_owned(),
            Restart::UnlessStopped => "unless-stopped".to_owned(),
            Restart::OnFailure(None) => "on-failure".to_owned(),
            Restart::OnFailure(Some(n)) => format!("on-failure:{n}"),
        };
        push_opt(line, "restart", Some(&text));
    }
    if let Some(h) = &o.health {
        let mut parts = Vec::new();
        if h.disabled {
            parts.push("none".to_owned());
        }
        if let Some(c) = &h.cmd {
            parts.push(format!("cmd={c}"));
        }
        for (name, v) in [
            ("interval_ns", h.interval),
            ("timeout_ns", h.timeout),
            ("start_period_ns", h.start_period),
            ("start_interval_ns", h.start_interval),
            ("retries", h.retries),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name}={v}"));
            }
        }
        push_list(line, "health", &parts);
    }
    push_map(line, "log_opts", &o.log_opts);
    push_map(line, "annotations", &o.annotations);
}

/// One `--mount` as `type:source:target` and its options.
fn describe_mount(m: &MountSpec) -> String {
    let kind = match m.kind {
        MountKind::Bind => "bind",
        MountKind::Volume => "volume",
        MountKind::Tmpfs => "tmpfs",
    };
    let mut text = format!("{kind}:{}:{}", m.source.as_deref().unwrap_or(""), m.target);
    if m.read_only {
        text.push_str(":ro");
    }
    for (name, value) in [
        ("consistency", m.consistency.clone()),
        ("bind-propagation", m.bind_propagation.clone()),
        ("volume-driver", m.volume_driver.clone()),
        ("volume-subpath", m.volume_subpath.clone()),
        ("tmpfs-size", m.tmpfs_size.map(|n| n.to_string())),
        ("tmpfs-mode", m.tmpfs_mode.map(|n| format!("{n:o}"))),
    ] {
        if let Some(v) = value {
            let _ = write!(text, ":{name}={v}");
        }
    }
    if m.bind_nonrecursive {
        text.push_str(":bind-nonrecursive");
    }
    if m.bind_readonly_nonrecursive {
        text.push_str(":bind-recursive=writable");
    }
    if m.bind_readonly_force_recursive {
        text.push_str(":bind-recursive=readonly");
    }
    if m.volume_nocopy {
        text.push_str(":volume-nocopy");
    }
    for (k, v) in &m.volume_labels {
        let _ = write!(text, ":volume-label={k}={v}");
    }
    for (k, v) in &m.volume_opts {
        let _ = write!(text, ":volume-opt={k}={v}");
    }
    text
}

/// The largest put tar whose entry names are listed in the record.
const LIST_ENTRIES_UP_TO: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    scripts: Vec<(String, Outcome)>,
    images: BTreeMap<String, ImageInfo>,
    volume_tars: HashMap<(String, String), Vec<u8>>,
    containers: Vec<(String, BTreeMap<String, String>)>,
    networks: Vec<(String, BTreeMap<String, String>)>,
    volumes: Vec<(String, BTreeMap<String, String>)>,
    detached: u64,
    removal_delay: Duration,
    /// `os` and `arch` that `ping` reports (`linux`/`amd64` when unset).
    platform: Option<(String, String)>,
}

/// An engine that records calls and returns scripted outcomes. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct FakeEngine {
    state: Arc<Mutex<State>>,
}

impl FakeEngine {
    /// A fake where every call succeeds without output.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Scripts the outcome of calls matching `key`: a `run`/`start_detached` whose container
    /// name starts with `key` or that has `key` as a network alias (the step id), a `build` with
    /// a tag starting with `key`, a `pull`/`push` of an image starting with `key`. The longest
    /// matching key wins.
    pub fn script(&self, key: impl Into<String>, outcome: Outcome) -> &Self {
        self.state().scripts.push((key.into(), outcome));
        self
    }

    /// Registers a local image, as if it were present on the engine.
    pub fn add_image(&self, reference: impl Into<String>, info: ImageInfo) -> &Self {
        self.state().images.insert(reference.into(), info);
        self
    }

    /// Makes `ping` report this OS and architecture.
    pub fn set_platform(&self, os: &str, arch: &str) -> &Self {
        self.state().platform = Some((os.to_owned(), arch.to_owned()));
        self
    }

    /// Sets the tar `get_from_volume` returns for `volume` and `path` (an empty tar otherwise).
    pub fn set_volume_tar(&self, volume: &str, path: &str, tar: Vec<u8>) -> &Self {
        self.state()
            .volume_tars
            .insert((volume.to_string(), path.to_string()), tar);
        self
    }

    /// Makes every `remove_container` take `delay` (as a real engine's removal takes time); the
    /// call is recorded when it completes.
    pub fn delay_removals(&self, delay: Duration) -> &Self {
        self.state().removal_delay = delay;
        self
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Every call so far as one readable line each.
    pub fn transcript(&self) -> Vec<String> {
        self.state().calls.iter().map(Call::describe).collect()
    }

    fn record(&self, call: Call) {
        self.state().calls.push(call);
    }

    fn outcome(&self, matches: impl Fn(&str) -> bool) -> Option<Outcome> {
        self.state()
            .scripts
            .iter()
            .filter(|(key, _)| matches(key))
            .max_by_key(|(key, _)| key.len())
            .map(|(_, outcome)| outcome.clone())
    }

    fn container_outcome(&self, spec: &ContainerSpec) -> Option<Outcome> {
        self.outcome(|key| {
            spec.name.starts_with(key) || spec.network_aliases.iter().any(|a| a == key)
        })
    }

    fn image_outcome(&self, images: &[String]) -> Option<Outcome> {
        self.outcome(|key| images.iter().any(|i| i.starts_with(key)))
    }

    /// Plays an outcome: output, then the delay (cancellable), then the error if any.
    async fn play(
        outcome: Option<&Outcome>,
        sink: &dyn LogSink,
        cancel: Option<&CancellationToken>,
    ) -> EngineResult<()> {
        let Some(outcome) = outcome else {
            return Ok(());
        };
        for (stream, line) in &outcome.output {
            sink.line(*stream, line);
        }
        if let Some(delay) = outcome.delay {
            match cancel {
                Some(cancel) => {
                    tokio::select! {
                        _ = cancel.cancelled() => return Err(EngineError::Cancelled),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                None => tokio::time::sleep(delay).await,
            }
        }
        match &outcome.error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn register_image(&self, reference: &str, id: String) {
        self.state()
            .images
            .entry(reference.to_string())
            .and_modify(|info| info.id = id.clone())
            .or_insert(ImageInfo {
                id,
                repo_digests: Vec::new(),
            });
    }
}

/// `sha256:<hex>` of `text`.
fn fake_digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for byte in hash {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Drains a tar stream; returns its bytes (when small enough to keep) and its size.
async fn drain(mut tar: TarStream) -> EngineResult<(Option<Vec<u8>>, u64)> {
    let mut kept = Some(Vec::new());
    let mut size = 0u64;
    while let Some(chunk) = tar.next().await {
        let chunk = chunk.map_err(|e| EngineError::Failed {
            operation: "read tar stream",
            subject: "fake engine".to_string(),
            message: e.to_string(),
        })?;
        size += chunk.len() as u64;
        if let Some(buf) = &mut kept {
            if buf.len() + chunk.len() > LIST_ENTRIES_UP_TO {
                kept = None;
            } else {
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok((kept, size))
}

fn entry_names(tar: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar);
    let Ok(entries) = archive.entries() else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let path = entry.path().ok()?;
            Some(path.to_string_lossy().into_owned())
        })
        .collect()
}

fn matches_label(labels: &BTreeMap<String, String>, key: &str, value: Option<&str>) -> bool {
    match (labels.get(key), value) {
        (Some(v), Some(want)) => v == want,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn remove_named(items: &mut Vec<(String, BTreeMap<String, String>)>, name: &str) {
    items.retain(|(n, _)| n != name);
}

impl Precreate for FakeEngine {
    async fn create_container(
        &self,
        spec: &ContainerSpec,
        gate: Option<&str>,
    ) -> EngineResult<Option<CreatedContainer>> {
        let mut state = self.state();
        state.calls.push(Call::CreateContainer(spec.clone()));
        let Some(image_id) = state.images.get(&spec.image).map(|i| i.id.clone()) else {
            return Ok(None);
        };
        let gated = gate.is_some() && super::gate::eligible(spec);
        if gated {
            state.calls.push(Call::StartGated {
                name: spec.name.clone(),
            });
        }
        remove_named(&mut state.containers, &spec.name);
        state
            .containers
            .push((spec.name.clone(), spec.labels.clone()));
        Ok(Some(CreatedContainer {
            id: format!("fake-created-{}", spec.name),
            image_id,
            gated,
        }))
    }

    async fn run_created(
        &self,
        spec: &ContainerSpec,
        _created: &CreatedContainer,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        self.run(spec, sink, cancel).await
    }
}

impl Engine for FakeEngine {
    async fn ping(&self) -> EngineResult<EngineInfo> {
        self.record(Call::Ping);
        let platform = self
            .state()
            .platform
            .clone()
            .unwrap_or_else(|| ("linux".to_owned(), "amd64".to_owned()));
        Ok(EngineInfo {
            version: "fake".to_string(),
            api_version: "1.41".to_string(),
            os: platform.0,
            arch: platform.1,
        })
    }

    async fn inspect_image(&self, image: &str) -> EngineResult<Option<ImageInfo>> {
        self.record(Call::InspectImage {
            image: image.to_string(),
        });
        Ok(self.state().images.get(image).cloned())
    }

    async fn pull(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> EngineResult<()> {
        self.record(Call::Pull {
            image: image.to_string(),
            auth_server: auth.map(|a| a.server.clone()),
        });
        let outcome = self.image_outcome(&[image.to_string()]);
        Self::play(outcome.as_ref(), sink.as_ref(), None).await?;
        let digest = fake_digest(image);
        let repo = crate::registry::reference::split_reference(image).repo;
        let mut state = self.state();
        let info = state
            .images
            .entry(image.to_string())
            .or_insert_with(|| ImageInfo {
                id: fake_digest(&format!("image:{image}")),
                repo_digests: Vec::new(),
            });
        let repo_digest = format!("{repo}@{digest}");
        if !info.repo_digests.contains(&repo_digest) {
            info.repo_digests.push(repo_digest);
        }
        Ok(())
    }

    async fn create_network(&self, spec: &NetworkSpec) -> EngineResult<()> {
        self.record(Call::CreateNetwork(spec.clone()));
        let mut state = self.state();
        remove_named(&mut state.networks, &spec.name);
        state
            .networks
            .push((spec.name.clone(), spec.labels.clone()));
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> EngineResult<()> {
        self.record(Call::RemoveNetwork {
            name: name.to_string(),
        });
        remove_named(&mut self.state().networks, name);
        Ok(())
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> EngineResult<()> {
        self.record(Call::CreateVolume {
            name: name.to_string(),
            labels: labels.clone(),
        });
        let mut state = self.state();
        remove_named(&mut state.volumes, name);
        state.volumes.push((name.to_string(), labels.clone()));
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        self.record(Call::RemoveVolume {
            name: name.to_string(),
        });
        remove_named(&mut self.state().volumes, name);
        Ok(())
    }

    async fn run(
        &self,
        spec: &ContainerSpec,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        self.record(Call::Run(spec.clone()));
        {
            let mut state = self.state();
            remove_named(&mut state.containers, &spec.name);
            state
                .containers
                .push((spec.name.clone(), spec.labels.clone()));
        }
        let outcome = self.container_outcome(spec);
        match Self::play(outcome.as_ref(), sink.as_ref(), Some(&cancel)).await {
            Ok(()) => Ok(ExitStatus {
                code: outcome.map_or(0, |o| o.exit_code),
            }),
            Err(EngineError::Cancelled) => {
                self.record(Call::Kill {
                    name: spec.name.clone(),
                });
                Err(EngineError::Cancelled)
            }
            Err(e) => Err(e),
        }
    }

    async fn start_detached(&self, spec: &ContainerSpec) -> EngineResult<String> {
        self.record(Call::StartDetached(spec.clone()));
        let outcome = self.container_outcome(spec);
        if let Some(error) = outcome.and_then(|o| o.error) {
            return Err(error);
        }
        let mut state = self.state();
        remove_named(&mut state.containers, &spec.name);
        state
            .containers
            .push((spec.name.clone(), spec.labels.clone()));
        state.detached += 1;
        Ok(format!("fake-container-{}", state.detached))
    }

    async fn run_shell(
        &self,
        request: &super::ShellRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        self.record(Call::Shell {
            script: request.script.clone(),
        });
        let outcome = self.outcome(|key| request.script.contains(key));
        Self::play(outcome.as_ref(), sink.as_ref(), Some(&cancel)).await?;
        Ok(ExitStatus {
            code: outcome.map_or(0, |o| o.exit_code),
        })
    }

    async fn put_remote_context(
        &self,
        volume: &str,
        path: &str,
        subject: &str,
        _fetch: super::ContextFetch,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<()> {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let shown = subject.to_owned();
        self.record(Call::FetchContext {
            source: shown.clone(),
            volume: volume.to_string(),
            path: path.to_string(),
        });
        let outcome = self.outcome(|key| shown.contains(key));
        Self::play(outcome.as_ref(), sink.as_ref(), Some(&cancel)).await
    }

    async fn remove_container(&self, name: &str) -> EngineResult<()> {
        let delay = self.state().removal_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.record(Call::RemoveContainer {
            name: name.to_string(),
        });
        remove_named(&mut self.state().containers, name);
        Ok(())
    }

    async fn put_into_volume(&self, volume: &str, path: &str, tar: TarStream) -> EngineResult<()> {
        let (kept, bytes) = drain(tar).await?;
        let entries = kept.as_deref().map(entry_names).unwrap_or_default();
        self.record(Call::PutIntoVolume {
            volume: volume.to_string(),
            path: path.to_string(),
            entries,
            bytes,
        });
        Ok(())
    }

    async fn get_from_volume(&self, volume: &str, path: &str) -> EngineResult<TarStream> {
        self.record(Call::GetFromVolume {
            volume: volume.to_string(),
            path: path.to_string(),
        });
        let tar = self
            .state()
            .volume_tars
            .get(&(volume.to_string(), path.to_string()))
            .cloned()
            // Two zero blocks: an empty tar archive.
            .unwrap_or_else(|| vec![0u8; 1024]);
        Ok(Box::pin(futures_util::stream::once(async move {
            Ok(bytes::Bytes::from(tar))
        })))
    }

    async fn build(
        &self,
        request: BuildRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<String> {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let BuildRequest {
            context,
            dockerfile,
            tags,
            build_args,
            target,
            no_cache,
            pull,
            labels,
            platform,
            network,
            cache_from,
            extra_hosts,
            auths,
            buildkit,
            resources,
            secrets,
        } = request;
        let (_, context_bytes) = drain(context).await?;
        let call = BuildCall {
            dockerfile,
            tags,
            build_args,
            target,
            no_cache,
            pull,
            labels,
            platform,
            network,
            cache_from,
            extra_hosts,
            auth_servers: auths.iter().map(|a| a.server.clone()).collect(),
            buildkit,
            secret_ids: secrets.iter().map(|s| s.id.clone()).collect(),
            resources: resources
                .query()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            context_bytes,
        };
        let id = fake_digest(&format!("build:{}", call.describe_key()));
        let tags = call.tags.clone();
        self.record(Call::Build(call));
        let outcome = self.image_outcome(&tags);
        Self::play(outcome.as_ref(), sink.as_ref(), Some(&cancel)).await?;
        for tag in &tags {
            self.register_image(tag, id.clone());
        }
        Ok(id)
    }

    async fn tag(&self, source: &str, target: &str) -> EngineResult<()> {
        self.record(Call::Tag {
            source: source.to_string(),
            target: target.to_string(),
        });
        let id = {
            let state = self.state();
            state
                .images
                .get(source)
                .map(|i| i.id.clone())
                .or_else(|| {
                    // A source given by id.
                    state
                        .images
                        .values()
                        .find(|i| i.id == source)
                        .map(|i| i.id.clone())
                })
                .unwrap_or_else(|| fake_digest(&format!("image:{source}")))
        };
        self.register_image(target, id);
        Ok(())
    }

    async fn push(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> EngineResult<String> {
        self.record(Call::Push {
            image: image.to_string(),
            auth_server: auth.map(|a| a.server.clone()),
        });
        let outcome = self.image_outcome(&[image.to_string()]);
        Self::play(outcome.as_ref(), sink.as_ref(), None).await?;
        let digest = fake_digest(image);
        let parts = crate::registry::reference::split_reference(image);
        let repo_digest = format!("{}@{digest}", parts.repo);
        let mut state = self.state();
        let info = state
            .images
            .entry(image.to_string())
            .or_insert_with(|| ImageInfo {
                id: fake_digest(&format!("image:{image}")),
                repo_digests: Vec::new(),
            });
        if !info.repo_digests.contains(&repo_digest) {
            info.repo_digests.push(repo_digest);
        }
        Ok(digest)
    }

    async fn list_labelled(&self, key: &str, value: Option<&str>) -> EngineResult<Labelled> {
        self.record(Call::ListLabelled {
            key: key.to_string(),
            value: value.map(str::to_string),
        });
        let state = self.state();
        let pick = |items: &[(String, BTreeMap<String, String>)]| {
            let mut names: Vec<String> = items
                .iter()
                .filter(|(_, labels)| matches_label(labels, key, value))
                .map(|(name, _)| name.clone())
                .collect();
            names.sort();
            names
        };
        Ok(Labelled {
            containers: pick(&state.containers),
            networks: pick(&state.networks),
            volumes: pick(&state.volumes),
        })
    }
}

impl BuildCall {
    /// What makes two builds the same image in the fake (everything but the context size).
    fn describe_key(&self) -> String {
        format!(
            "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.dockerfile, self.tags, self.build_args, self.target, self.labels, self.platform
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NullSink;
    use std::sync::Mutex as StdMutex;

    #[derive(Default)]
    struct Collect(StdMutex<Vec<(LogStream, String)>>);

    impl LogSink for Collect {
        fn line(&self, stream: LogStream, line: &str) {
            self.0.lock().unwrap().push((stream, line.to_string()));
        }
    }

    fn spec(name: &str, alias: &str) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            image: "img:1".into(),
            cmd: vec!["sh".into(), "-c".into(), "echo hi there".into()],
            env: vec!["A=1".into()],
            network: Some("net".into()),
            network_aliases: vec![alias.into()],
            mounts: vec![Mount::Volume {
                name: "ws".into(),
                target: "/workspace".into(),
            }],
            ..Default::default()
        }
    }

    fn empty_context() -> TarStream {
        Box::pin(futures_util::stream::once(async {
            Ok(bytes::Bytes::from(vec![0u8; 1024]))
        }))
    }

    fn build_request(tags: &[&str]) -> BuildRequest {
        BuildRequest {
            context: empty_context(),
            dockerfile: "Dockerfile".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            build_args: BTreeMap::from([("V".to_string(), "1".to_string())]),
            target: None,
            no_cache: false,
            pull: false,
            labels: BTreeMap::new(),
            platform: None,
            network: None,
            cache_from: vec![],
            extra_hosts: vec![],
            auths: vec![],
            resources: Default::default(),
            buildkit: false,
            secrets: Vec::new(),
        }
    }

    #[tokio::test]
    async fn default_success_and_transcript() {
        let fake = FakeEngine::new();
        let status = fake
            .run(
                &spec("run1-build", "build"),
                Arc::new(NullSink),
                CancellationToken::new(),
            )
            .await
            .unwrap();
        assert!(status.success());
        let id = fake
            .build(
                build_request(&["localhost:5000/app:1", "app:latest"]),
                Arc::new(NullSink),
                CancellationToken::new(),
            )
            .await
            .unwrap();
        assert!(id.starts_with("sha256:"));
        let digest = fake
            .push("localhost:5000/app:1", None, Arc::new(NullSink))
            .await
            .unwrap();
        assert_eq!(digest, fake_digest("localhost:5000/app:1"));
        let info = fake.inspect_image("app:latest").await.unwrap().unwrap();
        assert_eq!(info.id, id);
        let pushed = fake
            .inspect_image("localhost:5000/app:1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            pushed.repo_digests,
            vec![format!("localhost:5000/app@{digest}")]
        );
        assert_eq!(fake.inspect_image("nope").await.unwrap(), None);
        assert_eq!(
            fake.transcript(),
            vec![
                "run name=run1-build image=img:1 cmd=[sh, -c, \"echo hi there\"] env=[A=1] \
                 network=net aliases=[build] mounts=[ws:/workspace]",
                "build tags=[localhost:5000/app:1, app:latest] dockerfile=Dockerfile \
                 build_args=[V=1] context_bytes=1024",
                "push localhost:5000/app:1",
                "inspect_image app:latest",
                "inspect_image localhost:5000/app:1",
                "inspect_image nope",
            ]
        );
    }

    #[tokio::test]
    async fn scripted_outcomes() {
        let fake = FakeEngine::new();
        fake.script("test", Outcome::exit(3).stdout("out").stderr("err"));
        fake.script(
            "bad/",
            Outcome::fail(EngineError::Unauthorized {
                registry: "r".into(),
                image: "bad/x".into(),
                message: "no".into(),
            }),
        );
        let sink = Arc::new(Collect::default());
        let status = fake
            .run(
                &spec("run1-step-x", "test"),
                sink.clone(),
                CancellationToken::new(),
            )
            .await
            .unwrap();
        assert_eq!(status.code, 3);
        assert_eq!(
            *sink.0.lock().unwrap(),
            vec![
                (LogStream::Stdout, "out".to_string()),
                (LogStream::Stderr, "err".to_string())
            ]
        );
        let err = fake
            .push("bad/x:1", None, Arc::new(NullSink))
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Unauthorized { .. }));
    }

    #[tokio::test]
    async fn delay_honours_cancel() {
        let fake = FakeEngine::new();
        fake.script("slow", Outcome::default().delayed(Duration::from_secs(30)));
        let cancel = CancellationToken::new();
        let canceller = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            canceller.cancel();
        });
        let err = fake
            .run(&spec("slow-1", "slow"), Arc::new(NullSink), cancel)
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Cancelled));
        assert_eq!(fake.transcript().last().unwrap(), "kill slow-1");
    }

    #[tokio::test]
    async fn labelled_resources() {
        let fake = FakeEngine::new();
        let labels = BTreeMap::from([("io.taskrun.run".to_string(), "r1".to_string())]);
        fake.create_volume("v1", &labels).await.unwrap();
        fake.create_network(&NetworkSpec {
            name: "n1".into(),
            labels: labels.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut s = spec("c1", "c");
        s.labels = labels.clone();
        fake.start_detached(&s).await.unwrap();
        let found = fake
            .list_labelled("io.taskrun.run", Some("r1"))
            .await
            .unwrap();
        assert_eq!(found.containers, vec!["c1"]);
        assert_eq!(found.networks, vec!["n1"]);
        assert_eq!(found.volumes, vec!["v1"]);
        assert_eq!(
            fake.list_labelled("io.taskrun.run", Some("r2"))
                .await
                .unwrap(),
            Labelled::default()
        );
        fake.remove_container("c1").await.unwrap();
        assert!(
            fake.list_labelled("io.taskrun.run", None)
                .await
                .unwrap()
                .containers
                .is_empty()
        );
    }

    #[tokio::test]
    async fn put_lists_entries() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "a.txt", &b"hi"[..])
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        let fake = FakeEngine::new();
        let stream: TarStream = Box::pin(futures_util::stream::once(async move {
            Ok(bytes::Bytes::from(bytes))
        }));
        fake.put_into_volume("ws", "", stream).await.unwrap();
        match &fake.calls()[0] {
            Call::PutIntoVolume { entries, .. } => assert_eq!(entries, &vec!["a.txt".to_string()]),
            other => panic!("{other:?}"),
        }
        assert!(fake.transcript()[0].starts_with("put_into_volume ws:/ entries=1 bytes="));
    }
}
