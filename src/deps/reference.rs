//! Image reference normalisation, twice over: the way Docker resolves a name (for lookups) and the
//! way acb reports it in its dependency JSON (for output compatibility).
//!
//! Grammar (Docker's `distribution/reference`):
//! `reference := name [":" tag] ["@" digest]`, `name := [domain "/"] component ("/" component)*`,
//! where a path component is lower-case alphanumerics joined by `.`, `_`, `__` or runs of `-`, a
//! domain is DNS labels (any case) joined by `.` or a bracketed IPv6 address, optionally with
//! `:port`, a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` and a digest is `algorithm:hex`.
//!
//! The two views differ on what the first component is:
//! * **Docker** ([`ImageRef::docker_name`]): it is a registry only when it contains `.` or `:`, is
//!   `localhost`, or has an upper-case letter; otherwise the image is on Docker Hub (`docker.io`,
//!   with `library/` for single-component names). `:latest` is added when there is neither tag nor
//!   digest.
//! * **acb** (the serialised fields): any first component that *could* be a domain is the
//!   "domain"; it becomes `registry` only when it contains a `.`; otherwise the image is reported
//!   as Docker Hub (`registry.hub.docker.com`) with the domain folded into `repository`
//!   (`myorg/app`, and also `localhost:5000/app`). `:latest` is appended only when the text has
//!   neither `:` nor `@` (so `localhost:5000/app` keeps an empty tag).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::registry::reference::{Parts, split};

/// The registry acb reports for Docker Hub images.
pub const DOCKER_HUB_REGISTRY: &str = "registry.hub.docker.com";

/// Docker's canonical Docker Hub domain (used in [`ImageRef::docker_name`]).
pub const DOCKER_DOMAIN: &str = "docker.io";

const LEGACY_DOCKER_DOMAIN: &str = "index.docker.io";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A parsed, normalised image reference.
///
/// Serialises to acb's JSON shape, fields in acb's order: `registry`, `repository`, `tag`
/// (omitted when empty), `digest` (always present), `reference`. These fields mirror acb exactly,
/// quirks included (`localhost:5000/app` is reported as Docker Hub repository
/// `localhost:5000/app`); **use [`ImageRef::docker_name`] for digest lookups**, never the acb
/// fields. Deserialising recomputes `docker_name` from `reference`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "AcbFields")]
pub struct ImageRef {
    /// acb's registry: the domain when it contains a `.`, else `registry.hub.docker.com`.
    pub registry: String,
    /// acb's repository: the path (`library/<name>` for bare Docker Hub names; `<domain>/<path>`
    /// when the domain has no `.`).
    pub repository: String,
    /// The tag, empty when the reference has none (a digest-only ref, or `localhost:5000/app`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// The digest: the pinned `sha256:…` of a digest reference, otherwise empty until the caller
    /// fills in the resolved digest.
    pub digest: String,
    /// The reference as written, after acb's normalisation (`:latest` appended when it has
    /// neither `:` nor `@`); not fully qualified.
    pub reference: String,
    /// The fully qualified Docker form, for local-engine and registry lookups:
    /// `docker.io/library/node:15-alpine`, `localhost:5000/app:1`, `docker.io/library/x@sha256:…`.
    #[serde(skip)]
    pub docker_name: String,
}

/// The serialised fields, used to rebuild an [`ImageRef`] (recomputing `docker_name`).
#[derive(Deserialize)]
struct AcbFields {
    registry: String,
    repository: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    digest: String,
    reference: String,
}

impl From<AcbFields> for ImageRef {
    fn from(f: AcbFields) -> Self {
        let docker_name = parse(&f.reference)
            .map(|r| r.docker_name)
            .unwrap_or_default();
        ImageRef {
            registry: f.registry,
            repository: f.repository,
            tag: f.tag,
            digest: f.digest,
            reference: f.reference,
            docker_name,
        }
    }
}

/// Why a reference was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {kind}")]
pub struct RefError {
    /// The text that was parsed.
    pub input: String,
    /// What is wrong with it.
    pub kind: RefErrorKind,
}

/// The kinds of [`RefError`], worded like Docker's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefErrorKind {
    /// Nothing to parse.
    Empty,
    /// The repository path has upper-case letters.
    Uppercase,
    /// Anything else that does not match the grammar.
    Format,
    /// Domain plus path longer than 255 characters.
    NameTooLong,
    /// A digest algorithm other than sha256/sha384/sha512.
    UnsupportedDigest,
    /// A digest whose hex part has the wrong length or characters.
    InvalidDigest,
    /// A bare 64-hex-digit name (Docker reserves these for image ids).
    HexName,
}

