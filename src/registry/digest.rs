//! Image digests: what a tag points to in its registry ([`Resolver`]), and what the local engine
//! recorded when the image was pushed or pulled ([`local_digest`], acb's `RepoDigests` rule).
//!
//! [`Resolver::resolve`] sends `HEAD /v2/<repo>/manifests/<tag>` with all four manifest media
//! types in `Accept` (Docker v2 manifest, Docker manifest list, OCI manifest, OCI index), so the
//! registry never converts the manifest and the digest is the one `docker push` printed and
//! `RepoDigests` records. The digest comes from `Docker-Content-Digest`; when a registry omits the
//! header the manifest is fetched and hashed (sha256) instead. To tell an index (multi-arch tag)
//! from a single manifest, the manifest is then fetched **by digest** once and the entry for the
//! build's platform picked; that answer is cached per digest (content-addressed, so it never goes
//! stale), which keeps repeated checks of an unchanged tag at one `HEAD` request.
//!
//! Registries at `127.0.0.0/8`, `localhost` and `[::1]` (any port), and the hosts listed in
//! [`ResolveOptions::insecure_registries`], are spoken to over plain HTTP; all others over HTTPS.
//! Authentication follows the registry's `WWW-Authenticate` challenge: a bearer token from the
//! named token endpoint (scope `repository:<repo>:pull`, with the credentials as basic auth when
//! given) or plain basic auth; anonymous when no credentials are given. Docker Hub names
//! (`node:15`, `docker.io/library/node:15`) go to `index.docker.io`.
//!
//! The HTTP client (oci-client over reqwest with rustls and the `ring` provider) stays inside this
//! module; callers see only strings, [`Resolved`] and [`DigestError`]. No error text ever
//! contains credentials.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Mutex, Once, PoisonError};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth as OciAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;

