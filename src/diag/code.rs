//! The stable diagnostic codes. Each is documented in `docs/errors.md` and has a snapshot test.

/// A stable diagnostic code, printed as `taskrun::<stage>::<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    // ---- input: files and flags
    /// A file named on the command line cannot be read.
    IoRead,
    /// A `--set`, `--set-secret`, `--secret` or `--image-alias` flag is not `KEY=VALUE`.
    FlagFormat,
    /// The `--values` file is not valid YAML or not a mapping.
    ValuesFile,
    /// `task logs --run-id` (or another `task` command) names a run the store does not have.
    RunNotFound,
    /// `task cancel-run` names a run that has already finished.
    RunNotRunning,

    // ---- context: remote CONTEXT arguments
    /// A remote context (git, tarball, OCI artifact) cannot be fetched: the host cannot be
    /// reached, the fetch timed out or git cannot run.
    ContextFetch,
    /// A remote context's server refused the credentials or the git access token.
    ContextAuth,
    /// A remote context's repository, reference, folder, URL or artifact does not exist.
    ContextNotFound,
    /// A tarball context is not a tar archive.
    ContextNotArchive,

    // ---- render: aliases and templates
    /// The `alias:` block or an alias `src` file is invalid.
    Alias,
    /// A Go template does not parse.
    TemplateParse,
    /// A Go template fails while executing.
    TemplateExec,
    /// A template refers to a missing value (error only under `--strict`).
    MissingValue,
    /// `{{ }}` and `<< >>` template actions are both used in one file.
    MixedDelims,
    /// A `secrets:` entry has no value supplied locally.
    SecretUnresolved,

    // ---- syntax: YAML
    /// The rendered text is not valid YAML.
    Yaml,
    /// A value has the wrong type (for example a string where a list is expected).
    Type,
    /// A key that ACR does not know (ignored; an error under `--strict`).
    UnknownKey,
    /// A key appears twice in one mapping (the last one wins, as in ACR).
    DuplicateKey,

    // ---- validate: task rules
    /// `version` is not one ACR accepts.
    Version,
    /// A step has none of `build`, `cmd`, `push`.
    StepKindMissing,
    /// A step has more than one of `build`, `cmd`, `push`.
    StepKindMultiple,
    /// A step id contains whitespace.
    StepIdSpaces,
    /// Two steps share an id.
    StepIdDuplicate,
    /// A step uses the reserved id `acb_root`.
    StepIdReserved,
    /// `when` names a step that does not exist.
    WhenUnknown,
    /// `when` names a step that is defined later in the file.
    WhenForward,
    /// `when` names the step itself.
    WhenSelf,
    /// `when` mixes `-` with step ids.
    WhenDashMixed,
    /// `when` has an empty entry.
    WhenEmpty,
    /// `when` names the same step twice.
    WhenDuplicate,
    /// `retries` or `repeat` is negative.
    NegativeCount,
    /// `cache` is neither `enabled` nor `disabled`.
    CacheValue,
    /// A `volumes` entry is invalid (name, duplicate, source, file name or base64 content).
    Volume,
    /// A `volumeMounts` entry is invalid.
    VolumeMount,
    /// A `secrets` entry is invalid.
    Secret,
    /// A `networks` entry is invalid.
    Network,
    /// An `env` entry is not `KEY=VALUE`.
    EnvEntry,
    /// A `cmd` line uses a construct only a host shell would act on.
    CmdShell,
    /// A `build` step's context or Dockerfile resolves outside `/workspace`, or (with CONTEXT) its
    /// Dockerfile is not in the CONTEXT directory.
    BuildPath,
    /// A real `docker run`/`docker build` flag that taskrun does not carry out.
    UnsupportedFlag,
    /// A step's `ports`, `expose` or `cpus` is not in docker's syntax.
    StepValue,
    /// A `build` step's `--secret` is malformed, or given to the classic builder (no
    /// `DOCKER_BUILDKIT=1`).
    BuildSecret,

    // ---- deps: Dockerfiles
    /// A Dockerfile cannot be scanned for its base images.
    Dockerfile,

    // ---- run: what the machine must provide
    /// A `cmd` line needs the agent's shell and no docker CLI was found.
    AgentShell,
}

