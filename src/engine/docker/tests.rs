//! Unit tests of the Docker engine adapter that need no engine.

use super::*;

#[test]
fn classic_build_stderr_is_told_by_the_daemons_colour_escapes() {
    assert_eq!(
        classic_build_stream("\u{1b}[91mto-err\n\u{1b}[0m"),
        (LogStream::Stderr, "to-err\n")
    );
    assert_eq!(
        classic_build_stream("Step 2/2 : RUN x\n"),
        (LogStream::Stdout, "Step 2/2 : RUN x\n")
    );
    // A write cut before its suffix is still stderr.
    assert_eq!(
        classic_build_stream("\u{1b}[91mpartial"),
        (LogStream::Stderr, "partial")
    );
}

#[test]
fn every_extra_host_is_its_own_query_parameter() {
    assert_eq!(extra_hosts_query(&[]), None);
    assert_eq!(
        extra_hosts_query(&["a:10.0.0.1".into(), "b.x:::1".into()]).as_deref(),
        Some("extrahosts=a%3A10.0.0.1&extrahosts=b.x%3A%3A%3A1")
    );
}

#[test]
fn helper_names_identify_the_run_of_their_volume() {
    let key = crate::exec::RunKey::generate();
    let volume = key.name("workspace");
    let (a, b) = (helper_name(&volume), helper_name(&volume));
    assert_ne!(a, b);
    assert_eq!(crate::exec::RunKey::from_name(&a), Some(key));
}

#[test]
fn push_digest() {
    assert_eq!(
        parse_push_digest("1: digest: sha256:29f4d7ac size: 735").as_deref(),
        Some("sha256:29f4d7ac")
    );
    assert_eq!(parse_push_digest("Pushed"), None);
}

#[test]
fn lines_across_chunks() {
    let mut s = LineSplitter::default();
    assert_eq!(s.push(b"hel"), Vec::<String>::new());
    assert_eq!(s.push(b"lo\nwor"), vec!["hello"]);
    assert_eq!(s.push(b"ld\r\n\n"), vec!["world", ""]);
    assert_eq!(s.push(b"a\r"), Vec::<String>::new());
    assert_eq!(s.push(b"\nb"), vec!["a"]);
    assert_eq!(s.finish().as_deref(), Some("b"));
    assert_eq!(s.finish(), None);
    // A multi-byte character split across chunks survives; invalid bytes are replaced.
    assert_eq!(s.push(&[0xc3]), Vec::<String>::new());
    assert_eq!(s.push(&[0xa9, b'\n', 0xff, b'\n']), vec!["é", "\u{fffd}"]);
}

#[test]
fn long_lines_are_split_between_characters() {
    let mut s = LineSplitter::default();
    // One line of 2.5 MiB without a newline: two full pieces, the rest kept.
    let long = vec![b'x'; MAX_LINE * 5 / 2];
    let pieces = s.push(&long);
    assert_eq!(pieces.len(), 2);
    assert!(pieces.iter().all(|p| p.len() == MAX_LINE));
    assert!(s.buf.len() < MAX_LINE);
    assert_eq!(
        s.push(b"y\nz").last().map(String::len),
        Some(MAX_LINE / 2 + 1)
    );
    assert_eq!(s.finish().as_deref(), Some("z"));
    // A 3-byte character across the limit moves whole into the next piece.
    let mut s = LineSplitter::default();
    let mut text = vec![b'a'; MAX_LINE - 1];
    text.extend_from_slice("✓b\n".as_bytes());
    let lines = s.push(&text);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].len(), MAX_LINE - 1);
    assert_eq!(lines[1], "✓b");
    // Byte by byte, the same pieces come out.
    let mut s = LineSplitter::default();
    let mut joined = Vec::new();
    for b in &text {
        joined.extend(s.push(std::slice::from_ref(b)));
    }
    assert_eq!(joined, lines);
    assert_eq!(utf8_cut(b"ab"), 2);
    assert_eq!(utf8_cut(&[b'a', 0xe2, 0x9c]), 1);
    assert_eq!(utf8_cut(&[b'a', 0xe2, 0x9c, 0x93]), 4);
    assert_eq!(utf8_cut(&[0x80, 0x80, 0x80, 0x80]), 4);
    assert_eq!(utf8_cut(&[]), 0);
}

