//! The task file as written: a 1:1 mirror of acb's YAML structs (`graph.Task`, `graph.Step`,
//! `secretmgmt.Secret`, `graph.Network`, `volume.Volume`, `volume.Mount`), with the byte span of
//! every value that a diagnostic may point at.
//!
//! Nothing here applies defaults or checks rules; that is [`crate::validate`]'s job. Values are
//! already decoded with yaml.v2's rules (YAML 1.1 booleans, any scalar accepted for a string,
//! floats truncated for integers, `~` as the zero value), see [`super::parse`].
//!
//! The `JsonSchema` derives produce `taskrun schema`; the field docs become the schema's
//! descriptions, so they say what acb does with the key, its default and what taskrun does.

use std::ops::Range;

use indexmap::IndexMap;
use schemars::JsonSchema;

use super::scalars::{Alias, Flag, Number, Text};

/// A value with the byte range of its YAML node in the parsed (rendered) text.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The decoded value.
    pub value: T,
    /// Byte range of the node in the text that was parsed. For aliases and merged values this
    /// is where the value is used (`*name` / `<<: *name`).
    pub span: Range<usize>,
}

impl<T> Spanned<T> {
    /// A value at `span`.
    pub fn new(value: T, span: Range<usize>) -> Self {
        Self { value, span }
    }
}

/// A list with its own span and a span per item.
pub type SpannedList<T> = Spanned<Vec<Spanned<T>>>;

/// Items of an optional list (empty when the key is absent).
pub fn items<T>(list: &Option<SpannedList<T>>) -> &[Spanned<T>] {
    list.as_ref().map_or(&[], |l| l.value.as_slice())
}

/// A whole task file (`acr-task.yaml`).
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
#[schemars(title = "ACR Tasks task file (acr-task.yaml)")]
pub struct File {
    /// Task file format version. acb accepts (case-insensitively) `v1.1.0`, `v1.0.0` and the
    /// legacy `1.0-preview-1`; absent or empty means `v1.0.0`. `v1.1.0` enables `$` aliases
    /// (`$Registry`, `$ID`, the `alias:` block and image aliases such as `bash` or `az`).
    /// Other values (`1.0` in older files) get a warning; acb refuses them.
    #[schemars(
        with = "Option<Text>",
        extend("examples" = ["v1.1.0", "v1.0.0"])
    )]
    pub version: Option<Spanned<String>>,

    /// Default `timeout` in seconds for every step that sets none. Default 600; a value of 0 or
    /// less also means 600.
    #[schemars(rename = "stepTimeout", with = "Option<Number>")]
    pub step_timeout: Option<Spanned<i64>>,

    /// Working directory for steps that set none. Relative paths are under `/workspace`, the
    /// directory shared by all steps (it starts as the build context).
    #[schemars(rename = "workingDirectory", with = "Option<Text>")]
    pub working_directory: Option<Spanned<String>>,

    /// Environment variables (`KEY=value`) for every `cmd` and `build` step; a step's own `env`
    /// wins for the same key. Each entry must contain `=`. taskrun never splits an entry on
    /// commas (acb does, which breaks values such as `NO_PROXY=a,b`).
    #[schemars(with = "Option<Vec<Text>>")]
    pub env: Option<SpannedList<String>>,

    /// Azure Key Vault secrets, usable in templates as `{{.Secrets.<id>}}`. Locally taskrun takes
    /// their values from `--secret id=value`, `TASKRUN_SECRET_<ID>` or a secrets file.
    #[schemars(with = "Option<Vec<Secret>>")]
    pub secrets: Option<SpannedList<Secret>>,

    /// Docker networks created for the run. Without any, every step joins one default bridge
    /// network where it is reachable by its step id; with some, only steps naming a network
    /// (or the `isDefault` one) join it.
    #[schemars(with = "Option<Vec<Network>>")]
    pub networks: Option<SpannedList<Network>>,

    /// Named volumes whose files come from inline base64 content (`secret:`), mounted into steps
    /// with `volumeMounts`.
    #[schemars(with = "Option<Vec<Volume>>")]
    pub volumes: Option<SpannedList<Volume>>,

    /// Aliases for `version: v1.1.0` files (`src`, `values`, `directive`). The block is applied
    /// and removed before the YAML is parsed; in other versions acb ignores it.
    #[schemars(with = "Option<Alias>")]
    pub alias: Option<Range<usize>>,

    /// The steps, in file order. A step without `when` starts after the step written before
    /// it; an empty or absent list is a valid task that does nothing.
    #[schemars(with = "Option<Vec<Step>>")]
    pub steps: Vec<Spanned<Step>>,
}

/// One step. Exactly one of `build`, `cmd` and `push` must be set (non-empty).
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
#[schemars(extend("oneOf" = [
    {"required": ["build"], "properties": {"build": {"not": {"enum": ["", null]}}}},
    {"required": ["cmd"], "properties": {"cmd": {"not": {"enum": ["", null]}}}},
    {"required": ["push"], "properties": {"push": {"type": "array", "minItems": 1}}}
]))]
pub struct Step {
    /// The step is not a mapping, or its `cmd`, `build` or `push` has the wrong type (already
    /// reported by `syntax`): `validate` does not report its kind as missing. Not in the file.
    #[schemars(skip)]
    pub kind_mistyped: bool,

