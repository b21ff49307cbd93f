//! Build contexts: `.dockerignore` rules and tar streams for the engine.
//!
//! Two sources of contexts exist:
//!
//! * a **local directory** ([`context_tar`], and [`workspace_stream`] for seeding the run's
//!   workspace volume with the CONTEXT directory), and
//! * a directory of the **workspace volume**, read back through the engine as a `docker cp`-style
//!   archive so that files written by earlier steps are part of the context ([`filter_tar`],
//!   [`TarFilter`]). The caller fetches `<ctx>/.dockerignore` first (a separate small read; see
//!   [`ignore_file_candidates`]) and passes the parsed rules in, so the big archive is read once.
//!
//! Both produce a tar **lazily** on a producer thread, in [`CHUNK_SIZE`] chunks through a bounded
//! channel ([`ContextStream`] for the engine, [`ContextReader`] as a blocking [`Read`]): a 1 GB
//! context is never held in memory, only `capacity` chunks are in flight.
//!
//! # Defined behaviour (docker CLI parity unless said otherwise)
//!
//! * **Ignore rules**: Docker's own matcher (moby `patternmatcher`, not gitignore), see
//!   [`dockerignore`]. The files sent are exactly those [`DockerIgnore::is_excluded`] does not
//!   exclude; wildcard exceptions (`!**/keep`) also work inside excluded directories, as with
//!   BuildKit (the classic builder only descends for exceptions that literally start with the
//!   directory's path).
//! * **Which ignore file**: `<Dockerfile>.dockerignore` next to the Dockerfile when it exists
//!   (BuildKit), else `.dockerignore` at the context root ([`load_dockerignore`]).
//! * **Build files always sent**: `.dockerignore` and the Dockerfile are re-included when the
//!   rules exclude them (the CLI's `TrimBuildFilesFromExcludes`; the daemon removes them again
//!   before `COPY` sees the context).
//! * **Symlinks are never followed**: they are archived as symlinks with their target byte for
//!   byte, whether it is relative, absolute, inside the context, dangling or a directory;
//!   directories behind links are not descended into. An absolute target is resolved inside the
//!   container or image later, never on this machine. A link whose *relative* target climbs out
//!   of the context (`../x` at the root) is refused with [`ContextError::SymlinkEscapes`] naming
//!   it, unless it is excluded: the engine refuses such a link in any archive it unpacks
//!   (`invalid symlink`), for builds as for `docker cp`, so the CLI's build fails on it too.
//!   [`filter_tar`] fails the same way on such a link in an existing archive. Only the context
//!   root itself is resolved if it is a symlink (the CLI does the same).
//! * **Dockerfile (`-f`)**: relative to the context directory, or absolute. It must exist
//!   ([`ContextError::DockerfileNotFound`] names the path), be a regular file and lie inside the
//!   context, also after resolving symlinks: `..` escaping the context, absolute paths elsewhere
//!   and links leading out are refused with [`ContextError::DockerfileOutsideContext`]. A
//!   Dockerfile that is a symlink inside the context is sent under its target's name
//!   ([`ContextTar::dockerfile`]), as the CLI does. The CLI can also send a Dockerfile from
//!   outside the context under a random name; taskrun does not read outside files on its own,
//!   but a caller that has read one (after its own containment check, e.g. inside the workspace)
//!   can opt in with [`ContextTar::add_outside_dockerfile`] / [`TarFilter::add_outside_dockerfile`]:
//!   it is added as `.dockerfile.<hash>` and that name is appended to `.dockerignore`, exactly
//!   like the CLI (a context without one gets a `.dockerignore` of the lines `.dockerignore` and
//!   the name, so the daemon removes both before `COPY`). `build` steps do this for a Dockerfile
//!   elsewhere in `/workspace`.
//! * **Special files** (fifos, sockets, devices) are skipped with a [`ContextWarning`] and never
//!   opened, so a fifo cannot block the build. (The CLI sends fifos and devices as header-only
//!   entries and fails on sockets.)
//! * **Unreadable files**: checked before streaming starts, like the CLI's
//!   `ValidateContextDirectory`. An unreadable file that is not excluded fails with
//!   [`ContextError::NoPermission`] ("no permission to read from '…'"), an unreadable directory
//!   with [`ContextError::CantStat`] ("can't stat '…'"). Excluded paths are never read, so they
//!   cannot fail; an excluded directory that is only walked to look for exceptions is skipped
//!   with a warning when unreadable.
//! * **Tar format**: GNU headers; uid/gid 0 and no user/group names; permission bits (with
//!   setuid/setgid/sticky) and whole-second mtimes kept; entries in byte-sorted depth-first
//!   order, directories with a trailing `/`, no entry for the root; parents of files re-included
//!   inside an excluded directory are not emitted (the daemon creates them, as with Docker); hard
//!   links inside the context are kept as hard-link entries. Output is deterministic for an
//!   unchanged directory.
//! * **Changes while streaming**: a file that changes size or is replaced between the check and
//!   the send ends the stream with an error rather than producing a corrupt tar.
//! * **Non-UTF-8 names** are archived with their original bytes and matched against their lossy
//!   UTF-8 form (Go matches the raw bytes, where invalid bytes behave like U+FFFD too).
//! * **Filtering an existing archive** ([`filter_tar`]): entries outside the prefix, with unsafe
//!   paths (`..`), of special types, or hard links whose target was excluded are dropped with a
//!   warning (on the [`StreamHandle`]); ownership is normalised to 0:0 like local contexts; PAX
//!   records other than path/link names (e.g. xattrs) are not carried over.

