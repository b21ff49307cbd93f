//! The taskrun container image (docker/Dockerfile, built by scripts/build-image.sh from a
//! static binary) runs a task file as a CI container step with the engine socket mounted.
//! Needs the environment of scripts/test-env.sh; fails without it.

use std::path::Path;
use std::process::Command;

#[test]
fn the_image_runs_a_task_with_the_engine_socket_mounted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tag = format!("taskrun-test-image:{}", std::process::id());
    let built = Command::new("bash")
        .arg(root.join("scripts/build-image.sh"))
        .arg(&tag)
        .current_dir(root)
        .output()
        .expect("scripts/build-image.sh");
    assert!(
        built.status.success(),
        "build-image.sh (needs Docker: run scripts/test-env.sh): {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let samples = root.join("samples");
    let out = Command::new("docker")
        .args([
            "run",
            "--rm",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            "-v",
        ])
        .arg(format!("{}:/src:ro", samples.display()))
        .args(["-w", "/src", &tag])
        .args([
            "-f",
            "parallel/acr-task.yaml",
            "--output",
            "plain",
            "parallel",
        ])
        .output()
        .expect("docker run");
    let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("[package] packaging after lint and unit"),
        "{text}"
    );
    assert!(text.contains("was successful"), "{text}");
}
