//! `build` steps with BuildKit (`env: [DOCKER_BUILDKIT=1]`, `cache: enabled`) end to end against
//! the REAL Docker engine, through the binary.
//!
//! The environment comes from `scripts/test-env.sh`: dockerd 20.10 (BuildKit built in) on the
//! default socket, the open registry on 127.0.0.1:5000 and the local image
//! `taskrun-busybox:latest`. Every test FAILS when the engine is unavailable; none skips.

use crate::common;

use common::{BUSYBOX, Images, Ws, manifest_digest, need_docker, try_docker, unique};

fn image_id(reference: &str) -> Option<String> {
    let (ok, out) = try_docker(&["image", "inspect", "--format", "{{.Id}}", reference]);
    ok.then(|| out.trim().to_owned())
}

fn json_steps(run: &common::Run) -> Vec<serde_json::Value> {
    run.finished()["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn buildkit_build_with_cache_mount_and_chmod_tags_twice_and_later_steps_push_and_run_it() {
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trtest-bk");
    let one = images.add(&format!("127.0.0.1:5000/{repo}:one"));
    let two = images.add(&format!("127.0.0.1:5000/{repo}:two"));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {one} -t {two} --build-arg WHO=bk .
    env: [DOCKER_BUILDKIT=1]
  - id: push
    push: ["{one}", "{two}"]
  - id: check
    cmd: {two} sh -c 'stat -c %a /tool.sh; cat /who'
"#
    ));
    ws.file(
        "Dockerfile",
        &format!(
            "FROM {BUSYBOX}\nARG WHO\n\
             RUN --mount=type=cache,target=/cache echo \"run $WHO\" > /cache/marker && cat /cache/marker && echo \"$WHO\" > /who # {repo}\n\
             COPY --chmod=755 tool.sh /tool.sh\n"
        ),
    );
    ws.file("tool.sh", "echo tool\n");

    let run = ws.run(&["--output", "json"]);
    run.expect(0);
    let out = run.logs_of("build");
    // Build output is attributed to the step: vertex names and the RUN's own output (the RUN
    // line names the unique repository, so the build cache never holds it).
    assert!(
        out.iter()
            .any(|l| l.starts_with('#') && l.contains("RUN --mount=type=cache,target=/cache")),
        "{out:#?}"
    );
    assert!(
        out.iter()
            .any(|l| l.starts_with('#') && l.ends_with(" run bk")),
        "{out:#?}"
    );
    assert!(
        out.iter()
            .any(|l| l.contains("COPY --chmod=755 tool.sh /tool.sh")),
        "{out:#?}"
    );
    assert_eq!(run.logs_of("check"), ["755", "bk"], "{}", run.all());
    // Both tags were given to the one build; both name the image the step reports.
    let id = image_id(&one).expect("first tag exists");
    assert_eq!(image_id(&two).as_deref(), Some(id.as_str()));
    let steps = json_steps(&run);
    assert_eq!(steps[0]["image_id"], id.as_str(), "{}", run.all());
    // acb's dependency JSON: one record per tag, the base image as runtime dependency.
    let deps = steps[0]["dependencies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(deps.len(), 2, "{}", run.all());
    assert!(
        deps[0]["runtime-dependency"]
            .to_string()
            .contains("taskrun-busybox"),
        "{deps:?}"
    );
    // The later push step pushed both tags.
    let pushed: Vec<&str> = steps[1]["pushed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for (tag, reference) in [("one", &one), ("two", &two)] {
        let digest = manifest_digest("127.0.0.1:5000", &repo, tag, None).expect("in the registry");
        assert!(
            pushed.contains(&format!("{reference}@{digest}").as_str()),
            "{pushed:?}"
        );
    }
}

