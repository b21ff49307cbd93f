//! The CONTEXT of a run (`taskrun`, `taskrun build`, `scan`, `validate`, named tasks) when it
//! is not a local directory: a git URL (`…repo.git#ref:folder`), a tarball URL or an OCI
//! artifact (`oci://registry/repo:tag`), fetched once per run into a temporary directory the
//! run owns, then used exactly like a local CONTEXT directory.
//!
//! # Defined behaviour
//!
//! * **Which arguments are remote**: an argument that names an existing local directory is
//!   always local; otherwise it is classified as acb does ([`RemoteSource::parse`]). Anything
//!   else is a local path (and fails later as a missing directory).
//! * **One fetch per run**, with [`remote::fetch`] (the same code that fetches the remote
//!   contexts of `build` steps), into `taskrun-context-*` under the temporary directory; the
//!   directory is removed when the [`FetchedContext`] is dropped, success, failure or Ctrl-C.
//!   The context is the git `#ref:folder` folder of the checkout.
//! * **Commit and branch**: for git, `.Run.Commit` is the commit checked out and `.Run.Branch`
//!   the branch the reference names (the remote's default branch without a reference; none for
//!   a tag or a commit), unless `--commit` / `--branch` say otherwise.
//! * **Ctrl-C** (SIGINT, SIGTERM) during the fetch stops it (git is killed, the download
//!   dropped) and the directory is removed; the command then exits 130.
//! * **Failures** are diagnostics before any step runs ([`failure_problem`]), masked: the host
//!   cannot be reached (`taskrun::context::fetch`, exit 3), authentication failed
//!   (`taskrun::context::auth`, exit 3), the repository, reference, folder, URL or artifact does
//!   not exist (`taskrun::context::not_found`, exit 2), the download is not a tar archive
//!   (`taskrun::context::not_archive`, exit 2).

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::context::remote::{self, FetchError, FetchOptions, RemoteRevision, RemoteSource};
use crate::diag::{Code, Problem};

/// The remote source a CONTEXT argument names; `None` for a local directory (an existing
/// directory of that name always wins).
pub fn remote_context(arg: &Path) -> Option<RemoteSource> {
    if arg.is_dir() {
        return None;
    }
    RemoteSource::parse(arg.to_str()?)
}

/// A remote context fetched into a temporary directory (removed on drop).
#[derive(Debug)]
pub struct FetchedContext {
    _dir: tempfile::TempDir,
    root: PathBuf,
    source: RemoteSource,
    revision: Option<RemoteRevision>,
    mark: Option<crate::signals::Mark>,
}

impl FetchedContext {
    /// The context directory (the git `#ref:folder` folder of the checkout).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Whether Ctrl-C or SIGTERM came since the fetch started ([`fetch_blocking`]): the
    /// caller stops before it starts anything.
    pub fn interrupted(&self) -> bool {
        self.mark.is_some_and(crate::signals::Mark::interrupted)
    }

    /// What was fetched.
    pub fn source(&self) -> &RemoteSource {
        &self.source
    }

    /// The commit checked out (git only).
    pub fn commit(&self) -> Option<&str> {
        self.revision.as_ref().map(|r| r.commit.as_str())
    }

    /// The branch the reference names (git only).
    pub fn branch(&self) -> Option<&str> {
        self.revision.as_ref().and_then(|r| r.branch.as_deref())
    }

    /// How the run header names the task file: relative to the context when it came from it
    /// (`acr-task.yaml (from the fetched context)`), else as given.
    pub fn describe_file(&self, name: &str) -> String {
        match Path::new(name).strip_prefix(&self.root) {
            Ok(rel) => format!("{} (from the fetched context)", rel.display()),
            Err(_) => name.to_owned(),
        }
    }

    /// The run header's line: `Context: fetched <kind> context <masked URL>`, with the commit
    /// and branch of a git checkout.
    pub fn header(&self) -> String {
        let mut s = format!(
            "Context: fetched {} context {}",
            self.source.kind(),
            self.source.display()
        );
        if let Some(c) = self.commit() {
            s.push_str(&format!(", commit {c}"));
        }
        if let Some(b) = self.branch() {
            s.push_str(&format!(", branch {b}"));
        }
        s
    }
}

/// Why a fetch did not give a context.
#[derive(Debug)]
pub enum FetchFailure {
    /// The fetch failed (see [`failure_problem`]).
    Failed(FetchError),
    /// Ctrl-C or SIGTERM stopped it.
    Interrupted,
    /// No temporary directory or async runtime.
    Environment(String),
}

