//! Image references as the engine API takes them (repository, tag, digest), push digests, registry credentials and progress statuses.

use super::*;

/// An image reference split into repository, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceParts {
    /// Repository including any registry host (`localhost:5000/a/b`).
    pub repo: String,
    /// Tag, when given.
    pub tag: Option<String>,
    /// Digest (`sha256:…`), when given.
    pub digest: Option<String>,
}

/// Splits `reference` into repository, tag and digest. A `:` only starts a tag after the last
/// `/`, so registry ports (`localhost:5000/x`) are not mistaken for tags.
pub fn split_reference(reference: &str) -> ReferenceParts {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest.to_string())),
        None => (reference, None),
    };
    let last_component = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_component..].rfind(':') {
        Some(colon) => {
            let colon = last_component + colon;
            ReferenceParts {
                repo: name[..colon].to_string(),
                tag: Some(name[colon + 1..].to_string()),
                digest,
            }
        }
        None => ReferenceParts {
            repo: name.to_string(),
            tag: None,
            digest,
        },
    }
}

/// The registry host of a repository (`docker.io` when it names none).
pub fn registry_host(repo: &str) -> String {
    match repo.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

/// Finds `sha256:…` in a push status line like `1: digest: sha256:abc size: 735`.
pub(super) fn parse_push_digest(status: &str) -> Option<String> {
    let (_, after) = status.split_once("digest: ")?;
    let digest = after.split_whitespace().next()?;
    digest.contains(':').then(|| digest.to_string())
}

pub(super) fn credentials(auth: Option<&RegistryAuth>) -> DockerCredentials {
    match auth {
        Some(auth) => DockerCredentials {
            username: Some(auth.username.clone()),
            password: Some(auth.password.clone()),
            serveraddress: Some(auth.server.clone()),
            ..Default::default()
        },
        None => DockerCredentials::default(),
    }
}

/// The stream of one `stream` message of a classic build, and its text: the daemon writes what
/// a `RUN` command prints on stderr as one message per write, wrapped in the colour escapes
/// `ESC[91m` … `ESC[0m` (moby `streamformatter.NewStderrWriter`); those are stderr, without the
/// escapes. Everything else is stdout, as written.
pub(super) fn classic_build_stream(text: &str) -> (LogStream, &str) {
    match text.strip_prefix("\u{1b}[91m") {
        Some(inner) => (
            LogStream::Stderr,
            inner.strip_suffix("\u{1b}[0m").unwrap_or(inner),
        ),
        None => (LogStream::Stdout, text),
    }
}

/// Whether a pull/build progress status is worth a line (not a byte-count progress update).
pub(super) fn is_interesting_status(
    status: &str,
    progress: Option<&bollard::models::ProgressDetail>,
) -> bool {
    if progress.is_some_and(|p| p.current.is_some() || p.total.is_some()) {
        return false;
    }
    !matches!(
        status,
        "Waiting"
            | "Pulling fs layer"
            | "Verifying Checksum"
            | "Download complete"
            | "Downloading"
            | "Extracting"
    )
}
