//! Load and memory bounds of `taskrun run` on the REAL engine (docs/reliability.md):
//!
//! * 20 concurrent `taskrun` processes of one 10-step task (sequential and parallel steps), each
//!   step proving it works in its own run's workspace: all succeed, every container name is
//!   unique, and nothing labelled with those runs remains afterwards;
//! * a step printing 200 MB of output, as lines and as one line without a newline, streams with
//!   bounded taskrun memory, also in a named task (`task run`), whose log goes to the store;
//! * a 1 GB build context (a sparse file) streams into the workspace and to the builder without
//!   being held in memory.
//!
//! Peak memory is the taskrun child's `ru_maxrss`, read with `wait4` for that child only, and
//! asserted against a generous bound ([`RSS_LIMIT_KIB`]); no assertion depends on time. The
//! figures (peak RSS, durations) are printed: `cargo test --test load -- --nocapture`.
//!
//! The environment comes from `scripts/test-env.sh`; every test fails (never skips) without it.
//! The tests load the shared engine, so they run one at a time.

#[path = "it/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use common::{
    BUSYBOX, Images, Ws, docker, leftovers, line_channel, need_docker_alone, output_text,
    read_on_thread, taskrun_command,
};

/// Bound on taskrun's peak resident memory while streaming 200 MB of output or a 1 GB context:
/// a small fraction of either (measured figures are in docs/reliability.md).
const RSS_LIMIT_KIB: u64 = 64 * 1024;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A measured child: how it ended, its peak resident memory, what its stdout reader returned,
/// its stderr, and how long it ran.
struct Measured<T> {
    code: i32,
    max_rss_kib: u64,
    stdout: T,
    stderr: String,
    took: Duration,
}

impl<T> Measured<T> {
    fn peak_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }

    /// Asserts the peak RSS is below [`RSS_LIMIT_KIB`].
    fn assert_bounded(&self) {
        assert!(
            self.max_rss_kib < RSS_LIMIT_KIB,
            "peak RSS {:.1} MiB",
            self.peak_mib()
        );
    }
}

/// Runs `cmd` with stdout and stderr piped, stdout read by `read` on a thread as it comes, and
/// measures it with [`wait_with_rusage`].
fn measure<T: Send + 'static>(
    cmd: &mut Command,
    read: impl FnOnce(ChildStdout) -> T + Send + 'static,
) -> Measured<T> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = read_on_thread(child.stderr.take().unwrap());
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || read(stdout));
    let (code, max_rss_kib) = wait_with_rusage(child);
    let stdout = reader.join().unwrap();
    let stderr = stderr.join().unwrap();
    Measured {
        code,
        max_rss_kib,
        stdout,
        stderr,
        took: started.elapsed(),
    }
}

/// Reaps `child` with `wait4`, which reports the resource usage of that child alone (not of
/// the test's other children, such as docker CLI calls); returns its exit code and peak
/// resident memory in KiB.
fn wait_with_rusage(child: Child) -> (i32, u64) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is this process's own child, not reaped yet; both pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "wait4: {err}");
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/// Ten steps: `init`, four parallel steps after it, `join` after all four, `q1` and `q2` in
/// parallel after `join`, `q3` after `q2` (the default "after the previous step"), `final`
/// after `q1` and `q3`. Every step checks files holding the run's own value `v` (also in the
/// CONTEXT, so seeding is checked too) in `/workspace`.
const TEN_STEPS: &str = r#"steps:
  - id: init
    cmd: BUSYBOX sh -c 'test "$(cat /workspace/id.txt)" = "{{.Values.v}}" && echo "{{.Values.v}}" > /workspace/run.txt'
  - id: p1
    when: [init]
    cmd: BUSYBOX sh -c 'grep -qx "{{.Values.v}}" /workspace/run.txt && echo "p1-{{.Values.v}}" > /workspace/p1'
  - id: p2
    when: [init]
    cmd: BUSYBOX sh -c 'grep -qx "{{.Values.v}}" /workspace/run.txt && echo "p2-{{.Values.v}}" > /workspace/p2'
  - id: p3
    when: [init]
    cmd: BUSYBOX sh -c 'grep -qx "{{.Values.v}}" /workspace/run.txt && echo "p3-{{.Values.v}}" > /workspace/p3'
  - id: p4
    when: [init]
    cmd: BUSYBOX sh -c 'grep -qx "{{.Values.v}}" /workspace/run.txt && echo "p4-{{.Values.v}}" > /workspace/p4'
  - id: join
    when: [p1, p2, p3, p4]
    cmd: BUSYBOX sh -c 'for s in p1 p2 p3 p4; do grep -qx "$s-{{.Values.v}}" /workspace/$s || exit 1; done; echo joined > /workspace/join'
  - id: q1
    when: [join]
    cmd: BUSYBOX sh -c 'test -f /workspace/join && echo "q1-{{.Values.v}}" > /workspace/q1'
  - id: q2
    when: [join]
    cmd: BUSYBOX sh -c 'test -f /workspace/join && echo "q2-{{.Values.v}}" > /workspace/q2'
  - id: q3
    cmd: BUSYBOX sh -c 'grep -qx "q2-{{.Values.v}}" /workspace/q2 && echo "q3-{{.Values.v}}" > /workspace/q3'
  - id: final
    when: [q1, q3]
    cmd: BUSYBOX sh -c 'test "$(cat /workspace/q1 /workspace/q3 | grep -c -- "-{{.Values.v}}$")" = 2 && echo "verified $(cat /workspace/run.txt)"'
