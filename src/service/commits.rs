//! The commit a named task's context is at, for the commit trigger of `taskrun serve` and the
//! run history: a local repository (`DIR` or `DIR#BRANCH`) is read with `git rev-parse`; a git
//! URL (`…repo.git#ref:folder`) is asked with `git ls-remote` for its reference (the remote's
//! `HEAD` without one), with the task's `--git-access-token`, nothing downloaded. Tarball and
//! OCI contexts have no commits.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::context::remote::{self, FetchError, GitToken, RemoteRevision, RemoteSource};
use crate::store::TaskDef;

/// Why the commit of a context could not be found. The text is masked.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The async runtime for `git ls-remote` could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The remote could not be asked (the message is masked).
    #[error(transparent)]
    Remote(#[from] FetchError),
}

/// The commit (and branch) `context` is at now: `Ok(None)` when the context has no commits
/// (not a git repository, a tarball, an OCI artifact); `Err` (masked) when a remote cannot be
/// asked.
pub fn revision(context: &str, token: Option<&str>) -> Result<Option<RemoteRevision>, CommitError> {
    match RemoteSource::parse(context) {
        Some(source @ RemoteSource::Git { .. }) => remote_revision(&source, token).map(Some),
        Some(_) => Ok(None),
        None => Ok(local_revision(context)),
    }
}

/// The commit of the task's context for its commit trigger (see [`revision`]).
pub fn current_commit(task: &TaskDef) -> Result<Option<String>, CommitError> {
    let Some(context) = task.context.as_deref() else {
        return Ok(None);
    };
    revision(context, task.git_access_token.as_deref()).map(|r| r.map(|r| r.commit))
}

fn remote_revision(
    source: &RemoteSource,
    token: Option<&str>,
) -> Result<RemoteRevision, CommitError> {
    let options = crate::context::source::options(
        crate::registry::Credentials::default(),
        Vec::new(),
        token.map(|t| GitToken(t.to_owned())),
    );
    let runtime =
        crate::runtime::build(crate::runtime::Threads::One).map_err(CommitError::Runtime)?;
    Ok(runtime.block_on(remote::remote_revision(
        source,
        &options,
        &CancellationToken::new(),
    ))?)
}

/// `DIR#BRANCH` (or `DIR`, its `HEAD`) of a local repository.
fn local_revision(context: &str) -> Option<RemoteRevision> {
    let (dir, branch) = context
        .split_once('#')
        .map_or((context, None), |(d, b)| (d, Some(b)));
    let commit = std::process::Command::new("git")
        .arg("-C")
        .arg(Path::new(dir))
        .args([
            "rev-parse",
            "--verify",
            &format!("{}^{{commit}}", branch.unwrap_or("HEAD")),
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())?;
    Some(RemoteRevision {
        commit,
        branch: branch.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_errors_keep_their_wording() {
        let e = CommitError::Runtime(std::io::Error::other("no threads"));
        assert_eq!(e.to_string(), "cannot start the async runtime: no threads");
        let e = CommitError::from(FetchError {
            kind: "git",
            url: "https://example.com/r.git".into(),
            message: "not found".into(),
        });
        assert_eq!(
            e.to_string(),
            "failed to fetch the git context https://example.com/r.git: not found"
        );
    }

    #[test]
    fn contexts_without_commits_have_no_revision() {
        assert!(matches!(
            revision("https://example.com/ctx.tar.gz", None),
            Ok(None)
        ));
        assert!(matches!(
            revision("oci://example.com/ctx:1", None),
            Ok(None)
        ));
    }
}
