//! `taskrun import`: copy an image from one registry to another through the registry API, as
//! `az acr import` does, without the container engine.
//!
//! The source manifest is fetched with all four manifest media types accepted (Docker v2 manifest,
//! Docker manifest list, OCI manifest, OCI index), so the registry never converts it. For an
//! index, every referenced manifest (all platforms, attestations included) is copied; nested
//! indexes are followed. For each manifest the config and layer blobs are copied first (a blob the
//! target repository already has, per `HEAD`, is skipped; within one registry a cross-repository
//! mount is tried before copying), then the manifests are pushed **by digest** with their exact
//! bytes, and finally the top-level manifest under each target tag. Digests are therefore
//! preserved byte for byte; after the push each target tag is checked to resolve to the source
//! digest.
//!
//! Blobs are streamed from the source straight into a monolithic `PUT` to the target (one request,
//! `Content-Length` from the descriptor), never held in memory whole; their digest is verified
//! while streaming. Foreign (non-distributable) layers, which registries do not hold, are skipped.
//!
//! Without `force`, a target tag that already exists is an error ([`ImportError::TagExists`]),
//! checked for every target before anything is copied. Hosts at `127.0.0.0/8`, `localhost`,
//! `[::1]` and those in `insecure` are spoken to over plain HTTP, all others over HTTPS. No error
//! text ever contains credentials.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use futures_util::TryStreamExt;
use oci_client::client::ClientConfig;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth as OciAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::engine::RegistryAuth;
use crate::registry::digest::{Failure, classify, client_config, install_crypto_provider};
use crate::registry::media::{ALL_MANIFEST_TYPES, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::registry::reference::registry_of;

const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How deep nested indexes are followed.
const MAX_DEPTH: usize = 4;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The source reference as given.
    pub source: String,
    /// The top-level digest, identical in source and every target.
    pub digest: String,
    /// Whether the source is an index (multi-arch image).
    pub is_index: bool,
    /// The targets written, fully qualified (`registry/repository:tag`).
    pub targets: Vec<String>,
    /// Manifests pushed by digest below the top level (platform manifests), over all target
    /// repositories.
    pub manifests: usize,
    /// Blobs copied (or mounted) into a target repository.
    pub blobs_copied: usize,
    /// Blobs the target repository already had.
    pub blobs_skipped: usize,
}

/// Why an import failed. The text never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// A reference or flag is invalid (bad input, nothing was contacted).
    #[error("{0}")]
    Invalid(String),
    /// The source image (or a manifest or blob it references) does not exist.
    #[error("source image `{image}` not found: {what}")]
    NotFound {
        /// The source as given.
        image: String,
        /// What was missing.
        what: String,
    },
    /// The target tag exists and `force` was not given.
    #[error("tag `{target}` already exists in the target registry; pass --force to overwrite it")]
    TagExists {
        /// The fully qualified target.
        target: String,
    },
    /// A registry refused the credentials (or has none to offer for this operation).
    #[error(
        "registry `{registry}` refused access to `{image}`: credentials missing or wrong, or no permission"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The image being read or written.
        image: String,
    },
    /// A registry could not be reached (connection refused, DNS, TLS, timeout).
    #[error("cannot reach registry `{registry}`: {message}")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// What went wrong.
        message: String,
    },
    /// Anything else (server errors, malformed or unsupported manifests, digest mismatches).
    #[error("cannot import `{image}`: {message}")]
    Other {
        /// The image being read or written.
        image: String,
        /// What went wrong.
        message: String,
    },
}

