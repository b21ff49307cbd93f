//! Fault injection against the REAL engine and registries: `taskrun run` (the binary, as a user
//! runs it) while the engine is unreachable or restarts, while a registry is down, slow, answers
//! 500 or never answers, with refused credentials, with a full workspace, and when taskrun is
//! signalled in the middle of a build or a push. What each fault does, and how long it takes, is
//! written up in docs/faults.md.
//!
//! The environment comes from `scripts/test-env.sh` (dockerd on the default socket, registries on
//! 127.0.0.1:5000 and :5001, the image `taskrun-busybox:latest`); every test that needs it FAILS
//! without it. Registry faults come from a small proxy in this file in front of 127.0.0.1:5000
//! (the engine treats 127.0.0.0/8 as an insecure registry, so it pushes there over plain HTTP).
//! The disk-full test mounts a tmpfs, and the engine-restart test stops and restarts the shared
//! dockerd: both need root, as the rest of the environment does.
//!
//! Locking: every engine test holds a shared lock. The engine restart and the tests that check
//! that a killed run's leftovers exist take it exclusively (any taskrun run removes the leftovers
//! of dead runs). Leftover checks are scoped to the child's pid label. No assertion depends on
//! timing; generous deadlines only turn a hang into a failure.

#[path = "it/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{
    BUSYBOX, HANG, Images, Run, Ws, docker, engine_answers, free_port, leftovers, manifest_digest,
    need_docker, need_docker_alone, try_docker, unique,
};

/// The open registry of scripts/test-env.sh, behind every fault proxy.
const REGISTRY: &str = "127.0.0.1:5000";

// ---------------------------------------------------------------------------------------------
// Helpers: task directories, leftovers

/// A task directory whose runs reach the engine on the default socket (the dockerd these tests
/// stop and restart), whatever `DOCKER_HOST` the tests run with.
fn task_dir(task: &str) -> Ws {
    Ws::new(task).without_env("DOCKER_HOST")
}

/// What the dead run `pid` left on the engine, checked against `expected` name suffixes. Every
/// taskrun run removes the leftovers of dead runs on this host when it starts, so a run outside
/// this test binary (another test binary or user of the shared engine) may have removed them
/// already: an empty set is accepted with a note, a partial one is not.
fn left_behind(pid: u32, expected: &[&str]) -> Vec<String> {
    let left = leftovers(pid);
    if left.is_empty() {
        eprintln!("note: another taskrun run on this engine removed the leftovers of pid {pid}");
    }
    for suffix in expected {
        assert!(
            left.is_empty() || left.iter().any(|n| n.ends_with(suffix)),
            "no *{suffix} among the leftovers of pid {pid}: {left:?}"
        );
    }
    left
}

