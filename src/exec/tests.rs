//! Executor tests on the fake engine: ordering, parallelism, failure propagation, retries,
//! repeat, timeouts, interrupts and cleanup, without Docker (the same behaviours are tested on
//! the real engine in tests/it/run_engine.rs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::engine::LogStream;
use crate::engine::fake::{Call, FakeEngine, Outcome};
use crate::source::Source;

#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl Events {
    fn list(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }
}

impl Reporter for Events {
    fn run_started(&self, _: &str, _: &[String]) {}
    fn run_message(&self, _: &str) {}
    fn step_started(&self, step: &str, attempt: u64) {
        self.push(format!("start {step} {attempt}"));
    }
    fn step_line(&self, step: &str, _: LogStream, line: &str) {
        self.push(format!("line {step} {line}"));
    }
    fn step_message(&self, _: &str, _: &str) {}
    fn step_finished(&self, r: &StepResult) {
        self.push(format!("end {} {}", r.id, r.status.as_str()));
    }
    fn run_finished(&self, _: &RunSummary) {}
}

fn task(yaml: &str) -> Task {
    let src = Source::new("t.yaml", yaml);
    let (file, problems) = crate::syntax::parse(&src);
    assert!(!problems.has_errors(), "{problems:?}");
    let (task, problems) = crate::validate::validate(&file.expect("file"), &src);
    assert!(!problems.has_errors(), "{problems:?}");
    task.expect("task")
}

fn options() -> Arc<RunOptions> {
    options_in(std::env::temp_dir().join(format!("taskrun-exec-test-{}", std::process::id())))
}

fn options_in(context_dir: std::path::PathBuf) -> Arc<RunOptions> {
    Arc::new(RunOptions {
        run_id: "ca1".into(),
        key: RunKey::generate(),
        context_dir,
        max_parallel: None,
        keep_workspace: false,
        credentials: Credentials::default(),
        login_registries: Vec::new(),
        engine_socket: Some("/var/run/docker.sock".into()),
        git_head: String::new(),
        insecure_registries: Vec::new(),
        docker_cli: None,
        dry_run: false,
        mount_proxy: true,
        timeout: None,
        host_context: true,
        run_registry: String::new(),
        task_name: String::new(),
        task_source: String::new(),
    })
}

async fn run_with(
    engine: &FakeEngine,
    yaml: &str,
    interrupt: CancellationToken,
) -> (RunSummary, Vec<String>) {
    run_with_options(engine, yaml, interrupt, options()).await
}

async fn run_with_options(
    engine: &FakeEngine,
    yaml: &str,
    interrupt: CancellationToken,
    opts: Arc<RunOptions>,
) -> (RunSummary, Vec<String>) {
    std::fs::create_dir_all(&opts.context_dir).expect("context dir");
    let task = Arc::new(task(yaml));
    let plan = Plan::new(&task);
    let events = Arc::new(Events::default());
    let summary = run(
        engine.clone(),
        task,
        &plan,
        opts,
        events.clone() as Arc<dyn Reporter>,
        interrupt,
    )
    .await;
    (summary, events.list())
}

fn statuses(s: &RunSummary) -> Vec<(&str, StepStatus)> {
    s.steps.iter().map(|r| (r.id.as_str(), r.status)).collect()
}

