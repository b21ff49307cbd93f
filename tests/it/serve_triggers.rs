//! `taskrun serve` triggers against the real engine and registry (issue 5): one registry check
//! per distinct image per cycle, a multi-arch index whose other platform changed does not fire
//! (and one whose own platform changed does), timer and commit triggers, and the CLI reading the
//! store while a long-running `serve` writes it.
//!
//! These tests need `scripts/test-env.sh` (dockerd, registry 127.0.0.1:5000, the local image
//! `taskrun-busybox:latest`); they fail, never skip, without it. Tasks, completed runs and
//! base-image links are seeded through the library (`taskrun::store::Store`) where running real
//! builds would add nothing.

use crate::common;

use common::{BIN, docker, docker_in, ok, registry_digest, runs, taskrun};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use taskrun::store::{DependencyKind, RunFinish, RunRecord, RunStatus, RunTrigger, Store, TaskDef};

const OPEN: &str = "127.0.0.1:5000";

/// A TCP proxy in front of the open registry that logs the request line of every HTTP request
/// (`HEAD /v2/…/manifests/…`). Requests from the resolver have no body or a `Content-Length`
/// one; responses are copied through untouched.
struct CountingProxy {
    host: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let host = listener.local_addr().expect("addr").to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = forward(client, &log);
                });
            }
        });
        CountingProxy { host, log }
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().expect("log"))
    }
}

fn forward(client: TcpStream, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let upstream = TcpStream::connect(OPEN)?;
    let mut to_upstream = upstream.try_clone()?;
    let mut to_client = client.try_clone()?;
    let mut from_upstream = upstream;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_upstream, &mut to_client);
        let _ = to_client.shutdown(std::net::Shutdown::Write);
    });
    let mut reader = BufReader::new(client);
    loop {
        let mut head = Vec::new();
        let mut first = String::new();
        let mut length = 0u64;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                let _ = to_upstream.shutdown(std::net::Shutdown::Write);
                return Ok(());
            }
            head.extend_from_slice(line.as_bytes());
            if first.is_empty() {
                first = line.trim().to_owned();
            } else if line == "\r\n" || line == "\n" {
                break;
            } else if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        log.lock().expect("log").push(first);
        to_upstream.write_all(&head)?;
        std::io::copy(&mut (&mut reader).take(length), &mut to_upstream)?;
    }
}

/// Seeds `task` as having completed one run that depended on `image` (with `kind`).
fn seed_completed(store: &Store, task: &str, image: &str, kind: DependencyKind) {
    store
        .create_task(&TaskDef::new(task, "/nonexistent/acr-task.yaml", None))
        .expect("create task");
    let id = store.next_run_id("").expect("run id");
    store
        .insert_run(&RunRecord::new(
            &id,
            Some(task.to_owned()),
            RunTrigger::Manual,
            "linux",
        ))
        .expect("insert run");
    store
        .finish_run(
            &id,
            &RunFinish {
                status: RunStatus::Succeeded,
                finished: taskrun::store::now(),
                exit_code: Some(0),
                steps: Vec::new(),
                dependencies_json: None,
            },
        )
        .expect("finish run");
    store
        .set_task_dependencies(task, &[(image.to_owned(), kind)])
        .expect("dependencies");
}

fn record(store: &Store, image: &str, digest: &str) {
    store
        .record_digest(&taskrun::store::BaseImageRecord {
            image: image.to_owned(),
            digest: digest.to_owned(),
            platform: None,
            platform_digest: None,
            checked: taskrun::store::now(),
        })
        .expect("record digest");
}

