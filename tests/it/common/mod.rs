//! Helpers shared by the integration tests that drive the real binary, the Docker CLI and the
//! local registries of scripts/test-env.sh. Each helper panics with a message that says to run
//! that script, so a missing environment fails a test instead of skipping it.
//!
//! Engine tests hold the lock of [`need_docker`] (shared) or [`need_docker_alone`] (exclusive)
//! while they run. The lock is per test binary: a test takes it exclusively when no other run of
//! its binary may start meanwhile (every taskrun run removes the leftovers of dead runs on the
//! engine, so a test that checks that a killed run's leftovers exist, or that restarts the
//! engine, runs alone).

#![allow(dead_code)]

pub mod remote;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test (as cargo built it; runs use [`bin`]).
pub const BIN: &str = env!("CARGO_BIN_EXE_taskrun");

/// The local image of scripts/test-env.sh.
pub const BUSYBOX: &str = "taskrun-busybox:latest";

/// Every manifest media type, as a registry client sends them.
pub const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// The media type of a single-platform image manifest, as the engine pushes it.
pub const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// How long a taskrun process may take before a test calls it hung (a generous deadline that
/// only turns a hang into a failure).
pub const HANG: Duration = Duration::from_secs(240);

static ENGINE: RwLock<()> = RwLock::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);
static BIN_LINK: OnceLock<PathBuf> = OnceLock::new();

// ---------------------------------------------------------------------------------------------
// The binary

/// The binary under test, hard-linked (or copied) into a directory of this test process when
/// first used, under its own name: engine tests run for minutes, and another build into the
/// same target directory (another worktree, `cargo install --target-dir`) must not swap the
/// binary under them. The directories of test processes that are gone are removed.
pub fn bin() -> &'static Path {
    BIN_LINK.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-bin");
        std::fs::create_dir_all(&root).unwrap();
        for entry in std::fs::read_dir(&root).unwrap().map_while(Result::ok) {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !Path::new("/proc").join(&pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = root.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("taskrun");
        if std::fs::hard_link(BIN, &link).is_err() {
            std::fs::copy(BIN, &link).unwrap();
        }
        link
    })
}

/// `taskrun` ([`bin`]) in `dir` with `TASKRUN_HOME=home`, no colour, no stdin, and neither the
/// caller's default registry nor its CI settings.
pub fn taskrun_command(dir: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir)
        .env("TASKRUN_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("TASKRUN_REGISTRY")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null());
    cmd
}