fn runs(engine: &FakeEngine) -> Vec<String> {
    engine
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Run(spec) => Some(spec.network_aliases.first().cloned().unwrap_or(spec.name)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn sequential_steps_share_workspace_network_and_are_cleaned_up() {
    let engine = FakeEngine::new();
    engine.script("a", Outcome::exit(0).stdout("hello"));
    let (summary, events) = run_with(
        &engine,
        "steps:\n  - id: a\n    cmd: img echo hello\n  - id: b\n    cmd: img true\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    assert_eq!(runs(&engine), ["a", "b"]);
    assert!(events.contains(&"line a hello".to_owned()));
    let spec = engine
        .calls()
        .into_iter()
        .find_map(|c| match c {
            Call::Run(s) => Some(s),
            _ => None,
        })
        .expect("a run");
    assert_eq!(spec.working_dir.as_deref(), Some("/workspace"));
    assert!(spec.env.contains(&"HOME=/acb/home".to_owned()));
    assert_eq!(spec.cmd, ["echo", "hello"]);
    let t = engine.transcript().join("\n");
    assert!(t.contains("create_network"), "{t}");
    assert!(t.contains("remove_network"), "{t}");
    assert!(t.contains("remove_volume"), "{t}");
}

#[tokio::test]
async fn parallel_steps_start_before_either_finishes() {
    let engine = FakeEngine::new();
    engine.script("a", Outcome::exit(0).delayed(Duration::from_millis(300)));
    engine.script("b", Outcome::exit(0).delayed(Duration::from_millis(300)));
    let (summary, events) = run_with(
        &engine,
        "steps:\n  - id: a\n    when: ['-']\n    cmd: img\n  - id: b\n    when: ['-']\n    cmd: img\n  - id: c\n    when: [a, b]\n    cmd: img\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success);
    let pos = |e: &str| events.iter().position(|x| x == e).expect(e);
    assert!(pos("start a 1") < pos("end a succeeded"));
    assert!(pos("start b 1") < pos("end a succeeded"));
    assert!(pos("start a 1") < pos("end b succeeded"));
    assert!(pos("end a succeeded") < pos("start c 1"));
    assert!(pos("end b succeeded") < pos("start c 1"));
}

#[tokio::test]
async fn failure_skips_dependants_and_cancels_running_steps() {
    let engine = FakeEngine::new();
    engine.script("bad", Outcome::exit(3));
    engine.script("slow", Outcome::exit(0).delayed(Duration::from_secs(30)));
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: slow\n    when: ['-']\n    cmd: img\n  - id: bad\n    when: ['-']\n    cmd: img\n  - id: after\n    cmd: img\n",
        CancellationToken::new(),
    )
    .await;
    assert!(!summary.success);
    assert_eq!(
        statuses(&summary),
        [
            ("slow", StepStatus::Cancelled),
            ("bad", StepStatus::Failed),
            ("after", StepStatus::Skipped),
        ]
    );
    assert_eq!(
        summary.error,
        Some(crate::exec::RunError::StepFailed {
            step: "bad".into(),
            error: Box::new(crate::exec::StepError::Failed {
                message: "exit status 3".into(),
                exit_code: Some(3),
            }),
        })
    );
    assert_eq!(
        summary.error.map(|e| e.to_string()).as_deref(),
        Some("failed to run step ID: bad: exit status 3")
    );
    assert_eq!(
        summary.steps[2].error,
        Some(crate::exec::StepError::DependencyFailed)
    );
    assert!(engine.transcript().iter().any(|l| l.starts_with("kill ")));
}

#[tokio::test]
async fn ignore_errors_lets_the_run_succeed() {
    let engine = FakeEngine::new();
    engine.script("bad", Outcome::exit(1));
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: bad\n    cmd: img\n    ignoreErrors: true\n  - id: next\n    cmd: img\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success);
    assert_eq!(
        statuses(&summary),
        [
            ("bad", StepStatus::Ignored),
            ("next", StepStatus::Succeeded)
        ]
    );
}

#[tokio::test]
async fn retries_and_repeat_run_the_container_again() {
    let engine = FakeEngine::new();
    engine.script("flaky", Outcome::exit(1));
    let (summary, events) = run_with(
        &engine,
        "steps:\n  - id: flaky\n    cmd: img\n    retries: 2\n    retryDelay: 1\n",
        CancellationToken::new(),
    )
    .await;
    assert!(!summary.success);
    assert_eq!(runs(&engine).len(), 3);
    assert!(events.contains(&"start flaky 3".to_owned()));
    let names: Vec<String> = engine
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Run(s) => Some(s.name),
            _ => None,
        })
        .collect();
    assert!(
        names[1].ends_with("-2") && names[2].ends_with("-3"),
        "{names:?}"
    );

    let engine = FakeEngine::new();
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: twice\n    cmd: img\n    repeat: 2\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success);
    assert_eq!(runs(&engine).len(), 3);
}