#[test]
fn one_registry_check_per_distinct_image_per_cycle() {
    let pid = std::process::id();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let proxy = CountingProxy::start();
    let repos: Vec<String> = (0..3).map(|i| format!("trtrig-count-{pid}-{i}")).collect();
    for repo in &repos {
        let tag = format!("{OPEN}/{repo}:1");
        docker(&["tag", "taskrun-busybox:latest", &tag]);
        docker(&["push", "-q", &tag]);
    }
    {
        let store = Store::open(&home).expect("store");
        for (i, repo) in repos.iter().enumerate() {
            let via_proxy = format!("{}/{repo}:1", proxy.host);
            record(
                &store,
                &via_proxy,
                &registry_digest(&format!("{OPEN}/{repo}:1")),
            );
            // 20 tasks per image, half of them with the image as a build-time dependency.
            for n in 0..20 {
                let kind = if n % 2 == 0 {
                    DependencyKind::Runtime
                } else {
                    DependencyKind::Buildtime
                };
                seed_completed(&store, &format!("t{i}-{n}"), &via_proxy, kind);
            }
        }
    }

    for cycle in 0..2 {
        let _ = proxy.take();
        let out = ok(&home, &["serve", "--once"]);
        let log = proxy.take();
        let heads: Vec<&String> = log
            .iter()
            .filter(|l| l.starts_with("HEAD ") && l.contains("/manifests/"))
            .collect();
        assert_eq!(heads.len(), repos.len(), "cycle {cycle}: {log:#?}\n{out}");
        for repo in &repos {
            let n = heads
                .iter()
                .filter(|l| l.contains(&format!("/v2/{repo}/manifests/1 ")))
                .count();
            assert_eq!(n, 1, "cycle {cycle}: one check of {repo}: {log:#?}");
        }
        // Besides the checks, at most one fetch of each manifest by digest (to tell an index
        // from a single manifest) and the API probe; never one per task.
        assert!(log.len() <= 3 * repos.len(), "cycle {cycle}: {log:#?}");
        assert!(
            runs(&home)
                .iter()
                .all(|(_, trigger, _)| trigger == "Manual"),
            "unchanged digests fire nothing: {out}"
        );
    }

    for repo in &repos {
        let _ = Command::new("docker")
            .args(["rmi", &format!("{OPEN}/{repo}:1")])
            .output();
    }
}

/// A throwaway docker CLI config (for `docker manifest`) and the images a test imported.
struct ManifestEnv {
    config: tempfile::TempDir,
    images: Vec<String>,
    counter: u32,
}

impl ManifestEnv {
    fn new() -> Self {
        ManifestEnv {
            config: tempfile::tempdir().expect("tempdir"),
            images: Vec::new(),
            counter: 0,
        }
    }

    fn docker(&self, args: &[&str], stdin: Option<&[u8]>) -> String {
        docker_in(Some(self.config.path()), args, stdin)
    }

    /// Imports a one-file image with unique content as `reference` and pushes it.
    fn push_unique(&mut self, reference: &str) {
        self.counter += 1;
        let content = format!("content-{}-{}", std::process::id(), self.counter);
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "id", content.as_bytes())
            .expect("tar");
        let bytes = tar.into_inner().expect("tar");
        let id = self.docker(&["import", "-", reference], Some(&bytes));
        self.images.push(id.trim().to_owned());
        self.docker(&["push", "-q", reference], None);
    }

    /// Builds the index `list` from `amd` (linux/amd64, as imported) and `arm` (annotated
    /// linux/arm64/v8) and pushes it.
    fn push_index(&self, list: &str, amd: &str, arm: &str) {
        self.docker(&["manifest", "create", "--insecure", list, amd, arm], None);
        self.docker(
            &[
                "manifest",
                "annotate",
                "--os",
                "linux",
                "--arch",
                "arm64",
                "--variant",
                "v8",
                list,
                arm,
            ],
            None,
        );
        self.docker(&["manifest", "push", "--insecure", "--purge", list], None);
    }
}

impl Drop for ManifestEnv {
    fn drop(&mut self) {
        if !self.images.is_empty() {
            let _ = Command::new("docker")
                .args(["rmi", "-f"])
                .args(&self.images)
                .output();
        }
    }
}

fn write_task(dir: &Path, yaml: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let file = dir.join("acr-task.yaml");
    std::fs::write(&file, yaml).expect("write");
    file
}