/// Copies `source` (and every platform of an index) to each of `targets` (`NAME[:TAG]`, or a full
/// `registry/name[:tag]`; names without a registry host go to `registry`). With no targets, the
/// source's repository and tag in `registry`. `source_auth` and `target_auth` are basic
/// credentials (anonymous when `None`); `insecure` lists extra plain-HTTP registries.
pub async fn import(
    source: &str,
    targets: &[String],
    registry: Option<&str>,
    source_auth: Option<RegistryAuth>,
    target_auth: Option<RegistryAuth>,
    force: bool,
    insecure: &[String],
) -> Result<ImportReport, ImportError> {
    install_crypto_provider();
    let src = Reference::from_str(source.trim())
        .map_err(|e| ImportError::Invalid(format!("invalid --source `{source}`: {e}")))?;
    let registry = registry.map(str::trim).filter(|r| !r.is_empty());
    let wanted: Vec<Reference> = if targets.is_empty() {
        let name = match src.digest() {
            Some(_) if src.tag().is_none() => src.repository().to_owned(),
            _ => format!("{}:{}", src.repository(), src.tag().unwrap_or("latest")),
        };
        vec![target_reference(&name, registry, src.digest())?]
    } else {
        targets
            .iter()
            .map(|t| target_reference(t, registry, src.digest()))
            .collect::<Result<_, _>>()?
    };

    let src_client = make_client(src.resolve_registry(), insecure, false)?;
    let src_auth = oci_auth(source_auth.as_ref());
    let src_registry = src.resolve_registry().to_owned();
    let on_source = |e: OciDistributionError| map_error(e, source, &src_registry, true);

    // Target clients, one per registry host (they keep the first credentials they see).
    let mut target_clients: Vec<(String, Client)> = Vec::new();
    let tgt_auth = oci_auth(target_auth.as_ref());
    for t in &wanted {
        let host = t.resolve_registry();
        if !target_clients.iter().any(|(h, _)| h == host) {
            let client = make_client(host, insecure, true)?;
            client.store_auth_if_needed(host, &tgt_auth).await;
            target_clients.push((host.to_owned(), client));
        }
    }
    let client_of = |r: &Reference| -> Client {
        target_clients
            .iter()
            .find(|(h, _)| h == r.resolve_registry())
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| Client::new(ClientConfig::default()))
    };

    let (top, top_digest) = src_client
        .pull_manifest_raw(&src, &src_auth, &ALL_MANIFEST_TYPES)
        .await
        .map_err(on_source)?;
    let top_digest = verify_digest(&top, &top_digest, source)?;
    let top_doc = parse_manifest(&top, source)?;

    if !force {
        for t in &wanted {
            if t.tag().is_none() {
                continue;
            }
            let shown = t.whole();
            match client_of(t).fetch_manifest_digest(t, &tgt_auth).await {
                Ok(_) => return Err(ImportError::TagExists { target: shown }),
                Err(e) => match map_error(e, &shown, t.resolve_registry(), false) {
                    ImportError::NotFound { .. } => {}
                    other => return Err(other),
                },
            }
        }
    }

    // Everything below the top level, read once from the source: (digest, bytes, doc).
    let mut children: Vec<(String, bytes::Bytes, ManifestDoc)> = Vec::new();
    collect_children(
        &src_client,
        &src,
        &top_doc,
        source,
        &src_auth,
        &mut children,
        0,
        &on_source,
    )
    .await?;

    let mut report = ImportReport {
        source: source.to_owned(),
        digest: top_digest.clone(),
        is_index: top_doc.is_index(),
        targets: Vec::new(),
        manifests: 0,
        blobs_copied: 0,
        blobs_skipped: 0,
    };
    let mut done_repos: HashSet<(String, String)> = HashSet::new();
    for t in &wanted {
        let client = client_of(t);
        let shown = t.whole();
        let on_target = |e: OciDistributionError| map_error(e, &shown, t.resolve_registry(), false);
        let repo_key = (t.resolve_registry().to_owned(), t.repository().to_owned());
        if done_repos.insert(repo_key) {
            let mut seen: HashSet<String> = HashSet::new();
            // Leaves first (image manifests, then nested indexes in reverse discovery order, so
            // every manifest's references exist before it is pushed).
            let mut ordered: Vec<&(String, bytes::Bytes, ManifestDoc)> =
                children.iter().filter(|c| !c.2.is_index()).collect();
            ordered.extend(children.iter().filter(|c| c.2.is_index()).rev());
            for (digest, body, doc) in ordered {
                for blob in doc.blobs() {
                    if !seen.insert(blob.digest.clone()) {
                        continue;
                    }
                    copy_blob(
                        &src_client,
                        &src,
                        &client,
                        t,
                        blob,
                        &mut report,
                        &on_source,
                        &on_target,
                    )
                    .await?;
                }
                let by_digest = Reference::with_digest(
                    t.registry().to_owned(),
                    t.repository().to_owned(),
                    digest.clone(),
                );
                let media = doc.content_type();
                let content_type = media.parse().map_err(|_| bad_media(&shown, media))?;
                client
                    .push_manifest_raw(&by_digest, body.clone(), content_type)
                    .await
                    .map_err(on_target)?;
                report.manifests += 1;
            }
            for blob in top_doc.blobs() {
                if !seen.insert(blob.digest.clone()) {
                    continue;
                }
                copy_blob(
                    &src_client,
                    &src,
                    &client,
                    t,
                    blob,
                    &mut report,
                    &on_source,
                    &on_target,
                )
                .await?;
            }
        }
        let media = top_doc.content_type();
        let content_type = media.parse().map_err(|_| bad_media(&shown, media))?;
        client
            .push_manifest_raw(t, top.clone(), content_type)
            .await
            .map_err(on_target)?;
        if t.tag().is_some() {
            let pushed = client
                .fetch_manifest_digest(t, &tgt_auth)
                .await
                .map_err(on_target)?;
            if pushed != top_digest {
                return Err(ImportError::Other {
                    image: shown,
                    message: format!(
                        "the target registry reports digest {pushed}, expected {top_digest}"
                    ),
                });
            }
        }
        report.targets.push(shown);
    }
    Ok(report)
}