#[tokio::test]
async fn retry_on_errors_needs_the_marker() {
    let engine = FakeEngine::new();
    engine.script("s", Outcome::exit(1).stderr("some other failure"));
    let (_, _) = run_with(
        &engine,
        "steps:\n  - id: s\n    cmd: img\n    retries: 3\n    retryDelay: 1\n    retryOnErrors: [TLS handshake timeout]\n",
        CancellationToken::new(),
    )
    .await;
    assert_eq!(runs(&engine).len(), 1);
}

#[tokio::test]
async fn timeout_stops_the_step() {
    let engine = FakeEngine::new();
    engine.script("slow", Outcome::exit(0).delayed(Duration::from_secs(30)));
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: slow\n    cmd: img\n    timeout: 1\n",
        CancellationToken::new(),
    )
    .await;
    assert_eq!(statuses(&summary), [("slow", StepStatus::TimedOut)]);
    assert!(!summary.success);
    let timed_out = crate::exec::StepError::TimedOut { secs: 1 };
    assert_eq!(summary.steps[0].error.as_ref(), Some(&timed_out));
    assert_eq!(
        summary.error,
        Some(crate::exec::RunError::StepFailed {
            step: "slow".into(),
            error: Box::new(timed_out),
        })
    );
}

#[tokio::test]
async fn a_timed_out_container_is_removed_before_the_next_step_runs() {
    let engine = FakeEngine::new();
    engine.script("slow", Outcome::exit(0).delayed(Duration::from_secs(30)));
    engine.delay_removals(Duration::from_millis(100));
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: slow\n    cmd: img\n    timeout: 1\n    ignoreErrors: true\n  - id: next\n    cmd: img\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let t = engine.transcript();
    let removed = t
        .iter()
        .position(|l| l.starts_with("remove_container") && l.ends_with("-slow"))
        .expect("removed");
    let next = t
        .iter()
        .position(|l| l.starts_with("run ") && l.contains("aliases=[next]"))
        .expect("ran");
    assert!(removed < next, "{t:#?}");
}

#[tokio::test]
async fn interrupt_cancels_and_cleans_up() {
    let engine = FakeEngine::new();
    engine.script("slow", Outcome::exit(0).delayed(Duration::from_secs(30)));
    let interrupt = CancellationToken::new();
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: slow\n    cmd: img\n  - id: never\n    cmd: img\n",
        interrupt,
    )
    .await;
    assert!(summary.interrupted);
    assert!(!summary.success);
    assert_eq!(
        statuses(&summary),
        [
            ("slow", StepStatus::Cancelled),
            ("never", StepStatus::Skipped)
        ]
    );
    assert_eq!(
        summary.steps[0].error,
        Some(crate::exec::StepError::Cancelled)
    );
    assert_eq!(
        summary.steps[1].error,
        Some(crate::exec::StepError::Interrupted)
    );
    assert_eq!(summary.error, Some(crate::exec::RunError::Interrupted));
    assert!(
        engine
            .transcript()
            .iter()
            .any(|l| l.starts_with("remove_network"))
    );
}

#[tokio::test]
async fn build_then_push_records_the_digest() {
    let engine = FakeEngine::new();
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: build\n    build: -t reg.local/app:1 .\n  - id: push\n    push: [reg.local/app:1]\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let push = &summary.steps[1];
    assert_eq!(push.pushed.len(), 1);
    assert!(push.pushed[0].starts_with("reg.local/app:1@sha256:"));
}

#[tokio::test]
async fn an_outside_dockerfile_is_read_from_the_workspace_and_sent_under_a_generated_name() {
    let engine = FakeEngine::new();
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: b\n    workingDirectory: app\n    build: -t app:1 -f ../x/Dockerfile --add-host a:10.0.0.1 --add-host b:10.0.0.2 .\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let t = engine.transcript();
    let reads: Vec<&String> = t
        .iter()
        .filter(|l| l.starts_with("get_from_volume"))
        .collect();
    // The ignore file next to the Dockerfile, the Dockerfile, the context, and the scan.
    assert!(
        reads[0].ends_with(":/x/Dockerfile.dockerignore"),
        "{reads:?}"
    );
    assert!(reads[1].ends_with(":/x/Dockerfile"), "{reads:?}");
    assert!(reads[2].ends_with(":/app/."), "{reads:?}");
    assert!(reads[3].ends_with(":/x/Dockerfile"), "{reads:?}");
    let build = t
        .iter()
        .find(|l| l.starts_with("build "))
        .expect("build call");
    let name = crate::context::outside_dockerfile_name(b"");
    assert!(build.contains(&format!("dockerfile={name}")), "{build}");
    assert!(
        build.contains("extra_hosts=[a:10.0.0.1, b:10.0.0.2]"),
        "{build}"
    );
}

