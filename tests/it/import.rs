//! `taskrun import` against the real local registries of `scripts/test-env.sh`: 127.0.0.1:5000
//! (open, holds `busybox:latest`) and 127.0.0.1:5001 (basic auth `taskrun`/`taskrun-pass`), with
//! dockerd on the default socket for building a multi-arch index. These tests FAIL when the
//! environment is missing; they never skip.
//!
//! The target registry's credentials reach `taskrun` through a throwaway `DOCKER_CONFIG` whose
//! `config.json` has an `auths` entry; the docker CLI used to make images gets its own config too.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;

use common::{ACCEPT, check_registries, digest_in, fetch_manifest, split_reference, unique};

const OPEN: &str = "127.0.0.1:5000";
const AUTH: &str = "127.0.0.1:5001";
const USER: &str = "taskrun:taskrun-pass";

/// Panics (never skips) unless both registries answer as expected.
fn require_env() {
    check_registries();
}

/// A DOCKER_CONFIG dir with a login for the auth registry.
fn docker_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let auth = base64::engine::general_purpose::STANDARD.encode(USER);
    let config = serde_json::json!({"auths": {AUTH: {"auth": auth}}});
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec(&config).expect("json"),
    )
    .expect("write config.json");
    dir
}

fn taskrun(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskrun"))
        .env("DOCKER_CONFIG", config)
        .env_remove("TASKRUN_REGISTRY")
        .args(["import", "--color", "never"])
        .args(args)
        .output()
        .expect("run taskrun")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `(Docker-Content-Digest, body)` of a manifest, all four manifest types accepted.
fn curl_manifest(reference: &str, user: Option<&str>) -> (String, String) {
    let (registry, repo, tag) = split_reference(reference);
    let (head, body) = fetch_manifest(registry, repo, tag, ACCEPT, user);
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{reference} not found: {head}"
    );
    let digest = digest_in(&head)
        .unwrap_or_else(|| panic!("no Docker-Content-Digest for {reference}: {head}"));
    (digest, body)
}

