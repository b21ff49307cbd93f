//! Typed values of the `docker run` flags of a `cmd` line that map onto the engine API's
//! container-create body: sizes, ulimits, `--mount` specs, devices, GPU requests, restart
//! policies, health checks, durations. Each is parsed here the way the docker CLI parses it, so
//! that `validate` reports a bad value with a span into the `cmd` string and `run` never fails on
//! a value string: the engine receives typed fields only.
//!
//! Decisions:
//! * Sizes follow docker's `units.RAMInBytes` (`512m`, `1g`, `1.5GiB`, `1024`: binary multiples);
//!   `--memory-swap -1` means unlimited.
//! * Durations (`--health-*`) follow Go's `time.ParseDuration` (`30s`, `1m30s`, `500ms`).
//! * Container references (`--ipc container:x`, `--volumes-from x`, `--link x`) are passed as
//!   written: taskrun names its containers uniquely per run, so they only reach containers by
//!   their engine names (not step ids).
//! * `--kernel-memory` is validated and ignored: the engine API dropped the field (API 1.42) and
//!   the kernel no longer supports it.
//! * `--isolation` is passed to the engine as ACR's agent passes it: a Linux engine accepts only
//!   `default`, as on ACR's Linux agents.

use crate::model::value::ValueError;
use std::collections::BTreeMap;