#[tokio::test]
async fn push_of_a_missing_image_fails_clearly() {
    let engine = FakeEngine::new();
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: push\n    push: [reg.local/nothing:1]\n",
        CancellationToken::new(),
    )
    .await;
    assert_eq!(statuses(&summary), [("push", StepStatus::Failed)]);
    assert!(
        matches!(
            &summary.steps[0].error,
            Some(crate::exec::StepError::Failed { message, exit_code: None })
                if message.contains("does not exist")
        ),
        "{:?}",
        summary.steps[0].error
    );
}

#[tokio::test]
async fn max_parallel_one_runs_start_steps_one_at_a_time() {
    let engine = FakeEngine::new();
    engine.script("a", Outcome::exit(0).delayed(Duration::from_millis(100)));
    engine.script("b", Outcome::exit(0).delayed(Duration::from_millis(100)));
    let opts = Arc::new(RunOptions {
        max_parallel: Some(1),
        ..(*options()).clone()
    });
    std::fs::create_dir_all(&opts.context_dir).expect("context dir");
    let task = Arc::new(task(
        "steps:\n  - id: a\n    when: ['-']\n    cmd: img\n  - id: b\n    when: ['-']\n    cmd: img\n",
    ));
    let plan = Plan::new(&task);
    let events = Arc::new(Events::default());
    let summary = run(
        engine.clone(),
        task,
        &plan,
        opts,
        events.clone() as Arc<dyn Reporter>,
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success);
    let ev = events.list();
    let pos = |e: &str| ev.iter().position(|x| x == e).expect(e);
    assert!(pos("end a succeeded") < pos("start b 1") || pos("end b succeeded") < pos("start a 1"));
}

/// Runs `yaml` with containers created and started ahead of their steps; returns the
/// transcript.
async fn run_precreating(engine: &FakeEngine, yaml: &str) -> (RunSummary, Vec<String>) {
    run_ahead(engine, yaml, true).await
}

/// Runs `yaml` on `engine` wrapped in `engine::ahead::StartAhead` (containers created ahead of
/// their steps, and started ahead at the gate with `start_ahead`); returns the transcript.
async fn run_ahead(
    engine: &FakeEngine,
    yaml: &str,
    start_ahead: bool,
) -> (RunSummary, Vec<String>) {
    let opts = options();
    std::fs::create_dir_all(&opts.context_dir).expect("context dir");
    let task = Arc::new(task(yaml));
    let plan = Plan::new(&task);
    let ahead = crate::engine::ahead::StartAhead::new(
        engine.clone(),
        start_ahead.then(|| opts.key.gate_volume()),
    );
    let summary = run(
        ahead,
        task,
        &plan,
        opts,
        Arc::new(Events::default()) as Arc<dyn Reporter>,
        CancellationToken::new(),
    )
    .await;
    (summary, engine.transcript())
}

fn image(id: &str) -> crate::engine::ImageInfo {
    crate::engine::ImageInfo {
        id: id.to_owned(),
        repo_digests: Vec::new(),
    }
}

fn position(transcript: &[String], prefix: &str) -> Option<usize> {
    transcript.iter().position(|l| l.starts_with(prefix))
}