#[test]
fn multi_arch_index_fires_only_for_this_platform() {
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "the index is built with the amd64 entry as this platform's"
    );
    let pid = std::process::id();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let mut env = ManifestEnv::new();
    let amd = format!("{OPEN}/trtrig-multi-{pid}/a:amd64");
    let arm = format!("{OPEN}/trtrig-multi-{pid}/a:arm64");
    let list = format!("{OPEN}/trtrig-multi-{pid}/multi:1");
    env.push_unique(&amd);
    env.push_unique(&arm);
    env.push_index(&list, &amd, &arm);

    let app = tmp.path().join("app");
    std::fs::create_dir_all(&app).expect("dir");
    std::fs::write(app.join("Dockerfile"), format!("FROM {list}\n")).expect("write");
    let file = write_task(
        &app,
        // `--pull`: the engine would otherwise build on its stale local copy of the tag.
        &format!("steps:\n  - build: -t trtrig-multi-app-{pid}:latest --pull .\n"),
    );
    let (file, ctx) = (file.to_str().expect("utf-8"), app.to_str().expect("utf-8"));
    ok(
        &home,
        &["task", "create", "-n", "app", "-f", file, "-c", ctx],
    );
    ok(&home, &["task", "run", "-n", "app", "--output", "plain"]);
    assert_eq!(runs(&home).len(), 1);

    // Only the arm64 entry changes (the index digest changes): nothing fires, even in the first
    // cycle after the run, which compares against what the run itself recorded.
    let index_before = registry_digest(&list);
    env.push_unique(&arm);
    env.push_index(&list, &amd, &arm);
    assert_ne!(registry_digest(&list), index_before);
    let out = ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 1, "{out}");
    // And again once serve has recorded the platform entry itself.
    env.push_unique(&arm);
    env.push_index(&list, &amd, &arm);
    let out = ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 1, "{out}");

    // This platform's entry changes: the task rebuilds, once.
    env.push_unique(&amd);
    env.push_index(&list, &amd, &arm);
    let out = ok(&home, &["serve", "--once"]);
    let all = runs(&home);
    assert_eq!(all.len(), 2, "{out}\n{all:?}");
    assert_eq!(
        (all[0].0.as_str(), all[0].1.as_str(), all[0].2.as_str()),
        ("app", "Image Update", "Succeeded"),
        "{out}"
    );
    let out = ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 2, "{out}");

    // Both orders: amd64 changes right after a run (no serve cycle in between) also fires.
    env.push_unique(&amd);
    env.push_index(&list, &amd, &arm);
    ok(&home, &["task", "run", "-n", "app", "--output", "plain"]);
    env.push_unique(&amd);
    env.push_index(&list, &amd, &arm);
    let out = ok(&home, &["serve", "--once"]);
    let all = runs(&home);
    assert_eq!(all.len(), 4, "{out}\n{all:?}");
    assert_eq!(all[0].1, "Image Update", "{out}");

    let _ = Command::new("docker")
        .args(["rmi", "-f", &format!("trtrig-multi-app-{pid}:latest")])
        .output();
}

fn minutes_ago(n: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(n)).to_rfc3339()
}

