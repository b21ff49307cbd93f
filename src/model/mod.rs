//! The validated task: plain domain types with ACR's defaults applied and no spans or serde quirks.
//!
//! `validate` builds a [`Task`]; `plan` and `exec` read only this. Once a `Task` exists, every
//! step id is unique, every `when` names an earlier step, and exactly one step kind is set.

pub mod buildargs;
pub mod buildpath;
pub mod buildresources;
pub mod buildsecret;
pub mod cmdline;
pub mod platform;
pub mod ports;
pub mod runopts;
pub mod shellwords;
pub mod support;
pub mod value;

use std::collections::BTreeMap;

/// ACR's default per-step timeout in seconds (`stepTimeout`).
pub const DEFAULT_STEP_TIMEOUT: u64 = 600;
/// ACR's default (and minimum) retry delay in seconds.
pub const DEFAULT_RETRY_DELAY: u64 = 5;

/// A task file after validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Task {
    /// `version`, as written (default `v1.0.0`).
    pub version: String,
    /// Task-level default timeout for steps, seconds.
    pub step_timeout: u64,
    /// Task-level working directory, if any.
    pub working_directory: Option<String>,
    /// Task-level env entries (`KEY=value`), merged into every step (never split on commas).
    pub env: Vec<String>,
    /// Declared secrets.
    pub secrets: Vec<SecretDecl>,
    /// Declared networks.
    pub networks: Vec<NetworkDecl>,
    /// Declared secret volumes.
    pub volumes: Vec<VolumeDecl>,
    /// Steps in file order.
    pub steps: Vec<Step>,
}

/// A `secrets:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDecl {
    /// Name used as `{{.Secrets.<id>}}`.
    pub id: String,
    /// Key Vault URL, when given.
    pub keyvault: Option<String>,
    /// Managed identity client id, when given.
    pub client_id: Option<String>,
}

/// A `networks:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDecl {
    /// Network name as written in the file.
    pub name: String,
    /// Driver (`bridge` when absent).
    pub driver: Option<String>,
    /// Enable IPv6.
    pub ipv6: bool,
    /// Neither created nor removed by the run.
    pub skip_creation: bool,
    /// Steps without `network:` join this one.
    pub is_default: bool,
}

/// A `volumes:` entry (inline secret files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeDecl {
    /// Volume name.
    pub name: String,
    /// File name → decoded content.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A `volumeMounts:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// Name of a declared volume.
    pub name: String,
    /// Path inside the container.
    pub mount_path: String,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// `build:` — docker-build arguments, parsed once.
    Build(BuildStep),
    /// `cmd:` — a docker-run line (optional flags, image, arguments), parsed once.
    Cmd(CmdStep),
    /// `push:` — image references, normalised (`:latest` added) and de-duplicated.
    Push(Vec<String>),
}

impl StepKind {
    /// `build`, `cmd` or `push`.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Build(_) => "build",
            StepKind::Cmd(_) => "cmd",
            StepKind::Push(_) => "push",
        }
    }
}

/// A `cmd` step's line and its one parse ([`cmdline::parse_cmd`]), made when the step is made
/// (by `validate`, or by the command-alias expansion after it); `exec` reads the parse and never
/// parses the line again. Dereferences to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdStep {
    /// The line as rendered.
    pub line: String,
    /// Byte range of the `cmd` value in the checked text (`0..0` for steps made in code).
    pub span: std::ops::Range<usize>,
    /// The parse; an error was reported by `validate`, and such a task never runs.
    pub parsed: Result<Box<cmdline::ParsedCmd>, cmdline::CmdError>,
}

impl CmdStep {
    /// The step for `line`, parsed.
    pub fn new(line: impl Into<String>) -> Self {
        let line = line.into();
        let parsed = cmdline::parse_cmd(&line).map(Box::new);
        Self {
            line,
            span: 0..0,
            parsed,
        }
    }

    /// The same line at `span` of the checked text.
    pub fn at(mut self, span: std::ops::Range<usize>) -> Self {
        self.span = span;
        self
    }

    /// The parse, when the line is valid.
    pub fn parsed(&self) -> Option<&cmdline::ParsedCmd> {
        self.parsed.as_deref().ok()
    }

    /// Whether the step (its line and its merged `env` entries) needs the agent's shell: the
    /// line has constructs only a shell carries out, or an `env` entry only a shell can read.
    /// A line that does not parse is left to its diagnostics (false).
    pub fn needs_shell(&self, env: &[String]) -> bool {
        self.parsed().is_some_and(cmdline::ParsedCmd::needs_shell)
            || env.iter().any(|e| cmdline::env_word(e).is_none())
    }
}

impl std::ops::Deref for CmdStep {
    type Target = str;
    fn deref(&self) -> &str {
        &self.line
    }
}

impl From<&str> for CmdStep {
    fn from(line: &str) -> Self {
        Self::new(line)
    }
}

impl From<String> for CmdStep {
    fn from(line: String) -> Self {
        Self::new(line)
    }
}

