//! The agent's shell: runs a `cmd` line the way acb's agent does, as `/bin/sh -c "docker run
//! <acb's flags> <cmd>"`, with a real POSIX shell and the real docker CLI.
//!
//! Only lines that need the agent (`&&`, pipes, redirections, `$VAR`, `$(…)`, line breaks, …)
//! come here; one simple command goes through the engine API (`exec::step::cmd`). The shell's
//! environment is exactly [`ShellRequest::env`] (never taskrun's own), its working directory
//! [`ShellRequest::cwd`], its standard input empty. It runs in its own process group, so a
//! timeout or Ctrl-C kills the shell and everything it started on this host (the containers it
//! started are removed by the caller, by label). Output lines go to the sink with their real
//! stream; lines longer than 1 MiB are cut, as for container output.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio_util::sync::CancellationToken;

use super::{EngineError, EngineResult, ExitStatus, LogSink, LogStream};

/// Longest output line passed on whole.
const MAX_LINE: usize = 1 << 20;

/// One line for the agent's shell.
#[derive(Clone, PartialEq, Eq)]
pub struct ShellRequest {
    /// The shell program (`/bin/sh`).
    pub shell: PathBuf,
    /// The script given to `sh -c` (acb's `docker run …` text with the `cmd` line appended).
    pub script: String,
    /// The whole environment of the shell (`PATH`, `HOME`, `DOCKER_HOST`, …).
    pub env: Vec<(String, String)>,
    /// The shell's working directory.
    pub cwd: PathBuf,
}

impl std::fmt::Debug for ShellRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The script may hold rendered secrets; callers mask what they print.
        f.debug_struct("ShellRequest")
            .field("shell", &self.shell)
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

/// Runs `request`; returns the shell's exit status (128 + signal when a signal ended it).
/// When `cancel` fires, the shell's process group is killed and `Cancelled` returned.
pub async fn run(
    request: &ShellRequest,
    sink: Arc<dyn LogSink>,
    cancel: CancellationToken,
) -> EngineResult<ExitStatus> {
    let failed = |message: String| EngineError::Failed {
        operation: "run the agent's shell",
        subject: request.shell.display().to_string(),
        message,
    };
    let mut child = tokio::process::Command::new(&request.shell)
        .arg("-c")
        .arg(&request.script)
        .env_clear()
        .envs(request.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&request.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let pid = child.id();
    let out = child.stdout.take().map(|o| {
        let sink = Arc::clone(&sink);
        tokio::spawn(forward(o, LogStream::Stdout, sink))
    });
    let err = child.stderr.take().map(|e| {
        let sink = Arc::clone(&sink);
        tokio::spawn(forward(e, LogStream::Stderr, sink))
    });
    let status = tokio::select! {
        s = child.wait() => s.map_err(|e| failed(e.to_string()))?,
        () = cancel.cancelled() => {
            kill_group(pid);
            let _ = child.wait().await;
            // The readers end once every process holding the pipes is gone.
            for h in [out, err].into_iter().flatten() {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), h).await;
            }
            return Err(EngineError::Cancelled);
        }
    };
    // Background processes of the line (`cmd … &`) may keep the pipes open; they belong to the
    // step, so the group is ended when the shell is.
    kill_group(pid);
    for h in [out, err].into_iter().flatten() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), h).await;
    }
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .map(i64::from)
        .or_else(|| status.signal().map(|s| 128 + i64::from(s)))
        .unwrap_or(1);
    Ok(ExitStatus { code })
}

/// Kills the process group led by `pid` (the shell and everything it started).
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Sends each line of `reader` to `sink` (cut at 1 MiB; invalid UTF-8 replaced).
async fn forward(reader: impl AsyncRead + Unpin, stream: LogStream, sink: Arc<dyn LogSink>) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut cut = false;
        loop {
            let buf = match reader.fill_buf().await {
                Ok(b) => b,
                Err(_) => return,
            };
            if buf.is_empty() {
                break;
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let room = MAX_LINE.saturating_sub(line.len());
            line.extend_from_slice(&buf[..take.min(room)]);
            cut |= take > room;
            reader.consume(take);
            if done {
                break;
            }
        }
        if line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\n').trim_end_matches('\r');
        if cut {
            sink.line(stream, &format!("{text} … (line cut at 1 MiB)"));
        } else {
            sink.line(stream, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<(LogStream, String)>>);
    impl LogSink for Lines {
        fn line(&self, stream: LogStream, line: &str) {
            self.0.lock().unwrap().push((stream, line.to_owned()));
        }
    }

    fn request(script: &str) -> ShellRequest {
        ShellRequest {
            shell: "/bin/sh".into(),
            script: script.to_owned(),
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("A".into(), "1".into()),
            ],
            cwd: std::env::temp_dir(),
        }
    }

    #[tokio::test]
    async fn runs_a_real_shell_with_only_the_given_environment() {
        // SAFETY-free: a variable of this process must not reach the shell.
        let lines = Arc::new(Lines::default());
        let status = run(
            &request("echo a=$A home=${HOME:-none} && echo err >&2; exit 3"),
            lines.clone(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(status.code, 3);
        let got = lines.0.lock().unwrap().clone();
        assert!(
            got.contains(&(LogStream::Stdout, "a=1 home=none".to_owned())),
            "{got:?}"
        );
        assert!(
            got.contains(&(LogStream::Stderr, "err".to_owned())),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn cancel_kills_the_whole_group() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            c.cancel();
        });
        let started = std::time::Instant::now();
        let r = run(
            &request("sleep 30 & sleep 30"),
            Arc::new(Lines::default()),
            cancel,
        )
        .await;
        assert!(matches!(r, Err(EngineError::Cancelled)));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
