//! Step containers started ahead at the gate (`engine::gate`), against the REAL Docker engine:
//! a step whose container was started while earlier steps ran must behave exactly as one
//! started when it is due. Each task here runs twice, with the gate and with
//! `TASKRUN_START_AHEAD=0`, and what every step printed is compared.
//!
//! Needs `scripts/test-env.sh`; FAILS when the engine is unavailable, never skips.

use crate::common;

use std::time::{Duration, Instant};

use common::{BUSYBOX, Images, Run, Ws, docker, docker_in, need_docker};

/// What each step printed, stderr and stdout lines sorted (their interleaving is the
/// engine's), for steps `ids`; taskrun's own lines (durations, container names) left out.
fn printed(run: &Run, ids: &[&str]) -> Vec<(String, Vec<String>)> {
    ids.iter()
        .map(|id| {
            let mut lines: Vec<String> = run
                .lines_of(id)
                .into_iter()
                .filter(|l| {
                    l != "started"
                        && !l.starts_with("succeeded after ")
                        && !l.starts_with("failed after ")
                        && !l.starts_with("failed (ignored) after ")
                        && !l.starts_with("Step ID: ")
                })
                .collect();
            lines.sort();
            (id.to_string(), lines)
        })
        .collect()
}

/// The containers of the run of `pid` started at the gate, polled for up to 20 s until one is
/// named `…-<step>`.
fn gated_containers(pid: u32, step: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = docker(&[
            "ps",
            "--no-trunc",
            "--filter",
            &format!("label=io.taskrun.pid={pid}"),
            "--format",
            "{{.Names}} {{.Command}}",
        ]);
        let gated: Vec<String> = listed
            .lines()
            .filter(|l| l.contains("/.taskrun-gate/gate"))
            .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
            .collect();
        let suffix = format!("-{step}");
        if gated.iter().any(|n| n.ends_with(&suffix)) || Instant::now() > deadline {
            return gated;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn steps_started_ahead_behave_as_steps_started_when_due() {
    let _engine = need_docker();
    let mut images = Images::default();
    // An image with its own ENTRYPOINT and CMD, made before the run (so it can be gated).
    let defaults = images.add(&common::unique("trtest-gate-defaults"));
    docker_in(
        None,
        &["build", "-q", "-t", &defaults, "-"],
        Some(
            format!(
                "FROM {BUSYBOX}\nENV FROM_IMAGE=yes\nENTRYPOINT [\"echo\", \"entry\"]\nCMD [\"default\"]\n"
            )
            .as_bytes(),
        ),
    );
    let ws = Ws::new(&format!(
        r##"version: v1.1.0
steps:
  - id: first
    cmd: BUSYBOX sh -c 'echo "#!/bin/sh" > run.sh; echo "echo script ran with \$1 in \$(pwd)" >> run.sh; chmod +x run.sh; sleep 5'
  - id: relative
    cmd: BUSYBOX ./run.sh one
  - id: lookup
    env: ["PATH=/workspace:/bin"]
    cmd: BUSYBOX run.sh two
  - id: facts
    user: "1000"
    workingDirectory: /tmp
    env: ["GREETING='hi there'"]
    ignoreErrors: true
    cmd: BUSYBOX sh -c 'echo stdin=$(readlink /proc/self/fd/0); echo pid1=$(tr "\0" " " < /proc/1/cmdline); echo user=$(id -u) dir=$(pwd) greeting="$GREETING"; echo to stderr >&2; exit 3'
  - id: image-defaults
    cmd: {defaults}
  - id: image-entrypoint
    cmd: {defaults} given
  - id: entrypoint-override
    entryPoint: sh
    cmd: {defaults} -c 'echo overridden $FROM_IMAGE'
  - id: missing
    ignoreErrors: true
    cmd: BUSYBOX no-such-program
"##
    ));
    let ids = [
        "first",
        "relative",
        "lookup",
        "facts",
        "image-defaults",
        "image-entrypoint",
        "entrypoint-override",
        "missing",
    ];

    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for("[first] started");
    // While `first` sleeps, the next steps' containers are running, held at the gate.
    let gated = gated_containers(live.pid(), "relative");
    assert!(
        gated.iter().any(|n| n.ends_with("-relative")),
        "no container started ahead: {gated:?}"
    );
    let ahead = live.finish();
    ahead.expect(0).left_nothing();

    let due = ws.run_env(&["--output", "plain"], &[("TASKRUN_START_AHEAD", "0")]);
    due.expect(0).left_nothing();
    assert_eq!(
        printed(&ahead, &ids),
        printed(&due, &ids),
        "{}\n{}",
        ahead.all(),
        due.all()
    );

    // And what they printed is what each step should print.
    assert_eq!(
        ahead.output_of("relative"),
        ["script ran with one in /workspace"]
    );
    assert_eq!(
        ahead.output_of("lookup"),
        ["script ran with two in /workspace"]
    );
    let facts = ahead.lines_of("facts");
    for line in [
        "stdin=/dev/null",
        "user=1000 dir=/tmp greeting=hi there",
        "to stderr",
    ] {
        assert!(facts.iter().any(|l| l == line), "no `{line}` in {facts:?}");
    }
    // PID 1 is the step's program, not the gate.
    assert!(
        facts
            .iter()
            .any(|l| l.starts_with("pid1=sh -c echo stdin=")),
        "{facts:?}"
    );
    assert!(
        facts
            .iter()
            .any(|l| l.starts_with("failed (ignored) after ") && l.contains("(exit code 3)")),
        "{facts:?}"
    );
    assert_eq!(ahead.output_of("image-defaults"), ["entry default"]);
    assert_eq!(ahead.output_of("image-entrypoint"), ["entry given"]);
    assert_eq!(ahead.output_of("entrypoint-override"), ["overridden yes"]);
    // A program that cannot be executed: the engine's own error, as without the gate.
    ahead.says(&["executable file not found in $PATH"]);
    assert!(!ahead.all().contains("taskrun-gate:"), "{}", ahead.all());
}

#[test]
fn containers_started_ahead_for_steps_that_never_run_are_removed() {
    let _engine = need_docker();
    let ws = Ws::new(
        r#"version: v1.1.0
steps:
  - id: fails
    cmd: BUSYBOX sh -c 'sleep 4; exit 1'
  - id: never1
    cmd: BUSYBOX echo never
  - id: never2
    cmd: BUSYBOX echo never
"#,
    );
    let mut live = ws.start(&["--output", "plain"]);
    live.wait_for("[fails] started");
    let gated = gated_containers(live.pid(), "never1");
    assert!(gated.iter().any(|n| n.ends_with("-never1")), "{gated:?}");
    let run = live.finish();
    run.expect(1).left_nothing();
    assert!(!run.stdout.contains("never\n"), "{}", run.all());
}

#[test]
fn keep_workspace_keeps_the_workspace_and_home_volumes_but_not_the_gate() {
    let _engine = need_docker();
    let ws = Ws::new(
        r#"version: v1.1.0
steps:
  - id: write
    cmd: BUSYBOX sh -c 'echo kept > /workspace/kept.txt'
  - id: read
    cmd: BUSYBOX cat /workspace/kept.txt
"#,
    );
    let run = ws.run(&["--output", "plain", "--keep-workspace"]);
    run.expect(0)
        .says(&["Kept volumes (--keep-workspace): ", "docker volume rm "]);
    // The next run removes leftovers of runs whose process is gone, but not what was kept.
    ws.run(&["--output", "plain"]).expect(0);
    let mut left = common::leftovers(run.pid);
    left.sort();
    for name in &left {
        docker(&["volume", "rm", name]);
    }
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].ends_with("-home") && left[1].ends_with("-workspace"),
        "{left:?}"
    );
    assert_eq!(run.output_of("read"), ["kept"]);
}