/// Runs a one-step task (its start removes the leftovers of dead runs) and asserts that nothing
/// of the dead run `pid` is left. When `left` was not empty, the run says it removed leftovers
/// (unless another run got there first, see [`left_behind`]).
fn next_run_removes(pid: u32, left: &[String]) {
    let next = task_dir(&format!(
        "version: v1.0.0\nsteps:\n  - id: hi\n    cmd: {BUSYBOX} echo hi\n"
    ));
    let run = next.run(&["--output", "plain"]);
    run.expect_no_panic(0);
    if !left.is_empty()
        && !run
            .stdout
            .contains("leftover resource(s) of interrupted runs")
    {
        eprintln!("note: another taskrun run on this engine removed the leftovers of pid {pid}");
    }
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

/// Prints a figure for docs/faults.md (shown with `--nocapture`).
fn figure(what: &str, took: Duration) {
    eprintln!("FIGURE {what}: {:.1}s", took.as_secs_f64());
}

/// Pushes busybox, tagged `<registry>/<unique name>:v1`, with `--output mode`; returns the
/// run, the image, its repository, and the local tag (removed when dropped).
fn push(registry: &str, name: &str, mode: &str) -> (Run, String, String, Images) {
    let mut images = Images::default();
    let repo = unique(name);
    let image = images.tag(&format!("{registry}/{repo}:v1"));
    let run = task_dir(&push_task(&[&image])).run(&["--output", mode]);
    (run, image, repo, images)
}

fn push_task(images: &[&str]) -> String {
    let list: Vec<String> = images.iter().map(|i| format!("\"{i}\"")).collect();
    format!(
        "version: v1.0.0\nsteps:\n  - id: push\n    push: [{}]\n",
        list.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// The fault proxy: a registry front on a free loopback port that forwards to 127.0.0.1:5000,
// request by request (it adds `Connection: close`, so every request arrives on a connection of
// its own and can be failed, delayed or stalled on its own).

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Every response is held back `delay`, and every 16 KiB chunk either way `delay / 10`.
    Slow(Duration),
    /// The first `n` requests whose method starts with `method` and whose path contains `path`
    /// get a 500; every other request is forwarded.
    FailFirst {
        n: usize,
        method: &'static str,
        path: &'static str,
    },
    /// Every request gets a 500.
    Always500,
    /// `GET /v2/` is forwarded; every other request is read and never answered.
    Stall,
}

struct FaultProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<String>>>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let matched = Arc::new(AtomicUsize::new(0));
        let accept = {
            let (stop, log) = (Arc::clone(&stop), Arc::clone(&log));
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (stop, log, matched) =
                        (Arc::clone(&stop), Arc::clone(&log), Arc::clone(&matched));
                    std::thread::spawn(move || {
                        serve(conn, fault, &stop, &log, &matched);
                    });
                }
            })
        };
        Self {
            port,
            stop,
            log,
            accept: Some(accept),
        }
    }

    /// `127.0.0.1:<port>`, the registry host to push to.
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One line per request: `500 POST /v2/…`, `fwd GET /v2/`, `stall …`.
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, verdict: &str) -> usize {
        self.log()
            .iter()
            .filter(|l| l.starts_with(&format!("{verdict} ")))
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Serves one connection (one request, thanks to `Connection: close`).
fn serve(
    mut client: TcpStream,
    fault: Fault,
    stop: &AtomicBool,
    log: &Mutex<Vec<String>>,
    matched: &AtomicUsize,
) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    // The engine tries HTTPS first on an insecure registry: a TLS ClientHello is closed, as a
    // plain HTTP registry would fail it, and the engine falls back to HTTP.
    let Some((head, body)) = read_head(&mut client) else {
        return;
    };
    let head = String::from_utf8_lossy(&head).into_owned();
    let line = head.lines().next().unwrap_or_default().to_owned();
    let fail = match fault {
        Fault::Always500 => true,
        Fault::FailFirst { n, method, path } => {
            let mut parts = line.split(' ');
            let matches = parts.next().unwrap_or_default().starts_with(method)
                && parts.next().unwrap_or_default().contains(path);
            matches && matched.fetch_add(1, Ordering::SeqCst) < n
        }
        Fault::Slow(_) | Fault::Stall => false,
    };
    let stall = matches!(fault, Fault::Stall) && !line.starts_with("GET /v2/ ");
    let verdict = if fail {
        "500"
    } else if stall {
        "stall"
    } else {
        "fwd"
    };
    log.lock().unwrap().push(format!("{verdict} {line}"));
    if fail {
        let text = if line.starts_with("HEAD ") {
            ""
        } else {
            "injected registry fault\n"
        };
        let _ = write!(
            client,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        // Read what the client still sends, so that closing does not reset the connection
        // before it has read the answer.
        let _ = client.shutdown(Shutdown::Write);
        let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = std::io::copy(&mut client, &mut std::io::sink());
        return;
    }
    if stall {
        // Never answer; stop when the client gives up (the engine abandoned the push) or the
        // proxy stops.
        let _ = client.set_read_timeout(Some(Duration::from_millis(100)));
        let mut buf = [0u8; 16384];
        while !stop.load(Ordering::SeqCst) {
            match client.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
        return;
    }
    let delay = match fault {
        Fault::Slow(d) => d,
        _ => Duration::ZERO,
    };
    let Ok(mut upstream) = TcpStream::connect(REGISTRY) else {
        return;
    };
    let _ = client.set_read_timeout(None);
    // One request per connection: the registry closes after answering.
    let mut rewritten: String = head
        .split("\r\n")
        .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
        .take_while(|h| !h.is_empty())
        .map(|h| format!("{h}\r\n"))
        .collect();
    rewritten.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(rewritten.as_bytes()).is_err() || upstream.write_all(&body).is_err() {
        return;
    }
    let (Ok(mut client_in), Ok(mut upstream_out)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let up = std::thread::spawn(move || {
        copy_slowly(&mut client_in, &mut upstream_out, delay / 10);
        let _ = upstream_out.shutdown(Shutdown::Write);
    });
    std::thread::sleep(delay);
    copy_slowly(&mut upstream, &mut client, delay / 10);
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream.shutdown(Shutdown::Both);
    let _ = up.join();
}

/// Reads an HTTP request head; returns it (without the blank line) and the body bytes read
/// past it. `None` for a TLS handshake, EOF or garbage.
fn read_head(conn: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf[0] == 0x16 || buf.len() > 65536 {
            return None;
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = buf.split_off(end + 4);
            buf.truncate(end + 2);
            return Some((buf, body));
        }
    }
}

fn copy_slowly(from: &mut TcpStream, to: &mut TcpStream, delay: Duration) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Engine unreachable at start

/// A tiny HTTP server that answers every request with 404, as a non-Docker service would.
fn not_docker_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            if read_head(&mut conn).is_some() {
                let _ = conn.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\
                      Content-Length: 19\r\nConnection: close\r\n\r\n404 page not found\n",
                );
            }
        }
    });
    port
}

