//! Filling the `digest` fields of dependency records: images on the engine first (their
//! `RepoDigests`, as acb's `docker inspect`), then the registry (a HEAD of the manifest). A
//! digest that cannot be found is a warning naming the image, never a failure (acb fails a run
//! whose steps all succeeded when `docker inspect` fails; taskrun does not).

use std::collections::BTreeMap;

use crate::deps::{Dependencies, ImageRef};
use crate::engine::Engine;
use crate::registry::Credentials;
use crate::registry::digest::{Resolver, local_digest};
use crate::registry::reference::registry_of;

/// Fills every empty `digest` in `deps` (pinned `@sha256:` references keep theirs). The built
/// image itself (`image`) is only looked up on the engine (it exists in a registry only if a
/// step pushed it). Says which digests could not be looked up (warnings) and which images were
/// built on this engine and never pushed (no digest by nature; not a warning).
pub async fn fill_digests<E: Engine>(
    deps: &mut [Dependencies],
    engine: Option<&E>,
    resolver: Option<&Resolver>,
    credentials: &Credentials,
) -> Filled {
    let mut cache: BTreeMap<String, Result<String, Missing>> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut local = Vec::new();
    for d in deps.iter_mut() {
        if let Some(image) = d.image.as_mut() {
            fill(
                image,
                engine,
                None,
                credentials,
                &mut cache,
                &mut warnings,
                &mut local,
            )
            .await;
        }
        let bases = d
            .runtime_dependency
            .iter_mut()
            .chain(d.buildtime_dependency.iter_mut().flatten());
        for base in bases {
            fill(
                base,
                engine,
                resolver,
                credentials,
                &mut cache,
                &mut warnings,
                &mut local,
            )
            .await;
        }
    }
    warnings.sort();
    warnings.dedup();
    local.sort();
    local.dedup();
    Filled { warnings, local }
}

/// What [`fill_digests`] could not fill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filled {
    /// One warning per image whose digest could not be looked up.
    pub warnings: Vec<String>,
    /// Images built on this engine and never pushed or pulled: no digest by nature.
    pub local: Vec<String>,
}

async fn fill<E: Engine>(
    r: &mut ImageRef,
    engine: Option<&E>,
    resolver: Option<&Resolver>,
    credentials: &Credentials,
    cache: &mut BTreeMap<String, Result<String, Missing>>,
    warnings: &mut Vec<String>,
    local: &mut Vec<String>,
) {
    if !r.digest.is_empty() || r.is_scratch() {
        return;
    }
    let name = r.docker_name.clone();
    let key = format!("{}|{}", name, resolver.is_some());
    let found = match cache.get(&key) {
        Some(found) => found.clone(),
        None => {
            let found = lookup(&name, engine, resolver, credentials).await;
            cache.insert(key, found.clone());
            found
        }
    };
    match found {
        Ok(digest) => r.digest = digest,
        // An image made on this engine and never pushed has no digest by nature: the listing
        // says `(no digest)`, and it is not a warning.
        Err(Missing::Local) => local.push(r.reference.clone()),
        Err(Missing::Failed(why)) => {
            warnings.push(format!("no digest for `{}`: {why}", r.reference));
        }
    }
}

/// Why a digest stayed unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Missing {
    /// The engine's image was built here and never pushed or pulled.
    Local,
    /// The lookup failed (registry unreachable, unknown tag, …).
    Failed(String),
}

async fn lookup<E: Engine>(
    name: &str,
    engine: Option<&E>,
    resolver: Option<&Resolver>,
    credentials: &Credentials,
) -> Result<String, Missing> {
    if let Some(engine) = engine {
        match local_digest(engine, name).await {
            Ok(Some(d)) => return Ok(d),
            // The engine has this tag but it was never pushed or pulled (built here): builds use
            // it, so the registry's digest (of another image) would be wrong.
            Ok(None) => return Err(Missing::Local),
            Err(_) => {}
        }
    }
    let Some(resolver) = resolver else {
        return Err(Missing::Failed(
            "the image has no registry digest on the engine (never pushed or pulled)".into(),
        ));
    };
    let auth = credentials.for_registry(registry_of(name));
    resolver
        .resolve(name, auth.as_ref())
        .await
        .map(|r| r.digest)
        .map_err(|e| Missing::Failed(e.to_string()))
}