#[tokio::test]
async fn containers_of_local_images_are_created_before_their_steps_start() {
    let engine = FakeEngine::new();
    engine.add_image("img", image("sha256:1"));
    engine.script("a", Outcome::exit(0).delayed(Duration::from_millis(100)));
    let (summary, t) = run_precreating(
        &engine,
        "steps:\n  - id: a\n    cmd: img true\n  - id: b\n    cmd: img true\n  - id: c\n    pull: true\n    cmd: img true\n  - id: d\n    cmd: other true\n",
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let created: Vec<&String> = t
        .iter()
        .filter(|l| l.starts_with("create_container"))
        .collect();
    // a and b (local image) are made ahead; c pulls, so it is not; d's image is not on the
    // engine, so the attempt gives nothing and d is created when it starts, as without it.
    assert_eq!(created.len(), 3, "{t:#?}");
    assert!(created.iter().any(|l| l.ends_with("-a")), "{t:#?}");
    assert!(created.iter().any(|l| l.ends_with("-b")), "{t:#?}");
    assert!(!created.iter().any(|l| l.ends_with("-c")), "{t:#?}");
    // b's container was made while a ran, and used without being made again.
    let b_created = t
        .iter()
        .position(|l| l.starts_with("create_container") && l.ends_with("-b"));
    let a_run = t
        .iter()
        .position(|l| l.starts_with("run ") && l.contains("aliases=[a]"));
    let b_run = t
        .iter()
        .position(|l| l.starts_with("run ") && l.contains("aliases=[b]"));
    assert!(b_created < b_run && a_run < b_run, "{t:#?}");
    let b_removed = t
        .iter()
        .position(|l| l.starts_with("remove_container") && l.ends_with("-b"));
    assert!(b_removed > b_run, "{t:#?}");
    assert!(position(&t, "list_labelled io.taskrun.run=") > b_run);
}

#[tokio::test]
async fn a_container_made_from_an_image_rebuilt_since_is_replaced() {
    let engine = FakeEngine::new();
    engine.add_image("app", image("sha256:old"));
    let (summary, t) = run_precreating(
        &engine,
        "steps:\n  - id: build\n    build: -t app .\n  - id: test\n    cmd: app true\n",
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let made = t
        .iter()
        .position(|l| l.starts_with("create_container") && l.ends_with("-test"))
        .expect("created ahead");
    let removed = t
        .iter()
        .position(|l| l.starts_with("remove_container") && l.ends_with("-test"))
        .expect("replaced");
    let ran = t
        .iter()
        .position(|l| l.starts_with("run ") && l.contains("aliases=[test]"))
        .expect("ran");
    assert!(made < removed && removed < ran, "{t:#?}");
}

#[tokio::test]
async fn containers_made_for_steps_that_never_start_are_removed_by_the_cleanup() {
    let engine = FakeEngine::new();
    engine.add_image("img", image("sha256:1"));
    engine.script("a", Outcome::exit(1).delayed(Duration::from_millis(50)));
    let (summary, t) = run_precreating(
        &engine,
        "steps:\n  - id: a\n    cmd: img false\n  - id: b\n    cmd: img true\n",
    )
    .await;
    assert!(!summary.success);
    assert!(
        t.iter()
            .any(|l| l.starts_with("create_container") && l.ends_with("-b")),
        "{t:#?}"
    );
    assert!(
        !t.iter()
            .any(|l| l.starts_with("run ") && l.contains("aliases=[b]")),
        "{t:#?}"
    );
    let listing = position(&t, "list_labelled io.taskrun.run=").expect("cleanup");
    assert!(
        t[listing..]
            .iter()
            .any(|l| l.starts_with("remove_container") && l.ends_with("-b")),
        "{t:#?}"
    );
}

fn lines_for<'a>(t: &'a [String], prefix: &str) -> Vec<&'a String> {
    t.iter().filter(|l| l.starts_with(prefix)).collect()
}