/// Fetches `source` into a new temporary directory, blocking; Ctrl-C and SIGTERM stop it.
/// Progress lines (`Fetching git context …`) go to `progress`.
pub fn fetch_blocking(
    source: &RemoteSource,
    options: &FetchOptions,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<FetchedContext, FetchFailure> {
    let runtime = crate::runtime::build(crate::runtime::Threads::One)
        .map_err(|e| FetchFailure::Environment(format!("cannot start the async runtime: {e}")))?;
    let mark = crate::signals::Mark::now();
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let watcher = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                mark.wait().await;
                cancel.cancel();
            })
        };
        let result = fetch_into_temp(source, options, progress, &cancel).await;
        watcher.abort();
        if mark.interrupted() {
            return Err(FetchFailure::Interrupted);
        }
        result.map(|mut f| {
            f.mark = Some(mark);
            f
        })
    })
}

/// [`fetch_blocking`]'s work: the fetch, then the commit and branch of a git checkout.
pub async fn fetch_into_temp(
    source: &RemoteSource,
    options: &FetchOptions,
    progress: &(dyn Fn(&str) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<FetchedContext, FetchFailure> {
    let dir = tempfile::Builder::new()
        .prefix("taskrun-context-")
        .tempdir()
        .map_err(|e| {
            FetchFailure::Environment(format!(
                "cannot create a temporary directory for the context: {e}"
            ))
        })?;
    remote::fetch(source, dir.path(), options, progress, cancel)
        .await
        .map_err(FetchFailure::Failed)?;
    let root = match source.subdir() {
        Some(sub) => dir.path().join(sub),
        None => dir.path().to_owned(),
    };
    let revision = match source {
        RemoteSource::Git { reference, .. } => {
            let commit = crate::deps::git::head_revision(dir.path());
            let branch = match reference {
                Some(_) => fetched_branch(dir.path()),
                // Without a reference git fetched the remote's HEAD: ask which branch that is.
                None => remote::remote_revision(source, options, cancel)
                    .await
                    .ok()
                    .and_then(|r| r.branch),
            };
            (!commit.is_empty()).then_some(RemoteRevision { commit, branch })
        }
        _ => None,
    };
    Ok(FetchedContext {
        _dir: dir,
        root,
        source: source.clone(),
        revision,
        mark: None,
    })
}

/// The branch of the last fetch of the checkout in `dir`: git writes `<sha>\t\tbranch 'X' of
/// <url>` into `.git/FETCH_HEAD` for a branch (`tag '…'` for a tag, the bare ref otherwise).
fn fetched_branch(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".git/FETCH_HEAD")).ok()?;
    let line = text.lines().next()?;
    let rest = line.split('\t').nth(2)?;
    let name = rest.strip_prefix("branch '")?;
    name.split_once("' of ").map(|(b, _)| b.to_owned())
}

/// The kind of a failed fetch, for its diagnostic code and exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The host cannot be reached, or the fetch could not be carried out (`fetch`).
    Unreachable,
    /// The server refused the credentials or the token (`auth`).
    Auth,
    /// The repository, reference, folder, URL or artifact does not exist (`not_found`).
    NotFound,
    /// The download is not a tar archive (`not_archive`).
    NotArchive,
}

impl FailureKind {
    /// Classifies a fetch error by its (masked) message.
    pub fn of(e: &FetchError) -> Self {
        let m = e.message.to_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
        if any(&[
            "authentication failed",
            "could not read username",
            "could not read password",
            "401",
            "403",
            "unauthorized",
            "not authorized",
            "denied",
            "forbidden",
        ]) {
            FailureKind::Auth
        } else if any(&["not a tar archive", "bzip2", "xz", "zstd", "zip archive"]) {
            FailureKind::NotArchive
        } else if any(&[
            "not found",
            "404",
            "not a branch, tag or commit",
            "couldn't find remote ref",
            "does not exist in the repository",
            "is outside the repository",
            "does not appear to be a git repository",
            "manifest unknown",
            "name unknown",
        ]) {
            FailureKind::NotFound
        } else {
            FailureKind::Unreachable
        }
    }

    /// The diagnostic code.
    pub fn code(self) -> Code {
        match self {
            FailureKind::Unreachable => Code::ContextFetch,
            FailureKind::Auth => Code::ContextAuth,
            FailureKind::NotFound => Code::ContextNotFound,
            FailureKind::NotArchive => Code::ContextNotArchive,
        }
    }

