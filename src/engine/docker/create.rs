//! Container creation: the engine's create body for a `ContainerSpec` (host config, `docker run` options, mounts, health checks, the gate) and docker's `-p`/`--expose` syntax.

use super::*;

/// The bollard create body for `spec`.
/// Turns `body` into that of a gated container (see [`gate`]) when `spec` and `image` allow it:
/// the gate as entrypoint, the program and arguments the engine would have run as its
/// arguments, stdin open, and the gate volume mounted read-only. Returns whether it did.
pub(super) fn gate_container(
    body: &mut ContainerCreateBody,
    spec: &ContainerSpec,
    image: &bollard::models::ImageInspect,
    volume: &str,
) -> bool {
    if !gate::eligible(spec)
        || !gate::image_supported(image.os.as_deref(), image.architecture.as_deref())
    {
        return false;
    }
    let config = image.config.as_ref();
    let Some(argv) = gate::argv(
        spec.entrypoint.as_deref(),
        &spec.cmd,
        config.and_then(|c| c.entrypoint.as_deref()),
        config.and_then(|c| c.cmd.as_deref()),
    ) else {
        return false;
    };
    body.entrypoint = Some(vec![gate::PATH.to_string()]);
    body.cmd = Some(argv);
    body.open_stdin = Some(true);
    body.stdin_once = Some(true);
    let host = body.host_config.get_or_insert_with(Default::default);
    host.mounts.get_or_insert_with(Vec::new).push(BollardMount {
        typ: Some(MountType::VOLUME),
        source: Some(volume.to_string()),
        target: Some(gate::MOUNT.to_string()),
        read_only: Some(true),
        ..Default::default()
    });
    true
}

pub(super) fn container_body(spec: &ContainerSpec) -> EngineResult<ContainerCreateBody> {
    let mut exposed: Vec<String> = Vec::new();
    for port in &spec.expose {
        if !exposed.contains(port) {
            exposed.push(port.clone());
        }
    }
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for published in &spec.publish {
        if !exposed.contains(&published.container_port) {
            exposed.push(published.container_port.clone());
        }
        bindings
            .entry(published.container_port.clone())
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(published.host_ip.clone()),
                host_port: Some(published.host_port.clone()),
            });
    }
    let mounts = spec
        .mounts
        .iter()
        .map(|mount| match mount {
            Mount::Volume { name, target } => BollardMount {
                typ: Some(MountType::VOLUME),
                source: Some(name.clone()),
                target: Some(target.clone()),
                ..Default::default()
            },
            Mount::Bind { source, target } => BollardMount {
                typ: Some(MountType::BIND),
                source: Some(source.clone()),
                target: Some(target.clone()),
                ..Default::default()
            },
        })
        .chain(spec.options.mounts.iter().map(mount_body))
        .collect::<Vec<_>>();
    let o = &spec.options;
    let aliases: Vec<String> = spec
        .network_aliases
        .iter()
        .chain(&o.network_aliases)
        .cloned()
        .collect();
    let ipam = (o.ip.is_some() || o.ip6.is_some() || !o.link_local_ips.is_empty()).then(|| {
        EndpointIpamConfig {
            ipv4_address: o.ip.clone(),
            ipv6_address: o.ip6.clone(),
            link_local_ips: non_empty(&o.link_local_ips),
        }
    });
    let networking_config = match &spec.network {
        Some(network)
            if supports_aliases(network)
                && (!aliases.is_empty() || ipam.is_some() || o.mac_address.is_some()) =>
        {
            Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        aliases: non_empty(&aliases),
                        ipam_config: ipam,
                        mac_address: o.mac_address.clone(),
                        ..Default::default()
                    },
                )])),
            })
        }
        _ => None,
    };
    let host_config = HostConfig {
        mounts: (!mounts.is_empty()).then_some(mounts),
        network_mode: spec.network.clone(),
        privileged: spec.privileged.then_some(true),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        extra_hosts: non_empty(&spec.extra_hosts),
        nano_cpus: spec.cpus.map(|cpus| (cpus * 1e9).round() as i64),
        memory: spec.memory,
        init: spec.init.then_some(true),
        cap_add: non_empty(&spec.cap_add),
        cap_drop: non_empty(&spec.cap_drop),
        security_opt: non_empty(&spec.security_opt),
        ..Default::default()
    };
    let host_config = with_options(host_config, o);
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: spec.entrypoint.clone(),
        cmd: non_empty(&spec.cmd),
        env: non_empty(&spec.env),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        hostname: spec.hostname.clone(),
        labels: (!spec.labels.is_empty()).then(|| to_hash_map(&spec.labels)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: spec.tty.then_some(true),
        open_stdin: spec.interactive.then_some(true),
        host_config: Some(host_config),
        networking_config,
        domainname: o.domainname.clone(),
        stop_signal: o.stop_signal.clone(),
        stop_timeout: o.stop_timeout,
        healthcheck: o.health.as_ref().map(health_body),
        ..Default::default()
    })
}

