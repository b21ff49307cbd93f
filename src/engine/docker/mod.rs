//! [`DockerEngine`]: the [`Engine`] over a real Docker engine, through bollard 0.21.
//!
//! The engine is found the way the docker CLI finds it: `DOCKER_HOST` (`unix://`, `tcp://`,
//! `http://`, `https://`; TLS when `DOCKER_TLS_VERIFY` is set, with `key.pem`/`cert.pem`/`ca.pem`
//! from `DOCKER_CERT_PATH`), else `unix:///var/run/docker.sock`. Docker contexts are not read.
//!
//! Notes on behaviour worth knowing:
//!
//! * bollard 0.21 never sends the `/vX.Y` API prefix (bollard#736), so requests use the daemon's
//!   default API version; `negotiate_version()` is still called at connect time (correct once
//!   bollard sends the prefix).
//! * The client timeout (time until response *headers*) is one hour: uploading a large build
//!   context or volume content only gets its response once the daemon consumed the whole body.
//!   Step timeouts and Ctrl-C are enforced by the caller through cancellation tokens.
//! * `run` falls back to an anonymous pull and retries the create once when the image is missing
//!   locally (`docker run` does the same); callers that need credentials pull first.
//! * Builds use the classic builder (no `buildkit` feature), which takes one tag per build
//!   (bollard#388) and one extra host per build (the API takes both as repeated query
//!   parameters, bollard serialises a single value); further tags are added with `tag_image`,
//!   more than one extra host is refused with a clear error. A request with `buildkit` set goes
//!   to the engine's BuildKit instead ([`super::buildkit`]: every tag and extra host in one call).
//! * Volume content moves through the engine API (no host bind mounts, so remote engines work):
//!   a container is created (never started) from a tiny `FROM scratch` helper image with the
//!   volume at `/v`, files are put into or read from it with the archive API, and the container
//!   is removed again. Helper containers carry `io.taskrun.helper=1` plus the volume's own labels,
//!   so a run's cleanup by label also finds helpers a crash left behind.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::container::{AttachContainerResults, LogOutput};
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, EndpointIpamConfig, EndpointSettings,
    HealthConfig, HostConfig, HostConfigCgroupnsModeEnum, HostConfigIsolationEnum,
    HostConfigLogConfig, Mount as BollardMount, MountBindOptions, MountBindOptionsPropagationEnum,
    MountTmpfsOptions, MountType, MountVolumeOptions, MountVolumeOptionsDriverConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding, ResourcesBlkioWeightDevice,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum, ThrottleDevice, VolumeCreateRequest,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, BuildImageOptionsBuilder, CreateContainerOptionsBuilder,
    CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    PushImageOptionsBuilder, RemoveContainerOptionsBuilder, TagImageOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::ahead::{CreatedContainer, Precreate};
use super::gate;
use super::tarball::{directory_tar, single_file_tar};
use super::{
    BuildRequest, ContainerSpec, Engine, EngineError, EngineInfo, EngineResult, ExitStatus,
    ImageInfo, Labelled, LogSink, LogStream, Mount, NetworkSpec, RegistryAuth, TarStream,
};
use crate::model::runopts::{ContainerOptions, Health, MountKind, MountSpec, Restart};

/// The endpoint used when `DOCKER_HOST` is not set.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// The helper image used to move files into and out of volumes.
pub const HELPER_IMAGE: &str = "taskrun-helper:1";
/// The label carried by the helper image and every helper container.
pub const HELPER_LABEL: &str = "io.taskrun.helper";

/// Time allowed until a response's headers arrive (see the module docs).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3600);
/// Time allowed for the first contact with the engine.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Where helper containers mount the volume.
const HELPER_MOUNT: &str = "/v";

/// The engine endpoint taskrun talks to: `DOCKER_HOST` when set, else the default socket.
pub fn endpoint_description() -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.trim().is_empty() => host,
        _ => DEFAULT_ENDPOINT.to_string(),
    }
}

