//! Unpacking a plain or gzip-compressed tar archive into a directory: a tarball build context
//! once downloaded, and an OCI layer annotated `io.deis.oras.content.unpack` (see
//! [`super::remote`]). Entries that would land outside the directory (`..`, absolute) are
//! skipped, as the `tar` crate's `unpack_in` does; bzip2, xz and zstd are named as unsupported,
//! and anything else is "not a tar archive".

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// Why an archive (a tarball context, an unpacked OCI layer) could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The downloaded file cannot be opened.
    #[error("cannot read the download: {0}")]
    Download(#[source] io::Error),
    /// The archive's first bytes cannot be read.
    #[error("cannot read the archive: {0}")]
    Read(#[source] io::Error),
    /// A compression other than gzip (`bzip2`, `xz`, `zstd`).
    #[error("the archive is {0}-compressed; taskrun unpacks plain and gzip tar")]
    Compression(&'static str),
    /// The data is not a tar archive (its first entry cannot be read).
    #[error("not a tar archive ({0})")]
    NotTar(#[source] io::Error),
    /// The data is a tar archive without entries.
    #[error("not a tar archive (no entries)")]
    NoEntries,
    /// An entry after the first cannot be read.
    #[error("the archive is damaged: {0}")]
    Damaged(#[source] io::Error),
    /// An entry cannot be written into the destination.
    #[error("cannot unpack the archive: {0}")]
    Write(#[source] io::Error),
}

/// Unpacks a downloaded plain or gzip tar file into `dest`.
pub(super) fn unpack_file(path: &Path, dest: &Path) -> Result<(), UnpackError> {
    let file = std::fs::File::open(path).map_err(UnpackError::Download)?;
    unpack(BufReader::new(file), dest)
}

/// Unpacks a plain or gzip-compressed tar stream into `dest` (see the module docs).
pub fn unpack<R: BufRead>(mut input: R, dest: &Path) -> Result<(), UnpackError> {
    let magic = input.fill_buf().map_err(UnpackError::Read)?.to_vec();
    let reader: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(GzReader::new(input))
    } else if magic.starts_with(b"BZh") {
        return Err(UnpackError::Compression("bzip2"));
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Err(UnpackError::Compression("xz"));
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(UnpackError::Compression("zstd"));
    } else {
        Box::new(input)
    };
    let mut archive = tar::Archive::new(reader);
    archive.set_overwrite(true);
    let mut count = 0usize;
    for entry in archive.entries().map_err(UnpackError::NotTar)? {
        let mut entry = entry.map_err(|e| {
            if count == 0 {
                UnpackError::NotTar(e)
            } else {
                UnpackError::Damaged(e)
            }
        })?;
        entry.unpack_in(dest).map_err(UnpackError::Write)?;
        count += 1;
    }
    if count == 0 {
        return Err(UnpackError::NoEntries);
    }
    Ok(())
}

/// A gzip decoder (RFC 1952, members one after another) over miniz_oxide's raw inflate.
struct GzReader<R: BufRead> {
    inner: R,
    state: Option<Box<InflateState>>,
    first: bool,
}

impl<R: BufRead> GzReader<R> {
    fn new(inner: R) -> Self {
        GzReader {
            inner,
            state: None,
            first: true,
        }
    }

    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.inner.read_exact(&mut b)?;
        Ok(b[0])
    }

    /// Reads a member header; `false` at the end of the input (after at least one member).
    fn header(&mut self) -> io::Result<bool> {
        if !self.first && self.inner.fill_buf()?.is_empty() {
            return Ok(false);
        }
        self.first = false;
        let mut fixed = [0u8; 10];
        self.inner.read_exact(&mut fixed)?;
        if fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "invalid gzip header",
            ));
        }
        let flags = fixed[3];
        if flags & 0x04 != 0 {
            let len = u16::from(self.byte()?) | (u16::from(self.byte()?) << 8);
            io::copy(&mut (&mut self.inner).take(u64::from(len)), &mut io::sink())?;
        }
        for bit in [0x08, 0x10] {
            if flags & bit != 0 {
                while self.byte()? != 0 {}
            }
        }
        if flags & 0x02 != 0 {
            self.byte()?;
            self.byte()?;
        }
        Ok(true)
    }
}

