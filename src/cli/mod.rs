//! The command line (clap derive). Names and flags follow SPEC §3 and are part of the contract.

pub mod reference;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::Delims;
use crate::report::run::OutputMode;
use crate::store::RunStatus;

use crate::ops::FileRequest;
pub use crate::report::ColorChoice;
pub use crate::report::tasks::TableFormat;

/// The version shown by `--version`: the crate version and the git commit it was built from.
pub const VERSION: &str = if env!("TASKRUN_COMMIT").is_empty() {
    env!("CARGO_PKG_VERSION")
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (", env!("TASKRUN_COMMIT"), ")")
};

/// Run Azure Container Registry Tasks files locally, exactly as ACR Tasks would.
#[derive(Debug, Parser)]
#[command(name = "taskrun", version = VERSION, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    /// The command (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Arguments of `run` when no command is named.
    #[command(flatten)]
    pub run: RunArgs,
    /// When to use colours: auto, always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a task file (the default command).
    Run(RunArgs),
    /// Quick build: build an image and push it to the registry, as `az acr build`.
    Build(BuildArgs),
    /// Print the rendered text of a task file (after aliases and templates).
    Render(RenderArgs),
    /// Check everything that can be checked without running.
    Validate(ValidateArgs),
    /// Print the step graph.
    Graph(GraphArgs),
    /// Print the base-image dependencies of a Dockerfile (acb's dependency JSON).
    Scan(ScanArgs),
    /// Fire task runs on base-image updates, pushes, schedules and commits.
    Serve(ServeArgs),
    /// Named tasks and their run history (mirrors `az acr task`).
    #[command(subcommand)]
    Task(TaskCommand),
    /// Print the JSON Schema of task files.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Copy an image (every platform of a multi-arch index) between registries, as `az acr import`.
    Import(ImportArgs),
}

/// `import`: the source image, the target names and the registries' credentials.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The source image, fully qualified (`registry/repository:tag` or `…@sha256:…`).
    #[arg(long, value_name = "REF")]
    pub source: String,
    /// A target `NAME[:TAG]` in the `-r` registry (repeatable) [default: the source's repository
    /// and tag].
    #[arg(long = "image", short = 't', value_name = "NAME[:TAG]")]
    pub images: Vec<String>,
    /// The target registry (host) for names without one.
    #[arg(
        short = 'r',
        long = "registry",
        env = "TASKRUN_REGISTRY",
        value_name = "HOST"
    )]
    pub registry: Option<String>,
    /// User name for the SOURCE registry (target credentials come from the docker config).
    #[arg(short = 'u', long, value_name = "USER", requires = "password")]
    pub username: Option<String>,
    /// Password for the SOURCE registry.
    #[arg(short = 'p', long, value_name = "PASSWORD", requires = "username")]
    pub password: Option<String>,
    /// Overwrite target tags that already exist.
    #[arg(long)]
    pub force: bool,
    /// Registry hosts to reach over plain HTTP (besides 127.0.0.0/8 and localhost).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
}

/// `scan`: a build context and the docker-build flags that affect base images.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// The build context: a directory, a git URL (`…repo.git#ref:folder`), a tarball URL or
    /// `oci://REGISTRY/REPO:TAG` (fetched into a temporary directory first).
    #[arg(value_name = "CONTEXT", default_value = ".")]
    pub context: PathBuf,
    /// The Dockerfile, relative to the context [default: Dockerfile].
    #[arg(short = 'f', long = "file", value_name = "DOCKERFILE")]
    pub file: Option<String>,
    /// Image tags the build would produce (one dependency entry each).
    #[arg(short = 't', long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Build arguments that override global ARG defaults (`K=V`; `K` alone is ignored).
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// Scan only the stages this target needs.
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Do not resolve digests (no engine or registry access).
    #[arg(long = "no-digests")]
    pub no_digests: bool,
    /// Registry hosts to reach over plain HTTP (besides 127.0.0.0/8 and localhost).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
}