#[test]
fn a_failing_run_fails_the_buildkit_step_with_the_error_text() {
    let _engine = need_docker();
    let mut images = Images::default();
    let tag = images.add(&format!("{}:1", unique("trtest-bk-fail")));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {tag} .
    env: [DOCKER_BUILDKIT=1]
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo about-to-fail && exit 3\n"),
    );
    let run = ws.run(&["--output", "plain"]);
    run.expect(1);
    let out = run.lines_of("build");
    assert!(
        out.iter()
            .any(|l| l.starts_with('#') && l.ends_with(" about-to-fail")),
        "{out:#?}"
    );
    assert!(
        out.iter()
            .any(|l| l.contains("ERROR: executor failed running") && l.contains("exit code: 3")),
        "{out:#?}"
    );
    assert!(image_id(&tag).is_none());
}

#[test]
fn a_heredoc_needs_a_newer_dockerfile_frontend_than_the_engine_has() {
    // dockerd 20.10's built-in Dockerfile frontend predates heredocs (dockerfile 1.4; Docker
    // 23 and later have it built in); the newer frontend is an image
    // (`# syntax=docker/dockerfile:1.4`) pulled from Docker Hub, which this environment cannot
    // reach. The engine's parse error is the step's error.
    let _engine = need_docker();
    let mut images = Images::default();
    let tag = images.add(&format!("{}:1", unique("trtest-bk-heredoc")));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {tag} .
    env: [DOCKER_BUILDKIT=1]
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN <<EOT\necho from-heredoc\nEOT\n"),
    );
    let run = ws.run(&["--output", "plain"]);
    run.expect(1);
    // taskrun sends the Dockerfile untouched (line 3 is the heredoc's body) and shows the
    // engine's own message, word for word, as the step's error line.
    assert!(
        run.lines_of("build").iter().any(|l| l
            == "failed to solve with frontend dockerfile.v0: failed to create LLB definition: \
                dockerfile parse error line 3: unknown instruction: ECHO"),
        "{}",
        run.all()
    );

    // With `# syntax=docker/dockerfile:1.4` the engine fetches that frontend from Docker Hub:
    // offline the build fails with the engine's resolve error; online it builds the heredoc.
    ws.file(
        "Dockerfile",
        &format!(
            "# syntax=docker/dockerfile:1.4\nFROM {BUSYBOX}\nRUN <<EOT\necho from-heredoc\nEOT\n"
        ),
    );
    let run = ws.run(&["--output", "plain"]);
    let lines = run.lines_of("build");
    if run.code == 0 {
        assert!(
            lines.iter().any(|l| l.ends_with(" from-heredoc")),
            "{}",
            run.all()
        );
    } else {
        run.expect(1);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("resolve image config for docker.io/docker/dockerfile:1.4")),
            "{}",
            run.all()
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "failed to solve with frontend dockerfile.v0: failed to solve with frontend \
                 gateway.v0: "
            )),
            "{}",
            run.all()
        );
    }
}

#[test]
fn cache_enabled_pushes_an_inline_cache_and_the_next_build_imports_it() {
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trtest-bk-cache");
    let tag = images.add(&format!("127.0.0.1:5000/{repo}:1"));
    let cache = images.add(&format!("127.0.0.1:5000/{repo}:cache_nightly_img"));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: img
    build: -t {tag} .
    cache: enabled
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo {repo} > /marker\n"),
    );
    let first = ws.run(&["--output", "plain", "--name", "nightly"]);
    first.expect(0);
    let out = first.lines_of("img");
    assert!(
        out.iter().any(|l| l.starts_with("cache: enabled:")
            && l.contains("cannot")
            && l.contains(&format!("inline cache in {cache}"))),
        "the step output says what taskrun does instead: {out:#?}"
    );
    assert!(
        out.iter().any(|l| l.starts_with(&format!(
            "cache: pushed the inline cache to {cache}@sha256:"
        ))),
        "{out:#?}"
    );
    let digest = manifest_digest("127.0.0.1:5000", &repo, "cache_nightly_img", None)
        .expect("the cache image is in the registry");
    assert!(digest.starts_with("sha256:"));

    let second = ws.run(&["--output", "plain", "--name", "nightly"]);
    second.expect(0);
    assert!(
        second
            .lines_of("img")
            .iter()
            .any(|l| l.contains(&format!("importing cache manifest from {cache}"))),
        "{}",
        second.all()
    );
}

