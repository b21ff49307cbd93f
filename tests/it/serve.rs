//! The local ACR Tasks service against the real engine and registry: named tasks, run history,
//! and base-image triggers through `taskrun serve --once` — no trigger before a first run, none
//! while the digest is unchanged, a rebuild when the base changes, and the dependants of the
//! pushed image fired in the same cycle (a two-level chain, as scenario B).

use crate::common;

use common::{docker, need_docker_alone, ok, runs, taskrun_command};

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

#[test]
fn a_named_task_run_whose_process_was_killed_is_marked_error() {
    // Exclusive: the next runs remove the dead run's engine leftovers, which other tests of this
    // binary might be checking.
    let _engine = need_docker_alone();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let dir = tmp.path().join("slow");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("acr-task.yaml"),
        "steps:\n  - id: wait\n    cmd: taskrun-busybox sh -c 'echo started; sleep 60'\n",
    )
    .expect("write");
    let d = dir.to_str().expect("utf-8");
    ok(
        &home,
        &[
            "task",
            "create",
            "-n",
            "slow",
            "-f",
            &format!("{d}/acr-task.yaml"),
            "-c",
            d,
        ],
    );
    let mut child = taskrun_command(&dir, &home)
        .args(["task", "run", "-n", "slow", "--output", "plain"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the step runs, then kill taskrun without a chance to record the end.
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).expect("read") > 0
        && !line.contains("[wait] started")
    {
        line.clear();
    }
    assert!(line.contains("[wait] started"), "the step never started");
    let status = |runs: Vec<(String, String, String)>| {
        runs.into_iter().map(|(_, _, s)| s).collect::<Vec<_>>()
    };
    assert_eq!(status(runs(&home)), ["Running"]);
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");

    // The next command that reads the history finishes the run as Error, and says so.
    let listed = common::taskrun(&home, &["task", "list-runs"]);
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(said.contains("was marked Error"), "{said}");
    assert_eq!(status(runs(&home)), ["Error"]);

    // Any run removes the killed run's container, network and volumes.
    std::fs::write(dir.join("none.yaml"), "steps: []\n").expect("write");
    let cleaned = taskrun_command(&dir, &home)
        .args(["run", "-f", "none.yaml", "--output", "plain", "."])
        .output()
        .expect("run");
    assert!(
        cleaned.status.success(),
        "{}",
        common::output_text(&cleaned)
    );
}

