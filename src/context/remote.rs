//! Remote build contexts: a git repository, a tarball URL or an OCI artifact fetched into a
//! local directory, as acb's dependency scanner downloads them into `<workdir>/<stepID>`
//! (reference §5.1.2).
//!
//! [`RemoteSource`] is the context as acb classifies it ([`ContextKind::classify`], acb's
//! `util/url.go`); [`fetch`] puts its files into a directory the caller owns (a temporary
//! directory for a `build` step, whose files then go into the workspace volume). The module knows
//! nothing of steps or engines, so it can serve the run's own CONTEXT argument as well.
//!
//! # Defined behaviour
//!
//! * **git** (`https?://….git[#ref[:subdir]]`, Azure DevOps/VSTS `https://…/_git/…`, `git://…`,
//!   `git@host:path`, `github.com/…` which means `https://github.com/…`): the real `git` CLI
//!   (`FetchOptions::git`, default `git` on `PATH`) as docker's and acb's `gitutils` run it:
//!   `git init`, `git remote add origin <url>`, `git fetch --depth 1 origin <ref>` and a checkout
//!   of `FETCH_HEAD`. A server that refuses the shallow fetch gets a full fetch of the ref, then
//!   of every branch and tag with a checkout of `<ref>` (a commit the server does not advertise).
//!   `ref` is a branch, tag, commit or any ref (`pull/N/head`); without one the remote's `HEAD`.
//!   Submodules are updated with `--depth=1` when `.gitmodules` exists. git LFS files are not
//!   pulled. `subdir` must exist in the checkout and stay inside it (no `..`, links resolved).
//! * **git's environment** is defined, never the user's: `PATH`, the proxy and CA variables
//!   (`http(s)_proxy`, `no_proxy`, `SSL_CERT_FILE`/`DIR`) and nothing else, plus `HOME` set to an
//!   empty temporary directory, `GIT_CONFIG_NOSYSTEM=1`, `GIT_TERMINAL_PROMPT=0`,
//!   `GIT_SSH_COMMAND=ssh -o BatchMode=yes` and `LC_ALL=C`; stdin is empty.
//! * **tarball** (`http(s)://…` that is not git): downloaded with up to 3 attempts (connection
//!   errors and 5xx responses are retried after 1 s and 2 s; 4xx is final), then unpacked: a
//!   plain or gzip-compressed tar. Other data (an HTML page, bzip2, xz, zstd) fails naming what it
//!   is. Entries that would land outside the directory (`..`, absolute) are skipped, as the `tar`
//!   crate's `unpack_in` does.
//! * **OCI artifact** (`oci://registry/repo:tag|@digest`): the image manifest and its layers
//!   through `oci-client` as ORAS pulls them: a layer titled `org.opencontainers.image.title` is
//!   written as that file, or unpacked (gzip tar) when annotated `io.deis.oras.content.unpack`;
//!   untitled layers are skipped. Plain HTTP for `127.0.0.0/8`, `localhost`, `::1` and the run's
//!   insecure registries; the run's credentials for the registry, else anonymous.
//! * **Secrets**: credentials written into a URL (`https://user:token@host/…`) never appear in
//!   a progress line or an error: [`mask_url`] replaces them with `***`, and every line git
//!   prints is masked with the URL's own secrets too.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;

use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::unpack::unpack_file;
use crate::engine::ContextFetchError;
use crate::model::buildargs::ContextKind;
use crate::registry::credentials::Credentials;

/// How long one whole fetch may take (acb's scanner has 15 minutes).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A remote build context, as acb classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteSource {
    /// A git repository.
    Git {
        /// The repository URL given to `git` (`github.com/…` becomes `https://github.com/…`).
        repo: String,
        /// Branch, tag, commit or ref (`#ref`); `None`: the remote's `HEAD`.
        reference: Option<String>,
        /// Sub-directory of the checkout that is the context (`#ref:subdir`).
        subdir: Option<String>,
    },
    /// A tarball (plain or gzip) at an `http(s)://` URL.
    Tarball {
        /// The URL.
        url: String,
    },
    /// An OCI artifact.
    Oci {
        /// `registry/repo:tag` (without `oci://`).
        reference: String,
    },
}

impl RemoteSource {
    /// The remote source of a classified context; `None` for a local directory.
    pub fn from_kind(kind: &ContextKind) -> Option<Self> {
        Some(match kind {
            ContextKind::Local(_) => return None,
            ContextKind::GitUrl {
                repo,
                reference,
                subdir,
                ..
            } => RemoteSource::Git {
                repo: if repo.starts_with("github.com/") {
                    format!("https://{repo}")
                } else {
                    repo.clone()
                },
                reference: reference.clone(),
                subdir: subdir.clone(),
            },
            ContextKind::TarUrl(url) => RemoteSource::Tarball { url: url.clone() },
            ContextKind::Oci(raw) => RemoteSource::Oci {
                reference: raw.trim_start_matches("oci://").to_owned(),
            },
        })
    }