    /// Whether the failure is the environment's (exit 3) rather than the input's (exit 2).
    pub fn is_environment(self) -> bool {
        matches!(self, FailureKind::Unreachable | FailureKind::Auth)
    }
}

/// The diagnostic of a failed fetch, with the help line for its kind.
pub fn failure_problem(e: &FetchError) -> Problem {
    let kind = FailureKind::of(e);
    let help = match (kind, e.kind) {
        (FailureKind::Unreachable, _) => {
            "check the host name, the port and the network (proxy variables are passed to git \
             and the download); nothing was run"
        }
        (FailureKind::Auth, "git") => {
            "check the access token (`task create --git-access-token`) or the credentials in \
             the URL; the token needs read access to the repository"
        }
        (FailureKind::Auth, _) => {
            "log in to the registry (`docker login`) or pass `--credential`; nothing was run"
        }
        (FailureKind::NotFound, "git") => {
            "check the repository URL, the reference after `#` (a branch, tag or commit) and the \
             folder after `:`"
        }
        (FailureKind::NotFound, "OCI artifact") => {
            "check the repository and tag; `oras push` or `taskrun`'s tests show how an artifact \
             context is made"
        }
        (FailureKind::NotFound, _) => "check the URL",
        (FailureKind::NotArchive, _) => {
            "a tarball context must be a tar or gzip-compressed tar file (`tar -czf ctx.tar.gz …`)"
        }
    };
    Problem::error(kind.code(), e.to_string()).with_help(help)
}

/// The fetch options of a run: the `git` program, the run's registry credentials, insecure
/// registries and the git access token.
pub fn options(
    credentials: crate::registry::Credentials,
    insecure_registries: Vec<String>,
    git_token: Option<remote::GitToken>,
) -> FetchOptions {
    FetchOptions {
        git: remote::git_program(),
        git_token: git_token.filter(|t| !t.0.is_empty()),
        credentials,
        insecure_registries,
        ..FetchOptions::default()
    }
}

/// What `--dry-run` says in place of fetching.
pub fn dry_run_note(source: &RemoteSource) -> String {
    format!(
        "Dry run: the {} context {} would be fetched into a temporary directory; nothing was \
         fetched, so the plan uses an empty context and `-f` is read from the current directory",
        source.kind(),
        source.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: &'static str, message: &str) -> FetchError {
        FetchError {
            kind,
            url: "x".into(),
            message: message.into(),
        }
    }

    #[test]
    fn failures_are_classified() {
        let k = |kind, m| FailureKind::of(&err(kind, m));
        assert_eq!(
            k(
                "git",
                "fatal: unable to access 'http://127.0.0.1:9/r.git/': Failed to connect"
            ),
            FailureKind::Unreachable
        );
        assert_eq!(
            k("git", "fatal: Authentication failed for 'http://h/r.git/'"),
            FailureKind::Auth
        );
        assert_eq!(
            k("git", "the reference `nope` is not a branch, tag or commit"),
            FailureKind::NotFound
        );
        assert_eq!(
            k(
                "git",
                "the sub-directory `x` does not exist in the repository"
            ),
            FailureKind::NotFound
        );
        assert_eq!(k("tarball", "not a tar archive"), FailureKind::NotArchive);
        assert_eq!(
            k("tarball", "the server answered 404 Not Found"),
            FailureKind::NotFound
        );
        assert!(FailureKind::Auth.is_environment());
        assert!(!FailureKind::NotFound.is_environment());
    }

    #[test]
    fn local_directories_win_over_urls() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(remote_context(dir.path()), None);
        assert!(remote_context(Path::new("git://127.0.0.1/r.git#main:app")).is_some());
        assert!(remote_context(Path::new("oci://127.0.0.1:5000/c:1")).is_some());
        assert_eq!(remote_context(Path::new("./missing")), None);
    }

    #[test]
    fn the_branch_comes_from_fetch_head() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(
            dir.path().join(".git/FETCH_HEAD"),
            "0123\t\tbranch 'feature/x' of git://h/r.git\n",
        )
        .unwrap();
        assert_eq!(fetched_branch(dir.path()).as_deref(), Some("feature/x"));
        std::fs::write(
            dir.path().join(".git/FETCH_HEAD"),
            "0123\t\ttag 'v1' of git://h/r.git\n",
        )
        .unwrap();
        assert_eq!(fetched_branch(dir.path()), None);
    }
}
