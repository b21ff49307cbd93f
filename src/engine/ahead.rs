//! Containers made, and started, ahead of their steps: the [`StartAhead`] engine decorator.
//!
//! Creating a container costs an engine round trip of 20–70 ms and starting it 0.25–0.4 s, and
//! neither has to wait for the step's dependencies. The executor says which containers it will
//! run soon ([`Engine::expect_container`]: it decides *when*, from the plan; see
//! `exec::precreate`); an ordinary engine ignores that hint. [`StartAhead`] wraps an engine that
//! can create containers apart from running them ([`Precreate`]) and acts on it: it creates the
//! container, and where the engine allows it starts it too, its process held at the [`gate`]
//! until [`Engine::run`] is called for the same container, which then releases it instead of
//! creating and starting one.
//!
//! Nothing changes for the caller of `run`: a container made ahead is used only when `run` asks
//! for the same spec and the image tag still names the image it was created from (an earlier
//! step may have rebuilt it); otherwise it is removed and `run` goes the ordinary way. A creation
//! that fails is not reported: `run` then creates the container itself and reports what goes
//! wrong. Every container made here carries the spec's labels (the run's), so one made for a step
//! that never runs is removed by the run's cleanup with the rest.
//!
//! The gate program lives in a volume of the run ([`GateVolume`]). It is prepared by the first
//! expected container, whose own container is meanwhile only created (it is due at once, so
//! starting it ahead would gain nothing); containers expected while it is prepared are only
//! created too.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{
    BuildRequest, ContainerSpec, ContextFetch, Engine, EngineInfo, EngineResult, ExitStatus,
    Expected, ImageInfo, Labelled, LogSink, NetworkSpec, RegistryAuth, ShellRequest, TarStream,
    gate,
};

/// An engine that can create a container apart from running it: what [`StartAhead`] needs of
/// the engine it wraps.
pub trait Precreate: Engine {
    /// Creates the container of `spec` without pulling: `Ok(None)` when the image is not on the
    /// engine. With `gate` (the name of a volume holding the [`gate`] program) and a container
    /// that can be gated, the container is also started, its process held at the gate until
    /// [`Precreate::run_created`] releases it; otherwise it is only created.
    fn create_container(
        &self,
        spec: &ContainerSpec,
        gate: Option<&str>,
    ) -> impl Future<Output = EngineResult<Option<CreatedContainer>>> + Send;

    /// [`Engine::run`] for a container made by [`Precreate::create_container`] from the same
    /// `spec`: attaches, starts (or releases from the gate), streams and waits.
    fn run_created(
        &self,
        spec: &ContainerSpec,
        created: &CreatedContainer,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<ExitStatus>> + Send;
}

/// A container created by [`Precreate::create_container`], not yet run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedContainer {
    /// Container id.
    pub id: String,
    /// Id of the image the container was created from (`sha256:…`), to tell whether the tag
    /// has moved to another image since.
    pub image_id: String,
    /// Started already, its process waiting at the gate (see [`gate`]); running it releases it.
    pub gated: bool,
}

/// The volume to hold the gate program: the run's, named and labelled by the run so that its
/// cleanup removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateVolume {
    /// Volume name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// Where the gate stands.
enum Gate {
    /// Containers are only created ahead (`TASKRUN_START_AHEAD=0`, an engine the gate program
    /// does not run on, or a gate that could not be prepared).
    Off,
    /// Not prepared yet: the first expected container prepares it.
    Unprepared(GateVolume),
    /// Being prepared.
    Preparing,
    /// Ready in this volume.
    Ready(String),
}

/// What a container about to be made does about the gate.
enum Claim {
    /// Start it at the gate in this volume.
    Ready(String),
    /// Only create it.
    Without,
    /// Prepare the gate in this volume (and only create it).
    Prepare(GateVolume),
}

/// A container being made, or made, ahead: the spec it was made from, and where it arrives.
type Pending = (ContainerSpec, oneshot::Receiver<Option<CreatedContainer>>);

/// The engine `E`, with the containers the executor expects made (and started at the gate)
/// ahead of their `run`. See the module documentation.
#[derive(Clone)]
pub struct StartAhead<E> {
    inner: E,
    state: Arc<State>,
}