    /// Classifies `ctx` as acb does; `None` for a local directory.
    pub fn parse(ctx: &str) -> Option<Self> {
        Self::from_kind(&ContextKind::classify(ctx))
    }

    /// `git`, `tarball` or `OCI artifact`.
    pub fn kind(&self) -> &'static str {
        match self {
            RemoteSource::Git { .. } => "git",
            RemoteSource::Tarball { .. } => "tarball",
            RemoteSource::Oci { .. } => "OCI artifact",
        }
    }

    /// The sub-directory of the fetched files that is the context (git `#ref:subdir`).
    pub fn subdir(&self) -> Option<&str> {
        match self {
            RemoteSource::Git { subdir, .. } => subdir.as_deref(),
            _ => None,
        }
    }

    /// The source as written, with credentials masked (`https://user:***@host/…`): safe to show.
    pub fn display(&self) -> String {
        mask_url(&self.raw())
    }

    fn raw(&self) -> String {
        match self {
            RemoteSource::Git {
                repo,
                reference,
                subdir,
            } => {
                let mut s = repo.clone();
                if reference.is_some() || subdir.is_some() {
                    s.push('#');
                    s.push_str(reference.as_deref().unwrap_or_default());
                }
                if let Some(d) = subdir {
                    s.push(':');
                    s.push_str(d);
                }
                s
            }
            RemoteSource::Tarball { url } => url.clone(),
            RemoteSource::Oci { reference } => format!("oci://{reference}"),
        }
    }

    /// The secrets written in the URL (the userinfo of `scheme://user:secret@host`), to mask in
    /// whatever a tool prints.
    fn secrets(&self) -> Vec<String> {
        let raw = self.raw();
        let mut out = Vec::new();
        for (_, userinfo) in userinfos(&raw) {
            let secret = match userinfo.split_once(':') {
                Some((_, pass)) => pass,
                None => userinfo,
            };
            if !secret.is_empty() {
                out.push(secret.to_owned());
            }
        }
        out
    }
}

impl fmt::Display for RemoteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// The `(byte offset, text)` of the userinfo of every `scheme://userinfo@host` in `text`.
fn userinfos(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find("://")) {
        let start = from + at + 3;
        let rest = text.get(start..).unwrap_or_default();
        let end = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(rest.len());
        let authority = rest.get(..end).unwrap_or_default();
        if let Some(i) = authority.rfind('@') {
            out.push((start, authority.get(..i).unwrap_or_default()));
        }
        from = start + end;
    }
    out
}

/// Masks the credentials of every URL in `text`: `https://user:token@host` becomes
/// `https://user:***@host`, `https://token@host` becomes `https://***@host`.
pub fn mask_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, userinfo) in userinfos(text) {
        out.push_str(text.get(last..start).unwrap_or_default());
        match userinfo.split_once(':') {
            Some((user, _)) => {
                out.push_str(user);
                out.push_str(":***");
            }
            None => out.push_str("***"),
        }
        last = start + userinfo.len();
    }
    out.push_str(text.get(last..).unwrap_or_default());
    out
}

/// Masks URL credentials and each of `secrets` (longest first) in `text`.
fn mask_with(text: &str, secrets: &[String]) -> String {
    let mut out = mask_url(text);
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| s.len() >= 3).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in sorted {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// A git access token (`task create --git-access-token`, as `az acr task create`). `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct GitToken(pub String);

impl fmt::Debug for GitToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GitToken(***)")
    }
}

impl GitToken {
    /// The `Authorization` header value git sends for an `http(s)` repository: basic
    /// authentication with the user `x-access-token` and the token as password, which GitHub,
    /// Azure DevOps and most git servers accept for a personal access token.
    pub fn header(&self) -> String {
        use base64::Engine as _;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{}", self.0));
        format!("Authorization: Basic {basic}")
    }

    /// The token and the forms of it git could print (the header's base64), to mask.
    pub fn secrets(&self) -> Vec<String> {
        let header = self.header();
        let basic = header.rsplit(' ').next().unwrap_or_default().to_owned();
        vec![self.0.clone(), basic]
    }
}

/// What a fetch may use.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The `git` program (default `git`, found on `PATH`).
    pub git: PathBuf,
    /// The access token for `http(s)` git repositories: given to git through its environment
    /// (`GIT_CONFIG_*` → `http.extraHeader`), never on a command line.
    pub git_token: Option<GitToken>,
    /// Registry credentials (OCI artifacts).
    pub credentials: Credentials,
    /// Registries spoken to over plain HTTP besides the local ones.
    pub insecure_registries: Vec<String>,
    /// Pause between tarball download attempts (1 s, then 2 s).
    pub retry_delay: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            git: PathBuf::from("git"),
            git_token: None,
            credentials: Credentials::default(),
            insecure_registries: Vec::new(),
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// A failed fetch. The message never holds a credential of the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to fetch the {kind} context {url}: {message}")]
pub struct FetchError {
    /// `git`, `tarball` or `OCI artifact`.
    pub kind: &'static str,
    /// The source, credentials masked.
    pub url: String,
    /// What went wrong (masked).
    pub message: String,
}