#[test]
fn secrets_in_buildkit_output_and_errors_are_masked() {
    let _engine = need_docker();
    let mut images = Images::default();
    let tag = images.add(&format!("{}:1", unique("trtest-bk-secret")));
    let secret = unique("BuildKitSecretValue");
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {tag} --build-arg PW={{{{.Values.pw}}}} .
    env: [DOCKER_BUILDKIT=1]
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nARG PW\nRUN echo \"pw=$PW\" && echo \"err=$PW\" >&2 && exit 4\n"),
    );
    for mode in ["plain", "json"] {
        let run = ws.run(&["--output", mode, "--set-secret", &format!("pw={secret}")]);
        run.expect(1);
        let all = run.all();
        assert!(!all.contains(secret.as_str()), "{mode}: leaked:\n{all}");
        assert!(all.contains("pw=***"), "{mode}:\n{all}");
        assert!(all.contains("err=***"), "{mode}:\n{all}");
    }
}

#[test]
fn a_base_image_in_an_authenticated_registry_is_pulled_with_the_run_credentials() {
    // The engine's BuildKit asks the client's session for credentials; BuildKit builds have no
    // session, so taskrun pulls such base images first (`no active sessions` otherwise).
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trtest-bk-private");
    let base = images.tag(&format!("127.0.0.1:5001/{repo}:base"));
    // A private docker config, so the machine's own stays untouched.
    let config = tempfile::tempdir().unwrap();
    common::docker_in(
        Some(config.path()),
        &[
            "login",
            "-u",
            "taskrun",
            "--password-stdin",
            "127.0.0.1:5001",
        ],
        Some(b"taskrun-pass"),
    );
    common::docker_in(Some(config.path()), &["push", &base], None);
    common::docker(&["rmi", &base]);
    let tag = images.add(&format!("{repo}:built"));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {tag} .
    env: [DOCKER_BUILDKIT=1]
"#
    ));
    ws.file("Dockerfile", &format!("FROM {base}\nRUN echo {repo}\n"));
    let run = ws.run(&[
        "--output",
        "plain",
        "--credential",
        r#"{"registry":"127.0.0.1:5001","username":"taskrun","password":"taskrun-pass"}"#,
    ]);
    run.expect(0);
    assert!(image_id(&tag).is_some(), "{}", run.all());
    assert!(!run.all().contains("no active sessions"), "{}", run.all());
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn build_secrets_from_a_task_secret_a_workspace_file_and_a_secret_volume_reach_run_mounts() {
    // The Dockerfile holds only the secrets' hashes, so any plain value in the output can only
    // come from the secret mounts; each RUN also prints its secret (which must be masked).
    let _engine = need_docker();
    let mut images = Images::default();
    let tag = images.add(&format!("{}:1", unique("trtest-bk-secrets")));
    let from_task = unique("TaskSecretValue");
    let from_file = unique("FileSecretValue");
    let from_volume = unique("VolumeSecretValue");
    let volume_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&from_volume)
    };
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
secrets:
  - id: tok
    keyvault: https://example.vault.azure.net/secrets/tok
volumes:
  - name: sv
    secret:
      vol.txt: {volume_b64}
steps:
  - id: build
    build: -t {tag} --no-cache --secret id=tok,env=TOK --secret id=file,src=conf/tok.txt --secret id=vol,src=/run/sv/vol.txt --secret id=none,env=UNSET .
    env: [DOCKER_BUILDKIT=1, "TOK={{{{.Secrets.tok}}}}"]
    volumeMounts:
      - name: sv
        mountPath: /run/sv