/// The engine options of `docker run` flags (`--shm-size`, `--ulimit`, `--ipc`, …) added to the
/// host config.
pub(super) fn with_options(host: HostConfig, o: &ContainerOptions) -> HostConfig {
    let map = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| to_hash_map(m));
    let throttle = |list: &[(String, i64)]| {
        (!list.is_empty()).then(|| {
            list.iter()
                .map(|(path, rate)| ThrottleDevice {
                    path: Some(path.clone()),
                    rate: Some(*rate),
                })
                .collect()
        })
    };
    let tmpfs: BTreeMap<String, String> = o.tmpfs.clone();
    HostConfig {
        tmpfs: map(&tmpfs),
        readonly_rootfs: o.read_only.then_some(true),
        shm_size: o.shm_size,
        ulimits: (!o.ulimits.is_empty()).then(|| {
            o.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        ipc_mode: o.ipc.clone(),
        pid_mode: o.pid.clone(),
        uts_mode: o.uts.clone(),
        userns_mode: o.userns.clone(),
        cgroupns_mode: o.cgroupns.as_deref().map(|c| match c {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        cgroup_parent: o.cgroup_parent.clone(),
        runtime: o.runtime.clone(),
        isolation: o.isolation.as_deref().map(|i| match i {
            "process" => HostConfigIsolationEnum::PROCESS,
            "hyperv" => HostConfigIsolationEnum::HYPERV,
            _ => HostConfigIsolationEnum::DEFAULT,
        }),
        publish_all_ports: o.publish_all.then_some(true),
        memory_swap: o.memory_swap,
        memory_reservation: o.memory_reservation,
        memory_swappiness: o.memory_swappiness,
        oom_kill_disable: o.oom_kill_disable.then_some(true),
        oom_score_adj: o.oom_score_adj,
        cpu_shares: o.cpu_shares,
        cpu_period: o.cpu_period,
        cpu_quota: o.cpu_quota,
        cpu_realtime_period: o.cpu_rt_period,
        cpu_realtime_runtime: o.cpu_rt_runtime,
        cpuset_cpus: o.cpuset_cpus.clone(),
        cpuset_mems: o.cpuset_mems.clone(),
        cpu_count: o.cpu_count,
        cpu_percent: o.cpu_percent,
        pids_limit: o.pids_limit,
        blkio_weight: o.blkio_weight,
        blkio_weight_device: (!o.blkio_weight_device.is_empty()).then(|| {
            o.blkio_weight_device
                .iter()
                .map(|(path, weight)| ResourcesBlkioWeightDevice {
                    path: Some(path.clone()),
                    weight: Some(usize::from(*weight)),
                })
                .collect()
        }),
        blkio_device_read_bps: throttle(&o.device_read_bps),
        blkio_device_write_bps: throttle(&o.device_write_bps),
        blkio_device_read_iops: throttle(&o.device_read_iops),
        blkio_device_write_iops: throttle(&o.device_write_iops),
        io_maximum_bandwidth: o.io_max_bandwidth,
        io_maximum_iops: o.io_max_iops,
        devices: (!o.devices.is_empty()).then(|| {
            o.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host.clone()),
                    path_in_container: Some(d.container.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect()
        }),
        device_cgroup_rules: non_empty(&o.device_cgroup_rules),
        device_requests: o.gpus.as_ref().map(|g| {
            vec![DeviceRequest {
                driver: g.driver.clone(),
                count: g.count,
                device_ids: non_empty(&g.device_ids),
                capabilities: Some(vec![g.capabilities.clone()]),
                options: map(&g.options),
            }]
        }),
        dns: non_empty(&o.dns),
        dns_search: non_empty(&o.dns_search),
        dns_options: non_empty(&o.dns_options),
        links: non_empty(&o.links),
        group_add: non_empty(&o.group_add),
        sysctls: map(&o.sysctls),
        storage_opt: map(&o.storage_opts),
        volumes_from: non_empty(&o.volumes_from),
        volume_driver: o.volume_driver.clone(),
        restart_policy: o.restart.map(|r| {
            let (name, max) = match r {
                Restart::No => (RestartPolicyNameEnum::NO, None),
                Restart::Always => (RestartPolicyNameEnum::ALWAYS, None),
                Restart::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
                Restart::OnFailure(n) => (RestartPolicyNameEnum::ON_FAILURE, n),
            };
            RestartPolicy {
                name: Some(name),
                maximum_retry_count: max,
            }
        }),
        log_config: (o.log_driver.is_some() || !o.log_opts.is_empty()).then(|| {
            HostConfigLogConfig {
                typ: o.log_driver.clone(),
                config: map(&o.log_opts),
            }
        }),
        annotations: map(&o.annotations),
        ..host
    }
}

/// A `--mount` entry in the engine's terms.
pub(super) fn mount_body(m: &MountSpec) -> BollardMount {
    let map = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| to_hash_map(m));
    BollardMount {
        typ: Some(match m.kind {
            MountKind::Bind => MountType::BIND,
            MountKind::Volume => MountType::VOLUME,
            MountKind::Tmpfs => MountType::TMPFS,
        }),
        source: m.source.clone(),
        target: Some(m.target.clone()),
        read_only: m.read_only.then_some(true),
        consistency: m.consistency.clone(),
        bind_options: (m.kind == MountKind::Bind
            && (m.bind_propagation.is_some()
                || m.bind_nonrecursive
                || m.bind_readonly_nonrecursive
                || m.bind_readonly_force_recursive))
            .then(|| MountBindOptions {
                propagation: m.bind_propagation.as_deref().map(|p| match p {
                    "rprivate" => MountBindOptionsPropagationEnum::RPRIVATE,
                    "shared" => MountBindOptionsPropagationEnum::SHARED,
                    "rshared" => MountBindOptionsPropagationEnum::RSHARED,
                    "slave" => MountBindOptionsPropagationEnum::SLAVE,
                    "rslave" => MountBindOptionsPropagationEnum::RSLAVE,
                    _ => MountBindOptionsPropagationEnum::PRIVATE,
                }),
                non_recursive: m.bind_nonrecursive.then_some(true),
                read_only_non_recursive: m.bind_readonly_nonrecursive.then_some(true),
                read_only_force_recursive: m.bind_readonly_force_recursive.then_some(true),
                ..Default::default()
            }),
        volume_options: (m.kind == MountKind::Volume
            && (m.volume_nocopy
                || !m.volume_labels.is_empty()
                || m.volume_driver.is_some()
                || !m.volume_opts.is_empty()
                || m.volume_subpath.is_some()))
        .then(|| MountVolumeOptions {
            no_copy: m.volume_nocopy.then_some(true),
            labels: map(&m.volume_labels),
            driver_config: (m.volume_driver.is_some() || !m.volume_opts.is_empty()).then(|| {
                MountVolumeOptionsDriverConfig {
                    name: m.volume_driver.clone(),
                    options: map(&m.volume_opts),
                }
            }),
            subpath: m.volume_subpath.clone(),
        }),
        tmpfs_options: (m.kind == MountKind::Tmpfs
            && (m.tmpfs_size.is_some() || m.tmpfs_mode.is_some()))
        .then(|| MountTmpfsOptions {
            size_bytes: m.tmpfs_size,
            mode: m.tmpfs_mode,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A `--health-*` check in the engine's terms (`--no-healthcheck`: `["NONE"]`).
pub(super) fn health_body(h: &Health) -> HealthConfig {
    let test = if h.disabled {
        Some(vec!["NONE".to_owned()])
    } else {
        h.cmd
            .as_ref()
            .map(|c| vec!["CMD-SHELL".to_owned(), c.clone()])
    };
    HealthConfig {
        test,
        interval: h.interval,
        timeout: h.timeout,
        retries: h.retries,
        start_period: h.start_period,
        start_interval: h.start_interval,
    }
}

/// Whether a network mode is a user network (where network-scoped aliases are allowed).
pub(super) fn supports_aliases(network: &str) -> bool {
    !matches!(network, "host" | "none" | "bridge" | "default" | "")
        && !network.starts_with("container:")
}

pub(super) fn non_empty(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

pub(super) fn to_hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