#[tokio::test]
async fn a_chain_keeps_the_next_containers_started_at_the_gate() {
    let engine = FakeEngine::new();
    engine.add_image("img", image("sha256:1"));
    engine.script("a", Outcome::exit(0).delayed(Duration::from_millis(100)));
    let steps: String = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|id| format!("  - id: {id}\n    cmd: img true\n"))
        .collect();
    let (summary, t) = run_precreating(&engine, &format!("steps:\n{steps}")).await;
    assert!(summary.success, "{summary:?}");
    // The gate volume is filled before any container is started at the gate.
    let gate_filled = t
        .iter()
        .position(|l| l.starts_with("put_into_volume") && l.contains("-gate:/"))
        .expect("gate volume filled");
    let first_gated = position(&t, "start_gated").expect("a container started ahead");
    assert!(gate_filled < first_gated, "{t:#?}");
    // While a runs, the next three steps' containers are started at the gate, not more.
    let a_run = t
        .iter()
        .position(|l| l.starts_with("run ") && l.contains("aliases=[a]"))
        .expect("a ran");
    let gated_before: Vec<&String> = lines_for(&t[..a_run], "start_gated");
    for id in ["b", "c", "d"] {
        assert!(
            gated_before.iter().any(|l| l.ends_with(&format!("-{id}"))),
            "{id}: {t:#?}"
        );
    }
    assert!(
        !gated_before
            .iter()
            .any(|l| l.ends_with("-e") || l.ends_with("-f")),
        "{t:#?}"
    );
    // Every step's container was made ahead, once, and started ahead but for the first (due at
    // once, made while the gate was prepared).
    assert_eq!(lines_for(&t, "start_gated").len(), 5, "{t:#?}");
    assert!(
        !lines_for(&t, "start_gated")
            .iter()
            .any(|l| l.ends_with("-a")),
        "{t:#?}"
    );
    assert_eq!(lines_for(&t, "create_container").len(), 6, "{t:#?}");
}

#[tokio::test]
async fn the_first_steps_containers_are_made_before_those_of_later_steps() {
    let engine = FakeEngine::new();
    engine.add_image("img", image("sha256:1"));
    let (summary, t) = run_precreating(
        &engine,
        "steps:\n  - id: a\n    when: ['-']\n    cmd: img true\n  - id: b\n    when: ['-']\n    cmd: img true\n  - id: join\n    when: [a, b]\n    cmd: img true\n",
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let made = |id: &str| {
        t.iter()
            .position(|l| l.starts_with("create_container") && l.ends_with(&format!("-{id}")))
            .unwrap_or_else(|| panic!("{id} made ahead: {t:#?}"))
    };
    assert!(
        made("a") < made("join") && made("b") < made("join"),
        "{t:#?}"
    );
}

#[tokio::test]
async fn containers_with_a_tty_stdin_or_published_ports_are_only_created_ahead() {
    let engine = FakeEngine::new();
    engine.add_image("img", image("sha256:1"));
    let (summary, t) = run_precreating(
        &engine,
        "steps:\n  - id: a\n    cmd: -t img true\n  - id: b\n    cmd: -i img true\n  - id: c\n    cmd: -p 8080:80 img true\n  - id: d\n    cmd: img true\n",
    )
    .await;
    assert!(summary.success, "{summary:?}");
    assert_eq!(lines_for(&t, "create_container").len(), 4, "{t:#?}");
    let gated = lines_for(&t, "start_gated");
    assert_eq!(gated.len(), 1, "{t:#?}");
    assert!(gated[0].ends_with("-d"), "{t:#?}");
}

#[tokio::test]
async fn without_start_ahead_there_is_no_gate() {
    let engine = FakeEngine::new();
    engine.add_image("img", image("sha256:1"));
    let (summary, t) = run_ahead(
        &engine,
        "steps:\n  - id: a\n    cmd: img true\n  - id: b\n    cmd: img true\n",
        false,
    )
    .await;
    assert!(summary.success, "{summary:?}");
    assert_eq!(lines_for(&t, "create_container").len(), 2, "{t:#?}");
    assert!(lines_for(&t, "start_gated").is_empty(), "{t:#?}");
    assert!(!t.iter().any(|l| l.contains("-gate")), "{t:#?}");
}

#[tokio::test]
async fn docker_buildkit_1_builds_with_buildkit_and_cache_enabled_exports_an_inline_cache() {
    let engine = FakeEngine::new();
    let (summary, events) = run_with(
        &engine,
        "steps:\n  - id: bk\n    build: -t reg.local/app:1 -t reg.local/app:2 .\n    env: [DOCKER_BUILDKIT=1]\n  - id: classic\n    build: -t reg.local/c:1 .\n  - id: cached\n    build: -t reg.local/app:3 .\n    cache: enabled\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let builds: Vec<String> = engine
        .transcript()
        .into_iter()
        .filter(|l| l.starts_with("build ") || l.starts_with("tag ") || l.starts_with("push "))
        .collect();
    assert_eq!(builds.len(), 5, "{builds:#?}");
    assert!(
        builds[0].contains("tags=[reg.local/app:1, reg.local/app:2]")
            && builds[0].contains(" buildkit"),
        "{builds:#?}"
    );
    assert!(!builds[1].contains(" buildkit"), "{builds:#?}");
    assert!(
        builds[2].contains(" buildkit")
            && builds[2].contains("BUILDKIT_INLINE_CACHE=1")
            && builds[2].contains("cache_from=[reg.local/app:cache_quickrun_cached]"),
        "{builds:#?}"
    );
    assert!(
        builds[3].starts_with("tag sha256:")
            && builds[3].ends_with(" reg.local/app:cache_quickrun_cached"),
        "{builds:#?}"
    );
    assert_eq!(builds[4], "push reg.local/app:cache_quickrun_cached");
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("line cached cache: enabled: acb exports a registry cache")),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|e| e.starts_with("line cached cache: pushed the inline cache to reg.local/app:cache_quickrun_cached@sha256:")),
        "{events:#?}"
    );
}

