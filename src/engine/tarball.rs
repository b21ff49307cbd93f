//! The one small tar writer: in-memory archives of a few entries for the engine's archive API (a
//! volume's files, the directories leading to a volume path, the helper image's build context).
//! Directories are mode 0755, files 0644, every mtime is 0. Build contexts, which can be large,
//! are streamed by [`crate::context`] instead.

use std::io;

use super::TarStream;

/// An in-memory tar archive being written.
struct SmallTar {
    builder: tar::Builder<Vec<u8>>,
}

impl SmallTar {
    fn new() -> Self {
        SmallTar {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    /// Appends the directory `path` (written `path/`).
    fn dir(&mut self, path: &str) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        self.builder
            .append_data(&mut h, format!("{path}/"), io::empty())
    }

    /// Appends the regular file `path` holding `content`.
    fn file(&mut self, path: &str, content: &[u8]) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(content.len() as u64);
        self.builder.append_data(&mut h, path, content)
    }

    /// The archive's bytes (with the two end-of-archive blocks).
    fn finish(self) -> io::Result<Vec<u8>> {
        self.builder.into_inner()
    }
}

/// A small in-memory tar of regular files (parents created), as a stream. An entry the tar
/// format refuses (a `..` path) is left out.
pub fn tar_of(files: &[(&str, &[u8])]) -> TarStream {
    let mut tar = SmallTar::new();
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in files {
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            dirs.insert(acc.clone());
        }
    }
    for d in dirs {
        let _ = tar.dir(&d);
    }
    for (path, content) in files {
        let _ = tar.file(path, content);
    }
    let bytes = tar.finish().unwrap_or_default();
    Box::pin(futures_util::stream::once(async move {
        Ok(bytes::Bytes::from(bytes))
    }))
}

/// A tar holding the directories leading to `path` (the archive API needs an existing target).
pub fn directory_tar(path: &str) -> io::Result<Vec<u8>> {
    let mut tar = SmallTar::new();
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        tar.dir(&prefix)?;
    }
    tar.finish()
}

/// A tar holding one regular file.
pub fn single_file_tar(name: &str, content: &[u8]) -> io::Result<Vec<u8>> {
    let mut tar = SmallTar::new();
    tar.file(name, content)?;
    tar.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn names(bytes: &[u8]) -> Vec<(String, tar::EntryType, u32)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.entry_type(),
                    h.mode().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn directory_tar_lists_each_level() {
        let bytes = directory_tar("a/b/.").unwrap();
        let names: Vec<String> = names(&bytes).into_iter().map(|n| n.0).collect();
        assert_eq!(names, vec!["a/", "a/b/"]);
    }

    #[test]
    fn single_file_tar_holds_the_file() {
        let bytes = single_file_tar("Dockerfile", b"FROM scratch\n").unwrap();
        assert_eq!(
            names(&bytes),
            vec![("Dockerfile".to_string(), tar::EntryType::Regular, 0o644)]
        );
    }

    #[tokio::test]
    async fn tar_of_creates_parents_first_and_skips_refused_paths() {
        let mut stream = tar_of(&[("b/c/x", b"1"), ("a", b"2"), ("../evil", b"3")]);
        let bytes = stream.next().await.unwrap().unwrap();
        assert_eq!(
            names(&bytes),
            vec![
                ("b/".to_string(), tar::EntryType::Directory, 0o755),
                ("b/c/".to_string(), tar::EntryType::Directory, 0o755),
                ("b/c/x".to_string(), tar::EntryType::Regular, 0o644),
                ("a".to_string(), tar::EntryType::Regular, 0o644),
            ]
        );
    }
}
