//! The local ACR Tasks service against the real engine and registry: named tasks, run history,
//! and base-image triggers through `taskrun serve --once` — no trigger before a first run, none
//! while the digest is unchanged, a rebuild when the base changes, and the dependants of the
//! pushed image fired in the same cycle (a two-level chain, as scenario B).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_taskrun");

fn docker(args: &[&str]) {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("need a Docker engine: run scripts/test-env.sh");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn taskrun(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("TASKRUN_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .expect("taskrun")
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = taskrun(home, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "taskrun {args:?}: {text}");
    text
}

fn runs(home: &Path) -> Vec<(String, String, String)> {
    let json: Value =
        serde_json::from_str(&ok(home, &["task", "list-runs", "-o", "json"])).expect("json");
    json.as_array()
        .expect("list")
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

/// Builds an image FROM taskrun-busybox with `marker` in it and pushes it as `tag`.
fn push_base(dir: &Path, tag: &str, marker: &str) {
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM taskrun-busybox:latest\nRUN echo {marker} > /marker\n"),
    )
    .expect("write");
    docker(&["build", "-q", "-t", tag, dir.to_str().expect("utf-8")]);
    docker(&["push", tag]);
}

fn app_task(dir: &Path, base: &str, image: &str) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {base}\nCMD [\"cat\", \"/marker\"]\n"),
    )
    .expect("write");
    std::fs::write(
        dir.join("acr-task.yaml"),
        format!("steps:\n  - build: -t {image} .\n  - cmd: {image}\n  - push: [\"{image}\"]\n"),
    )
    .expect("write");
}

#[test]
fn base_image_updates_fire_dependants_once_and_only_when_changed() {
    let pid = std::process::id();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let base = format!("127.0.0.1:5000/trserve-base-{pid}:1");
    let app = format!("127.0.0.1:5000/trserve-app-{pid}:1");
    let down = format!("127.0.0.1:5000/trserve-down-{pid}:1");
    let base_dir = tmp.path().join("base");
    std::fs::create_dir_all(&base_dir).expect("dir");
    push_base(&base_dir, &base, "one");

    app_task(&tmp.path().join("app"), &base, &app);
    app_task(&tmp.path().join("down"), &app, &down);
    for (name, dir) in [("app", "app"), ("down", "down")] {
        let d = tmp.path().join(dir);
        ok(
            &home,
            &[
                "task",
                "create",
                "-n",
                name,
                "-f",
                d.join("acr-task.yaml").to_str().expect("utf-8"),
                "-c",
                d.to_str().expect("utf-8"),
            ],
        );
    }

    // No trigger before a first run: nothing is recorded yet.
    ok(&home, &["serve", "--once"]);
    assert!(runs(&home).is_empty());

    ok(&home, &["task", "run", "-n", "app", "--output", "plain"]);
    ok(&home, &["task", "run", "-n", "down", "--output", "plain"]);
    assert_eq!(runs(&home).len(), 2);

    // Unchanged digests: nothing fires.
    ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 2);

    // The base changes: app rebuilds (Image Update), and its push fires down in the same cycle.
    push_base(&base_dir, &base, "two");
    let cycle = ok(&home, &["serve", "--once"]);
    let all = runs(&home);
    assert_eq!(all.len(), 4, "{cycle}\n{all:?}");
    let newest: Vec<_> = all[..2]
        .iter()
        .map(|(t, trig, st)| (t.as_str(), trig.as_str(), st.as_str()))
        .collect();
    assert!(
        newest.contains(&("app", "Image Update", "Succeeded")),
        "{all:?}"
    );
    assert!(
        newest.contains(&("down", "Image Update", "Succeeded")),
        "{all:?}"
    );
    let log = ok(&home, &["task", "logs"]);
    assert!(
        log.contains("two"),
        "the rebuilt image has the new base: {log}"
    );

    // And nothing more afterwards.
    ok(&home, &["serve", "--once"]);
    assert_eq!(runs(&home).len(), 4);

    for image in [&base, &app, &down] {
        let _ = Command::new("docker").args(["rmi", "-f", image]).output();
    }
}
