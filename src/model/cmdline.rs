//! The `cmd:` line of a step: optional leading `docker run` flags, the image, then the arguments.
//!
//! acb appends the `cmd` string verbatim to its own `docker run … --workdir <wd>` line and runs the
//! result with `/bin/sh -c` (reference §5.3). taskrun never uses a shell: [`parse_cmd`] splits the
//! line with POSIX quoting rules ([`crate::model::shellwords`]) into [`RunFlags`], the image and the
//! argument words, and returns every construct that only acb's host shell would act on (`&&`, `|`,
//! `>`, `$VAR`, `$(…)`, line breaks, …) as a [`ShellConstruct`] so `validate` can warn and `run` can
//! refuse with [`ShellConstruct::help`]. [`ConstructKind::emulated`] constructs (comments, globs)
//! are reproduced as acb's shell would and need no refusal.
//!
//! Decisions:
//! * Only the first host command is the container invocation; words after a separator (`&&`, `;`,
//!   a line break, …) and redirection targets are not arguments (they are reported as constructs).
//! * Expansions are never performed: `$HOME` stays `$HOME` in the words and is reported.
//! * Unquoted globs are passed literally (what happens on ACR when nothing on the agent matches)
//!   and reported as [`ConstructKind::Glob`] for a warning.
//! * Flags are docker's (pflag): `--flag value`, `--flag=value`, `-e X`, `-eX`, `-e=X`, `-it`,
//!   `--rm=false`, `--` ending the options; options stop at the first non-flag word (the image),
//!   so flags after the image belong to the container's command.
//! * Every `docker run` flag is recognised (so the image is never misidentified); those without a
//!   typed field are kept in [`RunFlags::other`] for the runner to handle or refuse. Unknown flags
//!   are errors with a did-you-mean.
//! * `--env-file`, `--label-file` and `--cidfile` are refused: on ACR they read or write a file on
//!   the build agent (acb's own working directory), which has no local equivalent.
//! * Every flag with an engine API counterpart is parsed into a typed value
//!   ([`RunFlags::options`], see [`crate::model::runopts`]); a bad value (`--shm-size lots`,
//!   `--ulimit nofile=x`, `--mount type=tmpfs`) is an [`CmdErrorKind::InvalidValue`] error, so
//!   `validate` reports it and `run` never meets it.
//! * CLI-only flags (`-a`, `--sig-proxy`, `--detach-keys`, `-q`, `--disable-content-trust`,
//!   `--use-api-socket`) are accepted and kept in [`RunFlags::other`]; they change nothing.

use std::ops::Range;

use crate::diag::SpanError;
use crate::model::runopts::{self as opts, ContainerOptions, Health};
use crate::model::shellwords::{self, FlagItem, FlagSpec, FlagUse};
pub use crate::model::shellwords::{ConstructKind, ShellConstruct};

/// A parsed `cmd:` line and the host-shell constructs found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCmd {
    /// Flags, image and arguments of the container.
    pub cmd: CmdLine,
    /// Host-shell constructs, in source order (empty for a clean line).
    pub constructs: Vec<ShellConstruct>,
}

impl ParsedCmd {
    /// Constructs that only the agent's shell carries out as acb's does (everything but
    /// comments and globs, which taskrun reproduces without a shell).
    pub fn refused(&self) -> impl Iterator<Item = &ShellConstruct> {
        self.constructs.iter().filter(|c| !c.kind.emulated())
    }

    /// Whether the line needs the agent's shell: it then runs as acb runs every line,
    /// `/bin/sh -c "docker run <acb's flags> <line>"` (`engine::shell`).
    pub fn needs_shell(&self) -> bool {
        self.refused().next().is_some()
    }
}

/// An `env` entry as the agent's shell hands it to `docker run --env` (acb writes `--env
/// <entry>` into its shell line): quotes removed, so `CHANNEL="general"` is `CHANNEL=general`.
/// `None` when only a shell can tell the value: an expansion (`$X`, `$(…)`), several words, an
/// operator or a comment.
pub fn env_word(entry: &str) -> Option<String> {
    let lexed = crate::model::shellwords::lex(entry).ok()?;
    let plain = lexed
        .constructs
        .iter()
        .all(|c| c.kind == ConstructKind::Glob);
    match lexed.words.as_slice() {
        [word] if plain => Some(word.text.clone()),
        _ => None,
    }
}

/// The container a `cmd` step runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CmdLine {
    /// Leading `docker run` flags written in the `cmd` string itself.
    pub run: RunFlags,
    /// The image reference (first non-flag word), quotes removed.
    pub image: String,
    /// Byte range of the image word in the line.
    pub image_span: Range<usize>,
    /// The container's arguments (everything after the image), quotes removed.
    pub args: Vec<String>,
}

/// Leading `docker run` flags written in a `cmd` string. Repeated single-value flags: the last
/// one wins (as in docker); list flags accumulate in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunFlags {
    /// `-e`/`--env` entries (`K=V`, or `K` to pass the host value through), as written.
    pub env: Vec<String>,
    /// `-d`/`--detach`.
    pub detach: bool,
    /// `-p`/`--publish` entries, parsed ([`super::ports`]).
    pub publish: Vec<super::ports::PublishedPort>,
    /// `-v`/`--volume` entries, verbatim.
    pub volumes: Vec<String>,
    /// `--name` (overrides the step-id container name acb sets before it).
    pub name: Option<String>,
    /// `-t`/`--tty`.
    pub tty: bool,
    /// `-i`/`--interactive`.
    pub interactive: bool,
    /// `--rm` / `--rm=false`; `None` when not written.
    pub rm: Option<bool>,
    /// `--entrypoint`.
    pub entrypoint: Option<String>,
    /// `-w`/`--workdir`.
    pub workdir: Option<String>,
    /// `-u`/`--user`.
    pub user: Option<String>,
    /// `--network`/`--net`.
    pub network: Option<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--expose` entries, as `port/protocol` names.
    pub expose: Vec<String>,
    /// `--add-host` entries.
    pub add_hosts: Vec<String>,
    /// `--cpus`, in nano-CPUs (`0.5` → 500 000 000).
    pub cpus: Option<i64>,
    /// `-m`/`--memory`, bytes.
    pub memory: Option<i64>,
    /// `--platform`.
    pub platform: Option<String>,
    /// `--pull` (`always`, `missing` or `never`).
    pub pull: Option<String>,
    /// `--init`.
    pub init: bool,
    /// `-l`/`--label` entries, verbatim.
    pub labels: Vec<String>,
    /// `-h`/`--hostname`.
    pub hostname: Option<String>,
    /// `--cap-add` entries.
    pub cap_add: Vec<String>,
    /// `--cap-drop` entries.
    pub cap_drop: Vec<String>,
    /// `--security-opt` entries.
    pub security_opts: Vec<String>,
    /// Every other engine option (`--mount`, `--shm-size`, `--ulimit`, `--gpus`, …), typed.
    pub options: ContainerOptions,
    /// Flags of the docker CLI itself that have no engine counterpart (`-a`, `--sig-proxy`,
    /// `--detach-keys`, `-q`, `--disable-content-trust`, `--use-api-socket`), in order: canonical
    /// long name with dashes and the value (`None` for a bare boolean). taskrun accepts them
    /// and they change nothing: step output is always collected, and the engine socket is
    /// always mounted.
    pub other: Vec<(String, Option<String>)>,
}

/// What kind of problem a [`CmdError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdErrorKind {
    /// Unterminated quote, backtick, `$(` or `${`.
    Syntax,
    /// No image after the flags.
    MissingImage,
    /// The image word is empty (`''`).
    EmptyImage,
    /// A leading flag that `docker run` does not have.
    UnknownFlag,
    /// A flag that needs a value is last on the line.
    MissingValue,
    /// A flag value docker would reject (`--rm=maybe`, `--pull=sometimes`).
    InvalidValue,
    /// A real `docker run` flag taskrun refuses (`--env-file`, …).
    Unsupported,
}

