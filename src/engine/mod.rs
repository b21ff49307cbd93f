//! The container engine seam: taskrun's own request types and the [`Engine`] trait.
//!
//! `exec` drives steps through this trait only. Two implementations exist: [`docker`] (bollard,
//! a real Docker engine, local or remote through `DOCKER_HOST`) and [`fake`] (records every call
//! and returns scripted outcomes; used by unit tests and by `--dry-run`). No bollard type crosses
//! this boundary, and no shell is ever used to build an engine call.

pub mod ahead;
pub mod buildkit;
pub mod docker;
pub mod fake;
pub mod gate;
pub mod grpc;
pub mod names;
mod protobuf;
pub mod proxy;
pub mod session;
pub mod shell;
pub mod tarball;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;

pub use shell::ShellRequest;
use tokio_util::sync::CancellationToken;

/// The label every resource taskrun creates carries; its value is the run's unique key.
pub const RUN_LABEL: &str = "io.taskrun.run";
/// The label holding the pid of the taskrun process that created a resource.
pub const PID_LABEL: &str = "io.taskrun.pid";

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output (or engine progress for builds, pulls and pushes).
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives output lines as they arrive. Lines have no trailing newline.
pub trait LogSink: Send + Sync {
    /// One line of output.
    fn line(&self, stream: LogStream, line: &str);
}

/// A sink that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl LogSink for NullSink {
    fn line(&self, _: LogStream, _: &str) {}
}

/// Registry credentials for one registry host.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    /// Registry host as used in image references (`localhost:5000`, `myreg.azurecr.io`).
    pub server: String,
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// A mount into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A named volume.
    Volume {
        /// Volume name.
        name: String,
        /// Path in the container.
        target: String,
    },
    /// A host path (only the engine socket; step workspaces are volumes so remote engines work).
    Bind {
        /// Host path.
        source: String,
        /// Path in the container.
        target: String,
    },
}

/// Everything needed to create one container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    /// Container name (unique per run).
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Entrypoint override (`None` keeps the image's).
    pub entrypoint: Option<Vec<String>>,
    /// Command arguments (`None`/empty keeps the image's CMD).
    pub cmd: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    /// Working directory (`None` keeps the image's).
    pub working_dir: Option<String>,
    /// User.
    pub user: Option<String>,
    /// Privileged mode.
    pub privileged: bool,
    /// Network to join (a run network, a task network, `host`, `none`, `bridge`).
    pub network: Option<String>,
    /// DNS aliases on that network (the step id).
    pub network_aliases: Vec<String>,
    /// Mounts.
    pub mounts: Vec<Mount>,
    /// Published ports in docker's `-p` syntax (`8080:80`, `127.0.0.1:8080:80/tcp`, `80`).
    pub publish: Vec<crate::model::ports::PublishedPort>,
    /// Exposed ports (`80`, `80/udp`).
    pub expose: Vec<String>,
    /// Extra `/etc/hosts` entries (`host:ip`).
    pub extra_hosts: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub interactive: bool,
    /// CPU limit (`--cpus`).
    pub cpus: Option<f64>,
    /// Memory limit in bytes.
    pub memory: Option<i64>,
    /// Hostname.
    pub hostname: Option<String>,
    /// Run an init process.
    pub init: bool,
    /// Added capabilities.
    pub cap_add: Vec<String>,
    /// Dropped capabilities.
    pub cap_drop: Vec<String>,
    /// Security options.
    pub security_opt: Vec<String>,
    /// Platform (`linux/amd64`), when the image must be pulled for another platform.
    pub platform: Option<String>,
    /// Every other engine option of a `cmd` line's `docker run` flags (`--mount`, `--shm-size`,
    /// `--ulimit`, `--ipc`, `-P`, `--gpus`, …), already parsed and checked by `validate`.
    pub options: crate::model::runopts::ContainerOptions,
}

/// How a container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code (137 when killed).
    pub code: i64,
}

impl ExitStatus {
    /// Exit code 0.
    pub fn success(self) -> bool {
        self.code == 0
    }
}

/// A stream of tar bytes (a build context or files for a volume).
pub type TarStream = Pin<Box<dyn Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;

/// Why a [`ContextFetch`] failed: the reason, for the step, credentials already masked (the
/// step names the context itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ContextFetchError {
    /// What went wrong (masked).
    pub reason: String,
}

/// Fetches a remote build context and returns its files as a tar (see
/// [`Engine::put_remote_context`]): given where progress lines go and the step's cancellation.
pub type ContextFetch = Box<
    dyn FnOnce(
            Arc<dyn LogSink>,
            CancellationToken,
        )
            -> Pin<Box<dyn Future<Output = Result<TarStream, ContextFetchError>> + Send>>
        + Send,
>;

