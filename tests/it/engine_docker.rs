//! `DockerEngine` against a real Docker engine, plus a few contract checks shared with
//! `FakeEngine`.
//!
//! The environment comes from `scripts/test-env.sh`: dockerd on the default socket (or
//! `DOCKER_HOST`), registries on 127.0.0.1:5000 (open) and 127.0.0.1:5001 (basic auth
//! `taskrun`/`taskrun-pass`), and the local image `taskrun-busybox:latest`. These tests FAIL when
//! the engine is unavailable; they never skip. Every resource is labelled with a per-test key and
//! removed by a drop guard, also when an assertion fails.

// Each test holds the engine lock for its whole life, awaits included (one test per
// current-thread runtime: nothing else waits on this thread).
#![allow(clippy::await_holding_lock)]

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use taskrun::engine::docker::DockerEngine;
use taskrun::engine::fake::{FakeEngine, Outcome};
use taskrun::engine::{
    BuildRequest, ContainerSpec, Engine, EngineError, LogSink, LogStream, Mount, NetworkSpec,
    NullSink, RUN_LABEL, RegistryAuth, TarStream,
};
use tokio_util::sync::CancellationToken;

const BUSYBOX: &str = "taskrun-busybox:latest";
const OPEN_REGISTRY: &str = "127.0.0.1:5000";
const AUTH_REGISTRY: &str = "127.0.0.1:5001";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process and call.
fn unique(what: &str) -> String {
    format!(
        "taskrun-test-{}-{what}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn engine() -> DockerEngine {
    DockerEngine::connect().await.unwrap_or_else(|e| {
        panic!("these tests need a Docker engine (run scripts/test-env.sh first): {e}")
    })
}

/// Removes everything labelled with `key`, and the listed images, when dropped.
struct Cleanup {
    key: String,
    images: Vec<String>,
}

impl Cleanup {
    fn new(what: &str) -> Self {
        Self {
            key: unique(what),
            images: Vec::new(),
        }
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(RUN_LABEL.to_string(), self.key.clone())])
    }

    fn image(&mut self, reference: &str) -> String {
        self.images.push(reference.to_string());
        reference.to_string()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let key = self.key.clone();
        let images = std::mem::take(&mut self.images);
        // A fresh runtime on its own thread: Drop may run inside (or outside) the test's runtime.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(engine) = DockerEngine::connect().await else {
                    return;
                };
                if let Ok(found) = engine.list_labelled(RUN_LABEL, Some(&key)).await {
                    for c in &found.containers {
                        let _ = engine.remove_container(c).await;
                    }
                    for n in &found.networks {
                        let _ = engine.remove_network(n).await;
                    }
                    for v in &found.volumes {
                        let _ = engine.remove_volume(v).await;
                    }
                }
                if let Ok(docker) = bollard::Docker::connect_with_defaults() {
                    for image in &images {
                        let _ = docker
                            .remove_image(
                                image,
                                Some(
                                    bollard::query_parameters::RemoveImageOptionsBuilder::new()
                                        .force(true)
                                        .build(),
                                ),
                                None,
                            )
                            .await;
                    }
                }
            });
        })
        .join();
    }
}

/// A sink that keeps every line.
#[derive(Default)]
struct Collect(Mutex<Vec<(LogStream, String)>>);

impl LogSink for Collect {
    fn line(&self, stream: LogStream, line: &str) {
        self.0.lock().unwrap().push((stream, line.to_string()));
    }
}

impl Collect {
    fn lines(&self, stream: LogStream) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, l)| l.clone())
            .collect()
    }

    fn all(&self) -> String {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn busybox(name: &str, labels: BTreeMap<String, String>, script: &str) -> ContainerSpec {
    ContainerSpec {
        name: name.to_string(),
        image: BUSYBOX.to_string(),
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        labels,
        ..Default::default()
    }
}

/// A tar of `(path, content)` files as a stream.
fn tar_of(files: &[(&str, &str)]) -> TarStream {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    let bytes = builder.into_inner().unwrap();
    Box::pin(futures_util::stream::once(async move {
        Ok(bytes::Bytes::from(bytes))
    }))
}

/// Reads a whole tar stream into `(path, content)` pairs (directories have empty content).
async fn read_tar(mut stream: TarStream) -> Vec<(String, String)> {
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let mut archive = tar::Archive::new(bytes.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut content = String::new();
            entry.read_to_string(&mut content).unwrap();
            (path, content)
        })
        .collect()
}