mod archive;
pub mod dockerignore;
pub mod remote;
pub mod source;
#[cfg(test)]
mod tests;
pub mod unpack;
mod walk;

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

pub use archive::{CHUNK_SIZE, ContextReader, ContextStream, DEFAULT_CAPACITY, StreamHandle};
pub use dockerignore::{DockerIgnore, MatchInfo, PatternError};

use archive::{Extras, FilterSpec, StreamRead};
use walk::{Fault, Plan};

/// The engine's tar stream type (same as `engine::TarStream`).
pub type BoxTarStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Why a context cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The context directory does not exist.
    #[error("build context '{path}' does not exist")]
    ContextNotFound {
        /// The directory as given.
        path: String,
    },
    /// The context path is not a directory.
    #[error("build context '{path}' is not a directory")]
    ContextNotADirectory {
        /// The path as given.
        path: String,
    },
    /// The Dockerfile does not exist.
    #[error("cannot locate Dockerfile '{path}' in the build context '{context}'")]
    DockerfileNotFound {
        /// The Dockerfile path as given.
        path: String,
        /// The context directory.
        context: String,
    },
    /// The Dockerfile is a directory or special file.
    #[error("Dockerfile '{path}' is not a regular file")]
    DockerfileNotAFile {
        /// The Dockerfile path as given.
        path: String,
    },
    /// The Dockerfile resolves outside the context (`..`, absolute path, or symlink).
    #[error(
        "Dockerfile '{path}' is outside the build context '{context}'; taskrun does not read \
         files outside the context (not even through symlinks)"
    )]
    DockerfileOutsideContext {
        /// The Dockerfile path as given.
        path: String,
        /// The context directory.
        context: String,
    },
    /// A file taskrun has to read (e.g. `.dockerignore`) is a symlink leading out of the context.
    #[error(
        "'{path}' points outside the build context '{context}'; taskrun never follows symlinks \
         out of the context"
    )]
    SymlinkOutsideContext {
        /// The link.
        path: String,
        /// The context directory.
        context: String,
    },
    /// A symlink of the context whose relative target climbs out of the context root. The
    /// Docker engine refuses such a link in any archive it unpacks (`invalid symlink`), so it
    /// is refused up front, naming it.
    #[error(
        "the symlink '{path}' points outside the build context (to '{target}'); the Docker \
         engine refuses such links in a context: exclude it in .dockerignore, or point it inside \
         the context (an absolute target is sent as it is)"
    )]
    SymlinkEscapes {
        /// The link.
        path: String,
        /// Its target as written.
        target: String,
    },
    /// A path of the context cannot be examined (e.g. a directory without read permission).
    #[error("error checking context: can't stat '{path}': {source}")]
    CantStat {
        /// Full path.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file of the context cannot be read.
    #[error("error checking context: no permission to read from '{path}'")]
    NoPermission {
        /// Full path.
        path: String,
    },
    /// The ignore file has an invalid pattern.
    #[error("invalid ignore file '{path}': {source}")]
    InvalidIgnore {
        /// Full path of the ignore file.
        path: String,
        /// The bad line.
        #[source]
        source: PatternError,
    },
    /// Other I/O failure.
    #[error("error reading '{path}': {source}")]
    Io {
        /// Full path.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Whether a symlink at `rel` (relative to the context root) with `target` climbs out of the
/// root, as the engine judges it when it unpacks the link: an absolute target never does (it is
/// resolved in the container's file system); a relative one does when `..` leaves the root.
pub(crate) fn link_escapes(rel: &[u8], target: &[u8]) -> bool {
    if target.first() == Some(&b'/') {
        return false;
    }
    let parent = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => &rel[..i],
        None => &[][..],
    };
    let mut depth: usize = 0;
    for part in parent
        .split(|&b| b == b'/')
        .chain(target.split(|&b| b == b'/'))
    {
        match part {
            b"" | b"." => {}
            b".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// Something left out of a context, reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextWarning {
    /// A fifo, socket or device (path relative to the context).
    SpecialFileSkipped {
        /// Path relative to the context root.
        path: String,
        /// "fifo", "socket", "character device", "block device".
        kind: &'static str,
    },
    /// An excluded directory that could contain re-included files but cannot be read.
    UnreadableDirSkipped {
        /// Path relative to the context root.
        path: String,
        /// The error.
        reason: String,
    },
    /// An entry of an existing archive that could not be carried over.
    EntrySkipped {
        /// Path in the archive.
        path: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ContextWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextWarning::SpecialFileSkipped { path, kind } => write!(
                f,
                "skipping {kind} '{path}': only files, directories and symlinks are sent in a \
                 build context"
            ),
            ContextWarning::UnreadableDirSkipped { path, reason } => {
                write!(
                    f,
                    "skipping unreadable excluded directory '{path}': {reason}"
                )
            }
            ContextWarning::EntrySkipped { path, reason } => {
                write!(f, "skipping '{path}': {reason}")
            }
        }
    }
}

/// A file added to a context from memory.
#[derive(Debug, Clone)]
pub struct InlineFile {
    /// Path in the tar.
    pub name: String,
    /// Content.
    pub content: Bytes,
}

/// The in-context name under which an outside Dockerfile is sent: `.dockerfile.` and 16 hex
/// digits of a hash of its content (the CLI uses a random name; a content hash keeps contexts
/// reproducible).
pub fn outside_dockerfile_name(content: &[u8]) -> String {
    // FNV-1a, 64 bit.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in content {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!(".dockerfile.{hash:016x}")
}

fn add_outside_dockerfile(extras: &mut Extras, content: Bytes) -> String {
    let name = outside_dockerfile_name(&content);
    if !extras.files.iter().any(|f| f.name == name) {
        extras.files.push(InlineFile {
            name: name.clone(),
            content,
        });
        extras.ignore_additions.push(name.clone());
    }
    name
}

/// A checked local context, ready to be streamed. Holds the list of entries (paths and
/// metadata), never file contents.
#[derive(Debug)]
pub struct ContextTar {
    root: PathBuf,
    plan: Plan,
    dockerfile: Option<String>,
    extras: Extras,
}

impl ContextTar {
    /// The canonical context directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of the Dockerfile inside the tar (what the engine's build call needs).
    pub fn dockerfile(&self) -> Option<&str> {
        self.dockerfile.as_deref()
    }

    /// What was left out (special files, unreadable excluded directories).
    pub fn warnings(&self) -> &[ContextWarning] {
        &self.plan.warnings
    }

    /// Number of tar entries (before extras).
    pub fn len(&self) -> usize {
        self.plan.entries.len()
    }

    /// True when the context sends no entries at all.
    pub fn is_empty(&self) -> bool {
        self.plan.entries.is_empty() && self.extras.files.is_empty()
    }

    /// Total size of the regular files' contents to send.
    pub fn content_size(&self) -> u64 {
        self.plan.content_bytes
    }

    /// The paths that will be sent, in order (directories with a trailing `/`).
    pub fn paths(&self) -> Vec<String> {
        self.plan
            .entries
            .iter()
            .map(|e| {
                let mut p = String::from_utf8_lossy(&e.rel).into_owned();
                if matches!(e.kind, walk::EntryKind::Dir) {
                    p.push('/');
                }
                p
            })
            .collect()
    }

    /// Sends a Dockerfile that lives outside the context the way the docker CLI does: as
    /// `.dockerfile.<hash>` at the end of the tar, with that name appended to `.dockerignore`
    /// (so the daemon removes it before `COPY`). Returns the in-tar name, which also becomes
    /// [`ContextTar::dockerfile`]. The caller is responsible for having read an allowed file.
    pub fn add_outside_dockerfile(&mut self, content: impl Into<Bytes>) -> String {
        let name = add_outside_dockerfile(&mut self.extras, content.into());
        self.dockerfile = Some(name.clone());
        name
    }

    /// Streams the tar with [`DEFAULT_CAPACITY`] chunks in flight.
    pub fn into_stream(self) -> ContextStream {
        self.into_stream_with_capacity(DEFAULT_CAPACITY)
    }

    /// Streams the tar with at most `capacity` chunks buffered.
    pub fn into_stream_with_capacity(self, capacity: usize) -> ContextStream {
        let ContextTar {
            root, plan, extras, ..
        } = self;
        let entries = plan.entries;
        archive::spawn_stream(
            Box::new(move |out, _| walk::write_plan(&root, &entries, &extras, out)),
            capacity,
            plan.warnings,
        )
    }

    /// The tar as a blocking reader with [`DEFAULT_CAPACITY`] chunks in flight.
    pub fn into_reader(self) -> ContextReader {
        self.into_reader_with_capacity(DEFAULT_CAPACITY)
    }

    /// The tar as a blocking reader with at most `capacity` chunks buffered.
    pub fn into_reader_with_capacity(self, capacity: usize) -> ContextReader {
        let ContextTar {
            root, plan, extras, ..
        } = self;
        let entries = plan.entries;
        archive::spawn_reader(
            Box::new(move |out, _| walk::write_plan(&root, &entries, &extras, out)),
            capacity,
            plan.warnings,
        )
    }
}

/// Checks a local context directory and prepares its tar (see the module docs for every rule).
///
/// `dockerfile` is relative to `dir` (or absolute inside it); `None` for a plain directory
/// archive. `ignore` is usually [`load_dockerignore`]'s result; the Dockerfile and
/// `.dockerignore` are re-included if it excludes them.
pub fn context_tar(
    dir: &Path,
    dockerfile: Option<&str>,
    ignore: &DockerIgnore,
) -> Result<ContextTar, ContextError> {
    context_tar_with_fault(dir, dockerfile, ignore, walk::no_fault)
}

pub(crate) fn context_tar_with_fault(
    dir: &Path,
    dockerfile: Option<&str>,
    ignore: &DockerIgnore,
    fault: Fault,
) -> Result<ContextTar, ContextError> {
    let root = canonical_root(dir)?;
    let dockerfile = dockerfile
        .map(|d| resolve_dockerfile(dir, &root, d))
        .transpose()?;
    let mut ignore = ignore.clone();
    ignore.keep_build_files(dockerfile.as_deref());
    let plan = walk::plan(&root, &ignore, fault)?;
    Ok(ContextTar {
        root,
        plan,
        dockerfile,
        extras: Extras::default(),
    })
}

/// The CONTEXT directory as a tar stream, to seed the run's `/workspace` volume. Like `az acr
/// run` uploading its source context, the root `.dockerignore` applies (so `target/`,
/// `node_modules/`… can stay out). Same link, special-file and permission rules as
/// [`context_tar`].
/// Its [`ContextStream::handle`] has the warnings (skipped special files…).
pub fn workspace_stream(dir: &Path) -> Result<ContextStream, ContextError> {
    let ignore = load_dockerignore(dir, None)?;
    Ok(context_tar(dir, None, &ignore)?.into_stream())
}

fn canonical_root(dir: &Path) -> Result<PathBuf, ContextError> {
    let shown = dir.display().to_string();
    let root = fs::canonicalize(dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ContextError::ContextNotFound {
            path: shown.clone(),
        },
        _ => ContextError::CantStat {
            path: shown.clone(),
            source: e,
        },
    })?;
    let meta = fs::metadata(&root).map_err(|source| ContextError::CantStat {
        path: shown.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ContextError::ContextNotADirectory { path: shown });
    }
    Ok(root)
}

/// `..` and `.` removed without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The Dockerfile's path inside the tar, after every containment check.
fn resolve_dockerfile(dir: &Path, root: &Path, dockerfile: &str) -> Result<String, ContextError> {
    let context = dir.display().to_string();
    let not_found = || ContextError::DockerfileNotFound {
        path: dockerfile.to_string(),
        context: context.clone(),
    };
    let outside = || ContextError::DockerfileOutsideContext {
        path: dockerfile.to_string(),
        context: context.clone(),
    };
    if dockerfile.is_empty() {
        return Err(not_found());
    }
    let given = Path::new(dockerfile);
    let abs_dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let joined = if given.is_absolute() {
        given.to_path_buf()
    } else {
        abs_dir.join(given)
    };
    let lexical_path = lexical(&joined);
    if !(lexical_path.starts_with(lexical(&abs_dir)) || lexical_path.starts_with(root)) {
        return Err(outside());
    }
    let canonical = match fs::canonicalize(&joined) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_found()),
        Err(source) => {
            return Err(ContextError::Io {
                path: joined.display().to_string(),
                source,
            });
        }
    };
    if !canonical.starts_with(root) {
        return Err(outside());
    }
    let meta = fs::metadata(&canonical).map_err(|source| ContextError::Io {
        path: canonical.display().to_string(),
        source,
    })?;
    if !meta.is_file() {
        return Err(ContextError::DockerfileNotAFile {
            path: dockerfile.to_string(),
        });
    }
    let rel = canonical
        .strip_prefix(root)
        .ok()
        .and_then(Path::to_str)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ContextError::Io {
            path: canonical.display().to_string(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                "the Dockerfile path is not valid UTF-8",
            ),
        })?;
    Ok(rel.to_string())
}

