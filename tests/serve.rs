//! The local ACR Tasks service against the real engine and registry: named tasks, run history,
//! and base-image triggers through `taskrun serve --once` — no trigger before a first run, none
//! while the digest is unchanged, a rebuild when the base changes, and the dependants of the
//! pushed image fired in the same cycle (a two-level chain, as scenario B).

mod common;

use common::{docker, ok, runs};

use std::path::Path;
use std::process::Command;

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