fn build_request(context: TarStream, tags: Vec<String>) -> BuildRequest {
    BuildRequest {
        context,
        dockerfile: "Dockerfile".into(),
        tags,
        build_args: BTreeMap::new(),
        target: None,
        no_cache: false,
        pull: false,
        labels: BTreeMap::new(),
        platform: None,
        network: None,
        cache_from: Vec::new(),
        extra_hosts: Vec::new(),
        auths: Vec::new(),
        buildkit: false,
        resources: Default::default(),
        secrets: Vec::new(),
    }
}

fn docker() -> bollard::Docker {
    bollard::Docker::connect_with_defaults().unwrap()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ping_reports_the_engine() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let info = engine.ping().await.unwrap();
    assert!(!info.version.is_empty(), "{info:?}");
    assert!(!info.api_version.is_empty(), "{info:?}");
    assert_eq!(info.os, "linux");
}

#[tokio::test]
async fn run_with_env_workdir_user_mount_and_exit_code() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let cleanup = Cleanup::new("run");
    let volume = unique("vol");
    engine
        .create_volume(&volume, &cleanup.labels())
        .await
        .unwrap();
    let mount = Mount::Volume {
        name: volume.clone(),
        target: "/data".into(),
    };

    let mut writer = busybox(
        &unique("writer"),
        cleanup.labels(),
        "echo hello-volume > /data/f",
    );
    writer.mounts = vec![mount.clone()];
    let status = engine
        .run(&writer, Arc::new(NullSink), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 0);

    let mut reader = busybox(
        &unique("reader"),
        cleanup.labels(),
        "echo \"foo=$FOO\"; id -u; pwd; cat f; echo to-stderr >&2; printf 'no-newline'; exit 7",
    );
    reader.mounts = vec![mount];
    reader.env = vec!["FOO=bar baz".into()];
    reader.working_dir = Some("/data".into());
    reader.user = Some("1000:1000".into());
    let sink = Arc::new(Collect::default());
    let status = engine
        .run(&reader, sink.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 7);
    assert!(!status.success());
    assert_eq!(
        sink.lines(LogStream::Stdout),
        vec!["foo=bar baz", "1000", "/data", "hello-volume", "no-newline"]
    );
    assert_eq!(sink.lines(LogStream::Stderr), vec!["to-stderr"]);
}

#[tokio::test]
async fn run_streams_many_lines_and_tty_output() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let cleanup = Cleanup::new("lines");
    let spec = busybox(
        &unique("seq"),
        cleanup.labels(),
        "seq 1 20000; seq 1 3 >&2; printf 'caf\\303\\251 \\377\\n'",
    );
    let sink = Arc::new(Collect::default());
    let status = engine
        .run(&spec, sink.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 0);
    let out = sink.lines(LogStream::Stdout);
    assert_eq!(out.len(), 20001);
    assert_eq!(out[0], "1");
    assert_eq!(out[19999], "20000");
    assert_eq!(out[20000], "caf\u{e9} \u{fffd}");
    assert_eq!(sink.lines(LogStream::Stderr), vec!["1", "2", "3"]);

    // With a TTY, output is one stream with `\r\n` line ends.
    let mut tty = busybox(&unique("tty"), cleanup.labels(), "echo one; echo two >&2");
    tty.tty = true;
    let sink = Arc::new(Collect::default());
    let status = engine
        .run(&tty, sink.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 0);
    assert_eq!(sink.lines(LogStream::Stdout), vec!["one", "two"]);
}

