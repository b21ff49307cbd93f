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

use super::gate;
use super::tarball::{directory_tar, single_file_tar};
use super::{
    BuildRequest, ContainerSpec, CreatedContainer, Engine, EngineError, EngineInfo, EngineResult,
    ExitStatus, ImageInfo, Labelled, LogSink, LogStream, Mount, NetworkSpec, RegistryAuth,
    TarStream,
};
use crate::model::runopts::{ContainerOptions, Health, MountKind, MountSpec, Restart};
pub use crate::registry::reference::{ReferenceParts, registry_host, split_reference};

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
        let path = normalize_volume_path(path).map_err(|message| EngineError::Failed {
            operation: "write to volume",
            subject: volume_subject(volume, path),
            message,
        })?;
        let helper = self.create_helper(volume).await?;
        let result = self
            .put_into_helper(&helper, volume, put_directory(&path), tar)
            .await;
        self.remove_helper(&helper).await;
        result
    }

    async fn get_from_volume(&self, volume: &str, path: &str) -> EngineResult<TarStream> {
        let path = normalize_volume_path(path).map_err(|message| EngineError::Failed {
            operation: "read from volume",
            subject: volume_subject(volume, path),
            message,
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
            // option holds one string, so every entry is appended to this call's query.
            let docker = match extra_hosts_query(&request.extra_hosts) {
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
                    for line in lines.push(text.as_bytes()) {
                        sink.line(LogStream::Stdout, &line);
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

// ---------------------------------------------------------------------------------------------
// Container creation

/// The bollard create body for `spec`.
/// Turns `body` into that of a gated container (see [`gate`]) when `spec` and `image` allow it:
/// the gate as entrypoint, the program and arguments the engine would have run as its
/// arguments, stdin open, and the gate volume mounted read-only. Returns whether it did.
fn gate_container(
    body: &mut ContainerCreateBody,
    spec: &ContainerSpec,
    image: &bollard::models::ImageInspect,
    volume: &str,
) -> bool {
    if !gate::eligible(spec)
        || !gate::image_supported(image.os.as_deref(), image.architecture.as_deref())
    {
        return false;
    }
    let config = image.config.as_ref();
    let Some(argv) = gate::argv(
        spec.entrypoint.as_deref(),
        &spec.cmd,
        config.and_then(|c| c.entrypoint.as_deref()),
        config.and_then(|c| c.cmd.as_deref()),
    ) else {
        return false;
    };
    body.entrypoint = Some(vec![gate::PATH.to_string()]);
    body.cmd = Some(argv);
    body.open_stdin = Some(true);
    body.stdin_once = Some(true);
    let host = body.host_config.get_or_insert_with(Default::default);
    host.mounts.get_or_insert_with(Vec::new).push(BollardMount {
        typ: Some(MountType::VOLUME),
        source: Some(volume.to_string()),
        target: Some(gate::MOUNT.to_string()),
        read_only: Some(true),
        ..Default::default()
    });
    true
}

fn container_body(spec: &ContainerSpec) -> EngineResult<ContainerCreateBody> {
    let invalid = |message: String| EngineError::Failed {
        operation: "create container",
        subject: spec.name.clone(),
        message,
    };
    let mut exposed: Vec<String> = Vec::new();
    for entry in &spec.expose {
        for port in parse_expose(entry).map_err(invalid)? {
            if !exposed.contains(&port) {
                exposed.push(port);
            }
        }
    }
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for entry in &spec.publish {
        for published in parse_publish(entry).map_err(invalid)? {
            if !exposed.contains(&published.container_port) {
                exposed.push(published.container_port.clone());
            }
            bindings
                .entry(published.container_port)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(published.host_ip),
                    host_port: Some(published.host_port),
                });
        }
    }
    let mounts = spec
        .mounts
        .iter()
        .map(|mount| match mount {
            Mount::Volume { name, target } => BollardMount {
                typ: Some(MountType::VOLUME),
                source: Some(name.clone()),
                target: Some(target.clone()),
                ..Default::default()
            },
            Mount::Bind { source, target } => BollardMount {
                typ: Some(MountType::BIND),
                source: Some(source.clone()),
                target: Some(target.clone()),
                ..Default::default()
            },
        })
        .chain(spec.options.mounts.iter().map(mount_body))
        .collect::<Vec<_>>();
    let o = &spec.options;
    let aliases: Vec<String> = spec
        .network_aliases
        .iter()
        .chain(&o.network_aliases)
        .cloned()
        .collect();
    let ipam = (o.ip.is_some() || o.ip6.is_some() || !o.link_local_ips.is_empty()).then(|| {
        EndpointIpamConfig {
            ipv4_address: o.ip.clone(),
            ipv6_address: o.ip6.clone(),
            link_local_ips: non_empty(&o.link_local_ips),
        }
    });
    let networking_config = match &spec.network {
        Some(network)
            if supports_aliases(network)
                && (!aliases.is_empty() || ipam.is_some() || o.mac_address.is_some()) =>
        {
            Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        aliases: non_empty(&aliases),
                        ipam_config: ipam,
                        mac_address: o.mac_address.clone(),
                        ..Default::default()
                    },
                )])),
            })
        }
        _ => None,
    };
    let host_config = HostConfig {
        mounts: (!mounts.is_empty()).then_some(mounts),
        network_mode: spec.network.clone(),
        privileged: spec.privileged.then_some(true),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        extra_hosts: non_empty(&spec.extra_hosts),
        nano_cpus: spec.cpus.map(|cpus| (cpus * 1e9).round() as i64),
        memory: spec.memory,
        init: spec.init.then_some(true),
        cap_add: non_empty(&spec.cap_add),
        cap_drop: non_empty(&spec.cap_drop),
        security_opt: non_empty(&spec.security_opt),
        ..Default::default()
    };
    let host_config = with_options(host_config, o);
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: spec.entrypoint.clone(),
        cmd: non_empty(&spec.cmd),
        env: non_empty(&spec.env),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        hostname: spec.hostname.clone(),
        labels: (!spec.labels.is_empty()).then(|| to_hash_map(&spec.labels)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: spec.tty.then_some(true),
        open_stdin: spec.interactive.then_some(true),
        host_config: Some(host_config),
        networking_config,
        domainname: o.domainname.clone(),
        stop_signal: o.stop_signal.clone(),
        stop_timeout: o.stop_timeout,
        healthcheck: o.health.as_ref().map(health_body),
        ..Default::default()
    })
}