#[tokio::test]
async fn remote_context_is_fetched_into_the_step_directory_not_on_the_fake() {
    let engine = FakeEngine::new();
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: web\n    workingDirectory: src\n    build: -t app:1 -f d/Dockerfile https://tok:s3cret@example.com/r.git#main:app\n",
        CancellationToken::new(),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let transcript = engine.transcript();
    let fetch = transcript
        .iter()
        .position(|l| l.starts_with("fetch_context "))
        .expect("fetch line");
    assert!(
        transcript[fetch]
            .starts_with("fetch_context https://tok:***@example.com/r.git#main:app into taskrun-")
            && transcript[fetch].ends_with(":/web"),
        "{transcript:?}"
    );
    assert!(transcript.iter().all(|l| !l.contains("s3cret")));
    // The build reads `<stepID>/<subdir>` of the workspace, after the fetch.
    let read = transcript
        .iter()
        .position(|l| l.starts_with("get_from_volume") && l.contains(":/web/app/."))
        .expect("context read");
    assert!(read > fetch, "{transcript:?}");
    let build = engine
        .calls()
        .into_iter()
        .find_map(|c| match c {
            Call::Build(b) => Some(b),
            _ => None,
        })
        .expect("build");
    assert_eq!(build.dockerfile, "d/Dockerfile");
}

#[tokio::test]
async fn a_failed_fetch_fails_the_step_naming_the_masked_url() {
    let engine = FakeEngine::new();
    engine.script(
        "example.com",
        Outcome::fail(crate::engine::EngineError::Failed {
            operation: "fetch the build context",
            subject: "x".into(),
            message: "couldn't find remote ref nope".into(),
        }),
    );
    let (summary, _) = run_with(
        &engine,
        "steps:\n  - id: b\n    build: https://u:pw123@example.com/r.git#nope\n",
        CancellationToken::new(),
    )
    .await;
    assert_eq!(statuses(&summary), [("b", StepStatus::Failed)]);
    // The masking is of the text a user sees.
    let error = summary.steps[0]
        .error
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        error.contains("failed to fetch the git context https://u:***@example.com/r.git#nope")
            && error.contains("couldn't find remote ref nope")
            && !error.contains("pw123"),
        "{error}"
    );
    assert!(!engine.transcript().iter().any(|l| l.starts_with("build")));
}