impl fmt::Display for RefErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefErrorKind::Empty => {
                "invalid reference format: repository name must have at least one component"
            }
            RefErrorKind::Uppercase => {
                "invalid reference format: repository name must be lowercase"
            }
            RefErrorKind::Format => "invalid reference format",
            RefErrorKind::NameTooLong => {
                "invalid reference format: repository name must not be more than 255 characters"
            }
            RefErrorKind::UnsupportedDigest => "unsupported digest algorithm",
            RefErrorKind::InvalidDigest => "invalid checksum digest format",
            RefErrorKind::HexName => {
                "invalid repository name, cannot specify 64-byte hexadecimal strings"
            }
        })
    }
}

impl ImageRef {
    #[cfg(test)]
    /// The pinned digest (`sha256:…`) when the reference names one.
    pub fn pinned_digest(&self) -> Option<&str> {
        self.docker_name.split_once('@').map(|(_, d)| d)
    }

    /// Whether this is `scratch` (acb skips its digest lookup).
    pub fn is_scratch(&self) -> bool {
        self.docker_name == "docker.io/library/scratch:latest"
    }

    /// acb's form for a build-time dependency: a leading `library/` is removed from the written
    /// reference before normalising (acb's de-duplication of `library/golang` and `golang`).
    pub fn for_buildtime(&self) -> ImageRef {
        match self.reference.strip_prefix("library/") {
            Some(rest) => parse(rest).unwrap_or_else(|_| self.clone()),
            None => self.clone(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reference)
    }
}

/// Parses and normalises an image reference (see the module docs for both views).
///
/// Equivalent to acb's `NewImageReference(NormalizeImageTag(s))`, plus [`ImageRef::docker_name`]
/// and the pinned digest in `digest`.
pub fn parse(s: &str) -> Result<ImageRef, RefError> {
    let err = |kind| RefError {
        input: s.to_owned(),
        kind,
    };
    if s.is_empty() {
        return Err(err(RefErrorKind::Empty));
    }
    let Parts {
        repo: name,
        tag,
        digest,
        ..
    } = split(s);
    if let Some(d) = digest {
        check_digest(d).map_err(err)?;
    }
    if let Some(t) = tag
        && !is_tag(t)
    {
        return Err(err(RefErrorKind::Format));
    }
    if name.is_empty() {
        return Err(err(if tag.is_none() && digest.is_some() {
            RefErrorKind::Format
        } else {
            RefErrorKind::Empty
        }));
    }
    let components: Vec<&str> = name.split('/').collect();
    if !name_is_valid(&components) {
        let lower: Vec<String> = components.iter().map(|c| c.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        return Err(err(if name_is_valid(&lower) {
            RefErrorKind::Uppercase
        } else {
            RefErrorKind::Format
        }));
    }
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(err(RefErrorKind::NameTooLong));
    }
    if components.len() == 1 && name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(RefErrorKind::HexName));
    }

    // acb's view: the regex's optional domain group is greedy.
    let (acb_domain, acb_path) = match components.split_first() {
        Some((first, rest)) if !rest.is_empty() && is_domain(first) => {
            (*first, &name[first.len() + 1..])
        }
        _ => ("", name),
    };
    let (registry, repository) = if acb_domain.contains('.') {
        (acb_domain.to_owned(), acb_path.to_owned())
    } else if acb_domain.is_empty() {
        (
            DOCKER_HUB_REGISTRY.to_owned(),
            format!("library/{acb_path}"),
        )
    } else {
        (
            DOCKER_HUB_REGISTRY.to_owned(),
            format!("{acb_domain}/{acb_path}"),
        )
    };
    // acb's NormalizeImageTag: `:latest` only when the text has neither `:` nor `@`.
    let (reference, acb_tag) = if s.contains(':') || s.contains('@') {
        (s.to_owned(), tag.unwrap_or_default())
    } else {
        (format!("{s}:latest"), "latest")
    };

    // Docker's view.
    let docker_domain = match components.split_first() {
        Some((first, rest))
            if !rest.is_empty()
                && (first.contains('.')
                    || first.contains(':')
                    || *first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()))
                && is_domain(first) =>
        {
            Some(*first)
        }
        _ => None,
    };
    let mut docker_name = match docker_domain {
        Some(d) if d != DOCKER_DOMAIN && d != LEGACY_DOCKER_DOMAIN => name.to_owned(),
        Some(d) => hub_name(&name[d.len() + 1..]),
        None => hub_name(name),
    };
    match (tag, digest) {
        (None, None) => docker_name.push_str(":latest"),
        (t, d) => {
            if let Some(t) = t {
                docker_name.push(':');
                docker_name.push_str(t);
            }
            if let Some(d) = d {
                docker_name.push('@');
                docker_name.push_str(d);
            }
        }
    }

    Ok(ImageRef {
        registry,
        repository,
        tag: acb_tag.to_owned(),
        digest: digest.unwrap_or_default().to_owned(),
        reference,
        docker_name,
    })
}