/// Engine options written as `docker run` flags in a `cmd` line, beyond the ones every step has
/// (env, mounts of the workspace, network, user, …). Carried unchanged from
/// [`crate::model::cmdline::RunFlags::options`] to [`crate::engine::ContainerSpec::options`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOptions {
    /// `--mount` entries (task volume names already mapped to the run's volumes by `run`).
    pub mounts: Vec<MountSpec>,
    /// `--tmpfs PATH[:OPTIONS]` entries: path → mount options (`""` when none).
    pub tmpfs: BTreeMap<String, String>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--shm-size`, bytes.
    pub shm_size: Option<i64>,
    /// `--ulimit` entries.
    pub ulimits: Vec<Ulimit>,
    /// `--ipc` mode (`none`, `private`, `shareable`, `host`, `container:NAME`).
    pub ipc: Option<String>,
    /// `--pid` mode (`host`, `container:NAME`).
    pub pid: Option<String>,
    /// `--uts` mode (`host`).
    pub uts: Option<String>,
    /// `--userns` mode (`host`).
    pub userns: Option<String>,
    /// `--cgroupns` (`host` or `private`).
    pub cgroupns: Option<String>,
    /// `--cgroup-parent`.
    pub cgroup_parent: Option<String>,
    /// `--runtime`.
    pub runtime: Option<String>,
    /// `--isolation` (`default`, `process`, `hyperv`).
    pub isolation: Option<String>,
    /// `-P`/`--publish-all`.
    pub publish_all: bool,
    /// `--memory-swap`, bytes (`-1`: unlimited).
    pub memory_swap: Option<i64>,
    /// `--memory-reservation`, bytes.
    pub memory_reservation: Option<i64>,
    /// `--memory-swappiness` (0–100, `-1`: the default).
    pub memory_swappiness: Option<i64>,
    /// `--kernel-memory`, bytes (validated, not sent: the engine API no longer has it).
    pub kernel_memory: Option<i64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
    /// `--oom-score-adj` (−1000–1000).
    pub oom_score_adj: Option<i64>,
    /// `-c`/`--cpu-shares`.
    pub cpu_shares: Option<i64>,
    /// `--cpu-period`, microseconds.
    pub cpu_period: Option<i64>,
    /// `--cpu-quota`, microseconds.
    pub cpu_quota: Option<i64>,
    /// `--cpu-rt-period`, microseconds.
    pub cpu_rt_period: Option<i64>,
    /// `--cpu-rt-runtime`, microseconds.
    pub cpu_rt_runtime: Option<i64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--cpu-count` (Windows engines).
    pub cpu_count: Option<i64>,
    /// `--cpu-percent` (Windows engines).
    pub cpu_percent: Option<i64>,
    /// `--pids-limit` (`-1`: unlimited).
    pub pids_limit: Option<i64>,
    /// `--blkio-weight` (10–1000).
    pub blkio_weight: Option<u16>,
    /// `--blkio-weight-device` entries.
    pub blkio_weight_device: Vec<(String, u16)>,
    /// `--device-read-bps` entries (bytes per second).
    pub device_read_bps: Vec<(String, i64)>,
    /// `--device-write-bps` entries (bytes per second).
    pub device_write_bps: Vec<(String, i64)>,
    /// `--device-read-iops` entries.
    pub device_read_iops: Vec<(String, i64)>,
    /// `--device-write-iops` entries.
    pub device_write_iops: Vec<(String, i64)>,
    /// `--io-maxbandwidth`, bytes per second (Windows engines).
    pub io_max_bandwidth: Option<i64>,
    /// `--io-maxiops` (Windows engines).
    pub io_max_iops: Option<i64>,
    /// `--device` entries.
    pub devices: Vec<Device>,
    /// `--device-cgroup-rule` entries.
    pub device_cgroup_rules: Vec<String>,
    /// `--gpus`.
    pub gpus: Option<GpuRequest>,
    /// `--dns` servers.
    pub dns: Vec<String>,
    /// `--dns-search` domains.
    pub dns_search: Vec<String>,
    /// `--dns-option` entries.
    pub dns_options: Vec<String>,
    /// `--link` entries (`NAME[:ALIAS]`).
    pub links: Vec<String>,
    /// `--ip`.
    pub ip: Option<String>,
    /// `--ip6`.
    pub ip6: Option<String>,
    /// `--link-local-ip` entries.
    pub link_local_ips: Vec<String>,
    /// `--mac-address`.
    pub mac_address: Option<String>,
    /// `--network-alias` entries.
    pub network_aliases: Vec<String>,
    /// `--domainname`.
    pub domainname: Option<String>,
    /// `--group-add` entries.
    pub group_add: Vec<String>,
    /// `--sysctl` entries.
    pub sysctls: BTreeMap<String, String>,
    /// `--storage-opt` entries.
    pub storage_opts: BTreeMap<String, String>,
    /// `--volumes-from` entries (`CONTAINER[:ro|rw]`).
    pub volumes_from: Vec<String>,
    /// `--volume-driver`.
    pub volume_driver: Option<String>,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `--stop-timeout`, seconds.
    pub stop_timeout: Option<i64>,
    /// `--restart`.
    pub restart: Option<Restart>,
    /// `--health-*` and `--no-healthcheck`.
    pub health: Option<Health>,
    /// `--log-driver`.
    pub log_driver: Option<String>,
    /// `--log-opt` entries.
    pub log_opts: BTreeMap<String, String>,
    /// `--annotation` entries.
    pub annotations: BTreeMap<String, String>,
}

/// One `--ulimit NAME=SOFT[:HARD]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// Resource name (`nofile`, `nproc`, …).
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit (the soft limit when not written).
    pub hard: i64,
}

/// The kind of a `--mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// `type=bind`: a host path.
    Bind,
    /// `type=volume` (the default): a named or anonymous volume.
    Volume,
    /// `type=tmpfs`: a memory file system.
    Tmpfs,
}