/// A Docker engine reached through bollard. Cheap to clone; clones share the connection pool and
/// the helper-image state.
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: Arc<str>,
    helper: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for DockerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerEngine")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl DockerEngine {
    /// Connects to the engine named by `DOCKER_HOST` (or the default socket) and negotiates the
    /// API version. Any failure is [`EngineError::Unreachable`] with a message saying what to do.
    pub async fn connect() -> EngineResult<Self> {
        let endpoint = endpoint_description();
        // `connect_with_defaults` with an empty `DOCKER_HOST` treated as unset, like the CLI.
        let docker = Docker::connect_with_host(&endpoint)
            .map_err(|e| unreachable_error(&endpoint, &e))?
            .with_timeout(CLIENT_TIMEOUT);
        let docker = match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(docker)) => docker,
            Ok(Err(e)) => return Err(unreachable_error(&endpoint, &e)),
            Err(_) => {
                return Err(EngineError::Unreachable {
                    endpoint,
                    message: format!(
                        "no answer within {}s; check that dockerd is running and that \
                         DOCKER_HOST points at it",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                });
            }
        };
        Ok(Self {
            docker,
            endpoint: endpoint.into(),
            helper: Arc::new(OnceCell::new()),
        })
    }

    /// The endpoint this engine was connected to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Maps a bollard error for an operation on `subject`.
    fn err(&self, operation: &'static str, subject: &str, e: BollardError) -> EngineError {
        if is_connection_error(&e) {
            return unreachable_error(&self.endpoint, &e);
        }
        EngineError::Failed {
            operation,
            subject: subject.to_string(),
            message: error_message(&e),
        }
    }

    /// Maps a bollard error for an operation on an image: 404 is `ImageNotFound`, refused
    /// credentials are `Unauthorized`.
    fn image_err(
        &self,
        operation: &'static str,
        image: &str,
        e: BollardError,
        auth: Option<&RegistryAuth>,
    ) -> EngineError {
        if is_connection_error(&e) {
            return unreachable_error(&self.endpoint, &e);
        }
        let message = scrub(&error_message(&e), auth);
        let status = status_code(&e);
        if status == Some(401) || is_auth_message(&message) {
            return EngineError::Unauthorized {
                registry: registry_host(&split_reference(image).repo),
                image: image.to_string(),
                message,
            };
        }
        if status == Some(404) || is_not_found_message(&message) {
            return EngineError::ImageNotFound {
                image: image.to_string(),
                message,
            };
        }
        EngineError::Failed {
            operation,
            subject: image.to_string(),
            message,
        }
    }

    /// Creates a container for `spec`; on a missing image, pulls it anonymously and retries once.
    async fn create(&self, spec: &ContainerSpec, sink: &Arc<dyn LogSink>) -> EngineResult<String> {
        let body = container_body(spec)?;
        let mut options = CreateContainerOptionsBuilder::new().name(&spec.name);
        if let Some(platform) = &spec.platform {
            options = options.platform(platform);
        }
        let options = options.build();
        match self
            .docker
            .create_container(Some(options.clone()), body.clone())
            .await
        {
            Ok(created) => Ok(created.id),
            Err(e) if is_missing_image(&e) => {
                sink.line(
                    LogStream::Stderr,
                    &format!("Unable to find image '{}' locally", spec.image),
                );
                self.pull_inner(
                    &spec.image,
                    None,
                    spec.platform.as_deref(),
                    sink.as_ref(),
                    LogStream::Stderr,
                )
                .await?;
                self.docker
                    .create_container(Some(options), body)
                    .await
                    .map(|created| created.id)
                    .map_err(|e| self.create_err(spec, e))
            }
            Err(e) => Err(self.create_err(spec, e)),
        }
    }

    fn create_err(&self, spec: &ContainerSpec, e: BollardError) -> EngineError {
        if is_missing_image(&e) {
            return self.image_err("create container", &spec.image, e, None);
        }
        self.err("create container", &spec.name, e)
    }

    /// Creates and starts a container.
    async fn create_and_start(
        &self,
        spec: &ContainerSpec,
        sink: &Arc<dyn LogSink>,
    ) -> EngineResult<String> {
        let id = self.create(spec, sink).await?;
        self.docker
            .start_container(&id, None)
            .await
            .map_err(|e| self.err("start container", &spec.name, e))?;
        Ok(id)
    }

    /// `run` and `run_created`: creates the container unless `existing` names one made by
    /// `create_container`, then attaches, starts it (or, when it is `gated`, releases it from
    /// the gate: see [`gate`]), streams its output and waits for it.
    async fn run_container(
        &self,
        spec: &ContainerSpec,
        existing: Option<&CreatedContainer>,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let gated = existing.is_some_and(|c| c.gated);
        let work = async {
            let id = match existing {
                Some(created) => created.id.clone(),
                None => self.create(spec, &sink).await?,
            };
            // Attach before starting (as `docker run` does): the follow-logs endpoint can miss
            // the last partial line of a container that exits quickly (seen on Engine 20.10).
            let attached = self
                .docker
                .attach_container(
                    &id,
                    Some(
                        AttachContainerOptionsBuilder::new()
                            .stream(true)
                            .stdin(gated)
                            .stdout(true)
                            .stderr(true)
                            .build(),
                    ),
                )
                .await
                .map_err(|e| self.err("attach to container", &spec.name, e))?;
            let AttachContainerResults { output, mut input } = attached;
            if gated {
                // The byte the gate waits for.
                let released = async {
                    input.write_all(b"\n").await?;
                    input.flush().await
                };
                released.await.map_err(|e| EngineError::Failed {
                    operation: "start container",
                    subject: spec.name.clone(),
                    message: format!("releasing the container from the gate: {e}"),
                })?;
            } else {
                self.docker
                    .start_container(&id, None)
                    .await
                    .map_err(|e| self.err("start container", &spec.name, e))?;
            }
            let wait = self.docker.wait_container(
                &id,
                Some(
                    WaitContainerOptionsBuilder::new()
                        .condition("not-running")
                        .build(),
                ),
            );
            let (logged, exit) = tokio::join!(drain_logs(output, sink.as_ref()), first_exit(wait));
            drop(input);
            let code = exit.map_err(|e| self.err("wait for container", &spec.name, e))?;
            logged.map_err(|e| self.err("read output of container", &spec.name, e))?;
            Ok(ExitStatus { code })
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                self.kill_quietly(&spec.name).await;
                Err(EngineError::Cancelled)
            }
            result = work => result,
        }
    }

    /// Kills a container, ignoring "not running" and "no such container".
    async fn kill_quietly(&self, name: &str) {
        let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        let _ = self.docker.kill_container(name, Some(options)).await;
    }

    /// Pulls `image`, reporting progress lines as `stream`.
    async fn pull_inner(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        platform: Option<&str>,
        sink: &dyn LogSink,
        stream: LogStream,
    ) -> EngineResult<()> {
        let parts = split_reference(image);
        let tag = parts
            .digest
            .clone()
            .or(parts.tag.clone())
            .unwrap_or_else(|| "latest".to_string());
        let mut options = CreateImageOptionsBuilder::new()
            .from_image(&parts.repo)
            .tag(&tag);
        if let Some(platform) = platform {
            options = options.platform(platform);
        }
        let mut progress =
            self.docker
                .create_image(Some(options.build()), None, Some(credentials(auth)));
        while let Some(item) = progress.next().await {
            let info = item.map_err(|e| self.image_err("pull", image, e, auth))?;
            if let Some(status) = info.status.as_deref()
                && is_interesting_status(status, info.progress_detail.as_ref())
            {
                let line = match info.id.as_deref() {
                    Some(id) if !id.is_empty() => format!("{id}: {status}"),
                    _ => status.to_string(),
                };
                sink.line(stream, &line);
            }
        }
        Ok(())
    }

    /// Makes sure the helper image exists (built at most once per process).
    async fn ensure_helper(&self) -> EngineResult<()> {
        self.helper
            .get_or_try_init(|| async {
                match self.docker.inspect_image(HELPER_IMAGE).await {
                    Ok(_) => Ok(()),
                    Err(e) if status_code(&e) == Some(404) => self.build_helper().await,
                    Err(e) => Err(self.err("inspect image", HELPER_IMAGE, e)),
                }
            })
            .await
            .map(|_| ())
    }

    /// Builds the helper image from an in-memory context.
    async fn build_helper(&self) -> EngineResult<()> {
        let dockerfile =
            format!("FROM scratch\nLABEL {HELPER_LABEL}=1\nCMD [\"/taskrun-helper\"]\n");
        let context = single_file_tar("Dockerfile", dockerfile.as_bytes()).map_err(|e| {
            EngineError::Failed {
                operation: "build helper image",
                subject: HELPER_IMAGE.to_string(),
                message: e.to_string(),
            }
        })?;
        let options = BuildImageOptionsBuilder::new()
            .dockerfile("Dockerfile")
            .t(HELPER_IMAGE)
            .rm(true)
            .forcerm(true)
            .build();
        let mut output =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context.into())));
        while let Some(item) = output.next().await {
            item.map_err(|e| self.err("build helper image", HELPER_IMAGE, e))?;
        }
        Ok(())
    }

    /// Creates (never starts) a helper container with `volume` at `/v`; returns its id.
    async fn create_helper(&self, volume: &str) -> EngineResult<String> {
        self.ensure_helper().await?;
        let mut labels = match self.docker.inspect_volume(volume).await {
            Ok(v) => v.labels,
            Err(e) if status_code(&e) == Some(404) => {
                return Err(EngineError::Failed {
                    operation: "open volume",
                    subject: volume.to_string(),
                    message: "no such volume".to_string(),
                });
            }
            Err(e) => return Err(self.err("inspect volume", volume, e)),
        };
        labels.insert(HELPER_LABEL.to_string(), "1".to_string());
        let body = ContainerCreateBody {
            image: Some(HELPER_IMAGE.to_string()),
            labels: Some(labels),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(vec![BollardMount {
                    typ: Some(MountType::VOLUME),
                    source: Some(volume.to_string()),
                    target: Some(HELPER_MOUNT.to_string()),
                    ..Default::default()
                }]),
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        // Named after the volume (`<volume>-helper-<pid>-<n>`): a run killed mid-copy leaves a
        // helper that the next run recognises by name as a leftover of the dead run (see
        // `exec::setup::remove_leftovers`). With a random name it was never removed, and the
        // volume it holds could then never be removed either ("volume is in use").
        let options = CreateContainerOptionsBuilder::new()
            .name(&helper_name(volume))
            .build();
        let created = match self
            .docker
            .create_container(Some(options.clone()), body.clone())
            .await
        {
            Ok(created) => created,
            // The helper image vanished since this process checked (an image prune): rebuild.
            Err(e) if is_missing_image(&e) => {
                self.build_helper().await?;
                self.docker
                    .create_container(Some(options), body)
                    .await
                    .map_err(|e| self.err("create helper container for volume", volume, e))?
            }
            Err(e) => return Err(self.err("create helper container for volume", volume, e)),
        };
        Ok(created.id)
    }

    async fn remove_helper(&self, id: &str) {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(false)
            .build();
        let _ = self.docker.remove_container(id, Some(options)).await;
    }

    async fn put_into_helper(
        &self,
        helper: &str,
        volume: &str,
        path: &str,
        tar: TarStream,
    ) -> EngineResult<()> {
        let subject = volume_subject(volume, path);
        if !path.is_empty() {
            let dirs = directory_tar(path).map_err(|e| EngineError::Failed {
                operation: "write to volume",
                subject: subject.clone(),
                message: e.to_string(),
            })?;
            let options = UploadToContainerOptionsBuilder::new()
                .path(HELPER_MOUNT)
                .build();
            self.docker
                .upload_to_container(helper, Some(options), bollard::body_full(dirs.into()))
                .await
                .map_err(|e| self.err("write to volume", &subject, e))?;
        }
        let (body, body_error) = capture_errors(tar);
        let options = UploadToContainerOptionsBuilder::new()
            .path(&helper_path(path))
            .build();
        let result = self
            .docker
            .upload_to_container(helper, Some(options), bollard::body_try_stream(body))
            .await;
        if let Some(message) = take_error(&body_error) {
            return Err(EngineError::Failed {
                operation: "write to volume",
                subject,
                message: format!("reading the files to copy: {message}"),
            });
        }
        result.map_err(|e| self.err("write to volume", &subject, e))
    }
}