/// Fetches `source` into `dest` (an existing, normally empty directory). Progress lines
/// (`Fetching git context …`, `Successfully fetched …`) go to `progress`.
pub async fn fetch(
    source: &RemoteSource,
    dest: &Path,
    options: &FetchOptions,
    progress: &(dyn Fn(&str) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(), FetchError> {
    let mut secrets = source.secrets();
    if let Some(t) = &options.git_token {
        secrets.extend(t.secrets());
    }
    let fail = |message: String| FetchError {
        kind: source.kind(),
        url: source.display(),
        message: mask_with(&message, &secrets),
    };
    progress(&format!(
        "Fetching {} context {}",
        source.kind(),
        source.display()
    ));
    let work = async {
        match source {
            RemoteSource::Git {
                repo,
                reference,
                subdir,
            } => {
                fetch_git(
                    repo,
                    reference.as_deref(),
                    dest,
                    options,
                    &secrets,
                    progress,
                )
                .await?;
                if let Some(d) = subdir {
                    check_subdir(dest, d)?;
                }
                Ok(())
            }
            RemoteSource::Tarball { url } => fetch_tarball(url, dest, options, progress).await,
            RemoteSource::Oci { reference } => fetch_oci(reference, dest, options).await,
        }
    };
    let result = tokio::select! {
        r = tokio::time::timeout(FETCH_TIMEOUT, work) => match r {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {} minutes", FETCH_TIMEOUT.as_secs() / 60)),
        },
        () = cancel.cancelled() => Err("cancelled".to_owned()),
    };
    result.map_err(fail)?;
    progress(&format!(
        "Successfully fetched {} context {}",
        source.kind(),
        source.display()
    ));
    Ok(())
}

/// The relative path of a sub-directory, `..` resolved; it must not climb above the root or be
/// absolute.
fn clean_subdir(subdir: &str) -> Result<PathBuf, String> {
    let outside = || format!("the sub-directory `{subdir}` is outside the repository");
    let mut out = PathBuf::new();
    for c in Path::new(subdir).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(outside());
                }
            }
            _ => return Err(outside()),
        }
    }
    Ok(out)
}

