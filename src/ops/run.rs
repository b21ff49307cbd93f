//! The library's run entry point: [`run`] takes a [`RunRequest`] (a task file or a generated
//! task, its CONTEXT, and how to run it), checks it, runs it on the Docker engine (or, with
//! `dry_run`, on the recording fake engine, printing every call it would make) and returns a
//! [`RunOutcome`]. `taskrun run`, `taskrun build`, `task run` and `serve` all come here.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::check::{self, Checked};
use super::settings::RunSettings;
use super::{FileRequest, RunOutcome, runtime};
use crate::diag::{Code, Problem, Problems};
use crate::engine::ahead::StartAhead;
use crate::engine::docker::DockerEngine;
use crate::engine::fake::FakeEngine;
use crate::exec::{self, Reporter, RunKey, RunOptions, RunSummary};
use crate::quick;
use crate::registry::{CredentialError, Credentials};
use crate::report::Printer;
use crate::report::run::{OutputMode, RunReporter, Tee};

/// What a run asks for.
#[derive(Default)]
pub struct RunRequest {
    /// The task file and its values (or a generated task).
    pub file: FileRequest,
    /// The build context directory, seeded into `/workspace`; `/dev/null`: none.
    pub context: Option<PathBuf>,
    /// Quick run (`az acr run --cmd`): `IMAGE ARGS`, run as the one step of a generated task.
    pub cmd: Option<String>,
    /// Print the plan and every engine call it would make; touch nothing.
    pub dry_run: bool,
    /// Output mode; `None`: human on a terminal, else plain.
    pub output: Option<OutputMode>,
    /// Registry credentials in acb's JSON form.
    pub credential: Vec<String>,
    /// Run at most this many steps at once.
    pub max_parallel: Option<usize>,
    /// Write the dependency JSON of the run's builds here (after a successful run).
    pub deps_file: Option<PathBuf>,
    /// Registry hosts reached over plain HTTP for digest lookups.
    pub insecure_registries: Vec<String>,
    /// Keep the run's volumes after the run.
    pub keep_workspace: bool,
    /// The whole-run timeout.
    pub timeout: Option<Duration>,
    /// Also receives the run's output in plain mode (masked): a named task's run history.
    pub log: Option<Box<dyn std::io::Write + Send>>,
    /// The access token for an `https` git CONTEXT (a named task's `--git-access-token`).
    pub git_access_token: Option<crate::context::remote::GitToken>,
}

