//! Walking a local context directory: what goes into the tar, checked up front, then written
//! lazily by the producer thread.
//!
//! The walk (metadata only, plus an open-for-read check of every regular file, like the docker
//! CLI's `ValidateContextDirectory`) happens before anything is streamed, so unreadable files
//! are reported as a clear error instead of a broken stream. The plan holds one small record per
//! entry, never file contents.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType};

use super::archive::{self, ExactReader, Extras, with_path};
use super::dockerignore::{DockerIgnore, MatchInfo};
use super::{ContextError, ContextWarning};

/// What one entry of the plan is.
#[derive(Debug, Clone)]
pub(crate) enum EntryKind {
    Dir,
    File { size: u64, dev: u64, ino: u64 },
    Symlink { target: Vec<u8> },
    HardLink { target: Vec<u8> },
}

/// One tar entry to write; `rel` is the `/`-separated path relative to the context root.
#[derive(Debug, Clone)]
pub(crate) struct PlannedEntry {
    pub(crate) rel: Vec<u8>,
    pub(crate) kind: EntryKind,
    pub(crate) mode: u32,
    pub(crate) mtime: u64,
}

/// Fault injection for tests (tests run as root, where permissions cannot be provoked): called
/// with every path before it is read; an error is treated as if reading had failed.
pub(crate) type Fault = fn(&Path) -> Option<io::Error>;

pub(crate) fn no_fault(_: &Path) -> Option<io::Error> {
    None
}

/// The result of the walk.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) entries: Vec<PlannedEntry>,
    pub(crate) warnings: Vec<ContextWarning>,
    pub(crate) content_bytes: u64,
}

struct Frame {
    rel: Vec<u8>,
    names: std::vec::IntoIter<OsString>,
    info: MatchInfo,
}

fn shown(root: &Path, rel: &[u8]) -> String {
    root.join(OsStr::from_bytes(rel)).display().to_string()
}

fn read_sorted(path: &Path, fault: Fault) -> io::Result<Vec<OsString>> {
    if let Some(e) = fault(path) {
        return Err(e);
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(path)? {
        names.push(entry?.file_name());
    }
    // Byte order, like Go's filepath.Walk.
    names.sort();
    Ok(names)
}

/// Opens a file for reading without blocking on fifos (`O_NONBLOCK` has no effect on regular
/// files; it only matters if a fifo was swapped in after the walk).
pub(crate) fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64",
            target_arch = "powerpc64",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    ))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

fn special_kind(ft: &fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else {
        "file of unknown type"
    }
}

