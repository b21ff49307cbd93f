//! `registry::digest` against the real local registries and engine from `scripts/test-env.sh`:
//! 127.0.0.1:5000 (open) and 127.0.0.1:5001 (basic auth `taskrun`/`taskrun-pass`), dockerd on the
//! default socket. These tests FAIL when the environment is missing; they never skip.
//!
//! Images are made with `docker import` from a one-file tar whose content is unique to the test
//! and process, pushed with the `docker` CLI (its own throwaway `DOCKER_CONFIG`, so `login` and
//! `docker manifest` state never touch the user's), and removed locally when the test ends.

// Each test holds the engine lock for its whole life, awaits included (one test per
// current-thread runtime: nothing else waits on this thread).
#![allow(clippy::await_holding_lock)]

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{ACCEPT, check_docker, check_registries, registry_digest_as, unique};
use sha2::{Digest, Sha256};
use taskrun::engine::RegistryAuth;
use taskrun::engine::docker::DockerEngine;
use taskrun::registry::digest::{
    DigestError, Platform, ResolveOptions, Resolved, Resolver, local_digest,
};

const OPEN: &str = "127.0.0.1:5000";
const AUTH: &str = "127.0.0.1:5001";

/// Panics (never skips) unless the engine and both registries answer.
fn require_env() {
    check_docker();
    check_registries();
}

/// A throwaway docker CLI config and the local images (by id) made by a test, removed on drop.
struct Env {
    config: tempfile::TempDir,
    images: Vec<String>,
}

