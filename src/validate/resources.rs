//! Task-level declarations: `secrets`, `networks` and `volumes`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::Validator;
use crate::diag::{Code, Problem};
use crate::model::{NetworkDecl, SecretDecl, VolumeDecl};
use crate::syntax::ast::{self, Spanned, items};

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits tolerated.
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// "secret `x`" or "secret N".
fn entry_name(what: &str, name: Option<&Spanned<String>>, index: usize) -> String {
    match name.filter(|n| !n.value.is_empty()) {
        Some(n) => format!("{what} `{}`", n.value),
        None => format!("{what} {}", index + 1),
    }
}

/// Validates `secrets` (acb's `Secret.Validate`, duplicate ids, the Key Vault URL).
pub(super) fn secrets(v: &mut Validator<'_>, file: &ast::File) -> Vec<SecretDecl> {
    let mut out = Vec::new();
    let mut first: HashMap<String, Range<usize>> = HashMap::new();
    for (i, entry) in items(&file.secrets).iter().enumerate() {
        let s = &entry.value;
        let name = entry_name("secret", s.id.as_ref(), i);
        let head = v.head(&entry.span);
        let err = |message: String, span: Range<usize>, label: &str, help: String| {
            Problem::error(Code::Secret, message)
                .with_label(span, label)
                .with_help(help)
        };
        let id = s.id.as_ref().filter(|id| !id.value.is_empty());
        let Some(id) = id else {
            // acb's Secret.Validate refuses an entry without an id (the old `akv:` form too).
            v.report(
                Problem::error(Code::Secret, format!("{name} has no `id`"))
                    .with_label(head, "secret without id")
                    .with_help(
                        "add `id: <name>`; templates use it as `{{.Secrets.<name>}}` (acb: secret \
                         is missing an ID as well as auto-generated ID)",
                    ),
            );
            continue;
        };
        if id.value.chars().any(char::is_whitespace) {
            v.report(err(
                format!(
                    "secret id `{}` contains whitespace",
                    id.value.escape_debug()
                ),
                id.span.clone(),
                "whitespace in id",
                "use an id without spaces (acb: secret ID cannot contain spaces)".to_owned(),
            ));
        }
        let keyvault = s.keyvault.as_ref().filter(|k| !k.value.is_empty());
        let client_id = s.client_id.as_ref().filter(|c| !c.value.is_empty());
        let aad = s.aad_resource_id.as_ref().filter(|a| !a.value.is_empty());
        if keyvault.is_none() && aad.is_none() {
            let help = if client_id.is_some() {
                "add `keyvault: https://<vault>.vault.azure.net/secrets/<name>`; `clientID` only \
                 selects the managed identity that reads the vault"
            } else {
                "add `keyvault: https://<vault>.vault.azure.net/secrets/<name>` (and `clientID` \
                 for a user-assigned identity)"
            };
            v.report(err(
                format!("{name} has no `keyvault`"),
                id.span.clone(),
                "secret without a source",
                format!(
                    "{help} (acb: secret should contain either keyvault property for vault \
                     secret, or msi clientID/aadResourceId for msi authentication)"
                ),
            ));
        }
        if let Some(client) = client_id
            && !is_guid(&client.value)
        {
            v.report(err(
                format!("`clientID` of {name} is not a GUID"),
                client.span.clone(),
                "not a GUID",
                "use the client id of the managed identity, e.g. \
                 `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (acb: msi client ID is not a valid guid)"
                    .to_owned(),
            ));
        }
        if let Some(kv) = keyvault
            && let Err(why) = check_keyvault_url(&kv.value)
        {
            v.report(err(
                format!("`keyvault` of {name} is not a Key Vault secret URL: {why}"),
                kv.span.clone(),
                "invalid Key Vault URL",
                "use `https://<vault>.vault.azure.net/secrets/<name>` or \
                 `…/secrets/<name>/<version>`"
                    .to_owned(),
            ));
        }
        if let Some(first_span) = first.get(&id.value) {
            v.report(
                Problem::error(
                    Code::Secret,
                    format!("two secrets have the id `{}`", id.value),
                )
                .with_label(id.span.clone(), "defined again here")
                .with_label(first_span.clone(), "first defined here")
                .with_help(format!(
                    "secret ids must be unique (acb: duplicate secret found with ID: {})",
                    id.value
                )),
            );
        } else {
            first.insert(id.value.clone(), id.span.clone());
        }
        out.push(SecretDecl {
            id: id.value.clone(),
            keyvault: keyvault.map(|k| k.value.clone()),
            client_id: client_id.map(|c| c.value.clone()),
        });
    }
    out
}