/// A `cmd` line that cannot be run (the span is a byte range in the line).
pub type CmdError = SpanError<CmdErrorKind>;

/// Every `docker run` flag (docker CLI 28), so that the image is found exactly where docker
/// would find it.
pub const RUN_FLAGS: &[FlagSpec] = &[
    // Typed in `RunFlags`.
    FlagSpec::value("env").short('e'),
    FlagSpec::bool("detach").short('d'),
    FlagSpec::value("publish").short('p'),
    FlagSpec::bool("publish-all").short('P'),
    FlagSpec::value("volume").short('v'),
    FlagSpec::value("mount"),
    FlagSpec::value("name"),
    FlagSpec::bool("tty").short('t'),
    FlagSpec::bool("interactive").short('i'),
    FlagSpec::bool("rm"),
    FlagSpec::value("entrypoint"),
    FlagSpec::value("workdir").short('w'),
    FlagSpec::value("user").short('u'),
    FlagSpec::value("network"),
    FlagSpec::value("net").alias_of("network"),
    FlagSpec::bool("privileged"),
    FlagSpec::value("expose"),
    FlagSpec::value("add-host"),
    FlagSpec::value("cpus"),
    FlagSpec::value("memory").short('m'),
    FlagSpec::value("platform"),
    FlagSpec::value("pull"),
    FlagSpec::bool("init"),
    FlagSpec::value("label").short('l'),
    FlagSpec::value("hostname").short('h'),
    FlagSpec::value("ipc"),
    FlagSpec::value("shm-size"),
    FlagSpec::value("ulimit"),
    FlagSpec::value("cap-add"),
    FlagSpec::value("cap-drop"),
    FlagSpec::value("security-opt"),
    FlagSpec::value("isolation"),
    // Refused.
    FlagSpec::value("env-file"),
    FlagSpec::value("label-file"),
    FlagSpec::value("cidfile"),
    // Kept in `RunFlags::other`.
    FlagSpec::value("annotation"),
    FlagSpec::value("attach").short('a'),
    FlagSpec::value("blkio-weight"),
    FlagSpec::value("blkio-weight-device"),
    FlagSpec::value("cgroup-parent"),
    FlagSpec::value("cgroupns"),
    FlagSpec::value("cpu-count"),
    FlagSpec::value("cpu-percent"),
    FlagSpec::value("cpu-period"),
    FlagSpec::value("cpu-quota"),
    FlagSpec::value("cpu-rt-period"),
    FlagSpec::value("cpu-rt-runtime"),
    FlagSpec::value("cpu-shares").short('c'),
    FlagSpec::value("cpuset-cpus"),
    FlagSpec::value("cpuset-mems"),
    FlagSpec::value("detach-keys"),
    FlagSpec::value("device"),
    FlagSpec::value("device-cgroup-rule"),
    FlagSpec::value("device-read-bps"),
    FlagSpec::value("device-read-iops"),
    FlagSpec::value("device-write-bps"),
    FlagSpec::value("device-write-iops"),
    FlagSpec::bool("disable-content-trust"),
    FlagSpec::value("dns"),
    FlagSpec::value("dns-option"),
    FlagSpec::value("dns-opt").alias_of("dns-option"),
    FlagSpec::value("dns-search"),
    FlagSpec::value("domainname"),
    FlagSpec::value("gpus"),
    FlagSpec::value("group-add"),
    FlagSpec::value("health-cmd"),
    FlagSpec::value("health-interval"),
    FlagSpec::value("health-retries"),
    FlagSpec::value("health-start-interval"),
    FlagSpec::value("health-start-period"),
    FlagSpec::value("health-timeout"),
    FlagSpec::value("io-maxbandwidth"),
    FlagSpec::value("io-maxiops"),
    FlagSpec::value("ip"),
    FlagSpec::value("ip6"),
    FlagSpec::value("kernel-memory"),
    FlagSpec::value("link"),
    FlagSpec::value("link-local-ip"),
    FlagSpec::value("log-driver"),
    FlagSpec::value("log-opt"),
    FlagSpec::value("mac-address"),
    FlagSpec::value("memory-reservation"),
    FlagSpec::value("memory-swap"),
    FlagSpec::value("memory-swappiness"),
    FlagSpec::value("network-alias"),
    FlagSpec::value("net-alias").alias_of("network-alias"),
    FlagSpec::bool("no-healthcheck"),
    FlagSpec::bool("oom-kill-disable"),
    FlagSpec::value("oom-score-adj"),
    FlagSpec::value("pid"),
    FlagSpec::value("pids-limit"),
    FlagSpec::bool("quiet").short('q'),
    FlagSpec::bool("read-only"),
    FlagSpec::value("restart"),
    FlagSpec::value("runtime"),
    FlagSpec::bool("sig-proxy"),
    FlagSpec::value("stop-signal"),
    FlagSpec::value("stop-timeout"),
    FlagSpec::value("storage-opt"),
    FlagSpec::value("sysctl"),
    FlagSpec::value("tmpfs"),
    FlagSpec::bool("use-api-socket"),
    FlagSpec::value("userns"),
    FlagSpec::value("uts"),
    FlagSpec::value("volume-driver"),
    FlagSpec::value("volumes-from"),
];

/// Parse a `cmd:` line (after template rendering). Returns the first problem as an error; host-
/// shell constructs are not errors here — the caller decides (`validate` warns, `run` refuses
/// [`ParsedCmd::refused`]).
///
/// # Errors
///
/// The first of: an unterminated quote, backtick, `$(` or `${`; an unknown leading flag (with a
/// did-you-mean); a flag missing its value; an invalid value (`--rm=maybe`, `--pull=sometimes`); a
/// refused flag (`--env-file`, `--label-file`, `--cidfile`); no image; an empty image.
pub fn parse_cmd(line: &str) -> Result<ParsedCmd, CmdError> {
    let lexed = shellwords::lex(line).map_err(|e| CmdError {
        kind: CmdErrorKind::Syntax,
        message: e.message(),
        span: e.span.clone(),
        help: Some(e.help()),
    })?;
    let words = &lexed.words;
    let parsed = shellwords::parse_flags(words, RUN_FLAGS, false);
    if let Some(e) = parsed.errors.first() {
        let kind = match e.kind {
            shellwords::FlagErrorKind::MissingValue { .. } => CmdErrorKind::MissingValue,
            shellwords::FlagErrorKind::InvalidBool { .. } => CmdErrorKind::InvalidValue,
            _ => CmdErrorKind::UnknownFlag,
        };
        let message = match kind {
            CmdErrorKind::UnknownFlag => format!("{} for `docker run`", e.message()),
            _ => e.message(),
        };
        let help = e.help().or_else(|| {
            (kind == CmdErrorKind::UnknownFlag).then(|| {
                "leading flags in `cmd` are `docker run` flags; flags for the container's command go after the image".to_string()
            })
        });
        return Err(CmdError {
            kind,
            message,
            span: e.span.clone(),
            help,
        });
    }

    let mut run = RunFlags::default();
    for item in &parsed.items {
        if let FlagItem::Flag(flag) = item {
            apply(&mut run, flag)?;
        }
    }

    let Some(image) = words.get(parsed.rest) else {
        return Err(missing_image(line, &lexed.constructs, words.last()));
    };
    if image.text.is_empty() {
        return Err(CmdError {
            kind: CmdErrorKind::EmptyImage,
            message: "the image name is empty".to_string(),
            span: image.span.clone(),
            help: Some(
                "a template value may have rendered empty; the first word after the flags must be the image".to_string(),
            ),
        });
    }
    let args = words
        .iter()
        .skip(parsed.rest + 1)
        .map(|w| w.text.clone())
        .collect();
    Ok(ParsedCmd {
        cmd: CmdLine {
            run,
            image: image.text.clone(),
            image_span: image.span.clone(),
            args,
        },
        constructs: lexed.constructs,
    })
}

