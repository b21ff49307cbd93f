//! Times one `taskrun serve --once` cycle over 1,000 tasks sharing 20 base images (issue 5).
//!
//! `cargo run --example serve_bench [-- TASKRUN_BINARY]` (default `target/debug/taskrun`; build
//! it first) needs `scripts/test-env.sh`: it tags `taskrun-busybox:latest` as 20 repositories
//! of the open registry 127.0.0.1:5000 and pushes them, seeds a temporary `TASKRUN_HOME` through
//! the library with 1,000 tasks (50 per image, each with a completed run, its base-image link
//! and the image's current digest), then runs `serve --once` five times through a counting TCP
//! proxy in front of the registry, and prints the requests the proxy saw and the wall time of
//! each cycle. Digests are unchanged, so no run is fired: the time is the cycle's own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use taskrun::store::{
    BaseImageRecord, DependencyKind, RunFinish, RunRecord, RunStatus, RunTrigger, Store, TaskDef,
    now,
};

const UPSTREAM: &str = "127.0.0.1:5000";
const IMAGES: usize = 20;
const TASKS: usize = 1000;
const CYCLES: usize = 5;

fn forward(client: TcpStream, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let upstream = TcpStream::connect(UPSTREAM)?;
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

fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn main() {
    let bin = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/debug/taskrun".to_owned());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy = listener.local_addr().expect("addr").to_string();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let log = Arc::clone(&shared);
            std::thread::spawn(move || {
                let _ = forward(client, &log);
            });
        }
    });

    let home = tempfile::tempdir().expect("tempdir");
    let store = Store::open(home.path()).expect("store");
    let seed = Instant::now();
    let mut images = Vec::new();
    for i in 0..IMAGES {
        let tag = format!("{UPSTREAM}/taskrun-serve-bench/base{i}:1");
        sh("docker", &["tag", "taskrun-busybox:latest", &tag]);
        sh("docker", &["push", "-q", &tag]);
        let digest = sh(
            "curl",
            &[
                "-sfI",
                "-H",
                "Accept: application/vnd.docker.distribution.manifest.v2+json, \
                 application/vnd.oci.image.manifest.v1+json, \
                 application/vnd.docker.distribution.manifest.list.v2+json, \
                 application/vnd.oci.image.index.v1+json",
                &format!("http://{UPSTREAM}/v2/taskrun-serve-bench/base{i}/manifests/1"),
            ],
        )
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("docker-content-digest")
                .then(|| v.trim().to_owned())
        })
        .expect("Docker-Content-Digest");
        let image = format!("{proxy}/taskrun-serve-bench/base{i}:1");
        store
            .record_digest(&BaseImageRecord {
                image: image.clone(),
                digest,
                platform: None,
                platform_digest: None,
                checked: now(),
            })
            .expect("record digest");
        images.push(image);
    }
    for n in 0..TASKS {
        let name = format!("task-{n:04}");
        let image = &images[n % IMAGES];
        store
            .create_task(&TaskDef::new(&name, "/nonexistent/acr-task.yaml", None))
            .expect("create task");
        let id = store.next_run_id("").expect("run id");
        store
            .insert_run(&RunRecord::new(
                &id,
                Some(name.clone()),
                RunTrigger::Manual,
                "linux",
            ))
            .expect("insert run");
        store
            .finish_run(
                &id,
                &RunFinish {
                    status: RunStatus::Succeeded,
                    finished: now(),
                    exit_code: Some(0),
                    steps: Vec::new(),
                    dependencies_json: None,
                },
            )
            .expect("finish run");
        store
            .set_task_dependencies(&name, &[(image.clone(), DependencyKind::Runtime)])
            .expect("dependencies");
    }
    drop(store);
    println!(
        "seeded {TASKS} tasks over {IMAGES} images in {:.2?}",
        seed.elapsed()
    );

    for cycle in 1..=CYCLES {
        log.lock().expect("log").clear();
        let start = Instant::now();
        let out = Command::new(&bin)
            .args(["serve", "--once"])
            .env("TASKRUN_HOME", home.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap_or_else(|e| panic!("{bin}: {e}"));
        let elapsed = start.elapsed();
        assert!(
            out.status.success(),
            "serve --once: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen = log.lock().expect("log").clone();
        let heads = seen
            .iter()
            .filter(|l| l.starts_with("HEAD ") && l.contains("/manifests/"))
            .count();
        let gets = seen
            .iter()
            .filter(|l| l.starts_with("GET ") && l.contains("/manifests/"))
            .count();
        println!(
            "cycle {cycle}: {elapsed:.2?} wall, {heads} manifest checks (HEAD by tag), \
             {gets} manifest fetches by digest, {} requests in all",
            seen.len()
        );
        if cycle == 1 {
            let mut other: Vec<&str> = seen
                .iter()
                .filter(|l| !l.contains("/manifests/"))
                .map(String::as_str)
                .collect();
            other.dedup();
            println!("  other requests: {other:?}");
        }
    }
    let runs = Store::open(home.path())
        .and_then(|s| s.list_runs(None, None))
        .expect("runs");
    println!("runs after the cycles: {} (the seeded ones)", runs.len());
}
