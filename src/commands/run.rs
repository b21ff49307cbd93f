//! `taskrun run` (the default command): check the file, then run its steps on the Docker engine
//! (or, with `--dry-run`, on the recording fake engine, printing every call it would make).

use std::io::{IsTerminal, Write as _};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::commands::{ExitStatus, check};
use crate::diag::{Code, Problem, Problems};
use crate::engine::EngineError;
use crate::engine::docker::DockerEngine;
use crate::engine::fake::FakeEngine;
use crate::exec::Reporter;
use crate::exec::{self, RunKey, RunOptions, RunSummary};
use crate::quick;
use crate::registry::Credentials;
use crate::report::Printer;
use crate::report::run::{OutputMode, RunReporter, Tee};

/// Runs the task file.
pub fn run(args: &RunArgs, printer: &Printer) -> ExitStatus {
    execute(args, printer, None).0
}

/// Runs the task file; `log` also receives the run's output in plain mode (masked), for the
/// run history of named tasks. Returns the exit status and, when the run started, its summary.
pub fn execute(
    args: &RunArgs,
    printer: &Printer,
    log: Option<Box<dyn std::io::Write + Send>>,
) -> (ExitStatus, Option<RunSummary>) {
    let mut args = args.clone();
    let run_id = args.file.run_id.get_or_insert_with(generate_run_id).clone();
    let key = RunKey::generate();
    args.file.shared_volume = Some(key.name("workspace"));
    if let Some(cmd) = &args.cmd {
        args.file.generated = Some((quick::CMD_SOURCE_NAME.to_owned(), quick::cmd_task(cmd)));
    }
    // CONTEXT `/dev/null` is no context, as in az: an empty workspace (an empty directory that
    // lives as long as the run).
    let empty_context = match args.context.as_deref() {
        Some(c) if c == std::path::Path::new("/dev/null") => {
            let dir = std::env::temp_dir().join(key.name("empty-context"));
            if let Err(e) = std::fs::create_dir_all(&dir) {
                printer.status(&format!(
                    "error: cannot make an empty context directory `{}` for /dev/null: {e}",
                    dir.display()
                ));
                return (ExitStatus::Environment, None);
            }
            Some(EmptyDir(dir))
        }
        _ => None,
    };
    // A remote CONTEXT (git, tarball, OCI artifact) is fetched once, before anything else, into
    // a directory the run owns; `--dry-run` fetches nothing and uses an empty context.
    let remote = args
        .context
        .as_deref()
        .and_then(crate::context::source::remote_context);
    let mut fetched = None;
    let mut empty_context = empty_context;
    if let Some(source) = &remote {
        if args.dry_run {
            printer.status(&crate::context::source::dry_run_note(source));
            let dir = std::env::temp_dir().join(key.name("empty-context"));
            if std::fs::create_dir_all(&dir).is_ok() {
                empty_context = Some(EmptyDir(dir));
            }
        } else {
            let options = crate::context::source::options(
                Credentials::load(&args.credential).unwrap_or_default(),
                args.insecure_registries.clone(),
                args.git_access_token.clone(),
            );
            match fetch_context(
                source,
                &options,
                args.output == Some(OutputMode::Json),
                printer,
            ) {
                Ok(f) => {
                    if args.file.commit.is_none() {
                        args.file.commit = f.commit().map(str::to_owned);
                    }
                    if args.file.branch.is_none() {
                        args.file.branch = f.branch().map(str::to_owned);
                    }
                    args.context = Some(f.dir().to_owned());
                    fetched = Some(f);
                }
                Err((status, message)) => {
                    // The run history's log says why the run never started.
                    if let Some(mut log) = log {
                        let _ = writeln!(log, "error: {message}");
                    }
                    return (status, None);
                }
            }
        }
    }
    let context_dir: std::path::PathBuf = match &empty_context {
        Some(dir) => dir.0.clone(),
        None => args.context.clone().unwrap_or_else(|| ".".into()),
    };
    if empty_context.is_none() {
        args.file.context_dir = Some(context_dir.clone());
    }
    // `--output json`: refusals are JSON events on stdout too (diagnostics stay on stderr).
    let json = args.output == Some(OutputMode::Json);
    if let Some(problem) = super::check::context_dir_problem(&context_dir) {
        let problems: Problems = problem.into();
        printer.problems(&problems, &[]);
        if json {
            printer.problem_events(&problems, &[]);
        }
        return (ExitStatus::InvalidInput, None);
    }
    let checked = match check(&args.file, false) {
        Ok(c) => c,
        Err(mut failed) => {
            // What `validate` only warns about and `run` refuses is an error here too.
            failed.problems.refuse_for_run();
            super::print_failed(&failed, printer);
            if json {
                printer.problem_events(&failed.problems, &failed.masked);
            }
            return (ExitStatus::InvalidInput, None);
        }
    };
    let mut masked = checked.inputs.masked.clone();
    let mut problems: Problems = checked.warnings.clone();
    // What validate warned about and `run` does not carry out is an error here (one report).
    problems.refuse_for_run();
    for s in checked.rendered.secrets.iter().filter(|s| !s.resolved) {
        problems.push(
            Problem::error(
                Code::SecretUnresolved,
                format!("secret `{}` has no local value, so the task cannot run", s.id),
            )
            .with_help(format!(
                "pass `--secret {}=VALUE`, set `TASKRUN_SECRET_{}`, or list it in a `--secrets-file`",
                s.id,
                crate::render::secrets::env_name(&s.id)
            )),
        );
    }
    let docker_cli = docker_cli();
    problems.extend(exec::refusals(&checked.task, docker_cli.is_some()));
    if empty_context.is_none() || remote.is_none() {
        problems.extend(super::check::context_problems(
            &checked.task,
            &context_dir,
            checked.inputs.strict,
        ));
    }
    let credentials = match Credentials::load(&args.credential) {
        Ok(c) => c,
        Err(message) => {
            // A malformed `--credential` may still hold a password the error message quotes.
            for raw in &args.credential {
                if let Ok(serde_json::Value::Object(o)) = serde_json::from_str(raw)
                    && let Some(p) = o.get("password")
                {
                    let p = p.as_str().map_or_else(|| p.to_string(), str::to_owned);
                    masked.extend(crate::report::secret_forms([p.as_str()]));
                }
            }
            problems.push(
                Problem::error(Code::FlagFormat, message)
                    .with_help("see `taskrun run --help` for the --credential form"),
            );
            Credentials::default()
        }
    };
    let mut login_registries: Vec<String> =
        credentials.explicit().map(|a| a.server.clone()).collect();
    if let Some(r) = args.file.registry.as_ref().filter(|r| !r.is_empty()) {
        login_registries.push(r.clone());
    }
    // Registry passwords are secrets too (SPEC §4, §6), whether from `--credential` or the
    // user's docker config: a step that prints the run's docker config, or an engine message
    // quoting it, must show `***` — for the password and for its base64 `auth` token.
    for auth in login_registries
        .iter()
        .filter_map(|r| credentials.for_registry(r))
    {
        masked.extend(crate::report::secret_forms([auth.password.as_str()]));
        masked.push(crate::registry::credentials::auth_token(&auth));
    }
    printer.problems(&problems, &masked);
    if json && problems.iter().next().is_some() {
        printer.problem_events(&problems, &masked);
    }
    if problems.has_errors() {
        return (ExitStatus::InvalidInput, None);
    }

    let mode = args.output.unwrap_or(if std::io::stdout().is_terminal() {
        OutputMode::Human
    } else {
        OutputMode::Plain
    });
    let live = mode == OutputMode::Human && std::io::stdout().is_terminal();
    let screen = Arc::new(
        RunReporter::new(
            mode,
            printer.color(),
            masked.clone(),
            Box::new(std::io::stdout()),
        )
        .with_live_status(live),
    );
    let mut reporters: Vec<Arc<dyn Reporter>> = vec![Arc::clone(&screen) as Arc<dyn Reporter>];
    if let Some(log) = log {
        reporters.push(Arc::new(RunReporter::new(
            OutputMode::Plain,
            false,
            masked.clone(),
            log,
        )));
    }
    let reporter: Arc<dyn Reporter> = Arc::new(Tee(reporters));
    let options = Arc::new(RunOptions {
        run_id: run_id.clone(),
        key,
        context_dir: context_dir.clone(),
        max_parallel: args.max_parallel.map(usize::from),
        keep_workspace: args.keep_workspace,
        credentials,
        login_registries,
        engine_socket: Some(engine_socket()),
        git_head: crate::deps::git::head_revision(&context_dir),
        insecure_registries: args.insecure_registries.clone(),
        precreate: !args.dry_run,
        start_ahead: start_ahead(),
        host_context: env_on("TASKRUN_HOST_CONTEXT"),
        docker_cli,
        dry_run: args.dry_run,
        mount_proxy: env_on("TASKRUN_ENGINE_PROXY"),
        timeout: args.timeout.map(std::time::Duration::from_secs),
        run_registry: args.file.registry.clone().unwrap_or_default(),
        task_name: args.file.name.clone().unwrap_or_default(),
        task_source: fetched
            .as_ref()
            .map(|f| format!("{}\n", f.header()))
            .unwrap_or_default()
            + &if args.file.generated.is_some() {
                format!(
                    "Task: generated {} task, version v1.1.0",
                    checked.inputs.file.name.trim_matches(['(', ')'])
                )
            } else {
                format!(
                    "Task file: {}",
                    fetched.as_ref().map_or_else(
                        || checked.inputs.file.name.clone(),
                        |f| f.describe_file(&checked.inputs.file.name)
                    )
                )
            },
    });
    let task = Arc::new(checked.task);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            printer.status(&format!("error: cannot start the async runtime: {e}"));
            return (ExitStatus::Environment, None);
        }
    };
    runtime.block_on(async {
        if args.dry_run {
            let engine = FakeEngine::new();
            printer.data(&crate::report::mask(
                &crate::plan::to_text(&checked.plan),
                &masked,
            ));
            let summary = exec::run(
                engine.clone(),
                task,
                &checked.plan,
                options,
                reporter,
                CancellationToken::new(),
            )
            .await;
            let mut calls = String::from("\nEngine calls (dry run, nothing was executed):\n");
            for line in engine.transcript() {
                calls.push_str("  ");
                calls.push_str(&line);
                calls.push('\n');
            }
            printer.data(&crate::report::mask(&calls, &masked));
            return (exit_status(&summary), Some(summary));
        }
        // A Ctrl-C after the CONTEXT was fetched and before the run's own handler exists.
        if fetched.as_ref().is_some_and(|f| f.interrupted()) {
            return (ExitStatus::Interrupted, None);
        }
        // Connecting negotiates the API version, which proves the engine answers.
        let engine = match DockerEngine::connect().await {
            Ok(e) => e,
            Err(e) => return (engine_unreachable(&e, printer), None),
        };
        let interrupt = CancellationToken::new();
        spawn_signal_handler(interrupt.clone());
        let ticker = live.then(|| {
            let screen = Arc::clone(&screen);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    screen.tick();
                }
            })
        });
        let summary = exec::run(engine, task, &checked.plan, options, reporter, interrupt).await;
        if let Some(t) = ticker {
            t.abort();
        }
        if let Some(path) = &args.deps_file
            && summary.success
        {
            let mut json = serde_json::to_string_pretty(&summary.dependencies).unwrap_or_default();
            json.push('\n');
            if let Err(e) = std::fs::write(path, json) {
                printer.status(&format!(
                    "warning: cannot write the dependency file `{}`: {e}",
                    path.display()
                ));
            }
        }
        (exit_status(&summary), Some(summary))
    })
}

