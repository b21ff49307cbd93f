//! Base-image dependencies of a `build` step: the Dockerfile scanner, image reference
//! normalisation and acb's dependency JSON.
//!
//! Pure code: the caller reads the Dockerfile and passes its text in.
//!
//! * [`dockerfile::scan`] reads a Dockerfile the way Docker does (directives, continuations,
//!   heredocs, global ARGs, `--build-arg`, `--target`, `--platform`, stage references,
//!   `COPY --from`, `RUN --mount from=`) and returns the stages, the runtime dependency (the target
//!   stage's external origin) and the build-time dependencies, with byte spans for diagnostics.
//! * [`reference::parse`] normalises an image reference into acb's fields plus the fully
//!   qualified Docker name used for digest lookups.
//! * [`dependencies_for_build`] turns a scan into acb's output entries ([`Dependencies`]),
//!   serialising exactly as acb's `The following dependencies were found:` JSON.
//!
//! ```text
//! [{"image":{…},"runtime-dependency":{…},"buildtime-dependency":[{…}]|null,"git":{"git-head-revision":"…"}}]
//! ```

pub mod dockerfile;
mod expand;
pub mod git;
pub mod reference;
pub mod resolve;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use dockerfile::{
    Base, GlobalArg, ImageUse, Scan, ScanError, ScanErrorKind, ScanOptions, Source, Stage, Via,
    Warning, WarningKind, host_platform, scan,
};
pub use reference::{ImageRef, RefError, RefErrorKind};

/// One entry of acb's dependency output: per `-t` tag of a build step.
///
/// Serialises in acb's field order: `image` (`null` for an untagged build),
/// `runtime-dependency`, `buildtime-dependency` (`null` when there is none), `git`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependencies {
    /// The image the build produces (one entry per tag), `None` without tags.
    pub image: Option<ImageRef>,
    /// The base image of the final (or `--target`) stage; `None` when it is `scratch`.
    #[serde(rename = "runtime-dependency")]
    pub runtime_dependency: Option<ImageRef>,
    /// The other images the build pulls; `None` (JSON `null`) when there are none.
    #[serde(rename = "buildtime-dependency")]
    pub buildtime_dependency: Option<Vec<ImageRef>>,
    /// The build context's git revision.
    pub git: GitInfo,
}

/// The `git` object of [`Dependencies`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GitInfo {
    /// `git rev-parse --verify HEAD` of the context; empty when it is not a repository.
    #[serde(rename = "git-head-revision")]
    pub git_head_revision: String,
}

/// Builds acb's dependency entries for a scanned build: one per tag in `tags` (each normalised
/// like acb, `:latest` appended when it has neither `:` nor `@`), or a single entry with
/// `"image": null` when there are no tags.
///
/// Build-time references get acb's treatment (a leading `library/` is dropped from
/// `reference`). Digests are empty except for pinned references; the caller fills them in after
/// the build, looking each image up by [`ImageRef::docker_name`].
///
/// Fails when a tag is not a valid reference (acb fails the scan the same way).
pub fn dependencies_for_build(
    scan: &Scan,
    tags: &[String],
    git_head: &str,
) -> Result<Vec<Dependencies>, RefError> {
    let runtime = scan.runtime.as_ref().map(|u| u.image.clone());
    let buildtime: Vec<ImageRef> = scan
        .buildtime
        .iter()
        .map(|u| u.image.for_buildtime())
        .collect();
    let buildtime = (!buildtime.is_empty()).then_some(buildtime);
    let entry = |image: Option<ImageRef>| Dependencies {
        image,
        runtime_dependency: runtime.clone(),
        buildtime_dependency: buildtime.clone(),
        git: GitInfo {
            git_head_revision: git_head.to_owned(),
        },
    };
    if tags.is_empty() {
        return Ok(vec![entry(None)]);
    }
    tags.iter()
        .map(|t| reference::parse(t).map(|r| entry(Some(r))))
        .collect()
}