/// A `build` step's string and its one parse ([`buildargs::parse_build`]), made when the step
/// is made (by `validate`); `validate`'s checks and `exec` read the parse and never parse the
/// string again. Dereferences to the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// The string as rendered.
    pub line: String,
    /// The parse; errors were reported by `validate`, and such a task never runs.
    pub parsed: Result<Box<buildargs::BuildArgs>, Vec<buildargs::BuildArgError>>,
}

impl BuildStep {
    /// The step for `line`, parsed.
    pub fn new(line: impl Into<String>) -> Self {
        let line = line.into();
        let parsed = buildargs::parse_build(&line).map(Box::new);
        Self { line, parsed }
    }

    /// The parse, when the string is valid.
    pub fn parsed(&self) -> Option<&buildargs::BuildArgs> {
        self.parsed.as_deref().ok()
    }
}

impl std::ops::Deref for BuildStep {
    type Target = str;
    fn deref(&self) -> &str {
        &self.line
    }
}

impl From<&str> for BuildStep {
    fn from(line: &str) -> Self {
        Self::new(line)
    }
}

impl From<String> for BuildStep {
    fn from(line: String) -> Self {
        Self::new(line)
    }
}

/// When a step may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs {
    /// No `when`: after the previous step in the file (at start for the first step).
    Previous,
    /// `when: ["-"]`: at start.
    Start,
    /// `when: [a, b]`: after all of these (indices of earlier steps, de-duplicated, in order).
    Steps(Vec<usize>),
}

/// One step, with ACR's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Position in the file (0-based).
    pub index: usize,
    /// Step id (`acb_step_<index>` when not given).
    pub id: String,
    /// What the step does.
    pub kind: StepKind,
    /// Ordering rule as written.
    pub needs: Needs,
    /// Resolved dependencies: indices of the steps this one waits for.
    pub deps: Vec<usize>,
    /// Env entries, task env merged in (step keys win), `KEY=value`.
    pub env: Vec<String>,
    /// Working directory as written (step, else task), before joining under `/workspace`.
    pub working_directory: Option<String>,
    /// Omit the working directory override.
    pub disable_working_directory_override: bool,
    /// `--entrypoint` (cmd only).
    pub entry_point: Option<String>,
    /// `--user`.
    pub user: Option<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// Published ports (`-p`).
    pub ports: Vec<ports::PublishedPort>,
    /// Exposed ports.
    pub expose: Vec<String>,
    /// Network to join, when set on the step.
    pub network: Option<String>,
    /// `--isolation`.
    pub isolation: Option<String>,
    /// `--cpus`.
    pub cpus: Option<f64>,
    /// Keep the container after it exits (until the run ends).
    pub keep: bool,
    /// Start and do not wait.
    pub detach: bool,
    /// Timeout, seconds.
    pub timeout: u64,
    /// Delay before start, seconds.
    pub start_delay: u64,
    /// Extra attempts after a failure.
    pub retries: u64,
    /// Delay between attempts, seconds (at least 5, as ACR).
    pub retry_delay: u64,
    /// Retry only when the output contains one of these.
    pub retry_on_errors: Vec<String>,
    /// Extra repetitions of the whole retry loop.
    pub repeat: u64,
    /// A failure does not fail the run.
    pub ignore_errors: bool,
    /// Pull the image explicitly before a cmd step.
    pub pull: bool,
    /// Build cache enabled (`cache: enabled`).
    pub cache: bool,
    /// Volume mounts.
    pub volume_mounts: Vec<VolumeMount>,
}

/// How diagnostics name a step: ``step `id` `` when the file gives it an id, else `step N`
/// (1-based position). A step whose id is its default (`acb_step_<index>`) is named by position
/// too, so one step has one name in every message of every stage. Run output (`[id] …` lines,
/// the summary, JSON events) uses the id itself, as acb does.
pub fn step_label(index: usize, id: &str) -> String {
    if id.is_empty() || id == format!("acb_step_{index}") {
        format!("step {}", index + 1)
    } else {
        format!("step `{id}`")
    }
}

impl Step {
    /// The step's name in diagnostics (see [`step_label`]).
    pub fn label(&self) -> String {
        step_label(self.index, &self.id)
    }

    /// A step with ACR's defaults for position `index`.
    pub fn new(index: usize, id: String, kind: StepKind) -> Self {
        Self {
            index,
            id,
            kind,
            needs: Needs::Previous,
            deps: Vec::new(),
            env: Vec::new(),
            working_directory: None,
            disable_working_directory_override: false,
            entry_point: None,
            user: None,
            privileged: false,
            ports: Vec::new(),
            expose: Vec::new(),
            network: None,
            isolation: None,
            cpus: None,
            keep: false,
            detach: false,
            timeout: DEFAULT_STEP_TIMEOUT,
            start_delay: 0,
            retries: 0,
            retry_delay: DEFAULT_RETRY_DELAY,
            retry_on_errors: Vec::new(),
            repeat: 0,
            ignore_errors: false,
            pull: false,
            cache: false,
            volume_mounts: Vec::new(),
        }
    }
}