fn check_subdir(dest: &Path, subdir: &str) -> Result<(), String> {
    let rel = clean_subdir(subdir)?;
    let root = dest.canonicalize().map_err(|e| e.to_string())?;
    let full = root.join(&rel);
    match full.canonicalize() {
        Ok(p) if p.starts_with(&root) && p.is_dir() => Ok(()),
        Ok(p) if !p.starts_with(&root) => Err(format!(
            "the sub-directory `{subdir}` is outside the repository"
        )),
        _ => Err(format!(
            "the sub-directory `{subdir}` does not exist in the repository"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// git

struct Git<'a> {
    program: &'a Path,
    dir: &'a Path,
    home: &'a Path,
    secrets: &'a [String],
    /// `http.extraHeader` for every git command (an access token), through the environment.
    header: Option<String>,
}

impl Git<'_> {
    /// Runs git in the checkout; `Err` holds git's output (masked), or why it could not start.
    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = tokio::process::Command::new(self.program);
        cmd.env_clear()
            .args([
                "-c",
                "advice.detachedHead=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(self.dir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for name in [
            "PATH",
            "http_proxy",
            "https_proxy",
            "no_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "NO_PROXY",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ] {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        cmd.env("HOME", self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
            .env("LC_ALL", "C");
        if let Some(h) = &self.header {
            cmd.env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env("GIT_CONFIG_VALUE_0", h);
        }
        let out = cmd.output().await.map_err(|e| {
            format!(
                "cannot run `{}`: {e} (install git, or set TASKRUN_GIT)",
                self.program.display()
            )
        })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let mut text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            if text.is_empty() {
                text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            }
            if text.is_empty() {
                text = format!(
                    "git {} failed ({})",
                    args.first().unwrap_or(&""),
                    out.status
                );
            }
            Err(mask_with(&text, self.secrets))
        }
    }
}

/// Whether git's message says the server cannot be reached at all (no point in trying again).
fn unreachable(message: &str) -> bool {
    let m = message.to_lowercase();
    // git over http: `fatal: repository 'http://…/' not found`.
    if m.contains("fatal: repository '") && m.contains("' not found") {
        return true;
    }
    [
        "could not resolve host",
        "connection refused",
        "failed to connect",
        "unable to connect",
        "unable to look up",
        "connection timed out",
        "could not read from remote repository",
        "repository not found",
        "not found: did you run git update-server-info",
        "does not appear to be a git repository",
        "authentication failed",
        "could not read username",
        "could not read password",
    ]
    .iter()
    .any(|p| m.contains(p))
}

async fn fetch_git(
    repo: &str,
    reference: Option<&str>,
    dest: &Path,
    options: &FetchOptions,
    secrets: &[String],
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), String> {
    let home = tempfile::Builder::new()
        .prefix("taskrun-git-home-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let git = Git {
        program: &options.git,
        dir: dest,
        home: home.path(),
        secrets,
        header: token_header(repo, options),
    };
    git.run(&["init", "-q"]).await?;
    git.run(&["remote", "add", "origin", repo]).await?;
    let wanted = reference.unwrap_or("HEAD");
    let shallow = git
        .run(&["fetch", "-q", "--depth", "1", "--no-tags", "origin", wanted])
        .await;
    let fetched = match shallow {
        Ok(_) => Ok(()),
        Err(e) if unreachable(&e) => return Err(e),
        Err(_) => {
            progress("The shallow fetch was refused; fetching the whole history");
            git.run(&["fetch", "-q", "--no-tags", "origin", wanted])
                .await
                .map(|_| ())
        }
    };
    match (fetched, reference) {
        (Ok(()), _) => {
            git.run(&["checkout", "-q", "--detach", "FETCH_HEAD"])
                .await?;
        }
        (Err(e), None) => return Err(e),
        (Err(first), Some(r)) => {
            // A commit the server does not advertise: every branch and tag, then the commit.
            git.run(&[
                "fetch",
                "-q",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ])
            .await?;
            let spec = format!("{r}^{{commit}}");
            if git
                .run(&["rev-parse", "-q", "--verify", &spec])
                .await
                .is_err()
            {
                return Err(format!(
                    "the reference `{r}` is not a branch, tag or commit of the repository ({first})"
                ));
            }
            git.run(&["checkout", "-q", "--detach", &spec]).await?;
        }
    }
    if dest.join(".gitmodules").exists() {
        git.run(&[
            "submodule",
            "update",
            "-q",
            "--init",
            "--recursive",
            "--depth=1",
        ])
        .await?;
    }
    Ok(())
}

/// The `http.extraHeader` of `options`' token for `repo`: only for `http(s)` URLs (a token
/// means nothing to `git://` or ssh).
fn token_header(repo: &str, options: &FetchOptions) -> Option<String> {
    let http = repo.starts_with("https://") || repo.starts_with("http://");
    options
        .git_token
        .as_ref()
        .filter(|_| http)
        .map(GitToken::header)
}

/// A git repository's commit for a reference, as the remote advertises it (`git ls-remote`,
/// nothing is downloaded), and the branch when the reference is one (the remote's default
/// branch when `reference` is `None`). Used to poll a commit trigger and to name the commit
/// and branch of a fetched checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRevision {
    /// The commit.
    pub commit: String,
    /// The branch, when the reference is a branch (or the remote's `HEAD` points at one).
    pub branch: Option<String>,
}

/// Asks the remote of a git `source` which commit `reference` (or `HEAD`) is now. A full
/// commit id as the reference is answered as itself. Errors are masked like [`fetch`]'s.
pub async fn remote_revision(
    source: &RemoteSource,
    options: &FetchOptions,
    cancel: &CancellationToken,
) -> Result<RemoteRevision, FetchError> {
    let mut secrets = source.secrets();
    if let Some(t) = &options.git_token {
        secrets.extend(t.secrets());
    }
    let fail = |message: String| FetchError {
        kind: source.kind(),
        url: source.display(),
        message: mask_with(&message, &secrets),
    };
    let RemoteSource::Git {
        repo, reference, ..
    } = source
    else {
        return Err(fail("only a git context has commits".to_owned()));
    };
    if let Some(r) = reference
        && r.len() == 40
        && r.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(RemoteRevision {
            commit: r.to_ascii_lowercase(),
            branch: None,
        });
    }
    let work = async {
        let home = tempfile::Builder::new()
            .prefix("taskrun-git-home-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let git = Git {
            program: &options.git,
            dir: home.path(),
            home: home.path(),
            secrets: &secrets,
            header: token_header(repo, options),
        };
        let wanted = reference.as_deref().unwrap_or("HEAD");
        let listed = git.run(&["ls-remote", "--symref", repo, wanted]).await?;
        parse_ls_remote(&listed, reference.as_deref()).ok_or_else(|| {
            format!("the reference `{wanted}` is not a branch or tag of the repository")
        })
    };
    tokio::select! {
        r = tokio::time::timeout(Duration::from_secs(120), work) => match r {
            Ok(r) => r.map_err(fail),
            Err(_) => Err(fail("timed out after 2 minutes".to_owned())),
        },
        () = cancel.cancelled() => Err(fail("cancelled".to_owned())),
    }
}

