//! Platform names as Go (and so ACR and the registry API) spells them.

/// Go's `GOARCH` name for a Rust `target_arch`.
pub fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        other => other,
    }
}
