//! Step containers started ahead of time and held at a gate.
//!
//! Starting a container is the costliest engine call (≈ 0.25–0.4 s of runc and network setup on
//! a small machine), and a step whose container is only started when the step is due pays it on
//! the critical path. So taskrun starts the containers of the next few steps while earlier steps
//! run, with a tiny program of its own, the *gate* ([`PROGRAM`], from `program.rs`), as their
//! process: mounted read-only at [`MOUNT`] from a per-run volume, it waits for one byte on the
//! container's stdin and then `execve`s the step's real program with the real arguments and
//! environment. When the step is due, taskrun attaches, writes the byte, and streams the output
//! as for any container; the step's own program runs from that moment, as PID 1, with
//! `/dev/null` on stdin.
//!
//! What a step can see of this (docs/compat.md "Containers started ahead"): the read-only mount
//! at `/.taskrun-gate`, the container's `Config.Entrypoint`/`Cmd` in `docker inspect`, and its
//! start time. A step is only gated when the executable is an ordinary Linux x86-64 container
//! without a TTY, stdin, or published ports (a port published early could collide with a step
//! still running), and only on a Linux x86-64 engine. When the gate cannot execute the program
//! it says so with [`FAILED`] and exits 127; the engine implementation then runs the step the
//! ordinary way, so the error is the engine's own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{ContainerSpec, EngineInfo, LogSink, LogStream, TarStream};

/// The gate program (a static Linux x86-64 executable of ≈ 7 KB; empty when `build.rs` could
/// not compile it, and then nothing is gated).
pub const PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/taskrun-gate"));

/// Where the gate volume is mounted in a gated container.
pub const MOUNT: &str = "/.taskrun-gate";

/// The gate's path in a gated container.
pub const PATH: &str = "/.taskrun-gate/gate";

/// The stderr line of a gate that could not execute the step's program (in step with
/// `program.rs`).
pub const FAILED: &str = "\u{1}taskrun-gate: cannot execute the step's program";

/// The exit code of a gate that could not execute the step's program.
pub const FAILED_CODE: i64 = 127;

/// Whether containers on this engine can be gated.
pub fn supported(info: &EngineInfo) -> bool {
    !PROGRAM.is_empty() && info.os == "linux" && matches!(info.arch.as_str(), "amd64" | "x86_64")
}

/// Whether `spec` may be gated, before looking at its image. Not with published ports, nor with
/// a restart policy (a restarted container would run the gate again, not the step's program).
pub fn eligible(spec: &ContainerSpec) -> bool {
    !spec.tty
        && !spec.interactive
        && spec.publish.is_empty()
        && !spec.options.publish_all
        && spec
            .options
            .restart
            .is_none_or(|r| r == crate::model::runopts::Restart::No)
        && spec.platform.is_none()
        && spec.entrypoint.as_ref().is_none_or(|e| !e.is_empty())
}

/// Whether an image of this OS and architecture may be gated.
pub fn image_supported(os: Option<&str>, arch: Option<&str>) -> bool {
    os.is_none_or(|o| o == "linux") && arch.is_none_or(|a| matches!(a, "amd64" | "x86_64"))
}

/// The program and arguments the engine would run, merged from the request and the image as
/// the Docker daemon merges them: the image's `Cmd` is used only when the request gives neither
/// an entrypoint nor a command, and the image's `Entrypoint` only when the request gives none.
/// `None` when that is empty or starts with an empty string (the engine's error is then left to
/// the ordinary path).
pub fn argv(
    entrypoint: Option<&[String]>,
    cmd: &[String],
    image_entrypoint: Option<&[String]>,
    image_cmd: Option<&[String]>,
) -> Option<Vec<String>> {
    let mut args: Vec<String> = Vec::new();
    match entrypoint {
        Some(ep) if !ep.is_empty() => {
            args.extend(ep.iter().cloned());
            args.extend(cmd.iter().cloned());
        }
        _ => {
            if entrypoint.is_none() {
                args.extend(image_entrypoint.unwrap_or_default().iter().cloned());
            }
            if cmd.is_empty() {
                args.extend(image_cmd.unwrap_or_default().iter().cloned());
            } else {
                args.extend(cmd.iter().cloned());
            }
        }
    }
    (!args.is_empty() && !args[0].is_empty()).then_some(args)
}

/// The gate volume's content: the program, executable by every user.
pub fn tar() -> TarStream {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o755);
    header.set_size(PROGRAM.len() as u64);
    let _ = builder.append_data(&mut header, "gate", PROGRAM);
    let bytes = builder.into_inner().unwrap_or_default();
    Box::pin(futures_util::stream::once(async move {
        Ok(bytes::Bytes::from(bytes))
    }))
}