/// The commit and branch of `reference` in `git ls-remote --symref` output: a branch
/// (`refs/heads/<r>`) first, then a tag (peeled, `^{}`, when annotated), then the exact ref;
/// `None` as the reference reads `HEAD` and its symbolic target.
fn parse_ls_remote(listed: &str, reference: Option<&str>) -> Option<RemoteRevision> {
    let mut refs: Vec<(&str, &str)> = Vec::new();
    let mut head_target = None;
    for line in listed.lines() {
        if let Some(rest) = line.strip_prefix("ref: ") {
            if let Some((target, name)) = rest.split_once('\t')
                && name == "HEAD"
            {
                head_target = Some(target);
            }
            continue;
        }
        if let Some((sha, name)) = line.split_once('\t') {
            refs.push((sha.trim(), name.trim()));
        }
    }
    let find = |name: &str| refs.iter().find(|(_, n)| *n == name).map(|(s, _)| *s);
    let commit = |sha: &str, branch: Option<&str>| RemoteRevision {
        commit: sha.to_owned(),
        branch: branch.map(str::to_owned),
    };
    let Some(r) = reference else {
        let branch = head_target.and_then(|t| t.strip_prefix("refs/heads/"));
        return find("HEAD").map(|s| commit(s, branch));
    };
    let r = r.strip_prefix("refs/heads/").unwrap_or(r);
    if let Some(s) = find(&format!("refs/heads/{r}")) {
        return Some(commit(s, Some(r)));
    }
    let tag = r.strip_prefix("refs/tags/").unwrap_or(r);
    if let Some(s) =
        find(&format!("refs/tags/{tag}^{{}}")).or_else(|| find(&format!("refs/tags/{tag}")))
    {
        return Some(commit(s, None));
    }
    find(r)
        .or_else(|| find(&format!("refs/{r}")))
        .map(|s| commit(s, None))
}

// ---------------------------------------------------------------------------------------------
// tarball

const DOWNLOAD_ATTEMPTS: u32 = 3;

async fn fetch_tarball(
    url: &str,
    dest: &Path,
    options: &FetchOptions,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), String> {
    crate::registry::digest::install_crypto_provider();
    let client = reqwest::Client::builder()
        .user_agent(concat!("taskrun/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
    let file = tempfile::NamedTempFile::new()
        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
    let mut last = String::new();
    for attempt in 1..=DOWNLOAD_ATTEMPTS {
        if attempt > 1 {
            progress(&format!(
                "Download failed ({last}); attempt {attempt} of {DOWNLOAD_ATTEMPTS}"
            ));
            tokio::time::sleep(options.retry_delay * (attempt - 1)).await;
        }
        match download(&client, url, file.path()).await {
            Ok(()) => {
                let path = file.path().to_owned();
                let dest = dest.to_owned();
                return tokio::task::spawn_blocking(move || unpack_file(&path, &dest))
                    .await
                    .map_err(|e| format!("unpacking stopped: {e}"))?
                    .map_err(|e| e.to_string());
            }
            Err((message, retry)) => {
                last = message;
                if !retry {
                    break;
                }
            }
        }
    }
    Err(last)
}

/// Downloads `url` into `path`; `Err((message, worth retrying))`.
async fn download(client: &reqwest::Client, url: &str, path: &Path) -> Result<(), (String, bool)> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| (describe_http_error(&e), true))?;
    let status = response.status();
    if !status.is_success() {
        return Err((
            format!("the server answered {status}"),
            status.is_server_error(),
        ));
    }
    let mut out = tokio::fs::File::create(path)
        .await
        .map_err(|e| (format!("cannot write the download: {e}"), false))?;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| (describe_http_error(&e), true))?;
        out.write_all(&chunk)
            .await
            .map_err(|e| (format!("cannot write the download: {e}"), false))?;
    }
    out.flush()
        .await
        .map_err(|e| (format!("cannot write the download: {e}"), false))
}

/// reqwest's error with its causes, without the URL (the caller names it, masked).
fn describe_http_error(e: &reqwest::Error) -> String {
    let mut text = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the download broke off"
    } else {
        "request failed"
    }
    .to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

// ---------------------------------------------------------------------------------------------
// OCI

const TITLE: &str = "org.opencontainers.image.title";
const UNPACK: &str = "io.deis.oras.content.unpack";