/// Every bad flag value and refused flag of a `cmd` line (where [`parse_cmd`] stops at the
/// first), in order, so that `validate` reports them all at once. Empty when the line does not
/// lex or has an unknown flag (those are [`parse_cmd`]'s single error).
pub fn flag_value_errors(line: &str) -> Vec<CmdError> {
    let Ok(lexed) = shellwords::lex(line) else {
        return Vec::new();
    };
    let parsed = shellwords::parse_flags(&lexed.words, RUN_FLAGS, false);
    if !parsed.errors.is_empty() {
        return Vec::new();
    }
    let mut run = RunFlags::default();
    parsed
        .items
        .iter()
        .filter_map(|item| match item {
            FlagItem::Flag(flag) => apply(&mut run, flag).err(),
            _ => None,
        })
        .collect()
}

fn missing_image(
    line: &str,
    constructs: &[ShellConstruct],
    last: Option<&shellwords::Word>,
) -> CmdError {
    if let Some(sep) = constructs.iter().find(|c| c.kind.is_separator()) {
        return CmdError {
            kind: CmdErrorKind::MissingImage,
            message: format!(
                "`cmd` has no image: acb's host shell ends the `docker run` command at the {} before any image",
                sep.kind.name()
            ),
            span: sep.span.clone(),
            help: Some(sep.help()),
        };
    }
    let span = match last {
        Some(w) => w.span.clone(),
        None => 0..line.len(),
    };
    CmdError {
        kind: CmdErrorKind::MissingImage,
        message: "`cmd` has no image".to_string(),
        span,
        help: Some(
            "write the image after any `docker run` flags, e.g. `cmd: -e X=1 alpine echo hi`; a template value may have rendered empty".to_string(),
        ),
    }
}

/// A value error of `flag`, pointing at the flag and its value.
fn invalid(flag: &FlagUse<'_>, why: String) -> CmdError {
    CmdError {
        kind: CmdErrorKind::InvalidValue,
        message: format!("`{}`: {why}", flag.written),
        span: flag.span.clone(),
        help: Some(format!(
            "write the value as `docker run {}` takes it; `docs/compat.md` lists the forms",
            flag.written
        )),
    }
}

/// The typed value of `flag`, parsed by `parse`.
fn typed<T, E: Into<String>>(
    flag: &FlagUse<'_>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, CmdError> {
    parse(flag.value.as_deref().unwrap_or_default()).map_err(|why| invalid(flag, why.into()))
}

/// Record one flag into `run`.
fn apply(run: &mut RunFlags, flag: &FlagUse<'_>) -> Result<(), CmdError> {
    let value = || flag.value.clone().unwrap_or_default();
    match flag.spec.canonical {
        "env" => run.env.push(value()),
        "detach" => run.detach = flag.enabled(),
        "publish" => run
            .publish
            .extend(typed(flag, super::ports::parse_publish)?),
        "volume" => run.volumes.push(value()),
        "name" => run.name = Some(value()),
        "tty" => run.tty = flag.enabled(),
        "interactive" => run.interactive = flag.enabled(),
        "rm" => run.rm = Some(flag.enabled()),
        "entrypoint" => run.entrypoint = Some(value()),
        "workdir" => run.workdir = Some(value()),
        "user" => run.user = Some(value()),
        "network" => run.network = Some(value()),
        "privileged" => run.privileged = flag.enabled(),
        "expose" => run.expose.extend(typed(flag, super::ports::parse_expose)?),
        "add-host" => run.add_hosts.push(value()),
        "cpus" => run.cpus = Some(typed(flag, opts::parse_cpus)?),
        "memory" => run.memory = Some(typed(flag, opts::parse_size)?),
        "platform" => run.platform = Some(value()),
        "pull" => {
            let v = value();
            if !matches!(v.as_str(), "always" | "missing" | "never") {
                return Err(CmdError {
                    kind: CmdErrorKind::InvalidValue,
                    message: format!(
                        "`{}` takes `always`, `missing` or `never`, not `{v}`",
                        flag.written
                    ),
                    span: flag.span.clone(),
                    help: Some(
                        "to pull before the step, you can also set the step's `pull: true`"
                            .to_string(),
                    ),
                });
            }
            run.pull = Some(v);
        }
        "init" => run.init = flag.enabled(),
        "label" => run.labels.push(value()),
        "hostname" => run.hostname = Some(value()),
        "cap-add" => run.cap_add.push(value()),
        "cap-drop" => run.cap_drop.push(value()),
        "security-opt" => run.security_opts.push(value()),
        "env-file" | "label-file" | "cidfile" => {
            let help = match flag.spec.canonical {
                "env-file" => {
                    "set the variables with the step's `env:` or with `-e NAME=value` in `cmd`"
                }
                "label-file" => "write each label with `--label key=value`",
                _ => "write the container id from inside the container instead, or drop the flag",
            };
            return Err(CmdError {
                kind: CmdErrorKind::Unsupported,
                message: format!(
                    "`{}` is not supported: on ACR it uses a file on the build agent (acb's own working directory), not in your source or `/workspace`",
                    flag.written
                ),
                span: flag.span.clone(),
                help: Some(help.to_string()),
            });
        }
        "attach" => {
            typed(flag, |v| {
                opts::parse_mode(v, &["stdin", "stdout", "stderr"], false)
            })?;
            run.other.push(("--attach".to_owned(), flag.value.clone()));
        }
        "detach-keys" | "sig-proxy" | "quiet" | "disable-content-trust" | "use-api-socket" => {
            run.other
                .push((format!("--{}", flag.spec.canonical), flag.value.clone()));
        }
        _ => apply_option(&mut run.options, flag)?,
    }
    Ok(())
}

