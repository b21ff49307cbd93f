//! `taskrun run` end to end against the REAL Docker engine: the binary is run as a user would run
//! it, on task files and contexts written into a temporary directory.
//!
//! The environment comes from `scripts/test-env.sh`: dockerd on the default socket (or
//! `DOCKER_HOST`), registries on 127.0.0.1:5000 (open) and 127.0.0.1:5001 (basic auth
//! `taskrun`/`taskrun-pass`), and the local image `taskrun-busybox:latest`. Every test FAILS when
//! the engine is unavailable; none skips.
//!
//! Tests run in parallel. Each one holds a shared lock while it runs; the SIGKILL test takes it
//! exclusively, because any run removes the leftovers of killed runs and would otherwise race
//! with its "leftovers exist" check. Leftover checks are scoped to the child's pid label, so
//! concurrent tests never see each other's resources. No assertion depends on timing.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{
    BUSYBOX, Images, Run, Ws, bin, free_port, leftovers, manifest_digest, need_docker,
    need_docker_alone, registry_digest, taskrun_command, try_docker, unique,
};

const AUTH_CREDENTIAL: &str =
    r#"{"registry":"127.0.0.1:5001","username":"taskrun","password":"taskrun-pass"}"#;

fn image_id(reference: &str) -> Option<String> {
    let (ok, out) = try_docker(&["image", "inspect", "--format", "{{.Id}}", reference]);
    ok.then(|| out.trim().to_owned())
}

// ---------------------------------------------------------------------------------------------
// build

#[test]
fn build_honours_dockerignore_tags_build_args_file_and_target() {
    let _engine = need_docker();
    let mut images = Images::default();
    let name = unique("trtest-build");
    // Bare local names: a pull would go to Docker Hub and fail, so the `check` step proves the
    // built image is used without a pull.
    let one = images.add(&format!("{name}:one"));
    let two = images.add(&format!("{name}:two"));
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: gen
    cmd: {BUSYBOX} sh -c 'echo generated > generated.txt; echo s > secret.txt; mkdir keep; echo w > keep/wanted.txt; echo u > keep/unwanted.txt; ls secret.txt keep/unwanted.txt'
  - id: build
    build: -t {one} -t {two} --build-arg GREETING=hi -f docker/Dockerfile --target final .
  - id: check
    cmd: {two} sh -c 'cat /greeting /stage; cd /ctx && find . -type f | sort'
"#
    ));
    ws.file(
        "docker/Dockerfile",
        &format!(
            "FROM {BUSYBOX} AS base\nARG GREETING=unset\nRUN echo \"greeting=$GREETING\" > /greeting\n\
             COPY . /ctx/\nFROM base AS final\nRUN echo stage=final > /stage\n\
             FROM base AS other\nRUN echo stage=other > /stage\n"
        ),
    );
    // The ignored files are written by `gen` into /workspace (CONTEXT seeding applies the root
    // `.dockerignore` too): only the build's own filtering keeps them out.
    ws.file(".dockerignore", "secret.txt\nkeep/*\n!keep/wanted.txt\n");
    ws.file("plain.txt", "plain\n");

    let run = ws.run(&["--output", "plain"]);
    run.expect(0);
    assert_eq!(
        run.lines_of("gen")[1..3],
        ["keep/unwanted.txt", "secret.txt"],
        "in the workspace"
    );
    let check = run.lines_of("check");
    assert!(check.contains(&"greeting=hi".to_owned()), "{check:?}");
    assert!(
        check.contains(&"stage=final".to_owned()),
        "--target: {check:?}"
    );
    let files: Vec<&str> = check
        .iter()
        .filter(|l| l.starts_with("./"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        files,
        [
            "./.dockerignore",
            "./docker/Dockerfile",
            "./generated.txt",
            "./keep/wanted.txt",
            "./plain.txt",
        ],
        "build context as seen by COPY"
    );
    assert!(!run.all().contains("Unable to find image"), "{}", run.all());
    let id_one = image_id(&one).expect("first tag exists");
    assert_eq!(image_id(&two), Some(id_one), "both tags name one image");
}

#[test]
fn a_step_runs_the_image_an_earlier_step_rebuilt_under_the_same_tag() {
    // Step containers are created ahead of their steps (exec::precreate); `check` is created
    // while `build` runs, from the tag's old image, and must still run the rebuilt one.
    let _engine = need_docker();
    let mut images = Images::default();
    let tag = images.tag(&format!("{}:latest", unique("trtest-rebuilt")));
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: build
    build: -t {tag} .
  - id: check
    cmd: {tag} cat /marker
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo rebuilt > /marker\n"),
    );
    let run = ws.run(&["--output", "plain"]);
    run.expect(0);
    assert!(
        run.lines_of("check").contains(&"rebuilt".to_owned()),
        "{}",
        run.all()
    );
}

// ---------------------------------------------------------------------------------------------
// cmd