/// Fetches a remote CONTEXT (progress on stderr); a failure is a diagnostic, and the exit
/// status with a one-line (masked) message (`run`, `build`, `scan`, `validate`).
pub(super) fn fetch_context(
    source: &crate::context::remote::RemoteSource,
    options: &crate::context::remote::FetchOptions,
    json: bool,
    printer: &Printer,
) -> Result<crate::context::source::FetchedContext, (ExitStatus, String)> {
    use crate::context::source::{self, FailureKind, FetchFailure};
    // acb's warning for a `github` URL that is not a git URL (it is then a tarball URL).
    if let Some(w) = crate::model::buildargs::ContextKind::classify(&source.display()).warning() {
        printer.status(&format!("WARNING: {w}"));
    }
    match source::fetch_blocking(source, options, &|line| printer.status(line)) {
        Ok(f) => Ok(f),
        Err(FetchFailure::Failed(e)) => {
            let problems: Problems = source::failure_problem(&e).into();
            printer.problems(&problems, &[]);
            if json {
                printer.problem_events(&problems, &[]);
            }
            let status = if FailureKind::of(&e).is_environment() {
                ExitStatus::Environment
            } else {
                ExitStatus::InvalidInput
            };
            Err((status, format!("{} ({})", e, FailureKind::of(&e).code())))
        }
        Err(FetchFailure::Interrupted) => Err((
            ExitStatus::Interrupted,
            format!("interrupted while fetching the context {source}"),
        )),
        Err(FetchFailure::Environment(e)) => {
            printer.status(&format!("error: {e}"));
            Err((ExitStatus::Environment, e))
        }
    }
}