use crate::engine::{Engine, EngineError, RegistryAuth};
use crate::model::platform::go_arch;
use crate::registry::media::{ALL_MANIFEST_TYPES, DOCKER_MANIFEST_LIST, OCI_INDEX};
use crate::registry::reference::split;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An image platform, `os/architecture[/variant]` as Docker and OCI indexes spell it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// Operating system (`linux`, `windows`).
    pub os: String,
    /// Go architecture name (`amd64`, `arm64`, `arm`, …).
    pub architecture: String,
    /// CPU variant (`v8`, `v7`, …), if any.
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/<Go architecture of this machine>`, the platform Docker builds for by default.
    pub fn host() -> Self {
        Self {
            os: "linux".to_owned(),
            architecture: go_arch(std::env::consts::ARCH).to_owned(),
            variant: None,
        }
    }

    /// Normalised `(os, architecture, variant)` the way containerd compares platforms:
    /// architecture aliases folded (`x86_64` → `amd64`, `aarch64` → `arm64`), `arm64`'s `v8`
    /// and `amd64`'s `v1` variants dropped, `arm` without a variant meaning `v7`.
    fn normalized(&self) -> (String, String, String) {
        let os = self.os.to_ascii_lowercase();
        let arch = self.architecture.to_ascii_lowercase();
        let variant = self
            .variant
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let (arch, variant) = match arch.as_str() {
            "x86_64" | "x86-64" | "amd64" => {
                let v = if variant == "v1" { "" } else { &variant };
                ("amd64", v.to_owned())
            }
            "aarch64" | "arm64" => {
                let v = match variant.as_str() {
                    "8" | "v8" | "v8.0" => "",
                    v => v,
                };
                ("arm64", v.to_owned())
            }
            "armhf" => ("arm", "v7".to_owned()),
            "armel" => ("arm", "v6".to_owned()),
            "arm" => {
                let v = match variant.as_str() {
                    "" | "7" => "v7".to_owned(),
                    "5" | "6" | "8" => format!("v{variant}"),
                    _ => variant,
                };
                ("arm", v)
            }
            "i386" | "386" => ("386", variant),
            other => (other, variant),
        };
        (os, arch.to_owned(), variant)
    }
}

impl Default for Platform {
    fn default() -> Self {
        Self::host()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = String;

    /// Parses `os/arch[/variant]` (as `--platform` takes it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Self {
                    os: (*os).to_owned(),
                    architecture: (*arch).to_owned(),
                    variant: Some((*variant).to_owned()),
                })
            }
            _ => Err(format!(
                "invalid platform `{s}`: expected os/architecture[/variant], e.g. linux/arm64"
            )),
        }
    }
}

/// How a [`Resolver`] talks to registries.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Registries spoken to over plain HTTP besides `127.0.0.0/8`, `localhost` and `::1`. An
    /// entry matches a registry host exactly (`myreg:5000`), any port of a bare host (`myreg`), or
    /// an IP literal inside a CIDR range (`10.0.0.0/8`); no DNS lookups are made.
    pub insecure_registries: Vec<String>,
    /// The platform whose manifest is picked from a multi-arch index.
    pub platform: Platform,
}

/// What a tag points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The tag's top-level digest (`sha256:…`): the index digest for a multi-arch tag, else the
    /// manifest digest. This is what acb records and what `RepoDigests` shows.
    pub digest: String,
    /// The manifest digest for the resolver's platform when the tag is an index; `None` for a
    /// single manifest, or when the index has no entry for the platform.
    pub platform_digest: Option<String>,
    /// Whether the tag is an index (OCI image index or Docker manifest list).
    pub is_index: bool,
}

impl Resolved {
    /// The digest to compare for "did the base image change": the platform's manifest when the
    /// tag is an index that has one, else the top-level digest. A multi-arch index whose other
    /// platforms changed keeps the same tracking digest.
    pub fn tracking_digest(&self) -> &str {
        self.platform_digest.as_deref().unwrap_or(&self.digest)
    }
}

/// Why a digest could not be resolved. The text never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The registry refused the (missing or given) credentials. Some registries (Docker Hub) also
    /// answer this way for repositories that do not exist.
    #[error(
        "registry `{registry}` refused access to `{image}`: credentials missing or wrong, or no permission to pull"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The image as given.
        image: String,
    },
    /// The repository or tag does not exist.
    #[error("image `{image}` not found in its registry")]
    NotFound {
        /// The image as given.
        image: String,
    },
    /// The registry could not be reached (connection refused, DNS, TLS, timeout).
    #[error("cannot reach registry `{registry}`: {message}")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// What went wrong.
        message: String,
    },
    /// Anything else (an invalid reference, a malformed manifest, a server error, rate limits).
    #[error("cannot resolve the digest of `{image}`: {message}")]
    Other {
        /// The image as given.
        image: String,
        /// What went wrong.
        message: String,
    },
}

/// Which client serves a request: one per registry host and credentials, so each has its own
/// protocol, auth store and token cache (oci-client keeps the first credentials it sees for a
/// registry).
#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    registry: String,
    auth: Option<(String, String)>,
}

/// Resolves tags to digests against their registries. Cheap to share (`&self` methods, safe to
/// call concurrently); keeps HTTP connections, bearer tokens and index lookups between calls.
pub struct Resolver {
    opts: ResolveOptions,
    clients: Mutex<HashMap<ClientKey, Client>>,
    /// Top-level digest → (is index, platform digest). Content-addressed, never stale.
    indexes: Mutex<HashMap<String, (bool, Option<String>)>>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// Installs rustls' `ring` provider as the process default (reqwest is built without one; bollard
/// uses the same provider). Does nothing when a provider is already installed.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Resolver {
    /// A resolver with the given options. Makes no network requests.
    pub fn new(opts: ResolveOptions) -> Self {
        install_crypto_provider();
        Self {
            opts,
            clients: Mutex::new(HashMap::new()),
            indexes: Mutex::new(HashMap::new()),
        }
    }

    /// The options this resolver was made with.
    pub fn options(&self) -> &ResolveOptions {
        &self.opts
    }

    /// Resolves `image` (a Docker-style reference: `node:15`, `docker.io/library/node:15`,
    /// `127.0.0.1:5000/app:1`; `:latest` when untagged) to its digest(s), with `auth` for its
    /// registry or anonymously. A reference pinned with `@sha256:…` is checked against the
    /// registry and resolves to that digest.
    pub async fn resolve(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<Resolved, DigestError> {
        let reference = Reference::from_str(image).map_err(|e| DigestError::Other {
            image: image.to_owned(),
            message: format!("invalid image reference: {e}"),
        })?;
        let registry = reference.resolve_registry().to_owned();
        let (client, oci_auth) =
            self.client_for(&reference, auth)
                .map_err(|e| DigestError::Other {
                    image: image.to_owned(),
                    message: e,
                })?;
        let fail = |e: OciDistributionError| map_error(e, image, &registry);

        let digest = client
            .fetch_manifest_digest(&reference, &oci_auth)
            .await
            .map_err(fail)?;

        let cached = self
            .indexes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&digest)
            .cloned();
        let (is_index, platform_digest) = match cached {
            Some(hit) => hit,
            None => {
                let pinned = reference.clone_with_digest(digest.clone());
                let (body, _) = client
                    .pull_manifest_raw(&pinned, &oci_auth, &ALL_MANIFEST_TYPES)
                    .await
                    .map_err(fail)?;
                let found = pick_platform(&body, &self.opts.platform).map_err(|message| {
                    DigestError::Other {
                        image: image.to_owned(),
                        message,
                    }
                })?;
                self.indexes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(digest.clone(), found.clone());
                found
            }
        };
        Ok(Resolved {
            digest,
            platform_digest,
            is_index,
        })
    }

    /// The client for a reference's registry and credentials, made on first use.
    fn client_for(
        &self,
        reference: &Reference,
        auth: Option<&RegistryAuth>,
    ) -> Result<(Client, OciAuth), String> {
        let registry = reference.resolve_registry().to_owned();
        let key = ClientKey {
            registry: registry.clone(),
            auth: auth.map(|a| (a.username.clone(), a.password.clone())),
        };
        let oci_auth = match auth {
            Some(a) => OciAuth::Basic(a.username.clone(), a.password.clone()),
            None => OciAuth::Anonymous,
        };
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = clients.get(&key) {
            return Ok((c.clone(), oci_auth));
        }
        let config = client_config(&registry, &self.opts.insecure_registries, READ_TIMEOUT);
        let client = Client::try_from(config)
            .map_err(|e| format!("cannot create the registry client: {e}"))?;
        clients.insert(key, client.clone());
        Ok((client, oci_auth))
    }
}

/// The registry client's settings for `registry`: plain HTTP for local and `insecure`
/// registries (see [`is_plain_http`]), a 10 s connect timeout, `read_timeout`, taskrun's user
/// agent.
pub(crate) fn client_config(
    registry: &str,
    insecure: &[String],
    read_timeout: Duration,
) -> ClientConfig {
    let protocol = if is_plain_http(registry, insecure) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    ClientConfig {
        protocol,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(read_timeout),
        user_agent: concat!("taskrun/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    }
}

/// Whether a registry host (`host[:port]`, IPv6 in brackets) is spoken to over plain HTTP.
pub(crate) fn is_plain_http(registry: &str, insecure: &[String]) -> bool {
    let host = host_of(registry);
    let ip = host.parse::<IpAddr>().ok();
    if host.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    insecure.iter().any(|entry| {
        let entry = entry
            .trim()
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/');
        if entry.eq_ignore_ascii_case(registry) || entry.eq_ignore_ascii_case(host) {
            return true;
        }
        match (ip, entry.split_once('/')) {
            (Some(ip), Some((net, bits))) => cidr_contains(net, bits, ip),
            _ => false,
        }
    })
}

/// The host part of `host[:port]` (brackets of an IPv6 literal removed).
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.split(':').next().unwrap_or(registry)
}

fn cidr_contains(net: &str, bits: &str, ip: IpAddr) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// The parts of a manifest or index needed to tell them apart and pick a platform.
#[derive(Deserialize)]
struct ManifestDoc {
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
}

#[derive(Deserialize)]
struct IndexEntry {
    digest: String,
    #[serde(default)]
    platform: Option<EntryPlatform>,
}

#[derive(Deserialize)]
struct EntryPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// `(is index, platform digest)` for a manifest body: `(false, None)` for a single manifest; for
/// an index, the entry matching `platform` exactly (after normalisation), else for 32-bit `arm`
/// the best lower variant (`v7` runs `v6`, `v5`), as containerd picks.
fn pick_platform(body: &[u8], platform: &Platform) -> Result<(bool, Option<String>), String> {
    let doc: ManifestDoc = serde_json::from_slice(body)
        .map_err(|e| format!("the registry returned an unreadable manifest: {e}"))?;
    let is_index = match doc.media_type.as_deref() {
        Some(DOCKER_MANIFEST_LIST | OCI_INDEX) => true,
        Some(_) => false,
        None => doc.manifests.is_some(),
    };
    if !is_index {
        return Ok((false, None));
    }
    let (os, arch, variant) = platform.normalized();
    let entries: Vec<(&str, (String, String, String))> = doc
        .manifests
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let p = e.platform.as_ref()?;
            let p = Platform {
                os: p.os.clone(),
                architecture: p.architecture.clone(),
                variant: p.variant.clone().filter(|v| !v.is_empty()),
            };
            Some((e.digest.as_str(), p.normalized()))
        })
        .collect();
    let exact = entries
        .iter()
        .find(|(_, (o, a, v))| *o == os && *a == arch && *v == variant);
    let found = exact.or_else(|| {
        if arch != "arm" {
            return None;
        }
        let wanted: u32 = variant.trim_start_matches('v').parse().ok()?;
        (5..wanted).rev().find_map(|lower| {
            let lower = format!("v{lower}");
            entries
                .iter()
                .find(|(_, (o, a, v))| *o == os && *a == arch && *v == lower)
        })
    });
    Ok((true, found.map(|(d, _)| (*d).to_owned())))
}

fn map_error(e: OciDistributionError, image: &str, registry: &str) -> DigestError {
    match classify(e) {
        Failure::Unauthorized => DigestError::Unauthorized {
            registry: registry.to_owned(),
            image: image.to_owned(),
        },
        Failure::NotFound => DigestError::NotFound {
            image: image.to_owned(),
        },
        Failure::Unreachable(message) => DigestError::Unreachable {
            registry: registry.to_owned(),
            message,
        },
        Failure::Other(message) => DigestError::Other {
            image: image.to_owned(),
            message,
        },
    }
}

/// What a registry client error means for the user (shared by digest lookups and import).
pub(crate) enum Failure {
    /// 401/403, UNAUTHORIZED, DENIED.
    Unauthorized,
    /// 404, MANIFEST_UNKNOWN, NAME_UNKNOWN, BLOB_UNKNOWN, NOT_FOUND.
    NotFound,
    /// Connection, timeout or DNS failure (the error chain).
    Unreachable(String),
    /// Anything else (a message).
    Other(String),
}

/// Classifies an oci-client error.
pub(crate) fn classify(e: OciDistributionError) -> Failure {
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => Failure::Unauthorized,
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                Failure::Unauthorized
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                Failure::NotFound
            } else {
                let messages: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}: {}", e.code, e.message))
                    .collect();
                Failure::Other(format!("the registry answered {}", messages.join("; ")))
            }
        }
        OciDistributionError::ServerError { code, message, .. } => match code {
            401 | 403 => Failure::Unauthorized,
            404 => Failure::NotFound,
            _ => Failure::Other(format!(
                "the registry answered HTTP {code}: {}",
                message.trim()
            )),
        },
        OciDistributionError::RequestError(err) => {
            let message = error_chain(&err);
            if err.is_connect() || err.is_timeout() || err.is_request() {
                Failure::Unreachable(message)
            } else {
                Failure::Other(message)
            }
        }
        other_error => Failure::Other(other_error.to_string()),
    }
}

/// An error and its sources, `: `-separated, repeated texts dropped.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// The digest the local engine recorded for `image` when it was pushed or pulled: acb's rule —
/// the entry of `RepoDigests` whose repository is `image`'s repository (Docker Hub short names
/// and their `docker.io/library/` spellings compare equal), the part after `@`. `None` when the
/// image has no such entry (built locally, never pushed or pulled). An image that is not present
/// at all is an error (`ImageNotFound`), as `docker inspect` fails in acb.
pub async fn local_digest<E: Engine>(
    engine: &E,
    image: &str,
) -> Result<Option<String>, EngineError> {
    let Some(info) = engine.inspect_image(image).await? else {
        return Err(EngineError::ImageNotFound {
            image: image.to_owned(),
            message: format!("No such object: {image}"),
        });
    };
    let wanted = repository_key(image);
    Ok(info.repo_digests.iter().find_map(|entry| {
        let (repo, digest) = entry.split_once('@')?;
        (repository_key(repo) == wanted).then(|| digest.to_owned())
    }))
}

/// A reference's repository, fully qualified the way Docker normalises names
/// (`node:15` → `docker.io/library/node`, `index.docker.io/x/y` → `docker.io/x/y`), without tag
/// or digest.
fn repository_key(image: &str) -> String {
    let name = split(image).repo;
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => ("docker.io", name),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    if domain == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}")
    } else {
        format!("{domain}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ImageInfo;
    use crate::engine::fake::FakeEngine;
    use crate::registry::media::{DOCKER_MANIFEST, OCI_MANIFEST};

    #[test]
    fn plain_http_hosts() {
        let none: Vec<String> = Vec::new();
        assert!(is_plain_http("127.0.0.1:5000", &none));
        assert!(is_plain_http("127.8.9.10", &none));
        assert!(is_plain_http("localhost:5000", &none));
        assert!(is_plain_http("localhost", &none));
        assert!(is_plain_http("[::1]:5000", &none));
        assert!(!is_plain_http("index.docker.io", &none));
        assert!(!is_plain_http("10.1.2.3:5000", &none));
        let insecure = vec![
            "myreg:5000".to_owned(),
            "bare.host".to_owned(),
            "10.0.0.0/8".to_owned(),
        ];
        assert!(is_plain_http("myreg:5000", &insecure));
        assert!(!is_plain_http("myreg:6000", &insecure));
        assert!(is_plain_http("bare.host:443", &insecure));
        assert!(is_plain_http("10.1.2.3:5000", &insecure));
        assert!(!is_plain_http("11.1.2.3:5000", &insecure));
    }

    #[test]
    fn platform_parse_and_display() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!("linux/amd64".parse::<Platform>().unwrap().variant, None);
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//v7".parse::<Platform>().is_err());
        assert_eq!(Platform::host().os, "linux");
    }

    fn index(entries: &[(&str, &str, &str, Option<&str>)]) -> Vec<u8> {
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|(digest, os, arch, variant)| {
                let mut platform = serde_json::json!({"os": os, "architecture": arch});
                if let Some(v) = variant {
                    platform["variant"] = serde_json::json!(v);
                }
                serde_json::json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": 1, "platform": platform})
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
            .unwrap()
    }

    #[test]
    fn picks_platform_entries() {
        let body = index(&[
            ("sha256:amd", "linux", "amd64", None),
            ("sha256:arm64", "linux", "arm64", Some("v8")),
            ("sha256:armv6", "linux", "arm", Some("v6")),
            ("sha256:att", "unknown", "unknown", None),
        ]);
        let pick = |p: &str| pick_platform(&body, &p.parse().unwrap()).unwrap();
        assert_eq!(pick("linux/amd64"), (true, Some("sha256:amd".into())));
        assert_eq!(pick("linux/arm64"), (true, Some("sha256:arm64".into())));
        assert_eq!(
            pick("linux/aarch64/v8"),
            (true, Some("sha256:arm64".into()))
        );
        assert_eq!(pick("linux/arm/v7"), (true, Some("sha256:armv6".into())));
        assert_eq!(pick("linux/arm/v5"), (true, None));
        assert_eq!(pick("windows/amd64"), (true, None));
        assert_eq!(pick("linux/s390x"), (true, None));
    }

    #[test]
    fn single_manifests_and_untyped_indexes() {
        let single = serde_json::json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {}, "layers": []});
        let single = serde_json::to_vec(&single).unwrap();
        assert_eq!(
            pick_platform(&single, &Platform::host()).unwrap(),
            (false, None)
        );
        let untyped = serde_json::json!({"schemaVersion": 2, "manifests": [
            {"digest": "sha256:x", "platform": {"os": "linux", "architecture": "amd64"}}]});
        let untyped = serde_json::to_vec(&untyped).unwrap();
        let amd: Platform = "linux/amd64".parse().unwrap();
        assert_eq!(
            pick_platform(&untyped, &amd).unwrap(),
            (true, Some("sha256:x".into()))
        );
        assert!(pick_platform(b"not json", &amd).is_err());
    }

    #[test]
    fn repository_keys() {
        assert_eq!(repository_key("node:15"), "docker.io/library/node");
        assert_eq!(repository_key("node"), "docker.io/library/node");
        assert_eq!(repository_key("library/node:15"), "docker.io/library/node");
        assert_eq!(
            repository_key("docker.io/library/node@sha256:ab"),
            "docker.io/library/node"
        );
        assert_eq!(
            repository_key("index.docker.io/myorg/app:1"),
            "docker.io/myorg/app"
        );
        assert_eq!(repository_key("myorg/app"), "docker.io/myorg/app");
        assert_eq!(repository_key("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b");
        assert_eq!(repository_key("localhost/app"), "localhost/app");
    }

    #[test]
    fn errors_never_show_credentials() {
        let e = map_error(
            OciDistributionError::UnauthorizedError {
                url: "http://r/v2/a/manifests/1".into(),
            },
            "r/a:1",
            "r",
        );
        assert!(matches!(e, DigestError::Unauthorized { .. }));
        let e = map_error(
            OciDistributionError::ServerError {
                code: 404,
                url: String::new(),
                message: String::new(),
            },
            "r/a:1",
            "r",
        );
        assert_eq!(
            e,
            DigestError::NotFound {
                image: "r/a:1".into()
            }
        );
        let r = Resolver::new(ResolveOptions::default());
        assert!(!format!("{r:?}").contains("secret"));
    }

    #[tokio::test]
    async fn local_digest_matches_the_repository() {
        let engine = FakeEngine::new();
        engine.add_image(
            "node:15",
            ImageInfo {
                id: "sha256:id".into(),
                repo_digests: vec![
                    "myreg.io/node@sha256:other".into(),
                    "node@sha256:hub".into(),
                ],
            },
        );
        engine.add_image(
            "docker.io/library/node:15",
            ImageInfo {
                id: "sha256:id".into(),
                repo_digests: vec!["node@sha256:hub".into()],
            },
        );
        engine.add_image(
            "built:1",
            ImageInfo {
                id: "sha256:b".into(),
                repo_digests: vec![],
            },
        );
        assert_eq!(
            local_digest(&engine, "node:15").await.unwrap().as_deref(),
            Some("sha256:hub")
        );
        assert_eq!(
            local_digest(&engine, "docker.io/library/node:15")
                .await
                .unwrap()
                .as_deref(),
            Some("sha256:hub")
        );
        assert_eq!(local_digest(&engine, "built:1").await.unwrap(), None);
        assert!(matches!(
            local_digest(&engine, "missing:1").await,
            Err(EngineError::ImageNotFound { .. })
        ));
    }
}
