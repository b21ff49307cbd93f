//! Volume content moved through the engine API with helper containers (see the module docs of [`super`]).

use super::*;

pub(super) fn volume_subject(volume: &str, path: &str) -> String {
    if path.is_empty() {
        volume.to_string()
    } else {
        format!("{volume}:{path}")
    }
}

/// A volume path with `..`, which would leave the volume.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path `{path}` leaves the volume")]
pub(super) struct LeavesVolume {
    /// The path as given.
    pub(super) path: String,
}

/// A path relative to the volume root without leading/trailing `/`; `..` is refused.
pub(super) fn normalize_volume_path(path: &str) -> Result<String, LeavesVolume> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" => {}
            ".." => {
                return Err(LeavesVolume {
                    path: path.to_owned(),
                });
            }
            other => parts.push(other),
        }
    }
    // Keep a trailing `.` (docker cp's "contents of" form), drop inner ones.
    let last_dot = parts.last() == Some(&".");
    let mut clean: Vec<&str> = parts.into_iter().filter(|p| *p != ".").collect();
    if last_dot {
        clean.push(".");
    }
    Ok(clean.join("/"))
}

/// The directory a put extracts into: the path without docker cp's trailing `.`.
pub(super) fn put_directory(path: &str) -> &str {
    if path == "." {
        ""
    } else {
        path.strip_suffix("/.").unwrap_or(path)
    }
}

/// A unique name for a helper container of `volume`.
pub(super) fn helper_name(volume: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{volume}-helper-{}-{n}", std::process::id())
}

pub(super) fn helper_path(path: &str) -> String {
    if path.is_empty() {
        HELPER_MOUNT.to_string()
    } else {
        format!("{HELPER_MOUNT}/{path}")
    }
}

pub(super) type ErrorSlot = Arc<Mutex<Option<String>>>;

/// Wraps a caller's tar stream so that its first error can be reported by name (hyper only says
/// the body failed).
pub(crate) fn capture_errors(
    stream: TarStream,
) -> (
    impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ErrorSlot,
) {
    let slot: ErrorSlot = Arc::new(Mutex::new(None));
    let writer = Arc::clone(&slot);
    let stream = stream.inspect_err(move |e| {
        let mut guard = writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            *guard = Some(e.to_string());
        }
    });
    (stream, slot)
}

pub(crate) fn take_error(slot: &ErrorSlot) -> Option<String> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Removes a helper container when dropped (on a spawned task of the current runtime; without a
/// runtime the container is left to the run's cleanup by label).
pub(super) struct HelperCleanup {
    pub(super) docker: Docker,
    pub(super) id: String,
}

impl Drop for HelperCleanup {
    fn drop(&mut self) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let docker = self.docker.clone();
            let id = std::mem::take(&mut self.id);
            handle.spawn(async move {
                let options = RemoveContainerOptionsBuilder::new().force(true).build();
                let _ = docker.remove_container(&id, Some(options)).await;
            });
        }
    }
}

/// The tar stream returned by `get_from_volume`: removes its helper container once the stream
/// ends or is dropped.
pub(super) struct VolumeStream {
    pub(super) inner: Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
    pub(super) cleanup: Option<HelperCleanup>,
}

impl Stream for VolumeStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = polled {
            self.cleanup = None;
        }
        polled
    }
}
