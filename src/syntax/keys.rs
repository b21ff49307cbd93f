//! The keys acb knows in each mapping, the undocumented ones it also accepts, and the help
//! given for an unknown key (did-you-mean, or a note for keys acb removed or never had).

use crate::diag::suggest::closest;

/// A kind of mapping in the task file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// The top level.
    Task,
    /// A `steps` item.
    Step,
    /// A `secrets` item.
    Secret,
    /// A `networks` item.
    Network,
    /// A `volumes` item.
    Volume,
    /// A `volumeMounts` item.
    Mount,
}

impl Section {
    /// The documented keys, in acb's spelling.
    pub fn known(self) -> &'static [&'static str] {
        match self {
            Section::Task => &[
                "version",
                "stepTimeout",
                "workingDirectory",
                "env",
                "secrets",
                "networks",
                "volumes",
                "alias",
                "steps",
            ],
            Section::Step => &[
                "id",
                "cmd",
                "build",
                "push",
                "when",
                "workingDirectory",
                "disableWorkingDirectoryOverride",
                "entryPoint",
                "env",
                "expose",
                "ports",
                "network",
                "isolation",
                "user",
                "privileged",
                "cpus",
                "keep",
                "detach",
                "timeout",
                "startDelay",
                "retries",
                "retryDelay",
                "retryOnErrors",
                "repeat",
                "ignoreErrors",
                "pull",
                "cmdDownloadRetries",
                "cmdDownloadRetryDelay",
                "volumeMounts",
                "cache",
                "exitedWith",
                "exitedWithout",
            ],
            Section::Secret => &["id", "keyvault", "clientID"],
            Section::Network => &["name", "driver", "ipv6", "skipCreation", "isDefault"],
            Section::Volume => &["name", "secret"],
            Section::Mount => &["name", "mountPath"],
        }
    }

    /// Undocumented keys acb accepts (untagged Go fields get their lower-cased name); they are
    /// ignored without a warning.
    pub fn silent(self) -> &'static [&'static str] {
        match self {
            Section::Task => &[
                "registryname",
                "registry",
                "taskname",
                "credentials",
                "isbuildtask",
                "initbuildkitcontainer",
                "dag",
            ],
            Section::Step => &[
                "tags",
                "buildargs",
                "usesbuildkit",
                "defaultbuildcachetag",
                "imagedependencies",
                "starttime",
                "endtime",
                "stepstatus",
            ],
            Section::Secret => &["resolvedvalue", "aadresourceid"],
            Section::Network | Section::Volume | Section::Mount => &[],
        }
    }

    /// Whether acb documents the key.
    pub fn is_known(self, key: &str) -> bool {
        self.known().contains(&key)
    }

    /// Whether acb accepts the key without documenting it.
    pub fn is_silent(self, key: &str) -> bool {
        self.silent().contains(&key)
    }
}

/// The help line for an unknown `key` in `section`.
pub(crate) fn unknown_key_help(section: Section, key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    match (section, lower.as_str()) {
        (Section::Task | Section::Step, "totaltimeout") => {
            return "acb removed `totalTimeout` in 2019 (Azure/acr-builder#417); the whole-run \
                    timeout is set on the service: `az acr run --timeout` or `az acr task create \
                    --timeout` (default 3600 s). Per step, use `timeout` (or `stepTimeout` for \
                    all steps)"
                .to_owned();
        }
        (Section::Step, "volumemount") => {
            return "did you mean `volumeMounts`? (the Microsoft docs table says `volumeMount`, \
                    which acb ignores)"
                .to_owned();
        }
        (Section::Step, "secret" | "secrets") => {
            return "steps have no `secret` key (acb ignores it); declare secrets at the top \
                    level under `secrets:` and use them as `{{.Secrets.<id>}}`"
                .to_owned();
        }
        (Section::Step, "retry" | "retrycount" | "attempts") => {
            return "did you mean `retries`?".to_owned();
        }
        (Section::Step, "dependson" | "depends_on" | "needs" | "after" | "waitfor") => {
            return "did you mean `when`? It lists the step ids this step waits for".to_owned();
        }
        (Section::Step, "name") => {
            return "did you mean `id`? Steps are named with `id`".to_owned();
        }
        (Section::Step, "image" | "run" | "command" | "script") => {
            return "did you mean `cmd`? It takes `<image> [args…]`, e.g. `cmd: bash echo hi`"
                .to_owned();
        }
        (_, "environment" | "envs" | "variables") => {
            return "did you mean `env`? It is a list of `KEY=value` strings".to_owned();
        }
        (Section::Task | Section::Step, "workdir" | "workingdir" | "working_directory") => {
            return "did you mean `workingDirectory`?".to_owned();
        }
        _ => {}
    }
    match closest(key, section.known().iter().copied()) {
        Some(known) if known.eq_ignore_ascii_case(key) => {
            format!("did you mean `{known}`? Keys are case-sensitive")
        }
        Some(known) => format!("did you mean `{known}`?"),
        None => format!(
            "acb ignores keys it does not know; known keys here: {}",
            section
                .known()
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