/// The task file and the shared value flags (SPEC §3).
#[derive(Debug, Clone, Args, Default)]
pub struct FileArgs {
    /// The task file [default: acr-task.yaml, else acb.yaml]. A relative path is looked up in
    /// CONTEXT first, then in the current directory (as `az acr run -f`); `-` reads standard
    /// input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Set a template value, `.Values.KEY` (repeatable; later wins; commas are not split).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// A YAML file of template values (`.Values`); `--set` wins over it.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Option<PathBuf>,
    /// Set a template value that is masked as *** in all output.
    #[arg(long = "set-secret", value_name = "KEY=VALUE")]
    pub set_secret: Vec<String>,
    /// The value of a task secret (`secrets:` id), in place of Key Vault.
    #[arg(long = "secret", value_name = "ID=VALUE")]
    pub secret: Vec<String>,
    /// A YAML file mapping secret ids to values.
    #[arg(long = "secrets-file", value_name = "FILE")]
    pub secrets_file: Option<PathBuf>,
    /// The run registry, `.Run.Registry`.
    #[arg(
        short = 'r',
        long = "registry",
        env = "TASKRUN_REGISTRY",
        value_name = "HOST"
    )]
    pub registry: Option<String>,
    /// The run id, `.Run.ID`.
    #[arg(long = "run-id", value_name = "ID")]
    pub run_id: Option<String>,
    /// `.Run.Commit`.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// `.Run.Branch`.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// `.Run.GitTag`.
    #[arg(long = "git-tag", value_name = "TAG")]
    pub git_tag: Option<String>,
    /// `.Run.Repository`.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
    /// `.Run.TriggeredBy`.
    #[arg(long = "triggered-by", value_name = "TEXT")]
    pub triggered_by: Option<String>,
    /// The task name, `.Run.TaskName`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Treat warnings (unknown keys, duplicate keys, missing values, shell constructs) as errors.
    #[arg(long)]
    pub strict: bool,
    /// Template delimiters: braces (`{{ }}`) or angles (`<< >>`) [default: detected].
    #[arg(long, value_enum, value_name = "DELIMS")]
    pub delims: Option<Delims>,
    /// Override an image alias of v1.1.0 files (`bash`, `az`, `acr`, `curl`, `cssc`, or a new one).
    #[arg(long = "image-alias", value_name = "NAME=REF")]
    pub image_alias: Vec<String>,
}

impl FileArgs {
    /// The library request these flags ask for.
    pub fn request(&self) -> FileRequest {
        FileRequest {
            file: self.file.clone(),
            set: self.set.clone(),
            values: self.values.clone(),
            set_secret: self.set_secret.clone(),
            secret: self.secret.clone(),
            secrets_file: self.secrets_file.clone(),
            registry: self.registry.clone(),
            run_id: self.run_id.clone(),
            commit: self.commit.clone(),
            branch: self.branch.clone(),
            git_tag: self.git_tag.clone(),
            repository: self.repository.clone(),
            triggered_by: self.triggered_by.clone(),
            name: self.name.clone(),
            strict: self.strict,
            delims: self.delims,
            image_alias: self.image_alias.clone(),
            ..FileRequest::default()
        }
    }
}

/// `validate`: the file flags and, optionally, the CONTEXT directory `run` would use.
#[derive(Debug, Clone, Args, Default)]
pub struct ValidateArgs {
    /// Task file and values.
    #[command(flatten)]
    pub file: FileArgs,
    /// The build context `run` would seed into `/workspace`; when given, the checks that need
    /// it (is each build's Dockerfile there) are made as `run` makes them. A remote context
    /// (git URL, tarball URL, `oci://…`) is fetched for that, read-only.
    #[arg(value_name = "CONTEXT")]
    pub context: Option<PathBuf>,
}

/// `render`: the file flags plus placeholders.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// Task file and values.
    #[command(flatten)]
    pub file: FileArgs,
    /// Fill values the file uses but nobody gave with placeholders, as `validate` does
    /// (`{{.Values.tag}}` renders `tag`); without it, they render empty, as ACR.
    #[arg(long)]
    pub placeholders: bool,
}

