//! Registry credentials, from (highest first) `--credential` (acb's JSON form), then the user's
//! `docker login` state: `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) with its
//! `auths`, `credHelpers` and `credsStore` (the helper binary `docker-credential-<name>` is run
//! directly, never through a shell).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::engine::RegistryAuth;

/// Where credentials come from, resolved lazily per registry.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    explicit: BTreeMap<String, RegistryAuth>,
    config: DockerConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

/// Why a `--credential` value cannot be used. A malformed value may still be quoted by the JSON
/// parser's message: mask it with [`Credentials::passwords_in`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The value is not acb's JSON form.
    #[error(
        "--credential is not acb's JSON form ({message}); expected {{\"registry\": \"…\", \"username\": \"…\", \"password\": \"…\"}}"
    )]
    NotJson {
        /// The JSON parser's message.
        message: String,
    },
    /// `registry` is missing or empty.
    #[error("--credential: registry name can't be empty")]
    EmptyRegistry,
    /// A Key Vault or managed-identity credential, which only Azure can resolve.
    #[error(
        "--credential for `{registry}`: Key Vault and managed-identity credentials need Azure; pass the user name and password as plain values"
    )]
    NeedsAzure {
        /// The registry the credential is for.
        registry: String,
    },
    /// `username` is missing or empty.
    #[error("--credential for `{registry}`: username can't be empty")]
    EmptyUsername {
        /// The registry the credential is for.
        registry: String,
    },
    /// `password` is missing or empty.
    #[error("--credential for `{registry}`: password can't be empty")]
    EmptyPassword {
        /// The registry the credential is for.
        registry: String,
    },
}

/// acb's `--credential` JSON.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialJson {
    #[serde(default)]
    registry: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    user_name_provider_type: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_provider_type: Option<String>,
    #[serde(default)]
    identity: Option<String>,
}

impl Credentials {
    /// Credentials from `--credential` values and the docker config found through `DOCKER_CONFIG`
    /// or `HOME`. A missing or unreadable docker config means no stored logins.
    pub fn load(credential_flags: &[String]) -> Result<Self, CredentialError> {
        let mut explicit = BTreeMap::new();
        for raw in credential_flags {
            let auth = parse_credential(raw)?;
            explicit.insert(normalize_server(&auth.server), auth);
        }
        let config = config_path()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Ok(Self { explicit, config })
    }

    /// Every form of the passwords that malformed `--credential` values may still hold (an
    /// error message may quote them), for masking.
    pub fn passwords_in(credential_flags: &[String]) -> Vec<String> {
        let mut forms = Vec::new();
        for raw in credential_flags {
            if let Ok(serde_json::Value::Object(o)) = serde_json::from_str(raw)
                && let Some(p) = o.get("password")
            {
                let p = p.as_str().map_or_else(|| p.to_string(), str::to_owned);
                forms.extend(crate::secrets::secret_forms([p.as_str()]));
            }
        }
        forms
    }

    #[cfg(test)]
    /// Credentials from explicit entries only (tests).
    pub fn from_auths(auths: impl IntoIterator<Item = RegistryAuth>) -> Self {
        Self {
            explicit: auths
                .into_iter()
                .map(|a| (normalize_server(&a.server), a))
                .collect(),
            config: DockerConfig::default(),
        }
    }

    /// The credentials for a registry host, if any.
    pub fn for_registry(&self, registry: &str) -> Option<RegistryAuth> {
        let key = normalize_server(registry);
        if let Some(a) = self.explicit.get(&key) {
            return Some(a.clone());
        }
        if let Some(helper) = self.config.cred_helpers.get(registry) {
            return run_helper(helper, registry);
        }
        for (server, entry) in &self.config.auths {
            if normalize_server(server) == key
                && let Some(a) = entry_auth(registry, entry)
            {
                return Some(a);
            }
        }
        self.config
            .creds_store
            .as_deref()
            .and_then(|store| run_helper(store, registry))
    }

    /// Every explicit credential (written into the run's docker config for `cmd: docker …`).
    pub fn explicit(&self) -> impl Iterator<Item = &RegistryAuth> {
        self.explicit.values()
    }
}

/// Parses acb's `--credential` JSON. Only `opaque` (plain) credentials can be used locally.
pub fn parse_credential(raw: &str) -> Result<RegistryAuth, CredentialError> {
    let c: CredentialJson = serde_json::from_str(raw).map_err(|e| CredentialError::NotJson {
        message: e.to_string(),
    })?;
    if c.registry.is_empty() {
        return Err(CredentialError::EmptyRegistry);
    }
    let opaque = |t: &Option<String>| {
        t.as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("opaque"))
    };
    if !opaque(&c.user_name_provider_type)
        || !opaque(&c.password_provider_type)
        || c.identity.is_some()
    {
        return Err(CredentialError::NeedsAzure {
            registry: c.registry,
        });
    }
    if c.username.is_empty() {
        return Err(CredentialError::EmptyUsername {
            registry: c.registry,
        });
    }
    if c.password.is_empty() {
        return Err(CredentialError::EmptyPassword {
            registry: c.registry,
        });
    }
    Ok(RegistryAuth {
        server: c.registry,
        username: c.username,
        password: c.password,
    })
}

