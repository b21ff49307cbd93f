//! Scenario D: taskrun as a CI container step. `samples/ci-step/run.sh` builds the image
//! (docker/Dockerfile, a static binary, by scripts/build-image.sh) and runs the quick start in
//! it with the engine socket mounted. Needs the environment of scripts/test-env.sh; fails
//! without it.

use std::path::Path;
use std::process::Command;

#[test]
fn the_ci_step_sample_runs_the_quick_start_in_the_taskrun_image() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("samples/ci-step/run.sh"))
        .args(["127.0.0.1:5000", "json"])
        .current_dir(root)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("samples/ci-step/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run.sh (needs Docker: run scripts/test-env.sh): {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let last = events
        .iter()
        .rev()
        .find(|e| e["event"] == "run_finished")
        .expect("a run_finished event");
    assert_eq!(last["success"], serde_json::Value::Bool(true), "{stdout}");
    assert_eq!(last["steps"].as_array().map(Vec::len), Some(3), "{stdout}");
    assert!(
        stdout.contains("ci-step: taskrun exited with 0"),
        "{stdout}"
    );
}