#[test]
fn cmd_steps_honour_every_option() {
    let _engine = need_docker();
    let port = free_port();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
env:
  - A=task
  - B=task
volumes:
  - name: sv
    secret:
      hello.txt: aGVsbG8gd29ybGQ=
steps:
  - id: envs
    cmd: {BUSYBOX} sh -c 'echo "A=$A B=$B C=$C HOME=$HOME PWD=$(pwd)"; test -f /acb/home/.docker/config.json && echo config-present'
    env: ["B=step", "C=step"]
  - id: ep
    cmd: {BUSYBOX} -c 'echo via-entrypoint'
    entryPoint: sh
  - id: wdrel
    cmd: {BUSYBOX} sh -c 'pwd; echo from-wdrel > marker.txt'
    workingDirectory: sub
  - id: wdabs
    cmd: {BUSYBOX} pwd
    workingDirectory: /tmp
  - id: wdoff
    cmd: {BUSYBOX} pwd
    workingDirectory: sub
    disableWorkingDirectoryOverride: true
  - id: usr
    cmd: {BUSYBOX} id -u
    user: "1234"
  - id: priv
    cmd: {BUSYBOX} sh -c 'ip link add trdummy0 type dummy && echo privileged-ok'
    privileged: true
    ignoreErrors: true
  - id: ports
    cmd: {BUSYBOX} echo ports-ok
    ports: ["127.0.0.1:{port}:80"]
    expose: ["81"]
  - id: hostnet
    cmd: {BUSYBOX} sh -c 'ip -o link | grep -q docker0 && echo host-network'
    network: host
  - id: vol
    cmd: {BUSYBOX} cat /run/sv/hello.txt
    volumeMounts:
      - name: sv
        mountPath: /run/sv
  - id: flags
    cmd: -e X=1 {BUSYBOX} sh -c 'echo X=$X'
  - id: later
    cmd: {BUSYBOX} cat /workspace/sub/marker.txt
"#
    ));
    let run = ws.run(&["--output", "plain"]);
    run.expect(0);
    assert_eq!(
        run.lines_of("envs")[1..3],
        [
            "A=task B=step C=step HOME=/acb/home PWD=/workspace",
            "config-present"
        ],
        "{}",
        run.all()
    );
    assert!(run.has_line("ep", "via-entrypoint"), "{}", run.all());
    assert!(run.has_line("wdrel", "/workspace/sub"), "{}", run.all());
    assert!(run.has_line("wdabs", "/tmp"), "{}", run.all());
    assert!(run.has_line("wdoff", "/"), "{}", run.all());
    assert!(run.has_line("usr", "1234"), "{}", run.all());
    // Privileged containers cannot start in some sandboxes (the engine cannot apply the full
    // capability set); either way the request reached the engine as privileged. The dry-run
    // test checks the flag in the engine call.
    let priv_lines = run.lines_of("priv").join("\n");
    assert!(
        priv_lines.contains("privileged-ok") || priv_lines.contains("unable to apply caps"),
        "{priv_lines}"
    );
    assert!(run.has_line("ports", "ports-ok"), "{}", run.all());
    assert!(run.has_line("hostnet", "host-network"), "{}", run.all());
    assert!(run.has_line("vol", "hello world"), "{}", run.all());
    assert!(run.has_line("flags", "X=1"), "{}", run.all());
    assert!(run.has_line("later", "from-wdrel"), "{}", run.all());
    assert!(leftovers(run.pid).is_empty());
}

/// `docker run` flags written in `cmd` reach the engine: shared memory, ulimits, `--mount`
/// (tmpfs, and a task volume by its task name), IPC mode, CPU and memory limits, `-P`.
#[test]
fn cmd_docker_run_flags_reach_the_engine() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
volumes:
  - name: sv
    secret:
      hello.txt: aGVsbG8gd29ybGQ=
steps:
  - id: limits
    cmd: --shm-size 64m --ulimit nofile=512:512 --mount type=tmpfs,dst=/t --ipc private --cpus 0.5 --memory 64m -P --expose 8080 {BUSYBOX} sh -c 'df -k /dev/shm; echo "nofile=$(ulimit -n)"; mount | grep " /t "; echo "mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"; echo "quota=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"; readlink /proc/1/ns/ipc'
  - id: taskvol
    cmd: --mount type=volume,src=sv,dst=/m,readonly {BUSYBOX} sh -c 'cat /m/hello.txt; echo; touch /m/x 2>/dev/null || echo read-only'
"#
    ));
    let run = ws.run(&["--output", "plain"]);
    run.expect(0);
    let lines = run.lines_of("limits").join("\n");
    // `df -k`: 64 MiB of shared memory is 65536 1K-blocks.
    assert!(
        lines
            .lines()
            .any(|l| l.contains("shm") && l.split_whitespace().any(|w| w == "65536")),
        "{lines}"
    );
    assert!(lines.contains("nofile=512"), "{lines}");
    assert!(lines.contains("tmpfs on /t type tmpfs"), "{lines}");
    assert!(lines.contains(&format!("mem={}", 64 << 20)), "{lines}");
    // 0.5 CPU: a quota of half the (default 100 ms) period, cgroup v2 or v1.
    assert!(
        lines.contains("quota=50000 100000") || lines.contains("quota=50000"),
        "{lines}"
    );
    assert!(lines.contains("ipc:["), "{lines}");
    assert!(run.has_line("taskvol", "hello world"), "{}", run.all());
    assert!(run.has_line("taskvol", "read-only"), "{}", run.all());
    assert!(leftovers(run.pid).is_empty());
}

// ---------------------------------------------------------------------------------------------
// push

#[test]
fn push_to_open_and_authenticated_registries_prints_the_registry_digest() {
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trtest-push");
    let open = images.add(&format!("127.0.0.1:5000/{repo}"));
    let auth = images.add(&format!("127.0.0.1:5001/{repo}:v1"));
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: build
    build: -t {open} -t {auth} .
  - id: login
    cmd: {BUSYBOX} sh -c 'sed -n "s/.*\"127.0.0.1:5001\":{{\"auth\":\"\([^\"]*\)\".*/\1/p" /acb/home/.docker/config.json | base64 -d; echo'
  - id: push
    push: ["{auth}", "{open}"]
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nLABEL trtest={repo}\n"),
    );
    let run = ws.run(&["--output", "json", "--credential", AUTH_CREDENTIAL]);
    run.expect(0);
    // The run's docker config holds the login; its password is masked like any secret.
    assert_eq!(run.logs_of("login"), ["taskrun:***"], "{}", run.all());
    assert!(!run.all().contains("taskrun-pass"));
    let finished = run.finished();
    assert_eq!(finished["success"], true);
    let push = finished["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "push")
        .unwrap();
    let pushed: Vec<&str> = push["pushed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(pushed.len(), 2, "{pushed:?}");
    let auth_digest = manifest_digest("127.0.0.1:5001", &repo, "v1", Some("taskrun:taskrun-pass"))
        .expect("image in the authenticated registry");
    let open_digest = manifest_digest("127.0.0.1:5000", &repo, "latest", None)
        .expect("image in the open registry");
    assert_eq!(pushed[0], format!("{auth}@{auth_digest}"));
    // `:latest` is not appended to a reference that has a registry port but no tag (acb).
    assert_eq!(pushed[1], format!("{open}@{open_digest}"));
    let (_, repo_digests) = try_docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &open,
    ]);
    assert!(repo_digests.contains(&open_digest), "{repo_digests}");
}