fn config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(Path::new(&dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker").join("config.json"))
}

/// Docker Hub has several spellings; other hosts compare without scheme and trailing path.
fn normalize_server(server: &str) -> String {
    let s = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" | "docker.io" => {
            "docker.io".to_owned()
        }
        h => h.to_owned(),
    }
}

fn entry_auth(registry: &str, e: &AuthEntry) -> Option<RegistryAuth> {
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        return Some(RegistryAuth {
            server: registry.to_owned(),
            username: u.clone(),
            password: p.clone(),
        });
    }
    if let Some(auth) = &e.auth {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (u, p) = text.split_once(':')?;
        return Some(RegistryAuth {
            server: registry.to_owned(),
            username: u.to_owned(),
            password: p.to_owned(),
        });
    }
    e.identity_token.as_ref().map(|t| RegistryAuth {
        server: registry.to_owned(),
        username: "<token>".to_owned(),
        password: t.clone(),
    })
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

fn run_helper(helper: &str, registry: &str) -> Option<RegistryAuth> {
    if !helper
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return None;
    }
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(registry.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout).ok()?;
    Some(RegistryAuth {
        server: registry.to_owned(),
        username: reply.username,
        password: reply.secret,
    })
}

/// The base64 `user:password` token docker config files store for a login.
pub fn auth_token(a: &RegistryAuth) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", a.username, a.password))
}

/// The docker `config.json` written into a run's home volume, so `docker` CLIs in steps are
/// logged in to the run's registries.
pub fn docker_config_json(auths: &[RegistryAuth]) -> String {
    let mut map = serde_json::Map::new();
    for a in auths {
        let token = auth_token(a);
        map.insert(a.server.clone(), serde_json::json!({ "auth": token }));
    }
    serde_json::json!({
        "auths": map,
        "HttpHeaders": { "X-Meta-Source-Client": "taskrun" },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_json() {
        let a = parse_credential(
            r#"{"registry":"r.io","username":"u","password":"p","usernameProviderType":"opaque","passwordProviderType":"Opaque"}"#,
        )
        .unwrap();
        assert_eq!(
            (a.server.as_str(), a.username.as_str(), a.password.as_str()),
            ("r.io", "u", "p")
        );
        assert!(parse_credential(r#"{"registry":"","username":"u","password":"p"}"#).is_err());
        assert!(parse_credential(r#"{"registry":"r","username":"u","password":""}"#).is_err());
        let vault = parse_credential(
            r#"{"registry":"r","username":"u","password":"p","passwordProviderType":"vaultsecret","identity":"x"}"#,
        );
        assert!(vault.unwrap_err().to_string().contains("Key Vault"));
        assert!(parse_credential("not json").is_err());
        assert!(!format!("{a:?}").contains("\"p\""));
    }

    #[test]
    fn credential_errors_keep_their_wording() {
        let e = parse_credential("not json").unwrap_err();
        assert!(matches!(e, CredentialError::NotJson { .. }));
        let text = e.to_string();
        assert!(
            text.starts_with("--credential is not acb's JSON form (expected ident"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "; expected {\"registry\": \"…\", \"username\": \"…\", \"password\": \"…\"}"
            ),
            "{text}"
        );
        let cases = [
            (
                r#"{"registry":"","username":"u","password":"p"}"#,
                "--credential: registry name can't be empty",
            ),
            (
                r#"{"registry":"r","username":"","password":"p"}"#,
                "--credential for `r`: username can't be empty",
            ),
            (
                r#"{"registry":"r","username":"u","password":""}"#,
                "--credential for `r`: password can't be empty",
            ),
            (
                r#"{"registry":"r","username":"u","password":"p","identity":"x"}"#,
                "--credential for `r`: Key Vault and managed-identity credentials need Azure; pass the user name and password as plain values",
            ),
        ];
        for (raw, text) in cases {
            assert_eq!(
                parse_credential(raw).unwrap_err().to_string(),
                text,
                "{raw}"
            );
        }
    }

    #[test]
    fn config_auth_entries() {
        let cfg: DockerConfig = serde_json::from_str(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"127.0.0.1:5001":{"username":"a","password":"b"}}}"#,
        )
        .unwrap();
        let c = Credentials {
            explicit: BTreeMap::new(),
            config: cfg,
        };
        let hub = c.for_registry("docker.io").unwrap();
        assert_eq!((hub.username.as_str(), hub.password.as_str()), ("u", "p"));
        assert_eq!(c.for_registry("127.0.0.1:5001").unwrap().password, "b");
        assert!(c.for_registry("other.io").is_none());
    }

    #[test]
    fn explicit_wins_and_config_json_is_written() {
        let c = Credentials::from_auths([RegistryAuth {
            server: "https://r.io/".into(),
            username: "u".into(),
            password: "p".into(),
        }]);
        assert_eq!(c.for_registry("r.io").unwrap().username, "u");
        let json = docker_config_json(&c.explicit().cloned().collect::<Vec<_>>());
        assert!(json.contains("\"auth\":\"dTpw\""), "{json}");
    }
}