/// A target `NAME[:TAG]` (or `registry/NAME[:TAG]`) as a tagged reference in its registry. With
/// no tag, `latest`, except for a digest-pinned source, whose untagged target is pushed by digest.
fn target_reference(
    name: &str,
    registry: Option<&str>,
    source_digest: Option<&str>,
) -> Result<Reference, ImportError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ImportError::Invalid("--image must not be empty".to_owned()));
    }
    if name.contains('@') {
        return Err(ImportError::Invalid(format!(
            "invalid --image `{name}`: expected NAME[:TAG], without a digest"
        )));
    }
    let has_host = name
        .split_once('/')
        .is_some_and(|_| registry_of(name) != "docker.io");
    let full = match (has_host, registry) {
        (true, _) => name.to_owned(),
        (false, Some(r)) => format!("{}/{name}", r.trim_end_matches('/')),
        (false, None) => {
            return Err(ImportError::Invalid(format!(
                "no target registry for `{name}`: pass -r/--registry (or TASKRUN_REGISTRY), or a full registry/name:tag"
            )));
        }
    };
    let parsed = Reference::from_str(&full)
        .map_err(|e| ImportError::Invalid(format!("invalid --image `{name}`: {e}")))?;
    let last = full.rsplit('/').next().unwrap_or(&full);
    let tag = if last.contains(':') {
        parsed.tag().map(str::to_owned)
    } else {
        None
    };
    Ok(match (tag, source_digest) {
        (Some(tag), _) => Reference::with_tag(
            parsed.registry().to_owned(),
            parsed.repository().to_owned(),
            tag,
        ),
        (None, Some(digest)) => Reference::with_digest(
            parsed.registry().to_owned(),
            parsed.repository().to_owned(),
            digest.to_owned(),
        ),
        (None, None) => Reference::with_tag(
            parsed.registry().to_owned(),
            parsed.repository().to_owned(),
            "latest".to_owned(),
        ),
    })
}

fn bad_media(image: &str, media: &str) -> ImportError {
    ImportError::Other {
        image: image.to_owned(),
        message: format!("unusable manifest media type `{media}`"),
    }
}

fn oci_auth(auth: Option<&RegistryAuth>) -> OciAuth {
    match auth {
        Some(a) => OciAuth::Basic(a.username.clone(), a.password.clone()),
        None => OciAuth::Anonymous,
    }
}

fn make_client(
    registry: &str,
    insecure: &[String],
    monolithic: bool,
) -> Result<Client, ImportError> {
    let config = ClientConfig {
        use_monolithic_push: monolithic,
        ..client_config(registry, insecure, READ_TIMEOUT)
    };
    Client::try_from(config).map_err(|e| ImportError::Other {
        image: registry.to_owned(),
        message: format!("cannot create the registry client: {e}"),
    })
}