/// The empty directory that stands for CONTEXT `/dev/null`; removed when the run is over.
struct EmptyDir(std::path::PathBuf);

impl Drop for EmptyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn engine_unreachable(e: &EngineError, printer: &Printer) -> ExitStatus {
    printer.status(&format!(
        "error: {e}\n  help: start the Docker engine, or point DOCKER_HOST at one (for example unix:///var/run/docker.sock or tcp://host:2375)"
    ));
    ExitStatus::Environment
}

fn exit_status(summary: &RunSummary) -> ExitStatus {
    if summary.interrupted {
        ExitStatus::Interrupted
    } else if summary.timed_out {
        ExitStatus::StepFailed
    } else if summary.success {
        ExitStatus::Success
    } else if summary
        .error
        .as_deref()
        .is_some_and(|e| e.contains("cannot reach the Docker engine"))
    {
        ExitStatus::Environment
    } else {
        ExitStatus::StepFailed
    }
}

/// Ctrl-C and SIGTERM cancel the run (cleanup still happens); a second signal exits at once.
fn spawn_signal_handler(interrupt: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let wait_term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = wait_term => {}
        }
        interrupt.cancel();
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(130);
    });
}

/// A run id in ACR's style when `--run-id` is not given: `l` + 4 base-36 characters.
fn generate_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let mut n = h.finish();
    let mut s = String::from("l");
    for _ in 0..4 {
        let d = (n % 36) as u8;
        s.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
        n /= 36;
    }
    s
}

/// The engine socket path to bind-mount into steps, on the engine's host: the path of a
/// `unix://` DOCKER_HOST, else the default socket.
fn engine_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/var/run/docker.sock".to_owned())
}

/// The docker CLI of the agent's shell: `TASKRUN_DOCKER_CLI`, else `docker` on `PATH`.
fn docker_cli() -> Option<std::path::PathBuf> {
    exec::agent::find_docker_cli(
        std::env::var("TASKRUN_DOCKER_CLI").ok().as_deref(),
        std::env::var("PATH").ok().as_deref(),
    )
}

/// `TASKRUN_START_AHEAD=0` (or `false`, `off`, `no`) turns off starting step containers ahead
/// at the gate (see `engine::gate`); they are then only created ahead.
fn start_ahead() -> bool {
    env_on("TASKRUN_START_AHEAD")
}

/// False when the variable `name` is `0`, `false`, `off` or `no`.
fn env_on(name: &str) -> bool {
    !std::env::var(name).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        )
    })
}
