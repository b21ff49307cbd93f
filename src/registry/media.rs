//! The manifest media types taskrun asks registries for (Docker schema 2 and OCI, single images
//! and multi-platform lists).

/// A Docker schema 2 image manifest.
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// A Docker schema 2 manifest list (one manifest per platform).
pub(crate) const DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// An OCI image manifest.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index (one manifest per platform).
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Every manifest media type, sent as `Accept` on each manifest request.
pub(crate) const ALL_MANIFEST_TYPES: [&str; 4] = [
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
];