/// `(run id, status)` of every run, newest first.
fn run_ids(home: &Path) -> Vec<(String, String)> {
    let out = common::taskrun(home, &["task", "list-runs", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list-runs json");
    json.as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["runId"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn cancel_run_stops_a_run_of_another_process_and_leaves_nothing() {
    let _engine = common::need_docker();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let dir = tmp.path().join("sleepy");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("acr-task.yaml"),
        "steps:\n  - id: wait\n    cmd: taskrun-busybox sh -c 'echo started; sleep 120'\n  \
         - id: after\n    cmd: taskrun-busybox echo never\n",
    )
    .expect("write");
    let d = dir.to_str().expect("utf-8");
    ok(
        &home,
        &[
            "task",
            "create",
            "-n",
            "sleepy",
            "-f",
            &format!("{d}/acr-task.yaml"),
            "-c",
            d,
        ],
    );
    let mut child = taskrun_command(&dir, &home)
        .args(["task", "run", "-n", "sleepy", "--output", "plain"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).expect("read") > 0
        && !line.contains("[wait] started")
    {
        line.clear();
    }
    assert!(line.contains("[wait] started"), "the step never started");
    let runs_now = run_ids(&home);
    assert_eq!(runs_now.len(), 1, "{runs_now:?}");
    let (id, status) = runs_now[0].clone();
    assert_eq!(status, "Running");
    assert!(
        !common::leftovers(pid).is_empty(),
        "the run has its resources"
    );

    let started = std::time::Instant::now();
    let canceled = common::taskrun(&home, &["task", "cancel-run", &id]);
    let said = common::output_text(&canceled);
    assert!(canceled.status.success(), "{said}");
    assert!(said.contains(&format!("Run {id} was canceled")), "{said}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "cancel-run took {:?}",
        started.elapsed()
    );

    // The run's own process stopped the run, cleaned up and recorded the end.
    let rest = std::io::read_to_string(&mut out).expect("rest of stdout");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(!rest.contains("never"), "{rest}");
    assert_eq!(run_ids(&home), [(id.clone(), "Canceled".to_owned())]);
    let listed = ok(&home, &["task", "list-runs", "--status", "canceled"]);
    assert!(listed.contains(&id), "{listed}");
    assert!(
        common::leftovers(pid).is_empty(),
        "left on the engine: {:?}",
        common::leftovers(pid)
    );

    // Canceling it again says it is over, and how it ended.
    let again = common::taskrun(&home, &["task", "cancel-run", &id]);
    let said = common::output_text(&again);
    assert_eq!(again.status.code(), Some(2), "{said}");
    assert!(said.contains("taskrun::input::run_not_running"), "{said}");
    assert!(said.contains("finished with status Canceled"), "{said}");
}

#[test]
fn task_run_overrides_values_for_one_run_and_masks_secrets() {
    let _engine = common::need_docker();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let dir = tmp.path().join("vals");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("acr-task.yaml"),
        "steps:\n  - cmd: taskrun-busybox echo \"who={{.Values.who}} tok={{.Values.tok}}\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("other.yaml"),
        "steps:\n  - cmd: taskrun-busybox echo other-file\n",
    )
    .expect("write");
    let d = dir.to_str().expect("utf-8");
    let secret = "s3cr3t-given-only-to-this-run";
    ok(
        &home,
        &[
            "task",
            "create",
            "-n",
            "vals",
            "-f",
            &format!("{d}/acr-task.yaml"),
            "-c",
            d,
            "--set",
            "who=stored",
        ],
    );
    let run = ok(
        &home,
        &[
            "task",
            "run",
            "-n",
            "vals",
            "--output",
            "plain",
            "--set",
            "who=given",
            "--set-secret",
            &format!("tok={secret}"),
        ],
    );
    assert!(run.contains("who=given tok=***"), "{run}");
    assert!(!run.contains(secret), "{run}");
    let log = ok(&home, &["task", "logs", "-n", "vals"]);
    assert!(
        log.contains("who=given tok=***") && !log.contains(secret),
        "{log}"
    );

    // The next run has the task's own values again; -f picks another file for one run.
    let run = ok(&home, &["task", "run", "-n", "vals", "--output", "plain"]);
    assert!(run.contains("who=stored tok="), "{run}");
    let run = ok(
        &home,
        &[
            "task",
            "run",
            "-n",
            "vals",
            "--output",
            "plain",
            "-f",
            "other.yaml",
        ],
    );
    assert!(run.contains("other-file"), "{run}");
    assert_eq!(
        run_ids(&home)
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>(),
        ["Succeeded", "Succeeded", "Succeeded"]
    );

    // The secret given to `task run` is stored nowhere.
    for entry in walk(&home) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the secret",
            entry.display()
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("read dir")
        .map_while(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn ctrl_c_stops_serve_after_it_has_run_a_task() {
    // A run installs its own Ctrl-C handler; `serve` must still stop on Ctrl-C once a run is
    // over (it used to be swallowed).
    let _engine = common::need_docker();
    let pid = std::process::id();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let base = format!("127.0.0.1:5000/trserve-stop-base-{pid}:1");
    let app = format!("127.0.0.1:5000/trserve-stop-app-{pid}:1");
    let base_dir = tmp.path().join("base");
    std::fs::create_dir_all(&base_dir).expect("dir");
    push_base(&base_dir, &base, "one");
    let app_dir = tmp.path().join("app");
    app_task(&app_dir, &base, &app);
    let d = app_dir.to_str().expect("utf-8");
    let file = app_dir.join("acr-task.yaml");
    let f = file.to_str().expect("utf-8");
    ok(&home, &["task", "create", "-n", "app", "-f", f, "-c", d]);
    ok(&home, &["task", "run", "-n", "app", "--output", "plain"]);
    push_base(&base_dir, &base, "two");

    let log = std::fs::File::create(tmp.path().join("serve.log")).expect("log");
    let mut serve = taskrun_command(tmp.path(), &home)
        .args(["serve", "--interval", "1"])
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("serve");
    // The base changed: the first cycle rebuilds app.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while runs(&home).len() < 2 || runs(&home)[0].2 == "Running" {
        assert!(std::time::Instant::now() < deadline, "no triggered run");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let signalled = Command::new("kill")
        .args(["-INT", &serve.id().to_string()])
        .status()
        .expect("kill");
    assert!(signalled.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = serve.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = serve.kill();
            panic!(
                "serve did not stop on Ctrl-C: {}",
                std::fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let said = std::fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default();
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(
        said.contains("serve: stopped (Ctrl-C or SIGTERM)"),
        "{said}"
    );
    assert_eq!(runs(&home)[0].1, "Image Update", "{said}");
    for image in [&base, &app] {
        let _ = Command::new("docker").args(["rmi", "-f", image]).output();
    }
}