"#;

const RUNS: usize = 20;

/// `docker events` for container creation, followed live: the engine keeps only the last few
/// hundred events for `--since` queries, far fewer than 20 runs make.
struct CreateEvents {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl CreateEvents {
    fn watch() -> Self {
        let mut child = Command::new("docker")
            .args(["events", "--since", &unix_now().saturating_sub(1).to_string()])
            .args(["--filter", "type=container", "--filter", "event=create"])
            .args([
                "--format",
                r#"{{.Actor.Attributes.name}}|{{index .Actor.Attributes "io.taskrun.pid"}}|{{index .Actor.Attributes "io.taskrun.run"}}|{{index .Actor.Attributes "io.taskrun.step"}}"#,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = line_channel(child.stdout.take().unwrap());
        Self { child, lines }
    }

    /// Every event line up to a sentinel container created now (so none is missed), then
    /// stops watching.
    fn finish(mut self) -> Vec<String> {
        let sentinel = format!("taskrun-load-sentinel-{}", std::process::id());
        docker(&["create", "--name", &sentinel, BUSYBOX, "true"]);
        let mut seen = Vec::new();
        loop {
            // The deadline only turns a broken event stream into a failure instead of a hang.
            match self.lines.recv_timeout(Duration::from_secs(300)) {
                Ok(line) if line.starts_with(&format!("{sentinel}|")) => break,
                Ok(line) => seen.push(line),
                Err(e) => panic!("docker events ended early ({e:?}) after {seen:?}"),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        docker(&["rm", "-f", &sentinel]);
        seen
    }
}

#[test]
fn twenty_concurrent_runs_succeed_without_collisions_or_leftovers() {
    let _engine = need_docker_alone();
    let ws = Ws::new(TEN_STEPS);
    let events = CreateEvents::watch();
    let started = Instant::now();
    let mut children = Vec::new();
    for i in 0..RUNS {
        let value = format!("run{i}-{}", std::process::id());
        let ctx = ws.path().join(format!("ctx{i}"));
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::write(ctx.join("id.txt"), format!("{value}\n")).unwrap();
        let child = ws
            .command_in(
                &["--output", "json", "--set", &format!("v={value}")],
                &ctx,
                &ws.path().join(format!("home{i}")),
            )
            .spawn()
            .unwrap();
        children.push((value, child));
    }
    let waiting: Vec<_> = children
        .into_iter()
        .map(|(value, child)| {
            std::thread::spawn(move || {
                let pid = child.id();
                (value, pid, child.wait_with_output().unwrap())
            })
        })
        .collect();
    let results: Vec<(String, u32, Output)> =
        waiting.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = started.elapsed();

    for (value, _, out) in &results {
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {value}\n{}",
            output_text(out)
        );
        let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let finished = events.last().unwrap();
        assert_eq!(finished["event"], "run_finished", "{}", output_text(out));
        let statuses: Vec<&str> = finished["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["succeeded"; 10], "{}", output_text(out));
        let verified: Vec<&str> = events
            .iter()
            .filter(|e| e["event"] == "log" && e["step"] == "final")
            .map(|e| e["line"].as_str().unwrap())
            .collect();
        assert_eq!(
            verified,
            [format!("verified {value}")],
            "{}",
            output_text(out)
        );
    }

    // Nothing of any run is left.
    for (_, pid, out) in &results {
        let left = leftovers(*pid);
        assert!(
            left.is_empty(),
            "run of pid {pid} left {left:?}\n{}",
            output_text(out)
        );
    }
    let pids: BTreeSet<String> = results.iter().map(|(_, pid, _)| pid.to_string()).collect();

    // Every container the runs created had its own name, and each run its own key.
    let events = events.finish();
    let mut names = Vec::new();
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut steps: BTreeMap<String, usize> = BTreeMap::new();
    for line in &events {
        let parts: Vec<&str> = line.split('|').collect();
        let [name, pid, key, step] = parts[..] else {
            panic!("unexpected event line {line:?}");
        };
        if !pids.contains(pid) {
            continue; // another test's run on the shared engine
        }
        names.push(name.to_owned());
        keys.entry(pid.to_owned())
            .or_default()
            .insert(key.to_owned());
        if !step.is_empty() && step != "<no value>" {
            *steps.entry(pid.to_owned()).or_default() += 1;
        }
    }
    let distinct: BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "a container name was reused");
    assert_eq!(
        keys.len(),
        RUNS,
        "runs seen in the engine's events: {keys:?}"
    );
    assert!(keys.values().all(|k| k.len() == 1), "{keys:?}");
    let all_keys: BTreeSet<&String> = keys.values().flatten().collect();
    assert_eq!(all_keys.len(), RUNS, "run keys are unique");
    assert!(
        steps.values().all(|n| *n == 10),
        "10 step containers per run: {steps:?}"
    );
    println!(
        "load: {RUNS} concurrent runs x 10 steps: all succeeded in {:.1}s, {} containers, {} distinct names",
        elapsed.as_secs_f64(),
        names.len(),
        distinct.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Output

const LINE: &str = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";
const LINES: usize = 2_000_000;

#[test]
fn a_step_printing_200_mb_of_lines_streams_with_bounded_memory() {
    let _engine = need_docker_alone();
    let ws = Ws::new(&format!(
        "steps:\n  - id: big\n    cmd: BUSYBOX sh -c 'yes {LINE} | head -n {LINES}'\n"
    ));
    let run = measure(&mut ws.command(&["--output", "plain"]), |stdout| {
        let (mut matching, mut other, mut bytes) = (0usize, Vec::new(), 0u64);
        let expected = format!("[big] {LINE}");
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            bytes += line.len() as u64 + 1;
            if line == expected {
                matching += 1;
            } else if other.len() < 50 {
                other.push(line);
            }
        }
        (matching, other, bytes)
    });
    let (matching, other, bytes) = &run.stdout;
    assert_eq!(run.code, 0, "{other:?}\n{}", run.stderr);
    assert_eq!(*matching, LINES, "every line arrives once: {other:?}");
    let step_bytes = (LINES * (LINE.len() + 1)) as f64 / 1e6;
    println!(
        "load: 200 MB of lines (plain): {step_bytes:.0} MB from the step, {:.0} MB written, peak RSS {:.1} MiB, {:.1}s",
        *bytes as f64 / 1e6,
        run.peak_mib(),
        run.took.as_secs_f64()
    );
    run.assert_bounded();
}

#[test]
fn a_named_task_printing_200_mb_stores_its_log_with_bounded_memory() {
    let _engine = need_docker_alone();
    let ws = Ws::new(&format!(
        "steps:\n  - id: big\n    cmd: BUSYBOX sh -c 'yes {LINE} | head -n {LINES}'\n"
    ));
    let home = ws.path().join("home");
    let task = |args: &[&str]| {
        let mut cmd = taskrun_command(ws.path(), &home);
        cmd.arg("task").args(args);
        cmd
    };
    let out = task(&["create", "-n", "big", "-f", "acr-task.yaml", "-c", "ctx"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let run = measure(
        &mut task(&["run", "-n", "big", "--output", "plain"]),
        |mut stdout| std::io::copy(&mut stdout, &mut std::io::sink()).unwrap(),
    );
    let written = run.stdout;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The stored log holds every line (`[big] <line>` in plain form), in chunks of at most 1 MiB.
    let db = rusqlite::Connection::open(home.join("taskrun.db")).unwrap();
    let (chunks, stored, largest): (i64, i64, i64) = db
        .query_row(
            "SELECT COUNT(*), SUM(LENGTH(data)), MAX(LENGTH(data)) FROM run_logs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let lines_bytes = (LINES * ("[big] ".len() + LINE.len() + 1)) as i64;
    assert!(
        stored >= lines_bytes,
        "stored {stored} bytes < {lines_bytes}"
    );
    assert!(largest <= 1 << 20, "{largest}");
    println!(
        "load: named task printing 200 MB (task run): {written} bytes shown, log stored as {chunks} chunks ({stored} bytes), peak RSS {:.1} MiB, {:.1}s",
        run.peak_mib(),
        run.took.as_secs_f64()
    );
    run.assert_bounded();
}

const ONE_LINE_BYTES: usize = 200 << 20;

#[test]
fn a_step_printing_200_mb_without_a_newline_streams_with_bounded_memory() {
    let _engine = need_docker_alone();
    // busybox `tr` turns the zeros into `x`: one 200 MiB line.
    let ws = Ws::new(&format!(
        "steps:\n  - id: big\n    cmd: BUSYBOX sh -c 'head -c {ONE_LINE_BYTES} /dev/zero | tr \"\\0\" x'\n"
    ));
    let run = measure(&mut ws.command(&["--output", "json"]), |stdout| {
        let (mut pieces, mut xs, mut longest, mut other) = (0usize, 0usize, 0usize, Vec::new());
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let event: Value = serde_json::from_str(&line).unwrap();
            match event["line"].as_str() {
                Some(l) if event["step"] == "big" => {
                    assert!(l.bytes().all(|b| b == b'x'), "only x's");
                    pieces += 1;
                    xs += l.len();
                    longest = longest.max(l.len());
                }
                _ => other.push(line.chars().take(300).collect::<String>()),
            }
        }
        (pieces, xs, longest, other)
    });
    let (pieces, xs, longest, other) = &run.stdout;
    assert_eq!(run.code, 0, "{other:?}\n{}", run.stderr);
    assert_eq!(*xs, ONE_LINE_BYTES, "every byte arrives once");
    // Passed on in 1 MiB pieces (docs/reliability.md).
    assert_eq!(*longest, 1 << 20);
    assert_eq!(*pieces, ONE_LINE_BYTES / (1 << 20));
    println!(
        "load: one 200 MiB line (json): {pieces} pieces of at most {longest} bytes, peak RSS {:.1} MiB, {:.1}s",
        run.peak_mib(),
        run.took.as_secs_f64()
    );
    run.assert_bounded();
}

// ---------------------------------------------------------------------------------------------
// Build context

const GIB: u64 = 1 << 30;

#[test]
fn a_1_gb_build_context_streams_with_bounded_memory() {
    let _engine = need_docker_alone();
    let mut images = Images::default();
    let image = images.add(&format!("taskrun-load-context-{}:1", std::process::id()));
    let ws = Ws::new(&format!(
        r#"steps:
  - id: seeded
    cmd: BUSYBOX stat -c 'workspace size=%s' /workspace/big.bin
  - id: build
    build: -t {image} .
  - id: check
    cmd: {image} stat -c 'image size=%s' /big.bin
"#
    ));
    // A sparse file: 1 GiB of zeros that takes no disk space in the context directory.
    std::fs::File::create(ws.ctx().join("big.bin"))
        .unwrap()
        .set_len(GIB)
        .unwrap();
    std::fs::write(
        ws.ctx().join("Dockerfile"),
        format!("FROM {BUSYBOX}\nCOPY big.bin /big.bin\nRUN stat -c 'built size=%s' /big.bin\n"),
    )
    .unwrap();
    let run = measure(&mut ws.command(&["--output", "plain"]), |mut stdout| {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    let all = format!("{stdout}\n{stderr}");
    assert_eq!(run.code, 0, "{all}");
    for line in [
        format!("[seeded] workspace size={GIB}"),
        format!("[build] built size={GIB}"),
        format!("[check] image size={GIB}"),
    ] {
        assert!(stdout.lines().any(|l| l == line), "no `{line}` in\n{all}");
    }
    println!(
        "load: 1 GiB context (workspace seed + build): peak RSS {:.1} MiB, {:.1}s",
        run.peak_mib(),
        run.took.as_secs_f64()
    );
    run.assert_bounded();
}
