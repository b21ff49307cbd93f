//! The whole-run timeout (`taskrun run --timeout`, `task create --timeout`): the run stops, exits
//! 1, is recorded as `Timeout`, and leaves nothing behind. Fails without scripts/test-env.sh.

use crate::common;

use common::{ok, runs, taskrun};

#[test]
fn a_run_longer_than_its_timeout_stops_and_is_recorded_as_timeout() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    common::docker(&["version"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("task");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("acr-task.yaml");
    std::fs::write(
        &file,
        "steps:\n  - id: slow\n    cmd: taskrun-busybox sleep 30\n  - id: never\n    cmd: taskrun-busybox true\n",
    )
    .expect("write");
    let home = tmp.path().join("home");
    let file = file.to_str().expect("utf-8");
    let dir = dir.to_str().expect("utf-8");

    let out = taskrun(
        &home,
        &["-f", file, "--timeout", "2", "--output", "plain", dir],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("timed out after 2s (--timeout)"), "{text}");
    // Said as a timeout, not as an interrupt: the running step timed out, the next was skipped.
    assert!(!text.contains("interrupted"), "{text}");
    assert!(
        text.contains("[slow] timed out")
            || text
                .lines()
                .any(|l| l.starts_with("slow ") && l.contains("timed out")),
        "{text}"
    );
    assert!(!text.contains("cancelled"), "{text}");

    ok(
        &home,
        &[
            "task",
            "create",
            "-n",
            "slow",
            "-f",
            file,
            "-c",
            dir,
            "--timeout",
            "2",
        ],
    );
    let out = taskrun(&home, &["task", "run", "-n", "slow", "--output", "plain"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        runs(&home)[0],
        ("slow".into(), "Manual".into(), "Timeout".into())
    );
}