#[tokio::test]
async fn cancelled_run_kills_the_container() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let cleanup = Cleanup::new("cancel");
    let name = unique("sleeper");
    let spec = busybox(&name, cleanup.labels(), "echo started; sleep 60");
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    let result = engine.run(&spec, Arc::new(NullSink), cancel).await;
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let state = docker()
        .inspect_container(&name, None)
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.running, Some(false), "{state:?}");
    engine.remove_container(&name).await.unwrap();
    // Removing again (missing) is fine.
    engine.remove_container(&name).await.unwrap();
}

#[tokio::test]
async fn steps_reach_each_other_by_alias() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let cleanup = Cleanup::new("alias");
    let network = unique("net");
    engine
        .create_network(&NetworkSpec {
            name: network.clone(),
            labels: cleanup.labels(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut web = busybox(
        &unique("web"),
        cleanup.labels(),
        "mkdir -p /www && echo hello-web > /www/index.html && exec httpd -f -p 80 -h /www",
    );
    web.network = Some(network.clone());
    web.network_aliases = vec!["web".into()];
    let id = engine.start_detached(&web).await.unwrap();
    assert!(!id.is_empty());

    let mut client = busybox(
        &unique("client"),
        cleanup.labels(),
        "for i in $(seq 1 50); do wget -qO- http://web/ && exit 0; sleep 0.2; done; exit 1",
    );
    client.network = Some(network.clone());
    client.network_aliases = vec!["client".into()];
    let sink = Arc::new(Collect::default());
    let status = engine
        .run(&client, sink.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 0, "{}", sink.all());
    assert!(
        sink.lines(LogStream::Stdout)
            .contains(&"hello-web".to_string()),
        "{}",
        sink.all()
    );
    engine.remove_container(&web.name).await.unwrap();
    engine.remove_container(&client.name).await.unwrap();
    engine.remove_network(&network).await.unwrap();
    engine.remove_network(&network).await.unwrap();
}

#[tokio::test]
async fn volume_put_and_get_round_trip() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let cleanup = Cleanup::new("volume");
    let volume = unique("vol");
    engine
        .create_volume(&volume, &cleanup.labels())
        .await
        .unwrap();
    engine
        .put_into_volume(
            &volume,
            "ctx/deep",
            tar_of(&[("a.txt", "alpha\n"), ("sub/b.txt", "beta\n")]),
        )
        .await
        .unwrap();

    // Visible to a container mounting the volume.
    let mut reader = busybox(
        &unique("reader"),
        cleanup.labels(),
        "cat /ws/ctx/deep/a.txt /ws/ctx/deep/sub/b.txt",
    );
    reader.mounts = vec![Mount::Volume {
        name: volume.clone(),
        target: "/ws".into(),
    }];
    let sink = Arc::new(Collect::default());
    let status = engine
        .run(&reader, sink.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 0, "{}", sink.all());
    assert_eq!(sink.lines(LogStream::Stdout), vec!["alpha", "beta"]);

    // `path/.` gives the directory's contents; `path` gives the directory itself (docker cp).
    let contents = read_tar(engine.get_from_volume(&volume, "ctx/deep/.").await.unwrap()).await;
    let files: BTreeMap<String, String> = contents
        .into_iter()
        .filter(|(p, _)| p.ends_with(".txt"))
        .map(|(p, c)| (p.trim_start_matches("./").to_string(), c))
        .collect();
    assert_eq!(
        files,
        BTreeMap::from([
            ("a.txt".to_string(), "alpha\n".to_string()),
            ("sub/b.txt".to_string(), "beta\n".to_string()),
        ])
    );
    let itself = read_tar(engine.get_from_volume(&volume, "ctx/deep").await.unwrap()).await;
    assert!(itself.iter().any(|(p, _)| p == "deep/a.txt"), "{itself:?}");

    // The root: `.` is the volume's contents; a put at `.` lands at the root.
    engine
        .put_into_volume(&volume, ".", tar_of(&[("top.txt", "top\n")]))
        .await
        .unwrap();
    let root = read_tar(engine.get_from_volume(&volume, ".").await.unwrap()).await;
    let names: Vec<&str> = root.iter().map(|(p, _)| p.as_str()).collect();
    assert!(names.contains(&"./top.txt"), "{names:?}");
    assert!(names.contains(&"./ctx/deep/sub/b.txt"), "{names:?}");

    // A missing path is an engine error naming the volume and path.
    let missing = engine.get_from_volume(&volume, "nope").await;
    match missing {
        Err(EngineError::Failed { subject, .. }) => assert!(subject.ends_with(":nope")),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a missing path must fail"),
    }
    // Helper containers carry the volume's labels and are gone once the streams are dropped.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = engine
            .list_labelled(RUN_LABEL, Some(&cleanup.key))
            .await
            .unwrap();
        let helpers: Vec<_> = found
            .containers
            .iter()
            .filter(|c| **c != reader.name)
            .collect();
        if helpers.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "helpers left: {helpers:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A missing volume is an error too.
    assert!(
        engine
            .put_into_volume(&unique("novol"), "", tar_of(&[("x", "y")]))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn build_with_tags_args_target_and_labels() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let mut cleanup = Cleanup::new("build");
    let first = cleanup.image(&format!("{}:1", unique("img")));
    let second = cleanup.image(&format!("{}:extra", unique("img")));
    let third = cleanup.image(&format!("{}:tagged", unique("img")));
    let dockerfile = format!(
        "ARG BASE={BUSYBOX}\n\
         FROM $BASE AS base\n\
         ARG MSG=default\n\
         RUN echo \"$MSG\" > /msg\n\
         FROM base AS final\n\
         CMD [\"cat\", \"/msg\"]\n\
         FROM base AS never\n\
         RUN exit 3\n"
    );
    let mut request = build_request(
        tar_of(&[
            ("build/Dockerfile.custom", &dockerfile),
            ("unused.txt", "x"),
        ]),
        vec![first.clone(), second.clone()],
    );
    request.dockerfile = "build/Dockerfile.custom".into();
    request.build_args = BTreeMap::from([("MSG".to_string(), "hello-build".to_string())]);
    request.target = Some("final".into());
    request.labels = BTreeMap::from([("io.taskrun.test".to_string(), "yes".to_string())]);
    let sink = Arc::new(Collect::default());
    let id = engine
        .build(request, sink.clone(), CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sink.all()));
    assert!(id.starts_with("sha256:"), "{id}");
    assert!(sink.all().contains("Step"), "{}", sink.all());

    engine.tag(&first, &third).await.unwrap();
    for tag in [&first, &second, &third] {
        let info = engine.inspect_image(tag).await.unwrap().unwrap();
        assert_eq!(info.id, id, "{tag}");
        assert!(info.repo_digests.is_empty());
    }
    let labels = docker()
        .inspect_image(&first)
        .await
        .unwrap()
        .config
        .unwrap()
        .labels
        .unwrap();
    assert_eq!(
        labels.get("io.taskrun.test").map(String::as_str),
        Some("yes")
    );

    let runner = ContainerSpec {
        name: unique("built"),
        image: third.clone(),
        labels: cleanup.labels(),
        ..Default::default()
    };
    let out = Arc::new(Collect::default());
    let status = engine
        .run(&runner, out.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 0);
    assert_eq!(out.lines(LogStream::Stdout), vec!["hello-build"]);

    // A failing instruction is a build failure naming the image.
    let failing = build_request(
        tar_of(&[(
            "Dockerfile",
            &format!("FROM {BUSYBOX}\nRUN echo boom >&2; exit 3\n"),
        )]),
        vec![cleanup.image(&format!("{}:1", unique("bad")))],
    );
    let err = engine
        .build(failing, Arc::new(NullSink), CancellationToken::new())
        .await
        .unwrap_err();
    match err {
        EngineError::Failed {
            operation, message, ..
        } => {
            assert_eq!(operation, "build image");
            assert!(message.contains("non-zero code"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(engine.inspect_image(&unique("absent")).await.unwrap(), None);
}

#[tokio::test]
async fn cancelled_build_returns_cancelled() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let mut cleanup = Cleanup::new("buildcancel");
    let tag = cleanup.image(&format!("{}:1", unique("slow")));
    let request = build_request(
        tar_of(&[("Dockerfile", &format!("FROM {BUSYBOX}\nRUN sleep 60\n"))]),
        vec![tag],
    );
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    let result = engine.build(request, Arc::new(NullSink), cancel).await;
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn push_to_open_registry_reports_the_digest() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let mut cleanup = Cleanup::new("push");
    let repo = format!("{OPEN_REGISTRY}/{}", unique("push"));
    let reference = cleanup.image(&format!("{repo}:1"));
    engine.tag(BUSYBOX, &reference).await.unwrap();
    let sink = Arc::new(Collect::default());
    let digest = engine.push(&reference, None, sink.clone()).await.unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let info = engine.inspect_image(&reference).await.unwrap().unwrap();
    assert!(
        info.repo_digests.contains(&format!("{repo}@{digest}")),
        "{:?} vs {digest}",
        info.repo_digests
    );
    assert!(sink.all().contains(&digest), "{}", sink.all());

    // Without a tag, `latest` is pushed (and the registry port is not a tag).
    let latest = cleanup.image(&format!("{repo}:latest"));
    engine.tag(BUSYBOX, &latest).await.unwrap();
    let digest_latest = engine.push(&repo, None, Arc::new(NullSink)).await.unwrap();
    assert_eq!(digest_latest, digest);

    // Pushing an image that does not exist locally.
    let err = engine
        .push(&format!("{repo}:absent"), None, Arc::new(NullSink))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::ImageNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn push_to_authenticated_registry() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let mut cleanup = Cleanup::new("auth");
    let reference = cleanup.image(&format!("{AUTH_REGISTRY}/{}:1", unique("auth")));
    engine.tag(BUSYBOX, &reference).await.unwrap();

    let wrong = RegistryAuth {
        server: AUTH_REGISTRY.into(),
        username: "taskrun".into(),
        password: "wrong-Pa55word-xyz".into(),
    };
    let err = engine
        .push(&reference, Some(&wrong), Arc::new(NullSink))
        .await
        .unwrap_err();
    match &err {
        EngineError::Unauthorized {
            registry, image, ..
        } => {
            assert_eq!(registry, AUTH_REGISTRY);
            assert_eq!(image, &reference);
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!err.to_string().contains(&wrong.password), "{err}");
    assert!(!format!("{err:?}").contains(&wrong.password), "{err:?}");

    let anonymous = engine
        .push(&reference, None, Arc::new(NullSink))
        .await
        .unwrap_err();
    assert!(
        matches!(anonymous, EngineError::Unauthorized { .. }),
        "{anonymous:?}"
    );

    let right = RegistryAuth {
        password: "taskrun-pass".into(),
        ..wrong
    };
    let digest = engine
        .push(&reference, Some(&right), Arc::new(NullSink))
        .await
        .unwrap();
    assert!(digest.starts_with("sha256:"));

    // Pull back with credentials (after dropping the local tag).
    let _ = docker()
        .remove_image(
            &reference,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await;
    assert_eq!(engine.inspect_image(&reference).await.unwrap(), None);
    engine
        .pull(&reference, Some(&right), Arc::new(NullSink))
        .await
        .unwrap();
    let info = engine.inspect_image(&reference).await.unwrap().unwrap();
    assert!(info.repo_digests.iter().any(|d| d.ends_with(&digest)));
}

#[tokio::test]
async fn run_pulls_a_missing_image_once() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let mut cleanup = Cleanup::new("fallback");
    let reference = cleanup.image(&format!("{OPEN_REGISTRY}/{}:1", unique("fallback")));
    engine.tag(BUSYBOX, &reference).await.unwrap();
    engine
        .push(&reference, None, Arc::new(NullSink))
        .await
        .unwrap();
    docker()
        .remove_image(
            &reference,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await
        .unwrap();
    assert_eq!(engine.inspect_image(&reference).await.unwrap(), None);

    let mut spec = busybox(&unique("pulled"), cleanup.labels(), "echo pulled-and-ran");
    spec.image = reference.clone();
    let sink = Arc::new(Collect::default());
    let status = engine
        .run(&spec, sink.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 0);
    assert_eq!(sink.lines(LogStream::Stdout), vec!["pulled-and-ran"]);
    assert!(
        sink.lines(LogStream::Stderr)
            .iter()
            .any(|l| l.contains("Unable to find image")),
        "{}",
        sink.all()
    );

    // An image that exists nowhere.
    let mut absent = busybox(&unique("absent"), cleanup.labels(), "true");
    absent.image = format!("{OPEN_REGISTRY}/{}:1", unique("nowhere"));
    let err = engine
        .run(&absent, Arc::new(NullSink), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::ImageNotFound { .. }), "{err:?}");
    let err = engine
        .pull(&absent.image, None, Arc::new(NullSink))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::ImageNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn list_labelled_and_remove() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let cleanup = Cleanup::new("labels");
    let labels = cleanup.labels();
    let network = unique("net");
    let volume = unique("vol");
    let container = unique("ctr");
    engine
        .create_network(&NetworkSpec {
            name: network.clone(),
            labels: labels.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    engine.create_volume(&volume, &labels).await.unwrap();
    let mut spec = busybox(&container, labels.clone(), "sleep 60");
    spec.network = Some(network.clone());
    spec.mounts = vec![Mount::Volume {
        name: volume.clone(),
        target: "/ws".into(),
    }];
    engine.start_detached(&spec).await.unwrap();

    let found = engine
        .list_labelled(RUN_LABEL, Some(&cleanup.key))
        .await
        .unwrap();
    assert_eq!(found.containers, vec![container.clone()]);
    assert_eq!(found.networks, vec![network.clone()]);
    assert_eq!(found.volumes, vec![volume.clone()]);
    let by_key = engine.list_labelled(RUN_LABEL, None).await.unwrap();
    assert!(by_key.containers.contains(&container));

    engine.remove_container(&container).await.unwrap();
    engine.remove_network(&network).await.unwrap();
    engine.remove_volume(&volume).await.unwrap();
    engine.remove_volume(&volume).await.unwrap();
    let found = engine
        .list_labelled(RUN_LABEL, Some(&cleanup.key))
        .await
        .unwrap();
    assert_eq!(found, Default::default());
}

// ---------------------------------------------------------------------------------------------
// Contract checks: the same body against the fake and the real engine.

async fn contract_exit_code<E: Engine>(engine: &E, name: &str, labels: BTreeMap<String, String>) {
    let spec = busybox(name, labels, "echo out; echo err >&2; exit 3");
    let sink = Arc::new(Collect::default());
    let status = engine
        .run(&spec, sink.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(status.code, 3);
    assert_eq!(sink.lines(LogStream::Stdout), vec!["out"]);
    assert_eq!(sink.lines(LogStream::Stderr), vec!["err"]);
    engine.remove_container(name).await.unwrap();
}

async fn contract_build_then_inspect<E: Engine>(engine: &E, tag: &str) {
    assert_eq!(engine.inspect_image(tag).await.unwrap(), None);
    let request = build_request(
        tar_of(&[("Dockerfile", &format!("FROM {BUSYBOX}\nLABEL contract=1\n"))]),
        vec![tag.to_string()],
    );
    let id = engine
        .build(request, Arc::new(NullSink), CancellationToken::new())
        .await
        .unwrap();
    let info = engine.inspect_image(tag).await.unwrap().unwrap();
    assert_eq!(info.id, id);
}

#[tokio::test]
async fn contract_fake() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let fake = FakeEngine::new();
    fake.script("contract-", Outcome::exit(3).stdout("out").stderr("err"));
    contract_exit_code(&fake, "contract-run", BTreeMap::new()).await;
    contract_build_then_inspect(&fake, "contract-image:1").await;
}

#[tokio::test]
async fn contract_docker() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let engine = engine().await;
    let mut cleanup = Cleanup::new("contract");
    let name = unique("contract");
    contract_exit_code(&engine, &name, cleanup.labels()).await;
    let tag = cleanup.image(&format!("{}:1", unique("contract")));
    contract_build_then_inspect(&engine, &tag).await;
}