/// One `--mount` entry, parsed as the docker CLI parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// `type=`.
    pub kind: MountKind,
    /// `source=`/`src=` (none for tmpfs and anonymous volumes).
    pub source: Option<String>,
    /// `target=`/`destination=`/`dst=`.
    pub target: String,
    /// `readonly`/`ro`.
    pub read_only: bool,
    /// `consistency=`.
    pub consistency: Option<String>,
    /// `bind-propagation=`.
    pub bind_propagation: Option<String>,
    /// `bind-nonrecursive`, or `bind-recursive=disabled`.
    pub bind_nonrecursive: bool,
    /// `bind-recursive=writable`: submounts stay writable under a read-only mount.
    pub bind_readonly_nonrecursive: bool,
    /// `bind-recursive=readonly`: submounts are made read-only too.
    pub bind_readonly_force_recursive: bool,
    /// `volume-nocopy`.
    pub volume_nocopy: bool,
    /// `volume-label=K=V` entries.
    pub volume_labels: BTreeMap<String, String>,
    /// `volume-driver=`.
    pub volume_driver: Option<String>,
    /// `volume-opt=K=V` entries.
    pub volume_opts: BTreeMap<String, String>,
    /// `volume-subpath=`.
    pub volume_subpath: Option<String>,
    /// `tmpfs-size=`, bytes.
    pub tmpfs_size: Option<i64>,
    /// `tmpfs-mode=` (octal).
    pub tmpfs_mode: Option<i64>,
}

/// One `--device HOST[:CONTAINER[:PERMISSIONS]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Path on the host.
    pub host: String,
    /// Path in the container.
    pub container: String,
    /// cgroup permissions (`rwm`).
    pub permissions: String,
}

/// A `--gpus` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuRequest {
    /// `driver=`.
    pub driver: Option<String>,
    /// Number of GPUs (`-1`: all).
    pub count: Option<i64>,
    /// `device=` ids.
    pub device_ids: Vec<String>,
    /// `capabilities=` (always includes `gpu`).
    pub capabilities: Vec<String>,
    /// Other `key=value` options.
    pub options: BTreeMap<String, String>,
}

/// A `--restart` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// `no`.
    No,
    /// `always`.
    Always,
    /// `unless-stopped`.
    UnlessStopped,
    /// `on-failure[:MAX]`.
    OnFailure(Option<i64>),
}

/// A health check written with `--health-*`, or `--no-healthcheck` (`disabled`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// `--no-healthcheck`.
    pub disabled: bool,
    /// `--health-cmd` (run with the image's shell, `CMD-SHELL`).
    pub cmd: Option<String>,
    /// `--health-interval`, nanoseconds.
    pub interval: Option<i64>,
    /// `--health-timeout`, nanoseconds.
    pub timeout: Option<i64>,
    /// `--health-start-period`, nanoseconds.
    pub start_period: Option<i64>,
    /// `--health-start-interval`, nanoseconds.
    pub start_interval: Option<i64>,
    /// `--health-retries`.
    pub retries: Option<i64>,
}

/// docker's `units.RAMInBytes`: `1024`, `512m`, `1g`, `1.5GiB`, `100 kb` (binary multiples).
///
/// # Errors
///
/// The value is not a number with an optional `b`, `k`, `m`, `g`, `t` or `p` unit.
pub fn parse_size(text: &str) -> Result<i64, ValueError> {
    let bad = || format!("`{text}` is not a size (e.g. `512m`, `1g`, `1048576`)");
    let lower = text.to_ascii_lowercase();
    let t = lower.strip_suffix('b').unwrap_or(&lower);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        Some('p') => (&t[..t.len() - 1], 50),
        _ => (t, 0),
    };
    let num = num.strip_suffix(' ').unwrap_or(num);
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad().into());
    }
    let n: f64 = num.parse().map_err(|_| bad())?;
    let bytes = n * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(bad().into());
    }
    Ok(bytes as i64)
}

/// A size that may also be `-1` (unlimited), as `--memory-swap`.
///
/// # Errors
///
/// As [`parse_size`].
pub fn parse_size_or_unlimited(text: &str) -> Result<i64, ValueError> {
    if text == "-1" {
        Ok(-1)
    } else {
        parse_size(text)
    }
}

/// A decimal integer (`strconv.ParseInt`).
///
/// # Errors
///
/// The value is not a whole number.
pub fn parse_int(text: &str) -> Result<i64, ValueError> {
    text.parse::<i64>()
        .map_err(|_| ValueError(format!("`{text}` is not a whole number")))
}