#[test]
fn an_unreachable_engine_exits_3_naming_the_endpoint_and_what_to_check() {
    // No engine is needed: every DOCKER_HOST below is broken on purpose.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").join("docker.sock");
    // A socket file nobody listens on (what a crashed dockerd leaves behind).
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let closed = free_port();
    let not_docker = not_docker_server();
    let cases = [
        (
            format!("unix://{}", missing.display()),
            "does not exist; is dockerd running?",
        ),
        (
            format!("unix://{}", stale.display()),
            "connection refused; is dockerd running?",
        ),
        (
            format!("tcp://127.0.0.1:{closed}"),
            "connection refused; is dockerd running?",
        ),
        (
            format!("tcp://127.0.0.1:{not_docker}"),
            "it answered HTTP 404 (404 page not found), which is not a Docker engine's answer",
        ),
    ];
    let ws = task_dir(&format!(
        "version: v1.0.0\nsteps:\n  - id: hi\n    cmd: {BUSYBOX} echo hi\n"
    ));
    for (host, why) in cases {
        for mode in ["plain", "json"] {
            let run = ws.run_env(&["--output", mode], &[("DOCKER_HOST", &host)]);
            run.expect_no_panic(3).says(&[
                &format!("error: cannot reach the Docker engine at {host}: "),
                why,
                "DOCKER_HOST",
            ]);
            assert!(run.stdout.is_empty(), "nothing ran\n{}", run.all());
            assert!(
                !run.stderr.contains("\n;"),
                "a stray line break\n{}",
                run.all()
            );
            figure(&format!("unreachable engine {host}"), run.took);
        }
    }
}

#[test]
fn an_engine_endpoint_that_never_answers_exits_3_after_the_connect_timeout() {
    // Accepts connections and never answers (a hung dockerd, a black-holed port).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    {
        let held = Arc::clone(&held);
        std::thread::spawn(move || {
            for conn in listener.incoming().map_while(Result::ok) {
                held.lock().unwrap().push(conn);
            }
        });
    }
    let ws = task_dir(&format!(
        "version: v1.0.0\nsteps:\n  - id: hi\n    cmd: {BUSYBOX} echo hi\n"
    ));
    let host = format!("tcp://127.0.0.1:{port}");
    let run = ws.run_env(&[], &[("DOCKER_HOST", &host)]);
    run.expect_no_panic(3).says(&[
        &format!("cannot reach the Docker engine at {host}: no answer within 30s"),
        "DOCKER_HOST",
    ]);
    figure("silent engine endpoint", run.took);
}

