//! Helpers shared by the integration tests that drive the real binary, the Docker CLI and the
//! local registries of scripts/test-env.sh. Each helper panics with a message that says to run
//! that script, so a missing environment fails a test instead of skipping it.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_taskrun");

/// Every manifest media type, as a registry client sends them.
pub const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

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

/// The docker CLI with the user's config.
pub fn docker(args: &[&str]) -> String {
    docker_in(None, args, None)
}

/// Runs taskrun with `TASKRUN_HOME=home`.
pub fn taskrun(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
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

/// `Docker-Content-Digest` of `host/repo:tag` in a local registry, by `curl -sI` with every
/// manifest media type accepted.
pub fn registry_digest(reference: &str) -> String {
    let (repo, tag) = reference.rsplit_once(':').expect("tagged reference");
    let (host, path) = repo.split_once('/').expect("host/path");
    let out = Command::new("curl")
        .args(["-sfI", "-m", "10", "-H", &format!("Accept: {ACCEPT}")])
        .arg(format!("http://{host}/v2/{path}/manifests/{tag}"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl {reference}: not in the registry (run scripts/test-env.sh)"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("docker-content-digest")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no digest header for {reference}"))
}