#[test]
fn push_with_a_wrong_password_fails_without_showing_it() {
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trtest-badauth");
    let image = images.add(&format!("127.0.0.1:5001/{repo}:v1"));
    let password = unique("Wrong-Pass");
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: build
    build: -t {image} .
  - id: push
    push: ["{image}"]
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nLABEL trtest={repo}\n"),
    );
    let credential =
        format!(r#"{{"registry":"127.0.0.1:5001","username":"taskrun","password":"{password}"}}"#);
    let run = ws.run(&["--output", "plain", "--credential", &credential]);
    run.expect(1);
    assert!(
        run.all()
            .contains("registry `127.0.0.1:5001` refused the credentials"),
        "{}",
        run.all()
    );
    assert!(!run.all().contains(&password), "{}", run.all());
    assert_eq!(
        manifest_digest("127.0.0.1:5001", &repo, "v1", Some("taskrun:taskrun-pass")),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// scheduling, failure, timeouts, retries

#[test]
fn parallel_branches_run_at_the_same_time() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: left
    cmd: {BUSYBOX} sleep 2
    when: ["-"]
  - id: right
    cmd: {BUSYBOX} sleep 2
    when: ["-"]
  - id: join
    cmd: {BUSYBOX} echo joined
    when: [left, right]
"#
    ));
    let run = ws.run(&["--output", "json"]);
    run.expect(0);
    let events = run.events();
    let position = |event: &str, step: &str| {
        events
            .iter()
            .position(|e| {
                e["event"] == event && e["step"].as_str().or(e["id"].as_str()) == Some(step)
            })
            .unwrap_or_else(|| panic!("no {event} for {step}: {}", run.stdout))
    };
    let starts = [
        position("step_started", "left"),
        position("step_started", "right"),
    ];
    let finishes = [
        position("step_finished", "left"),
        position("step_finished", "right"),
    ];
    assert!(
        starts.iter().max() < finishes.iter().min(),
        "both branches start before either finishes: {}",
        run.stdout
    );
    assert!(position("step_started", "join") > *finishes.iter().max().unwrap());
    assert_eq!(run.logs_of("join"), ["joined"]);
}

#[test]
fn a_failure_skips_dependants_cancels_running_steps_and_exits_1() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: slow
    cmd: {BUSYBOX} sh -c 'touch /workspace/slow-up; sleep 30'
    when: ["-"]
  - id: bad
    cmd: {BUSYBOX} sh -c 'until [ -f /workspace/slow-up ]; do sleep 0.1; done; exit 3'
    when: ["-"]
  - id: after
    cmd: {BUSYBOX} echo never
"#
    ));
    // (`bad` fails only once `slow` is surely running.)
    let run = ws.run(&["--output", "json"]);
    run.expect(1);
    let statuses = run.statuses();
    assert_eq!(statuses["bad"], "failed");
    assert_eq!(statuses["slow"], "cancelled");
    assert_eq!(statuses["after"], "skipped");
    let finished = run.finished();
    assert_eq!(finished["success"], false);
    assert!(
        finished["error"]
            .as_str()
            .unwrap()
            .contains("failed to run step ID: bad"),
        "{finished}"
    );
    assert!(run.logs_of("after").is_empty());
    assert!(leftovers(run.pid).is_empty());
}

#[test]
fn ignore_errors_lets_the_run_continue_and_succeed() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: meh
    cmd: {BUSYBOX} sh -c 'exit 4'
    ignoreErrors: true
  - id: next
    cmd: {BUSYBOX} echo still-running
"#
    ));
    let run = ws.run(&["--output", "json"]);
    run.expect(0);
    assert_eq!(run.finished()["success"], true);
    let statuses = run.statuses();
    assert_eq!(statuses["meh"], "ignored");
    assert_eq!(statuses["next"], "succeeded");
    assert_eq!(run.logs_of("next"), ["still-running"]);
    assert!(
        run.stdout
            .contains("but is set to ignore errors. Continuing...")
    );
}

#[test]
fn a_step_timeout_kills_the_container_and_fails_the_run() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: sleepy
    cmd: {BUSYBOX} sleep 30
    timeout: 2
"#
    ));
    let run = ws.run(&["--output", "json"]);
    run.expect(1);
    assert_eq!(run.statuses()["sleepy"], "timedout");
    assert!(
        run.finished()["error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{}",
        run.stdout
    );
    assert!(leftovers(run.pid).is_empty());
}

#[test]
fn a_timed_out_container_is_gone_before_later_steps_run() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: sleepy
    cmd: {BUSYBOX} sleep 30
    timeout: 2
    ignoreErrors: true
  - id: next
    cmd: {BUSYBOX} sh -c 'echo next-running; sleep 5'
"#
    ));
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for("[next] next-running");
    let (ok, out) = try_docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=io.taskrun.pid={}", live.pid()),
        "--filter",
        "label=io.taskrun.step=sleepy",
        "--format",
        "{{.Names}} {{.Status}}",
    ]);
    assert!(ok, "{out}");
    assert_eq!(
        out.trim(),
        "",
        "the timed-out step's container still exists"
    );
    let run = live.finish();
    run.expect(0);
    assert!(
        run.stdout.contains("[sleepy] failed (ignored)")
            && run.stdout.contains("timed out after 2s"),
        "{}",
        run.stdout
    );
}

#[test]
fn retries_retry_on_errors_repeat_and_start_delay() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: flaky
    cmd: {BUSYBOX} sh -c 'if [ -f /workspace/flaky ]; then echo second-try; else touch /workspace/flaky; echo first-try; exit 1; fi'
    retries: 2
    retryDelay: 1
  - id: marked
    cmd: {BUSYBOX} sh -c 'if [ -f /workspace/marked ]; then echo ok; else touch /workspace/marked; echo TRANSIENT-ERROR; exit 1; fi'
    retries: 1
    retryDelay: 1
    retryOnErrors: ["TRANSIENT"]
  - id: unmarked
    cmd: {BUSYBOX} sh -c 'echo some other failure; exit 1'
    retries: 3
    retryDelay: 1
    retryOnErrors: ["TRANSIENT"]
    ignoreErrors: true
  - id: rep
    cmd: {BUSYBOX} sh -c 'echo x >> /workspace/reps; wc -l < /workspace/reps'
    repeat: 2
  - id: delayed
    cmd: {BUSYBOX} echo delayed-ran
    startDelay: 1