/// `--cpus`: a decimal number of CPUs, as nano-CPUs.
///
/// # Errors
///
/// Not a non-negative decimal number.
pub fn parse_cpus(text: &str) -> Result<i64, ValueError> {
    let bad = || format!("`{text}` is not a number of CPUs (e.g. `0.5`, `2`)");
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad().into());
    }
    let n: f64 = text.parse().map_err(|_| bad())?;
    let nano = (n * 1e9).round();
    if !nano.is_finite() || nano >= i64::MAX as f64 {
        return Err(bad().into());
    }
    Ok(nano as i64)
}

/// `--ulimit NAME=SOFT[:HARD]` (go-units `ParseUlimit`).
///
/// # Errors
///
/// Not `NAME=SOFT[:HARD]`, an unknown name, a limit that is not a number, or soft above hard.
pub fn parse_ulimit(text: &str) -> Result<Ulimit, ValueError> {
    const NAMES: &[&str] = &[
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let Some((name, limits)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not a ulimit: write `NAME=SOFT[:HARD]`, e.g. `nofile=1024:2048`"
        )
        .into());
    };
    if !NAMES.contains(&name) {
        return Err(format!(
            "`{name}` is not a ulimit name (one of {})",
            NAMES.join(", ")
        )
        .into());
    }
    let (soft, hard) = match limits.split_once(':') {
        Some((s, h)) => (s, Some(h)),
        None => (limits, None),
    };
    let number = |v: &str| {
        v.parse::<i64>()
            .map_err(|_| format!("the ulimit `{text}` has `{v}`, not a number"))
    };
    let soft = number(soft)?;
    let hard = match hard {
        Some(h) => number(h)?,
        None => soft,
    };
    if soft > hard && hard != -1 {
        return Err(format!("the ulimit `{text}` has a soft limit above its hard limit").into());
    }
    Ok(Ulimit {
        name: name.to_owned(),
        soft,
        hard,
    })
}

/// A Go `time.ParseDuration` value (`1m30s`, `500ms`, `2h`), in nanoseconds.
///
/// # Errors
///
/// Not a Go duration.
pub fn parse_duration(text: &str) -> Result<i64, ValueError> {
    let bad = || format!("`{text}` is not a duration (e.g. `30s`, `1m30s`, `500ms`)");
    if text == "0" {
        return Ok(0);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad().into());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad().into());
        }
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad().into()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    if total >= i64::MAX as f64 {
        return Err(bad().into());
    }
    Ok(total as i64)
}

