//! The git revision of a build context (`git-head-revision` in the dependency JSON), read by
//! running `git rev-parse --verify HEAD` directly (no shell); empty when the context is not a
//! git work tree or git is missing, as acb.

use std::path::Path;
use std::process::{Command, Stdio};

/// The commit checked out in `dir`, or `""`.
pub fn head_revision(dir: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "HEAD"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