/// Runs taskrun with `TASKRUN_HOME=home`.
pub fn taskrun(home: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("TASKRUN_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .expect("taskrun")
}

/// Runs taskrun and asserts it succeeded; returns stdout and stderr.
pub fn ok(home: &Path, args: &[&str]) -> String {
    let out = taskrun(home, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "taskrun {args:?}: {text}");
    text
}

/// `(task, trigger, status)` of every run, newest first, from `task list-runs -o json`.
pub fn runs(home: &Path) -> Vec<(String, String, String)> {
    let out = taskrun(home, &["task", "list-runs", "-o", "json"]);
    assert!(
        out.status.success(),
        "list-runs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("list-runs prints JSON");
    json.as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["task"].as_str().unwrap_or_default().to_owned(),
                r["trigger"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A process's stdout and stderr, headed, for assertion messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// The engine

/// Whether the engine answers `docker version`.
pub fn engine_answers() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails the test when the engine does not answer.
pub fn check_docker() {
    assert!(
        engine_answers(),
        "need a Docker engine: run scripts/test-env.sh"
    );
}

/// Holds the engine lock shared for the rest of the test, and checks the engine.
pub fn need_docker() -> RwLockReadGuard<'static, ()> {
    let guard = ENGINE.read().unwrap_or_else(|e| e.into_inner());
    check_docker();
    guard
}

/// Holds the engine lock exclusively (no other test of this binary runs meanwhile), and checks
/// the engine.
pub fn need_docker_alone() -> RwLockWriteGuard<'static, ()> {
    let guard = ENGINE.write().unwrap_or_else(|e| e.into_inner());
    check_docker();
    guard
}

/// Runs the docker CLI (with its own `DOCKER_CONFIG` when given); panics with its output on
/// failure; returns stdout.
pub fn docker_in(config: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new("docker");
    if let Some(c) = config {
        cmd.env("DOCKER_CONFIG", c);
    }
    let mut child = cmd
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("need a Docker engine: run scripts/test-env.sh");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The docker CLI with the user's config, asserting success; returns stdout.
pub fn docker(args: &[&str]) -> String {
    docker_in(None, args, None)
}

/// The docker CLI, which may fail; returns (success, stdout + stderr).
pub fn try_docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("need the docker CLI: run scripts/test-env.sh");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A name unique to this process and call (`what-<pid>-<n>`), usable in image names and run
/// ids.
pub fn unique(what: &str) -> String {
    format!(
        "{what}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Containers, networks and volumes labelled `io.taskrun.run` by the taskrun process `pid`.
pub fn leftovers(pid: u32) -> Vec<String> {
    let pid_label = format!("label=io.taskrun.pid={pid}");
    let mut found = Vec::new();
    for (what, format) in [
        (&["ps", "-a"][..], "{{.Names}}"),
        (&["network", "ls"][..], "{{.Name}}"),
        (&["volume", "ls"][..], "{{.Name}}"),
    ] {
        let mut args = what.to_vec();
        args.extend([
            "--filter",
            "label=io.taskrun.run",
            "--filter",
            &pid_label,
            "--format",
            format,
        ]);
        found.extend(
            docker(&args)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    found
}

/// Removes the listed image references when dropped (also when an assertion fails).
#[derive(Default)]
pub struct Images(Vec<String>);

impl Images {
    /// Remembers `reference` (an image a run makes) and returns it.
    pub fn add(&mut self, reference: &str) -> String {
        self.0.push(reference.to_owned());
        reference.to_owned()
    }

    /// Tags the local busybox as `reference` (an image to push) and remembers it.
    pub fn tag(&mut self, reference: &str) -> String {
        docker(&["tag", BUSYBOX, reference]);
        self.add(reference)
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let mut args = vec!["rmi", "-f"];
            args.extend(self.0.iter().map(String::as_str));
            let _ = try_docker(&args);
        }
    }
}

/// A loopback TCP port with nothing listening on it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// Registries

/// Fails the test unless the registries of scripts/test-env.sh answer as expected:
/// 127.0.0.1:5000 open, 127.0.0.1:5001 asking for credentials.
pub fn check_registries() {
    for (registry, want) in [("127.0.0.1:5000", "200"), ("127.0.0.1:5001", "401")] {
        let code = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5"])
            .arg(format!("http://{registry}/v2/"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        assert_eq!(
            code, want,
            "registry {registry} is not answering as expected: run scripts/test-env.sh"
        );
    }
}

/// `(registry, repository, tag or digest)` of `host:port/repo:tag` or `host:port/repo@digest`.
pub fn split_reference(reference: &str) -> (&str, &str, &str) {
    let (repo, tag) = match reference.split_once('@') {
        Some(by_digest) => by_digest,
        None => reference.rsplit_once(':').expect("tagged reference"),
    };
    let (registry, repo) = repo.split_once('/').expect("registry/repository");
    (registry, repo, tag)
}

/// The manifest `repo:tag` (`tag` may be a digest) from the registry at `registry`
/// (`host:port`), fetched by `curl` with the media types `accept` and basic auth `user`
/// (`name:password`) when given: the response head and body (all in the head when the answer
/// has no body).
pub fn fetch_manifest(
    registry: &str,
    repo: &str,
    tag: &str,
    accept: &str,
    user: Option<&str>,
) -> (String, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-D",
        "-",
        "-m",
        "10",
        "-H",
        &format!("Accept: {accept}"),
    ]);
    if let Some(u) = user {
        cmd.args(["-u", u]);
    }
    let out = cmd
        .arg(format!("http://{registry}/v2/{repo}/manifests/{tag}"))
        .output()
        .expect("curl");
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    match all.split_once("\r\n\r\n") {
        Some((head, body)) => (head.to_owned(), body.to_owned()),
        None => (all, String::new()),
    }
}

/// The `Docker-Content-Digest` of a response head that answers 200.
pub fn digest_in(head: &str) -> Option<String> {
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("docker-content-digest")
            .then(|| v.trim().to_owned())
    })
}

/// `Docker-Content-Digest` of `host/repo:tag` in a local registry, with every manifest media
/// type accepted; fails the test when it is not there.
pub fn registry_digest(reference: &str) -> String {
    registry_digest_as(reference, None)
}

/// [`registry_digest`] with basic auth `user` (`name:password`) when given.
pub fn registry_digest_as(reference: &str, user: Option<&str>) -> String {
    let (registry, repo, tag) = split_reference(reference);
    let (head, _) = fetch_manifest(registry, repo, tag, ACCEPT, user);
    digest_in(&head).unwrap_or_else(|| {
        panic!("no Docker-Content-Digest for {reference} (run scripts/test-env.sh): {head}")
    })
}

/// The digest the registry at `registry` reports for `repo:tag` as a v2 manifest (what a push
/// of a local image makes), with basic auth `user` (`name:password`) when given; `None`: not
/// there.
pub fn manifest_digest(
    registry: &str,
    repo: &str,
    tag: &str,
    user: Option<&str>,
) -> Option<String> {
    digest_in(&fetch_manifest(registry, repo, tag, MANIFEST_V2, user).0)
}

// ---------------------------------------------------------------------------------------------
// Task directories and runs

/// A temporary task directory: `acr-task.yaml`, the CONTEXT `ctx/`, and `TASKRUN_HOME` `home/`.
pub struct Ws {
    dir: tempfile::TempDir,
    unset: Vec<&'static str>,
}

impl Ws {
    /// Writes `task` (with every `BUSYBOX` replaced by [`BUSYBOX`]) and makes the context.
    pub fn new(task: &str) -> Self {
        let ws = Self {
            dir: tempfile::tempdir().unwrap(),
            unset: Vec::new(),
        };
        std::fs::create_dir_all(ws.ctx()).unwrap();
        ws.write_task(task);
        ws
    }

    /// Runs of this directory do not see the test's `var`.
    pub fn without_env(mut self, var: &'static str) -> Self {
        self.unset.push(var);
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn ctx(&self) -> PathBuf {
        self.path().join("ctx")
    }

    pub fn task(&self) -> PathBuf {
        self.path().join("acr-task.yaml")
    }

    /// (Re)writes the task file, with every `BUSYBOX` replaced by [`BUSYBOX`].
    pub fn write_task(&self, task: &str) {
        std::fs::write(self.task(), task.replace("BUSYBOX", BUSYBOX)).unwrap();
    }

    /// Writes a file into the context (and the directories it is in).
    pub fn file(&self, rel: &str, content: &str) {
        let p = self.ctx().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// `taskrun run -f acr-task.yaml ARGS… CTX` with `TASKRUN_HOME=home`, stdout and stderr
    /// piped, not yet started.
    pub fn command_in(&self, args: &[&str], ctx: &Path, home: &Path) -> Command {
        let mut cmd = taskrun_command(self.path(), home);
        cmd.arg("run")
            .arg("-f")
            .arg(self.task())
            .args(args)
            .arg(ctx)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in &self.unset {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `taskrun run -f acr-task.yaml ARGS… ctx`, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in(args, &self.ctx(), &self.path().join("home"))
    }

    /// Runs to completion (a hang fails the test).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs to completion with `env` set.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::of(self.command(args).envs(env.iter().copied()))
    }

    /// Starts a run whose stdout is read line by line as it comes.
    pub fn start(&self, args: &[&str]) -> Live {
        Live::new(self.command(args).spawn().unwrap())
    }
}

/// A finished `taskrun` process.
#[derive(Debug)]
pub struct Run {
    pub pid: u32,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    /// Runs `cmd` (stdout and stderr piped) to completion; a hang fails the test.
    pub fn of(cmd: &mut Command) -> Self {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self::wait(child)
    }

    /// Waits for a child started with stdout and stderr piped; a hang fails the test.
    pub fn wait(child: Child) -> Self {
        Live::new(child).finish()
    }

    pub fn all(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code, showing the whole output when it differs.
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\n{}", self.all());
        self
    }

    /// [`Run::expect`], and that taskrun did not panic.
    pub fn expect_no_panic(&self, code: i32) -> &Self {
        self.expect(code);
        assert!(!self.all().contains("panicked"), "{}", self.all());
        self
    }

    /// Asserts that the output contains every one of `parts`.
    pub fn says(&self, parts: &[&str]) -> &Self {
        for p in parts {
            assert!(
                self.all().contains(p),
                "no `{p}` in the output\n{}",
                self.all()
            );
        }
        self
    }

    /// Asserts that nothing labelled by the run is left on the engine.
    pub fn left_nothing(&self) -> &Self {
        let left = leftovers(self.pid);
        assert!(left.is_empty(), "left {left:?}");
        self
    }

    /// `--output json`: every stdout line is a JSON object.
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", self.all()));
                assert!(v.is_object(), "not an object: {l}");
                v
            })
            .collect()
    }

    /// The json `run_finished` event, the last one.
    pub fn finished(&self) -> Value {
        let events = self.events();
        let last = events.last().cloned().unwrap_or_default();
        assert_eq!(last["event"], "run_finished", "{}", self.all());
        last
    }

    /// Step id → status, from the json `run_finished` event.
    pub fn statuses(&self) -> BTreeMap<String, String> {
        self.finished()["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_owned(),
                    s["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Plain-mode output lines of one step (`[id] line` without the prefix).
    pub fn lines_of(&self, step: &str) -> Vec<String> {
        let prefix = format!("[{step}] ");
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// What the step's container printed (plain mode): its lines without taskrun's own
    /// `started` and `succeeded after …` lines.
    pub fn output_of(&self, step: &str) -> Vec<String> {
        self.lines_of(step)
            .into_iter()
            .filter(|l| l != "started" && !l.starts_with("succeeded after "))
            .collect()
    }

    /// Json `log` lines of one step.
    pub fn logs_of(&self, step: &str) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "log" && e["step"] == step)
            .map(|e| e["line"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn has_line(&self, step: &str, line: &str) -> bool {
        self.lines_of(step).iter().any(|l| l == line)
    }
}

/// The exit code of a process, `128 + signal` for one a signal ended.
pub fn exit_code(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// The lines of `stream`, read on a thread, as they come.
pub fn line_channel(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// All of `stream`, read to its end on a thread.
pub fn read_on_thread(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stream.read_to_string(&mut s);
        s
    })
}

/// A running `taskrun` whose stdout lines arrive on a channel.
pub struct Live {
    child: Child,
    started: Instant,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: JoinHandle<String>,
}

impl Live {
    /// Follows a child started with stdout and stderr piped.
    pub fn new(mut child: Child) -> Self {
        let lines = line_channel(child.stdout.take().unwrap());
        let stderr = read_on_thread(child.stderr.take().unwrap());
        Self {
            child,
            started: Instant::now(),
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads output until a line equals `line` (a run still without it after [`HANG`] fails
    /// the test).
    pub fn wait_for(&mut self, line: &str) {
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let found = l == line;
                    self.seen.push(l);
                    if found {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line `{line}` ({e:?}); output so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Sends `signal` (`INT`, `TERM`, `KILL`…) to the process.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal} failed");
    }

    /// Waits for the process to exit; a process still running after [`HANG`] is killed and
    /// fails the test.
    pub fn finish(mut self) -> Run {
        let deadline = Instant::now() + HANG;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.seen.extend(self.lines.try_iter());
                panic!(
                    "taskrun hung (killed after {HANG:?}); output so far:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let took = self.started.elapsed();
        self.seen.extend(self.lines.iter());
        Run {
            pid: self.child.id(),
            code: exit_code(&status),
            stdout: self.seen.join("\n"),
            stderr: self.stderr.join().unwrap(),
            took,
        }
    }
}