/// How long `remove_container` waits for a removal another call has begun.
const REMOVAL_WAIT: Duration = Duration::from_secs(30);

impl Precreate for DockerEngine {
    async fn create_container(
        &self,
        spec: &ContainerSpec,
        gate: Option<&str>,
    ) -> EngineResult<Option<CreatedContainer>> {
        // A platform other than the engine's may need a pull: left to `run`.
        if spec.platform.is_some() {
            return Ok(None);
        }
        let image = match self.docker.inspect_image(&spec.image).await {
            Ok(image) => image,
            Err(e) if status_code(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.err("inspect image", &spec.image, e)),
        };
        let mut body = container_body(spec)?;
        let gated = gate.is_some_and(|volume| gate_container(&mut body, spec, &image, volume));
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let id = match self.docker.create_container(Some(options), body).await {
            Ok(created) => created.id,
            // Removed since the inspection: `run` pulls it.
            Err(e) if is_missing_image(&e) => return Ok(None),
            Err(e) => return Err(self.create_err(spec, e)),
        };
        if gated && self.docker.start_container(&id, None).await.is_err() {
            // The step creates and starts its container itself when it is due, and reports
            // what goes wrong then.
            let _ = self.remove_container(&id).await;
            return Ok(None);
        }
        Ok(Some(CreatedContainer {
            id,
            image_id: image.id.unwrap_or_default(),
            gated,
        }))
    }