#[test]
fn timer_fires_after_an_occurrence_since_the_last_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let file = write_task(
        &tmp.path().join("t"),
        "steps:\n  - cmd: taskrun-busybox echo timer-ran\n",
    );
    ok(
        &home,
        &[
            "task",
            "create",
            "-n",
            "nightly",
            "-f",
            file.to_str().expect("utf-8"),
            "--schedule",
            "* * * * *",
        ],
    );
    // The first cycle only records the time.
    ok(&home, &["serve", "--once"]);
    assert!(runs(&home).is_empty());
    let store = Store::open(&home).expect("store");
    let last = store
        .get_task_state("nightly", "timer:* * * * *")
        .expect("state")
        .expect("the first cycle recorded the time");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&last).is_ok(),
        "{last}"
    );

    // An occurrence between the last check and now: the task fires, trigger Timer.
    store
        .set_task_state("nightly", "timer:* * * * *", &minutes_ago(2))
        .expect("set state");
    let out = ok(&home, &["serve", "--once"]);
    assert_eq!(
        runs(&home),
        vec![("nightly".into(), "Timer".into(), "Succeeded".into())],
        "{out}"
    );
    assert!(ok(&home, &["task", "logs", "-n", "nightly"]).contains("timer-ran"));

    // A schedule with no occurrence since the last check (yearly, on a day not in between).
    let yearly = "0 0 1 1 *";
    ok(
        &home,
        &["task", "update", "-n", "nightly", "--schedule", yearly],
    );
    ok(&home, &["serve", "--once"]);
    store
        .set_task_state("nightly", &format!("timer:{yearly}"), &minutes_ago(2))
        .expect("set state");
    ok(&home, &["serve", "--once"]);
    let now = chrono::Utc::now();
    let new_year = now.format("%m-%d %H:%M").to_string();
    if !new_year.starts_with("01-01 00:0") {
        assert_eq!(runs(&home).len(), 1, "no occurrence, no run");
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn commit_trigger_fires_on_a_new_commit_with_run_commit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let repo = tmp.path().join("repo");
    let file = write_task(
        &repo,
        "steps:\n  - cmd: taskrun-busybox echo built-{{.Run.Commit}}\n",
    );
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    ok(
        &home,
        &[
            "task",
            "create",
            "-n",
            "ci",
            "-f",
            file.to_str().expect("utf-8"),
            "-c",
            repo.to_str().expect("utf-8"),
            "--commit-trigger-enabled",
            "true",
        ],
    );
    // The first cycle only records the commit; an unchanged HEAD fires nothing.
    ok(&home, &["serve", "--once"]);
    ok(&home, &["serve", "--once"]);
    assert!(runs(&home).is_empty());

    std::fs::write(repo.join("README"), "two\n").expect("write");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "two"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let out = ok(&home, &["serve", "--once"]);
    assert_eq!(
        runs(&home),
        vec![("ci".into(), "Commit".into(), "Succeeded".into())],
        "{out}"
    );
    let log = ok(&home, &["task", "logs", "-n", "ci"]);
    assert!(log.contains(&format!("built-{head}")), "{log}");

    ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 1, "the same commit fires once");
}

/// Kills the child on drop (also when an assertion fails).
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn cli_reads_the_store_while_serve_writes_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let names = ["tick-a", "tick-b", "tick-c"];
    for name in names {
        let file = write_task(
            &tmp.path().join(name),
            &format!("steps:\n  - cmd: taskrun-busybox echo {name}-ran\n"),
        );
        ok(
            &home,
            &[
                "task",
                "create",
                "-n",
                name,
                "-f",
                file.to_str().expect("utf-8"),
                "--schedule",
                "* * * * *",
            ],
        );
    }
    ok(&home, &["task", "run", "-n", "tick-a", "--output", "plain"]);
    let store = Store::open(&home).expect("store");
    let rewind = |store: &Store| {
        for name in names {
            store
                .set_task_state(name, "timer:* * * * *", &minutes_ago(2))
                .expect("set state");
        }
    };
    rewind(&store);

    let daemon = Daemon(
        Command::new(BIN)
            .args(["serve", "--interval", "1"])
            .env("TASKRUN_HOME", &home)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve"),
    );

    // At least 20 rounds, and on until serve has recorded runs of every task meanwhile (the
    // test store is rewound each round so that every cycle fires again).
    let mut rounds = 0;
    loop {
        rounds += 1;
        let out = taskrun(&home, &["task", "list-runs", "-o", "json"]);
        assert!(
            out.status.success(),
            "round {rounds}: list-runs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        let listed = json.as_array().expect("a list");
        assert!(!listed.is_empty());
        for r in listed {
            assert!(r["runId"].as_str().is_some_and(|id| id.starts_with("ca")));
        }
        let out = taskrun(&home, &["task", "list-runs"]);
        assert!(out.status.success(), "round {rounds}: list-runs table");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("RUN ID"));
        let out = taskrun(&home, &["task", "logs"]);
        assert!(
            out.status.success(),
            "round {rounds}: logs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // ca1 is the finished manual run (a running run has no log yet).
        let out = taskrun(&home, &["task", "logs", "--run-id", "ca1"]);
        assert!(out.status.success(), "round {rounds}: logs --run-id ca1");
        assert!(String::from_utf8_lossy(&out.stdout).contains("tick-a-ran"));

        let timer_runs: Vec<_> = runs(&home)
            .into_iter()
            .filter(|(_, trigger, status)| trigger == "Timer" && status == "Succeeded")
            .map(|(task, _, _)| task)
            .collect();
        let all_fired = names.iter().all(|n| timer_runs.iter().any(|t| t == n));
        if rounds >= 20 && all_fired {
            break;
        }
        assert!(
            rounds < 2000,
            "serve never fired the timers: {timer_runs:?}"
        );
        rewind(&store);
    }
    drop(daemon);
    // The store is consistent afterwards: every run is finished or was cut by the kill.
    let out = ok(&home, &["task", "list-runs", "-o", "json"]);
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    assert!(json.as_array().is_some_and(|a| a.len() > 1));
}