/// Reads every manifest an index references (recursively, up to [`MAX_DEPTH`]) by digest.
#[allow(clippy::too_many_arguments)]
async fn collect_children<F>(
    client: &Client,
    src: &Reference,
    doc: &ManifestDoc,
    source: &str,
    auth: &OciAuth,
    out: &mut Vec<(String, bytes::Bytes, ManifestDoc)>,
    depth: usize,
    on_source: &F,
) -> Result<(), ImportError>
where
    F: Fn(OciDistributionError) -> ImportError,
{
    if depth >= MAX_DEPTH {
        return Err(ImportError::Other {
            image: source.to_owned(),
            message: format!("indexes nested more than {MAX_DEPTH} deep"),
        });
    }
    for entry in doc.manifests.as_deref().unwrap_or_default() {
        if out.iter().any(|(d, _, _)| *d == entry.digest) {
            continue;
        }
        let pinned = Reference::with_digest(
            src.registry().to_owned(),
            src.repository().to_owned(),
            entry.digest.clone(),
        );
        let (body, digest) = client
            .pull_manifest_raw(&pinned, auth, &ALL_MANIFEST_TYPES)
            .await
            .map_err(|e| match on_source(e) {
                ImportError::NotFound { image, .. } => ImportError::NotFound {
                    image,
                    what: format!("its index references manifest {}", entry.digest),
                },
                other => other,
            })?;
        let digest = verify_digest(&body, &digest, source)?;
        if digest != entry.digest {
            return Err(ImportError::Other {
                image: source.to_owned(),
                message: format!("manifest {} has digest {digest}", entry.digest),
            });
        }
        let child = parse_manifest(&body, source)?;
        let nested = child.is_index();
        out.push((digest, body, child));
        if nested {
            let child_doc = match out.last() {
                Some((_, _, d)) => d.clone(),
                None => continue,
            };
            Box::pin(collect_children(
                client,
                src,
                &child_doc,
                source,
                auth,
                out,
                depth + 1,
                on_source,
            ))
            .await?;
        }
    }
    Ok(())
}

/// Copies one blob into the target repository unless it is already there.
#[allow(clippy::too_many_arguments)]
async fn copy_blob<F, G>(
    src_client: &Client,
    src: &Reference,
    client: &Client,
    target: &Reference,
    blob: &Descriptor,
    report: &mut ImportReport,
    on_source: &F,
    on_target: &G,
) -> Result<(), ImportError>
where
    F: Fn(OciDistributionError) -> ImportError,
    G: Fn(OciDistributionError) -> ImportError,
{
    if client
        .blob_exists(target, &blob.digest)
        .await
        .map_err(on_target)?
    {
        report.blobs_skipped += 1;
        return Ok(());
    }
    if src.resolve_registry() == target.resolve_registry()
        && src.repository() != target.repository()
        && client.mount_blob(target, src, &blob.digest).await.is_ok()
        && client
            .blob_exists(target, &blob.digest)
            .await
            .unwrap_or(false)
    {
        report.blobs_copied += 1;
        return Ok(());
    }
    let stream = src_client
        .pull_blob_stream(src, blob.digest.as_str())
        .await
        .map_err(|e| match on_source(e) {
            ImportError::NotFound { image, .. } => ImportError::NotFound {
                image,
                what: format!("blob {} is missing", blob.digest),
            },
            other => other,
        })?;
    let size = u64::try_from(blob.size)
        .ok()
        .or(stream.content_length)
        .ok_or_else(|| ImportError::Other {
            image: src.whole(),
            message: format!("blob {} has no size", blob.digest),
        })?;
    let body = stream.map_err(OciDistributionError::from);
    client
        .push_blob_stream(target, body, &blob.digest, Some(size))
        .await
        .map_err(on_target)?;
    report.blobs_copied += 1;
    Ok(())
}

/// The sha256 of `body`, checked against what the registry said.
fn verify_digest(body: &[u8], reported: &str, image: &str) -> Result<String, ImportError> {
    let actual = format!("sha256:{:x}", Sha256::digest(body));
    if reported.starts_with("sha256:") && reported != actual {
        return Err(ImportError::Other {
            image: image.to_owned(),
            message: format!("the registry reported digest {reported} for content {actual}"),
        });
    }
    if reported.starts_with("sha256:") || reported.is_empty() {
        Ok(actual)
    } else {
        // Another algorithm (sha512): oci-client already verified it; keep the registry's.
        Ok(reported.to_owned())
    }
}

/// The parts of a manifest or index needed to copy it.
#[derive(Debug, Clone, Deserialize)]
struct ManifestDoc {
    #[serde(default, rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Debug, Clone, Deserialize)]
struct Descriptor {
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    urls: Option<Vec<String>>,
}

impl ManifestDoc {
    fn is_index(&self) -> bool {
        match self.media_type.as_deref() {
            Some(DOCKER_MANIFEST_LIST | OCI_INDEX) => true,
            Some(_) => false,
            None => self.manifests.is_some(),
        }
    }

    /// Config and layers, foreign (non-distributable) layers left out.
    fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config
            .iter()
            .chain(self.layers.as_deref().unwrap_or_default())
            .filter(|d| {
                let foreign = d
                    .media_type
                    .as_deref()
                    .is_some_and(|m| m.contains("foreign") || m.contains("nondistributable"));
                !(foreign && d.urls.as_ref().is_some_and(|u| !u.is_empty()))
            })
    }