"#
    ));
    let run = ws.run(&["--output", "json"]);
    run.expect(0);
    let attempts = |step: &str| {
        run.events()
            .iter()
            .filter(|e| e["event"] == "step_started" && e["step"] == step)
            .count()
    };
    assert_eq!(attempts("flaky"), 2);
    assert_eq!(run.logs_of("flaky"), ["first-try", "second-try"]);
    assert_eq!(
        attempts("marked"),
        2,
        "the marker was in the output: retried"
    );
    assert_eq!(attempts("unmarked"), 1, "no marker in the output: no retry");
    assert_eq!(run.logs_of("unmarked"), ["some other failure"]);
    assert_eq!(attempts("rep"), 3, "repeat: 2 runs three times");
    let reps: Vec<String> = run
        .logs_of("rep")
        .iter()
        .map(|l| l.trim().to_owned())
        .collect();
    assert_eq!(reps, ["1", "2", "3"]);
    assert_eq!(run.logs_of("delayed"), ["delayed-ran"]);
    assert!(
        run.events().iter().any(|e| e["event"] == "step_message"
            && e["step"] == "delayed"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("Waiting 1 seconds before executing step ID: delayed")),
        "{}",
        run.stdout
    );
    let statuses = run.statuses();
    assert_eq!(statuses["flaky"], "succeeded");
    assert_eq!(statuses["marked"], "succeeded");
    assert_eq!(statuses["unmarked"], "ignored");
}

// ---------------------------------------------------------------------------------------------
// detach, concurrency

const SERVICE_TASK: &str = r#"version: v1.0.0
steps:
  - id: web
    cmd: taskrun-busybox:latest sh -c 'mkdir -p /www && echo hello-from-{{.Run.ID}} > /www/index.html && httpd -f -p 80 -h /www'
    detach: true
  - id: client
    cmd: taskrun-busybox:latest sh -c 'for i in $(seq 1 100); do wget -q -O - http://web/ && exit 0; sleep 0.2; done; exit 1'
  - id: mine
    cmd: taskrun-busybox:latest sh -c 'echo {{.Run.ID}} > /workspace/id; cat /workspace/id'
    keep: true
"#;

#[test]
fn a_detached_service_is_reached_by_step_id_and_removed_after_the_run() {
    let _engine = need_docker();
    let ws = Ws::new(SERVICE_TASK);
    let id = unique("det");
    let run = ws.run(&["--output", "plain", "--run-id", &id]);
    run.expect(0);
    assert!(
        run.has_line("client", &format!("hello-from-{id}")),
        "{}",
        run.all()
    );
    assert!(leftovers(run.pid).is_empty(), "{:?}", leftovers(run.pid));
}