#[test]
fn volume_paths() {
    assert_eq!(normalize_volume_path("").unwrap(), "");
    assert_eq!(normalize_volume_path("/a//b/").unwrap(), "a/b");
    assert_eq!(normalize_volume_path("./a/./b/.").unwrap(), "a/b/.");
    assert_eq!(normalize_volume_path(".").unwrap(), ".");
    assert_eq!(normalize_volume_path("/./").unwrap(), ".");
    assert_eq!(put_directory("."), "");
    assert_eq!(put_directory("a/b/."), "a/b");
    assert_eq!(put_directory("a/b"), "a/b");
    assert_eq!(
        normalize_volume_path("a/../../b").unwrap_err().to_string(),
        "path `a/../../b` leaves the volume"
    );
    assert_eq!(helper_path(""), "/v");
    assert_eq!(helper_path("a/b"), "/v/a/b");
}

#[test]
fn container_body_maps_spec() {
    let spec = ContainerSpec {
        name: "c".into(),
        image: "img".into(),
        network: Some("net".into()),
        network_aliases: vec!["web".into()],
        publish: crate::model::ports::parse_publish("8080:80").unwrap(),
        expose: vec!["90/tcp".into()],
        cpus: Some(1.5),
        mounts: vec![Mount::Volume {
            name: "vol".into(),
            target: "/workspace".into(),
        }],
        ..Default::default()
    };
    let body = container_body(&spec).unwrap();
    let host = body.host_config.clone().unwrap();
    assert_eq!(host.nano_cpus, Some(1_500_000_000));
    assert_eq!(host.network_mode.as_deref(), Some("net"));
    assert_eq!(
        body.exposed_ports,
        Some(vec!["90/tcp".to_string(), "80/tcp".to_string()])
    );
    let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
    assert_eq!(endpoints["net"].aliases, Some(vec!["web".to_string()]));
    assert_eq!(body.cmd, None);
    let host_net = ContainerSpec {
        network: Some("host".into()),
        network_aliases: vec!["web".into()],
        ..Default::default()
    };
    assert!(
        container_body(&host_net)
            .unwrap()
            .networking_config
            .is_none()
    );
}

#[test]
fn container_body_maps_run_flags() {
    let parsed = crate::model::cmdline::parse_cmd(
        "--shm-size 64m --ulimit nofile=512:1024 --mount type=tmpfs,dst=/t,tmpfs-size=1m --ipc private -P --gpus all --restart on-failure:2 --no-healthcheck --ip 10.1.0.9 --network-alias web2 --read-only --tmpfs /run --sysctl a.b=1 --stop-timeout 3 --log-driver none busybox",
    )
    .unwrap();
    let spec = ContainerSpec {
        name: "c".into(),
        image: "busybox".into(),
        network: Some("net".into()),
        network_aliases: vec!["web".into()],
        options: parsed.cmd.run.options,
        ..Default::default()
    };
    let body = container_body(&spec).unwrap();
    let host = body.host_config.clone().unwrap();
    assert_eq!(host.shm_size, Some(64 << 20));
    let u = &host.ulimits.unwrap()[0];
    assert_eq!((u.soft, u.hard), (Some(512), Some(1024)));
    let m = &host.mounts.unwrap()[0];
    assert_eq!(m.typ, Some(MountType::TMPFS));
    assert_eq!(m.target.as_deref(), Some("/t"));
    assert_eq!(m.tmpfs_options.as_ref().unwrap().size_bytes, Some(1 << 20));
    assert_eq!(host.ipc_mode.as_deref(), Some("private"));
    assert_eq!(host.publish_all_ports, Some(true));
    assert_eq!(host.device_requests.unwrap()[0].count, Some(-1));
    let r = host.restart_policy.unwrap();
    assert_eq!(r.name, Some(RestartPolicyNameEnum::ON_FAILURE));
    assert_eq!(r.maximum_retry_count, Some(2));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.tmpfs.unwrap()["/run"], "");
    assert_eq!(host.sysctls.unwrap()["a.b"], "1");
    assert_eq!(host.log_config.unwrap().typ.as_deref(), Some("none"));
    assert_eq!(body.stop_timeout, Some(3));
    assert_eq!(
        body.healthcheck.unwrap().test,
        Some(vec!["NONE".to_string()])
    );
    let endpoint = &body.networking_config.unwrap().endpoints_config.unwrap()["net"];
    assert_eq!(
        endpoint.aliases,
        Some(vec!["web".to_string(), "web2".to_string()])
    );
    assert_eq!(
        endpoint
            .ipam_config
            .as_ref()
            .unwrap()
            .ipv4_address
            .as_deref(),
        Some("10.1.0.9")
    );
}

#[test]
fn auth_errors_are_scrubbed() {
    let auth = RegistryAuth {
        server: "r".into(),
        username: "u".into(),
        password: "s3cret".into(),
    };
    assert_eq!(scrub("bad s3cret here", Some(&auth)), "bad *** here");
    assert!(is_auth_message("unauthorized: authentication required"));
    assert!(!is_auth_message("manifest unknown"));
}