struct State {
    gate: Mutex<Gate>,
    /// Containers made ahead and not run yet, by name.
    pending: Mutex<HashMap<String, Pending>>,
    /// What the engine said of itself, when it was asked through this decorator.
    info: std::sync::OnceLock<EngineInfo>,
}

impl<E: Precreate> StartAhead<E> {
    /// Wraps `inner`; `gate`: where the gate program goes, `None` to only create containers
    /// ahead, never start them.
    pub fn new(inner: E, gate: Option<GateVolume>) -> Self {
        Self {
            inner,
            state: Arc::new(State {
                gate: Mutex::new(gate.map_or(Gate::Off, Gate::Unprepared)),
                pending: Mutex::new(HashMap::new()),
                info: std::sync::OnceLock::new(),
            }),
        }
    }

    /// What a container about to be made does about the gate: use it, go without, or prepare
    /// it (the first one).
    fn claim_gate(&self) -> Claim {
        let Ok(mut gate) = self.state.gate.lock() else {
            return Claim::Without;
        };
        match std::mem::replace(&mut *gate, Gate::Preparing) {
            Gate::Unprepared(volume) => Claim::Prepare(volume),
            other => {
                let claim = match &other {
                    Gate::Ready(name) => Claim::Ready(name.clone()),
                    _ => Claim::Without,
                };
                *gate = other;
                claim
            }
        }
    }

    /// Makes the gate volume and puts the program in it; `false` when containers on this
    /// engine cannot be gated, or the volume could not be made.
    async fn prepare_gate(&self, volume: &GateVolume) -> bool {
        let info = match self.state.info.get() {
            Some(info) => info.clone(),
            None => match self.inner.ping().await {
                Ok(info) => info,
                Err(_) => return false,
            },
        };
        gate::supported(&info)
            && self
                .inner
                .create_volume(&volume.name, &volume.labels)
                .await
                .is_ok()
            && self
                .inner
                .put_into_volume(&volume.name, "", gate::tar())
                .await
                .is_ok()
    }

    /// Creates `spec`'s container, at the gate when it is ready (the first one prepares the
    /// gate meanwhile). A failure is not reported: `run` then creates the container itself, and
    /// reports what goes wrong.
    async fn create(&self, spec: &ContainerSpec) -> Option<CreatedContainer> {
        let made = match self.claim_gate() {
            Claim::Ready(volume) => self.inner.create_container(spec, Some(&volume)).await,
            Claim::Without => self.inner.create_container(spec, None).await,
            Claim::Prepare(volume) => {
                let (prepared, made) = tokio::join!(
                    self.prepare_gate(&volume),
                    self.inner.create_container(spec, None)
                );
                if let Ok(mut gate) = self.state.gate.lock() {
                    *gate = if prepared {
                        Gate::Ready(volume.name)
                    } else {
                        Gate::Off
                    };
                }
                made
            }
        };
        made.ok().flatten()
    }
}

impl<E: Precreate> Engine for StartAhead<E> {
    /// Notes `spec`'s container as pending at once (a `run` of it from now on waits for it);
    /// the future makes it.
    fn expect_container(&self, spec: &ContainerSpec) -> Expected {
        let (tx, rx) = oneshot::channel();
        match self.state.pending.lock() {
            Ok(mut pending) if !pending.contains_key(&spec.name) => {
                pending.insert(spec.name.clone(), (spec.clone(), rx));
            }
            _ => return Box::pin(async {}),
        }
        let (this, spec) = (self.clone(), spec.clone());
        Box::pin(async move {
            let _ = tx.send(this.create(&spec).await);
        })
    }