/// Walks `root` (canonical) in sorted depth-first order and decides every entry.
pub(crate) fn plan(root: &Path, ignore: &DockerIgnore, fault: Fault) -> Result<Plan, ContextError> {
    let mut plan = Plan::default();
    let mut hard_links: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    let top = read_sorted(root, fault).map_err(|source| ContextError::CantStat {
        path: root.display().to_string(),
        source,
    })?;
    let mut stack = vec![Frame {
        rel: Vec::new(),
        names: top.into_iter(),
        info: MatchInfo::default(),
    }];
    while let Some(frame) = stack.last_mut() {
        let Some(name) = frame.names.next() else {
            stack.pop();
            continue;
        };
        let mut rel = frame.rel.clone();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(name.as_bytes());
        let rel_str = String::from_utf8_lossy(&rel).into_owned();
        let (excluded, info) = ignore.matches_with_parent(&rel_str, &frame.info);
        let abs: PathBuf = root.join(OsStr::from_bytes(&rel));

        let meta = match fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(_) if excluded => continue,
            Err(source) => {
                return Err(ContextError::CantStat {
                    path: shown(root, &rel),
                    source,
                });
            }
        };
        let ft = meta.file_type();
        let mode = meta.mode();
        let mtime = u64::try_from(meta.mtime()).unwrap_or(0);

        if ft.is_dir() {
            if excluded && !ignore.dir_may_contain_included(&rel_str) {
                continue;
            }
            match read_sorted(&abs, fault) {
                Ok(names) => {
                    if !excluded {
                        plan.entries.push(PlannedEntry {
                            rel: rel.clone(),
                            kind: EntryKind::Dir,
                            mode,
                            mtime,
                        });
                    }
                    stack.push(Frame {
                        rel,
                        names: names.into_iter(),
                        info,
                    });
                }
                Err(e) if excluded => plan.warnings.push(ContextWarning::UnreadableDirSkipped {
                    path: rel_str,
                    reason: e.to_string(),
                }),
                Err(source) => {
                    return Err(ContextError::CantStat {
                        path: shown(root, &rel),
                        source,
                    });
                }
            }
            continue;
        }
        if excluded {
            continue;
        }
        let kind = if ft.is_symlink() {
            // Never followed: the link itself is archived, whatever it points to.
            let target = fs::read_link(&abs).map_err(|source| ContextError::CantStat {
                path: shown(root, &rel),
                source,
            })?;
            let target = target.into_os_string().into_vec();
            if super::link_escapes(&rel, &target) {
                return Err(ContextError::SymlinkEscapes {
                    path: shown(root, &rel),
                    target: String::from_utf8_lossy(&target).into_owned(),
                });
            }
            EntryKind::Symlink { target }
        } else if ft.is_file() {
            let opened = match fault(&abs) {
                Some(e) => Err(e),
                None => open_nonblocking(&abs).map(drop),
            };
            match opened {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    return Err(ContextError::NoPermission {
                        path: shown(root, &rel),
                    });
                }
                Err(source) => {
                    return Err(ContextError::Io {
                        path: shown(root, &rel),
                        source,
                    });
                }
            }
            let key = (meta.dev(), meta.ino());
            match (meta.nlink() > 1).then(|| hard_links.get(&key)).flatten() {
                Some(first) => EntryKind::HardLink {
                    target: first.clone(),
                },
                None => {
                    if meta.nlink() > 1 {
                        hard_links.insert(key, rel.clone());
                    }
                    plan.content_bytes += meta.len();
                    EntryKind::File {
                        size: meta.len(),
                        dev: meta.dev(),
                        ino: meta.ino(),
                    }
                }
            }
        } else {
            plan.warnings.push(ContextWarning::SpecialFileSkipped {
                path: rel_str,
                kind: special_kind(&ft),
            });
            continue;
        };
        plan.entries.push(PlannedEntry {
            rel,
            kind,
            mode,
            mtime,
        });
    }
    Ok(plan)
}

/// Writes the planned entries (then the extras) as a tar into `out`.
pub(crate) fn write_plan(
    root: &Path,
    entries: &[PlannedEntry],
    extras: &Extras,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut b = Builder::new(out);
    let mut ignore_written = false;
    for e in entries {
        match &e.kind {
            EntryKind::Dir => archive::append_dir(&mut b, &e.rel, e.mode, e.mtime)?,
            EntryKind::File { size, dev, ino } => {
                let abs = root.join(OsStr::from_bytes(&e.rel));
                let path = abs.display().to_string();
                let file = open_nonblocking(&abs).map_err(|err| with_path(err, &path))?;
                let meta = file.metadata().map_err(|err| with_path(err, &path))?;
                if !meta.is_file() || meta.dev() != *dev || meta.ino() != *ino {
                    return Err(io::Error::other(format!(
                        "{path}: file was replaced while the build context was being sent"
                    )));
                }
                if extras.amends_ignore() && e.rel == b".dockerignore" {
                    extras.write_ignore(&mut b, file, e.mode, e.mtime, &path)?;
                    ignore_written = true;
                } else {
                    let data = ExactReader::new(file, *size, path);
                    archive::append_file(&mut b, &e.rel, e.mode, e.mtime, *size, data)?;
                }
            }
            EntryKind::Symlink { target } => {
                archive::append_link(&mut b, &e.rel, EntryType::Symlink, target, e.mode, e.mtime)?
            }
            EntryKind::HardLink { target } => {
                archive::append_link(&mut b, &e.rel, EntryType::Link, target, e.mode, e.mtime)?
            }
        }
    }
    extras.write_tail(&mut b, ignore_written)?;
    b.into_inner()?;
    Ok(())
}
