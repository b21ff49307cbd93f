//! Every shell block of README.md and docs/ marked ```` ```sh runnable ```` runs, as written,
//! from the repository root with the built `taskrun` first on PATH, and succeeds. (Blocks with
//! placeholders or that install software are not marked.) Needs the environment of
//! scripts/test-env.sh; fails without it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn runnable_blocks(file: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).expect("read doc");
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if current.is_some() && line.trim_start().starts_with("```") {
            out.extend(current.take());
            continue;
        }
        match &mut current {
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None if line.trim() == "```sh runnable" => current = Some((i + 1, String::new())),
            None => {}
        }
    }
    out
}

#[test]
fn runnable_shell_blocks_in_the_docs_succeed() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_taskrun"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "md") {
            files.push(p);
        }
    }
    files.sort();
    let mut ran = 0;
    for file in files {
        for (line, body) in runnable_blocks(&file) {
            let out = Command::new("bash")
                .args(["-euo", "pipefail", "-c", &body])
                .current_dir(&root)
                .env("PATH", &path)
                .env("NO_COLOR", "1")
                .env_remove("GITHUB_ACTIONS")
                .output()
                .expect("bash");
            assert!(
                out.status.success(),
                "{}:{line}: the block failed:\n{body}\n--- stdout\n{}\n--- stderr\n{}",
                file.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} runnable blocks found");
}

#[test]
fn readme_quick_start_runs_the_quickstart_sample() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    // The first of the README's two Quick start commands (the second is this test suite).
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/quickstart.sh"))
        .current_dir(&root)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("scripts/quickstart.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("was successful"), "{text}");
}

#[test]
fn cargo_install_path_works() {
    // Holds the engine lock: other modules of this binary may run tests that need it alone.
    let _engine = crate::common::need_docker();
    // docs/getting-started.md: `cargo install --path .` (debug profile and the shared target
    // dir here, to reuse the test build).
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dest = tempfile::tempdir().expect("tempdir");
    let target = Path::new(env!("CARGO_BIN_EXE_taskrun"))
        .ancestors()
        .nth(2)
        .expect("target dir")
        .to_path_buf();
    let out = Command::new(env!("CARGO"))
        .args(["install", "--locked", "--offline", "--debug", "--path", "."])
        .arg("--root")
        .arg(dest.path())
        .arg("--target-dir")
        .arg(&target)
        .current_dir(&root)
        .output()
        .expect("cargo install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = Command::new(dest.path().join("bin/taskrun"))
        .arg("--version")
        .output()
        .expect("installed taskrun");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("taskrun 0."));
}