impl<R: BufRead> Read for GzReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.state.is_none() {
                if !self.header()? {
                    return Ok(0);
                }
                self.state = Some(InflateState::new_boxed(DataFormat::Raw));
            }
            let Some(state) = self.state.as_mut() else {
                return Ok(0);
            };
            let input = self.inner.fill_buf()?;
            let eof = input.is_empty();
            let result = inflate(state, input, buf, MZFlush::None);
            self.inner.consume(result.bytes_consumed);
            match result.status {
                Ok(MZStatus::StreamEnd) => {
                    self.state = None;
                    // CRC32 and size: the tar checksums catch damage.
                    let mut trailer = [0u8; 8];
                    self.inner.read_exact(&mut trailer)?;
                    if result.bytes_written > 0 {
                        return Ok(result.bytes_written);
                    }
                }
                Ok(_) | Err(MZError::Buf) if result.bytes_written > 0 => {
                    return Ok(result.bytes_written);
                }
                Ok(_) | Err(MZError::Buf) if eof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the gzip stream ends early",
                    ));
                }
                Ok(_) | Err(MZError::Buf) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("invalid gzip data ({e:?})"),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A tar of `(name, body)` files (also for the remote-context tests).
    pub(in crate::context) fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, body.as_bytes()).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// A gzip member holding `data` in stored (uncompressed) deflate blocks.
    fn gzip_stored(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
        out.extend_from_slice(b"name.tar\0");
        let chunks: Vec<&[u8]> = data.chunks(1000).collect();
        for (i, c) in chunks.iter().enumerate() {
            out.push(u8::from(i + 1 == chunks.len()));
            let len = u16::try_from(c.len()).unwrap();
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(c);
        }
        out.extend_from_slice(&[0; 8]);
        out
    }

    #[test]
    fn unpacks_plain_and_gzip_tar() {
        let tar = tar_of(&[("Dockerfile", "FROM x\n"), ("app/a.txt", "hello")]);
        let dir = tempfile::tempdir().unwrap();
        unpack(&tar[..], dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("app/a.txt")).unwrap(),
            "hello"
        );
        let dir = tempfile::tempdir().unwrap();
        let gz = gzip_stored(&tar);
        unpack(BufReader::with_capacity(7, &gz[..]), dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
            "FROM x\n"
        );
    }

    #[test]
    fn other_data_is_not_a_tarball() {
        let dir = tempfile::tempdir().unwrap();
        let html = "<!DOCTYPE html><html>".repeat(40);
        let e = unpack(html.as_bytes(), dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a tar archive"), "{e}");
        let e = unpack(&b"BZh91AY"[..], dir.path()).unwrap_err().to_string();
        assert!(e.contains("bzip2"), "{e}");
        let e = unpack(&b""[..], dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a tar archive"), "{e}");
        let gz = gzip_stored(b"short");
        let e = unpack(&gz[..gz.len() - 12], dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a tar archive"), "{e}");
    }

    #[test]
    fn unpack_errors_keep_their_wording() {
        let dir = tempfile::tempdir().unwrap();
        for (magic, kind) in [
            (&b"BZh91AY"[..], "bzip2"),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0, 1][..], "xz"),
            (&[0x28, 0xb5, 0x2f, 0xfd, 1][..], "zstd"),
        ] {
            assert_eq!(
                unpack(magic, dir.path()).unwrap_err().to_string(),
                format!("the archive is {kind}-compressed; taskrun unpacks plain and gzip tar")
            );
        }
        assert_eq!(
            unpack(&b""[..], dir.path()).unwrap_err().to_string(),
            "not a tar archive (no entries)"
        );
        let e = unpack_file(&dir.path().join("missing.tar"), dir.path()).unwrap_err();
        assert!(matches!(e, UnpackError::Download(_)), "{e:?}");
        assert!(
            e.to_string().starts_with("cannot read the download: "),
            "{e}"
        );
    }
}