impl Env {
    fn new() -> Self {
        require_env();
        Self {
            config: tempfile::tempdir().expect("temp dir"),
            images: Vec::new(),
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.config.path().to_path_buf()
    }

    /// Runs the docker CLI with this env's config; panics with its output on failure.
    fn docker(&self, args: &[&str], stdin: Option<&[u8]>) -> String {
        common::docker_in(Some(&self.config_dir()), args, stdin)
    }

    /// Imports a one-file image with unique content as `reference` and pushes it.
    fn push_unique(&mut self, reference: &str) {
        let mut tar = tar::Builder::new(Vec::new());
        let content = unique("content");
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

    fn login(&self, registry: &str, user: &str, password: &str) {
        self.docker(
            &["login", registry, "-u", user, "--password-stdin"],
            Some(password.as_bytes()),
        );
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if !self.images.is_empty() {
            let _ = Command::new("docker")
                .args(["rmi", "-f"])
                .args(&self.images)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn resolver(platform: &str) -> Resolver {
    Resolver::new(ResolveOptions {
        insecure_registries: Vec::new(),
        platform: platform.parse().expect("platform"),
    })
}

fn auth(user: &str, password: &str) -> RegistryAuth {
    RegistryAuth {
        server: AUTH.to_owned(),
        username: user.to_owned(),
        password: password.to_owned(),
    }
}

#[tokio::test]
async fn pushed_image_digest_matches_curl_and_repo_digests() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let mut env = Env::new();
    let image = format!("{OPEN}/taskrun-digest/pushed:{}", unique("t"));
    env.push_unique(&image);

    let resolved = Resolver::new(ResolveOptions::default())
        .resolve(&image, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let header = registry_digest_as(&image, None);
    assert!(resolved.digest.starts_with("sha256:"), "{resolved:?}");
    assert_eq!(
        resolved,
        Resolved {
            digest: header.clone(),
            platform_digest: None,
            is_index: false
        }
    );
    assert_eq!(resolved.tracking_digest(), header);

    let engine = DockerEngine::connect()
        .await
        .unwrap_or_else(|e| panic!("run scripts/test-env.sh: {e}"));
    assert_eq!(
        local_digest(&engine, &image).await.expect("inspect"),
        Some(header)
    );

    // The base image from test-env: pushed as 127.0.0.1:5000/busybox, never under its own name.
    let busybox = format!("{OPEN}/busybox:latest");
    let resolved = resolver("linux/amd64")
        .resolve(&busybox, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resolved.digest, registry_digest_as(&busybox, None));
    assert_eq!(
        local_digest(&engine, "taskrun-busybox:latest")
            .await
            .expect("inspect"),
        None
    );
    assert!(
        local_digest(&engine, &format!("{OPEN}/taskrun-digest/none:nope"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn auth_registry_needs_the_right_credentials() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let mut env = Env::new();
    env.login(AUTH, "taskrun", "taskrun-pass");
    let image = format!("{AUTH}/taskrun-digest/private:{}", unique("t"));
    env.push_unique(&image);
    let header = registry_digest_as(&image, Some("taskrun:taskrun-pass"));

    let r = Resolver::new(ResolveOptions::default());
    let good = r
        .resolve(&image, Some(&auth("taskrun", "taskrun-pass")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(good.digest, header);
    assert_eq!(good.platform_digest, None);

    // The same resolver, other credentials: never the cached good ones.
    let secret = "wrong-pass-5f2c9e";
    let wrong = r
        .resolve(&image, Some(&auth("taskrun", secret)))
        .await
        .expect_err("wrong password must fail");
    assert_eq!(
        wrong,
        DigestError::Unauthorized {
            registry: AUTH.to_owned(),
            image: image.clone()
        }
    );
    assert!(!wrong.to_string().contains(secret), "{wrong}");
    assert!(!format!("{wrong:?}").contains(secret), "{wrong:?}");
    assert!(!format!("{r:?}").contains(secret));
    assert!(!format!("{r:?}").contains("taskrun-pass"));

    let anonymous = r.resolve(&image, None).await.expect_err("no credentials");
    assert!(
        matches!(anonymous, DigestError::Unauthorized { .. }),
        "{anonymous:?}"
    );

    // Good credentials still work after the failures.
    let again = r
        .resolve(&image, Some(&auth("taskrun", "taskrun-pass")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.digest, header);
}

#[tokio::test]
async fn missing_tag_and_repository_are_not_found() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let _env = Env::new();
    let r = Resolver::new(ResolveOptions::default());
    for image in [
        format!("{OPEN}/busybox:{}", unique("missing")),
        format!("{OPEN}/taskrun-digest/{}:1", unique("no-repo")),
    ] {
        let e = r.resolve(&image, None).await.expect_err("missing");
        assert_eq!(
            e,
            DigestError::NotFound {
                image: image.clone()
            }
        );
    }
    let e = r
        .resolve(
            &format!("{AUTH}/taskrun-digest/absent:{}", unique("t")),
            Some(&auth("taskrun", "taskrun-pass")),
        )
        .await
        .expect_err("missing");
    assert!(matches!(e, DigestError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let r = Resolver::new(ResolveOptions::default());
    let e = r
        .resolve("127.0.0.1:5999/app:1", None)
        .await
        .expect_err("nothing listens on 5999");
    match &e {
        DigestError::Unreachable { registry, message } => {
            assert_eq!(registry, "127.0.0.1:5999");
            assert!(!message.is_empty());
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(e.to_string().contains("127.0.0.1:5999"), "{e}");
}

#[tokio::test]
async fn invalid_reference_is_other() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let r = Resolver::new(ResolveOptions::default());
    let e = r.resolve("UPPER/Case:1", None).await.expect_err("invalid");
    assert!(matches!(e, DigestError::Other { .. }), "{e:?}");
}

/// Builds `multi:<tag>` from `a:<amd>` and `a:<arm>` (annotated linux/arm64/v8) and pushes it.
/// `--purge` drops the CLI's local copy, so the next call reads both images afresh.
fn push_manifest_list(env: &Env, list: &str, amd: &str, arm: &str) {
    env.docker(&["manifest", "create", "--insecure", list, amd, arm], None);
    env.docker(
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
    env.docker(&["manifest", "push", "--insecure", "--purge", list], None);
}

#[tokio::test]
async fn multi_arch_index_resolves_the_platform_entry() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let mut env = Env::new();
    let t = unique("t");
    let amd = format!("{OPEN}/taskrun-digest/a:amd64-{t}");
    let arm = format!("{OPEN}/taskrun-digest/a:arm64-{t}");
    let list = format!("{OPEN}/taskrun-digest/multi:{t}");
    env.push_unique(&amd);
    env.push_unique(&arm);
    push_manifest_list(&env, &list, &amd, &arm);
    let amd_digest = registry_digest_as(&amd, None);
    let arm_digest = registry_digest_as(&arm, None);

    let for_amd = resolver("linux/amd64");
    let for_arm = resolver("linux/arm64");
    let index_digest = registry_digest_as(&list, None);
    let a = for_amd
        .resolve(&list, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a,
        Resolved {
            digest: index_digest.clone(),
            platform_digest: Some(amd_digest.clone()),
            is_index: true
        }
    );
    assert_eq!(a.tracking_digest(), amd_digest);
    let b = for_arm
        .resolve(&list, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.digest, index_digest);
    assert_eq!(b.platform_digest.as_deref(), Some(arm_digest.as_str()));
    let none = resolver("linux/s390x")
        .resolve(&list, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (none.is_index, none.platform_digest.as_deref()),
        (true, None)
    );
    assert_eq!(none.tracking_digest(), index_digest);

    // The arm64 image changes: the index digest changes, the amd64 entry does not.
    env.push_unique(&arm);
    let new_arm_digest = registry_digest_as(&arm, None);
    assert_ne!(new_arm_digest, arm_digest);
    push_manifest_list(&env, &list, &amd, &arm);
    let a2 = for_amd
        .resolve(&list, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a2.digest, index_digest);
    assert_eq!(a2.digest, registry_digest_as(&list, None));
    assert_eq!(a2.platform_digest.as_deref(), Some(amd_digest.as_str()));
    assert_eq!(a2.tracking_digest(), a.tracking_digest());
    let b2 = for_arm
        .resolve(&list, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b2.digest, a2.digest);
    assert_eq!(b2.platform_digest.as_deref(), Some(new_arm_digest.as_str()));
    assert_ne!(b2.tracking_digest(), b.tracking_digest());
}

#[tokio::test]
async fn oci_index_put_by_hand() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let mut env = Env::new();
    let t = unique("t");
    let repo = "taskrun-digest/oci";
    let amd = format!("{OPEN}/{repo}:amd-{t}");
    let arm = format!("{OPEN}/{repo}:arm-{t}");
    env.push_unique(&amd);
    env.push_unique(&arm);
    let entry = |reference: &str, arch: &str, variant: Option<&str>| {
        let (registry_repo, tag) = reference.rsplit_once(':').expect("tag");
        let (_, repo) = registry_repo.split_once('/').expect("repo");
        let url = format!("http://{OPEN}/v2/{repo}/manifests/{tag}");
        let body = Command::new("curl")
            .args(["-sf", "-m", "10", "-H", &format!("Accept: {ACCEPT}"), &url])
            .output()
            .expect("curl")
            .stdout;
        let mut platform = serde_json::json!({"os": "linux", "architecture": arch});
        if let Some(v) = variant {
            platform["variant"] = v.into();
        }
        serde_json::json!({
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "size": body.len(),
            "digest": format!("sha256:{:x}", Sha256::digest(&body)),
            "platform": platform,
        })
    };
    let amd_entry = entry(&amd, "amd64", None);
    let arm_entry = entry(&arm, "arm64", Some("v8"));
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [amd_entry, arm_entry],
    }))
    .expect("json");
    let index_digest = format!("sha256:{:x}", Sha256::digest(&index));
    let tag = format!("idx-{t}");
    let mut put = Command::new("curl")
        .args(["-sf", "-m", "10", "-X", "PUT", "--data-binary", "@-"])
        .args([
            "-H",
            "Content-Type: application/vnd.oci.image.index.v1+json",
        ])
        .arg(format!("http://{OPEN}/v2/{repo}/manifests/{tag}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("curl");
    put.stdin
        .take()
        .expect("stdin")
        .write_all(&index)
        .expect("write");
    assert!(
        put.wait().expect("curl").success(),
        "PUT of the OCI index failed"
    );

    let image = format!("{OPEN}/{repo}:{tag}");
    let r = resolver("linux/arm64/v8")
        .resolve(&image, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.digest, index_digest);
    assert_eq!(r.digest, registry_digest_as(&image, None));
    assert_eq!(
        r.platform_digest.as_deref(),
        arm_entry["digest"].as_str(),
        "{r:?}"
    );
    assert!(r.is_index);
    let host = Resolver::new(ResolveOptions {
        platform: Platform::host(),
        ..ResolveOptions::default()
    });
    let h = host
        .resolve(&image, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.digest, index_digest);
}

/// A registry stand-in that never sends `Docker-Content-Digest`, recording each request's method,
/// path and `Accept` header.
fn headerless_registry(
    manifest: Vec<u8>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut accept = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("accept")
                {
                    accept = value.trim().to_owned();
                }
            }
            let mut parts = request_line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            );
            log.lock()
                .expect("log")
                .push(format!("{method} {path} {accept}"));
            let body: &[u8] = if path.contains("/manifests/") {
                &manifest
            } else {
                b"{}"
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution.manifest.v2+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            if method != "HEAD" {
                let _ = stream.write_all(body);
            }
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn missing_digest_header_falls_back_to_hashing_the_manifest() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1,"digest":"sha256:00"},"layers":[]}"#.to_vec();
    let expected = format!("sha256:{:x}", Sha256::digest(&manifest));
    let (addr, seen) = headerless_registry(manifest);
    let resolver = Resolver::new(ResolveOptions::default());
    let r = resolver
        .resolve(&format!("{addr}/app:1"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r,
        Resolved {
            digest: expected.clone(),
            platform_digest: None,
            is_index: false
        }
    );
    let by_digest = format!("GET /v2/app/manifests/{expected} ");
    let fetched = |log: &[String]| log.iter().filter(|l| l.starts_with(&by_digest)).count();
    assert_eq!(fetched(&seen.lock().expect("log")), 1);
    // Resolving again: the kind of a known digest is cached, no second fetch by digest.
    let again = resolver
        .resolve(&format!("{addr}/app:1"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, r);
    let seen = seen.lock().expect("log").clone();
    assert_eq!(fetched(&seen), 1, "{seen:#?}");
    let head = seen
        .iter()
        .find(|l| l.starts_with("HEAD /v2/app/manifests/1 "))
        .unwrap_or_else(|| panic!("no HEAD request: {seen:#?}"));
    for media_type in [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ] {
        assert!(head.contains(media_type), "{head}");
    }
    assert!(
        seen.iter()
            .any(|l| l.starts_with("GET /v2/app/manifests/1 ")),
        "{seen:#?}"
    );
}

#[tokio::test]
async fn https_registries_build_a_tls_client_and_docker_hub_goes_to_index_docker_io() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let r = Resolver::new(ResolveOptions::default());
    let e = r
        .resolve("registry.invalid/app:1", None)
        .await
        .expect_err("no such host");
    assert!(
        matches!(&e, DigestError::Unreachable { registry, .. } if registry == "registry.invalid"),
        "{e:?}"
    );
    // Without internet only the host the request went to can be checked; with it, node:15 is a
    // multi-arch index.
    match r.resolve("node:15", None).await {
        Err(DigestError::Unreachable { registry, .. }) => assert_eq!(registry, "index.docker.io"),
        Ok(resolved) => assert!(resolved.is_index, "{resolved:?}"),
        Err(other) => panic!("expected Docker Hub at index.docker.io, got {other:?}"),
    }
}