    async fn run_created(
        &self,
        spec: &ContainerSpec,
        created: &CreatedContainer,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        if !created.gated {
            return self.run_container(spec, Some(created), sink, cancel).await;
        }
        let watched = gate::GateSink::new(Arc::clone(&sink));
        let status = self
            .run_container(
                spec,
                Some(created),
                Arc::clone(&watched) as Arc<dyn LogSink>,
                cancel.clone(),
            )
            .await?;
        if status.code == gate::FAILED_CODE && watched.gate_failed() {
            // The program could not be executed: nothing of the step ran. The ordinary path
            // gives the engine's own error (`exec: "x": executable file not found in $PATH`).
            self.remove_container(&created.id).await?;
            return self.run_container(spec, None, sink, cancel).await;
        }
        Ok(status)
    }
}

impl Engine for DockerEngine {
    async fn ping(&self) -> EngineResult<EngineInfo> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|e| self.err("query engine version", &self.endpoint, e))?;
        Ok(EngineInfo {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            os: version.os.unwrap_or_default(),
            arch: version.arch.unwrap_or_default(),
        })
    }

    async fn inspect_image(&self, image: &str) -> EngineResult<Option<ImageInfo>> {
        match self.docker.inspect_image(image).await {
            Ok(inspect) => Ok(Some(ImageInfo {
                id: inspect.id.unwrap_or_default(),
                repo_digests: inspect.repo_digests.unwrap_or_default(),
            })),
            Err(e) if status_code(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.err("inspect image", image, e)),
        }
    }

    async fn pull(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> EngineResult<()> {
        self.pull_inner(image, auth, None, sink.as_ref(), LogStream::Stdout)
            .await
    }

    async fn create_network(&self, spec: &NetworkSpec) -> EngineResult<()> {
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: Some(spec.driver.clone().unwrap_or_else(|| "bridge".to_string())),
            enable_ipv6: spec.ipv6.then_some(true),
            labels: Some(to_hash_map(&spec.labels)),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map(|_| ())
            .map_err(|e| self.err("create network", &spec.name, e))
    }

    async fn remove_network(&self, name: &str) -> EngineResult<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if status_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.err("remove network", name, e)),
        }
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> EngineResult<()> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(to_hash_map(labels)),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(|e| self.err("create volume", name, e))
    }

    async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if status_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.err("remove volume", name, e)),
        }
    }

    async fn run(
        &self,
        spec: &ContainerSpec,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        self.run_container(spec, None, sink, cancel).await
    }

    async fn start_detached(&self, spec: &ContainerSpec) -> EngineResult<String> {
        let sink: Arc<dyn LogSink> = Arc::new(super::NullSink);
        self.create_and_start(spec, &sink).await
    }

    async fn run_shell(
        &self,
        request: &super::ShellRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        super::shell::run(request, sink, cancel).await
    }

    async fn host_name(&self) -> Option<String> {
        self.docker.info().await.ok().and_then(|i| i.name)
    }

    fn local_socket(&self) -> Option<std::path::PathBuf> {
        self.endpoint
            .strip_prefix("unix://")
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
    }

    fn cli_environment(&self) -> Vec<(String, String)> {
        let mut env = vec![("DOCKER_HOST".to_owned(), self.endpoint.to_string())];
        for var in [
            "DOCKER_TLS_VERIFY",
            "DOCKER_CERT_PATH",
            "DOCKER_API_VERSION",
        ] {
            if let Ok(v) = std::env::var(var) {
                env.push((var.to_owned(), v));
            }
        }
        env
    }

    async fn remove_container(&self, name: &str) -> EngineResult<()> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if status_code(&e) == Some(404) => Ok(()),
            Err(e)
                if status_code(&e) == Some(409)
                    && error_message(&e).contains("already in progress") =>
            {
                // Another call is removing it (a step's background removal and the cleanup):
                // wait until it is gone, so that its network and volumes can be removed next.
                let removed = self.docker.wait_container(
                    name,
                    Some(
                        WaitContainerOptionsBuilder::new()
                            .condition("removed")
                            .build(),
                    ),
                );
                let _ = tokio::time::timeout(REMOVAL_WAIT, first_exit(removed)).await;
                Ok(())
            }
            Err(e) => Err(self.err("remove container", name, e)),
        }
    }

    async fn put_into_volume(&self, volume: &str, path: &str, tar: TarStream) -> EngineResult<()> {
        let path = normalize_volume_path(path).map_err(|e| EngineError::Failed {
            operation: "write to volume",
            subject: volume_subject(volume, path),
            message: e.to_string(),
        })?;
        let helper = self.create_helper(volume).await?;
        let result = self
            .put_into_helper(&helper, volume, put_directory(&path), tar)
            .await;
        self.remove_helper(&helper).await;
        result
    }

    async fn get_from_volume(&self, volume: &str, path: &str) -> EngineResult<TarStream> {
        let path = normalize_volume_path(path).map_err(|e| EngineError::Failed {
            operation: "read from volume",
            subject: volume_subject(volume, path),
            message: e.to_string(),
        })?;
        let subject = volume_subject(volume, &path);
        let helper = self.create_helper(volume).await?;
        let cleanup = HelperCleanup {
            docker: self.docker.clone(),
            id: helper.clone(),
        };
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(&helper_path(&path))
            .build();
        let mut download = Box::pin(self.docker.download_from_container(&helper, Some(options)));
        // The request goes out on the first poll: look at the first item so that a missing path
        // is an engine error here rather than an I/O error in the middle of the caller's read.
        let first = match download.next().await {
            Some(Ok(bytes)) => Some(bytes),
            None => None,
            Some(Err(e)) => {
                drop(download);
                drop(cleanup);
                if status_code(&e) == Some(404) {
                    return Err(EngineError::Failed {
                        operation: "read from volume",
                        subject,
                        message: "no such file or directory".to_string(),
                    });
                }
                return Err(self.err("read from volume", &subject, e));
            }
        };
        let rest = download.map_err(|e| std::io::Error::other(error_message(&e)));
        let inner = futures_util::stream::iter(first.map(Ok)).chain(rest);
        Ok(Box::pin(VolumeStream {
            inner: Box::pin(inner),
            cleanup: Some(cleanup),
        }))
    }

    async fn build(
        &self,
        request: BuildRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<String> {
        if request.buildkit {
            return super::buildkit::build(&self.docker, &self.endpoint, request, sink, cancel)
                .await;
        }
        let subject = request
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| request.dockerfile.clone());
        let mut options = BuildImageOptionsBuilder::new()
            .dockerfile(&request.dockerfile)
            .nocache(request.no_cache)
            .rm(true)
            .forcerm(true);
        if let Some(tag) = request.tags.first() {
            options = options.t(tag);
        }
        if !request.build_args.is_empty() {
            options = options.buildargs(&to_hash_map(&request.build_args));
        }
        if let Some(target) = &request.target {
            options = options.target(target);
        }
        if !request.labels.is_empty() {
            options = options.labels(&to_hash_map(&request.labels));
        }
        if let Some(platform) = &request.platform {
            options = options.platform(platform);
        }
        if let Some(network) = &request.network {
            options = options.networkmode(network);
        }
        if !request.cache_from.is_empty() {
            options = options.cachefrom(&request.cache_from);
        }
        if request.pull {
            options = options.pull("1");
        }
        let auths = if request.auths.is_empty() {
            None
        } else {
            Some(
                request
                    .auths
                    .iter()
                    .map(|a| (a.server.clone(), credentials(Some(a))))
                    .collect::<HashMap<_, _>>(),
            )
        };
        let scrub_auth = request.auths.clone();
        let (body, body_error) = capture_errors(request.context);
        let work = async {
            // The API takes `extrahosts` once per entry (the docker CLI repeats it); bollard's
            // option holds one string, so every entry is appended to this call's query, with
            // the resource parameters bollard has no room for (sizes as i64, `ulimits`,
            // `cgroupparent`, `cpusetmems`, `isolation`, `securityopt`).
            let resources = request.resources.query();
            let extra: Vec<String> = extra_hosts_query(&request.extra_hosts)
                .into_iter()
                .chain((!resources.is_empty()).then(|| super::buildkit::encode_query(&resources)))
                .collect();
            let docker = match (!extra.is_empty()).then(|| extra.join("&")) {
                Some(extra) => self.docker.clone().with_request_modifier(move |mut req| {
                    let uri = req.uri().to_string();
                    let sep = if uri.contains('?') { '&' } else { '?' };
                    if let Ok(new) = format!("{uri}{sep}{extra}").parse() {
                        *req.uri_mut() = new;
                    }
                    req
                }),
                None => self.docker.clone(),
            };
            let mut output =
                docker.build_image(options.build(), auths, Some(bollard::body_try_stream(body)));
            let mut lines = LineSplitter::default();
            let mut err_lines = LineSplitter::default();
            let mut image_id = None;
            while let Some(item) = output.next().await {
                let info = match item {
                    Ok(info) => info,
                    Err(e) => {
                        if let Some(message) = take_error(&body_error) {
                            return Err(EngineError::Failed {
                                operation: "build image",
                                subject: subject.clone(),
                                message: format!("reading the build context: {message}"),
                            });
                        }
                        if is_connection_error(&e) {
                            return Err(unreachable_error(&self.endpoint, &e));
                        }
                        let mut message = error_message(&e);
                        for auth in &scrub_auth {
                            message = scrub(&message, Some(auth));
                        }
                        return Err(EngineError::Failed {
                            operation: "build image",
                            subject: subject.clone(),
                            message,
                        });
                    }
                };
                if let Some(text) = info.stream.as_deref() {
                    let (stream, text) = classic_build_stream(text);
                    let splitter = match stream {
                        LogStream::Stderr => &mut err_lines,
                        LogStream::Stdout => &mut lines,
                    };
                    for line in splitter.push(text.as_bytes()) {
                        sink.line(stream, &line);
                    }
                }
                if let Some(status) = info.status.as_deref()
                    && is_interesting_status(status, info.progress_detail.as_ref())
                {
                    let line = match info.id.as_deref() {
                        Some(id) if !id.is_empty() => format!("{id}: {status}"),
                        _ => status.to_string(),
                    };
                    sink.line(LogStream::Stdout, &line);
                }
                if let Some(id) = info.aux.and_then(|aux| aux.id) {
                    image_id = Some(id);
                }
            }
            if let Some(line) = lines.finish() {
                sink.line(LogStream::Stdout, &line);
            }
            if let Some(line) = err_lines.finish() {
                sink.line(LogStream::Stderr, &line);
            }
            let image_id = match image_id {
                Some(id) => id,
                None => match request.tags.first() {
                    Some(tag) => match self.inspect_image(tag).await? {
                        Some(info) => info.id,
                        None => {
                            return Err(EngineError::Failed {
                                operation: "build image",
                                subject: subject.clone(),
                                message: "the build ended without producing an image".to_string(),
                            });
                        }
                    },
                    None => {
                        return Err(EngineError::Failed {
                            operation: "build image",
                            subject: subject.clone(),
                            message: "the engine did not report the built image's id".to_string(),
                        });
                    }
                },
            };
            for tag in request.tags.iter().skip(1) {
                self.tag(&image_id, tag).await?;
            }
            Ok(image_id)
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(EngineError::Cancelled),
            result = work => result,
        }
    }

    async fn tag(&self, source: &str, target: &str) -> EngineResult<()> {
        let parts = split_reference(target);
        if parts.digest.is_some() {
            return Err(EngineError::Failed {
                operation: "tag image",
                subject: target.to_string(),
                message: "a tag cannot contain a digest".to_string(),
            });
        }
        let options = TagImageOptionsBuilder::new()
            .repo(&parts.repo)
            .tag(parts.tag.as_deref().unwrap_or("latest"))
            .build();
        self.docker
            .tag_image(source, Some(options))
            .await
            .map_err(|e| match status_code(&e) {
                Some(404) => self.image_err("tag image", source, e, None),
                _ => self.err("tag image", target, e),
            })
    }

    async fn push(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> EngineResult<String> {
        let parts = split_reference(image);
        if parts.digest.is_some() {
            return Err(EngineError::Failed {
                operation: "push",
                subject: image.to_string(),
                message: "pushing by digest is not supported; push a tag".to_string(),
            });
        }
        let tag = parts.tag.as_deref().unwrap_or("latest");
        let options = PushImageOptionsBuilder::new().tag(tag).build();
        let mut progress =
            self.docker
                .push_image(&parts.repo, Some(options), Some(credentials(auth)));
        let mut digest = None;
        let mut counting_down = false;
        while let Some(item) = progress.next().await {
            let info = item.map_err(|e| self.image_err("push", image, e, auth))?;
            let Some(status) = info.status.as_deref() else {
                continue;
            };
            if let Some(found) = parse_push_digest(status) {
                digest = Some(found);
            }
            // The engine retries a failed layer upload after a countdown it reports every
            // second ("Retrying in 5 seconds", "… 4 seconds", …): show its first line only.
            let countdown = status.starts_with("Retrying in ");
            let repeated = countdown && counting_down;
            counting_down = countdown;
            // Per-layer statuses carry no layer id in this client's model: skip them.
            if !repeated
                && !matches!(
                    status,
                    "Preparing" | "Waiting" | "Pushing" | "Pushed" | "Layer already exists"
                )
                && !status.starts_with("Mounted from")
            {
                sink.line(LogStream::Stdout, status);
            }
        }
        digest.ok_or_else(|| EngineError::Failed {
            operation: "push",
            subject: image.to_string(),
            message: "the engine did not report the pushed digest".to_string(),
        })
    }

    async fn list_labelled(&self, key: &str, value: Option<&str>) -> EngineResult<Labelled> {
        let filter = match value {
            Some(value) => format!("{key}={value}"),
            None => key.to_string(),
        };
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![filter.as_str()])]);
        let containers = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| self.err("list containers labelled", &filter, e))?;
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(|e| self.err("list networks labelled", &filter, e))?;
        let volumes = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(|e| self.err("list volumes labelled", &filter, e))?;
        let mut labelled = Labelled {
            containers: containers
                .into_iter()
                .filter_map(|c| {
                    c.names
                        .and_then(|names| names.into_iter().next())
                        .map(|n| n.trim_start_matches('/').to_string())
                        .or(c.id)
                })
                .collect(),
            networks: networks.into_iter().filter_map(|n| n.name).collect(),
            volumes: volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.name)
                .collect(),
        };
        labelled.containers.sort();
        labelled.networks.sort();
        labelled.volumes.sort();
        Ok(labelled)
    }
}

mod create;
mod errors;
mod output;
mod reference;
#[cfg(test)]
mod tests;
mod volumes;

use create::*;

pub use crate::registry::reference::{ReferenceParts, registry_host, split_reference};
pub(crate) use errors::*;
use output::*;
use reference::*;
pub(crate) use volumes::*;