    async fn run(
        &self,
        spec: &ContainerSpec,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> EngineResult<ExitStatus> {
        let pending = self
            .state
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&spec.name));
        let Some((expected, made)) = pending else {
            return self.inner.run(spec, sink, cancel).await;
        };
        let Some(created) = made.await.ok().flatten() else {
            return self.inner.run(spec, sink, cancel).await;
        };
        let current = self.inner.inspect_image(&spec.image).await;
        let same_image = matches!(&current, Ok(Some(i)) if i.id == created.image_id);
        if expected == *spec && same_image {
            return self.inner.run_created(spec, &created, sink, cancel).await;
        }
        // Made for another spec, or the tag names another image now: it makes way.
        self.inner.remove_container(&spec.name).await?;
        self.inner.run(spec, sink, cancel).await
    }

    async fn ping(&self) -> EngineResult<EngineInfo> {
        let info = self.inner.ping().await?;
        let _ = self.state.info.set(info.clone());
        Ok(info)
    }

    fn inspect_image(
        &self,
        image: &str,
    ) -> impl Future<Output = EngineResult<Option<ImageInfo>>> + Send {
        self.inner.inspect_image(image)
    }

    fn pull(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.pull(image, auth, sink)
    }

    fn create_network(&self, spec: &NetworkSpec) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.create_network(spec)
    }

    fn remove_network(&self, name: &str) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.remove_network(name)
    }

    fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.create_volume(name, labels)
    }

    fn remove_volume(&self, name: &str) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.remove_volume(name)
    }

    fn start_detached(
        &self,
        spec: &ContainerSpec,
    ) -> impl Future<Output = EngineResult<String>> + Send {
        self.inner.start_detached(spec)
    }

    fn remove_container(&self, name: &str) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.remove_container(name)
    }

    fn put_into_volume(
        &self,
        volume: &str,
        path: &str,
        tar: TarStream,
    ) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.put_into_volume(volume, path, tar)
    }

    fn get_from_volume(
        &self,
        volume: &str,
        path: &str,
    ) -> impl Future<Output = EngineResult<TarStream>> + Send {
        self.inner.get_from_volume(volume, path)
    }

    fn build(
        &self,
        request: BuildRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<String>> + Send {
        self.inner.build(request, sink, cancel)
    }

    fn tag(&self, source: &str, target: &str) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner.tag(source, target)
    }

    fn push(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        sink: Arc<dyn LogSink>,
    ) -> impl Future<Output = EngineResult<String>> + Send {
        self.inner.push(image, auth, sink)
    }

    fn run_shell(
        &self,
        request: &ShellRequest,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<ExitStatus>> + Send {
        self.inner.run_shell(request, sink, cancel)
    }

    fn put_remote_context(
        &self,
        volume: &str,
        path: &str,
        subject: &str,
        fetch: ContextFetch,
        sink: Arc<dyn LogSink>,
        cancel: CancellationToken,
    ) -> impl Future<Output = EngineResult<()>> + Send {
        self.inner
            .put_remote_context(volume, path, subject, fetch, sink, cancel)
    }

    fn local_socket(&self) -> Option<std::path::PathBuf> {
        self.inner.local_socket()
    }

    fn host_name(&self) -> impl Future<Output = Option<String>> + Send {
        self.inner.host_name()
    }

    fn cli_environment(&self) -> Vec<(String, String)> {
        self.inner.cli_environment()
    }

    fn list_labelled(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> impl Future<Output = EngineResult<Labelled>> + Send {
        self.inner.list_labelled(key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NullSink;
    use crate::engine::fake::{FakeEngine, Outcome};

    fn image(id: &str) -> ImageInfo {
        ImageInfo {
            id: id.to_owned(),
            repo_digests: Vec::new(),
        }
    }

    fn spec(name: &str) -> ContainerSpec {
        ContainerSpec {
            name: name.to_owned(),
            image: "img".to_owned(),
            ..ContainerSpec::default()
        }
    }

    fn gate_volume() -> Option<GateVolume> {
        Some(GateVolume {
            name: "run-gate".to_owned(),
            labels: BTreeMap::new(),
        })
    }

    fn count(t: &[String], prefix: &str) -> usize {
        t.iter().filter(|l| l.starts_with(prefix)).count()
    }

    async fn run(engine: &StartAhead<FakeEngine>, spec: &ContainerSpec) -> i64 {
        engine
            .run(spec, Arc::new(NullSink), CancellationToken::new())
            .await
            .expect("ran")
            .code
    }

    #[tokio::test]
    async fn the_first_expected_container_prepares_the_gate_and_later_ones_wait_there() {
        let fake = FakeEngine::new();
        fake.add_image("img", image("sha256:1"));
        let engine = StartAhead::new(fake.clone(), gate_volume());
        engine.expect_container(&spec("a")).await;
        engine.expect_container(&spec("b")).await;
        let t = fake.transcript();
        let filled = t
            .iter()
            .position(|l| l.starts_with("put_into_volume run-gate:/"))
            .unwrap_or_else(|| panic!("gate filled: {t:#?}"));
        let gated = t
            .iter()
            .position(|l| l == "start_gated b")
            .unwrap_or_else(|| panic!("b gated: {t:#?}"));
        assert!(filled < gated, "{t:#?}");
        assert_eq!(count(&t, "start_gated"), 1, "{t:#?}");
        assert_eq!(count(&t, "create_container"), 2, "{t:#?}");
    }

    #[tokio::test]
    async fn run_uses_the_container_made_for_the_same_spec_and_image() {
        let fake = FakeEngine::new();
        fake.add_image("img", image("sha256:1"));
        fake.script("a", Outcome::exit(3));
        let engine = StartAhead::new(fake.clone(), None);
        engine.expect_container(&spec("a")).await;
        assert_eq!(run(&engine, &spec("a")).await, 3);
        let t = fake.transcript();
        assert_eq!(count(&t, "create_container"), 1, "{t:#?}");
        assert_eq!(count(&t, "remove_container"), 0, "{t:#?}");
        assert_eq!(count(&t, "put_into_volume"), 0, "{t:#?}");
    }

    #[tokio::test]
    async fn a_container_made_for_a_moved_tag_or_another_spec_makes_way() {
        let fake = FakeEngine::new();
        fake.add_image("img", image("sha256:1"));
        let engine = StartAhead::new(fake.clone(), None);
        engine.expect_container(&spec("a")).await;
        engine.expect_container(&spec("b")).await;
        // An earlier step rebuilt `img`.
        fake.add_image("img", image("sha256:2"));
        run(&engine, &spec("a")).await;
        let other = ContainerSpec {
            cmd: vec!["other".to_owned()],
            ..spec("b")
        };
        run(&engine, &other).await;
        let t = fake.transcript();
        assert_eq!(count(&t, "remove_container"), 2, "{t:#?}");
        assert_eq!(count(&t, "run "), 2, "{t:#?}");
    }

    #[tokio::test]
    async fn an_engine_that_cannot_run_the_gate_only_gets_containers_created() {
        let fake = FakeEngine::new();
        fake.add_image("img", image("sha256:1"));
        fake.set_platform("linux", "arm64");
        let engine = StartAhead::new(fake.clone(), gate_volume());
        for name in ["a", "b", "c"] {
            engine.expect_container(&spec(name)).await;
        }
        let t = fake.transcript();
        assert_eq!(count(&t, "start_gated"), 0, "{t:#?}");
        assert!(!t.iter().any(|l| l.contains("run-gate")), "{t:#?}");
        assert_eq!(count(&t, "create_container"), 3, "{t:#?}");
    }

    #[tokio::test]
    async fn a_run_that_comes_before_its_announced_container_is_made_waits_for_it() {
        let fake = FakeEngine::new();
        fake.add_image("img", image("sha256:1"));
        let engine = StartAhead::new(fake.clone(), None);
        // Announced, but the making waits (as the executor's does for the steps that are due).
        let announced = engine.expect_container(&spec("a"));
        let make = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            announced.await;
        };
        let a = spec("a");
        let ((), code) = tokio::join!(make, run(&engine, &a));
        assert_eq!(code, 0);
        let t = fake.transcript();
        // Made once, then run: never made again behind the step's back.
        assert_eq!(count(&t, "create_container"), 1, "{t:#?}");
        let made = t.iter().position(|l| l.starts_with("create_container"));
        let ran = t.iter().position(|l| l.starts_with("run "));
        assert!(made < ran, "{t:#?}");
    }

    #[tokio::test]
    async fn a_container_run_without_being_expected_is_made_the_ordinary_way() {
        let fake = FakeEngine::new();
        fake.add_image("img", image("sha256:1"));
        let engine = StartAhead::new(fake.clone(), gate_volume());
        run(&engine, &spec("a")).await;
        let t = fake.transcript();
        assert_eq!(count(&t, "create_container"), 0, "{t:#?}");
        assert_eq!(count(&t, "run "), 1, "{t:#?}");
    }
}
