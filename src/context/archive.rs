//! Tar production on a background thread, delivered in bounded chunks, plus the tar-writing
//! helpers shared by the local walker and the filter of existing archives.
//!
//! A producer thread writes the tar into a [`ChunkWriter`] that cuts it into [`CHUNK_SIZE`]
//! pieces and sends them through a bounded channel. When the channel is full the producer blocks,
//! so at most `capacity + 2` chunks exist at any time whatever the size of the context. When the
//! consumer goes away, the next send fails and the producer stops.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tar::{Builder, EntryType, Header};

use super::dockerignore::DockerIgnore;
use super::{BoxTarStream, ContextWarning, InlineFile};

/// Size of the chunks a context is cut into.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Default number of chunks buffered between the producer thread and the consumer.
pub const DEFAULT_CAPACITY: usize = 8;

/// Largest `.dockerignore` that is rewritten in memory (see
/// [`ContextTar::add_outside_dockerfile`](super::ContextTar::add_outside_dockerfile)).
const MAX_IGNORE_FILE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Default)]
struct Shared {
    bytes: AtomicU64,
    finished: AtomicBool,
    warnings: Mutex<Vec<ContextWarning>>,
}

/// A view on a running producer: bytes sent so far, whether it has ended, warnings.
/// Cheap to clone; stays valid after the stream has been handed to the engine.
#[derive(Debug, Clone, Default)]
pub struct StreamHandle {
    inner: Arc<Shared>,
}

impl StreamHandle {
    /// Bytes of tar handed to the channel so far (what `docker build` calls "Sending build
    /// context").
    pub fn bytes_sent(&self) -> u64 {
        self.inner.bytes.load(Ordering::SeqCst)
    }

    /// True once the producer thread has ended (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.inner.finished.load(Ordering::SeqCst)
    }

    /// Warnings so far (skipped special files, dropped entries…).
    pub fn warnings(&self) -> Vec<ContextWarning> {
        match self.inner.warnings.lock() {
            Ok(w) => w.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn warn(&self, warning: ContextWarning) {
        match self.inner.warnings.lock() {
            Ok(mut w) => w.push(warning),
            Err(poisoned) => poisoned.into_inner().push(warning),
        }
    }
}

/// A tar produced on a background thread, as an async stream of chunks of at most
/// [`CHUNK_SIZE`] bytes. A production error arrives as the last item.
#[derive(Debug)]
pub struct ContextStream {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    handle: StreamHandle,
}

impl ContextStream {
    /// Progress and warnings of the producer.
    pub fn handle(&self) -> StreamHandle {
        self.handle.clone()
    }

    /// Boxes the stream into the engine's tar-stream type.
    pub fn boxed(self) -> BoxTarStream {
        Box::pin(self)
    }
}

impl Stream for ContextStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A tar produced on a background thread, as a blocking [`Read`].
#[derive(Debug)]
pub struct ContextReader {
    rx: std::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    done: bool,
    handle: StreamHandle,
}

impl ContextReader {
    /// Progress and warnings of the producer.
    pub fn handle(&self) -> StreamHandle {
        self.handle.clone()
    }
}

impl Read for ContextReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => self.current = chunk,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
    }
}

#[derive(Clone)]
enum Sender {
    Tokio(tokio::sync::mpsc::Sender<io::Result<Bytes>>),
    Std(std::sync::mpsc::SyncSender<io::Result<Bytes>>),
}

impl Sender {
    /// Blocking send; `false` when the receiver is gone.
    fn send(&self, item: io::Result<Bytes>) -> bool {
        match self {
            Sender::Tokio(tx) => tx.blocking_send(item).is_ok(),
            Sender::Std(tx) => tx.send(item).is_ok(),
        }
    }

    /// Non-blocking send, used only when the producer thread could not be started.
    fn try_send(&self, item: io::Result<Bytes>) {
        match self {
            Sender::Tokio(tx) => {
                let _ = tx.try_send(item);
            }
            Sender::Std(tx) => {
                let _ = tx.try_send(item);
            }
        }
    }
}

/// The work a producer thread does: write a whole tar into the writer.
pub(crate) type Job = Box<dyn FnOnce(&mut dyn Write, &StreamHandle) -> io::Result<()> + Send>;