/// The work of [`Engine::expect_container`], to be awaited (or spawned).
pub type Expected = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An image build.
pub struct BuildRequest {
    /// The context as a tar stream (already filtered by `.dockerignore`).
    pub context: TarStream,
    /// Path of the Dockerfile inside the context tar.
    pub dockerfile: String,
    /// Tags (classic builder: the first is given to the build, the rest are added with `tag`;
    /// BuildKit: all are given to the build).
    pub tags: Vec<String>,
    /// Build arguments (`None` value: taken from taskrun's environment by the caller, or unset).
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
    /// Network for RUN instructions.
    pub network: Option<String>,
    /// Images to use as cache sources.
    pub cache_from: Vec<String>,
    /// Extra hosts for RUN instructions.
    pub extra_hosts: Vec<String>,
    /// Credentials for pulling base images.
    pub auths: Vec<RegistryAuth>,
    /// Build with the engine's BuildKit (`DOCKER_BUILDKIT=1`, or `cache: enabled`) instead of
    /// the classic builder; see [`buildkit`].
    pub buildkit: bool,
    /// The flags for the build's `RUN` containers (`--memory`, `--ulimit`, …) and `--squash`,
    /// sent in the build query as the docker CLI sends them; the engine decides.
    pub resources: crate::model::buildresources::BuildResources,
    /// Build secrets (`--secret`), served to BuildKit through a session ([`session`]).
    pub secrets: Vec<BuildSecret>,
}

/// A build secret: its id and value (never shown by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct BuildSecret {
    /// The id a `RUN --mount=type=secret,id=…` names.
    pub id: String,
    /// The value.
    pub value: Vec<u8>,
}

impl fmt::Debug for BuildSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildSecret")
            .field("id", &self.id)
            .field("value", &"***")
            .finish()
    }
}

impl fmt::Debug for BuildRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildRequest")
            .field("dockerfile", &self.dockerfile)
            .field("tags", &self.tags)
            .field("build_args", &self.build_args.keys().collect::<Vec<_>>())
            .field("target", &self.target)
            .field("no_cache", &self.no_cache)
            .field("pull", &self.pull)
            .field("labels", &self.labels)
            .field("platform", &self.platform)
            .field("network", &self.network)
            .field("cache_from", &self.cache_from)
            .field("extra_hosts", &self.extra_hosts)
            .field("buildkit", &self.buildkit)
            .field("resources", &self.resources)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

/// What the engine knows of a local image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Image id (`sha256:…`).
    pub id: String,
    /// `repo@sha256:…` entries (empty for images never pushed or pulled).
    pub repo_digests: Vec<String>,
}

/// A network to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Name.
    pub name: String,
    /// Driver (`bridge` when `None`).
    pub driver: Option<String>,
    /// IPv6.
    pub ipv6: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// Resources carrying a given label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labelled {
    /// Container names.
    pub containers: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
    /// Volume names.
    pub volumes: Vec<String>,
}

/// What the engine says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// Server version.
    pub version: String,
    /// API version.
    pub api_version: String,
    /// `linux`.
    pub os: String,
    /// Go architecture name.
    pub arch: String,
}

/// An engine operation that failed, naming the operation and its subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The engine cannot be reached at all.
    #[error("cannot reach the Docker engine at {endpoint}: {message}")]
    Unreachable {
        /// `DOCKER_HOST` or the socket path.
        endpoint: String,
        /// What went wrong.
        message: String,
    },
    /// An image is not present locally and could not be pulled.
    #[error("image `{image}` not found: {message}")]
    ImageNotFound {
        /// The image.
        image: String,
        /// The engine's message.
        message: String,
    },
    /// The registry refused the credentials (or asked for some and got none).
    #[error(
        "authentication failed: registry `{registry}` refused the credentials for `{image}`: {message}"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The image.
        image: String,
        /// The registry's message (never includes the credentials).
        message: String,
    },
    /// Any other failed operation.
    #[error("{operation} `{subject}` failed: {message}")]
    Failed {
        /// What was attempted (`create container`, `build image`, `push`, …).
        operation: &'static str,
        /// On what (container name, image, network, volume).
        subject: String,
        /// The engine's message.
        message: String,
    },
    /// The operation was cancelled (step timeout, first failure, Ctrl-C).
    #[error("cancelled")]
    Cancelled,
}

impl EngineError {
    /// Whether the error means the engine itself is gone (exit code 3).
    pub fn is_environment(&self) -> bool {
        matches!(self, EngineError::Unreachable { .. })
    }
}

/// The result type of engine calls.
pub type EngineResult<T> = Result<T, EngineError>;

