//! Image reference helpers: which registry an image lives in, and acb's push normalisation.

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
/// `@sha256:…` in the tag position).
pub fn split_tag(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], &image[last_slash + i + 1..]),
        None => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_host() {
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
}