    /// Step id: the name used in `when`, the container name and its DNS name on the run's
    /// network. No whitespace; `acb_root` is reserved; unique in the file. Default `acb_step_<N>`
    /// with N the 0-based position of the step.
    #[schemars(with = "Option<Text>")]
    pub id: Option<Spanned<String>>,

    /// A `docker run` line: optional `docker run` flags, the image, then its arguments. With
    /// `version: v1.1.0` the first word may be an image alias (`bash`, `az`, `curl`, `acr`).
    #[schemars(with = "Option<Text>")]
    pub cmd: Option<Spanned<String>>,

    /// `docker build` arguments, for example `-t $Registry/app:$ID -f Dockerfile .`.
    #[schemars(with = "Option<Text>")]
    pub build: Option<Spanned<String>>,

    /// Images to push. `:latest` is added to a reference containing neither `:` nor `@`;
    /// duplicates are dropped. Each push is tried up to 3 times.
    #[schemars(with = "Option<Vec<Text>>")]
    pub push: Option<SpannedList<String>>,

    /// Step ids this step waits for (all must finish). `["-"]` starts the step at the beginning
    /// of the run. Absent: after the step written before it. ids must be defined earlier in
    /// the file.
    #[schemars(with = "Option<Vec<Text>>")]
    pub when: Option<SpannedList<String>>,

    /// Container working directory (cmd and build steps). Relative paths are joined under
    /// `/workspace`; default: the task's `workingDirectory`, else `/workspace`.
    #[schemars(rename = "workingDirectory", with = "Option<Text>")]
    pub working_directory: Option<Spanned<String>>,

    /// Do not pass a working directory, so the image's own `WORKDIR` applies. Default false.
    #[schemars(rename = "disableWorkingDirectoryOverride", with = "Option<Flag>")]
    pub disable_working_directory_override: Option<Spanned<bool>>,

    /// Overrides the image's entrypoint (cmd steps only; ignored for build steps).
    #[schemars(rename = "entryPoint", with = "Option<Text>")]
    pub entry_point: Option<Spanned<String>>,

    /// Environment variables (`KEY=value`) of the container (for build steps: of the docker CLI
    /// container, e.g. `DOCKER_BUILDKIT=1`, not build args). Ignored for push steps.
    #[schemars(with = "Option<Vec<Text>>")]
    pub env: Option<SpannedList<String>>,

    /// Ports to expose (`--expose`), cmd and build steps.
    #[schemars(with = "Option<Vec<Text>>")]
    pub expose: Option<SpannedList<String>>,

    /// Ports to publish (`-p`), cmd and build steps.
    #[schemars(with = "Option<Vec<Text>>")]
    pub ports: Option<SpannedList<String>>,

    /// Network to join (cmd and build steps). Default: the task's default network.
    #[schemars(with = "Option<Text>")]
    pub network: Option<Spanned<String>>,

    /// Container isolation technology (`--isolation`, Windows).
    #[schemars(with = "Option<Text>")]
    pub isolation: Option<Spanned<String>>,

    /// User name or uid to run as (`--user`).
    #[schemars(with = "Option<Text>")]
    pub user: Option<Spanned<String>>,

    /// Run the container privileged. Default false.
    #[schemars(with = "Option<Flag>")]
    pub privileged: Option<Spanned<bool>>,

    /// CPU limit (`--cpus`).
    #[schemars(with = "Option<Text>")]
    pub cpus: Option<Spanned<String>>,

    /// Keep the stopped container until the end of the run (no `--rm`). Default false.
    #[schemars(with = "Option<Flag>")]
    pub keep: Option<Spanned<bool>>,

    /// Start the container and continue without waiting for it; it is removed at the end of
    /// the run. Default false.
    #[schemars(with = "Option<Flag>")]
    pub detach: Option<Spanned<bool>>,

    /// Step timeout in seconds, covering all retries and repeats. Default: the task's
    /// `stepTimeout` (600); 0 or less also means that.
    #[schemars(with = "Option<Number>")]
    pub timeout: Option<Spanned<i64>>,

    /// Seconds to wait before starting the step. Default 0.
    #[schemars(rename = "startDelay", with = "Option<Number>")]
    pub start_delay: Option<Spanned<i64>>,

    /// Extra attempts after a failed run (cmd and build steps). Default 0; must not be negative.
    #[schemars(with = "Option<Number>", extend("minimum" = 0))]
    pub retries: Option<Spanned<i64>>,

    /// Seconds between attempts. Default 5; 0 or less also means 5.
    #[schemars(rename = "retryDelay", with = "Option<Number>")]
    pub retry_delay: Option<Spanned<i64>>,

    /// Retry only when the failed attempt's output contains one of these texts.
    #[schemars(rename = "retryOnErrors", with = "Option<Vec<Text>>")]
    pub retry_on_errors: Option<SpannedList<String>>,