#[test]
fn concurrent_runs_of_one_file_do_not_collide() {
    let _engine = need_docker();
    let ws = Ws::new(SERVICE_TASK);
    let ids = [unique("cc"), unique("cc")];
    let children: Vec<Child> = ids
        .iter()
        .map(|id| {
            ws.command(&["--output", "plain", "--run-id", id])
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(Run::wait).collect();
    for (run, id) in runs.iter().zip(&ids) {
        run.expect(0);
        assert!(
            run.has_line("client", &format!("hello-from-{id}")),
            "{}",
            run.all()
        );
        assert_eq!(
            run.lines_of("mine")[1],
            *id,
            "each run has its own workspace"
        );
        assert!(leftovers(run.pid).is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// signals

const SLEEPER_TASK: &str = r#"version: v1.0.0
steps:
  - id: sleeper
    cmd: taskrun-busybox:latest sh -c 'echo sleeping; sleep 30'
  - id: after
    cmd: taskrun-busybox:latest echo after
"#;

fn interrupted_run_cleans_up(signal: &str) {
    let _engine = need_docker();
    let ws = Ws::new(SLEEPER_TASK);
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for("[sleeper] sleeping");
    assert!(
        !leftovers(live.pid()).is_empty(),
        "the run's resources exist while it runs"
    );
    live.signal(signal);
    let run = live.finish();
    run.expect(130);
    assert!(run.stdout.contains("[sleeper] cancelled"), "{}", run.all());
    assert!(!run.stdout.contains("[after] after"), "{}", run.all());
    assert_eq!(leftovers(run.pid), Vec::<String>::new());
}

#[test]
fn sigint_exits_130_and_removes_everything() {
    interrupted_run_cleans_up("INT");
}

#[test]
fn sigterm_exits_130_and_removes_everything() {
    interrupted_run_cleans_up("TERM");
}

#[test]
fn sigkill_leaves_leftovers_that_the_next_run_removes() {
    let _engine = need_docker_alone();
    let ws = Ws::new(SLEEPER_TASK);
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for("[sleeper] sleeping");
    live.signal("KILL");
    let pid = live.pid();
    let killed = live.finish();
    assert_eq!(killed.code, 137);
    let left = leftovers(pid);
    assert!(
        left.iter().any(|n| n.ends_with("-sleeper"))
            && left.iter().any(|n| n.ends_with("-network"))
            && left.iter().any(|n| n.ends_with("-workspace"))
            && left.iter().any(|n| n.ends_with("-home")),
        "a killed run leaves its container, network and volumes: {left:?}"
    );
    let next = Ws::new(&format!(
        "version: v1.0.0\nsteps:\n  - id: hi\n    cmd: {BUSYBOX} echo hi\n"
    ));
    let run = next.run(&["--output", "plain"]);
    run.expect(0);
    assert!(
        run.stdout
            .contains("leftover resource(s) of interrupted runs"),
        "{}",
        run.all()
    );
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// secrets, output modes

#[test]
fn secrets_are_masked_in_every_output_mode() {
    let _engine = need_docker();
    let set_secret = unique("SetSecretValue");
    let flag_secret = unique("FlagSecretValue");
    let env_secret = unique("EnvSecretValue");
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
secrets:
  - id: kv1
    keyvault: https://myvault.vault.azure.net/secrets/one
  - id: kv2
    keyvault: https://myvault.vault.azure.net/secrets/two
steps:
  - id: leak
    cmd: {BUSYBOX} sh -c 'echo "a={{{{.Values.pw}}}} b={{{{.Secrets.kv1}}}} c={{{{.Secrets.kv2}}}} d=$PW"; echo "{{{{.Secrets.kv1}}}}" >&2'
    env: ["PW={{{{.Values.pw}}}}"]
  - id: fail
    cmd: {BUSYBOX} sh -c 'echo "failing with {{{{.Secrets.kv2}}}}"; exit 1'
"#
    ));
    for mode in ["plain", "human", "json"] {
        let run = ws.run_env(
            &[
                "--output",
                mode,
                "--color",
                "never",
                "--set-secret",
                &format!("pw={set_secret}"),
                "--secret",
                &format!("kv1={flag_secret}"),
            ],
            &[("TASKRUN_SECRET_KV2", &env_secret)],
        );
        run.expect(1);
        let all = run.all();
        for secret in [&set_secret, &flag_secret, &env_secret] {
            assert!(
                !all.contains(secret.as_str()),
                "{mode}: {secret} leaked:\n{all}"
            );
        }
        assert!(all.contains("a=*** b=*** c=*** d=***"), "{mode}:\n{all}");
        assert!(all.contains("failing with ***"), "{mode}:\n{all}");
    }
}

#[test]
fn json_output_is_one_object_per_line_with_a_final_summary() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        r#"version: v1.0.0
steps:
  - id: hello
    cmd: {BUSYBOX} sh -c 'echo out; echo err >&2'
  - id: meh
    cmd: {BUSYBOX} false
    ignoreErrors: true
"#
    ));
    let run = ws.run(&["--output", "json"]);
    run.expect(0);
    let events = run.events();
    assert_eq!(events[0]["event"], "run_started");
    let streams: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"] == "log" && e["step"] == "hello")
        .map(|e| (e["stream"].as_str().unwrap(), e["line"].as_str().unwrap()))
        .collect();
    assert!(streams.contains(&("stdout", "out")), "{streams:?}");
    assert!(streams.contains(&("stderr", "err")), "{streams:?}");
    let finished = run.finished();
    assert_eq!(finished["success"], true);
    assert_eq!(finished["interrupted"], false);
    let statuses = run.statuses();
    assert_eq!(
        statuses,
        BTreeMap::from([
            ("hello".to_owned(), "succeeded".to_owned()),
            ("meh".to_owned(), "ignored".to_owned()),
        ])
    );
    let steps = finished["steps"].as_array().unwrap();
    assert_eq!(steps[0]["exit_code"], 0);
    assert_eq!(steps[1]["exit_code"], 1);
}

// ---------------------------------------------------------------------------------------------
// engine unreachable, dry run

#[test]
fn an_unreachable_engine_exits_3_naming_docker_host() {
    let _engine = need_docker();
    let ws = Ws::new(&format!(
        "version: v1.0.0\nsteps:\n  - id: hi\n    cmd: {BUSYBOX} echo hi\n"
    ));
    let run = ws.run_env(&[], &[("DOCKER_HOST", "unix:///nonexistent.sock")]);
    run.expect(3);
    assert!(run.stderr.contains("/nonexistent.sock"), "{}", run.all());
    assert!(run.stderr.contains("DOCKER_HOST"), "{}", run.all());
}

#[test]
fn dry_run_needs_no_engine_and_prints_plan_and_calls() {
    let _engine = need_docker();
    let ws = Ws::new(
        r#"version: v1.0.0
steps:
  - id: build
    build: -t 127.0.0.1:5000/trtest-dry:v1 .
  - id: priv
    cmd: 127.0.0.1:5000/trtest-dry:v1 echo hi
    privileged: true
  - id: push
    push: ["127.0.0.1:5000/trtest-dry:v1"]
"#,
    );
    ws.file("Dockerfile", &format!("FROM {BUSYBOX}\n"));
    let run = ws.run_env(
        &["--dry-run"],
        &[("DOCKER_HOST", "unix:///nonexistent.sock")],
    );
    run.expect(0);
    assert!(
        run.stdout
            .contains("Engine calls (dry run, nothing was executed):"),
        "{}",
        run.all()
    );
    // No `create_network`: a task without `cmd` steps needs no run network.
    for call in ["create_volume", "build", "push", "remove_volume"] {
        assert!(
            run.stdout.lines().any(|l| l.trim_start().starts_with(call)),
            "no `{call}` call:\n{}",
            run.stdout
        );
    }
    let priv_call = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("run ") && l.contains("-priv "))
        .unwrap_or_else(|| panic!("no run call for priv:\n{}", run.stdout));
    assert!(priv_call.contains(" privileged "), "{priv_call}");
    // The plan lists every step.
    for id in ["build", "priv", "push"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(id)),
            "plan lacks {id}:\n{}",
            run.stdout
        );
    }
    assert!(
        image_id("127.0.0.1:5000/trtest-dry:v1").is_none(),
        "a dry run builds nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// the quick start sample

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn quickstart(break_it: bool) -> (Run, String, Images) {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/quickstart");
    copy_dir(&sample, dir.path());
    if break_it {
        std::fs::write(
            dir.path().join("app/hello.sh"),
            "#!/bin/sh\necho 'Goodbye'\n",
        )
        .unwrap();
    }
    let id = unique("qs");
    let mut images = Images::default();
    images.add(&format!("127.0.0.1:5000/hello-world:{id}"));
    let child = Command::new(bin())
        .arg("-f")
        .arg(dir.path().join("acr-task.yaml"))
        .args([
            "--registry",
            "127.0.0.1:5000",
            "--run-id",
            &id,
            "--output",
            "plain",
        ])
        .arg(dir.path())
        .env("TASKRUN_HOME", dir.path().join(".taskrun"))
        .env_remove("TASKRUN_REGISTRY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (Run::wait(child), id, images)
}

#[test]
fn the_quickstart_sample_builds_tests_and_pushes() {
    let _engine = need_docker();
    let (run, id, _images) = quickstart(false);
    run.expect(0);
    assert!(run.has_line("test", "test passed"), "{}", run.all());
    let digest = manifest_digest("127.0.0.1:5000", "hello-world", &id, None)
        .expect("the image is in the registry");
    assert!(
        run.stdout
            .contains(&format!("pushed 127.0.0.1:5000/hello-world:{id}@{digest}")),
        "{}",
        run.all()
    );
}

#[test]
fn a_failing_quickstart_test_stops_the_push() {
    let _engine = need_docker();
    let (run, id, _images) = quickstart(true);
    run.expect(1);
    assert!(
        run.has_line("test", "test failed: got 'Goodbye'"),
        "{}",
        run.all()
    );
    assert!(!run.stdout.contains("Pushing image"), "{}", run.all());
    let summary: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("push ") || l.starts_with("test "))
        .collect();
    assert!(summary.iter().any(|l| l.contains("skipped")), "{summary:?}");
    assert_eq!(
        manifest_digest("127.0.0.1:5000", "hello-world", &id, None),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// the agent's shell and container names (docs/compat.md "`cmd` lines")

/// The multi-step tutorial of ACR's docs: a detached step stopped, exec'd and read by its id
/// through the docker CLI in a step.
const TUTORIAL_TASK: &str = r#"version: v1.1.0
steps:
  - build: -t {{.Run.Registry}}/hello-world:{{.Run.ID}} .
  - cmd: -t {{.Run.Registry}}/hello-world:{{.Run.ID}}
    id: test
    detach: true
    ports: ["80"]
    env: ["RUNID={{.Run.ID}}"]
  - id: exec
    cmd: docker exec -i test sh -c 'echo "run=$RUNID"' 
  - id: stop
    cmd: docker stop -t 1 test
  - id: logs
    cmd: docker logs test
"#;

#[test]
fn the_tutorial_stops_and_execs_a_step_by_its_id_twice_at_once() {
    let _engine = need_docker();
    let ws = Ws::new(TUTORIAL_TASK);
    ws.file(
        "Dockerfile",
        "FROM BUSYBOX\nCMD [\"sh\", \"-c\", \"echo serving; exec sleep 300\"]\n"
            .replace("BUSYBOX", common::BUSYBOX)
            .as_str(),
    );
    // Each run's `test` container holds its own run id, so a name that reached the other run's
    // container would show the wrong one.
    let ids = [unique("tut"), unique("tut")];
    let children: Vec<Child> = ids
        .iter()
        .map(|id| {
            ws.command(&[
                "--output",
                "plain",
                "--run-id",
                id,
                "--registry",
                "127.0.0.1:5000",
            ])
            .spawn()
            .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(Run::wait).collect();
    let mut images = Images::default();
    for (run, id) in runs.iter().zip(&ids) {
        images.add(&format!("127.0.0.1:5000/hello-world:{id}"));
        run.expect(0);
        assert!(run.has_line("exec", &format!("run={id}")), "{}", run.all());
        assert!(run.has_line("stop", "test"), "{}", run.all());
        assert!(run.has_line("logs", "serving"), "{}", run.all());
        run.left_nothing();
    }
}

#[test]
fn lines_with_host_shell_constructs_run_as_acb_runs_them() {
    let _engine = need_docker();
    let ws = Ws::new(
        r#"version: v1.0.0
steps:
  - id: chain
    cmd: BUSYBOX echo first && echo second on the agent || true
  - id: fails
    cmd: BUSYBOX false || echo recovered
  - id: quiet
    cmd: BUSYBOX echo do-not-show-this > /dev/null; echo after-redirect
  - id: nested
    cmd: BUSYBOX sh -c 'echo "$((6*7))"'
  - id: env
    cmd: BUSYBOX sh -c 'echo "channel=$SLACK_CHANNEL"; echo other=$OTHER'
    env: ['SLACK_CHANNEL="general"', "OTHER='a b'"]
  - id: agent
    cmd: BUSYBOX true; echo "leak=${TASKRUN_TEST_LEAK:-none}" "home=$HOME" "path=$PATH"
  - id: files
    cmd: BUSYBOX sh -c 'echo made > /workspace/made' && echo wrote
  - id: read
    cmd: BUSYBOX cat /workspace/made
  - id: multiline
    cmd: |
      BUSYBOX echo line-one
      echo line-two
"#,
    );
    let run = ws.run_env(
        &["--output", "plain"],
        &[("TASKRUN_TEST_LEAK", "host-secret-value")],
    );
    run.expect(0);
    assert_eq!(
        run.output_of("chain"),
        ["first", "second on the agent"],
        "{}",
        run.all()
    );
    assert_eq!(run.output_of("fails"), ["recovered"], "{}", run.all());
    assert_eq!(run.output_of("quiet"), ["after-redirect"], "{}", run.all());
    assert_eq!(run.output_of("nested"), ["42"], "{}", run.all());
    assert_eq!(
        run.output_of("env"),
        ["channel=general", "other=a b"],
        "{}",
        run.all()
    );
    let agent = run.output_of("agent").join("\n");
    assert!(agent.contains("leak=none"), "{agent}");
    assert!(!run.all().contains("host-secret-value"), "{}", run.all());
    assert!(agent.contains("-agent/home"), "{agent}");
    assert_eq!(run.output_of("files"), ["wrote"], "{}", run.all());
    assert_eq!(run.output_of("read"), ["made"], "{}", run.all());
    assert_eq!(
        run.output_of("multiline"),
        ["line-one", "line-two"],
        "{}",
        run.all()
    );
    run.left_nothing();
}

#[test]
fn a_shell_line_that_fails_or_times_out_takes_its_containers_with_it() {
    let _engine = need_docker();
    let ws = Ws::new(
        r#"version: v1.0.0
steps:
  - id: exit3
    cmd: BUSYBOX sh -c 'exit 3' && echo never
    ignoreErrors: true
  - id: slow
    cmd: BUSYBOX sleep 60 && echo never
    timeout: 3
"#,
    );
    let run = ws.run(&["--output", "plain"]);
    run.expect(1);
    assert!(!run.stdout.contains("never"), "{}", run.all());
    assert!(run.all().contains("exit status 3"), "{}", run.all());
    assert!(run.all().contains("timed out"), "{}", run.all());
    run.left_nothing();
}

#[test]
fn a_shell_line_without_a_docker_cli_is_refused_before_anything_starts() {
    let _engine = need_docker();
    let ws = Ws::new("steps:\n  - cmd: BUSYBOX echo a && echo b\n");
    let run = ws.run_env(
        &["--output", "plain"],
        &[("TASKRUN_DOCKER_CLI", "/nonexistent/docker")],
    );
    run.expect(2)
        .says(&["taskrun::run::agent_shell", "TASKRUN_DOCKER_CLI"]);
    assert!(!run.stdout.contains("started"), "{}", run.all());
}

// ---------------------------------------------------------------------------------------------
// quick entry points: `taskrun build` (az acr build), `--cmd` (az acr run --cmd), where `-f` is
// found (az acr run -f FILE CONTEXT, az acr task create --file --context)

const OPEN_REGISTRY: &str = "127.0.0.1:5000";

/// `taskrun ARGS…` in `dir` (TASKRUN_HOME under it), to completion.
fn taskrun_in(dir: &Path, args: &[&str]) -> Run {
    Run::of(taskrun_command(dir, &dir.join("home")).args(args))
}

#[test]
fn quick_build_pushes_names_relative_to_the_registry_and_masks_secret_build_args() {
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trtest-quick");
    let run_id = unique("qb");
    let pushed = images.add(&format!("{OPEN_REGISTRY}/{repo}:{run_id}"));
    let ws = Ws::new("unused: true\n");
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nARG S\nARG A\nRUN echo \"a=$A\" && echo \"s=$S\"\n"),
    );
    let tag = format!("{repo}:{{{{.Run.ID}}}}");
    let run = taskrun_in(
        ws.path(),
        &[
            "build",
            "-t",
            &tag,
            "--build-arg",
            "A=b: c",
            "--secret-build-arg",
            "S=hush: \"x\"",
            "--run-id",
            &run_id,
            "-r",
            OPEN_REGISTRY,
            "--output",
            "plain",
            "ctx",
        ],
    );
    run.expect(0)
        .says(&[
            "Task: generated quick build task, version v1.1.0",
            "a=b: c",
            "s=***",
        ])
        .left_nothing();
    assert!(
        !run.all().contains("hush"),
        "secret build arg shown\n{}",
        run.all()
    );
    let digest = registry_digest(&pushed);
    assert!(
        run.stdout.contains(&format!("pushed {pushed}@{digest}")),
        "digest {digest}\n{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains(&format!("[push] Successfully pushed image: {pushed}"))
    );
}

#[test]
fn quick_build_no_push_builds_only() {
    let _engine = need_docker();
    let mut images = Images::default();
    let repo = unique("trtest-quick-nopush");
    let local = images.add(&format!("{OPEN_REGISTRY}/{repo}:v1"));
    let ws = Ws::new("unused: true\n");
    ws.file(
        "sub/Build.dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo built\n"),
    );
    let run = taskrun_in(
        ws.path(),
        &[
            "build",
            "--no-push",
            "-t",
            &format!("{repo}:v1"),
            "-f",
            "sub/Build.dockerfile",
            "-r",
            OPEN_REGISTRY,
            "--output",
            "json",
            "ctx",
        ],
    );
    run.expect(0).left_nothing();
    assert_eq!(
        run.statuses(),
        BTreeMap::from([("build".to_owned(), "succeeded".to_owned())])
    );
    assert!(image_id(&local).is_some(), "built locally");
    assert_eq!(
        manifest_digest(OPEN_REGISTRY, &repo, "v1", None),
        None,
        "not pushed"
    );
}

#[test]
fn quick_run_with_dev_null_context_runs_in_an_empty_workspace() {
    let _engine = need_docker();
    let dir = tempfile::tempdir().unwrap();
    let run = taskrun_in(
        dir.path(),
        &[
            "--cmd",
            &format!("{BUSYBOX} sh -c 'echo hi; ls -A /workspace | wc -l'"),
            "/dev/null",
            "--output",
            "plain",
        ],
    );
    run.expect(0)
        .says(&["Task: generated quick run task, version v1.1.0"])
        .left_nothing();
    assert_eq!(run.output_of("acb_step_0"), ["hi", "0"], "{}", run.all());
}

#[test]
fn quick_run_expands_the_registry_alias() {
    let _engine = need_docker();
    let dir = tempfile::tempdir().unwrap();
    let run = taskrun_in(
        dir.path(),
        &[
            "run",
            "--cmd",
            "$Registry/busybox echo hi",
            "-r",
            OPEN_REGISTRY,
            "/dev/null",
            "--output",
            "plain",
        ],
    );
    run.expect(0).left_nothing();
    assert_eq!(run.output_of("acb_step_0"), ["hi"], "{}", run.all());
}

#[test]
fn quick_run_and_a_task_file_together_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = taskrun_in(
        dir.path(),
        &["--cmd", "x", "-f", "acr-task.yaml", "/dev/null"],
    );
    run.expect(2).says(&["--cmd"]);
}

/// A task directory whose CONTEXT holds `acr-task.yaml` (printing `inner`) and whose top holds
/// another `acr-task.yaml` (printing `outer`).
fn two_task_files() -> Ws {
    let ws = Ws::new("steps:\n  - cmd: BUSYBOX echo outer\n");
    ws.file(
        "acr-task.yaml",
        &format!("steps:\n  - id: s\n    cmd: {BUSYBOX} echo inner\n"),
    );
    ws
}

#[test]
fn a_relative_task_file_is_found_in_the_context_first() {
    let _engine = need_docker();
    let ws = two_task_files();
    let run = taskrun_in(
        ws.path(),
        &["-f", "acr-task.yaml", "ctx", "--output", "plain"],
    );
    run.expect(0).says(&["Task file: ctx/acr-task.yaml"]);
    assert_eq!(run.output_of("s"), ["inner"], "{}", run.all());
    // Not in the context: the current directory's (the README's `-f samples/… samples/…`).
    std::fs::write(
        ws.path().join("other.yaml"),
        format!("steps:\n  - id: o\n    cmd: {BUSYBOX} echo other\n"),
    )
    .unwrap();
    let run = taskrun_in(ws.path(), &["-f", "other.yaml", "ctx", "--output", "plain"]);
    run.expect(0).says(&["Task file: other.yaml"]);
    assert_eq!(run.output_of("o"), ["other"], "{}", run.all());
    // Neither: both places are named.
    let run = taskrun_in(ws.path(), &["-f", "missing.yaml", "ctx"]);
    run.expect(2).says(&["ctx/missing.yaml", "neither has it"]);
}

#[test]
fn a_task_file_is_read_from_standard_input() {
    use std::io::Write;
    let _engine = need_docker();
    let ws = two_task_files();
    let mut child = taskrun_command(ws.path(), &ws.path().join("home"))
        .args(["-f", "-", "ctx", "--output", "plain"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("steps:\n  - id: piped\n    cmd: {BUSYBOX} echo from-stdin\n").as_bytes(),
        )
        .unwrap();
    let run = Run::wait(child);
    run.expect(0).says(&["Task file: (stdin)"]);
    assert_eq!(run.output_of("piped"), ["from-stdin"], "{}", run.all());
}

#[test]
fn a_named_task_created_from_another_directory_finds_its_file_in_the_context() {
    let _engine = need_docker();
    let ws = two_task_files();
    let elsewhere = ws.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let home = ws.path().join("home");
    let ctx = ws.ctx();
    let create = Run::of(taskrun_command(&elsewhere, &home).args([
        "task",
        "create",
        "-n",
        "quick-ctx",
        "--context",
        ctx.to_str().unwrap(),
        "-f",
        "acr-task.yaml",
    ]));
    create.expect(0);
    let run = Run::of(taskrun_command(&elsewhere, &home).args([
        "task",
        "run",
        "-n",
        "quick-ctx",
        "--output",
        "plain",
    ]));
    run.expect(0);
    assert_eq!(run.output_of("s"), ["inner"], "{}", run.all());
}

/// Every log line carries its real stream: a container's stderr, a classic build's `RUN`
/// stderr (the daemon wraps it in colour escapes, which are removed), a BuildKit build's, and
/// what the agent's shell and its containers print.
#[test]
fn log_lines_carry_their_real_stream() {
    let _engine = need_docker();
    let mut images = Images::default();
    let name = unique("trtest-streams");
    let classic = images.add(&format!("{name}:classic"));
    let kit = images.add(&format!("{name}:kit"));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: run
    cmd: {BUSYBOX} sh -c 'echo run-out; echo run-err 1>&2'
  - id: classic
    build: -t {classic} --no-cache .
  - id: kit
    build: -t {kit} --no-cache .
    env: [DOCKER_BUILDKIT=1]
  - id: shell
    cmd: {BUSYBOX} sh -c 'echo sh-err 1>&2' && echo agent-out
"#
    ));
    ws.file(
        "Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo build-out && echo build-err 1>&2\n"),
    );
    let run = ws.run(&["--output", "json"]);
    run.expect(0);
    let stream_of = |step: &str, text: &str| -> Vec<String> {
        run.events()
            .iter()
            .filter(|e| {
                e["event"] == "log"
                    && e["step"] == step
                    && e["line"].as_str().unwrap().ends_with(text)
            })
            .map(|e| e["stream"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(stream_of("run", "run-out"), ["stdout"]);
    assert_eq!(stream_of("run", "run-err"), ["stderr"]);
    assert_eq!(stream_of("classic", "build-out"), ["stdout"]);
    assert_eq!(stream_of("classic", "build-err"), ["stderr"]);
    assert_eq!(stream_of("kit", "build-out"), ["stdout"]);
    assert_eq!(stream_of("kit", "build-err"), ["stderr"]);
    assert_eq!(stream_of("shell", "sh-err"), ["stderr"]);
    assert_eq!(stream_of("shell", "agent-out"), ["stdout"]);
    assert!(!run.stdout.contains("\\u001b[91m"), "{}", run.all());
}

#[test]
fn build_resource_flags_reach_the_run_containers_and_iidfile_is_written_to_the_workspace() {
    let _engine = need_docker();
    let mut images = Images::default();
    let image = images.add(&format!("{}:1", unique("trtest-buildflags")));
    let squashed = images.add(&format!("{}:1", unique("trtest-squash")));
    let ws = Ws::new(&format!(
        r#"version: v1.1.0
steps:
  - id: build
    build: -t {image} --no-cache --iidfile out/image.id -m 256m --memory-swap -1 --shm-size 32m --ulimit nofile=777:777 --cpu-shares 512 --compress .
  - id: check
    cmd: {BUSYBOX} cat out/image.id
  - id: outside
    build: -t {image} --iidfile /tmp/image.id .
  - id: squash
    ignoreErrors: true
    build: -t {squashed} --squash .
"#
    ));
    ws.file(
        "Dockerfile",
        &format!(
            "FROM {BUSYBOX}\nRUN echo \"nofile=$(ulimit -n)\"; echo \"shm=$(df -k /dev/shm | tail -1)\"; \
             echo \"mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)\"; \
             echo \"shares=$(cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || echo v2)\"\n"
        ),
    );
    let run = ws.run(&["--output", "plain"]);
    run.expect(0);
    let built = run.lines_of("build");
    for want in ["nofile=777", "mem=268435456"] {
        assert!(built.iter().any(|l| l == want), "{want}: {built:?}");
    }
    assert!(
        built
            .iter()
            .any(|l| l.starts_with("shm=") && l.contains(" 32768 ")),
        "{built:?}"
    );
    assert!(
        built.iter().any(|l| l == "shares=512" || l == "shares=v2"),
        "{built:?}"
    );
    // The image id, as `docker build --iidfile` writes it.
    let id = common::docker(&["image", "inspect", "-f", "{{.Id}}", &image]);
    assert_eq!(run.output_of("check"), [id.trim()], "{}", run.all());
    run.says(&["--iidfile /tmp/image.id: /tmp/image.id is outside /workspace"]);
    // The engine decides about --squash (this one has no experimental features).
    let squash = run.lines_of("squash");
    assert!(
        squash.iter().any(|l| l.contains("experimental")),
        "{squash:?}"
    );
}