/// `KEY=VALUE` (the value may be empty; the key may not).
///
/// # Errors
///
/// No `=` or an empty key.
pub fn parse_key_value(text: &str) -> Result<(String, String), ValueError> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{text}` is not `KEY=VALUE`").into()),
    }
}

/// One of `choices`, or `container:NAME` when `container` is set.
///
/// # Errors
///
/// Any other value.
pub fn parse_mode(text: &str, choices: &[&str], container: bool) -> Result<String, ValueError> {
    if choices.contains(&text)
        || (container
            && text
                .strip_prefix("container:")
                .is_some_and(|n| !n.is_empty()))
    {
        return Ok(text.to_owned());
    }
    let mut list: Vec<String> = choices
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| format!("`{c}`"))
        .collect();
    if container {
        list.push("`container:NAME`".to_owned());
    }
    Err(format!("`{text}` is not one of {}", list.join(", ")).into())
}

/// `--restart no|always|unless-stopped|on-failure[:MAX]`.
///
/// # Errors
///
/// Any other value.
pub fn parse_restart(text: &str) -> Result<Restart, ValueError> {
    match text {
        "" | "no" => Ok(Restart::No),
        "always" => Ok(Restart::Always),
        "unless-stopped" => Ok(Restart::UnlessStopped),
        "on-failure" => Ok(Restart::OnFailure(None)),
        _ => match text.strip_prefix("on-failure:").map(str::parse::<i64>) {
            Some(Ok(n)) if n >= 0 => Ok(Restart::OnFailure(Some(n))),
            _ => Err(format!(
                "`{text}` is not a restart policy (`no`, `always`, `unless-stopped`, \
                 `on-failure[:MAX]`)"
            )
            .into()),
        },
    }
}

/// `--device HOST[:CONTAINER[:PERMISSIONS]]` (also `HOST:PERMISSIONS`).
///
/// # Errors
///
/// Empty paths, a relative container path or permissions other than `r`, `w`, `m`.
pub fn parse_device(text: &str) -> Result<Device, ValueError> {
    let perms_ok = |p: &str| !p.is_empty() && p.chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
    let parts: Vec<&str> = text.split(':').collect();
    let (host, container, permissions) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if perms_ok(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] if perms_ok(p) => (*h, *c, *p),
        _ => {
            return Err(format!("`{text}` is not a device (`HOST[:CONTAINER[:rwm]]`)").into());
        }
    };
    if host.is_empty() || !container.starts_with('/') {
        return Err(format!(
            "`{text}` is not a device (`HOST[:CONTAINER[:rwm]]`, absolute container path)"
        )
        .into());
    }
    Ok(Device {
        host: host.to_owned(),
        container: container.to_owned(),
        permissions: permissions.to_owned(),
    })
}

/// `PATH:RATE` of `--device-read-bps` and friends; `size` parses the rate as a size.
///
/// # Errors
///
/// No `:` or a bad rate.
pub fn parse_throttle(text: &str, size: bool) -> Result<(String, i64), ValueError> {
    let Some((path, rate)) = text.rsplit_once(':').filter(|(p, _)| p.starts_with('/')) else {
        return Err(format!("`{text}` is not `DEVICE_PATH:RATE`").into());
    };
    let rate = if size {
        parse_size(rate)?
    } else {
        rate.parse::<u32>()
            .map(i64::from)
            .map_err(|_| format!("`{rate}` is not a number of operations per second"))?
    };
    Ok((path.to_owned(), rate))
}

/// `--blkio-weight` and the weight of `--blkio-weight-device`: 10–1000 (0: unset).
///
/// # Errors
///
/// Out of range or not a number.
pub fn parse_weight(text: &str) -> Result<u16, ValueError> {
    match text.parse::<u16>() {
        Ok(w) if w == 0 || (10..=1000).contains(&w) => Ok(w),
        _ => Err(format!("`{text}` is not a block IO weight (10 to 1000)").into()),
    }
}

/// `--blkio-weight-device PATH:WEIGHT`.
///
/// # Errors
///
/// No `:` or a bad weight.
pub fn parse_weight_device(text: &str) -> Result<(String, u16), ValueError> {
    let Some((path, weight)) = text.rsplit_once(':').filter(|(p, _)| p.starts_with('/')) else {
        return Err(format!("`{text}` is not `DEVICE_PATH:WEIGHT`").into());
    };
    Ok((path.to_owned(), parse_weight(weight)?))
}

/// `--tmpfs PATH[:OPTIONS]`.
///
/// # Errors
///
/// A relative path.
pub fn parse_tmpfs(text: &str) -> Result<(String, String), ValueError> {
    let (path, opts) = text.split_once(':').unwrap_or((text, ""));
    if !path.starts_with('/') {
        return Err(format!(
            "`{text}` is not `/PATH[:OPTIONS]` (the path in the container must be absolute)"
        )
        .into());
    }
    Ok((path.to_owned(), opts.to_owned()))
}

/// `--gpus all|N|device=…,count=…,driver=…,capabilities=…` (the docker CLI's `GpuOpts`).
///
/// # Errors
///
/// A bad count or an unknown form.
pub fn parse_gpus(text: &str) -> Result<GpuRequest, ValueError> {
    let mut req = GpuRequest::default();
    for (i, field) in split_csv(text).iter().enumerate() {
        match field.split_once('=') {
            None if i == 0 && field == "all" => req.count = Some(-1),
            None if i == 0 && field.parse::<i64>().is_ok_and(|n| n > 0) => {
                req.count = field.parse().ok();
            }
            Some(("driver", v)) => req.driver = Some(v.to_owned()),
            Some(("count", "all")) => req.count = Some(-1),
            Some(("count", v)) => {
                req.count = Some(
                    v.parse::<i64>()
                        .map_err(|_| format!("`--gpus` count `{v}` is not a number"))?,
                );
            }
            Some(("device", v)) => req.device_ids = v.split(',').map(str::to_owned).collect(),
            Some(("capabilities", v)) => {
                req.capabilities = v.split(',').map(str::to_owned).collect();
            }
            Some((k, v)) if !k.is_empty() => {
                req.options.insert(k.to_owned(), v.to_owned());
            }
            _ => {
                return Err(format!(
                    "`{field}` is not a GPU request (`all`, a count, or `device=…`, `count=…`, \
                     `driver=…`, `capabilities=…`)"
                )
                .into());
            }
        }
    }
    if req.count.is_some() && !req.device_ids.is_empty() {
        return Err("`--gpus` takes a count or device ids, not both".into());
    }
    if !req.capabilities.iter().any(|c| c == "gpu") {
        req.capabilities.push("gpu".to_owned());
    }
    Ok(req)
}

/// A `--mount` value, as the docker CLI's `MountOpt.Set` reads it (CSV `key=value` fields).
///
/// # Errors
///
/// An unknown key, a bad value, no target, or options of another mount type.
pub fn parse_mount(text: &str) -> Result<MountSpec, ValueError> {
    let mut kind = MountKind::Volume;
    let mut m = MountSpec {
        kind,
        source: None,
        target: String::new(),
        read_only: false,
        consistency: None,
        bind_propagation: None,
        bind_nonrecursive: false,
        bind_readonly_nonrecursive: false,
        bind_readonly_force_recursive: false,
        volume_nocopy: false,
        volume_labels: BTreeMap::new(),
        volume_driver: None,
        volume_opts: BTreeMap::new(),
        volume_subpath: None,
        tmpfs_size: None,
        tmpfs_mode: None,
    };
    let mut used: Vec<MountKind> = Vec::new();
    let boolean = |key: &str, value: Option<&str>| match value {
        None => Ok(true),
        Some(v) => crate::model::shellwords::parse_bool(v)
            .ok_or_else(|| format!("`{key}={v}` in `--mount` is not true or false")),
    };
    for field in split_csv(text) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_owned)
                .ok_or_else(|| format!("`{key}` in `--mount` needs a value (`{key}=…`)"))
        };
        match key.as_str() {
            "type" => {
                kind = match need(value)?.as_str() {
                    "bind" => MountKind::Bind,
                    "volume" => MountKind::Volume,
                    "tmpfs" => MountKind::Tmpfs,
                    other => {
                        return Err(format!(
                            "`--mount` type `{other}` is not supported (`bind`, `volume` or `tmpfs`)"
                        ).into());
                    }
                };
            }
            "source" | "src" => m.source = Some(need(value)?),
            "target" | "dst" | "destination" => m.target = need(value)?,
            "readonly" | "ro" => m.read_only = boolean(&key, value)?,
            "consistency" => m.consistency = Some(need(value)?),
            "bind-propagation" => {
                let v = need(value)?;
                parse_mode(
                    &v,
                    &[
                        "private", "rprivate", "shared", "rshared", "slave", "rslave",
                    ],
                    false,
                )?;
                m.bind_propagation = Some(v);
                used.push(MountKind::Bind);
            }
            "bind-nonrecursive" => {
                m.bind_nonrecursive = boolean(&key, value)?;
                used.push(MountKind::Bind);
            }
            "bind-recursive" => {
                match need(value)?.as_str() {
                    "enabled" => {}
                    "disabled" => m.bind_nonrecursive = true,
                    "writable" => m.bind_readonly_nonrecursive = true,
                    "readonly" => m.bind_readonly_force_recursive = true,
                    other => {
                        return Err(format!(
                            "`bind-recursive={other}` is not one of `enabled`, `disabled`, \
                             `writable`, `readonly`"
                        )
                        .into());
                    }
                }
                used.push(MountKind::Bind);
            }
            "volume-nocopy" => {
                m.volume_nocopy = boolean(&key, value)?;
                used.push(MountKind::Volume);
            }
            "volume-label" => {
                let (k, v) = parse_key_value(&need(value)?)?;
                m.volume_labels.insert(k, v);
                used.push(MountKind::Volume);
            }
            "volume-driver" => {
                m.volume_driver = Some(need(value)?);
                used.push(MountKind::Volume);
            }
            "volume-opt" => {
                let (k, v) = parse_key_value(&need(value)?)?;
                m.volume_opts.insert(k, v);
                used.push(MountKind::Volume);
            }
            "volume-subpath" => {
                m.volume_subpath = Some(need(value)?);
                used.push(MountKind::Volume);
            }
            "tmpfs-size" => {
                m.tmpfs_size = Some(parse_size(&need(value)?)?);
                used.push(MountKind::Tmpfs);
            }
            "tmpfs-mode" => {
                let v = need(value)?;
                m.tmpfs_mode = Some(
                    i64::from_str_radix(&v, 8)
                        .map_err(|_| format!("`tmpfs-mode={v}` is not an octal mode"))?,
                );
                used.push(MountKind::Tmpfs);
            }
            _ => return Err(format!("unexpected key `{key}` in `--mount {text}`").into()),
        }
    }
    m.kind = kind;
    if m.target.is_empty() {
        return Err(format!("`--mount {text}` has no target (`target=/path/in/container`)").into());
    }
    if !m.target.starts_with('/') {
        return Err(format!(
            "the `--mount` target `{}` must be an absolute path",
            m.target
        )
        .into());
    }
    let name = |k: MountKind| match k {
        MountKind::Bind => "bind",
        MountKind::Volume => "volume",
        MountKind::Tmpfs => "tmpfs",
    };
    if let Some(other) = used.iter().find(|k| **k != kind) {
        return Err(format!(
            "`--mount {text}` has {} options on a {} mount",
            name(*other),
            name(kind)
        )
        .into());
    }
    if (m.bind_readonly_nonrecursive || m.bind_readonly_force_recursive) && !m.read_only {
        return Err(format!(
            "`--mount {text}`: `bind-recursive=writable` and `=readonly` need `readonly`"
        )
        .into());
    }
    match kind {
        MountKind::Bind if m.source.as_deref().is_none_or(str::is_empty) => {
            return Err(format!(
                "`--mount {text}`: a bind mount needs a source (`source=/host/path`)"
            )
            .into());
        }
        MountKind::Tmpfs if m.source.is_some() => {
            return Err(format!("`--mount {text}`: a tmpfs mount takes no source").into());
        }
        _ => {}
    }
    Ok(m)
}

/// Comma-separated fields with CSV double quotes (as Go's `encoding/csv` reads one record).
fn split_csv(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("-1").is_err());
        assert_eq!(parse_size_or_unlimited("-1"), Ok(-1));
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus("0.5"), Ok(500_000_000));
        assert_eq!(parse_cpus("2"), Ok(2_000_000_000));
        assert!(parse_cpus("two").is_err());
        assert!(parse_cpus("-1").is_err());
    }

    #[test]
    fn ulimits() {
        assert_eq!(
            parse_ulimit("nofile=512:1024"),
            Ok(Ulimit {
                name: "nofile".into(),
                soft: 512,
                hard: 1024
            })
        );
        assert_eq!(parse_ulimit("nproc=10").unwrap().hard, 10);
        assert!(parse_ulimit("nofile").is_err());
        assert!(
            parse_ulimit("files=1")
                .unwrap_err()
                .contains("not a ulimit name")
        );
        assert!(parse_ulimit("nofile=a").is_err());
        assert!(parse_ulimit("nofile=10:5").unwrap_err().contains("soft"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(30_000_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn mounts() {
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
        assert_eq!(m.kind, MountKind::Tmpfs);
        assert_eq!(m.target, "/t");
        assert_eq!(m.tmpfs_size, Some(64 << 20));
        assert_eq!(m.tmpfs_mode, Some(0o1770));
        let m = parse_mount("src=data,target=/data,readonly,volume-nocopy").unwrap();
        assert_eq!(m.kind, MountKind::Volume);
        assert_eq!(m.source.as_deref(), Some("data"));
        assert!(m.read_only && m.volume_nocopy);
        let m =
            parse_mount("type=bind,source=/etc,destination=/e,ro=false,bind-propagation=rslave")
                .unwrap();
        assert_eq!(m.kind, MountKind::Bind);
        assert!(!m.read_only);
        assert_eq!(m.bind_propagation.as_deref(), Some("rslave"));
        let m = parse_mount("type=bind,src=/a,dst=/b,ro,bind-recursive=readonly").unwrap();
        assert!(m.bind_readonly_force_recursive);
        assert!(parse_mount("type=bind,src=/a,dst=/b,bind-recursive=writable").is_err());
        assert!(parse_mount("type=bind,src=/a,dst=/b,bind-recursive=maybe").is_err());
        let m = parse_mount("type=volume,\"volume-opt=o=a,b\",dst=/v").unwrap();
        assert_eq!(m.volume_opts["o"], "a,b");
        for (bad, why) in [
            ("type=tmpfs", "no target"),
            ("type=bind,dst=/x", "needs a source"),
            ("type=tmpfs,src=x,dst=/x", "no source"),
            ("type=npipe,dst=/x", "not supported"),
            ("dst=/x,colour=red", "unexpected key `colour`"),
            ("dst=relative", "absolute"),
            ("type=tmpfs,dst=/x,volume-nocopy", "volume options"),
            ("dst=/x,tmpfs-size=big", "not a size"),
            ("dst=/x,readonly=maybe", "true or false"),
        ] {
            let e = parse_mount(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn devices_gpus_restart_and_modes() {
        assert_eq!(
            parse_device("/dev/fuse").unwrap(),
            Device {
                host: "/dev/fuse".into(),
                container: "/dev/fuse".into(),
                permissions: "rwm".into()
            }
        );
        assert_eq!(parse_device("/dev/a:/dev/b:r").unwrap().permissions, "r");
        assert_eq!(parse_device("/dev/a:rw").unwrap().container, "/dev/a");
        assert!(parse_device("/dev/a:b").is_err());
        assert_eq!(parse_gpus("all").unwrap().count, Some(-1));
        let g = parse_gpus("\"device=0,1\",capabilities=utility").unwrap();
        assert_eq!(g.device_ids, ["0", "1"]);
        assert_eq!(g.capabilities, ["utility", "gpu"]);
        assert!(parse_gpus("many").is_err());
        assert_eq!(
            parse_restart("on-failure:3"),
            Ok(Restart::OnFailure(Some(3)))
        );
        assert!(parse_restart("sometimes").is_err());
        assert!(parse_mode("private", &["host", "private"], true).is_ok());
        assert!(parse_mode("container:web", &["host"], true).is_ok());
        assert!(parse_mode("container:", &["host"], true).is_err());
        assert_eq!(
            parse_throttle("/dev/sda:1mb", true),
            Ok(("/dev/sda".into(), 1 << 20))
        );
        assert!(parse_throttle("sda", false).is_err());
        assert!(parse_weight("5").is_err());
        assert_eq!(
            parse_tmpfs("/run:size=1m"),
            Ok(("/run".into(), "size=1m".into()))
        );
        assert!(parse_tmpfs("run").is_err());
    }
}