#[test]
fn cancel_run_stops_a_run_of_serve_and_serve_goes_on_until_ctrl_c() {
    let _engine = common::need_docker();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let sleepy = write_task(
        &tmp.path().join("a"),
        "steps:\n  - id: wait\n    cmd: taskrun-busybox sh -c 'echo started; sleep 120'\n",
    );
    let quick = write_task(
        &tmp.path().join("b"),
        "steps:\n  - cmd: taskrun-busybox echo quick-ran\n",
    );
    for (name, file) in [("a-sleepy", &sleepy), ("b-quick", &quick)] {
        ok(
            &home,
            &[
                "task",
                "create",
                "-n",
                name,
                "-f",
                file.to_str().expect("utf-8"),
                "--schedule",
                "* * * * *",
            ],
        );
    }
    // The first cycle records the time; then both timers are due.
    ok(&home, &["serve", "--once"]);
    let store = Store::open(&home).expect("store");
    for name in ["a-sleepy", "b-quick"] {
        store
            .set_task_state(name, "timer:* * * * *", &minutes_ago(2))
            .expect("set state");
    }
    // A serve that keeps going (not `--once`): canceling its run must not stop it.
    let mut serve = Command::new(common::bin())
        .args(["serve", "--interval", "1"])
        .env("TASKRUN_HOME", &home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let pid = serve.id();

    // As soon as the store says Running (serve may still be preparing the run).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let id = loop {
        let running = store
            .list_runs_with(Some("a-sleepy"), Some(RunStatus::Running), None)
            .expect("list");
        if let Some(r) = running.first() {
            break r.id.clone();
        }
        assert!(std::time::Instant::now() < deadline, "a-sleepy never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let canceled = taskrun(&home, &["task", "cancel-run", &id]);
    let said = common::output_text(&canceled);
    assert!(canceled.status.success(), "{said}");
    assert!(said.contains(&format!("Run {id} was canceled")), "{said}");

    // serve was not stopped: it runs the other task, and goes on.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store
        .list_runs_with(Some("b-quick"), Some(RunStatus::Succeeded), None)
        .expect("list")
        .is_empty()
    {
        assert!(std::time::Instant::now() < deadline, "b-quick never ran");
        assert!(serve.try_wait().expect("wait").is_none(), "serve ended");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(serve.try_wait().expect("wait").is_none(), "serve ended");
    // Ctrl-C stops it.
    // SAFETY: kill(2) on our child's pid; it touches no memory.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let out = serve.wait_with_output().expect("serve");
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(text.contains("quick-ran"), "{text}");
    let all = runs(&home);
    for expected in [
        ("a-sleepy".into(), "Timer".into(), "Canceled".into()),
        ("b-quick".into(), "Timer".into(), "Succeeded".into()),
    ] {
        assert!(all.contains(&expected), "{all:?}\n{text}");
    }
    assert!(
        common::leftovers(pid).is_empty(),
        "left on the engine: {:?}",
        common::leftovers(pid)
    );
}