    /// Extra repetitions of the whole step (cmd and build steps). Default 0; must not be
    /// negative.
    #[schemars(with = "Option<Number>", extend("minimum" = 0))]
    pub repeat: Option<Spanned<i64>>,

    /// A failure of this step does not fail the run; dependants still start. Default false.
    #[schemars(rename = "ignoreErrors", with = "Option<Flag>")]
    pub ignore_errors: Option<Spanned<bool>>,

    /// Pull the image explicitly before a cmd step. Default false.
    #[schemars(with = "Option<Flag>")]
    pub pull: Option<Spanned<bool>>,

    /// Retries of the explicit `pull`. Default 0.
    #[schemars(rename = "cmdDownloadRetries", with = "Option<Number>")]
    pub cmd_download_retries: Option<Spanned<i64>>,

    /// Seconds between retries of the explicit `pull`. Default 0.
    #[schemars(rename = "cmdDownloadRetryDelay", with = "Option<Number>")]
    pub cmd_download_retry_delay: Option<Spanned<i64>>,

    /// Declared `volumes` to mount into the container (cmd and build steps). Each `mountPath`
    /// must be unique within the step.
    #[schemars(rename = "volumeMounts", with = "Option<Vec<Mount>>")]
    pub volume_mounts: Option<SpannedList<Mount>>,

    /// Build cache for build steps: `enabled` or `disabled` (any case). Default disabled.
    #[schemars(
        with = "Option<Text>",
        extend("pattern" = "^([eE][nN][aA][bB][lL][eE][dD]|[dD][iI][sS][aA][bB][lL][eE][dD])?$")
    )]
    pub cache: Option<Spanned<String>>,

    /// Parsed but never used by acb (nor by taskrun).
    #[schemars(rename = "exitedWith", with = "Option<Vec<Number>>")]
    pub exited_with: Option<SpannedList<i64>>,

    /// Parsed but never used by acb (nor by taskrun).
    #[schemars(rename = "exitedWithout", with = "Option<Vec<Number>>")]
    pub exited_without: Option<SpannedList<i64>>,
}

/// A `secrets:` entry.
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct Secret {
    /// Name used as `{{.Secrets.<id>}}`. Required, no whitespace, unique.
    #[schemars(with = "Option<Text>")]
    pub id: Option<Spanned<String>>,

    /// Key Vault secret URL `https://<vault>.vault.azure.net/secrets/<name>[/<version>]`.
    #[schemars(with = "Option<Text>")]
    pub keyvault: Option<Spanned<String>>,

    /// Client id (a GUID) of the user-assigned managed identity that reads the vault. Default:
    /// the system-assigned identity.
    #[schemars(rename = "clientID", with = "Option<Text>")]
    pub client_id: Option<Spanned<String>>,

    /// Undocumented acb key (`aadresourceid`): makes the secret an ACR token for registry `id`.
    /// Not part of the schema; kept because it satisfies acb's "keyvault or MSI" rule.
    #[schemars(skip)]
    pub aad_resource_id: Option<Spanned<String>>,
}

/// A `networks:` entry.
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct Network {
    /// Docker network name. Required and unique.
    #[schemars(with = "Option<Text>")]
    pub name: Option<Spanned<String>>,

    /// Network driver. Default: Docker's (`bridge`).
    #[schemars(with = "Option<Text>")]
    pub driver: Option<Spanned<String>>,

    /// Enable IPv6. Default false.
    #[schemars(with = "Option<Flag>")]
    pub ipv6: Option<Spanned<bool>>,

    /// The network already exists: neither create nor remove it. Default false.
    #[schemars(rename = "skipCreation", with = "Option<Flag>")]
    pub skip_creation: Option<Spanned<bool>>,

    /// Steps without `network:` join this network (the last such entry wins). Default false.
    #[schemars(rename = "isDefault", with = "Option<Flag>")]
    pub is_default: Option<Spanned<bool>>,
}

/// A `volumes:` entry.
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct Volume {
    /// Volume name: letters, digits, `-` and `_`; unique.
    #[schemars(with = "Option<Text>", extend("pattern" = "^[a-zA-Z0-9_-]+$"))]
    pub name: Option<Spanned<String>>,

    /// Files of the volume: file name (letters, digits, `-`, `_`, `.`) → base64 content. The
    /// only volume source ACR supports.
    #[schemars(with = "Option<IndexMap<String, Text>>")]
    pub secret: Option<Spanned<Vec<SecretFile>>>,
}

/// One file of a secret volume, as written (duplicate names already resolved: last wins).
#[derive(Debug, Clone, PartialEq)]
pub struct SecretFile {
    /// File name.
    pub name: Spanned<String>,
    /// Base64 content as written.
    pub value: Spanned<String>,
}

/// A `volumeMounts:` entry.
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct Mount {
    /// Name of a declared volume.
    #[schemars(with = "Option<Text>")]
    pub name: Option<Spanned<String>>,

    /// Absolute path in the container; unique within the step.
    #[schemars(rename = "mountPath", with = "Option<Text>")]
    pub mount_path: Option<Spanned<String>>,
}