/// Starts `job` on a producer thread; returns the async stream of its output.
pub(crate) fn spawn_stream(
    job: Job,
    capacity: usize,
    warnings: Vec<ContextWarning>,
) -> ContextStream {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
    let handle = handle_with(warnings);
    start(job, Sender::Tokio(tx), handle.clone());
    ContextStream { rx, handle }
}

/// Starts `job` on a producer thread; returns a blocking reader of its output.
pub(crate) fn spawn_reader(
    job: Job,
    capacity: usize,
    warnings: Vec<ContextWarning>,
) -> ContextReader {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity.max(1));
    let handle = handle_with(warnings);
    start(job, Sender::Std(tx), handle.clone());
    ContextReader {
        rx,
        current: Bytes::new(),
        done: false,
        handle,
    }
}

fn handle_with(warnings: Vec<ContextWarning>) -> StreamHandle {
    let handle = StreamHandle::default();
    for w in warnings {
        handle.warn(w);
    }
    handle
}

fn start(job: Job, sender: Sender, handle: StreamHandle) {
    let fallback = sender.clone();
    let thread_handle = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("taskrun-context-tar".to_string())
        .spawn(move || produce(job, sender, thread_handle));
    if let Err(e) = spawned {
        fallback.try_send(Err(io::Error::other(format!(
            "cannot start the build context producer thread: {e}"
        ))));
        handle.inner.finished.store(true, Ordering::SeqCst);
    }
}

fn produce(job: Job, sender: Sender, handle: StreamHandle) {
    let mut writer = ChunkWriter {
        buf: BytesMut::with_capacity(CHUNK_SIZE),
        sender: &sender,
        handle: &handle,
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        job(&mut writer, &handle)?;
        writer.finish()
    }));
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(io::Error::other("the build context producer panicked")),
    };
    if let Some(e) = error {
        // Nobody to tell when the consumer is already gone.
        let _ = sender.send(Err(e));
    }
    handle.inner.finished.store(true, Ordering::SeqCst);
}

/// Cuts what is written into [`CHUNK_SIZE`] pieces and sends them.
struct ChunkWriter<'a> {
    buf: BytesMut,
    sender: &'a Sender,
    handle: &'a StreamHandle,
}

impl ChunkWriter<'_> {
    fn send_buffer(&mut self) -> io::Result<()> {
        let chunk = self.buf.split().freeze();
        self.buf.reserve(CHUNK_SIZE);
        let len = chunk.len() as u64;
        if !self.sender.send(Ok(chunk)) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the build context consumer went away",
            ));
        }
        self.handle.inner.bytes.fetch_add(len, Ordering::SeqCst);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            self.send_buffer()
        }
    }
}

impl Write for ChunkWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let room = CHUNK_SIZE - self.buf.len();
            let n = room.min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buf.len() >= CHUNK_SIZE {
                self.send_buffer()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads exactly `size` bytes from a file whose header was already written, failing if the
/// file is shorter or longer than that (a changed file would otherwise corrupt the tar).
pub(crate) struct ExactReader<R> {
    inner: R,
    remaining: u64,
    path: String,
}

impl<R: Read> ExactReader<R> {
    pub(crate) fn new(inner: R, size: u64, path: String) -> Self {
        ExactReader {
            inner,
            remaining: size,
            path,
        }
    }
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "{}: file grew while the build context was being sent",
                    self.path
                ))),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: file shrank while the build context was being sent",
                    self.path
                ),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Adds the path to an I/O error message.
pub(crate) fn with_path(e: io::Error, path: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{path}: {e}"))
}

fn path_of(rel: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(rel))
}

/// A GNU header with Docker's normalisation: uid/gid 0, no user/group names, permission bits
/// (including setuid/setgid/sticky) and mtime (whole seconds) kept.
pub(crate) fn header(kind: EntryType, mode: u32, mtime: u64, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode & 0o7777);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_size(size);
    h
}

pub(crate) fn append_dir<W: Write>(
    b: &mut Builder<W>,
    rel: &[u8],
    mode: u32,
    mtime: u64,
) -> io::Result<()> {
    let mut name = rel.to_vec();
    name.push(b'/');
    let mut h = header(EntryType::Directory, mode, mtime, 0);
    b.append_data(&mut h, path_of(&name), io::empty())
}