/// Whether `s` parses as a UUID the way Go's `github.com/google/uuid.Parse` does: 36
/// characters with dashes, optionally in `{…}` or after `urn:uuid:`, or 32 hex digits.
pub(crate) fn is_guid(s: &str) -> bool {
    let core = if s.len() == 45
        && s.get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:uuid:"))
    {
        &s[9..]
    } else if s.len() == 38 && s.starts_with('{') && s.ends_with('}') {
        &s[1..37]
    } else {
        s
    };
    let bytes = core.as_bytes();
    match bytes.len() {
        32 => bytes.iter().all(u8::is_ascii_hexdigit),
        36 => bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    }
}

/// Why a `keyvault` value is not a Key Vault secret URL (the reason after "is not a Key Vault
/// secret URL: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyVaultUrlError {
    /// No `scheme://`.
    #[error("it has no `https://` scheme")]
    NoScheme,
    /// A scheme other than `https`.
    #[error("the scheme is `{0}`, not `https`")]
    NotHttps(String),
    /// A host without a dot.
    #[error("the host `{0}` is not a vault host such as `<vault>.vault.azure.net`")]
    NotAVaultHost(String),
    /// A path of the wrong number of segments.
    #[error(
        "the path must be `/secrets/<name>` or `/secrets/<name>/<version>` (acb: Bad number of \
         URL segments: {0})"
    )]
    SegmentCount(usize),
    /// A collection other than `secrets`.
    #[error("expected the `secrets` collection, found `{0}`")]
    NotSecrets(String),
    /// An empty secret name.
    #[error("the secret name is empty")]
    EmptyName,
}