/// Checks and runs the request; everything shown goes through `printer` and the run reporter.
pub fn run(mut request: RunRequest, printer: &Printer) -> RunOutcome {
    let run_id = request
        .file
        .run_id
        .get_or_insert_with(generate_run_id)
        .clone();
    let key = RunKey::generate();
    request.file.shared_volume = Some(key.name("workspace"));
    if let Some(cmd) = &request.cmd {
        request.file.generated = Some((quick::CMD_SOURCE_NAME.to_owned(), quick::cmd_task(cmd)));
    }
    // CONTEXT `/dev/null` is no context, as in az: an empty workspace (an empty directory that
    // lives as long as the run).
    let empty_context = match request.context.as_deref() {
        Some(c) if c == Path::new("/dev/null") => {
            match EmptyDir::new(std::env::temp_dir().join(key.name("empty-context"))) {
                Ok(dir) => Some(dir),
                Err(message) => {
                    printer.status(&message);
                    return RunOutcome::NotStarted;
                }
            }
        }
        _ => None,
    };
    // A remote CONTEXT (git, tarball, OCI artifact) is fetched once, before anything else, into
    // a directory the run owns; `--dry-run` fetches nothing and uses an empty context.
    let remote = request
        .context
        .as_deref()
        .and_then(crate::context::source::remote_context);
    // The docker config is read once, for the fetch and for the run.
    let credentials = Credentials::load(&request.credential);
    let mut fetched = None;
    let mut empty_context = empty_context;
    if let Some(source) = &remote {
        if request.dry_run {
            printer.status(&crate::context::source::dry_run_note(source));
            empty_context =
                EmptyDir::new(std::env::temp_dir().join(key.name("empty-context"))).ok();
        } else {
            let options = crate::context::source::options(
                credentials.clone().unwrap_or_default(),
                request.insecure_registries.clone(),
                request.git_access_token.clone(),
            );
            let json = request.output == Some(OutputMode::Json);
            match super::fetch_context(source, &options, json, printer) {
                Ok(f) => {
                    if request.file.commit.is_none() {
                        request.file.commit = f.commit().map(str::to_owned);
                    }
                    if request.file.branch.is_none() {
                        request.file.branch = f.branch().map(str::to_owned);
                    }
                    request.context = Some(f.dir().to_owned());
                    fetched = Some(f);
                }
                Err((status, message)) => {
                    // The run history's log says why the run never started.
                    if let Some(log) = request.log.as_mut() {
                        let _ = writeln!(log, "error: {message}");
                    }
                    return RunOutcome::before_start(status);
                }
            }
        }
    }
    let context_dir: PathBuf = match &empty_context {
        Some(dir) => dir.0.clone(),
        None => request.context.clone().unwrap_or_else(|| ".".into()),
    };
    if empty_context.is_none() {
        request.file.context_dir = Some(context_dir.clone());
    }
    let settings = RunSettings::from_env();
    // A dry run of a remote CONTEXT plans with an empty one: the build checks against it
    // would only say that nothing is there.
    let check_context = empty_context.is_none() || remote.is_none();
    let Some(ready) = admit(
        &request,
        &context_dir,
        check_context,
        credentials,
        &settings,
        printer,
    ) else {
        return RunOutcome::Refused;
    };
    let Admitted {
        checked,
        credentials,
        login_registries,
        masked,
    } = ready;
    let mode = request
        .output
        .unwrap_or(if std::io::stdout().is_terminal() {
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
    if let Some(log) = request.log.take() {
        reporters.push(Arc::new(RunReporter::new(
            OutputMode::Plain,
            false,
            masked.clone(),
            log,
        )));
    }
    let reporter: Arc<dyn Reporter> = Arc::new(Tee(reporters));
    let options = Arc::new(RunOptions {
        run_id,
        key,
        context_dir: context_dir.clone(),
        max_parallel: request.max_parallel,
        keep_workspace: request.keep_workspace,
        credentials,
        login_registries,
        engine_socket: Some(settings.engine_socket.clone()),
        git_head: crate::deps::git::head_revision(&context_dir),
        insecure_registries: request.insecure_registries.clone(),
        host_context: settings.host_context,
        docker_cli: settings.docker_cli.clone(),
        dry_run: request.dry_run,
        mount_proxy: settings.mount_proxy,
        timeout: request.timeout,
        run_registry: request.file.registry.clone().unwrap_or_default(),
        task_name: request.file.name.clone().unwrap_or_default(),
        task_source: fetched
            .as_ref()
            .map(|f| format!("{}\n", f.header()))
            .unwrap_or_default()
            + &if request.file.generated.is_some() {
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
    let plan = checked.plan;
    let task = Arc::new(checked.task);
    let Some(rt) = runtime::new(runtime::Threads::Many, printer) else {
        return RunOutcome::NotStarted;
    };
    rt.block_on(async {
        if request.dry_run {
            let engine = FakeEngine::new();
            printer.data(&crate::secrets::mask(&crate::plan::to_text(&plan), &masked));
            let summary = exec::run(
                engine.clone(),
                task,
                &plan,
                options,
                reporter,
                CancellationToken::new(),
            )
            .await;
            printer.data(&crate::secrets::mask(
                &crate::report::run::dry_run_calls(&engine.transcript()),
                &masked,
            ));
            return RunOutcome::Ran(summary);
        }
        // A Ctrl-C after the CONTEXT was fetched and before the run's own handler exists.
        if fetched.as_ref().is_some_and(|f| f.interrupted()) {
            return RunOutcome::Interrupted;
        }
        // Connecting negotiates the API version, which proves the engine answers.
        let engine = match DockerEngine::connect().await {
            Ok(e) => e,
            Err(e) => {
                printer.status(&format!(
                    "error: {e}\n  help: start the Docker engine, or point DOCKER_HOST at one \
                     (for example unix:///var/run/docker.sock or tcp://host:2375)"
                ));
                return RunOutcome::NotStarted;
            }
        };
        // Step containers are made ahead of their steps, and started held at the gate unless
        // `TASKRUN_START_AHEAD=0` (see `engine::ahead`).
        let engine = StartAhead::new(
            engine,
            settings.start_ahead.then(|| options.key.gate_volume()),
        );
        let interrupt = CancellationToken::new();
        spawn_signal_handler(interrupt.clone());
        let ticker = live.then(|| {
            let screen = Arc::clone(&screen);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    screen.tick();
                }
            })
        });
        let summary = exec::run(engine, task, &plan, options, reporter, interrupt).await;
        if let Some(t) = ticker {
            t.abort();
        }
        if let Some(path) = &request.deps_file {
            write_deps_file(path, &summary, printer);
        }
        RunOutcome::Ran(summary)
    })
}

/// A checked task that may run, and what its run needs besides.
struct Admitted {
    checked: Checked,
    credentials: Credentials,
    login_registries: Vec<String>,
    masked: Vec<String>,
}

/// Checks the request as `run` does: everything `validate` checks, what only `run` refuses
/// (unresolved secrets, lines no agent here can run, the context), and the credentials. Prints
/// every problem (also as JSON events with `--output json`); `None` when any is an error.
fn admit(
    request: &RunRequest,
    context_dir: &Path,
    check_context: bool,
    credentials: Result<Credentials, CredentialError>,
    settings: &RunSettings,
    printer: &Printer,
) -> Option<Admitted> {
    // `--output json`: refusals are JSON events on stdout too (diagnostics stay on stderr).
    let json = request.output == Some(OutputMode::Json);
    let report = |problems: &Problems, masked: &[String]| {
        printer.problems(problems, masked);
        if json && problems.iter().next().is_some() {
            printer.problem_events(problems, masked);
        }
    };
    if let Some(problem) = check::context_dir_problem(context_dir) {
        report(&problem.into(), &[]);
        return None;
    }
    let checked = match check::check(&request.file, false) {
        Ok(c) => c,
        Err(mut failed) => {
            // What `validate` only warns about and `run` refuses is an error here too.
            failed.problems.refuse_for_run();
            printer.failed(&failed.problems, &failed.masked, failed.note.as_deref());
            if json {
                printer.problem_events(&failed.problems, &failed.masked);
            }
            return None;
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
    problems.extend(exec::refusals(
        &checked.task,
        settings.docker_cli.is_some(),
        &checked.source,
    ));
    if check_context {
        problems.extend(check::context_problems(
            &checked.task,
            context_dir,
            checked.inputs.strict,
        ));
    }
    let credentials = match credentials {
        Ok(c) => c,
        Err(message) => {
            // A malformed `--credential` may still hold a password the error message quotes.
            masked.extend(Credentials::passwords_in(&request.credential));
            problems.push(
                Problem::error(Code::FlagFormat, message.to_string())
                    .with_help("see `taskrun run --help` for the --credential form"),
            );
            Credentials::default()
        }
    };
    let mut login_registries: Vec<String> =
        credentials.explicit().map(|a| a.server.clone()).collect();
    if let Some(r) = request.file.registry.as_ref().filter(|r| !r.is_empty()) {
        login_registries.push(r.clone());
    }
    // Registry passwords are secrets too (SPEC §4, §6), whether from `--credential` or the
    // user's docker config: a step that prints the run's docker config, or an engine message
    // quoting it, must show `***` — for the password and for its base64 `auth` token.
    for auth in login_registries
        .iter()
        .filter_map(|r| credentials.for_registry(r))
    {
        masked.extend(crate::secrets::secret_forms([auth.password.as_str()]));
        masked.push(crate::registry::credentials::auth_token(&auth));
    }
    report(&problems, &masked);
    (!problems.has_errors()).then_some(Admitted {
        checked,
        credentials,
        login_registries,
        masked,
    })
}

/// Writes the dependency JSON of a successful run to `path` (a failure to write is a warning).
fn write_deps_file(path: &Path, summary: &RunSummary, printer: &Printer) {
    if !summary.success {
        return;
    }
    let mut json = serde_json::to_string_pretty(&summary.dependencies).unwrap_or_default();
    json.push('\n');
    if let Err(e) = std::fs::write(path, json) {
        printer.status(&format!(
            "warning: cannot write the dependency file `{}`: {e}",
            path.display()
        ));
    }
}

/// The empty directory that stands for CONTEXT `/dev/null`; removed when the run is over.
struct EmptyDir(PathBuf);

impl EmptyDir {
    fn new(dir: PathBuf) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "error: cannot make an empty context directory `{}` for /dev/null: {e}",
                dir.display()
            )
        })?;
        Ok(EmptyDir(dir))
    }
}

impl Drop for EmptyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Ctrl-C, SIGTERM and a cancel request (`task cancel-run`: [`crate::signals::CANCEL`]) cancel
/// the run (cleanup still happens); a second Ctrl-C exits at once.
fn spawn_signal_handler(interrupt: CancellationToken) {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    tokio::spawn(async move {
        async fn next(s: &mut Option<Signal>) {
            match s.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        let mut term = signal(SignalKind::terminate()).ok();
        let mut cancel = signal(SignalKind::from_raw(crate::signals::CANCEL)).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = next(&mut term) => {}
            () = next(&mut cancel) => {}
        }
        interrupt.cancel();
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(130);
    });
}

/// A run id in ACR's style when none is given: `l` + 4 base-36 characters.
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