/// Ignore files to look for, in order of precedence, relative to the context root:
/// `<dockerfile>.dockerignore` (BuildKit's per-Dockerfile file) when a Dockerfile is given, then
/// `.dockerignore`. For workspace contexts, fetch the first that exists.
pub fn ignore_file_candidates(dockerfile: Option<&str>) -> Vec<String> {
    let mut candidates = Vec::new();
    if let Some(df) = dockerfile.filter(|d| !d.is_empty()) {
        candidates.push(format!("{df}.dockerignore"));
    }
    candidates.push(".dockerignore".to_string());
    candidates
}

/// Reads the ignore rules of a local context (first of [`ignore_file_candidates`] that exists;
/// none: no rules). An ignore file that is a symlink leading out of the context is refused.
pub fn load_dockerignore(
    dir: &Path,
    dockerfile: Option<&str>,
) -> Result<DockerIgnore, ContextError> {
    let root = canonical_root(dir)?;
    for candidate in ignore_file_candidates(dockerfile) {
        let path = root.join(&candidate);
        if !lexical(&path).starts_with(&root) {
            // e.g. `../Dockerfile.dockerignore` for a Dockerfile given outside the context.
            continue;
        }
        let shown = path.display().to_string();
        match fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(ContextError::Io {
                    path: shown,
                    source,
                });
            }
        }
        let canonical = match fs::canonicalize(&path) {
            Ok(c) => c,
            // A dangling link counts as absent, as when Docker opens it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(ContextError::Io {
                    path: shown,
                    source,
                });
            }
        };
        if !canonical.starts_with(&root) {
            return Err(ContextError::SymlinkOutsideContext {
                path: shown,
                context: dir.display().to_string(),
            });
        }
        let bytes = fs::read(&canonical).map_err(|source| ContextError::Io {
            path: shown.clone(),
            source,
        })?;
        return DockerIgnore::parse(&String::from_utf8_lossy(&bytes)).map_err(|source| {
            ContextError::InvalidIgnore {
                path: shown,
                source,
            }
        });
    }
    Ok(DockerIgnore::default())
}