fn blob_status(registry: &str, repo: &str, digest: &str, user: Option<&str>) -> String {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "-I",
        "-w",
        "%{http_code}",
        "-m",
        "10",
    ]);
    if let Some(u) = user {
        cmd.args(["-u", u]);
    }
    let out = cmd
        .arg(format!("http://{registry}/v2/{repo}/blobs/{digest}"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every config and layer digest of an image manifest body.
fn blob_digests(manifest: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(manifest).expect("manifest json");
    let mut out = vec![doc["config"]["digest"].as_str().expect("config").to_owned()];
    for l in doc["layers"].as_array().expect("layers") {
        out.push(l["digest"].as_str().expect("layer digest").to_owned());
    }
    out
}

#[test]
fn imports_busybox_across_registries_with_the_same_digest() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    require_env();
    let config = docker_config();
    let repo = unique("taskrun-import/bb");
    let source = format!("{OPEN}/busybox:latest");
    let (src_digest, src_body) = curl_manifest(&source, None);

    let out = taskrun(
        config.path(),
        &[
            "--source",
            &source,
            "--image",
            &format!("{repo}:v1"),
            "-r",
            AUTH,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let target = format!("{AUTH}/{repo}:v1");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Imported {source} to {target} ({src_digest})\n")
    );
    let (digest, body) = curl_manifest(&target, Some(USER));
    assert_eq!(digest, src_digest);
    assert_eq!(body, src_body, "manifest bytes must be preserved");
    for blob in blob_digests(&body) {
        assert_eq!(blob_status(AUTH, &repo, &blob, Some(USER)), "200", "{blob}");
    }

    // The tag exists now: refused without --force, accepted with it.
    let again = taskrun(
        config.path(),
        &[
            "--source",
            &source,
            "--image",
            &format!("{repo}:v1"),
            "-r",
            AUTH,
        ],
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{}",
        text(&again)
    );
    let forced = taskrun(
        config.path(),
        &[
            "--source",
            &source,
            "--image",
            &format!("{repo}:v1"),
            "-r",
            AUTH,
            "--force",
        ],
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    assert_eq!(curl_manifest(&target, Some(USER)).0, src_digest);
}

#[test]
fn default_target_is_the_source_repository_and_tag_and_several_images_work() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    require_env();
    let config = docker_config();
    // A unique source repository, made by importing busybox within the open registry.
    let src_repo = unique("taskrun-import/src");
    let source = format!("{OPEN}/{src_repo}:t1");
    let seed = taskrun(
        config.path(),
        &[
            "--source",
            &format!("{OPEN}/busybox:latest"),
            "--image",
            &format!("{src_repo}:t1"),
            "-r",
            OPEN,
        ],
    );
    assert_eq!(seed.status.code(), Some(0), "{}", text(&seed));
    let (src_digest, _) = curl_manifest(&source, None);

    let out = taskrun(config.path(), &["--source", &source, "-r", AUTH]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        curl_manifest(&format!("{AUTH}/{src_repo}:t1"), Some(USER)).0,
        src_digest
    );

    let out = taskrun(
        config.path(),
        &[
            "--source",
            &source,
            "--image",
            &format!("{src_repo}-b:x"),
            "--image",
            &format!("{src_repo}-b:y"),
            "-r",
            AUTH,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    for tag in ["x", "y"] {
        assert_eq!(
            curl_manifest(&format!("{AUTH}/{src_repo}-b:{tag}"), Some(USER)).0,
            src_digest
        );
    }
}

/// Runs the docker CLI with its own config; panics with its output on failure.
fn docker(config: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    common::docker_in(Some(config), args, stdin)
}

/// Local images made by a test, removed on drop.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("docker")
                .args(["rmi", "-f"])
                .args(&self.0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Imports a one-file image with unique content as `reference` and pushes it.
fn push_unique(config: &Path, images: &mut Images, reference: &str) {
    let mut tar = tar::Builder::new(Vec::new());
    let content = unique("content");
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "id", content.as_bytes())
        .expect("tar");
    let bytes = tar.into_inner().expect("tar");
    let id = docker(config, &["import", "-", reference], Some(&bytes));
    images.0.push(id.trim().to_owned());
    docker(config, &["push", "-q", reference], None);
}

#[test]
fn multi_arch_index_is_copied_with_every_platform() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    require_env();
    let cli = tempfile::tempdir().expect("temp dir");
    let mut images = Images(Vec::new());
    let t = unique("t");
    let amd = format!("{OPEN}/taskrun-import/a:amd64-{t}");
    let arm = format!("{OPEN}/taskrun-import/a:arm64-{t}");
    let list = format!("{OPEN}/taskrun-import/multi:{t}");
    push_unique(cli.path(), &mut images, &amd);
    push_unique(cli.path(), &mut images, &arm);
    docker(
        cli.path(),
        &["manifest", "create", "--insecure", &list, &amd, &arm],
        None,
    );
    docker(
        cli.path(),
        &[
            "manifest",
            "annotate",
            "--os",
            "linux",
            "--arch",
            "arm64",
            "--variant",
            "v8",
            &list,
            &arm,
        ],
        None,
    );
    docker(
        cli.path(),
        &["manifest", "push", "--insecure", "--purge", &list],
        None,
    );
    let (index_digest, index_body) = curl_manifest(&list, None);

    let config = docker_config();
    let repo = unique("taskrun-import/multi");
    let out = taskrun(
        config.path(),
        &[
            "--source",
            &list,
            "--image",
            &format!("{repo}:v1"),
            "-r",
            AUTH,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (digest, body) = curl_manifest(&format!("{AUTH}/{repo}:v1"), Some(USER));
    assert_eq!(digest, index_digest);
    assert_eq!(body, index_body);
    let index: serde_json::Value = serde_json::from_str(&body).expect("index json");
    let entries = index["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 2);
    for entry in entries {
        let child = entry["digest"].as_str().expect("digest");
        let (child_digest, child_body) =
            curl_manifest(&format!("{AUTH}/{repo}@{child}"), Some(USER));
        assert_eq!(child_digest, child);
        for blob in blob_digests(&child_body) {
            assert_eq!(blob_status(AUTH, &repo, &blob, Some(USER)), "200", "{blob}");
        }
    }
}

#[test]
fn missing_source_and_bad_input_are_clear_errors() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    require_env();
    let config = docker_config();
    let missing = format!("{OPEN}/{}:nope", unique("taskrun-import/missing"));
    let out = taskrun(
        config.path(),
        &["--source", &missing, "--image", "x:1", "-r", AUTH],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not found") && err.contains(&missing),
        "{}",
        text(&out)
    );

    // No target registry: bad input, nothing contacted.
    let out = taskrun(
        config.path(),
        &[
            "--source",
            &format!("{OPEN}/busybox:latest"),
            "--image",
            "x:1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-r/--registry"));

    // Unreachable source registry: environment failure.
    let out = taskrun(
        config.path(),
        &["--source", "127.0.0.1:1/busybox:latest", "-r", AUTH],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach registry"));

    // Target registry without a login: refused, environment failure, no credentials in the text.
    let empty = tempfile::tempdir().expect("temp dir");
    let out = taskrun(
        empty.path(),
        &[
            "--source",
            &format!("{OPEN}/busybox:latest"),
            "--image",
            &format!("{}:1", unique("taskrun-import/noauth")),
            "-r",
            AUTH,
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused access"));

    // Source credentials given with --username/--password are used for the source.
    let repo = unique("taskrun-import/fromauth");
    let seed = taskrun(
        config.path(),
        &[
            "--source",
            &format!("{OPEN}/busybox:latest"),
            "--image",
            &format!("{repo}:1"),
            "-r",
            AUTH,
        ],
    );
    assert_eq!(seed.status.code(), Some(0), "{}", text(&seed));
    let out = taskrun(
        empty.path(),
        &[
            "--source",
            &format!("{AUTH}/{repo}:1"),
            "--username",
            "taskrun",
            "--password",
            "taskrun-pass",
            "--image",
            &format!("{repo}:copy"),
            "-r",
            OPEN,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("taskrun-pass"));
}