/// `docker.io/<path>`, with `library/` for single-component paths.
fn hub_name(path: &str) -> String {
    if path.contains('/') {
        format!("{DOCKER_DOMAIN}/{path}")
    } else {
        format!("{DOCKER_DOMAIN}/library/{path}")
    }
}

/// Whether the components form a valid name: every component after the first is a path
/// component, and the first is a path component or (with more following) a domain.
fn name_is_valid(components: &[&str]) -> bool {
    match components.split_first() {
        Some((first, rest)) => {
            rest.iter().all(|c| is_path_component(c))
                && (is_path_component(first) || (!rest.is_empty() && is_domain(first)))
        }
        None => false,
    }
}

/// `[a-z0-9]+ ((?:[._]|__|-+) [a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        // separator
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `host[:port]`, host = DNS labels joined by `.` or `[ipv6]`.
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, after)) => {
                if ip.is_empty() || !ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    return false;
                }
                match after {
                    "" => return true,
                    p => match p.strip_prefix(':') {
                        Some(port) => ("", Some(port)),
                        None => return false,
                    },
                }
            }
            None => return false,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if host.is_empty() {
        // only the bracketed IPv6 form reaches here with an empty host
        return s.starts_with('[');
    }
    host.split('.').all(|label| {
        let b = label.as_bytes();
        match (b.first(), b.last()) {
            (Some(f), Some(l)) => {
                f.is_ascii_alphanumeric()
                    && l.is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            }
            _ => false,
        }
    })
}

/// `[\w][\w.-]{0,127}`
fn is_tag(s: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = s.as_bytes();
    match b.split_first() {
        Some((f, rest)) => {
            word(*f)
                && rest.len() <= 127
                && rest.iter().all(|c| word(*c) || *c == b'.' || *c == b'-')
        }
        None => false,
    }
}