/// Filters an existing context archive (e.g. a workspace directory read back through the
/// engine) by ignore rules, streaming.
#[derive(Debug, Clone)]
pub struct TarFilter {
    strip_prefix: String,
    ignore: DockerIgnore,
    extras: Extras,
    capacity: usize,
}

impl TarFilter {
    /// Rules to apply; `dockerfile` (path relative to the context) and `.dockerignore` are kept
    /// even when excluded.
    pub fn new(ignore: &DockerIgnore, dockerfile: Option<&str>) -> TarFilter {
        let mut ignore = ignore.clone();
        ignore.keep_build_files(dockerfile);
        TarFilter {
            strip_prefix: String::new(),
            ignore,
            extras: Extras::default(),
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// The top directory that `docker cp`-style archives put in front of every path (e.g.
    /// `ctx` for entries `ctx/…`); entries outside it are dropped with a warning.
    pub fn strip_prefix(mut self, prefix: &str) -> TarFilter {
        self.strip_prefix = prefix.to_string();
        self
    }

    /// Number of chunks buffered between producer and consumer.
    pub fn capacity(mut self, capacity: usize) -> TarFilter {
        self.capacity = capacity;
        self
    }

    /// Same as [`ContextTar::add_outside_dockerfile`]; returns the in-tar name.
    pub fn add_outside_dockerfile(&mut self, content: impl Into<Bytes>) -> String {
        add_outside_dockerfile(&mut self.extras, content.into())
    }

    fn spec(self) -> (FilterSpec, usize) {
        (
            FilterSpec {
                strip_prefix: self.strip_prefix.into_bytes(),
                ignore: self.ignore,
                extras: self.extras,
            },
            self.capacity,
        )
    }

    /// Filters a blocking tar reader.
    pub fn stream<R: Read + Send + 'static>(self, input: R) -> ContextStream {
        let (spec, capacity) = self.spec();
        archive::spawn_stream(
            Box::new(move |out, handle| archive::filter_job(input, spec, out, handle)),
            capacity,
            Vec::new(),
        )
    }

    /// Filters an async tar stream (such as the engine's `get_from_volume` result). Call it from
    /// within the tokio runtime that drives `input`.
    pub fn stream_from<S>(self, input: S) -> ContextStream
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        self.stream(StreamRead::new(input))
    }

    /// Filters a blocking tar reader into a blocking reader.
    pub fn reader<R: Read + Send + 'static>(self, input: R) -> ContextReader {
        let (spec, capacity) = self.spec();
        archive::spawn_reader(
            Box::new(move |out, handle| archive::filter_job(input, spec, out, handle)),
            capacity,
            Vec::new(),
        )
    }
}

/// Filters a context archive read from the workspace: entries below `strip_prefix` whose path
/// is not excluded by `ignore` are re-emitted without the prefix (see [`TarFilter`]).
pub fn filter_tar<R: Read + Send + 'static>(
    input: R,
    strip_prefix: &str,
    ignore: &DockerIgnore,
    dockerfile: Option<&str>,
) -> ContextStream {
    TarFilter::new(ignore, dockerfile)
        .strip_prefix(strip_prefix)
        .stream(input)
}

/// [`filter_tar`] for an async input stream (the engine's `TarStream`).
pub fn filter_tar_stream<S>(
    input: S,
    strip_prefix: &str,
    ignore: &DockerIgnore,
    dockerfile: Option<&str>,
) -> ContextStream
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    TarFilter::new(ignore, dockerfile)
        .strip_prefix(strip_prefix)
        .stream_from(input)
}