/// The engine options of `docker run` flags (`--shm-size`, `--ulimit`, `--ipc`, …) added to the
/// host config.
fn with_options(host: HostConfig, o: &ContainerOptions) -> HostConfig {
    let map = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| to_hash_map(m));
    let throttle = |list: &[(String, i64)]| {
        (!list.is_empty()).then(|| {
            list.iter()
                .map(|(path, rate)| ThrottleDevice {
                    path: Some(path.clone()),
                    rate: Some(*rate),
                })
                .collect()
        })
    };
    let tmpfs: BTreeMap<String, String> = o.tmpfs.clone();
    HostConfig {
        tmpfs: map(&tmpfs),
        readonly_rootfs: o.read_only.then_some(true),
        shm_size: o.shm_size,
        ulimits: (!o.ulimits.is_empty()).then(|| {
            o.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        ipc_mode: o.ipc.clone(),
        pid_mode: o.pid.clone(),
        uts_mode: o.uts.clone(),
        userns_mode: o.userns.clone(),
        cgroupns_mode: o.cgroupns.as_deref().map(|c| match c {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        cgroup_parent: o.cgroup_parent.clone(),
        runtime: o.runtime.clone(),
        isolation: o.isolation.as_deref().map(|i| match i {
            "process" => HostConfigIsolationEnum::PROCESS,
            "hyperv" => HostConfigIsolationEnum::HYPERV,
            _ => HostConfigIsolationEnum::DEFAULT,
        }),
        publish_all_ports: o.publish_all.then_some(true),
        memory_swap: o.memory_swap,
        memory_reservation: o.memory_reservation,
        memory_swappiness: o.memory_swappiness,
        oom_kill_disable: o.oom_kill_disable.then_some(true),
        oom_score_adj: o.oom_score_adj,
        cpu_shares: o.cpu_shares,
        cpu_period: o.cpu_period,
        cpu_quota: o.cpu_quota,
        cpu_realtime_period: o.cpu_rt_period,
        cpu_realtime_runtime: o.cpu_rt_runtime,
        cpuset_cpus: o.cpuset_cpus.clone(),
        cpuset_mems: o.cpuset_mems.clone(),
        cpu_count: o.cpu_count,
        cpu_percent: o.cpu_percent,
        pids_limit: o.pids_limit,
        blkio_weight: o.blkio_weight,
        blkio_weight_device: (!o.blkio_weight_device.is_empty()).then(|| {
            o.blkio_weight_device
                .iter()
                .map(|(path, weight)| ResourcesBlkioWeightDevice {
                    path: Some(path.clone()),
                    weight: Some(usize::from(*weight)),
                })
                .collect()
        }),
        blkio_device_read_bps: throttle(&o.device_read_bps),
        blkio_device_write_bps: throttle(&o.device_write_bps),
        blkio_device_read_iops: throttle(&o.device_read_iops),
        blkio_device_write_iops: throttle(&o.device_write_iops),
        io_maximum_bandwidth: o.io_max_bandwidth,
        io_maximum_iops: o.io_max_iops,
        devices: (!o.devices.is_empty()).then(|| {
            o.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host.clone()),
                    path_in_container: Some(d.container.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect()
        }),
        device_cgroup_rules: non_empty(&o.device_cgroup_rules),
        device_requests: o.gpus.as_ref().map(|g| {
            vec![DeviceRequest {
                driver: g.driver.clone(),
                count: g.count,
                device_ids: non_empty(&g.device_ids),
                capabilities: Some(vec![g.capabilities.clone()]),
                options: map(&g.options),
            }]
        }),
        dns: non_empty(&o.dns),
        dns_search: non_empty(&o.dns_search),
        dns_options: non_empty(&o.dns_options),
        links: non_empty(&o.links),
        group_add: non_empty(&o.group_add),
        sysctls: map(&o.sysctls),
        storage_opt: map(&o.storage_opts),
        volumes_from: non_empty(&o.volumes_from),
        volume_driver: o.volume_driver.clone(),
        restart_policy: o.restart.map(|r| {
            let (name, max) = match r {
                Restart::No => (RestartPolicyNameEnum::NO, None),
                Restart::Always => (RestartPolicyNameEnum::ALWAYS, None),
                Restart::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
                Restart::OnFailure(n) => (RestartPolicyNameEnum::ON_FAILURE, n),
            };
            RestartPolicy {
                name: Some(name),
                maximum_retry_count: max,
            }
        }),
        log_config: (o.log_driver.is_some() || !o.log_opts.is_empty()).then(|| {
            HostConfigLogConfig {
                typ: o.log_driver.clone(),
                config: map(&o.log_opts),
            }
        }),
        annotations: map(&o.annotations),
        ..host
    }
}

/// A `--mount` entry in the engine's terms.
fn mount_body(m: &MountSpec) -> BollardMount {
    let map = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| to_hash_map(m));
    BollardMount {
        typ: Some(match m.kind {
            MountKind::Bind => MountType::BIND,
            MountKind::Volume => MountType::VOLUME,
            MountKind::Tmpfs => MountType::TMPFS,
        }),
        source: m.source.clone(),
        target: Some(m.target.clone()),
        read_only: m.read_only.then_some(true),
        consistency: m.consistency.clone(),
        bind_options: (m.kind == MountKind::Bind
            && (m.bind_propagation.is_some()
                || m.bind_nonrecursive
                || m.bind_readonly_nonrecursive
                || m.bind_readonly_force_recursive))
            .then(|| MountBindOptions {
                propagation: m.bind_propagation.as_deref().map(|p| match p {
                    "rprivate" => MountBindOptionsPropagationEnum::RPRIVATE,
                    "shared" => MountBindOptionsPropagationEnum::SHARED,
                    "rshared" => MountBindOptionsPropagationEnum::RSHARED,
                    "slave" => MountBindOptionsPropagationEnum::SLAVE,
                    "rslave" => MountBindOptionsPropagationEnum::RSLAVE,
                    _ => MountBindOptionsPropagationEnum::PRIVATE,
                }),
                non_recursive: m.bind_nonrecursive.then_some(true),
                read_only_non_recursive: m.bind_readonly_nonrecursive.then_some(true),
                read_only_force_recursive: m.bind_readonly_force_recursive.then_some(true),
                ..Default::default()
            }),
        volume_options: (m.kind == MountKind::Volume
            && (m.volume_nocopy
                || !m.volume_labels.is_empty()
                || m.volume_driver.is_some()
                || !m.volume_opts.is_empty()
                || m.volume_subpath.is_some()))
        .then(|| MountVolumeOptions {
            no_copy: m.volume_nocopy.then_some(true),
            labels: map(&m.volume_labels),
            driver_config: (m.volume_driver.is_some() || !m.volume_opts.is_empty()).then(|| {
                MountVolumeOptionsDriverConfig {
                    name: m.volume_driver.clone(),
                    options: map(&m.volume_opts),
                }
            }),
            subpath: m.volume_subpath.clone(),
        }),
        tmpfs_options: (m.kind == MountKind::Tmpfs
            && (m.tmpfs_size.is_some() || m.tmpfs_mode.is_some()))
        .then(|| MountTmpfsOptions {
            size_bytes: m.tmpfs_size,
            mode: m.tmpfs_mode,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A `--health-*` check in the engine's terms (`--no-healthcheck`: `["NONE"]`).
fn health_body(h: &Health) -> HealthConfig {
    let test = if h.disabled {
        Some(vec!["NONE".to_owned()])
    } else {
        h.cmd
            .as_ref()
            .map(|c| vec!["CMD-SHELL".to_owned(), c.clone()])
    };
    HealthConfig {
        test,
        interval: h.interval,
        timeout: h.timeout,
        retries: h.retries,
        start_period: h.start_period,
        start_interval: h.start_interval,
    }
}

/// Whether a network mode is a user network (where network-scoped aliases are allowed).
fn supports_aliases(network: &str) -> bool {
    !matches!(network, "host" | "none" | "bridge" | "default" | "")
        && !network.starts_with("container:")
}

fn non_empty(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

fn to_hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// One published port binding, in the engine's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    /// Container port with protocol (`80/tcp`).
    pub container_port: String,
    /// Host address (empty: all addresses).
    pub host_ip: String,
    /// Host port or port range (empty: any free port).
    pub host_port: String,
}

/// Parses docker's `-p` syntax: `80`, `8080:80`, `127.0.0.1:8080:80`, `8080:80/udp`,
/// `127.0.0.1::80`, `[::1]:8080:80`, and ranges (`8000-8001:80-81`, `8000-8010:80`).
pub fn parse_publish(spec: &str) -> Result<Vec<PublishedPort>, String> {
    let invalid = |why: &str| format!("invalid published port `{spec}`: {why}");
    let (rest, proto) = split_protocol(spec).map_err(|why| invalid(&why))?;
    let (host_ip, host_port, container) = if let Some(after) = rest.strip_prefix('[') {
        let (ip, tail) = after
            .split_once("]:")
            .ok_or_else(|| invalid("expected `[address]:host-port:container-port`"))?;
        let (host_port, container) = tail
            .split_once(':')
            .ok_or_else(|| invalid("expected `[address]:host-port:container-port`"))?;
        (ip.to_string(), host_port, container)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.as_slice() {
            [container] => (String::new(), "", *container),
            [host_port, container] => (String::new(), *host_port, *container),
            [ip, host_port, container] => (ip.to_string(), *host_port, *container),
            _ => return Err(invalid("too many `:`")),
        }
    };
    if container.is_empty() {
        return Err(invalid("missing container port"));
    }
    let (c_start, c_end) = parse_port_range(container).map_err(|why| invalid(&why))?;
    let count = c_end - c_start + 1;
    let host = if host_port.is_empty() {
        None
    } else {
        Some(parse_port_range(host_port).map_err(|why| invalid(&why))?)
    };
    let mut out = Vec::new();
    match host {
        None => {
            for port in c_start..=c_end {
                out.push(PublishedPort {
                    container_port: format!("{port}/{proto}"),
                    host_ip: host_ip.clone(),
                    host_port: String::new(),
                });
            }
        }
        Some((h_start, h_end)) if count == 1 => out.push(PublishedPort {
            container_port: format!("{c_start}/{proto}"),
            host_ip,
            host_port: if h_start == h_end {
                h_start.to_string()
            } else {
                format!("{h_start}-{h_end}")
            },
        }),
        Some((h_start, h_end)) if h_end - h_start + 1 == count => {
            for offset in 0..count {
                out.push(PublishedPort {
                    container_port: format!("{}/{proto}", c_start + offset),
                    host_ip: host_ip.clone(),
                    host_port: (h_start + offset).to_string(),
                });
            }
        }
        Some(_) => return Err(invalid("host and container port ranges differ in length")),
    }
    Ok(out)
}

/// Parses an exposed port (`80`, `80/udp`, `8000-8001`) into `port/proto` entries.
pub fn parse_expose(spec: &str) -> Result<Vec<String>, String> {
    let invalid = |why: &str| format!("invalid exposed port `{spec}`: {why}");
    let (port, proto) = split_protocol(spec).map_err(|why| invalid(&why))?;
    let (start, end) = parse_port_range(port).map_err(|why| invalid(&why))?;
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

fn split_protocol(spec: &str) -> Result<(&str, &str), String> {
    match spec.rsplit_once('/') {
        Some((rest, proto)) => match proto {
            "tcp" | "udp" | "sctp" => Ok((rest, proto)),
            other => Err(format!("unknown protocol `{other}` (use tcp, udp or sctp)")),
        },
        None => Ok((spec, "tcp")),
    }
}

fn parse_port_range(text: &str) -> Result<(u32, u32), String> {
    let port = |p: &str| -> Result<u32, String> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(u32::from(n)),
            _ => Err(format!("`{p}` is not a port number (1-65535)")),
        }
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a > b {
                return Err(format!("`{text}` is not a valid port range"));
            }
            Ok((a, b))
        }
        None => {
            let p = port(text)?;
            Ok((p, p))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Image references

/// Finds `sha256:…` in a push status line like `1: digest: sha256:abc size: 735`.
fn parse_push_digest(status: &str) -> Option<String> {
    let (_, after) = status.split_once("digest: ")?;
    let digest = after.split_whitespace().next()?;
    digest.contains(':').then(|| digest.to_string())
}

fn credentials(auth: Option<&RegistryAuth>) -> DockerCredentials {
    match auth {
        Some(auth) => DockerCredentials {
            username: Some(auth.username.clone()),
            password: Some(auth.password.clone()),
            serveraddress: Some(auth.server.clone()),
            ..Default::default()
        },
        None => DockerCredentials::default(),
    }
}

/// Whether a pull/build progress status is worth a line (not a byte-count progress update).
fn is_interesting_status(status: &str, progress: Option<&bollard::models::ProgressDetail>) -> bool {
    if progress.is_some_and(|p| p.current.is_some() || p.total.is_some()) {
        return false;
    }
    !matches!(
        status,
        "Waiting"
            | "Pulling fs layer"
            | "Verifying Checksum"
            | "Download complete"
            | "Downloading"
            | "Extracting"
    )
}

// ---------------------------------------------------------------------------------------------
// Output

/// The longest line passed on whole. Output that goes on longer without a newline is passed on
/// in pieces of this size (cut between UTF-8 characters), so a step printing one endless line
/// streams with bounded memory (docs/reliability.md).
const MAX_LINE: usize = 1 << 20;

/// Splits a byte stream into lines, keeping partial lines across chunks. `\r\n` endings are
/// trimmed; invalid UTF-8 is replaced; a line longer than [`MAX_LINE`] bytes is split.
#[derive(Debug, Default)]
struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        loop {
            let room = MAX_LINE.saturating_sub(self.buf.len());
            match rest.iter().position(|&b| b == b'\n') {
                Some(pos) if pos <= room => {
                    self.buf.extend_from_slice(&rest[..pos]);
                    lines.push(self.take());
                    rest = &rest[pos + 1..];
                }
                _ if rest.len() < room => {
                    self.buf.extend_from_slice(rest);
                    return lines;
                }
                _ => {
                    self.buf.extend_from_slice(&rest[..room]);
                    rest = &rest[room..];
                    lines.push(self.take_piece());
                }
            }
        }
    }

    /// A [`MAX_LINE`] piece of a long line; an incomplete UTF-8 character at its end stays in
    /// the buffer for the next piece.
    fn take_piece(&mut self) -> String {
        let tail = self.buf.split_off(utf8_cut(&self.buf));
        let piece = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf = tail;
        piece
    }

    fn finish(&mut self) -> Option<String> {
        (!self.buf.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let line = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        line
    }
}

/// Where to cut `buf` so that no UTF-8 character is split: before an incomplete character at
/// the end, else at the end.
fn utf8_cut(buf: &[u8]) -> usize {
    let len = buf.len();
    for back in 1..=len.min(3) {
        let b = buf[len - back];
        if b & 0xc0 == 0x80 {
            continue;
        }
        let width = match b {
            0xf0.. => 4,
            0xe0.. => 3,
            0xc0.. => 2,
            _ => 1,
        };
        return if back < width { len - back } else { len };
    }
    len
}

/// Forwards container output to `sink` line by line until the stream ends.
async fn drain_logs(
    logs: impl Stream<Item = Result<LogOutput, BollardError>>,
    sink: &dyn LogSink,
) -> Result<(), BollardError> {
    let mut logs = std::pin::pin!(logs);
    let mut out = LineSplitter::default();
    let mut err = LineSplitter::default();
    let mut result = Ok(());
    while let Some(item) = logs.next().await {
        match item {
            Ok(LogOutput::StdErr { message }) => {
                for line in err.push(&message) {
                    sink.line(LogStream::Stderr, &line);
                }
            }
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                for line in out.push(&message) {
                    sink.line(LogStream::Stdout, &line);
                }
            }
            Ok(LogOutput::StdIn { .. }) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Some(line) = out.finish() {
        sink.line(LogStream::Stdout, &line);
    }
    if let Some(line) = err.finish() {
        sink.line(LogStream::Stderr, &line);
    }
    result
}

/// The exit code from a wait stream (a non-zero exit arrives as `DockerContainerWaitError`).
async fn first_exit(
    wait: impl Stream<Item = Result<bollard::models::ContainerWaitResponse, BollardError>>,
) -> Result<i64, BollardError> {
    let mut wait = std::pin::pin!(wait);
    match wait.next().await {
        Some(Ok(response)) => Ok(response.status_code),
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(e),
        None => Err(BollardError::DockerStreamError {
            error: "the engine ended the wait without an exit status".to_string(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Volumes

fn volume_subject(volume: &str, path: &str) -> String {
    if path.is_empty() {
        volume.to_string()
    } else {
        format!("{volume}:{path}")
    }
}

/// A path relative to the volume root without leading/trailing `/`; `..` is refused.
fn normalize_volume_path(path: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" => {}
            ".." => return Err(format!("path `{path}` leaves the volume")),
            other => parts.push(other),
        }
    }
    // Keep a trailing `.` (docker cp's "contents of" form), drop inner ones.
    let last_dot = parts.last() == Some(&".");
    let mut clean: Vec<&str> = parts.into_iter().filter(|p| *p != ".").collect();
    if last_dot {
        clean.push(".");
    }
    Ok(clean.join("/"))
}

/// The directory a put extracts into: the path without docker cp's trailing `.`.
fn put_directory(path: &str) -> &str {
    if path == "." {
        ""
    } else {
        path.strip_suffix("/.").unwrap_or(path)
    }
}

/// A unique name for a helper container of `volume`.
fn helper_name(volume: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{volume}-helper-{}-{n}", std::process::id())
}

fn helper_path(path: &str) -> String {
    if path.is_empty() {
        HELPER_MOUNT.to_string()
    } else {
        format!("{HELPER_MOUNT}/{path}")
    }
}

pub(super) type ErrorSlot = Arc<Mutex<Option<String>>>;

/// Wraps a caller's tar stream so that its first error can be reported by name (hyper only says
/// the body failed).
pub(super) fn capture_errors(
    stream: TarStream,
) -> (
    impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ErrorSlot,
) {
    let slot: ErrorSlot = Arc::new(Mutex::new(None));
    let writer = Arc::clone(&slot);
    let stream = stream.inspect_err(move |e| {
        let mut guard = writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            *guard = Some(e.to_string());
        }
    });
    (stream, slot)
}

pub(super) fn take_error(slot: &ErrorSlot) -> Option<String> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Removes a helper container when dropped (on a spawned task of the current runtime; without a
/// runtime the container is left to the run's cleanup by label).
struct HelperCleanup {
    docker: Docker,
    id: String,
}

impl Drop for HelperCleanup {
    fn drop(&mut self) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let docker = self.docker.clone();
            let id = std::mem::take(&mut self.id);
            handle.spawn(async move {
                let options = RemoveContainerOptionsBuilder::new().force(true).build();
                let _ = docker.remove_container(&id, Some(options)).await;
            });
        }
    }
}

/// The tar stream returned by `get_from_volume`: removes its helper container once the stream
/// ends or is dropped.
struct VolumeStream {
    inner: Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
    cleanup: Option<HelperCleanup>,
}

impl Stream for VolumeStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = polled {
            self.cleanup = None;
        }
        polled
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// The HTTP status of an engine error response.
fn status_code(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The engine's message, without bollard's wrapping.
pub(super) fn error_message(e: &BollardError) -> String {
    match e {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => {
            if message.trim().is_empty() {
                format!("engine answered HTTP {status_code}")
            } else {
                message.trim().to_string()
            }
        }
        BollardError::DockerStreamError { error } => error.trim().to_string(),
        other => other.to_string(),
    }
}

fn is_missing_image(e: &BollardError) -> bool {
    status_code(e) == Some(404)
        && error_message(e)
            .to_ascii_lowercase()
            .contains("no such image")
}

fn is_auth_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("unauthorized")
        || m.contains("authentication required")
        || m.contains("no basic auth credentials")
        || m.contains("incorrect username or password")
        || m.contains("denied: requested access")
}

fn is_not_found_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no such image")
        || m.contains("does not exist locally")
        || m.contains("tag does not exist")
        || m.contains("manifest unknown")
        || m.contains("not found: manifest")
        || m.contains("pull access denied")
}

/// Replaces the password anywhere in `message`.
pub(super) fn scrub(message: &str, auth: Option<&RegistryAuth>) -> String {
    match auth {
        Some(auth) if !auth.password.is_empty() => message.replace(&auth.password, "***"),
        _ => message.to_string(),
    }
}

/// The `std::io::Error` kind somewhere in an error's source chain.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = err.source();
    }
    None
}

/// Whether an error means the engine could not be reached at all.
pub(super) fn is_connection_error(e: &BollardError) -> bool {
    match e {
        BollardError::SocketNotFoundError(_) => true,
        BollardError::HyperLegacyError { err } => {
            err.is_connect()
                || matches!(
                    io_kind(e),
                    Some(
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::NotFound
                            | std::io::ErrorKind::PermissionDenied
                    )
                )
        }
        BollardError::IOError { err } => matches!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
        ),
        _ => false,
    }
}

/// An `Unreachable` error with a message saying what to check.
pub(super) fn unreachable_error(endpoint: &str, e: &BollardError) -> EngineError {
    let socket = endpoint.strip_prefix("unix://");
    let message = match e {
        BollardError::SocketNotFoundError(path) => format!(
            "the socket {path} does not exist; is dockerd running? Start it, or set DOCKER_HOST \
             to the engine's address"
        ),
        BollardError::UnsupportedURISchemeError { uri } => format!(
            "DOCKER_HOST `{uri}` uses an unsupported scheme; use unix://, tcp://, http:// or \
             https://"
        ),
        BollardError::RequestTimeoutError => {
            "the engine did not answer in time; check that dockerd is running and responsive"
                .to_string()
        }
        _ => match io_kind(e) {
            Some(std::io::ErrorKind::PermissionDenied) => match socket {
                Some(path) => format!(
                    "permission denied on {path}; add your user to the `docker` group (and log in \
                     again), run with sufficient rights, or set DOCKER_HOST"
                ),
                None => format!("permission denied ({e})"),
            },
            Some(std::io::ErrorKind::ConnectionRefused) => {
                "connection refused; is dockerd running? Start it, or set DOCKER_HOST to the \
                 engine's address"
                    .to_string()
            }
            Some(std::io::ErrorKind::NotFound) => {
                "the socket does not exist; is dockerd running? Start it, or set DOCKER_HOST to \
                 the engine's address"
                    .to_string()
            }
            _ => match e {
                // Something answers, but not as a Docker engine (a wrong port, another service).
                BollardError::DockerResponseServerError { status_code, .. } => format!(
                    "it answered HTTP {status_code} ({}), which is not a Docker engine's answer; \
                     check that DOCKER_HOST points at the engine",
                    error_message(e)
                ),
                _ => format!(
                    "{}; check that dockerd is running and that DOCKER_HOST (and \
                     DOCKER_TLS_VERIFY / DOCKER_CERT_PATH for TLS) are right",
                    e.to_string().trim()
                ),
            },
        },
    };
    EngineError::Unreachable {
        endpoint: endpoint.to_string(),
        message,
    }
}

/// `extrahosts=<entry>` once per entry, percent-encoded, joined with `&` (`None` for none).
fn extra_hosts_query(hosts: &[String]) -> Option<String> {
    if hosts.is_empty() {
        return None;
    }
    let encode = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    Some(
        hosts
            .iter()
            .map(|h| format!("extrahosts={}", encode(h)))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_extra_host_is_its_own_query_parameter() {
        assert_eq!(extra_hosts_query(&[]), None);
        assert_eq!(
            extra_hosts_query(&["a:10.0.0.1".into(), "b.x:::1".into()]).as_deref(),
            Some("extrahosts=a%3A10.0.0.1&extrahosts=b.x%3A%3A%3A1")
        );
    }

    fn published(container: &str, ip: &str, host: &str) -> PublishedPort {
        PublishedPort {
            container_port: container.to_string(),
            host_ip: ip.to_string(),
            host_port: host.to_string(),
        }
    }

    #[test]
    fn helper_names_identify_the_run_of_their_volume() {
        let key = crate::exec::RunKey::generate();
        let volume = key.name("workspace");
        let (a, b) = (helper_name(&volume), helper_name(&volume));
        assert_ne!(a, b);
        assert_eq!(crate::exec::RunKey::from_name(&a), Some(key));
    }

    #[test]
    fn publish_forms() {
        assert_eq!(
            parse_publish("80").unwrap(),
            vec![published("80/tcp", "", "")]
        );
        assert_eq!(
            parse_publish("8080:80").unwrap(),
            vec![published("80/tcp", "", "8080")]
        );
        assert_eq!(
            parse_publish("127.0.0.1:8080:80").unwrap(),
            vec![published("80/tcp", "127.0.0.1", "8080")]
        );
        assert_eq!(
            parse_publish("8080:80/udp").unwrap(),
            vec![published("80/udp", "", "8080")]
        );
        assert_eq!(
            parse_publish("127.0.0.1::80").unwrap(),
            vec![published("80/tcp", "127.0.0.1", "")]
        );
        assert_eq!(
            parse_publish("[::1]:8080:80/tcp").unwrap(),
            vec![published("80/tcp", "::1", "8080")]
        );
        assert_eq!(
            parse_publish("8000-8001:80-81").unwrap(),
            vec![
                published("80/tcp", "", "8000"),
                published("81/tcp", "", "8001")
            ]
        );
        assert_eq!(
            parse_publish("8000-8010:80").unwrap(),
            vec![published("80/tcp", "", "8000-8010")]
        );
    }

    #[test]
    fn publish_errors() {
        for bad in [
            "",
            "x",
            "80/foo",
            "1:2:3:4",
            "0",
            "70000",
            "8080:",
            "9-8",
            "8000-8002:80-81",
            "[::1:80",
        ] {
            let err = parse_publish(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn expose_forms() {
        assert_eq!(parse_expose("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(parse_expose("53/udp").unwrap(), vec!["53/udp"]);
        assert_eq!(parse_expose("80-81").unwrap(), vec!["80/tcp", "81/tcp"]);
        assert!(parse_expose("http").is_err());
    }

    #[test]
    fn push_digest() {
        assert_eq!(
            parse_push_digest("1: digest: sha256:29f4d7ac size: 735").as_deref(),
            Some("sha256:29f4d7ac")
        );
        assert_eq!(parse_push_digest("Pushed"), None);
    }

    #[test]
    fn lines_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"hel"), Vec::<String>::new());
        assert_eq!(s.push(b"lo\nwor"), vec!["hello"]);
        assert_eq!(s.push(b"ld\r\n\n"), vec!["world", ""]);
        assert_eq!(s.push(b"a\r"), Vec::<String>::new());
        assert_eq!(s.push(b"\nb"), vec!["a"]);
        assert_eq!(s.finish().as_deref(), Some("b"));
        assert_eq!(s.finish(), None);
        // A multi-byte character split across chunks survives; invalid bytes are replaced.
        assert_eq!(s.push(&[0xc3]), Vec::<String>::new());
        assert_eq!(s.push(&[0xa9, b'\n', 0xff, b'\n']), vec!["é", "\u{fffd}"]);
    }

    #[test]
    fn long_lines_are_split_between_characters() {
        let mut s = LineSplitter::default();
        // One line of 2.5 MiB without a newline: two full pieces, the rest kept.
        let long = vec![b'x'; MAX_LINE * 5 / 2];
        let pieces = s.push(&long);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| p.len() == MAX_LINE));
        assert!(s.buf.len() < MAX_LINE);
        assert_eq!(
            s.push(b"y\nz").last().map(String::len),
            Some(MAX_LINE / 2 + 1)
        );
        assert_eq!(s.finish().as_deref(), Some("z"));
        // A 3-byte character across the limit moves whole into the next piece.
        let mut s = LineSplitter::default();
        let mut text = vec![b'a'; MAX_LINE - 1];
        text.extend_from_slice("✓b\n".as_bytes());
        let lines = s.push(&text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE - 1);
        assert_eq!(lines[1], "✓b");
        // Byte by byte, the same pieces come out.
        let mut s = LineSplitter::default();
        let mut joined = Vec::new();
        for b in &text {
            joined.extend(s.push(std::slice::from_ref(b)));
        }
        assert_eq!(joined, lines);
        assert_eq!(utf8_cut(b"ab"), 2);
        assert_eq!(utf8_cut(&[b'a', 0xe2, 0x9c]), 1);
        assert_eq!(utf8_cut(&[b'a', 0xe2, 0x9c, 0x93]), 4);
        assert_eq!(utf8_cut(&[0x80, 0x80, 0x80, 0x80]), 4);
        assert_eq!(utf8_cut(&[]), 0);
    }

    #[test]
    fn volume_paths() {
        assert_eq!(normalize_volume_path("").unwrap(), "");
        assert_eq!(normalize_volume_path("/a//b/").unwrap(), "a/b");
        assert_eq!(normalize_volume_path("./a/./b/.").unwrap(), "a/b/.");
        assert_eq!(normalize_volume_path(".").unwrap(), ".");
        assert_eq!(normalize_volume_path("/./").unwrap(), ".");
        assert_eq!(put_directory("."), "");
        assert_eq!(put_directory("a/b/."), "a/b");
        assert_eq!(put_directory("a/b"), "a/b");
        assert!(normalize_volume_path("a/../../b").is_err());
        assert_eq!(helper_path(""), "/v");
        assert_eq!(helper_path("a/b"), "/v/a/b");
    }

    #[test]
    fn container_body_maps_spec() {
        let spec = ContainerSpec {
            name: "c".into(),
            image: "img".into(),
            network: Some("net".into()),
            network_aliases: vec!["web".into()],
            publish: vec!["8080:80".into()],
            expose: vec!["90".into()],
            cpus: Some(1.5),
            mounts: vec![Mount::Volume {
                name: "vol".into(),
                target: "/workspace".into(),
            }],
            ..Default::default()
        };
        let body = container_body(&spec).unwrap();
        let host = body.host_config.clone().unwrap();
        assert_eq!(host.nano_cpus, Some(1_500_000_000));
        assert_eq!(host.network_mode.as_deref(), Some("net"));
        assert_eq!(
            body.exposed_ports,
            Some(vec!["90/tcp".to_string(), "80/tcp".to_string()])
        );
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(endpoints["net"].aliases, Some(vec!["web".to_string()]));
        assert_eq!(body.cmd, None);
        let bad = ContainerSpec {
            publish: vec!["x:y".into()],
            ..spec
        };
        assert!(matches!(
            container_body(&bad),
            Err(EngineError::Failed {
                operation: "create container",
                ..
            })
        ));
        let host_net = ContainerSpec {
            network: Some("host".into()),
            network_aliases: vec!["web".into()],
            ..Default::default()
        };
        assert!(
            container_body(&host_net)
                .unwrap()
                .networking_config
                .is_none()
        );
    }

    #[test]
    fn container_body_maps_run_flags() {
        let parsed = crate::model::cmdline::parse_cmd(
            "--shm-size 64m --ulimit nofile=512:1024 --mount type=tmpfs,dst=/t,tmpfs-size=1m --ipc private -P --gpus all --restart on-failure:2 --no-healthcheck --ip 10.1.0.9 --network-alias web2 --read-only --tmpfs /run --sysctl a.b=1 --stop-timeout 3 --log-driver none busybox",
        )
        .unwrap();
        let spec = ContainerSpec {
            name: "c".into(),
            image: "busybox".into(),
            network: Some("net".into()),
            network_aliases: vec!["web".into()],
            options: parsed.cmd.run.options,
            ..Default::default()
        };
        let body = container_body(&spec).unwrap();
        let host = body.host_config.clone().unwrap();
        assert_eq!(host.shm_size, Some(64 << 20));
        let u = &host.ulimits.unwrap()[0];
        assert_eq!((u.soft, u.hard), (Some(512), Some(1024)));
        let m = &host.mounts.unwrap()[0];
        assert_eq!(m.typ, Some(MountType::TMPFS));
        assert_eq!(m.target.as_deref(), Some("/t"));
        assert_eq!(m.tmpfs_options.as_ref().unwrap().size_bytes, Some(1 << 20));
        assert_eq!(host.ipc_mode.as_deref(), Some("private"));
        assert_eq!(host.publish_all_ports, Some(true));
        assert_eq!(host.device_requests.unwrap()[0].count, Some(-1));
        let r = host.restart_policy.unwrap();
        assert_eq!(r.name, Some(RestartPolicyNameEnum::ON_FAILURE));
        assert_eq!(r.maximum_retry_count, Some(2));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.tmpfs.unwrap()["/run"], "");
        assert_eq!(host.sysctls.unwrap()["a.b"], "1");
        assert_eq!(host.log_config.unwrap().typ.as_deref(), Some("none"));
        assert_eq!(body.stop_timeout, Some(3));
        assert_eq!(
            body.healthcheck.unwrap().test,
            Some(vec!["NONE".to_string()])
        );
        let endpoint = &body.networking_config.unwrap().endpoints_config.unwrap()["net"];
        assert_eq!(
            endpoint.aliases,
            Some(vec!["web".to_string(), "web2".to_string()])
        );
        assert_eq!(
            endpoint
                .ipam_config
                .as_ref()
                .unwrap()
                .ipv4_address
                .as_deref(),
            Some("10.1.0.9")
        );
    }

    #[test]
    fn auth_errors_are_scrubbed() {
        let auth = RegistryAuth {
            server: "r".into(),
            username: "u".into(),
            password: "s3cret".into(),
        };
        assert_eq!(scrub("bad s3cret here", Some(&auth)), "bad *** here");
        assert!(is_auth_message("unauthorized: authentication required"));
        assert!(!is_auth_message("manifest unknown"));
    }
}