impl Code {
    /// Every code, in documentation order.
    pub const ALL: &'static [Code] = &[
        Code::IoRead,
        Code::FlagFormat,
        Code::ValuesFile,
        Code::RunNotFound,
        Code::RunNotRunning,
        Code::ContextFetch,
        Code::ContextAuth,
        Code::ContextNotFound,
        Code::ContextNotArchive,
        Code::Alias,
        Code::TemplateParse,
        Code::TemplateExec,
        Code::MissingValue,
        Code::MixedDelims,
        Code::SecretUnresolved,
        Code::Yaml,
        Code::Type,
        Code::UnknownKey,
        Code::DuplicateKey,
        Code::Version,
        Code::StepKindMissing,
        Code::StepKindMultiple,
        Code::StepIdSpaces,
        Code::StepIdDuplicate,
        Code::StepIdReserved,
        Code::WhenUnknown,
        Code::WhenForward,
        Code::WhenSelf,
        Code::WhenDashMixed,
        Code::WhenEmpty,
        Code::WhenDuplicate,
        Code::NegativeCount,
        Code::CacheValue,
        Code::StepValue,
        Code::Volume,
        Code::VolumeMount,
        Code::Secret,
        Code::Network,
        Code::EnvEntry,
        Code::CmdShell,
        Code::BuildPath,
        Code::UnsupportedFlag,
        Code::BuildSecret,
        Code::Dockerfile,
        Code::AgentShell,
    ];

    /// The printed form, `taskrun::<stage>::<name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::IoRead => "taskrun::input::read",
            Code::FlagFormat => "taskrun::input::flag_format",
            Code::ValuesFile => "taskrun::input::values_file",
            Code::RunNotFound => "taskrun::input::run_not_found",
            Code::RunNotRunning => "taskrun::input::run_not_running",
            Code::ContextFetch => "taskrun::context::fetch",
            Code::ContextAuth => "taskrun::context::auth",
            Code::ContextNotFound => "taskrun::context::not_found",
            Code::ContextNotArchive => "taskrun::context::not_archive",
            Code::Alias => "taskrun::render::alias",
            Code::TemplateParse => "taskrun::render::template_parse",
            Code::TemplateExec => "taskrun::render::template_exec",
            Code::MissingValue => "taskrun::render::missing_value",
            Code::MixedDelims => "taskrun::render::mixed_delims",
            Code::SecretUnresolved => "taskrun::render::secret_unresolved",
            Code::Yaml => "taskrun::syntax::yaml",
            Code::Type => "taskrun::syntax::type",
            Code::UnknownKey => "taskrun::syntax::unknown_key",
            Code::DuplicateKey => "taskrun::syntax::duplicate_key",
            Code::Version => "taskrun::validate::version",
            Code::StepKindMissing => "taskrun::validate::step_kind_missing",
            Code::StepKindMultiple => "taskrun::validate::step_kind_multiple",
            Code::StepIdSpaces => "taskrun::validate::step_id_spaces",
            Code::StepIdDuplicate => "taskrun::validate::step_id_duplicate",
            Code::StepIdReserved => "taskrun::validate::step_id_reserved",
            Code::WhenUnknown => "taskrun::validate::when_unknown",
            Code::WhenForward => "taskrun::validate::when_forward",
            Code::WhenSelf => "taskrun::validate::when_self",
            Code::WhenDashMixed => "taskrun::validate::when_dash_mixed",
            Code::WhenEmpty => "taskrun::validate::when_empty",
            Code::WhenDuplicate => "taskrun::validate::when_duplicate",
            Code::NegativeCount => "taskrun::validate::negative_count",
            Code::CacheValue => "taskrun::validate::cache_value",
            Code::StepValue => "taskrun::validate::step_value",
            Code::Volume => "taskrun::validate::volume",
            Code::VolumeMount => "taskrun::validate::volume_mount",
            Code::Secret => "taskrun::validate::secret",
            Code::Network => "taskrun::validate::network",
            Code::EnvEntry => "taskrun::validate::env_entry",
            Code::CmdShell => "taskrun::validate::cmd_shell",
            Code::BuildPath => "taskrun::validate::build_path",
            Code::UnsupportedFlag => "taskrun::validate::unsupported_flag",
            Code::BuildSecret => "taskrun::validate::build_secret",
            Code::Dockerfile => "taskrun::deps::dockerfile",
            Code::AgentShell => "taskrun::run::agent_shell",
        }
    }

    /// Whether `--strict` turns a warning with this code into an error.
    pub fn strict_makes_error(self) -> bool {
        // Unresolved secrets are only errors for `run`; everything else that taskrun tolerates
        // where acb or a careful reader would not is refused under --strict.
        !matches!(self, Code::SecretUnresolved)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
