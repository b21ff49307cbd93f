//! Every sample runs as its README says, on the real engine, with the documented outcome
//! (scenario B has its own test, tests/scenario_b.rs; the quick start is also in
//! tests/run_engine.rs). Fails, never skips, without scripts/test-env.sh.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::{BIN, docker};

fn run(args: &[&str]) -> (Output, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("TASKRUN_REGISTRY")
        .output()
        .expect("taskrun");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

fn succeeds(args: &[&str]) -> String {
    let (out, text) = run(args);
    assert!(out.status.success(), "taskrun {args:?}:\n{text}");
    text
}

#[test]
fn parallel_sample_runs_lint_and_unit_together() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    let text = succeeds(&[
        "-f",
        "samples/parallel/acr-task.yaml",
        "--output",
        "plain",
        "samples/parallel",
    ]);
    assert!(
        text.contains("[package] packaging after lint and unit"),
        "{text}"
    );
    assert!(text.contains("[announce] runs after package"), "{text}");
    let graph = succeeds(&["graph", "-f", "samples/parallel/acr-task.yaml"]);
    assert!(graph.contains("after lint, unit"), "{graph}");
}

#[test]
fn service_network_sample_reaches_web_by_step_id() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    let text = succeeds(&[
        "-f",
        "samples/service-network/acr-task.yaml",
        "--output",
        "plain",
        "samples/service-network",
    ]);
    assert!(text.contains("[client] hello-from-web"), "{text}");
}

#[test]
fn secrets_volumes_sample_masks_the_secret() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    let text = succeeds(&[
        "-f",
        "samples/secrets-volumes/acr-task.yaml",
        "--secret",
        "apikey=s3cr3t-value",
        "--output",
        "plain",
        "samples/secrets-volumes",
    ]);
    assert!(text.contains("[use-secret] the key is ***"), "{text}");
    assert!(!text.contains("s3cr3t-value"), "{text}");
}

#[test]
fn buildkit_secrets_sample_builds_with_both_secrets_masked() {
    docker(&["version"]);
    let text = succeeds(&[
        "-f",
        "samples/buildkit-secrets/acr-task.yaml",
        "--secret",
        "npmtoken=s3cr3t-npm-token",
        "--output",
        "plain",
        "samples/buildkit-secrets",
    ]);
    assert!(text.contains(" token: ***"), "{text}");
    assert!(
        text.contains("[check] the image has no secret, the token had 16 bytes"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t-npm-token"), "{text}");
    assert!(!text.contains("sample-config-password"), "{text}");
}

#[test]
fn aliases_sample_expands_values_src_and_image_aliases() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    let text = succeeds(&[
        "-f",
        "samples/aliases/acr-task.yaml",
        "--image-alias",
        "bash=taskrun-busybox",
        "--run-id",
        "demo1",
        "--output",
        "plain",
        "samples/aliases",
    ]);
    assert!(
        text.contains("[show] run demo1 says hello-from-an-alias-file"),
        "{text}"
    );
    assert!(text.contains("[show] HOME is /acb/home"), "{text}");
    assert!(text.contains("[image-alias] the bash alias ran"), "{text}");
}

#[test]
fn angle_delims_sample_keeps_braces_literal() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let text = succeeds(&[
        "render",
        "-f",
        "samples/angle-delims/acr-task.yaml",
        "--run-id",
        "demo1",
    ]);
    assert!(
        text.contains("echo 'run demo1 keeps {{.Id}} as typed'"),
        "{text}"
    );
    docker(&["version"]);
    let text = succeeds(&[
        "-f",
        "samples/angle-delims/acr-task.yaml",
        "--run-id",
        "demo1",
        "--output",
        "plain",
        "samples/angle-delims",
    ]);
    assert!(
        text.contains("[show] run demo1 keeps {{.Id}} as typed"),
        "{text}"
    );
}

#[test]
fn retries_sample_retries_repeats_and_ignores() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    let dir = tempfile::tempdir().expect("tempdir");
    // The sample marks its first attempt in /workspace: start from an empty context.
    let text = succeeds(&[
        "-f",
        "samples/retries/acr-task.yaml",
        "--output",
        "plain",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(text.contains("[flaky] first attempt fails"), "{text}");
    assert!(text.contains("[flaky] started (attempt 2)"), "{text}");
    assert_eq!(text.matches("[twice] repeated").count(), 2, "{text}");
    assert!(text.contains("failed (ignored)"), "{text}");
    assert!(text.contains("[last] still runs"), "{text}");
    assert!(text.contains("was successful"), "{text}");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/retries/README.md")
            .exists()
    );
}

#[test]
fn foundation_image_sample_uses_the_local_build_then_the_registry_version() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    docker(&["version"]);
    // Tags are global on the engine: put this test's images under their own registry path.
    let r = format!("127.0.0.1:5000/c{}", std::process::id());
    let foundation = "samples/foundation-image/foundation";
    let app = "samples/foundation-image/app";
    let ff = format!("{foundation}/acr-task.yaml");
    let af = format!("{app}/acr-task.yaml");
    succeeds(&[
        "-f", &ff, "-r", &r, "--set", "push=yes", "--output", "plain", foundation,
    ]);
    succeeds(&[
        "-f",
        &ff,
        "-r",
        &r,
        "--set",
        "flavor=local",
        "--output",
        "plain",
        foundation,
    ]);
    let text = succeeds(&["-f", &af, "-r", &r, "--output", "plain", app]);
    assert!(
        text.contains("[show] foundation built from: local"),
        "{text}"
    );
    let scan = succeeds(&["scan", app, "--build-arg", &format!("REGISTRY={r}")]);
    assert!(scan.contains("built locally and never pushed"), "{scan}");
    docker(&["pull", &format!("{r}/foundation:1")]);
    let text = succeeds(&["-f", &af, "-r", &r, "--output", "plain", app]);
    assert!(
        text.contains("[show] foundation built from: registry"),
        "{text}"
    );
    let scan = succeeds(&["scan", app, "--build-arg", &format!("REGISTRY={r}")]);
    assert!(scan.contains("\"digest\": \"sha256:"), "{scan}");
    let _ = Command::new("docker")
        .args(["rmi", "-f", &format!("{r}/foundation:1")])
        .output();
}