async fn fetch_oci(reference: &str, dest: &Path, options: &FetchOptions) -> Result<(), String> {
    use oci_client::client::{ClientConfig, ClientProtocol};
    use oci_client::secrets::RegistryAuth as OciAuth;
    crate::registry::digest::install_crypto_provider();
    let parsed: oci_client::Reference = reference
        .parse()
        .map_err(|e| format!("not an OCI reference: {e}"))?;
    let registry = parsed.resolve_registry().to_owned();
    let protocol =
        if crate::registry::digest::is_plain_http(&registry, &options.insecure_registries) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
    let client = oci_client::Client::try_from(ClientConfig {
        protocol,
        connect_timeout: Some(Duration::from_secs(30)),
        user_agent: concat!("taskrun/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    })
    .map_err(|e| format!("cannot create the registry client: {e}"))?;
    let auth = match options.credentials.for_registry(&registry) {
        Some(a) => OciAuth::Basic(a.username, a.password),
        None => OciAuth::Anonymous,
    };
    let (manifest, _) = client
        .pull_image_manifest(&parsed, &auth)
        .await
        .map_err(|e| format!("cannot read the manifest: {e}"))?;
    for layer in &manifest.layers {
        let annotations = layer.annotations.clone().unwrap_or_default();
        let Some(title) = annotations.get(TITLE) else {
            continue;
        };
        let rel = clean_subdir(title)
            .map_err(|_| format!("the layer title `{title}` is outside the directory"))?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let blob = tempfile::NamedTempFile::new()
            .map_err(|e| format!("cannot create a temporary file: {e}"))?;
        let out = tokio::fs::File::create(blob.path())
            .await
            .map_err(|e| format!("cannot write `{title}`: {e}"))?;
        client
            .pull_blob(&parsed, layer, out)
            .await
            .map_err(|e| format!("cannot pull the layer `{title}`: {e}"))?;
        let unpack_dir = annotations.get(UNPACK).is_some_and(|v| v == "true");
        let (src, dest) = (blob.path().to_owned(), dest.to_owned());
        let title = title.clone();
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            if unpack_dir {
                unpack_file(&src, &dest).map_err(|e| e.to_string())
            } else {
                let target = dest.join(&rel);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot write `{title}`: {e}"))?;
                }
                std::fs::copy(&src, &target)
                    .map(|_| ())
                    .map_err(|e| format!("cannot write `{title}`: {e}"))
            }
        })
        .await
        .map_err(|e| format!("writing the layer stopped: {e}"))??;
    }
    Ok(())
}

/// The fetch of `source` for [`crate::engine::Engine::put_remote_context`]: into a temporary
/// directory, then as a tar of every file (no `.dockerignore`: acb's scanner downloads the
/// whole context), the directory removed when the tar stream is dropped.
pub fn tar_fetch(source: RemoteSource, options: FetchOptions) -> crate::engine::ContextFetch {
    Box::new(move |sink, cancel| {
        Box::pin(async move {
            let failed = |reason: String| ContextFetchError { reason };
            let dir = tempfile::Builder::new()
                .prefix("taskrun-context-")
                .tempdir()
                .map_err(|e| failed(format!("cannot create a temporary directory: {e}")))?;
            let progress = |line: &str| sink.line(crate::engine::LogStream::Stdout, line);
            // The step names the kind and source itself: only the (masked) message is kept.
            fetch(&source, dir.path(), &options, &progress, &cancel)
                .await
                .map_err(|e| failed(e.message))?;
            let tar = crate::context::context_tar(
                dir.path(),
                None,
                &crate::context::DockerIgnore::default(),
            )
            .map_err(|e| failed(e.to_string()))?
            .into_stream();
            // The stream reads the files as it goes: the directory lives as long as it does.
            let tar = futures_util::StreamExt::map(tar, move |chunk| {
                let _keep = &dir;
                chunk
            });
            Ok(Box::pin(tar) as crate::engine::TarStream)
        })
    })
}

