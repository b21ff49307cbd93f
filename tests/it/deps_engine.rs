//! Base-image dependencies against the real engine and registry: a multi-stage build whose
//! build-time base comes from the registry and whose runtime base exists only on the engine,
//! checked through `taskrun run --deps-file` and `taskrun scan`. Fails (never skips) without the
//! environment of scripts/test-env.sh.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_taskrun");

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("need a Docker engine: run scripts/test-env.sh");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The digest the registry reports for a tag (HEAD with the manifest media types).
fn registry_digest(repo: &str, tag: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-sfI",
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.list.v2+json",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json",
            &format!("http://127.0.0.1:5000/v2/{repo}/manifests/{tag}"),
        ])
        .output()
        .expect("curl");
    let headers = String::from_utf8_lossy(&out.stdout).to_string();
    headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("docker-content-digest:")
                .then(|| l.split_once(':').map(|x| x.1.trim().to_owned()))
                .flatten()
        })
        .unwrap_or_else(|| panic!("no digest for {repo}:{tag}: run scripts/test-env.sh"))
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

#[test]
fn run_records_runtime_and_buildtime_digests() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    let pid = std::process::id();
    // The runtime base only exists on the engine: pushed once to the authenticated registry,
    // so the engine knows its digest (RepoDigests) but an anonymous registry lookup cannot.
    let local_base = format!("127.0.0.1:5001/trdeps-local-{pid}:1");
    docker(&["tag", "taskrun-busybox:latest", &local_base]);
    let login = Command::new("docker")
        .args([
            "login",
            "-u",
            "taskrun",
            "--password-stdin",
            "127.0.0.1:5001",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"taskrun-pass\n")?;
            c.wait()
        })
        .expect("docker login");
    assert!(login.success());
    docker(&["push", &local_base]);
    let repo_digests = docker(&["inspect", "--format", "{{json .RepoDigests}}", &local_base]);
    let local_digest = repo_digests
        .split('@')
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("repo digest")
        .to_owned();

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(
        d,
        "Dockerfile",
        &format!(
            "# syntax=docker/dockerfile:1\nARG BUILDER=127.0.0.1:5000/busybox:latest\nFROM ${{BUILDER}} AS build\nRUN echo built > /out\n\nFROM {local_base}\nCOPY --from=build \\\n     /out /out\n"
        ),
    );
    let image = format!("127.0.0.1:5000/trdeps-app-{pid}:1");
    write(
        d,
        "acr-task.yaml",
        &format!("steps:\n  - build: -t {image} .\n  - push: [{image}]\n"),
    );
    let deps_file = d.join("deps.json");
    let out = Command::new(BIN)
        .args(["run", "-f"])
        .arg(d.join("acr-task.yaml"))
        .arg("--output")
        .arg("plain")
        .arg("--deps-file")
        .arg(&deps_file)
        .arg(d)
        .output()
        .expect("taskrun");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = Command::new("docker")
        .args(["rmi", "-f", &image, &local_base])
        .output();
    // Leave no login behind for other tests.
    let _ = Command::new("docker")
        .args(["logout", "127.0.0.1:5001"])
        .output();
    assert!(out.status.success(), "{text}");
    let deps: Value =
        serde_json::from_str(&std::fs::read_to_string(&deps_file).expect("deps file"))
            .expect("json");
    let entry = &deps[0];
    assert_eq!(entry["image"]["reference"], Value::String(image.clone()));
    assert_eq!(
        entry["image"]["digest"],
        Value::String(registry_digest(&format!("trdeps-app-{pid}"), "1")),
        "{text}"
    );
    assert_eq!(
        entry["runtime-dependency"]["reference"],
        Value::String(local_base.clone())
    );
    assert_eq!(
        entry["runtime-dependency"]["digest"],
        Value::String(local_digest),
        "the runtime base's digest comes from the engine: {text}"
    );
    let buildtime = entry["buildtime-dependency"]
        .as_array()
        .expect("buildtime list");
    assert_eq!(buildtime.len(), 1, "{entry}");
    assert_eq!(
        buildtime[0]["reference"],
        Value::String("127.0.0.1:5000/busybox:latest".into())
    );
    assert_eq!(
        buildtime[0]["digest"],
        Value::String(registry_digest("busybox", "latest"))
    );
    assert!(text.contains("Dependencies:"), "{text}");
}

#[test]
fn scan_prints_acb_json_with_registry_digests() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Dockerfile.app",
        "ARG TAG=latest\nFROM 127.0.0.1:5000/busybox:${TAG:-latest} AS base\nFROM base\nCMD [\"true\"]\n",
    );
    let out = Command::new(BIN)
        .arg("scan")
        .arg(dir.path())
        .args([
            "-f",
            "Dockerfile.app",
            "-t",
            "127.0.0.1:5000/app:1",
            "-t",
            "app:2",
        ])
        .output()
        .expect("taskrun scan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    assert_eq!(json[1]["image"]["registry"], "registry.hub.docker.com");
    assert_eq!(json[1]["image"]["repository"], "library/app");
    let runtime = &json[0]["runtime-dependency"];
    assert_eq!(runtime["reference"], "127.0.0.1:5000/busybox:latest");
    assert_eq!(
        runtime["digest"],
        Value::String(registry_digest("busybox", "latest"))
    );
    assert_eq!(json[0]["buildtime-dependency"], Value::Null);
    assert_eq!(json[0]["git"]["git-head-revision"], "");
}