/// A container engine. Implementations are cheap to clone and shareable across tasks; every
/// method is cancel-safe in the sense that dropping its future leaves at most a resource that the
/// run's cleanup removes by label.
pub trait Engine: Clone + Send + Sync + 'static {
    /// Checks the engine is reachable.
    fn ping(&self) -> impl Future<Output = EngineResult<EngineInfo>> + Send;

    /// Local image details, `None` when the image is not present.
    fn inspect_image(
        &self,
        image: &str,
    ) -> impl Future<Output = EngineResult<Option<ImageInfo>>> + Send;

    /// Pulls an image (all of its layers), reporting progress lines to `sink`.
    fn pull(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> impl Future<Output = EngineResult<()>> + Send;

    /// Creates a network.
    fn create_network(&self, spec: &NetworkSpec) -> impl Future<Output = EngineResult<()>> + Send;

    /// Removes a network (missing is not an error).
    fn remove_network(&self, name: &str) -> impl Future<Output = EngineResult<()>> + Send;

    /// Creates a named volume.
    fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = EngineResult<()>> + Send;

    /// Removes a volume (missing is not an error).
    fn remove_volume(&self, name: &str) -> impl Future<Output = EngineResult<()>> + Send;

    /// Creates and starts a container, streams its output to `sink` until it exits, and returns
    /// its exit status. When `cancel` fires, the container is killed and `Cancelled` returned.
    /// The container is not removed (the caller decides, per `keep`).
    fn run(
        &self,
        spec: &ContainerSpec,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<ExitStatus>> + Send;

    /// A hint: a container of `spec` will be [`run`](Engine::run) soon, with this same spec.
    /// An engine may make it ready ([`ahead::StartAhead`] creates it, and starts it held at the
    /// gate). The call takes note at once, so a `run` of that container from then on waits for
    /// it; the work is done when the returned future is awaited (it owns what it needs, so it
    /// can be spawned). The default does nothing.
    fn expect_container(&self, spec: &ContainerSpec) -> Expected {
        let _ = spec;
        Box::pin(async {})
    }

    /// Creates and starts a container without waiting for it (`detach`); returns its id.
    fn start_detached(
        &self,
        spec: &ContainerSpec,
    ) -> impl Future<Output = EngineResult<String>> + Send;

    /// Kills (if running) and removes a container and its anonymous volumes (missing is not an
    /// error).
    fn remove_container(&self, name: &str) -> impl Future<Output = EngineResult<()>> + Send;

    /// Extracts a tar stream into a volume under `path` (relative to the volume root). Works on
    /// remote engines: the files go through the engine API, into a created-but-never-started
    /// helper container from a tiny `FROM scratch` image the implementation builds itself.
    fn put_into_volume(
        &self,
        volume: &str,
        path: &str,
        tar: TarStream,
    ) -> impl Future<Output = EngineResult<()>> + Send;

    /// Reads `path` (relative to the volume root) from a volume as a tar stream, the way
    /// `docker cp` does (for build contexts written by earlier steps).
    fn get_from_volume(
        &self,
        volume: &str,
        path: &str,
    ) -> impl Future<Output = EngineResult<TarStream>> + Send;

    /// Builds an image; returns its id. Output goes to `sink`.
    fn build(
        &self,
        request: BuildRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<String>> + Send;

    /// Adds tag `target` (full reference) to image `source`.
    fn tag(&self, source: &str, target: &str) -> impl Future<Output = EngineResult<()>> + Send;

    /// Pushes an image; returns the pushed manifest digest (`sha256:…`).
    fn push(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> impl Future<Output = EngineResult<String>> + Send;

    /// Runs a `cmd` line through the agent's shell (see [`shell`]): `/bin/sh -c` with the real
    /// docker CLI, for lines that need the host shell acb runs them in.
    fn run_shell(
        &self,
        request: &ShellRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<ExitStatus>> + Send;

    /// Fetches a remote build context with `fetch` (made by [`crate::context::remote`]: git,
    /// tarball URL, OCI artifact) on this machine and puts its files into `volume` under `path`,
    /// as acb's scanner downloads it into `<workdir>/<stepID>`. Progress lines go to `sink`;
    /// `subject` names the context (masked) in errors. The fake engine records the fetch and
    /// never calls `fetch`, so `--dry-run` fetches nothing.
    fn put_remote_context(
        &self,
        volume: &str,
        path: &str,
        subject: &str,
        fetch: ContextFetch,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<()>> + Send {
        async move {
            let tar = match fetch(sink, cancel.clone()).await {
                Ok(tar) => tar,
                Err(_) if cancel.is_cancelled() => return Err(EngineError::Cancelled),
                Err(ContextFetchError { reason }) => {
                    return Err(EngineError::Failed {
                        operation: "fetch the build context",
                        subject: subject.to_owned(),
                        message: reason,
                    });
                }
            };
            self.put_into_volume(volume, path, tar).await
        }
    }

    /// The engine's socket on this host, when the engine is local (a `unix://` endpoint): steps
    /// then reach it through the run's [`proxy`]. `None` for remote engines and the fake.
    fn local_socket(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// The host name of the engine's machine (`docker info`'s `Name`), when it can be asked.
    fn host_name(&self) -> impl Future<Output = Option<String>> + Send {
        async { None }
    }

    /// The `DOCKER_HOST` (and TLS) variables a docker CLI on this host uses to reach this
    /// engine directly.
    fn cli_environment(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Containers, networks and volumes carrying label `key=value` (or just `key` when `value`
    /// is `None`).
    fn list_labelled(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> impl Future<Output = EngineResult<Labelled>> + Send;
}