/// Passes a gated container's output on, except the gate's own [`FAILED`] line, which it
/// remembers.
pub struct GateSink {
    inner: Arc<dyn LogSink>,
    failed: AtomicBool,
}

impl GateSink {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn LogSink>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failed: AtomicBool::new(false),
        })
    }

    /// Whether the gate said it could not execute the program.
    pub fn gate_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

impl LogSink for GateSink {
    fn line(&self, stream: LogStream, line: &str) {
        if stream == LogStream::Stderr && line == FAILED {
            self.failed.store(true, Ordering::Relaxed);
        } else {
            self.inner.line(stream, line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn argv_merges_as_the_daemon() {
        let ep = v(&["/entry"]);
        let cmd = v(&["default"]);
        // Nothing given: image entrypoint + image cmd.
        assert_eq!(
            argv(None, &[], Some(&ep), Some(&cmd)),
            Some(v(&["/entry", "default"]))
        );
        // A command given: image entrypoint + that command.
        assert_eq!(
            argv(None, &v(&["x"]), Some(&ep), Some(&cmd)),
            Some(v(&["/entry", "x"]))
        );
        // An entrypoint given: the image's cmd is dropped.
        assert_eq!(
            argv(Some(&v(&["sh"])), &[], Some(&ep), Some(&cmd)),
            Some(v(&["sh"]))
        );
        assert_eq!(
            argv(Some(&v(&["sh"])), &v(&["-c", "true"]), None, Some(&cmd)),
            Some(v(&["sh", "-c", "true"]))
        );
        // Empty entrypoint (`--entrypoint ""`): no image entrypoint, the image's cmd stays.
        assert_eq!(
            argv(Some(&[]), &[], Some(&ep), Some(&cmd)),
            Some(cmd.clone())
        );
        // Nothing to run, or an empty program name: not gated.
        assert_eq!(argv(None, &[], None, None), None);
        assert_eq!(argv(None, &v(&[""]), None, None), None);
    }

    #[test]
    fn only_plain_containers_are_eligible() {
        let plain = ContainerSpec::default();
        assert!(eligible(&plain));
        for spec in [
            ContainerSpec {
                tty: true,
                ..Default::default()
            },
            ContainerSpec {
                interactive: true,
                ..Default::default()
            },
            ContainerSpec {
                publish: crate::model::ports::parse_publish("80").unwrap(),
                ..Default::default()
            },
            ContainerSpec {
                platform: Some("linux/arm64".into()),
                ..Default::default()
            },
            ContainerSpec {
                entrypoint: Some(Vec::new()),
                ..Default::default()
            },
            ContainerSpec {
                options: crate::model::runopts::ContainerOptions {
                    publish_all: true,
                    ..Default::default()
                },
                ..Default::default()
            },
            ContainerSpec {
                options: crate::model::runopts::ContainerOptions {
                    restart: Some(crate::model::runopts::Restart::Always),
                    ..Default::default()
                },
                ..Default::default()
            },
        ] {
            assert!(!eligible(&spec), "{spec:?}");
        }
        assert!(image_supported(Some("linux"), Some("amd64")));
        assert!(!image_supported(Some("linux"), Some("arm64")));
        assert!(!image_supported(Some("windows"), Some("amd64")));
    }

    #[test]
    fn the_program_writes_the_failure_line_this_side_looks_for() {
        let source = include_str!("program.rs");
        let written = format!("b\"\\x01{}\\n\"", &FAILED[1..]);
        assert!(source.contains(&written), "{written}");
    }

    #[test]
    fn the_program_is_built_on_linux_x86_64() {
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(&PROGRAM[..4], b"\x7fELF");
        }
    }

    #[test]
    fn gate_sink_hides_the_failure_line() {
        #[derive(Default)]
        struct Lines(std::sync::Mutex<Vec<String>>);
        impl LogSink for Lines {
            fn line(&self, _: LogStream, line: &str) {
                self.0.lock().unwrap().push(line.to_string());
            }
        }
        let lines = Arc::new(Lines::default());
        let sink = GateSink::new(lines.clone());
        sink.line(LogStream::Stdout, FAILED);
        assert!(!sink.gate_failed());
        sink.line(LogStream::Stderr, FAILED);
        sink.line(LogStream::Stderr, "other");
        assert!(sink.gate_failed());
        assert_eq!(*lines.0.lock().unwrap(), v(&[FAILED, "other"]));
    }
}