// ---------------------------------------------------------------------------------------------
// Engine restarted mid-run

/// The pid of the local dockerd (the engine of scripts/test-env.sh).
fn dockerd_pid() -> u32 {
    let out = Command::new("pgrep")
        .args(["-x", "dockerd"])
        .output()
        .unwrap();
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(
        pids.len(),
        1,
        "need exactly one local dockerd (scripts/test-env.sh): {pids:?}"
    );
    pids[0]
}

/// Runs scripts/test-env.sh (in its own process group, so that a Ctrl-C of the tests does not
/// reach the dockerd it starts) and checks that the engine, the image and the registries are
/// back.
fn restore_engine() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-env.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .process_group(0)
        .output()
        .expect("bash scripts/test-env.sh");
    assert!(
        out.status.success(),
        "scripts/test-env.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(engine_answers(), "the engine is not back");
    docker(&["image", "inspect", "--format", "{{.Id}}", BUSYBOX]);
    assert!(
        manifest_digest(REGISTRY, "busybox", "latest", None).is_some(),
        "the registry on {REGISTRY} is not back"
    );
}

/// Brings the engine back when dropped, whatever happened in the test.
struct EngineBack;

impl Drop for EngineBack {
    fn drop(&mut self) {
        if !engine_answers() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-env.sh");
            let _ = Command::new("bash")
                .arg(script)
                .stdin(Stdio::null())
                .process_group(0)
                .output();
        }
    }
}