/// acb's Key Vault URL rules (`vaults.NewAKVSecretConfig`): lower-cased, one trailing `/`
/// trimmed, `https`, a host with a dot, path `/secrets/<name>[/<version>]`.
pub(crate) fn check_keyvault_url(url: &str) -> Result<(), KeyVaultUrlError> {
    let lower = url.to_lowercase();
    let url = lower.strip_suffix('/').unwrap_or(&lower);
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(KeyVaultUrlError::NoScheme);
    };
    if scheme != "https" {
        return Err(KeyVaultUrlError::NotHttps(scheme.to_owned()));
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !host.contains('.') {
        return Err(KeyVaultUrlError::NotAVaultHost(host.to_owned()));
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() != 3 && segments.len() != 4 {
        return Err(KeyVaultUrlError::SegmentCount(segments.len()));
    }
    if segments.get(1) != Some(&"secrets") {
        return Err(KeyVaultUrlError::NotSecrets(
            segments.get(1).unwrap_or(&"").to_string(),
        ));
    }
    if segments.get(2).is_none_or(|n| n.is_empty()) {
        return Err(KeyVaultUrlError::EmptyName);
    }
    Ok(())
}

/// Validates `networks`: a name, unique names.
pub(super) fn networks(v: &mut Validator<'_>, file: &ast::File) -> Vec<NetworkDecl> {
    let mut out = Vec::new();
    let mut first: HashMap<String, Range<usize>> = HashMap::new();
    for (i, entry) in items(&file.networks).iter().enumerate() {
        let n = &entry.value;
        let Some(name) = n.name.as_ref().filter(|n| !n.value.is_empty()) else {
            let head = v.head(&entry.span);
            v.report(
                Problem::error(Code::Network, format!("network {} has no `name`", i + 1))
                    .with_label(head, "network without a name")
                    .with_help(
                        "add `name: <docker network name>` (acb would run `docker network create` \
                         without a name, which fails)",
                    ),
            );
            continue;
        };
        if let Some(first_span) = first.get(&name.value) {
            v.report(
                Problem::error(
                    Code::Network,
                    format!("network `{}` is declared twice", name.value),
                )
                .with_label(name.span.clone(), "declared again here")
                .with_label(first_span.clone(), "first declared here")
                .with_help(
                    "remove one of them (acb would fail creating the second one: network with \
                     name … already exists)",
                ),
            );
            continue;
        }
        first.insert(name.value.clone(), name.span.clone());
        out.push(NetworkDecl {
            name: name.value.clone(),
            driver: n
                .driver
                .as_ref()
                .map(|d| d.value.clone())
                .filter(|d| !d.is_empty()),
            ipv6: n.ipv6.as_ref().is_some_and(|b| b.value),
            skip_creation: n.skip_creation.as_ref().is_some_and(|b| b.value),
            is_default: n.is_default.as_ref().is_some_and(|b| b.value),
        });
    }
    out
}

fn is_volume_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_file_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Go's `base64.StdEncoding.DecodeString` (which skips `\r` and `\n`).
pub(crate) fn decode_base64(value: &str) -> Option<Vec<u8>> {
    let cleaned: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    GO_STD_BASE64.decode(cleaned.as_bytes()).ok()
}

/// Validates `volumes` and decodes their files.
pub(super) fn volumes(v: &mut Validator<'_>, file: &ast::File) -> Vec<VolumeDecl> {
    let mut out = Vec::new();
    let mut first: HashMap<String, Range<usize>> = HashMap::new();
    for (i, entry) in items(&file.volumes).iter().enumerate() {
        let vol = &entry.value;
        let head = v.head(&entry.span);
        let vname = entry_name("volume", vol.name.as_ref(), i);
        let name = vol.name.as_ref().filter(|n| !n.value.is_empty());
        match name {
            None => v.report(
                Problem::error(Code::Volume, format!("{vname} has no `name`"))
                    .with_label(head.clone(), "volume without a name")
                    .with_help("add `name: <volume name>` (acb: volume name is empty)"),
            ),
            Some(name) if !is_volume_name(&name.value) => v.report(
                Problem::error(
                    Code::Volume,
                    format!(
                        "volume name `{}` has characters ACR does not allow",
                        name.value
                    ),
                )
                .with_label(name.span.clone(), "invalid volume name")
                .with_help(
                    "use only letters, digits, `-` and `_` (acb: volume name is not well formed. \
                     Only use alphanumeric and - _)",
                ),
            ),
            Some(name) => {
                if let Some(first_span) = first.get(&name.value) {
                    v.report(
                        Problem::error(
                            Code::Volume,
                            format!("volume `{}` is declared twice", name.value),
                        )
                        .with_label(name.span.clone(), "declared again here")
                        .with_label(first_span.clone(), "first declared here")
                        .with_help(
                            "give each volume its own name (acb: volume with duplicate name found)",
                        ),
                    );
                } else {
                    first.insert(name.value.clone(), name.span.clone());
                }
            }
        }
        let Some(secret) = &vol.secret else {
            v.report(
                Problem::error(Code::Volume, format!("{vname} has no `secret` source"))
                    .with_label(head, "volume without a source")
                    .with_help(
                        "add `secret:` with a map of file names to base64 content; it is the only \
                         volume source ACR supports (acb: currently only support for source type \
                         secret)",
                    ),
            );
            continue;
        };
        if secret.value.is_empty() {
            let span = if secret.span.is_empty() {
                head
            } else {
                secret.span.clone()
            };
            v.report(
                Problem::error(
                    Code::Volume,
                    format!("the `secret` of {vname} has no files"),
                )
                .with_label(span, "empty secret")
                .with_help(
                    "add at least one `<file name>: <base64 content>` (acb: secret is empty)",
                ),
            );
        }
        let mut files = BTreeMap::new();
        for f in &secret.value {
            if f.name.value.is_empty() {
                v.report(
                    Problem::error(Code::Volume, format!("a file of {vname} has an empty name"))
                        .with_label(f.name.span.clone(), "empty file name")
                        .with_help("name the file (acb: secret name provided for value is empty)"),
                );
                continue;
            }
            if !is_file_name(&f.name.value) {
                v.report(
                    Problem::error(
                        Code::Volume,
                        format!(
                            "file name `{}` of {vname} has characters ACR does not allow",
                            f.name.value
                        ),
                    )
                    .with_label(f.name.span.clone(), "invalid file name")
                    .with_help(format!(
                        "use only letters, digits, `-`, `_` and `.` (acb: file name, {}, is not \
                         well formed. Only use alphanumeric and - _ .)",
                        f.name.value
                    )),
                );
            }
            match decode_base64(&f.value.value) {
                Some(bytes) => {
                    files.insert(f.name.value.clone(), bytes);
                }
                None => v.report(
                    Problem::error(
                        Code::Volume,
                        format!(
                            "the content of `{}` in {vname} is not valid base64",
                            f.name.value
                        ),
                    )
                    .with_label(f.value.span.clone(), "not base64")
                    .with_help(
                        "encode the content, e.g. `{{ .Values.x | b64enc }}` in the template \
                         (acb: failed to decode Base64 value. please make sure value provided \
                         is Base64 encoded)",
                    ),
                ),
            }
        }
        if let Some(name) = name {
            out.push(VolumeDecl {
                name: name.value.clone(),
                files,
            });
        }
    }
    out
}