/// A CONTEXT directory of its own with a Dockerfile and a 1000-byte file.
fn context_with_dockerfile(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("taskrun-exec-ctx-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("context dir");
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY . /\n").expect("Dockerfile");
    std::fs::write(dir.join("data"), vec![b'x'; 1000]).expect("data");
    dir
}

fn workspace_calls(t: &[String]) -> Vec<&String> {
    t.iter()
        .filter(|l| {
            l.starts_with("get_from_volume")
                || (l.starts_with("put_into_volume") && l.contains("-workspace:"))
        })
        .collect()
}

#[tokio::test]
async fn a_build_only_task_sends_its_context_from_the_host_and_never_seeds_the_workspace() {
    let engine = FakeEngine::new();
    let dir = context_with_dockerfile("build-only");
    let (summary, _) = run_with_options(
        &engine,
        "steps:\n  - id: b\n    build: -t app:1 .\n  - id: p\n    build: -t app:2 -f Dockerfile .\n",
        CancellationToken::new(),
        options_in(dir.clone()),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let t = engine.transcript();
    assert!(workspace_calls(&t).is_empty(), "{t:#?}");
    let builds: Vec<&String> = t.iter().filter(|l| l.starts_with("build ")).collect();
    assert_eq!(builds.len(), 2, "{t:#?}");
    for b in builds {
        // Dockerfile + data + their tar headers: the host directory itself was sent.
        let bytes: u64 = b
            .rsplit("context_bytes=")
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(bytes >= 1000 + 1024, "{b}");
        assert!(b.contains("dockerfile=Dockerfile"), "{b}");
    }
    // The Dockerfile of the dependency scan came from the host too.
    assert_eq!(summary.steps[0].dependencies.len(), 1, "{summary:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_build_after_a_cmd_step_reads_the_seeded_workspace() {
    let engine = FakeEngine::new();
    let dir = context_with_dockerfile("after-cmd");
    let (summary, _) = run_with_options(
        &engine,
        "steps:\n  - id: early\n    build: -t app:0 .\n  - id: c\n    cmd: img true\n    when: [early]\n  - id: b\n    build: -t app:1 .\n    when: [c]\n",
        CancellationToken::new(),
        options_in(dir.clone()),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let t = engine.transcript();
    let calls = workspace_calls(&t);
    // Seeded (a cmd step reads it); the first build read the host, the one after `c` the volume.
    assert!(calls[0].starts_with("put_into_volume"), "{t:#?}");
    let first_build = position(&t, "build tags=[app:0]").expect("first build");
    let second_build = position(&t, "build tags=[app:1]").expect("second build");
    let reads: Vec<usize> = t
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("get_from_volume"))
        .map(|(i, _)| i)
        .collect();
    assert!(reads.iter().all(|&i| i > first_build), "{t:#?}");
    assert!(
        t.iter()
            .any(|l| l.starts_with("get_from_volume") && l.ends_with("-workspace:/.")),
        "{t:#?}"
    );
    assert!(reads.iter().any(|&i| i < second_build), "{t:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn keep_workspace_or_a_build_the_host_cannot_serve_still_seeds() {
    let dir = context_with_dockerfile("seeds");
    // A root .dockerignore and a sub-directory context: the workspace lacks what the root
    // rules exclude, so the build reads the seeded volume.
    std::fs::create_dir_all(dir.join("sub")).expect("sub");
    std::fs::write(dir.join("sub/Dockerfile"), "FROM scratch\n").expect("Dockerfile");
    std::fs::write(dir.join(".dockerignore"), "data\n").expect("ignore");
    let engine = FakeEngine::new();
    let (summary, _) = run_with_options(
        &engine,
        "steps:\n  - id: b\n    build: -t app:1 sub\n",
        CancellationToken::new(),
        options_in(dir.clone()),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let t = engine.transcript();
    let calls = workspace_calls(&t);
    assert!(calls[0].starts_with("put_into_volume"), "{t:#?}");
    assert!(calls.iter().any(|l| l.ends_with(":/sub/.")), "{t:#?}");
    // --keep-workspace: the user asked for the workspace, so it is filled.
    let engine = FakeEngine::new();
    let mut opts = (*options_in(dir.clone())).clone();
    opts.keep_workspace = true;
    let (summary, _) = run_with_options(
        &engine,
        "steps:\n  - id: b\n    build: -t app:1 .\n",
        CancellationToken::new(),
        Arc::new(opts),
    )
    .await;
    assert!(summary.success, "{summary:?}");
    let t = engine.transcript();
    let calls = workspace_calls(&t);
    assert_eq!(calls.len(), 1, "{t:#?}");
    assert!(calls[0].starts_with("put_into_volume"), "{t:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}
