//! What the engine's image calls answer: push digests in status lines, registry credentials in bollard's terms, and which progress statuses are worth a line. References are split by [`crate::registry::reference`].

use super::*;

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