#[test]
fn an_engine_restart_mid_run_exits_3_and_the_next_run_removes_the_leftovers() {
    let _engine = need_docker_alone();
    let _back = EngineBack;
    let dockerd = dockerd_pid();
    // The trap makes the container stop at once when dockerd stops it (a plain `sleep` as pid 1
    // ignores SIGTERM and is killed after the 10 s stop timeout).
    let ws = task_dir(&format!(
        r#"version: v1.0.0
steps:
  - id: sleeper
    cmd: {BUSYBOX} sh -c 'trap "exit 143" TERM; echo sleeping; sleep 300 & wait'
  - id: after
    cmd: {BUSYBOX} echo after
"#
    ));
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for("[sleeper] sleeping");
    let pid = live.pid();

    let stopping = Instant::now();
    let ok = Command::new("kill")
        .args(["-TERM", &dockerd.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM dockerd");
    let deadline = Instant::now() + HANG;
    while Path::new(&format!("/proc/{dockerd}")).exists() {
        assert!(Instant::now() < deadline, "dockerd did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    figure("dockerd stop", stopping.elapsed());
    // taskrun must end on its own while the engine is away.
    let run = live.finish();
    figure("dockerd SIGTERM to taskrun exit", stopping.elapsed());
    figure("run until exit after the engine went away", run.took);
    eprintln!("{}", run.all());
    run.expect_no_panic(3).says(&[
        "cannot reach the Docker engine at unix:///var/run/docker.sock",
        "the engine went away during the run; failed to run step ID: sleeper",
        "is removed by the next taskrun run on this host",
    ]);
    assert!(!run.stdout.contains("[after] after"), "{}", run.all());

    let restarting = Instant::now();
    restore_engine();
    figure("engine restart (scripts/test-env.sh)", restarting.elapsed());
    // The run could not clean up while the engine was away.
    let left = left_behind(pid, &["-sleeper", "-network", "-workspace", "-home"]);
    next_run_removes(pid, &left);
}

// ---------------------------------------------------------------------------------------------
// Registry faults during a push

#[test]
fn a_push_to_a_registry_that_is_down_fails_after_three_attempts_naming_the_image() {
    let _engine = need_docker();
    let (run, image, _, _images) = push(
        &format!("127.0.0.1:{}", free_port()),
        "trfault-down",
        "plain",
    );
    run.expect_no_panic(1).says(&[
        &format!("Pushing image: {image}, attempt 3"),
        &format!(
            "failed to push images successfully (3 attempts): push `{image}` failed: \
             Get \"http://{}/v2/\"",
            image.split('/').next().unwrap()
        ),
        "connection refused",
    ]);
    assert_eq!(leftovers(run.pid), Vec::<String>::new());
    figure("push, registry down", run.took);
}

#[test]
fn a_push_through_a_slow_registry_succeeds() {
    let _engine = need_docker();
    let proxy = FaultProxy::start(Fault::Slow(Duration::from_millis(300)));
    let (run, image, repo, _images) = push(&proxy.host(), "trfault-slow", "plain");
    run.expect_no_panic(0)
        .says(&[&format!("Successfully pushed image: {image}")]);
    assert!(!run.stdout.contains("attempt 2"), "{}", run.all());
    let digest = manifest_digest(REGISTRY, &repo, "v1", None).expect("pushed through the proxy");
    assert!(run.stdout.contains(&digest), "{}", run.all());
    assert!(proxy.count("fwd") > 3, "{:?}", proxy.log());
    figure("push, slow registry", run.took);
}

#[test]
fn a_push_succeeds_when_the_engine_retries_after_500s() {
    let _engine = need_docker();
    // The ping and the blob check answer 500 (the engine carries on), then the upload does
    // (the engine retries the layer after 5 s), then the registry recovers.
    let proxy = FaultProxy::start(Fault::FailFirst {
        n: 3,
        method: "",
        path: "",
    });
    let (run, image, repo, _images) = push(&proxy.host(), "trfault-500-then-ok", "plain");
    run.expect_no_panic(0).says(&[
        "[push] Retrying in 5 seconds",
        &format!("Successfully pushed image: {image}"),
    ]);
    assert!(!run.stdout.contains("attempt 2"), "{}", run.all());
    assert!(
        !run.stdout.contains("Retrying in 4 seconds"),
        "the engine's countdown is shown once\n{}",
        run.all()
    );
    assert_eq!(proxy.count("500"), 3, "{:?}", proxy.log());
    assert!(manifest_digest(REGISTRY, &repo, "v1", None).is_some());
    figure("push, first 3 requests 500", run.took);
}

#[test]
fn a_push_succeeds_on_taskruns_second_attempt_after_a_500_on_the_manifest() {
    let _engine = need_docker();
    // The engine does not retry a failed manifest upload itself: taskrun's attempt 2 does.
    let proxy = FaultProxy::start(Fault::FailFirst {
        n: 1,
        method: "PUT",
        path: "/manifests/",
    });
    let (run, image, repo, _images) = push(&proxy.host(), "trfault-manifest-500", "plain");
    run.expect_no_panic(0).says(&[
        &format!("Pushing image: {image}, attempt 2"),
        &format!("Successfully pushed image: {image}"),
    ]);
    assert!(!run.stdout.contains("attempt 3"), "{}", run.all());
    assert_eq!(proxy.count("500"), 1, "{:?}", proxy.log());
    assert!(manifest_digest(REGISTRY, &repo, "v1", None).is_some());
    figure("push, first manifest upload 500", run.took);
}

#[test]
fn a_push_to_a_registry_answering_500_fails_after_the_retries_naming_the_image() {
    let _engine = need_docker();
    let proxy = FaultProxy::start(Fault::Always500);
    let (run, image, repo, _images) = push(&proxy.host(), "trfault-500", "json");
    run.expect_no_panic(1).says(&[
        &format!("Pushing image: {image}, attempt 3"),
        &format!(
            "failed to push images successfully (3 attempts): push `{image}` failed: \
             received unexpected HTTP status: 500 Internal Server Error"
        ),
    ]);
    assert_eq!(run.statuses()["push"], "failed");
    assert_eq!(manifest_digest(REGISTRY, &repo, "v1", None), None);
    assert_eq!(proxy.count("fwd"), 0, "{:?}", proxy.log());
    assert_eq!(leftovers(run.pid), Vec::<String>::new());
    figure("push, registry always 500", run.took);
}

#[test]
fn a_push_to_a_stalled_registry_is_stopped_by_the_step_timeout() {
    let _engine = need_docker();
    let proxy = FaultProxy::start(Fault::Stall);
    let mut images = Images::default();
    let repo = unique("trfault-stall");
    let image = images.tag(&format!("{}/{repo}:v1", proxy.host()));
    let ws = task_dir(&format!(
        "version: v1.0.0\nsteps:\n  - id: push\n    push: [\"{image}\"]\n    timeout: 5\n"
    ));
    let run = ws.run(&["--output", "json"]);
    run.expect_no_panic(1)
        .says(&["failed to run step ID: push: timed out after 5s"]);
    assert_eq!(run.statuses()["push"], "timedout", "{}", run.all());
    assert!(proxy.count("stall") > 0, "{:?}", proxy.log());
    assert_eq!(leftovers(run.pid), Vec::<String>::new());
    figure("push, stalled registry, timeout: 5", run.took);
}

// ---------------------------------------------------------------------------------------------
// Refused credentials

#[test]
fn refused_credentials_fail_at_once_saying_authentication_failed_without_the_password() {
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trfault-auth");
    let image = images.tag(&format!("127.0.0.1:5001/{repo}:v1"));
    let password = unique("Wrong-Pass");
    let token = {
        // base64 of `taskrun:<password>`, the form a docker config holds.
        let raw = format!("taskrun:{password}");
        let out = Command::new("base64")
            .arg("-w0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(raw.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let ws = task_dir(&push_task(&[&image]));
    let credential =
        format!(r#"{{"registry":"127.0.0.1:5001","username":"taskrun","password":"{password}"}}"#);
    for mode in ["plain", "json"] {
        let run = ws.run(&["--output", mode, "--credential", &credential]);
        run.expect_no_panic(1).says(&[
            &format!(
                "authentication failed: registry `127.0.0.1:5001` refused the credentials for \
                 `{image}`"
            ),
            "unauthorized",
        ]);
        assert!(!run.all().contains(&password), "{}", run.all());
        assert!(!run.all().contains(&token), "{}", run.all());
        assert!(!run.all().contains("attempt 2"), "no retry\n{}", run.all());
        figure(&format!("push, wrong password ({mode})"), run.took);
    }
    // No credentials at all: the same failure, naming the registry.
    let run = ws.run(&["--output", "plain"]);
    run.expect_no_panic(1).says(&[
        "authentication failed: registry `127.0.0.1:5001`",
        "no basic auth credentials",
    ]);
    assert_eq!(
        manifest_digest("127.0.0.1:5001", &repo, "v1", None),
        None,
        "nothing was pushed"
    );
}

// ---------------------------------------------------------------------------------------------
// Disk full in the workspace

/// A tmpfs mounted over a directory; lazily unmounted when dropped (if still mounted).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(over: &Path, size: &str) -> Self {
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "taskrun-fault",
            ])
            .arg(over)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount tmpfs over {} (needs root): {}",
            over.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self(over.to_owned())
    }

    fn is_mounted(&self) -> bool {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| {
                l.split(' ').nth(4) == Some(self.0.to_str().unwrap()) && l.contains("taskrun-fault")
            })
    }

    /// `umount -l`: detached from the host at once; containers that mounted it keep it until
    /// they are removed.
    fn detach(&self) {
        if self.is_mounted() {
            let ok = Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status()
                .unwrap()
                .success();
            assert!(ok, "umount -l {}", self.0.display());
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if self.is_mounted() {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// The engine-side directory of the run's volume ending in `suffix`.
fn volume_dir(pid: u32, suffix: &str) -> PathBuf {
    let names = docker(&[
        "volume",
        "ls",
        "--filter",
        &format!("label=io.taskrun.pid={pid}"),
        "--format",
        "{{.Name}}",
    ]);
    let name = names
        .lines()
        .find(|n| n.ends_with(suffix))
        .unwrap_or_else(|| panic!("no volume *{suffix} of pid {pid}: {names}"));
    PathBuf::from(docker(&["volume", "inspect", "--format", "{{.Mountpoint}}", name]).trim())
}

/// Starts a plain-output run whose step containers are started when due, not ahead at the gate
/// (docs/compat.md "Containers started ahead"): the tests below mount a tmpfs over the workspace
/// volume on the engine host mid-run, which a container started before cannot see.
fn started_when_due(ws: &Ws) -> common::Live {
    common::Live::new(
        ws.command(&["--output", "plain"])
            .env("TASKRUN_START_AHEAD", "0")
            .spawn()
            .unwrap(),
    )
}

#[test]
fn a_workspace_the_engine_cannot_remove_is_reported_and_the_next_run_removes_it() {
    let _engine = need_docker_alone();
    // As above, but the tmpfs stays mounted until the run ends: the engine cannot remove a
    // volume whose directory is a mount point, the run says so (and still exits 1 for the
    // step), and once the mount is gone the next run removes the volume.
    let ws = task_dir(&format!(
        r#"version: v1.0.0
steps:
  - id: wait
    cmd: {BUSYBOX} sh -c 'echo waiting; while [ ! -e /acb/home/full ]; do sleep 0.1; done'
  - id: fill
    cmd: {BUSYBOX} dd if=/dev/zero of=/workspace/big bs=1024 count=4096
"#
    ));
    let mut live = started_when_due(&ws);
    live.wait_for("[wait] waiting");
    let pid = live.pid();
    let workspace = volume_dir(pid, "-workspace");
    let tmpfs = Tmpfs::mount(&workspace, "1m");
    std::fs::write(volume_dir(pid, "-home").join("full"), "").unwrap();
    let run = live.finish();
    run.expect_no_panic(1).says(&[
        "No space left on device",
        "failed to run step ID: fill: exit status 1",
        "Failed to delete volume: taskrun-",
        "device or resource busy",
    ]);
    figure("disk full run, volume still mounted", run.took);
    let left = leftovers(pid);
    assert!(
        left.len() == 1 && left[0].ends_with("-workspace"),
        "only the mounted workspace is left: {left:?}"
    );
    tmpfs.detach();
    next_run_removes(pid, &left);
}

#[test]
fn a_full_workspace_fails_the_step_and_the_run_still_cleans_up() {
    let _engine = need_docker();
    // `wait` holds the run until the workspace is full (a 1 MiB tmpfs over the volume's
    // directory on the engine host); `fill` then writes 4 MiB into /workspace. The steps wait
    // for marker files in the home volume, which the test writes on the host.
    let ws = task_dir(&format!(
        r#"version: v1.0.0
steps:
  - id: wait
    cmd: {BUSYBOX} sh -c 'echo waiting; while [ ! -e /acb/home/full ]; do sleep 0.1; done'
  - id: fill
    cmd: {BUSYBOX} sh -c 'echo filling; while [ ! -e /acb/home/go ]; do sleep 0.1; done; dd if=/dev/zero of=/workspace/big bs=1024 count=4096'
  - id: after
    cmd: {BUSYBOX} echo after
"#
    ));
    let mut live = started_when_due(&ws);
    live.wait_for("[wait] waiting");
    let pid = live.pid();
    let workspace = volume_dir(pid, "-workspace");
    let home = volume_dir(pid, "-home");
    let tmpfs = Tmpfs::mount(&workspace, "1m");
    std::fs::write(home.join("full"), "").unwrap();
    live.wait_for("[fill] filling");
    // `fill` has the tmpfs as its /workspace now. Detaching it from the host leaves it to the
    // container (the disk stays full for the step) and lets the run remove the volume (a
    // directory with a mount on it cannot be removed; see docs/faults.md).
    tmpfs.detach();
    std::fs::write(home.join("go"), "").unwrap();
    let run = live.finish();
    run.expect_no_panic(1).says(&[
        "No space left on device",
        "failed to run step ID: fill: exit status 1",
    ]);
    assert!(
        run.lines_of("after").iter().all(|l| *l != "after"),
        "{}",
        run.all()
    );
    assert!(
        !run.all().contains("Failed to delete volume"),
        "{}",
        run.all()
    );
    assert_eq!(leftovers(pid), Vec::<String>::new());
    figure("disk full run", run.took);
}

// ---------------------------------------------------------------------------------------------
// Signals in the middle of a push and a build

#[test]
fn sigterm_during_a_stalled_push_exits_130_at_once_and_removes_everything() {
    let _engine = need_docker();
    let proxy = FaultProxy::start(Fault::Stall);
    let mut images = Images::default();
    let repo = unique("trfault-sigterm-push");
    let image = images.tag(&format!("{}/{repo}:v1", proxy.host()));
    let ws = task_dir(&push_task(&[&image]));
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for(&format!("[push] Pushing image: {image}, attempt 1"));
    // Wait until the engine is stuck on the registry, then interrupt.
    let deadline = Instant::now() + HANG;
    while proxy.count("stall") == 0 {
        assert!(Instant::now() < deadline, "no stalled request");
        std::thread::sleep(Duration::from_millis(50));
    }
    let signalled = Instant::now();
    live.signal("TERM");
    let run = live.finish();
    figure(
        "SIGTERM during a stalled push, signal to exit",
        signalled.elapsed(),
    );
    run.expect_no_panic(130).says(&["[push] cancelled"]);
    assert!(!run.stdout.contains("attempt 2"), "{}", run.all());
    assert_eq!(leftovers(run.pid), Vec::<String>::new());
    assert_eq!(manifest_digest(REGISTRY, &repo, "v1", None), None);
}

/// Containers whose command contains `marker` (a build's RUN containers carry no label).
fn containers_running(marker: &str) -> Vec<String> {
    docker(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"])
        .lines()
        .filter(|l| l.contains(marker))
        .map(str::to_owned)
        .collect()
}

fn signal_during_a_build(signal: &str) -> (Run, String) {
    let marker = unique("trfault-build");
    let ws = task_dir(&format!(
        "version: v1.0.0\nsteps:\n  - id: build\n    build: -t {marker}:v1 .\n"
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo {marker}-running && sleep 300\n"),
    );
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for(&format!("[build] {marker}-running"));
    live.signal(signal);
    (live.finish(), marker)
}

/// Waits (up to [`HANG`]) until the engine has removed a cancelled build's RUN container.
fn wait_until_gone(marker: &str) {
    let deadline = Instant::now() + HANG;
    loop {
        let left = containers_running(marker);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the build's container was left behind: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigint_during_a_build_exits_130_and_leaves_nothing() {
    let _engine = need_docker();
    let (run, marker) = signal_during_a_build("INT");
    run.expect_no_panic(130).says(&["[build] cancelled"]);
    assert_eq!(leftovers(run.pid), Vec::<String>::new());
    wait_until_gone(&marker);
    let (ok, _) = try_docker(&["image", "inspect", &format!("{marker}:v1")]);
    assert!(!ok, "a cancelled build tags no image");
}

#[test]
fn sigkill_during_a_build_leaves_only_what_the_next_run_removes() {
    let _engine = need_docker_alone();
    let (killed, marker) = signal_during_a_build("KILL");
    assert_eq!(killed.code, 137);
    // The engine stops the build when its client goes away (its RUN container included);
    // taskrun's labelled resources stay until the next run.
    wait_until_gone(&marker);
    // (A build-only task has no run network.)
    let left = left_behind(killed.pid, &["-workspace", "-home"]);
    next_run_removes(killed.pid, &left);
}

#[test]
fn a_second_sigint_exits_130_at_once_and_the_next_run_removes_the_rest() {
    let _engine = need_docker_alone();
    let ws = task_dir(&format!(
        "version: v1.0.0\nsteps:\n  - id: sleeper\n    cmd: {BUSYBOX} sh -c 'echo sleeping; sleep 300'\n"
    ));
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for("[sleeper] sleeping");
    live.signal("INT");
    live.signal("INT");
    let run = live.finish();
    run.expect_no_panic(130);
    let left = leftovers(run.pid);
    next_run_removes(run.pid, &left);
}