fn check_digest(d: &str) -> Result<(), RefErrorKind> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err(RefErrorKind::Format);
    };
    // algorithm grammar: [A-Za-z][A-Za-z0-9]* ([+._-][A-Za-z][A-Za-z0-9]*)*
    let alg_ok = !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|part| {
            let b = part.as_bytes();
            matches!(b.first(), Some(c) if c.is_ascii_alphabetic())
                && b.iter().all(u8::is_ascii_alphanumeric)
        });
    if !alg_ok || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RefErrorKind::Format);
    }
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(RefErrorKind::UnsupportedDigest),
    };
    if hex.len() != len || hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(RefErrorKind::InvalidDigest);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// (input, registry, repository, tag, reference, docker_name)
    fn check(
        input: &str,
        registry: &str,
        repository: &str,
        tag: &str,
        reference: &str,
        docker: &str,
    ) {
        let r = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.tag.as_str(),
                r.reference.as_str(),
                r.docker_name.as_str()
            ),
            (registry, repository, tag, reference, docker),
            "{input}"
        );
    }

    #[test]
    fn normalisation_table() {
        let hub = DOCKER_HUB_REGISTRY;
        check(
            "node",
            hub,
            "library/node",
            "latest",
            "node:latest",
            "docker.io/library/node:latest",
        );
        check(
            "node:15-alpine",
            hub,
            "library/node",
            "15-alpine",
            "node:15-alpine",
            "docker.io/library/node:15-alpine",
        );
        check(
            "library/node",
            hub,
            "library/node",
            "latest",
            "library/node:latest",
            "docker.io/library/node:latest",
        );
        check(
            "docker.io/node",
            "docker.io",
            "node",
            "latest",
            "docker.io/node:latest",
            "docker.io/library/node:latest",
        );
        check(
            "index.docker.io/library/node:1",
            "index.docker.io",
            "library/node",
            "1",
            "index.docker.io/library/node:1",
            "docker.io/library/node:1",
        );
        check(
            "myorg/app",
            hub,
            "myorg/app",
            "latest",
            "myorg/app:latest",
            "docker.io/myorg/app:latest",
        );
        // acb quirk: no `.` in the domain → reported as Docker Hub, and no `:latest` because the
        // text already has a `:`.
        check(
            "localhost:5000/app",
            hub,
            "localhost:5000/app",
            "",
            "localhost:5000/app",
            "localhost:5000/app:latest",
        );
        check(
            "localhost/app:2",
            hub,
            "localhost/app",
            "2",
            "localhost/app:2",
            "localhost/app:2",
        );
        check(
            "127.0.0.1:5000/a/b:1",
            "127.0.0.1:5000",
            "a/b",
            "1",
            "127.0.0.1:5000/a/b:1",
            "127.0.0.1:5000/a/b:1",
        );
        check(
            "mcr.microsoft.com/dotnet/sdk:8.0",
            "mcr.microsoft.com",
            "dotnet/sdk",
            "8.0",
            "mcr.microsoft.com/dotnet/sdk:8.0",
            "mcr.microsoft.com/dotnet/sdk:8.0",
        );
        check(
            "registry.hub.docker.com/library/node:16",
            hub,
            "library/node",
            "16",
            "registry.hub.docker.com/library/node:16",
            "registry.hub.docker.com/library/node:16",
        );
        check(
            "[::1]:5000/app:1",
            hub,
            "[::1]:5000/app",
            "1",
            "[::1]:5000/app:1",
            "[::1]:5000/app:1",
        );
        check(
            "a/b/c",
            hub,
            "a/b/c",
            "latest",
            "a/b/c:latest",
            "docker.io/a/b/c:latest",
        );
    }

    #[test]
    fn digests_are_kept_as_pins() {
        let r = parse(&format!("x@{D}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.registry, DOCKER_HUB_REGISTRY);
        assert_eq!(r.repository, "library/x");
        assert_eq!(r.tag, "");
        assert_eq!(r.digest, D);
        assert_eq!(r.reference, format!("x@{D}"));
        assert_eq!(r.docker_name, format!("docker.io/library/x@{D}"));
        assert_eq!(r.pinned_digest(), Some(D));

        let r = parse(&format!("x:tag@{D}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.tag, "tag");
        assert_eq!(r.digest, D);
        assert_eq!(r.reference, format!("x:tag@{D}"));
        assert_eq!(r.docker_name, format!("docker.io/library/x:tag@{D}"));

        let r = parse("node:1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.pinned_digest(), None);
        assert_eq!(r.digest, "");
    }

    #[test]
    fn errors() {
        let kind = |s: &str| parse(s).err().map(|e| e.kind);
        assert_eq!(kind("Upper/Case"), Some(RefErrorKind::Uppercase));
        assert_eq!(kind("Node:15"), Some(RefErrorKind::Uppercase));
        assert_eq!(kind("myorg/App"), Some(RefErrorKind::Uppercase));
        assert_eq!(kind(""), Some(RefErrorKind::Empty));
        assert_eq!(kind("node:"), Some(RefErrorKind::Format));
        assert_eq!(kind("node:-x"), Some(RefErrorKind::Format));
        assert_eq!(kind("a..b"), Some(RefErrorKind::Format));
        assert_eq!(kind("a/"), Some(RefErrorKind::Format));
        assert_eq!(kind("/a"), Some(RefErrorKind::Format));
        assert_eq!(kind("a b"), Some(RefErrorKind::Format));
        assert_eq!(kind("$X"), Some(RefErrorKind::Format));
        assert_eq!(kind("x@sha256:abc"), Some(RefErrorKind::Format));
        assert_eq!(
            kind(&format!("x@md5:{}", "0".repeat(32))),
            Some(RefErrorKind::UnsupportedDigest)
        );
        assert_eq!(
            kind(&format!("x@sha256:{}", "0".repeat(63))),
            Some(RefErrorKind::InvalidDigest)
        );
        assert_eq!(kind(&"a".repeat(256)), Some(RefErrorKind::NameTooLong));
        assert_eq!(kind(&"a".repeat(64)), Some(RefErrorKind::HexName));
        assert_eq!(
            kind(&format!("x:{}", "t".repeat(129))),
            Some(RefErrorKind::Format)
        );
        // An upper-case *domain* is a domain, as in Docker.
        assert!(parse("Upper/case").is_ok());
        let e = parse("Upper/Case").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "invalid image reference \"Upper/Case\": invalid reference format: repository name must be lowercase"
            )
        );
    }

    #[test]
    fn buildtime_form_strips_library() {
        let r = parse("library/golang:1.10-alpine").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.reference, "library/golang:1.10-alpine");
        let b = r.for_buildtime();
        assert_eq!(b.reference, "golang:1.10-alpine");
        assert_eq!(b.repository, "library/golang");
        assert_eq!(b.docker_name, r.docker_name);
    }

    #[test]
    fn serde_shape_and_round_trip() {
        let r = parse("localhost:5000/app").unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"registry":"registry.hub.docker.com","repository":"localhost:5000/app","digest":"","reference":"localhost:5000/app"}"#
        );
        let back: ImageRef = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, r);
    }

    #[test]
    fn scratch_detection() {
        assert!(parse("scratch").is_ok_and(|r| r.is_scratch()));
        assert!(parse("scratchy").is_ok_and(|r| !r.is_scratch()));
    }
}