    /// The `Content-Type` to push the manifest with: its `mediaType`, else the OCI type its
    /// shape implies.
    fn content_type(&self) -> &str {
        match self.media_type.as_deref() {
            Some(m) => m,
            None if self.manifests.is_some() => OCI_INDEX,
            None => OCI_MANIFEST,
        }
    }
}

fn parse_manifest(body: &[u8], image: &str) -> Result<ManifestDoc, ImportError> {
    let doc: ManifestDoc = serde_json::from_slice(body).map_err(|e| ImportError::Other {
        image: image.to_owned(),
        message: format!("the registry returned an unreadable manifest: {e}"),
    })?;
    if doc.schema_version != Some(2) {
        return Err(ImportError::Other {
            image: image.to_owned(),
            message: "only schema 2 manifests (Docker v2, OCI) can be imported".to_owned(),
        });
    }
    Ok(doc)
}

/// Maps a client error; `source` says whether `image` is the source (missing → `NotFound`).
fn map_error(e: OciDistributionError, image: &str, registry: &str, source: bool) -> ImportError {
    match classify(e) {
        Failure::Unauthorized => ImportError::Unauthorized {
            registry: registry.to_owned(),
            image: image.to_owned(),
        },
        Failure::NotFound => ImportError::NotFound {
            image: image.to_owned(),
            what: if source {
                "no such repository or tag".to_owned()
            } else {
                "not in the target registry".to_owned()
            },
        },
        Failure::Unreachable(message) => ImportError::Unreachable {
            registry: registry.to_owned(),
            message,
        },
        Failure::Other(message) => ImportError::Other {
            image: image.to_owned(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::digest::is_plain_http;

    #[test]
    fn targets_go_to_the_registry_flag() {
        let r = target_reference("hello:v1", Some("myreg.azurecr.io"), None).unwrap();
        assert_eq!(r.whole(), "myreg.azurecr.io/hello:v1");
        let r = target_reference("a/b", Some("127.0.0.1:5001"), None).unwrap();
        assert_eq!(r.whole(), "127.0.0.1:5001/a/b:latest");
        let r = target_reference("other.io/x:1", Some("myreg.azurecr.io"), None).unwrap();
        assert_eq!(r.whole(), "other.io/x:1");
        let r = target_reference("x", Some("r.io"), Some("sha256:ab")).unwrap();
        assert_eq!((r.tag(), r.digest()), (None, Some("sha256:ab")));
        assert!(matches!(
            target_reference("hello:v1", None, None),
            Err(ImportError::Invalid(_))
        ));
        assert!(matches!(
            target_reference("Upper:1", Some("r.io"), None),
            Err(ImportError::Invalid(_))
        ));
        assert!(matches!(
            target_reference("x@sha256:00", Some("r.io"), None),
            Err(ImportError::Invalid(_))
        ));
    }

    #[test]
    fn manifests_are_classified() {
        let index = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:a","size":1}]}"#;
        let doc = parse_manifest(index, "x").unwrap();
        assert!(doc.is_index());
        assert_eq!(
            doc.content_type(),
            "application/vnd.oci.image.index.v1+json"
        );
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"digest":"sha256:c","size":2},
            "layers":[{"digest":"sha256:l","size":3},
              {"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"sha256:f","size":4,"urls":["https://x"]}]}"#;
        let doc = parse_manifest(image, "x").unwrap();
        assert!(!doc.is_index());
        let blobs: Vec<&str> = doc.blobs().map(|b| b.digest.as_str()).collect();
        assert_eq!(blobs, ["sha256:c", "sha256:l"]);
        assert!(parse_manifest(br#"{"schemaVersion":1}"#, "x").is_err());
        assert!(parse_manifest(b"nope", "x").is_err());
    }

    #[test]
    fn digests_are_verified() {
        let body = b"{}";
        let d = format!("sha256:{:x}", Sha256::digest(body));
        assert_eq!(verify_digest(body, &d, "x").unwrap(), d);
        assert!(verify_digest(body, "sha256:00", "x").is_err());
    }

    #[test]
    fn plain_http_rule() {
        assert!(is_plain_http("127.0.0.1:5000", &[]));
        assert!(is_plain_http("localhost", &[]));
        assert!(!is_plain_http("myreg.azurecr.io", &[]));
        assert!(is_plain_http("10.1.2.3:5000", &["10.0.0.0/8".to_owned()]));
    }
}
