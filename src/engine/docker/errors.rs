//! Errors: bollard's errors in taskrun's terms, with registry credentials scrubbed.

use super::*;

/// The HTTP status of an engine error response.
pub(crate) fn status_code(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The engine's message, without bollard's wrapping.
pub(crate) fn error_message(e: &BollardError) -> String {
    match e {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => {
            if message.trim().is_empty() {
                format!("engine answered HTTP {status_code}")
            } else {
                message.trim().to_string()
            }
        }
        BollardError::DockerStreamError { error } => error.trim().to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn is_missing_image(e: &BollardError) -> bool {
    status_code(e) == Some(404)
        && error_message(e)
            .to_ascii_lowercase()
            .contains("no such image")
}

pub(crate) fn is_auth_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("unauthorized")
        || m.contains("authentication required")
        || m.contains("no basic auth credentials")
        || m.contains("incorrect username or password")
        || m.contains("denied: requested access")
}

pub(crate) fn is_not_found_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no such image")
        || m.contains("does not exist locally")
        || m.contains("tag does not exist")
        || m.contains("manifest unknown")
        || m.contains("not found: manifest")
        || m.contains("pull access denied")
}

/// Replaces the password anywhere in `message`.
pub(crate) fn scrub(message: &str, auth: Option<&RegistryAuth>) -> String {
    match auth {
        Some(auth) if !auth.password.is_empty() => message.replace(&auth.password, "***"),
        _ => message.to_string(),
    }
}

/// The `std::io::Error` kind somewhere in an error's source chain.
pub(crate) fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = err.source();
    }
    None
}

/// Whether an error means the engine could not be reached at all.
pub(crate) fn is_connection_error(e: &BollardError) -> bool {
    match e {
        BollardError::SocketNotFoundError(_) => true,
        BollardError::HyperLegacyError { err } => {
            err.is_connect()
                || matches!(
                    io_kind(e),
                    Some(
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::NotFound
                            | std::io::ErrorKind::PermissionDenied
                    )
                )
        }
        BollardError::IOError { err } => matches!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
        ),
        _ => false,
    }
}

/// An `Unreachable` error with a message saying what to check.
pub(crate) fn unreachable_error(endpoint: &str, e: &BollardError) -> EngineError {
    let socket = endpoint.strip_prefix("unix://");
    let message = match e {
        BollardError::SocketNotFoundError(path) => format!(
            "the socket {path} does not exist; is dockerd running? Start it, or set DOCKER_HOST \
             to the engine's address"
        ),
        BollardError::UnsupportedURISchemeError { uri } => format!(
            "DOCKER_HOST `{uri}` uses an unsupported scheme; use unix://, tcp://, http:// or \
             https://"
        ),
        BollardError::RequestTimeoutError => {
            "the engine did not answer in time; check that dockerd is running and responsive"
                .to_string()
        }
        _ => match io_kind(e) {
            Some(std::io::ErrorKind::PermissionDenied) => match socket {
                Some(path) => format!(
                    "permission denied on {path}; add your user to the `docker` group (and log in \
                     again), run with sufficient rights, or set DOCKER_HOST"
                ),
                None => format!("permission denied ({e})"),
            },
            Some(std::io::ErrorKind::ConnectionRefused) => {
                "connection refused; is dockerd running? Start it, or set DOCKER_HOST to the \
                 engine's address"
                    .to_string()
            }
            Some(std::io::ErrorKind::NotFound) => {
                "the socket does not exist; is dockerd running? Start it, or set DOCKER_HOST to \
                 the engine's address"
                    .to_string()
            }
            _ => match e {
                // Something answers, but not as a Docker engine (a wrong port, another service).
                BollardError::DockerResponseServerError { status_code, .. } => format!(
                    "it answered HTTP {status_code} ({}), which is not a Docker engine's answer; \
                     check that DOCKER_HOST points at the engine",
                    error_message(e)
                ),
                _ => format!(
                    "{}; check that dockerd is running and that DOCKER_HOST (and \
                     DOCKER_TLS_VERIFY / DOCKER_CERT_PATH for TLS) are right",
                    e.to_string().trim()
                ),
            },
        },
    };
    EngineError::Unreachable {
        endpoint: endpoint.to_string(),
        message,
    }
}

/// `extrahosts=<entry>` once per entry, percent-encoded, joined with `&` (`None` for none).
pub(crate) fn extra_hosts_query(hosts: &[String]) -> Option<String> {
    let pairs: Vec<(&str, String)> = hosts.iter().map(|h| ("extrahosts", h.clone())).collect();
    (!pairs.is_empty()).then(|| crate::engine::buildkit::encode_query(&pairs))
}
