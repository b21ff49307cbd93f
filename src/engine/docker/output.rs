//! Output: container and build output split into lines (bounded), log draining and exit codes.

use super::*;

/// The longest line passed on whole. Output that goes on longer without a newline is passed on
/// in pieces of this size (cut between UTF-8 characters), so a step printing one endless line
/// streams with bounded memory (docs/reliability.md).
pub(super) const MAX_LINE: usize = 1 << 20;

/// Splits a byte stream into lines, keeping partial lines across chunks. `\r\n` endings are
/// trimmed; invalid UTF-8 is replaced; a line longer than [`MAX_LINE`] bytes is split.
#[derive(Debug, Default)]
pub(super) struct LineSplitter {
    pub(super) buf: Vec<u8>,
}

impl LineSplitter {
    pub(super) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        loop {
            let room = MAX_LINE.saturating_sub(self.buf.len());
            match rest.iter().position(|&b| b == b'\n') {
                Some(pos) if pos <= room => {
                    self.buf.extend_from_slice(&rest[..pos]);
                    lines.push(self.take());
                    rest = &rest[pos + 1..];
                }
                _ if rest.len() < room => {
                    self.buf.extend_from_slice(rest);
                    return lines;
                }
                _ => {
                    self.buf.extend_from_slice(&rest[..room]);
                    rest = &rest[room..];
                    lines.push(self.take_piece());
                }
            }
        }
    }

    /// A [`MAX_LINE`] piece of a long line; an incomplete UTF-8 character at its end stays in
    /// the buffer for the next piece.
    fn take_piece(&mut self) -> String {
        let tail = self.buf.split_off(utf8_cut(&self.buf));
        let piece = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf = tail;
        piece
    }

    pub(super) fn finish(&mut self) -> Option<String> {
        (!self.buf.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let line = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        line
    }
}

/// Where to cut `buf` so that no UTF-8 character is split: before an incomplete character at
/// the end, else at the end.
pub(super) fn utf8_cut(buf: &[u8]) -> usize {
    let len = buf.len();
    for back in 1..=len.min(3) {
        let b = buf[len - back];
        if b & 0xc0 == 0x80 {
            continue;
        }
        let width = match b {
            0xf0.. => 4,
            0xe0.. => 3,
            0xc0.. => 2,
            _ => 1,
        };
        return if back < width { len - back } else { len };
    }
    len
}

/// Forwards container output to `sink` line by line until the stream ends.
pub(super) async fn drain_logs(
    logs: impl Stream<Item = Result<LogOutput, BollardError>>,
    sink: &dyn LogSink,
) -> Result<(), BollardError> {
    let mut logs = std::pin::pin!(logs);
    let mut out = LineSplitter::default();
    let mut err = LineSplitter::default();
    let mut result = Ok(());
    while let Some(item) = logs.next().await {
        match item {
            Ok(LogOutput::StdErr { message }) => {
                for line in err.push(&message) {
                    sink.line(LogStream::Stderr, &line);
                }
            }
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                for line in out.push(&message) {
                    sink.line(LogStream::Stdout, &line);
                }
            }
            Ok(LogOutput::StdIn { .. }) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Some(line) = out.finish() {
        sink.line(LogStream::Stdout, &line);
    }
    if let Some(line) = err.finish() {
        sink.line(LogStream::Stderr, &line);
    }
    result
}

/// The exit code from a wait stream (a non-zero exit arrives as `DockerContainerWaitError`).
pub(super) async fn first_exit(
    wait: impl Stream<Item = Result<bollard::models::ContainerWaitResponse, BollardError>>,
) -> Result<i64, BollardError> {
    let mut wait = std::pin::pin!(wait);
    match wait.next().await {
        Some(Ok(response)) => Ok(response.status_code),
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(e),
        None => Err(BollardError::DockerStreamError {
            error: "the engine ended the wait without an exit status".to_string(),
        }),
    }
}