/// Record one engine-option flag into `o`, its value parsed into a typed value.
fn apply_option(o: &mut ContainerOptions, flag: &FlagUse<'_>) -> Result<(), CmdError> {
    fn ip<T: std::str::FromStr>(what: &'static str) -> impl Fn(&str) -> Result<String, String> {
        move |v: &str| {
            v.parse::<T>()
                .map(|_| v.to_owned())
                .map_err(|_| format!("`{v}` is not an {what}"))
        }
    }
    fn health(o: &mut ContainerOptions) -> &mut Health {
        o.health.get_or_insert_with(Health::default)
    }
    let raw = flag.value.clone().unwrap_or_default();
    match flag.spec.canonical {
        "mount" => o.mounts.push(typed(flag, opts::parse_mount)?),
        "tmpfs" => {
            let (k, v) = typed(flag, opts::parse_tmpfs)?;
            o.tmpfs.insert(k, v);
        }
        "read-only" => o.read_only = flag.enabled(),
        "shm-size" => o.shm_size = Some(typed(flag, opts::parse_size)?),
        "ulimit" => o.ulimits.push(typed(flag, opts::parse_ulimit)?),
        "ipc" => {
            o.ipc = Some(typed(flag, |v| {
                opts::parse_mode(v, &["", "none", "private", "shareable", "host"], true)
            })?);
        }
        "pid" => o.pid = Some(typed(flag, |v| opts::parse_mode(v, &["", "host"], true))?),
        "uts" => o.uts = Some(typed(flag, |v| opts::parse_mode(v, &["", "host"], false))?),
        "userns" => o.userns = Some(typed(flag, |v| opts::parse_mode(v, &["", "host"], false))?),
        "cgroupns" => {
            o.cgroupns = Some(typed(flag, |v| {
                opts::parse_mode(v, &["host", "private"], false)
            })?);
        }
        "cgroup-parent" => o.cgroup_parent = Some(raw),
        "runtime" => o.runtime = Some(raw),
        "isolation" => {
            o.isolation = Some(typed(flag, |v| {
                opts::parse_mode(v, &["", "default", "process", "hyperv"], false)
            })?);
        }
        "publish-all" => o.publish_all = flag.enabled(),
        "memory-swap" => {
            o.memory_swap = Some(typed(flag, opts::parse_size_or_unlimited)?);
        }
        "memory-reservation" => o.memory_reservation = Some(typed(flag, opts::parse_size)?),
        "memory-swappiness" => {
            let n = typed(flag, opts::parse_int)?;
            if !(-1..=100).contains(&n) {
                return Err(invalid(
                    flag,
                    format!("`{n}` is not between 0 and 100 (or -1)"),
                ));
            }
            o.memory_swappiness = Some(n);
        }
        "kernel-memory" => o.kernel_memory = Some(typed(flag, opts::parse_size)?),
        "oom-kill-disable" => o.oom_kill_disable = flag.enabled(),
        "oom-score-adj" => {
            let n = typed(flag, opts::parse_int)?;
            if !(-1000..=1000).contains(&n) {
                return Err(invalid(
                    flag,
                    format!("`{n}` is not between -1000 and 1000"),
                ));
            }
            o.oom_score_adj = Some(n);
        }
        "cpu-shares" => o.cpu_shares = Some(typed(flag, opts::parse_int)?),
        "cpu-period" => o.cpu_period = Some(typed(flag, opts::parse_int)?),
        "cpu-quota" => o.cpu_quota = Some(typed(flag, opts::parse_int)?),
        "cpu-rt-period" => o.cpu_rt_period = Some(typed(flag, opts::parse_int)?),
        "cpu-rt-runtime" => o.cpu_rt_runtime = Some(typed(flag, opts::parse_int)?),
        "cpuset-cpus" => o.cpuset_cpus = Some(raw),
        "cpuset-mems" => o.cpuset_mems = Some(raw),
        "cpu-count" => o.cpu_count = Some(typed(flag, opts::parse_int)?),
        "cpu-percent" => o.cpu_percent = Some(typed(flag, opts::parse_int)?),
        "pids-limit" => o.pids_limit = Some(typed(flag, opts::parse_int)?),
        "blkio-weight" => o.blkio_weight = Some(typed(flag, opts::parse_weight)?),
        "blkio-weight-device" => o
            .blkio_weight_device
            .push(typed(flag, opts::parse_weight_device)?),
        "device-read-bps" => o
            .device_read_bps
            .push(typed(flag, |v| opts::parse_throttle(v, true))?),
        "device-write-bps" => o
            .device_write_bps
            .push(typed(flag, |v| opts::parse_throttle(v, true))?),
        "device-read-iops" => o
            .device_read_iops
            .push(typed(flag, |v| opts::parse_throttle(v, false))?),
        "device-write-iops" => o
            .device_write_iops
            .push(typed(flag, |v| opts::parse_throttle(v, false))?),
        "io-maxbandwidth" => o.io_max_bandwidth = Some(typed(flag, opts::parse_size)?),
        "io-maxiops" => o.io_max_iops = Some(typed(flag, opts::parse_int)?),
        "device" => o.devices.push(typed(flag, opts::parse_device)?),
        "device-cgroup-rule" => o.device_cgroup_rules.push(raw),
        "gpus" => o.gpus = Some(typed(flag, opts::parse_gpus)?),
        "dns" => o
            .dns
            .push(typed(flag, ip::<std::net::IpAddr>("IP address"))?),
        "dns-search" => o.dns_search.push(raw),
        "dns-option" => o.dns_options.push(raw),
        "link" => o.links.push(raw),
        "ip" => o.ip = Some(typed(flag, ip::<std::net::Ipv4Addr>("IPv4 address"))?),
        "ip6" => o.ip6 = Some(typed(flag, ip::<std::net::Ipv6Addr>("IPv6 address"))?),
        "link-local-ip" => o
            .link_local_ips
            .push(typed(flag, ip::<std::net::IpAddr>("IP address"))?),
        "mac-address" => {
            o.mac_address = Some(typed(flag, |v| {
                let bytes: Vec<&str> = v.split(':').collect();
                if bytes.len() == 6
                    && bytes
                        .iter()
                        .all(|b| b.len() == 2 && u8::from_str_radix(b, 16).is_ok())
                {
                    Ok(v.to_owned())
                } else {
                    Err(format!("`{v}` is not a MAC address"))
                }
            })?);
        }
        "network-alias" => o.network_aliases.push(raw),
        "domainname" => o.domainname = Some(raw),
        "group-add" => o.group_add.push(raw),
        "sysctl" => {
            let (k, v) = typed(flag, opts::parse_key_value)?;
            o.sysctls.insert(k, v);
        }
        "storage-opt" => {
            let (k, v) = typed(flag, opts::parse_key_value)?;
            o.storage_opts.insert(k, v);
        }
        "volumes-from" => o.volumes_from.push(raw),
        "volume-driver" => o.volume_driver = Some(raw),
        "stop-signal" => o.stop_signal = Some(raw),
        "stop-timeout" => o.stop_timeout = Some(typed(flag, opts::parse_int)?),
        "restart" => o.restart = Some(typed(flag, opts::parse_restart)?),
        "no-healthcheck" => health(o).disabled = flag.enabled(),
        "health-cmd" => health(o).cmd = Some(raw),
        "health-interval" => health(o).interval = Some(typed(flag, opts::parse_duration)?),
        "health-timeout" => health(o).timeout = Some(typed(flag, opts::parse_duration)?),
        "health-start-period" => {
            health(o).start_period = Some(typed(flag, opts::parse_duration)?);
        }
        "health-start-interval" => {
            health(o).start_interval = Some(typed(flag, opts::parse_duration)?);
        }
        "health-retries" => health(o).retries = Some(typed(flag, opts::parse_int)?),
        "log-driver" => o.log_driver = Some(raw),
        "log-opt" => {
            let (k, v) = typed(flag, opts::parse_key_value)?;
            o.log_opts.insert(k, v);
        }
        "annotation" => {
            let (k, v) = typed(flag, opts::parse_key_value)?;
            o.annotations.insert(k, v);
        }
        other => {
            // RUN_FLAGS and this match list the same flags; a flag missing here is a bug
            // caught by `every_flag_is_handled`, never a panic on input.
            return Err(invalid(
                flag,
                format!("`--{other}` is not handled by taskrun"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> ParsedCmd {
        match parse_cmd(line) {
            Ok(p) => p,
            Err(e) => panic!("{line:?}: {e:?}"),
        }
    }

    fn err(line: &str) -> CmdError {
        match parse_cmd(line) {
            Ok(p) => panic!("{line:?} parsed: {p:?}"),
            Err(e) => e,
        }
    }

    fn kinds(p: &ParsedCmd) -> Vec<ConstructKind> {
        p.constructs.iter().map(|c| c.kind).collect()
    }

    fn clean(line: &str) -> ParsedCmd {
        let p = ok(line);
        assert!(p.constructs.is_empty(), "{line:?}: {:?}", p.constructs);
        p
    }

    #[test]
    fn image_only() {
        let p = clean("hello-world");
        assert_eq!(p.cmd.image, "hello-world");
        assert_eq!(p.cmd.image_span, 0..11);
        assert!(p.cmd.args.is_empty());
        assert_eq!(p.cmd.run, RunFlags::default());
    }

    #[test]
    fn image_and_args() {
        let p = clean("mcr.microsoft.com/hello-world:latest echo  hi\tthere");
        assert_eq!(p.cmd.image, "mcr.microsoft.com/hello-world:latest");
        assert_eq!(p.cmd.args, ["echo", "hi", "there"]);
    }

    #[test]
    fn single_quoted_script_is_clean() {
        let p = clean("bash -c 'echo $(date) >> hello.txt'");
        assert_eq!(p.cmd.image, "bash");
        assert_eq!(p.cmd.args, ["-c", "echo $(date) >> hello.txt"]);
    }

    #[test]
    fn double_quoted_variable_is_reported() {
        let p = ok(r#"sh -c "echo $HOME""#);
        assert_eq!(p.cmd.args, ["-c", "echo $HOME"]);
        assert_eq!(kinds(&p), [ConstructKind::Variable]);
        let c = &p.constructs[0];
        assert_eq!(c.text, "$HOME");
        assert_eq!(&r#"sh -c "echo $HOME""#[c.span.clone()], "$HOME");
        assert!(c.message().contains("$HOME"));
        assert!(c.help().contains("sh -c 'echo $HOME'"));
        assert!(!c.kind.emulated());
        assert_eq!(p.refused().count(), 1);
    }

    #[test]
    fn quoted_operators_are_clean() {
        let p = clean("alpine sh -c 'a && b' \"x|y\" '$HOME' \"a;b\" 'x > y' \\& \\| \"(\" '*'");
        assert_eq!(
            p.cmd.args,
            [
                "sh", "-c", "a && b", "x|y", "$HOME", "a;b", "x > y", "&", "|", "(", "*"
            ]
        );
    }

    #[test]
    fn every_operator_is_reported() {
        let cases: &[(&str, ConstructKind, &str)] = &[
            ("alpine a && b", ConstructKind::And, "&&"),
            ("alpine a || b", ConstructKind::Or, "||"),
            ("alpine a ; b", ConstructKind::Semicolon, ";"),
            ("alpine a;b", ConstructKind::Semicolon, ";"),
            ("alpine a | b", ConstructKind::Pipe, "|"),
            ("alpine a & b", ConstructKind::Background, "&"),
            ("alpine a > f", ConstructKind::RedirectOut, ">"),
            ("alpine a>f", ConstructKind::RedirectOut, ">"),
            ("alpine a >> f", ConstructKind::RedirectAppend, ">>"),
            ("alpine a < f", ConstructKind::RedirectIn, "<"),
            ("alpine a 2> f", ConstructKind::RedirectOut, "2>"),
            ("alpine a 2>&1", ConstructKind::RedirectFd, "2>&"),
            ("alpine a <<EOF", ConstructKind::Heredoc, "<<"),
            (
                "alpine echo $(date)",
                ConstructKind::CommandSubstitution,
                "$(date)",
            ),
            ("alpine echo `date`", ConstructKind::Backtick, "`date`"),
            (
                "alpine echo $((1+2))",
                ConstructKind::Arithmetic,
                "$((1+2))",
            ),
            ("alpine echo $VAR", ConstructKind::Variable, "$VAR"),
            (
                "alpine echo ${VAR:-x}",
                ConstructKind::Variable,
                "${VAR:-x}",
            ),
            ("alpine echo $1", ConstructKind::Variable, "$1"),
            ("alpine echo $?", ConstructKind::Variable, "$?"),
            (
                "alpine echo \"$(id -u)\"",
                ConstructKind::CommandSubstitution,
                "$(id -u)",
            ),
            ("alpine echo \"`id`\"", ConstructKind::Backtick, "`id`"),
            ("alpine echo \"${X}\"", ConstructKind::Variable, "${X}"),
            ("alpine ls ~/x", ConstructKind::Tilde, "~"),
            ("alpine ls ~", ConstructKind::Tilde, "~"),
            ("alpine ls ~root/x", ConstructKind::Tilde, "~root"),
            ("alpine ls *.txt", ConstructKind::Glob, "*.txt"),
            ("alpine ls a?c", ConstructKind::Glob, "a?c"),
            ("alpine ls [ab]c", ConstructKind::Glob, "[ab]c"),
            ("alpine echo hi # note", ConstructKind::Comment, "# note"),
            ("alpine echo (x)", ConstructKind::Subshell, "("),
            ("alpine echo $'a'", ConstructKind::DollarQuote, "$'"),
        ];
        for (line, kind, text) in cases {
            let p = ok(line);
            let c = p
                .constructs
                .iter()
                .find(|c| c.kind == *kind)
                .unwrap_or_else(|| panic!("{line:?}: {:?}", p.constructs));
            assert_eq!(c.text, *text, "{line:?}");
            assert_eq!(&line[c.span.clone()], *text, "{line:?}");
            assert!(!c.message().is_empty() && !c.help().is_empty());
        }
    }

    #[test]
    fn words_after_separator_are_not_args() {
        let p = ok("alpine echo a && echo b");
        assert_eq!(p.cmd.args, ["echo", "a"]);
        let p = ok("alpine echo a > out.txt b");
        assert_eq!(p.cmd.args, ["echo", "a", "b"]);
        let p = ok("alpine echo a 2>&1 | tee log");
        assert_eq!(p.cmd.args, ["echo", "a"]);
        assert_eq!(kinds(&p), [ConstructKind::RedirectFd, ConstructKind::Pipe]);
    }

    #[test]
    fn io_number_needs_adjacency() {
        let p = ok("alpine echo 2 > f");
        assert_eq!(p.cmd.args, ["echo", "2"]);
        assert_eq!(p.constructs[0].text, ">");
        let p = ok("alpine echo '2'> f");
        assert_eq!(p.cmd.args, ["echo", "2"]);
        assert_eq!(p.constructs[0].text, ">");
    }

    #[test]
    fn literal_dollar_is_clean() {
        let p = clean("alpine echo $ a$ $/ 5$");
        assert_eq!(p.cmd.args, ["echo", "$", "a$", "$/", "5$"]);
    }

    #[test]
    fn newline_separates_commands() {
        let line = "alpine echo a\nalpine echo b\n";
        let p = ok(line);
        assert_eq!(p.cmd.args, ["echo", "a"]);
        assert_eq!(kinds(&p), [ConstructKind::Newline]);
        assert_eq!(p.constructs[0].span, 13..14);
        assert!(p.constructs[0].message().contains("line break"));
    }

    #[test]
    fn trailing_newlines_and_comment_lines_are_harmless() {
        let p = clean("alpine echo a\n\n");
        assert_eq!(p.cmd.args, ["echo", "a"]);
        let p = ok("alpine echo a\n# trailing comment\n");
        assert_eq!(kinds(&p), [ConstructKind::Comment]);
        assert_eq!(p.refused().count(), 0);
    }

    #[test]
    fn line_continuation_joins() {
        let p = clean("alpine echo a \\\n  b c\\\nd");
        assert_eq!(p.cmd.args, ["echo", "a", "b", "cd"]);
    }

    #[test]
    fn newline_after_and_is_not_extra() {
        let p = ok("alpine a &&\n b");
        assert_eq!(kinds(&p), [ConstructKind::And]);
    }

    #[test]
    fn quoted_newline_is_part_of_word() {
        let p = clean("alpine sh -c 'echo a\necho b'");
        assert_eq!(p.cmd.args, ["sh", "-c", "echo a\necho b"]);
    }

    #[test]
    fn quoting_rules() {
        let p = clean(r#"alpine 'a b' "c d" e\ f "x"'y'z '' "" a''b "\$\`\"\\\a" '\n'"#);
        assert_eq!(
            p.cmd.args,
            ["a b", "c d", "e f", "xyz", "", "", "ab", "$`\"\\\\a", "\\n"]
        );
    }

    #[test]
    fn empty_word_spans() {
        let p = clean("alpine ''");
        assert_eq!(p.cmd.args, [""]);
    }

    #[test]
    fn hash_inside_word_is_not_comment() {
        let p = clean("alpine echo a#b '#c' \\#d");
        assert_eq!(p.cmd.args, ["echo", "a#b", "#c", "#d"]);
    }

    #[test]
    fn comment_drops_rest_of_line() {
        let p = ok("alpine echo hi #there && more");
        assert_eq!(p.cmd.args, ["echo", "hi"]);
        assert_eq!(kinds(&p), [ConstructKind::Comment]);
    }

    #[test]
    fn glob_is_emulated_and_kept_literal() {
        let p = ok("alpine ls *.txt");
        assert_eq!(p.cmd.args, ["ls", "*.txt"]);
        assert!(p.constructs[0].kind.emulated());
        assert_eq!(p.refused().count(), 0);
        // `[` alone is no glob.
        clean("alpine echo [ a");
    }

    #[test]
    fn leading_flags_both_forms() {
        let p = clean(
            "-e X=1 --env=Y=2 --rm -p 8080:80 --publish=9090:90 -v a:/b --volume=c:/d --name n --workdir=/w -u 1000 --network host --privileged --expose 80 --add-host h:1.2.3.4 --cpus 2 -m 1g --platform linux/amd64 --pull always --init -l a=b --label=c=d -h hn --ipc host --shm-size 1g --ulimit nofile=1024 --cap-add NET_ADMIN --cap-drop ALL --security-opt seccomp=unconfined --mount type=volume,src=v,dst=/v --entrypoint sh --isolation process myimage arg --rm",
        );
        let r = &p.cmd.run;
        assert_eq!(r.env, ["X=1", "Y=2"]);
        assert_eq!(r.rm, Some(true));
        let shown: Vec<String> = r.publish.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["8080:80/tcp", "9090:90/tcp"]);
        assert_eq!(r.volumes, ["a:/b", "c:/d"]);
        assert_eq!(r.name.as_deref(), Some("n"));
        assert_eq!(r.workdir.as_deref(), Some("/w"));
        assert_eq!(r.user.as_deref(), Some("1000"));
        assert_eq!(r.network.as_deref(), Some("host"));
        assert!(r.privileged);
        assert_eq!(r.expose, ["80/tcp"]);
        assert_eq!(r.add_hosts, ["h:1.2.3.4"]);
        assert_eq!(r.cpus, Some(2_000_000_000));
        assert_eq!(r.memory, Some(1 << 30));
        assert_eq!(r.platform.as_deref(), Some("linux/amd64"));
        assert_eq!(r.pull.as_deref(), Some("always"));
        assert!(r.init);
        assert_eq!(r.labels, ["a=b", "c=d"]);
        assert_eq!(r.hostname.as_deref(), Some("hn"));
        assert_eq!(r.options.ipc.as_deref(), Some("host"));
        assert_eq!(r.options.shm_size, Some(1 << 30));
        assert_eq!(r.options.ulimits[0].name, "nofile");
        assert_eq!(r.options.ulimits[0].hard, 1024);
        assert_eq!(r.cap_add, ["NET_ADMIN"]);
        assert_eq!(r.cap_drop, ["ALL"]);
        assert_eq!(r.security_opts, ["seccomp=unconfined"]);
        assert_eq!(r.options.mounts[0].source.as_deref(), Some("v"));
        assert_eq!(r.options.mounts[0].target, "/v");
        assert_eq!(r.entrypoint.as_deref(), Some("sh"));
        assert_eq!(r.options.isolation.as_deref(), Some("process"));
        assert_eq!(p.cmd.image, "myimage");
        assert_eq!(p.cmd.args, ["arg", "--rm"]);
    }

    #[test]
    fn combined_short_bools() {
        let p = clean("-it alpine sh");
        assert!(p.cmd.run.tty && p.cmd.run.interactive && !p.cmd.run.detach);
        let p = clean("-dt alpine");
        assert!(p.cmd.run.tty && p.cmd.run.detach);
        let p = clean("-itp 80:80 alpine");
        assert!(p.cmd.run.tty && p.cmd.run.interactive);
        assert_eq!(p.cmd.run.publish[0].to_string(), "80:80/tcp");
        let p = clean("-ite X=1 alpine");
        assert_eq!(p.cmd.run.env, ["X=1"]);
    }

    #[test]
    fn attached_short_values() {
        let p = clean("-eX=1 -e=Y=2 -p80:80 -wdir alpine");
        assert_eq!(p.cmd.run.env, ["X=1", "Y=2"]);
        assert_eq!(p.cmd.run.publish[0].to_string(), "80:80/tcp");
        assert_eq!(p.cmd.run.workdir.as_deref(), Some("dir"));
    }

    #[test]
    fn bool_values() {
        let p = clean("--rm=false -d=false --privileged=true --init=1 alpine");
        assert_eq!(p.cmd.run.rm, Some(false));
        assert!(!p.cmd.run.detach);
        assert!(p.cmd.run.privileged && p.cmd.run.init);
        let e = err("--rm=maybe alpine");
        assert_eq!(e.kind, CmdErrorKind::InvalidValue);
        assert_eq!(e.span, 0..10);
        assert!(e.message.contains("--rm"));
    }

    #[test]
    fn bool_flag_does_not_take_next_word() {
        let p = clean("--rm false");
        assert_eq!(p.cmd.image, "false");
    }

    #[test]
    fn value_flag_takes_next_word_even_if_dashed() {
        let p = clean("--entrypoint --weird alpine");
        assert_eq!(p.cmd.run.entrypoint.as_deref(), Some("--weird"));
        assert_eq!(p.cmd.image, "alpine");
    }

    #[test]
    fn quoted_flag_values() {
        let p = clean(r#"-e "MSG=hello world" --env='A=b c' alpine"#);
        assert_eq!(p.cmd.run.env, ["MSG=hello world", "A=b c"]);
    }

    #[test]
    fn net_alias_and_other_flags() {
        let p = clean(
            "--net=bridge --gpus all --read-only --dns 1.1.1.1 -a stdout --sig-proxy=false alpine",
        );
        assert_eq!(p.cmd.run.network.as_deref(), Some("bridge"));
        let o = &p.cmd.run.options;
        assert_eq!(o.gpus.as_ref().and_then(|g| g.count), Some(-1));
        assert!(o.read_only);
        assert_eq!(o.dns, ["1.1.1.1"]);
        assert_eq!(
            p.cmd.run.other,
            [
                ("--attach".to_string(), Some("stdout".to_string())),
                ("--sig-proxy".to_string(), Some("false".to_string())),
            ]
        );
    }

    #[test]
    fn every_flag_is_handled() {
        // A valid value for each value flag; every `docker run` flag parses into something.
        let sample = |name: &str| match name {
            "mount" => "type=tmpfs,dst=/t",
            "ulimit" => "nofile=1:2",
            "ipc" | "cgroupns" => "private",
            "pid" | "uts" | "userns" => "host",
            "isolation" => "default",
            "attach" => "stdout",
            "pull" => "never",
            "restart" => "always",
            "device" => "/dev/null",
            "gpus" => "all",
            "dns" | "ip" | "link-local-ip" => "10.0.0.1",
            "ip6" => "::1",
            "mac-address" => "02:42:ac:11:00:02",
            "tmpfs" => "/run",
            "blkio-weight" => "100",
            "blkio-weight-device" | "device-read-iops" | "device-write-iops" => "/dev/sda:100",
            "device-read-bps" | "device-write-bps" => "/dev/sda:1mb",
            "health-interval"
            | "health-timeout"
            | "health-start-period"
            | "health-start-interval" => "5s",
            "sysctl" | "storage-opt" | "log-opt" | "annotation" | "label" | "env" => "a=b",
            "cpus" => "0.5",
            "memory" | "shm-size" | "memory-reservation" | "kernel-memory" | "memory-swap"
            | "io-maxbandwidth" => "64m",
            _ => "1",
        };
        for spec in RUN_FLAGS {
            let line = match spec.kind {
                shellwords::FlagKind::Value => {
                    format!("--{} {} alpine", spec.long, sample(spec.canonical))
                }
                _ => format!("--{} alpine", spec.long),
            };
            match parse_cmd(&line) {
                Ok(p) => assert_eq!(p.cmd.image, "alpine", "{line}"),
                Err(e) => assert!(
                    matches!(spec.canonical, "env-file" | "label-file" | "cidfile"),
                    "{line}: {e:?}"
                ),
            }
        }
    }

    #[test]
    fn typed_values() {
        let p = clean(
            "--shm-size 64m --ulimit nofile=512:512 --mount type=tmpfs,dst=/t --ipc private --cpus 0.5 --memory 64m -P --restart on-failure:2 --health-cmd 'true' --health-interval 1m --sysctl net.core.somaxconn=1024 --tmpfs /run:size=1m busybox",
        );
        let r = &p.cmd.run;
        assert_eq!(r.cpus, Some(500_000_000));
        assert_eq!(r.memory, Some(64 << 20));
        let o = &r.options;
        assert_eq!(o.shm_size, Some(64 << 20));
        assert_eq!((o.ulimits[0].soft, o.ulimits[0].hard), (512, 512));
        assert_eq!(o.mounts[0].kind, crate::model::runopts::MountKind::Tmpfs);
        assert_eq!(o.ipc.as_deref(), Some("private"));
        assert!(o.publish_all);
        assert_eq!(
            o.restart,
            Some(crate::model::runopts::Restart::OnFailure(Some(2)))
        );
        let h = o.health.as_ref().unwrap();
        assert_eq!(h.cmd.as_deref(), Some("true"));
        assert_eq!(h.interval, Some(60_000_000_000));
        assert_eq!(o.sysctls["net.core.somaxconn"], "1024");
        assert_eq!(o.tmpfs["/run"], "size=1m");
    }

    #[test]
    fn every_bad_value_is_found() {
        let errors =
            flag_value_errors("--shm-size lots -e A=1 --ulimit nofile=x --env-file f alpine");
        let spans: Vec<_> = errors.iter().map(|e| e.span.clone()).collect();
        assert_eq!(spans, [0..15, 23..40, 41..53]);
        assert_eq!(errors[2].kind, CmdErrorKind::Unsupported);
        assert!(flag_value_errors("--shm-size 1g alpine").is_empty());
        assert!(flag_value_errors("--bogus alpine").is_empty());
    }

    #[test]
    fn bad_values_point_at_the_flag() {
        for (line, span, needle) in [
            ("--shm-size lots alpine", 0..15, "not a size"),
            ("-e A=1 --ulimit nofile=x alpine", 7..24, "not a number"),
            ("--mount type=tmpfs alpine", 0..18, "no target"),
            ("--ipc bogus alpine", 0..11, "not one of"),
            ("--cpus two alpine", 0..10, "CPUs"),
            ("--memory=1q alpine", 0..11, "not a size"),
            ("--mount type=bind,dst=/x alpine", 0..24, "needs a source"),
            ("--restart sometimes alpine", 0..19, "restart policy"),
            ("--health-interval 5 alpine", 0..19, "duration"),
            ("--dns example.com alpine", 0..17, "IP address"),
            ("-a stdweird alpine", 0..11, "not one of"),
        ] {
            let e = err(line);
            assert_eq!(e.kind, CmdErrorKind::InvalidValue, "{line}");
            assert_eq!(e.span, span, "{line}");
            assert!(e.message.contains(needle), "{line}: {}", e.message);
            assert!(e.help.is_some());
        }
    }

    #[test]
    fn last_single_value_wins() {
        let p = clean("--name a --name b alpine");
        assert_eq!(p.cmd.run.name.as_deref(), Some("b"));
    }

    #[test]
    fn double_dash_ends_flags() {
        let p = clean("--rm -- -weird-image x");
        assert_eq!(p.cmd.image, "-weird-image");
        assert_eq!(p.cmd.args, ["x"]);
    }

    #[test]
    fn unknown_long_flag() {
        let e = err("--rmm alpine");
        assert_eq!(e.kind, CmdErrorKind::UnknownFlag);
        assert!(e.message.contains("`--rmm`"), "{}", e.message);
        assert_eq!(e.help.as_deref(), Some("did you mean `--rm`?"));
        assert_eq!(e.span, 0..5);
        let e = err("--enviroment X=1 alpine");
        assert!(e.message.contains("--enviroment"));
        let e = err("--priv alpine");
        assert_eq!(e.help.as_deref(), Some("did you mean `--privileged`?"));
        let e = err("--frobnicate alpine");
        assert!(e.help.is_some());
    }

    #[test]
    fn unknown_short_flag() {
        let e = err("-itx alpine");
        assert_eq!(e.kind, CmdErrorKind::UnknownFlag);
        assert!(e.message.contains("`-x`") && e.message.contains("-itx"));
        let e = err("-rm alpine");
        assert_eq!(e.help.as_deref(), Some("did you mean `--rm`?"));
        let e = err("-name x alpine");
        assert_eq!(e.help.as_deref(), Some("did you mean `--name`?"));
    }

    #[test]
    fn missing_values() {
        let e = err("--name");
        assert_eq!(e.kind, CmdErrorKind::MissingValue);
        assert_eq!(e.span, 0..6);
        let e = err("--rm -e");
        assert_eq!(e.kind, CmdErrorKind::MissingValue);
        assert!(e.message.contains("`-e`"));
        assert_eq!(e.span, 5..7);
        let e = err("-it -p");
        assert_eq!(e.kind, CmdErrorKind::MissingValue);
    }

    #[test]
    fn missing_image() {
        assert_eq!(err("").kind, CmdErrorKind::MissingImage);
        assert_eq!(err("   ").kind, CmdErrorKind::MissingImage);
        let e = err("-e X=1 --rm");
        assert_eq!(e.kind, CmdErrorKind::MissingImage);
        assert_eq!(e.span, 7..11);
        let e = err("--rm && alpine");
        assert_eq!(e.kind, CmdErrorKind::MissingImage);
        assert_eq!(e.span, 5..7);
        let e = err("\nalpine echo");
        assert_eq!(e.kind, CmdErrorKind::MissingImage);
        assert_eq!(e.span, 0..1);
        assert_eq!(err("# only a comment").kind, CmdErrorKind::MissingImage);
    }

    #[test]
    fn empty_image() {
        let e = err("--rm '' echo");
        assert_eq!(e.kind, CmdErrorKind::EmptyImage);
        assert_eq!(e.span, 5..7);
    }

    #[test]
    fn pull_value_checked() {
        let e = err("--pull sometimes alpine");
        assert_eq!(e.kind, CmdErrorKind::InvalidValue);
        assert_eq!(e.span, 0..16);
    }

    #[test]
    fn refused_file_flags() {
        for line in [
            "--env-file .env alpine",
            "--label-file l alpine",
            "--cidfile c alpine",
        ] {
            let e = err(line);
            assert_eq!(e.kind, CmdErrorKind::Unsupported, "{line}");
            assert!(e.help.is_some());
        }
    }

    #[test]
    fn unterminated_quotes() {
        for (line, start) in [
            ("alpine echo 'abc", 12),
            ("alpine echo \"abc", 12),
            ("alpine echo `abc", 12),
            ("alpine echo $(abc", 12),
            ("alpine echo ${abc", 12),
            ("alpine echo \"a\\\"", 12),
        ] {
            let e = err(line);
            assert_eq!(e.kind, CmdErrorKind::Syntax, "{line}");
            assert_eq!(e.span, start..line.len(), "{line}");
            assert!(e.help.is_some());
        }
    }

    #[test]
    fn nested_substitution_with_quotes() {
        let line = r#"alpine echo "$(echo ")")" done"#;
        let p = ok(line);
        assert_eq!(p.cmd.args, ["echo", r#"$(echo ")")"#, "done"]);
        assert_eq!(kinds(&p), [ConstructKind::CommandSubstitution]);
        assert_eq!(p.constructs[0].text, r#"$(echo ")")"#);
    }

    #[test]
    fn utf8_spans() {
        let line = "-e GRÜß=ü ñandú echo \"héllo wörld\" $ÜBER é&&x";
        let p = ok(line);
        assert_eq!(p.cmd.image, "ñandú");
        assert_eq!(&line[p.cmd.image_span.clone()], "ñandú");
        assert_eq!(p.cmd.run.env, ["GRÜß=ü"]);
        assert_eq!(p.cmd.args, ["echo", "héllo wörld", "$ÜBER", "é"]);
        // `$` followed by a non-ASCII letter is a literal `$`; `&&` is found after `é`.
        assert_eq!(kinds(&p), [ConstructKind::And]);
        let c = &p.constructs[0];
        assert_eq!(&line[c.span.clone()], "&&");
        let e = err("ñ 'ü");
        assert_eq!(e.span, 3..line_len("ñ 'ü"));
    }

    fn line_len(s: &str) -> usize {
        s.len()
    }

    #[test]
    fn trailing_backslash_is_literal() {
        let p = clean("alpine echo a\\");
        assert_eq!(p.cmd.args, ["echo", "a\\"]);
    }

    #[test]
    fn spans_of_constructs_in_order() {
        let line = "alpine echo $A \"$B\" && x | y";
        let p = ok(line);
        let texts: Vec<&str> = p.constructs.iter().map(|c| &line[c.span.clone()]).collect();
        assert_eq!(texts, ["$A", "$B", "&&", "|"]);
    }

    #[test]
    fn acr_samples() {
        // From Azure-Samples/acr-tasks and the acb reference.
        let p = clean("$Registry/hello-world:$ID".replace('$', "x").as_str());
        assert_eq!(p.cmd.image, "xRegistry/hello-world:xID");
        let p = clean(
            "mcr.microsoft.com/azure-cli az acr repository show-tags -n myreg --repository hello",
        );
        assert_eq!(p.cmd.args.len(), 8);
        let p = clean("-e X=1 --rm myimage");
        assert_eq!(p.cmd.image, "myimage");
        let p = clean("docker run --rm alpine");
        assert_eq!(p.cmd.image, "docker");
        assert_eq!(p.cmd.args, ["run", "--rm", "alpine"]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for line in [
            "\\",
            "'",
            "\"",
            "$",
            "${",
            "$(",
            "`",
            "$((",
            "$(()",
            "2>",
            ">",
            "&",
            "-",
            "--",
            "-=",
            "--=",
            "-e=",
            "--name=",
            "~",
            "#",
            "\n",
            "\\\n",
            "-\u{e9}",
            "--\u{e9}",
            "a\u{0}b",
            "$\u{e9}",
            "-\u{e9}=x",
            "$(')')",
            "$(\")\")",
            "${'}'}",
            "[",
            "]",
            "[]",
        ] {
            let _ = parse_cmd(line);
        }
    }

    #[test]
    fn odd_flag_forms() {
        let p = clean("--name= alpine");
        assert_eq!(p.cmd.run.name.as_deref(), Some(""));
        let p = clean("- x");
        assert_eq!(p.cmd.image, "-");
        let e = err("-\u{e9} alpine");
        assert_eq!(e.kind, CmdErrorKind::UnknownFlag);
    }
}
