//! Embeds the git commit of the build in `taskrun --version` (empty outside a git checkout), and
//! compiles the gate program (`src/engine/gate/program.rs`, see `engine::gate`) into
//! `$OUT_DIR/taskrun-gate`. The gate exists for Linux x86-64 only; elsewhere, or when it cannot
//! be compiled, the file is empty and taskrun starts step containers only when they are due.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!("cargo:rustc-env=TASKRUN_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    build_gate();
}

fn build_gate() {
    const SOURCE: &str = "src/engine/gate/program.rs";
    println!("cargo:rerun-if-changed={SOURCE}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("taskrun-gate");
    let target = std::env::var("TARGET").unwrap_or_default();
    let built = target.starts_with("x86_64-")
        && target.contains("-linux-")
        && compile(SOURCE, &out, &target);
    if !built {
        std::fs::write(&out, b"").expect("OUT_DIR is writable");
    }
}

/// `rustc` on the gate alone: `no_std`, no libc, statically linked, stripped (≈ 7 KB).
fn compile(source: &str, out: &Path, target: &str) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let result = Command::new(rustc)
        .args([
            "--edition",
            "2024",
            "--crate-name",
            "taskrun_gate",
            "--target",
            target,
        ])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "relocation-model=static",
        ])
        .args(["-C", "strip=symbols", "-C", "debuginfo=0"])
        .args([
            "-C",
            "link-arg=-nostartfiles",
            "-C",
            "link-arg=-nostdlib",
            "-C",
            "link-arg=-static",
        ])
        .arg("-o")
        .arg(out)
        .arg(source)
        .output();
    match result {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            println!(
                "cargo:warning=the gate program did not compile (containers will not be started ahead): {first}"
            );
            false
        }
        Err(e) => {
            println!("cargo:warning=cannot run rustc for the gate program: {e}");
            false
        }
    }
}