pub(crate) fn append_file<W: Write, R: Read>(
    b: &mut Builder<W>,
    rel: &[u8],
    mode: u32,
    mtime: u64,
    size: u64,
    data: R,
) -> io::Result<()> {
    let mut h = header(EntryType::Regular, mode, mtime, size);
    b.append_data(&mut h, path_of(rel), data)
}

/// A symlink or hard link whose target is stored byte for byte (no path normalisation), with a
/// GNU long-link record when it does not fit the header.
pub(crate) fn append_link<W: Write>(
    b: &mut Builder<W>,
    rel: &[u8],
    kind: EntryType,
    target: &[u8],
    mode: u32,
    mtime: u64,
) -> io::Result<()> {
    let mut h = header(kind, mode, mtime, 0);
    let field = h.as_old().linkname.len();
    if target.len() > field {
        let mut ext = header(EntryType::new(b'K'), 0o644, 0, target.len() as u64 + 1);
        let name = b"././@LongLink";
        ext.as_old_mut().name[..name.len()].copy_from_slice(name);
        ext.set_cksum();
        b.append(&ext, target.chain(&[0u8][..]))?;
        h.set_link_name_literal(&target[..field])?;
    } else {
        h.set_link_name_literal(target)?;
    }
    b.append_data(&mut h, path_of(rel), io::empty())
}

/// Files appended at the end of a context and names to add to its `.dockerignore` (the docker
/// CLI's treatment of a Dockerfile that lives outside the context).
#[derive(Debug, Clone, Default)]
pub(crate) struct Extras {
    pub(crate) files: Vec<InlineFile>,
    pub(crate) ignore_additions: Vec<String>,
}

impl Extras {
    pub(crate) fn amends_ignore(&self) -> bool {
        !self.ignore_additions.is_empty()
    }

    /// Docker appends `"\n" + name + "\n"` for each added file.
    pub(crate) fn amend(&self, original: &[u8]) -> Vec<u8> {
        let mut out = original.to_vec();
        for name in &self.ignore_additions {
            out.push(b'\n');
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Writes the rewritten `.dockerignore` from `original`.
    pub(crate) fn write_ignore<W: Write, R: Read>(
        &self,
        b: &mut Builder<W>,
        original: R,
        mode: u32,
        mtime: u64,
        path: &str,
    ) -> io::Result<()> {
        let mut content = Vec::new();
        original
            .take(MAX_IGNORE_FILE + 1)
            .read_to_end(&mut content)
            .map_err(|e| with_path(e, path))?;
        if content.len() as u64 > MAX_IGNORE_FILE {
            return Err(io::Error::other(format!(
                "{path}: .dockerignore is larger than {MAX_IGNORE_FILE} bytes"
            )));
        }
        let amended = self.amend(&content);
        append_file(
            b,
            b".dockerignore",
            mode,
            mtime,
            amended.len() as u64,
            &amended[..],
        )
    }

    /// Appends the extra files, and a new `.dockerignore` if one was needed but none was seen.
    pub(crate) fn write_tail<W: Write>(
        &self,
        b: &mut Builder<W>,
        ignore_written: bool,
    ) -> io::Result<()> {
        for file in &self.files {
            append_file(
                b,
                file.name.as_bytes(),
                0o600,
                0,
                file.content.len() as u64,
                &file.content[..],
            )?;
        }
        if self.amends_ignore() && !ignore_written {
            // As the CLI: a new file starts with its own name, so the daemon drops it too and
            // `COPY .` never sees a `.dockerignore` the user does not have.
            let content = self.amend(b".dockerignore");
            append_file(
                b,
                b".dockerignore",
                0o600,
                0,
                content.len() as u64,
                &content[..],
            )?;
        }
        Ok(())
    }
}

/// What [`filter_job`] needs.
pub(crate) struct FilterSpec {
    pub(crate) strip_prefix: Vec<u8>,
    pub(crate) ignore: DockerIgnore,
    pub(crate) extras: Extras,
}

/// Strips `./` and `/` at the start and `/` at the end.
pub(crate) fn normalize_bytes(path: &[u8]) -> &[u8] {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix(b"/") {
            p = rest;
        } else {
            break;
        }
    }
    while let Some(rest) = p.strip_suffix(b"/") {
        p = rest;
    }
    if p == b"." { b"" } else { p }
}

/// The path below `prefix` (empty for the prefix itself), or `None` when outside it.
fn strip<'a>(path: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let path = normalize_bytes(path);
    if prefix.is_empty() {
        return Some(path);
    }
    if path == prefix {
        return Some(b"");
    }
    let rest = path.strip_prefix(prefix)?;
    rest.strip_prefix(b"/")
}