/// The `git` program: `TASKRUN_GIT`, else `git` on `PATH`.
pub fn git_program() -> PathBuf {
    std::env::var_os("TASKRUN_GIT")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("git"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_fragment_reference_and_subdir() {
        assert_eq!(
            RemoteSource::parse("https://example.com/a/b.git#main:docker/app"),
            Some(RemoteSource::Git {
                repo: "https://example.com/a/b.git".into(),
                reference: Some("main".into()),
                subdir: Some("docker/app".into()),
            })
        );
        assert_eq!(
            RemoteSource::parse("git://127.0.0.1:9418/repo.git#:sub"),
            Some(RemoteSource::Git {
                repo: "git://127.0.0.1:9418/repo.git".into(),
                reference: None,
                subdir: Some("sub".into()),
            })
        );
        assert_eq!(
            RemoteSource::parse("github.com/x/y#pull/3/head"),
            Some(RemoteSource::Git {
                repo: "https://github.com/x/y".into(),
                reference: Some("pull/3/head".into()),
                subdir: None,
            })
        );
        assert!(matches!(
            RemoteSource::parse("https://dev.azure.com/o/p/_git/r"),
            Some(RemoteSource::Git { .. })
        ));
        assert!(matches!(
            RemoteSource::parse("git@github.com:x/y.git"),
            Some(RemoteSource::Git { .. })
        ));
        assert_eq!(
            RemoteSource::parse("http://127.0.0.1:8/c.tar.gz"),
            Some(RemoteSource::Tarball {
                url: "http://127.0.0.1:8/c.tar.gz".into()
            })
        );
        assert_eq!(
            RemoteSource::parse("oci://127.0.0.1:5000/ctx:1"),
            Some(RemoteSource::Oci {
                reference: "127.0.0.1:5000/ctx:1".into()
            })
        );
        assert_eq!(RemoteSource::parse("./app"), None);
        let s = RemoteSource::parse("https://x/y.git#v1:a").unwrap();
        assert_eq!(s.subdir(), Some("a"));
        assert_eq!(s.display(), "https://x/y.git#v1:a");
    }

    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            mask_url("https://user:s3cr3t@dev.azure.com/o/_git/r#main"),
            "https://user:***@dev.azure.com/o/_git/r#main"
        );
        assert_eq!(
            mask_url("fatal: unable to access 'https://ghp_TOKEN@github.com/x/y.git/': 403"),
            "fatal: unable to access 'https://***@github.com/x/y.git/': 403"
        );
        assert_eq!(mask_url("git@github.com:x/y.git"), "git@github.com:x/y.git");
        assert_eq!(
            mask_url("a http://u:p@h/x and https://t@k/y?q=a@b"),
            "a http://u:***@h/x and https://***@k/y?q=a@b"
        );
        assert_eq!(mask_url("no url here: ü://"), "no url here: ü://");
        let s = RemoteSource::parse("https://bob:tok3n@example.com/r.git#main").unwrap();
        assert_eq!(s.display(), "https://bob:***@example.com/r.git#main");
        assert_eq!(s.secrets(), vec!["tok3n".to_owned()]);
        assert_eq!(
            mask_with("remote said tok3n is bad", &s.secrets()),
            "remote said *** is bad"
        );
    }

    #[test]
    fn sub_directories_stay_inside() {
        assert!(clean_subdir("../x").is_err());
        assert!(clean_subdir("/etc").is_err());
        assert!(clean_subdir("a/../../x").is_err());
        assert_eq!(clean_subdir("./a//b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(clean_subdir("a/../b").unwrap(), PathBuf::from("b"));
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .output()
            .expect("git CLI");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A bare repository with `main` (two commits), a tag and `refs/pull/7/head`; returns its
    /// `file://` URL and the first commit.
    fn bare_repo(base: &Path) -> (String, String) {
        let work = base.join("work");
        std::fs::create_dir_all(work.join("sub")).unwrap();
        git(&work, &["init", "-q"]);
        std::fs::write(work.join("sub/f.txt"), "one").unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-qm", "1"]);
        let first = git(&work, &["rev-parse", "HEAD"]);
        git(&work, &["tag", "v1"]);
        std::fs::write(work.join("sub/f.txt"), "two").unwrap();
        git(&work, &["commit", "-qam", "2"]);
        git(&work, &["update-ref", "refs/pull/7/head", &first]);
        git(
            base,
            &["clone", "-q", "--mirror", work.to_str().unwrap(), "r.git"],
        );
        (format!("file://{}/r.git", base.display()), first)
    }

    async fn fetch_into(
        source: RemoteSource,
    ) -> (tempfile::TempDir, Result<(), FetchError>, Vec<String>) {
        let dest = tempfile::tempdir().unwrap();
        let lines = std::sync::Mutex::new(Vec::new());
        let progress = |l: &str| lines.lock().unwrap().push(l.to_owned());
        let options = FetchOptions {
            retry_delay: Duration::from_millis(10),
            ..FetchOptions::default()
        };
        let r = fetch(
            &source,
            dest.path(),
            &options,
            &progress,
            &CancellationToken::new(),
        )
        .await;
        let lines = lines.into_inner().unwrap();
        (dest, r, lines)
    }

    #[tokio::test]
    async fn git_refs_of_every_kind_are_checked_out() {
        let base = tempfile::tempdir().unwrap();
        let (url, first) = bare_repo(base.path());
        // `file://…` is no context kind of acb's: the source is made by hand.
        let at = |reference: Option<&str>, subdir: Option<&str>| RemoteSource::Git {
            repo: url.clone(),
            reference: reference.map(str::to_owned),
            subdir: subdir.map(str::to_owned),
        };
        for (source, want) in [
            (at(None, None), "two"),
            (at(Some("main"), None), "two"),
            (at(Some("v1"), None), "one"),
            (at(Some("pull/7/head"), None), "one"),
            (at(Some(&first), Some("sub")), "one"),
        ] {
            let ctx = source.display();
            let (dest, r, lines) = fetch_into(source).await;
            r.unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(
                std::fs::read_to_string(dest.path().join("sub/f.txt")).unwrap(),
                want,
                "{ctx}"
            );
            assert!(
                lines
                    .last()
                    .unwrap()
                    .starts_with("Successfully fetched git context")
            );
        }
        let (_d, r, _) = fetch_into(at(Some("nope"), None)).await;
        let e = r.unwrap_err().to_string();
        assert!(e.contains("`nope` is not a branch, tag or commit"), "{e}");
        let (_d, r, _) = fetch_into(at(Some("main"), Some("missing"))).await;
        let e = r.unwrap_err().to_string();
        assert!(e.contains("`missing` does not exist"), "{e}");
    }

    #[test]
    fn ls_remote_output_names_commits_and_branches() {
        let listed = "ref: refs/heads/main\tHEAD\n\
                      aaa\tHEAD\n\
                      aaa\trefs/heads/main\n\
                      bbb\trefs/heads/dev\n\
                      ccc\trefs/tags/v1\n\
                      ddd\trefs/tags/v1^{}\n\
                      eee\trefs/pull/7/head\n";
        let rev = |r: Option<&str>| parse_ls_remote(listed, r).map(|x| (x.commit, x.branch));
        assert_eq!(rev(None), Some(("aaa".into(), Some("main".into()))));
        assert_eq!(rev(Some("dev")), Some(("bbb".into(), Some("dev".into()))));
        assert_eq!(
            rev(Some("refs/heads/dev")),
            Some(("bbb".into(), Some("dev".into())))
        );
        assert_eq!(rev(Some("v1")), Some(("ddd".into(), None)));
        assert_eq!(rev(Some("pull/7/head")), Some(("eee".into(), None)));
        assert_eq!(rev(Some("nope")), None);
    }

    #[tokio::test]
    async fn remote_revisions_follow_the_branch() {
        let base = tempfile::tempdir().unwrap();
        let (url, first) = bare_repo(base.path());
        let at = |reference: Option<&str>| RemoteSource::Git {
            repo: url.clone(),
            reference: reference.map(str::to_owned),
            subdir: None,
        };
        let options = FetchOptions::default();
        let cancel = CancellationToken::new();
        let main = remote_revision(&at(Some("main")), &options, &cancel)
            .await
            .unwrap();
        assert_ne!(main.commit, first);
        assert_eq!(main.branch.as_deref(), Some("main"));
        let head = remote_revision(&at(None), &options, &cancel).await.unwrap();
        assert_eq!(head, main);
        let tag = remote_revision(&at(Some("v1")), &options, &cancel)
            .await
            .unwrap();
        assert_eq!((tag.commit.as_str(), tag.branch), (first.as_str(), None));
        let e = remote_revision(&at(Some("gone")), &options, &cancel)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("`gone` is not a branch or tag"),
            "{e}"
        );
    }

    #[test]
    fn a_git_token_is_sent_as_a_header_and_never_shown() {
        let t = GitToken("s3cr3t-token".into());
        assert_eq!(format!("{t:?}"), "GitToken(***)");
        assert!(t.header().starts_with("Authorization: Basic "));
        assert!(!t.header().contains("s3cr3t-token"));
        let secrets = t.secrets();
        assert!(secrets.contains(&"s3cr3t-token".to_owned()));
        let options = FetchOptions {
            git_token: Some(t),
            ..FetchOptions::default()
        };
        assert!(!format!("{options:?}").contains("s3cr3t"));
        assert!(token_header("https://h/r.git", &options).is_some());
        assert!(token_header("git://h/r.git", &options).is_none());
    }

    #[tokio::test]
    async fn unreachable_git_servers_fail_with_the_token_masked() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ctx = format!("http://me:t0kenXYZ@127.0.0.1:{port}/r.git#main");
        let (_d, r, lines) = fetch_into(RemoteSource::parse(&ctx).unwrap()).await;
        let e = r.unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "failed to fetch the git context http://me:***@127.0.0.1:{port}/r.git#main: "
            )),
            "{e}"
        );
        assert!(
            !e.contains("t0kenXYZ") && !lines.concat().contains("t0kenXYZ"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn tarball_downloads_are_retried_on_server_errors() {
        use std::io::{BufRead as _, BufReader, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = crate::context::unpack::tests::tar_of(&[("Dockerfile", "FROM x\n")]);
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let (status, data) = if n < 2 {
                    ("500 Oops", b"no".to_vec())
                } else {
                    ("200 OK", body.clone())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    data.len()
                );
                let _ = stream.write_all(&data);
            }
        });
        let source = RemoteSource::parse(&format!("http://127.0.0.1:{port}/c.tar")).unwrap();
        let (dest, r, lines) = fetch_into(source).await;
        r.unwrap();
        assert!(dest.path().join("Dockerfile").is_file());
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("Download failed"))
                .count(),
            2,
            "{lines:?}"
        );
    }
}