/// The flags of `run` that a quick build (`build`) takes too.
#[derive(Debug, Clone, Args, Default)]
pub struct RunControlArgs {
    /// Print the plan and every engine call it would make; touch nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Output: human (default on a terminal), plain (`[step] line`), json (one event per line).
    #[arg(long, value_enum, value_name = "MODE")]
    pub output: Option<OutputMode>,
    /// Registry credentials in acb's JSON form (repeatable):
    /// `{"registry":"…","username":"…","password":"…"}`.
    #[arg(long = "credential", value_name = "JSON")]
    pub credential: Vec<String>,
    /// Write the dependency JSON of the run's build steps (acb's shape) to FILE.
    #[arg(long = "deps-file", value_name = "FILE")]
    pub deps_file: Option<PathBuf>,
    /// Registry hosts reached over plain HTTP for digest lookups (besides 127.0.0.0/8 and
    /// localhost).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Keep the run's volumes (workspace, home, secret volumes) after the run.
    #[arg(long = "keep-workspace")]
    pub keep_workspace: bool,
    /// Whole-run timeout in seconds (`az acr run --timeout`, `az acr build --timeout`;
    /// default: none locally).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

impl RunControlArgs {
    /// These flags on a run request.
    pub fn apply(&self, request: &mut crate::ops::RunRequest) {
        request.dry_run = self.dry_run;
        request.output = self.output;
        request.credential = self.credential.clone();
        request.deps_file = self.deps_file.clone();
        request.insecure_registries = self.insecure_registries.clone();
        request.keep_workspace = self.keep_workspace;
        request.timeout = self.timeout.map(std::time::Duration::from_secs);
    }
}

/// `run`: the file flags plus run options.
#[derive(Debug, Clone, Args, Default)]
pub struct RunArgs {
    /// Task file and values.
    #[command(flatten)]
    pub file: FileArgs,
    /// The build context, seeded into `/workspace`: a directory, a git URL
    /// (`…repo.git#ref:folder`), a tarball URL or `oci://REGISTRY/REPO:TAG` (fetched once for
    /// the run); `/dev/null`: none (an empty workspace, as `az acr run … /dev/null`).
    #[arg(value_name = "CONTEXT")]
    pub context: Option<PathBuf>,
    /// Quick run (`az acr run --cmd`): run `IMAGE ARGS` as the one `cmd` step of a generated
    /// v1.1.0 task, in place of a task file.
    #[arg(long = "cmd", value_name = "'IMAGE ARGS'", conflicts_with = "file")]
    pub cmd: Option<String>,
    /// How the run runs (shared with `build`).
    #[command(flatten)]
    pub control: RunControlArgs,
    /// Run at most N steps at the same time [default: unlimited, as ACR].
    #[arg(long = "max-parallel", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel: Option<u16>,
}

/// `build`: the flags of `az acr build`, and the run flags that apply to a quick build.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// An image name, relative to the registry unless it names it (repeatable; templates and
    /// `$` aliases work: `-t hello:{{.Run.ID}}`).
    #[arg(
        short = 't',
        long = "image",
        value_name = "IMAGE",
        required_unless_present = "no_push"
    )]
    pub images: Vec<String>,
    /// The Dockerfile, relative to CONTEXT [default: Dockerfile].
    #[arg(short = 'f', long = "file", value_name = "DOCKERFILE")]
    pub file: Option<String>,
    /// A build argument `K=V` (repeatable).
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// A build argument `K=V` whose value is masked as *** in all output (repeatable).
    #[arg(long = "secret-build-arg", value_name = "K=V")]
    pub secret_build_args: Vec<String>,
    /// The build stage to stop at.
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// The platform to build for (`linux/amd64`, `linux/arm64`, …).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Build only; do not push.
    #[arg(long = "no-push")]
    pub no_push: bool,
    /// Do not use the engine's build cache.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// The registry the images are pushed to, `.Run.Registry`.
    #[arg(
        short = 'r',
        long = "registry",
        env = "TASKRUN_REGISTRY",
        value_name = "HOST"
    )]
    pub registry: String,
    /// The run id, `.Run.ID`.
    #[arg(long = "run-id", value_name = "ID")]
    pub run_id: Option<String>,
    /// The build context: a directory, a git URL (`…repo.git#ref:folder`), a tarball URL or
    /// `oci://REGISTRY/REPO:TAG` (fetched once for the build, as `az acr build`).
    #[arg(value_name = "CONTEXT")]
    pub context: PathBuf,
    /// How the build runs (shared with `run`).
    #[command(flatten)]
    pub control: RunControlArgs,
}

/// `graph`: the file flags plus the output format.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Task file and values.
    #[command(flatten)]
    pub file: FileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

/// Formats of `taskrun graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Steps in start order with what each waits for.
    Text,
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// JSON nodes and edges.
    Json,
}

/// Parses the arguments; `--help`, `--version` and usage errors exit here (usage errors with 2).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Cli {
    Cli::parse_from(args)
}

/// `taskrun task …`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Create a named task.
    Create(TaskDefArgs),
    /// Change a named task (only the flags given).
    Update(TaskDefArgs),
    /// Show a task.
    Show(TaskNameArgs),
    /// List the tasks.
    List(OutputArgs),
    /// Delete a task with its runs and logs.
    Delete(TaskNameArgs),
    /// Run a task now (trigger `Manual`).
    Run(TaskRunArgs),
    /// List runs, newest first, like `az acr task list-runs`.
    ListRuns(ListRunsArgs),
    /// Print the stored log of a run (default: the latest run).
    Logs(LogsArgs),
    /// Cancel a queued or running run, like `az acr task cancel-run`.
    CancelRun(CancelRunArgs),
}

/// `-o table|json`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = TableFormat::Table)]
    pub output: TableFormat,
}

/// `--name` of a task.
#[derive(Debug, Clone, Args)]
pub struct TaskNameArgs {
    /// The task name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = TableFormat::Table)]
    pub output: TableFormat,
}

