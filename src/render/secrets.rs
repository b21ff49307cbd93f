//! Task secrets (`secrets:` with Key Vault URLs in ACR) resolved locally.
//!
//! ACR renders the file once with an empty `.Secrets` to read the `secrets:` list, fetches each
//! secret from Key Vault, and renders again. taskrun does the same, taking values from
//! `--secret ID=VALUE`, a `--secrets-file`, or the environment variable `TASKRUN_SECRET_<ID>`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Secret values supplied on this machine, by id.
#[derive(Debug, Clone, Default)]
pub struct SecretValues {
    by_id: BTreeMap<String, String>,
}

impl SecretValues {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the value for `id`.
    pub fn insert(&mut self, id: impl Into<String>, value: impl Into<String>) {
        self.by_id.insert(id.into(), value.into());
    }

    /// Adds the `TASKRUN_SECRET_<ID>` variables from an environment listing. Values given
    /// explicitly take precedence, so call this first.
    pub fn insert_from_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        for (k, v) in vars {
            if let Some(id) = k.strip_prefix("TASKRUN_SECRET_")
                && !id.is_empty()
            {
                self.by_id.insert(format!("{ENV_MARK}{id}"), v);
            }
        }
    }

    /// The value for a declared secret `id`: an explicit value for exactly `id`, else the
    /// environment variable `TASKRUN_SECRET_<ID>` (exact, then upper-cased with every character
    /// that is not a letter or digit replaced by `_`).
    pub fn lookup(&self, id: &str) -> Option<&str> {
        self.by_id
            .get(id)
            .or_else(|| self.by_id.get(&format!("{ENV_MARK}{id}")))
            .or_else(|| self.by_id.get(&format!("{ENV_MARK}{}", env_name(id))))
            .map(String::as_str)
    }

    /// Every value (explicit and from the environment), for masking in output.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.by_id.values().map(String::as_str)
    }
}

const ENV_MARK: &str = "\u{0}env:";

/// The environment variable suffix for a secret id: upper case, non-alphanumerics as `_`.
pub fn env_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A secret declared in the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSecret {
    /// The id (`{{.Secrets.<id>}}`).
    pub id: String,
    /// Whether a value was found locally.
    pub resolved: bool,
}

#[derive(Deserialize)]
struct SecretsOnly {
    #[serde(default)]
    secrets: Option<Vec<SecretIdOnly>>,
}

#[derive(Deserialize)]
struct SecretIdOnly {
    #[serde(default)]
    id: Option<String>,
}

/// The secret ids declared in a rendered task text. A text that does not parse yields none (the
/// YAML stage reports the problem).
pub fn declared_ids(rendered: &str) -> Vec<String> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    match serde_saphyr::from_str_with_options::<Option<SecretsOnly>>(rendered, options) {
        Ok(Some(doc)) => doc
            .secrets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.id)
            .filter(|id| !id.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_then_env_exact_then_env_normalised() {
        let mut s = SecretValues::new();
        s.insert_from_env([
            ("TASKRUN_SECRET_MY_KEY".to_owned(), "from-env".to_owned()),
            ("TASKRUN_SECRET_other".to_owned(), "exact".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ]);
        assert_eq!(s.lookup("my-key"), Some("from-env"));
        assert_eq!(s.lookup("other"), Some("exact"));
        s.insert("my-key", "explicit");
        assert_eq!(s.lookup("my-key"), Some("explicit"));
        assert_eq!(s.lookup("PATH"), None);
        assert_eq!(s.values().count(), 3);
    }

    #[test]
    fn reads_declared_ids() {
        let text = "secrets:\n  - id: a\n    keyvault: https://v.vault.azure.net/secrets/a\n  - id: b\nsteps: []\n";
        assert_eq!(declared_ids(text), vec!["a", "b"]);
        assert!(declared_ids("steps: [").is_empty());
        assert!(declared_ids("").is_empty());
    }
}
