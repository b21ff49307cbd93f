//! Scenario B end to end (`/work/shared/scenarios.md`, `samples/buffered-base-images`): buffering
//! a public base image behind a gated import, with the real binary, engine and registry.
//!
//! - a good upstream change: `node-public` (Commit) → `base-import-node` (Image Update) →
//!   `hello-world` (Image Update), each Succeeded, and the new app image has the change;
//! - a bad change (`BACKGROUND_COLOR Red`): the gate fails at its test step, the verified base
//!   keeps its digest, and `hello-world` is not triggered;
//! - a patch pushed directly to `base-artifacts` triggers `hello-world` and nothing upstream.
//!
//! Needs `scripts/test-env.sh` (dockerd, registry 127.0.0.1:5000, the local image
//! `taskrun-busybox:latest`) and git; it fails, never skips, without them. The sample is copied to a
//! temporary directory and every image lives under the namespace `127.0.0.1:5000/b<pid>`
//! (the tasks' `--registry`), so concurrent runs do not share tags.

use crate::common;

use common::{docker, ok, registry_digest, runs};

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=upstream",
            "-c",
            "user.email=upstream@example.com",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The newest `n` runs as `(task, trigger, status)` string slices, newest first.
fn newest(all: &[(String, String, String)], n: usize) -> Vec<(&str, &str, &str)> {
    all.iter()
        .take(n)
        .map(|(t, trig, st)| (t.as_str(), trig.as_str(), st.as_str()))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Replaces the `ENV <key> …` line of the upstream Dockerfile and commits it (an upstream release).
fn publish_upstream(repo: &Path, key: &str, value: &str, message: &str) {
    let path = repo.join("Dockerfile");
    let text = std::fs::read_to_string(&path).expect("read Dockerfile");
    let prefix = format!("ENV {key} ");
    assert!(text.contains(&prefix), "{key} in {text}");
    let changed: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                format!("{prefix}{value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&path, changed.join("\n") + "\n").expect("write Dockerfile");
    git(repo, &["commit", "-q", "-a", "-m", message]);
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn gated_import_passes_good_updates_stops_bad_ones_and_lets_patches_through() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let pid = std::process::id();
    let ns = format!("127.0.0.1:5000/b{pid}");
    let upstream = format!("{ns}/upstream/node:15-alpine");
    let verified = format!("{ns}/base-artifacts/node:15-alpine");
    let app = format!("{ns}/dev/hello-world:latest");

    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let work = tmp.path().join("sample");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/buffered-base-images"),
        &work,
    );
    let node_public = work.join("node-public");
    git(&node_public, &["init", "-q"]);
    git(&node_public, &["add", "-A"]);
    git(&node_public, &["commit", "-q", "-m", "node 15.0.0"]);

    let from_url = format!("REGISTRY_FROM_URL={ns}/base-artifacts/");
    for (name, extra) in [
        ("node-public", None),
        ("base-import-node", None),
        ("hello-world", Some(from_url.as_str())),
    ] {
        let dir = work.join(name);
        let file = dir.join("acr-task.yaml");
        let mut args = vec![
            "task",
            "create",
            "-n",
            name,
            "-f",
            path(&file),
            "-c",
            path(&dir),
            "-r",
            &ns,
            "-o",
            "json",
        ];
        if let Some(set) = extra {
            args.extend(["--set", set]);
        }
        let created: Value = serde_json::from_str(&ok(&home, &args)).expect("task json");
        assert_eq!(
            created["commitTriggerEnabled"],
            Value::Bool(name == "node-public"),
            "only node-public's context is a git repository: {created}"
        );
    }

    // First runs: base-image triggers only follow tasks that completed a run.
    for name in ["node-public", "base-import-node", "hello-world"] {
        ok(&home, &["task", "run", "-n", name, "--output", "plain"]);
    }
    let all = runs(&home);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(
        newest(&all, 3),
        vec![
            ("hello-world", "Manual", "Succeeded"),
            ("base-import-node", "Manual", "Succeeded"),
            ("node-public", "Manual", "Succeeded"),
        ],
        "{all:?}"
    );
    assert_eq!(
        docker(&["run", "--rm", &app, "node", "--version"]).trim(),
        "v15.0.0"
    );

    // The first cycle only records node-public's commit; unchanged digests fire nothing.
    ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 3);

    // A good upstream release flows through the gate to the app, in one cycle.
    publish_upstream(&node_public, "NODE_VERSION", "15.0.1", "node 15.0.1");
    let cycle = ok(&home, &["serve", "--once"]);
    let all = runs(&home);
    assert_eq!(all.len(), 6, "{cycle}\n{all:?}");
    assert_eq!(
        newest(&all, 3),
        vec![
            ("hello-world", "Image Update", "Succeeded"),
            ("base-import-node", "Image Update", "Succeeded"),
            ("node-public", "Commit", "Succeeded"),
        ],
        "{cycle}"
    );
    assert_eq!(
        docker(&["run", "--rm", &app, "node", "--version"]).trim(),
        "v15.0.1",
        "the new hello-world image has the upstream change"
    );
    assert_eq!(
        docker(&["run", "--rm", &app]).trim(),
        "Hello World from node v15.0.1, background Blue"
    );
    assert_eq!(registry_digest(&verified), registry_digest(&upstream));
    ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 6, "nothing more fires");

    // A bad upstream release: the gate fails at its test step and nothing reaches the teams.
    let verified_before = registry_digest(&verified);
    let app_before = registry_digest(&app);
    let upstream_before = registry_digest(&upstream);
    publish_upstream(&node_public, "BACKGROUND_COLOR", "Red", "red");
    let cycle = ok(&home, &["serve", "--once"]);
    let all = runs(&home);
    assert_eq!(all.len(), 8, "{cycle}\n{all:?}");
    assert_eq!(
        newest(&all, 2),
        vec![
            ("base-import-node", "Image Update", "Failed"),
            ("node-public", "Commit", "Succeeded"),
        ],
        "{cycle}"
    );
    assert_ne!(
        registry_digest(&upstream),
        upstream_before,
        "upstream published"
    );
    let log = ok(&home, &["task", "logs", "-n", "base-import-node"]);
    assert!(
        log.contains("validation failed: BACKGROUND_COLOR is Red"),
        "{log}"
    );
    assert!(
        log.contains("[test] failed"),
        "failed at the test step: {log}"
    );
    assert!(log.contains("[push] skipped"), "{log}");
    assert_eq!(
        registry_digest(&verified),
        verified_before,
        "base-artifacts keeps the verified image"
    );
    assert_eq!(registry_digest(&app), app_before, "hello-world not rebuilt");
    ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 8, "the failed gate is not retried");

    // A security patch pushed directly to base-artifacts (upstream is still broken) reaches the
    // app, and nothing upstream runs.
    let patch_dir = tmp.path().join("patch");
    std::fs::create_dir_all(&patch_dir).expect("mkdir");
    std::fs::write(
        patch_dir.join("Dockerfile"),
        format!("FROM {verified}\nRUN echo patched > /security-patch\n"),
    )
    .expect("write");
    docker(&["build", "-q", "-t", &verified, path(&patch_dir)]);
    docker(&["push", &verified]);
    assert_ne!(registry_digest(&verified), verified_before);
    let cycle = ok(&home, &["serve", "--once"]);
    let all = runs(&home);
    assert_eq!(all.len(), 9, "{cycle}\n{all:?}");
    assert_eq!(
        newest(&all, 1),
        vec![("hello-world", "Image Update", "Succeeded")],
        "{cycle}"
    );
    assert_eq!(
        docker(&["run", "--rm", &app, "cat", "/security-patch"]).trim(),
        "patched"
    );
    assert_eq!(
        docker(&["run", "--rm", &app]).trim(),
        "Hello World from node v15.0.1, background Blue",
        "still the verified upstream, not the Red one"
    );
    ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 9);

    // Best-effort cleanup of this run's local images (the registry keeps its tags).
    let listed = docker(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}",
    ]);
    for image in listed
        .split_whitespace()
        .filter(|r| r.starts_with(&format!("{ns}/")) && !r.ends_with("<none>"))
    {
        let _ = Command::new("docker").args(["rmi", "-f", image]).output();
    }
}