fn is_safe(rel: &[u8]) -> bool {
    rel.split(|b| *b == b'/')
        .all(|seg| !seg.is_empty() && seg != b"." && seg != b"..")
}

fn entry_kind_name(kind: EntryType) -> Option<&'static str> {
    match kind {
        EntryType::Char => Some("character device"),
        EntryType::Block => Some("block device"),
        EntryType::Fifo => Some("fifo"),
        _ => None,
    }
}

/// Re-emits the entries of `input` whose path (below `strip_prefix`) is not excluded.
pub(crate) fn filter_job<R: Read>(
    input: R,
    spec: FilterSpec,
    out: &mut dyn Write,
    handle: &StreamHandle,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(input);
    let mut b = Builder::new(out);
    let mut files: HashSet<Vec<u8>> = HashSet::new();
    let mut ignore_written = false;
    let prefix = normalize_bytes(&spec.strip_prefix).to_vec();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if matches!(
            entry.header().entry_type(),
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            // Metadata records, not files.
            continue;
        }
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let Some(rel) = strip(&raw, &prefix) else {
            handle.warn(ContextWarning::EntrySkipped {
                path: shown,
                reason: "outside the context directory".to_string(),
            });
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        let rel = rel.to_vec();
        if !is_safe(&rel) {
            handle.warn(ContextWarning::EntrySkipped {
                path: shown,
                reason: "unsafe path".to_string(),
            });
            continue;
        }
        let rel_str = String::from_utf8_lossy(&rel).into_owned();
        if spec.ignore.is_excluded(&rel_str) {
            continue;
        }
        let (kind, mode, mtime) = {
            let h = entry.header();
            (
                h.entry_type(),
                h.mode().map_err(|e| with_path(e, &shown))?,
                h.mtime().map_err(|e| with_path(e, &shown))?,
            )
        };
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.size();
                if spec.extras.amends_ignore() && rel == b".dockerignore" {
                    spec.extras
                        .write_ignore(&mut b, &mut entry, mode, mtime, &shown)?;
                    ignore_written = true;
                } else {
                    let data = ExactReader::new(&mut entry, size, shown.clone());
                    append_file(&mut b, &rel, mode, mtime, size, data)?;
                }
                files.insert(rel);
            }
            EntryType::Directory => append_dir(&mut b, &rel, mode, mtime)?,
            EntryType::Symlink => match entry.link_name_bytes() {
                Some(target) => {
                    let target: Cow<'_, [u8]> = target;
                    if super::link_escapes(&rel, &target) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            super::ContextError::SymlinkEscapes {
                                path: rel_str,
                                target: String::from_utf8_lossy(&target).into_owned(),
                            }
                            .to_string(),
                        ));
                    }
                    append_link(&mut b, &rel, EntryType::Symlink, &target, mode, mtime)?;
                }
                None => handle.warn(ContextWarning::EntrySkipped {
                    path: rel_str,
                    reason: "symlink without a target".to_string(),
                }),
            },
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .and_then(|t| strip(&t, &prefix).map(<[u8]>::to_vec));
                match target {
                    Some(t) if files.contains(&t) => {
                        append_link(&mut b, &rel, EntryType::Link, &t, mode, mtime)?;
                        files.insert(rel);
                    }
                    _ => handle.warn(ContextWarning::EntrySkipped {
                        path: rel_str,
                        reason: "hard link to a file that is not in the context".to_string(),
                    }),
                }
            }
            other => match entry_kind_name(other) {
                Some(kind) => handle.warn(ContextWarning::SpecialFileSkipped {
                    path: rel_str,
                    kind,
                }),
                None => handle.warn(ContextWarning::EntrySkipped {
                    path: rel_str,
                    reason: format!("unsupported tar entry type {:?}", other),
                }),
            },
        }
    }
    spec.extras.write_tail(&mut b, ignore_written)?;
    b.into_inner()?;
    Ok(())
}

