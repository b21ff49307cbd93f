//! Offline servers for remote contexts: `git daemon` over the bare repositories of a directory,
//! a static HTTP server (tarballs), and a "dumb HTTP" git server that wants a basic-auth token.
//! All listen on 127.0.0.1 and stop when dropped (the HTTP servers when the test process ends).
//! Used by tests/contexts.rs (remote contexts of `build` steps) and tests/remote_context.rs
//! (a remote CONTEXT of the whole run), each with `#[path = "common/remote.rs"] mod remote;`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `git` with a defined environment (no user or system configuration), in `dir`; its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("the git CLI (scripts/test-env.sh installs it)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `git daemon` serving the bare repositories under a directory on a free loopback port;
/// stopped when dropped.
pub struct GitDaemon {
    child: std::process::Child,
    pub port: u16,
}

impl GitDaemon {
    pub fn start(base: &Path) -> Self {
        let port = crate::common::free_port();
        let child = Command::new("git")
            .arg("daemon")
            .arg(format!("--base-path={}", base.display()))
            .args(["--export-all", "--reuseaddr", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(base)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let daemon = GitDaemon { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "git daemon did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        daemon
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a request of [`serve`] gets: `Some(body)` for 200, `None` for 404.
type Lookup = Box<dyn Fn(&str) -> Option<Vec<u8>> + Send>;

/// An HTTP server on a loopback port: `GET <path>` (query string dropped) answers what `lookup`
/// gives; with `auth`, a request without the header line `Authorization: <auth>` gets `401`.
fn serve(lookup: Lookup, auth: Option<String>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let mut authorized = auth.is_none();
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                if let Some(want) = &auth
                    && header
                        .trim_end()
                        .eq_ignore_ascii_case(&format!("authorization: {want}"))
                {
                    authorized = true;
                }
                header.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default();
            let (status, extra, body) = if !authorized {
                (
                    "401 Unauthorized",
                    "WWW-Authenticate: Basic realm=\"git\"\r\n",
                    b"who are you".to_vec(),
                )
            } else {
                match lookup(path) {
                    Some(body) => ("200 OK", "", body),
                    None => ("404 Not Found", "", b"not here".to_vec()),
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    port
}

/// A static HTTP server: `GET <path>` answers the body of that path, anything else `404`.
pub fn serve_http(files: Vec<(&'static str, Vec<u8>)>) -> u16 {
    serve(
        Box::new(move |path| {
            files
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, b)| b.clone())
        }),
        None,
    )
}

/// A "dumb HTTP" git server for the bare repositories under `base` (run `git update-server-info`
/// in each first): plain files, and `401` unless the request carries basic auth with the user
/// `x-access-token` and `token` (what taskrun sends for `--git-access-token`).
pub fn serve_git_dumb_http(base: PathBuf, token: &str) -> u16 {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    serve(
        Box::new(move |path| {
            let rel = path.trim_start_matches('/');
            if rel.split('/').any(|c| c == "..") {
                return None;
            }
            std::fs::read(base.join(rel)).ok()
        }),
        Some(format!("Basic {basic}")),
    )
}

/// The annotations of an ORAS-style file layer named `name`.
pub fn oci_title(name: &str) -> std::collections::BTreeMap<String, String> {
    let mut a = std::collections::BTreeMap::new();
    a.insert("org.opencontainers.image.title".to_owned(), name.to_owned());
    a
}

/// Pushes an OCI artifact of `layers` (empty `{}` config) to `artifact` on a plain-HTTP
/// registry, anonymously; panics when the push fails.
pub fn push_oci_artifact(artifact: &str, layers: &[oci_client::client::ImageLayer]) {
    use oci_client::client::{ClientConfig, ClientProtocol, Config};
    use oci_client::manifest::OciImageManifest;
    use oci_client::secrets::RegistryAuth;

    let config = Config::new(
        b"{}".to_vec(),
        "application/vnd.unknown.config.v1+json".to_owned(),
        None,
    );
    let manifest = OciImageManifest::build(layers, &config, None);
    taskrun::registry::digest::install_crypto_provider();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async {
            let client = oci_client::Client::try_from(ClientConfig {
                protocol: ClientProtocol::Http,
                ..ClientConfig::default()
            })
            .unwrap();
            client
                .push(
                    &artifact.parse().unwrap(),
                    layers,
                    config,
                    &RegistryAuth::Anonymous,
                    Some(manifest),
                )
                .await
        })
        .unwrap_or_else(|e| panic!("push the artifact {artifact}: {e}"));
}