/// The definition flags of `task create` / `task update` (az acr task's names).
#[derive(Debug, Clone, Args)]
pub struct TaskDefArgs {
    /// The task name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// The task file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The context: a local directory, a local git repository with `#branch`, a git URL
    /// (`…repo.git#ref:folder`), a tarball URL or `oci://REGISTRY/REPO:TAG` (fetched for each
    /// run; `-f` is then relative to it).
    #[arg(short = 'c', long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// The access token for an `https` git context, as `az acr task create
    /// --git-access-token`: used for the runs' fetch and the commit trigger's poll; stored with
    /// the task, never shown.
    #[arg(
        long = "git-access-token",
        value_name = "TOKEN",
        env = "TASKRUN_GIT_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub git_access_token: Option<String>,
    /// Template values (`.Values.KEY`), repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Template values masked in all output, repeatable.
    #[arg(long = "set-secret", value_name = "KEY=VALUE")]
    pub set_secret: Vec<String>,
    /// A YAML file of template values.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Option<PathBuf>,
    /// The run registry (`.Run.Registry`).
    #[arg(short = 'r', long = "registry", value_name = "HOST")]
    pub registry: Option<String>,
    /// Run when a base image of the task changes [default: true].
    #[arg(long = "base-image-trigger-enabled", value_name = "BOOL")]
    pub base_image_trigger_enabled: Option<bool>,
    /// Which base images trigger: Runtime (final stage) or All [default: Runtime].
    #[arg(long = "base-image-trigger-type", value_name = "TYPE")]
    pub base_image_trigger_type: Option<String>,
    /// A 5-field UTC cron schedule, repeatable.
    #[arg(long = "schedule", value_name = "CRON")]
    pub schedules: Vec<String>,
    /// Run on a new commit of the context's branch [default: true for git contexts].
    #[arg(long = "commit-trigger-enabled", value_name = "BOOL")]
    pub commit_trigger_enabled: Option<bool>,
    /// Whole-run timeout in seconds [default: 3600].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = TableFormat::Table)]
    pub output: TableFormat,
}

/// `task run`: the task, and settings that override the task's own for this run only.
#[derive(Debug, Clone, Args, Default)]
pub struct TaskRunArgs {
    /// The task name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Output: human, plain, json.
    #[arg(long = "output", value_enum, value_name = "MODE")]
    pub output: Option<OutputMode>,
    /// Another task file for this run (relative to the run's context first, else to the
    /// current directory).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Another context for this run: a local directory, a local git repository with
    /// `#branch`, a git URL, a tarball URL or `oci://…`.
    #[arg(short = 'c', long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// A template value for this run, over the task's own (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// A template value for this run, masked in all output and never stored (repeatable).
    #[arg(long = "set-secret", value_name = "KEY=VALUE")]
    pub set_secret: Vec<String>,
    /// Another values file for this run.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Option<PathBuf>,
}

/// `task list-runs`.
#[derive(Debug, Clone, Args)]
pub struct ListRunsArgs {
    /// Only this task's runs.
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// Only the K most recent runs (after `--status`).
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,
    /// Only runs with this status: Queued, Running, Succeeded, Failed, Canceled, Error or
    /// Timeout (any case).
    #[arg(long, visible_alias = "run-status", value_name = "STATUS", value_parser = run_status)]
    pub status: Option<RunStatus>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = TableFormat::Table)]
    pub output: TableFormat,
}

/// A `--status` value, as az reads it: case-insensitive.
fn run_status(raw: &str) -> Result<RunStatus, String> {
    raw.parse().map_err(|_| {
        "expected one of Queued, Running, Succeeded, Failed, Canceled, Error, Timeout".to_owned()
    })
}

/// `task cancel-run`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("run").required(true).args(["id", "run_id"])))]
pub struct CancelRunArgs {
    /// The run to cancel.
    #[arg(value_name = "RUN_ID")]
    pub id: Option<String>,
    /// The run to cancel (az's spelling).
    #[arg(long = "run-id", value_name = "ID", conflicts_with = "id")]
    pub run_id: Option<String>,
}

impl CancelRunArgs {
    /// The run id, however it was given.
    pub fn run(&self) -> &str {
        self.id
            .as_deref()
            .or(self.run_id.as_deref())
            .unwrap_or_default()
    }
}

/// `task logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The run [default: the latest run].
    #[arg(long = "run-id", value_name = "ID")]
    pub run_id: Option<String>,
    /// The latest run of this task.
    #[arg(short = 'n', long)]
    pub name: Option<String>,
}

/// `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Seconds between cycles.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub interval: u64,
    /// Run one cycle (and the runs it fires), then exit.
    #[arg(long)]
    pub once: bool,
    /// Registry hosts reached over plain HTTP (besides 127.0.0.0/8 and localhost).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
}