/// A blocking [`Read`] over an async stream of chunks, for the producer thread. Uses the tokio
/// runtime that was current when it was created (so engine streams that need tokio's reactor
/// work), or a minimal thread-parking executor when there was none.
pub(crate) struct StreamRead<S> {
    stream: Pin<Box<S>>,
    current: Bytes,
    done: bool,
    runtime: Option<tokio::runtime::Handle>,
}

impl<S> StreamRead<S>
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    pub(crate) fn new(stream: S) -> Self {
        StreamRead {
            stream: Box::pin(stream),
            current: Bytes::new(),
            done: false,
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }
}

impl<S> Read for StreamRead<S>
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            let next = match &self.runtime {
                Some(rt) => rt.block_on(self.stream.next()),
                None => block_on(self.stream.next()),
            };
            match next {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
    }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the current (non-async) thread.
fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_strip() {
        assert_eq!(normalize_bytes(b"./a/b/"), b"a/b");
        assert_eq!(normalize_bytes(b"/./a"), b"a");
        assert_eq!(normalize_bytes(b"./"), b"");
        assert_eq!(strip(b"ctx/", b"ctx"), Some(&b""[..]));
        assert_eq!(strip(b"ctx/a/b", b"ctx"), Some(&b"a/b"[..]));
        assert_eq!(strip(b"ctxx/a", b"ctx"), None);
        assert_eq!(strip(b"other/a", b"ctx"), None);
        assert_eq!(strip(b"./a", b""), Some(&b"a"[..]));
        assert!(is_safe(b"a/b"));
        assert!(!is_safe(b"a/../b"));
        assert!(!is_safe(b"a//b"));
    }

    #[test]
    fn exact_reader_detects_size_changes() {
        let mut out = Vec::new();
        let short = ExactReader::new(&b"abc"[..], 5, "f".to_string()).read_to_end(&mut out);
        assert!(short.is_err());
        let mut out = Vec::new();
        let long = ExactReader::new(&b"abcdef"[..], 5, "f".to_string()).read_to_end(&mut out);
        assert!(long.is_err());
        let mut out = Vec::new();
        let exact = ExactReader::new(&b"abcde"[..], 5, "f".to_string()).read_to_end(&mut out);
        assert_eq!(exact.ok(), Some(5));
    }

    #[test]
    fn chunks_are_bounded_and_complete() {
        let job: Job = Box::new(|w, _| {
            let block = vec![7u8; 1000];
            for _ in 0..300 {
                w.write_all(&block)?;
            }
            Ok(())
        });
        let mut reader = spawn_reader(job, 1, Vec::new());
        let mut all = Vec::new();
        assert!(reader.read_to_end(&mut all).is_ok());
        assert_eq!(all.len(), 300_000);
        assert!(all.iter().all(|b| *b == 7));
        assert_eq!(reader.handle().bytes_sent(), 300_000);
    }

    #[test]
    fn producer_error_is_delivered_last() {
        let job: Job = Box::new(|w, _| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        let mut reader = spawn_reader(job, 2, Vec::new());
        let mut all = Vec::new();
        let err = reader.read_to_end(&mut all).err();
        assert_eq!(err.map(|e| e.to_string()), Some("boom".to_string()));
    }

    #[test]
    fn panicking_producer_reports_an_error() {
        let job: Job = Box::new(|_, _| panic!("producer bug"));
        let mut reader = spawn_reader(job, 2, Vec::new());
        let mut all = Vec::new();
        assert!(reader.read_to_end(&mut all).is_err());
    }

    #[test]
    fn stream_read_without_runtime() {
        let chunks = vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))];
        let mut r = StreamRead::new(futures_util::stream::iter(chunks));
        let mut s = String::new();
        assert!(r.read_to_string(&mut s).is_ok());
        assert_eq!(s, "abcd");
    }
}