"#
    ));
    ws.file("conf/tok.txt", &format!("{from_file}\n"));
    ws.file(
        "Dockerfile",
        &format!(
            "FROM {BUSYBOX}\n\
             RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok | sha256sum | cut -d' ' -f1)\" = \"{}\" && cat /run/secrets/tok && echo\n\
             RUN --mount=type=secret,id=file test \"$(cat /run/secrets/file | sha256sum | cut -d' ' -f1)\" = \"{}\" && cat /run/secrets/file\n\
             RUN --mount=type=secret,id=vol test \"$(cat /run/secrets/vol | sha256sum | cut -d' ' -f1)\" = \"{}\" && cat /run/secrets/vol && echo\n\
             RUN --mount=type=secret,id=none test ! -s /run/secrets/none\n",
            sha256_hex(&from_task),
            sha256_hex(&format!("{from_file}\n")),
            sha256_hex(&from_volume),
        ),
    );
    for mode in ["plain", "json"] {
        let run = ws.run(&["--output", mode, "--secret", &format!("tok={from_task}")]);
        run.expect(0);
        let all = run.all();
        for value in [&from_task, &from_file, &from_volume] {
            assert!(
                !all.contains(value.as_str()),
                "{mode}: {value} leaked:\n{all}"
            );
        }
        // Each RUN's `cat` printed its secret: three masked lines.
        let masked = if mode == "json" {
            run.logs_of("build")
        } else {
            run.lines_of("build")
        };
        assert_eq!(
            masked
                .iter()
                .filter(|l| l.starts_with('#') && l.ends_with(" ***"))
                .count(),
            3,
            "{mode}:\n{all}"
        );
        assert!(
            all.contains("--secret id=none: the variable UNSET is not set in the step's env"),
            "{mode}:\n{all}"
        );
        if mode == "json" {
            // The dependency JSON and the step record hold no value either.
            let finished = run.finished().to_string();
            assert!(!finished.contains(from_file.as_str()), "{finished}");
        }
    }
    assert!(image_id(&tag).is_some());
}

#[test]
fn a_missing_secret_file_fails_the_build_step_with_the_clis_message() {
    let _engine = need_docker();
    let mut images = Images::default();
    let tag = images.add(&format!("{}:1", unique("trtest-bk-nosecret")));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {tag} --secret id=tok,src=missing.txt .
    env: [DOCKER_BUILDKIT=1]
    workingDirectory: sub
"#
    ));
    ws.file(
        "sub/Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN --mount=type=secret,id=tok,required cat /run/secrets/tok\n"),
    );
    let run = ws.run(&["--output", "plain"]);
    run.expect(1);
    // Relative to the step's working directory, as the CLI in acb's build container reads it.
    assert!(
        run.lines_of("build").iter().any(|l| l
            == "--secret id=tok: failed to stat /workspace/sub/missing.txt: no such file or directory"),
        "{}",
        run.all()
    );
    assert!(image_id(&tag).is_none());
}

#[test]
fn secrets_for_the_classic_builder_are_refused_before_the_run() {
    let ws = Ws::new(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t x --secret id=tok,src=tok.txt .
"#,
    );
    ws.file("Dockerfile", "FROM scratch\n");
    let run = ws.run(&["--output", "plain"]);
    run.expect(2);
    assert!(
        run.stderr.contains("taskrun::validate::build_secret")
            && run.stderr.contains("`--secret` requires BuildKit"),
        "{}",
        run.all()
    );
    assert!(!run.stdout.contains("[build] started"), "{}", run.all());
}

#[test]
fn a_required_secret_the_build_was_not_given_fails_with_buildkits_message() {
    // The session answers NotFound for an id no `--secret` names; BuildKit turns that into its
    // own message, as with the docker CLI.
    let _engine = need_docker();
    let mut images = Images::default();
    let tag = images.add(&format!("{}:1", unique("trtest-bk-othersecret")));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {tag} --secret id=tok,env=TOK .
    env: [DOCKER_BUILDKIT=1, TOK=value]
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN --mount=type=secret,id=other,required echo {tag}\n"),
    );
    let run = ws.run(&["--output", "plain"]);
    run.expect(1);
    assert!(
        run.lines_of("build")
            .iter()
            .any(|l| l == "secret other not found: not found"),
        "{}",
        run.all()
    );
}
