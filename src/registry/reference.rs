//! Image references, split without a shell or a registry: the one place taskrun cuts a reference
//! into repository, tag and digest ([`split`]), and the helpers built on it: which registry an
//! image lives in ([`registry_of`]), acb's push normalisation ([`normalize_push`]), repository
//! and tag ([`split_tag`]) and the owned form the engine uses ([`split_reference`]).
//!
//! The split is lexical: `reference := name [":" tag] ["@" digest]`, where a `:` only starts a
//! tag after the last `/`, so registry ports (`localhost:5000/x`) are not mistaken for tags.
//! Nothing is validated or normalised here; `deps::reference::parse` checks Docker's grammar on
//! top of [`split`] and computes Docker's and acb's normalised names.

/// The parts of an image reference, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    /// Everything before the digest: repository and tag (`localhost:5000/a/b:1`).
    pub name: &'a str,
    /// The repository, registry host included (`localhost:5000/a/b`).
    pub repo: &'a str,
    /// The tag, when the reference has one (`1`).
    pub tag: Option<&'a str>,
    /// The digest after the first `@` (`sha256:…`), when the reference has one.
    pub digest: Option<&'a str>,
}

/// Splits `reference` into name, repository, tag and digest (see the module docs).
pub fn split(reference: &str) -> Parts<'_> {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    Parts {
        name,
        repo,
        tag,
        digest,
    }
}

/// The registry host of an image reference, as Docker decides it: the first path component when
/// it contains `.` or `:` or is `localhost`; otherwise Docker Hub (`docker.io`).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// [`registry_of`] as an owned string (the registry host of a repository, `docker.io` when it
/// names none).
pub fn registry_host(repo: &str) -> String {
    registry_of(repo).to_string()
}

/// acb's push normalisation: `:latest` is appended when the reference contains neither `:` nor
/// `@` (so `localhost:5000/x` is left alone, as in acb).
pub fn normalize_push(image: &str) -> String {
    if image.contains(':') || image.contains('@') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// Splits a reference into repository and tag (`latest` when absent; a digest reference keeps
/// `@sha256:…` in the tag position, and its tag, if any, in the repository position).
pub fn split_tag(image: &str) -> (&str, &str) {
    let parts = split(image);
    match parts.digest {
        Some(digest) => (parts.name, digest),
        None => (parts.repo, parts.tag.unwrap_or("latest")),
    }
}

/// An image reference split into repository, tag and digest, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceParts {
    /// Repository including any registry host (`localhost:5000/a/b`).
    pub repo: String,
    /// Tag, when given.
    pub tag: Option<String>,
    /// Digest (`sha256:…`), when given.
    pub digest: Option<String>,
}

/// [`split`] as owned parts, for the engine's API calls (`from_image` and `tag`, `repo` and
/// `tag`).
pub fn split_reference(reference: &str) -> ReferenceParts {
    let parts = split(reference);
    ReferenceParts {
        repo: parts.repo.to_string(),
        tag: parts.tag.map(str::to_string),
        digest: parts.digest.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        assert_eq!(registry_of("localhost:5000/app:1"), "localhost:5000");
        assert_eq!(registry_of("127.0.0.1:5000/app"), "127.0.0.1:5000");
        assert_eq!(registry_of("myreg.azurecr.io/a/b:1"), "myreg.azurecr.io");
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert_eq!(registry_of("library/node"), "docker.io");
        assert_eq!(registry_of("node:15"), "docker.io");
    }

    #[test]
    fn push_normalisation_is_acbs() {
        assert_eq!(normalize_push("app"), "app:latest");
        assert_eq!(normalize_push("app:1"), "app:1");
        assert_eq!(normalize_push("localhost:5000/x"), "localhost:5000/x");
        assert_eq!(normalize_push("a@sha256:00"), "a@sha256:00");
    }

    #[test]
    fn tags() {
        assert_eq!(
            split_tag("localhost:5000/a/b:1"),
            ("localhost:5000/a/b", "1")
        );
        assert_eq!(
            split_tag("localhost:5000/a"),
            ("localhost:5000/a", "latest")
        );
        assert_eq!(split_tag("a"), ("a", "latest"));
        assert_eq!(split_tag("a@sha256:ab"), ("a", "sha256:ab"));
    }

    fn parts(repo: &str, tag: Option<&str>, digest: Option<&str>) -> ReferenceParts {
        ReferenceParts {
            repo: repo.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        }
    }

    #[test]
    fn references() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            split_reference("localhost:5000/a/b:1"),
            parts("localhost:5000/a/b", Some("1"), None)
        );
        assert_eq!(split_reference("a"), parts("a", None, None));
        assert_eq!(
            split_reference(&format!("a@{digest}")),
            parts("a", None, Some(digest))
        );
        assert_eq!(
            split_reference("host:5000/a"),
            parts("host:5000/a", None, None)
        );
        assert_eq!(
            split_reference(&format!("host:5000/a:v2@{digest}")),
            parts("host:5000/a", Some("v2"), Some(digest))
        );
        assert_eq!(registry_host("localhost:5000/a/b"), "localhost:5000");
        assert_eq!(registry_host("myreg.azurecr.io/app"), "myreg.azurecr.io");
        assert_eq!(registry_host("library/alpine"), "docker.io");
        assert_eq!(registry_host("alpine"), "docker.io");
        assert_eq!(registry_host("localhost/x"), "localhost");
    }

    #[test]
    fn split_keeps_name_and_cuts_at_the_first_at() {
        assert_eq!(
            split("h:5/a:1@sha256:ab"),
            Parts {
                name: "h:5/a:1",
                repo: "h:5/a",
                tag: Some("1"),
                digest: Some("sha256:ab"),
            }
        );
        assert_eq!(split_tag("a:1@sha256:ab"), ("a:1", "sha256:ab"));
        assert_eq!(split("a@b@c").digest, Some("b@c"));
        assert_eq!(split("").repo, "");
        assert_eq!(split("a/").tag, None);
        assert_eq!(split("é:ü").tag, Some("ü"));
    }
}
