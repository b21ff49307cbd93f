//! The run's engine socket: a Docker API proxy that gives `cmd` steps acb's container names
//! without letting two runs collide.
//!
//! acb names each step's container by its step id (`--name <id>`, or the `--name` the `cmd`
//! line itself gives), and real task files rely on it: a detached step `test` is later stopped
//! with `docker stop test`, others `docker exec -i <name> …` or `docker logs <id>`. taskrun's
//! containers carry unique names (`taskrun-<run key>-<id>`) so that concurrent runs on one engine
//! never collide. The proxy reconciles the two: every step container mounts, at
//! `/var/run/docker.sock`, a socket of this proxy instead of the engine's own, and the docker CLI
//! of the agent's shell (`engine::shell`) uses it too. For each request the proxy:
//!
//! * rewrites a container name in the path (`/containers/<name>/…`) to the run's real name when
//!   `<name>` is one the run knows (a step id, a `--name` of a step, a name a step created);
//! * on `POST /containers/create?name=<name>`, gives the new container a unique name of the run
//!   and remembers `<name>` for the rest of the run; every container created through the proxy
//!   gets the run's labels and the label `io.taskrun.via=<step>`, so that a step's timeout or
//!   Ctrl-C removes what the step started and the end-of-run cleanup removes everything;
//! * maps names inside a create body (`container:<name>` network/pid/ipc modes, `--link`,
//!   `--volumes-from`) and a network connect body (`Container`).
//!
//! Everything else passes through byte for byte: the proxy reads one request head, rewrites it,
//! asks for `Connection: close` (so each connection carries one request and the rest is a plain
//! byte copy, hijacked `attach`/`exec` streams included), and copies both ways. Responses are
//! never rewritten, so `docker ps` shows the real names.
//!
//! Only a local engine (a `unix://` endpoint) can bind-mount a host socket into containers; on a
//! remote engine steps mount the engine's own socket, and names are not mapped
//! (docs/compat.md).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

/// The label naming the step through whose socket a container was created.
pub const VIA_LABEL: &str = "io.taskrun.via";

/// Longest request head the proxy reads (Docker's own limit is 1 MiB; real heads are < 4 KiB).
const MAX_HEAD: usize = 256 * 1024;
/// Longest JSON body the proxy rewrites (create bodies are a few KiB); larger ones pass through.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The names a run knows: the name a step uses → the container's real name.
#[derive(Debug, Default)]
struct Names {
    map: HashMap<String, String>,
    /// `taskrun-<run key>-`: names with this prefix are the run's own and never rewritten.
    prefix: String,
    counter: u64,
}

impl Names {
    fn actual(&self, name: &str) -> Option<&str> {
        self.map
            .get(name.strip_prefix('/').unwrap_or(name))
            .map(String::as_str)
    }

    /// A fresh real name for a container a step creates as `name`.
    fn fresh(&mut self, name: &str) -> String {
        let name = name.strip_prefix('/').unwrap_or(name);
        self.counter += 1;
        let actual = format!(
            "{}c{}-{}",
            self.prefix,
            self.counter,
            super::names::sanitize(name)
        );
        self.map.insert(name.to_owned(), actual.clone());
        actual
    }
}

/// A running proxy for one run (see the module docs). Sockets live in a private directory that
/// is removed on [`NameProxy::shutdown`] (and on drop).
#[derive(Debug)]
pub struct NameProxy {
    dir: PathBuf,
    upstream: PathBuf,
    names: Arc<Mutex<Names>>,
    labels: BTreeMap<String, String>,
    sockets: Mutex<HashMap<String, PathBuf>>,
    stop: CancellationToken,
}

impl NameProxy {
    /// A proxy in front of the engine socket `upstream`, with its sockets in `dir` (created,
    /// mode 0700). `prefix` is the run's name prefix (`taskrun-<key>-`); `labels` go on every
    /// container created through it.
    pub fn new(
        upstream: &Path,
        dir: PathBuf,
        prefix: String,
        labels: BTreeMap<String, String>,
    ) -> io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        Ok(Self {
            dir,
            upstream: upstream.to_owned(),
            names: Arc::new(Mutex::new(Names {
                prefix,
                ..Names::default()
            })),
            labels,
            sockets: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
        })
    }

    /// Records that a step uses `name` for the container really named `actual` (a step id, a
    /// `--name` in a `cmd` line, a retry's new container).
    pub fn alias(&self, name: &str, actual: &str) {
        if let Ok(mut n) = self.names.lock() {
            n.map.insert(name.to_owned(), actual.to_owned());
        }
    }

    /// The socket of step `scope` (made on first use): containers created through it carry
    /// `io.taskrun.via=<scope>`. Must be called inside a tokio runtime.
    pub fn socket(&self, scope: &str) -> io::Result<PathBuf> {
        let mut sockets = self
            .sockets
            .lock()
            .map_err(|_| io::Error::other("proxy state poisoned"))?;
        if let Some(p) = sockets.get(scope) {
            return Ok(p.clone());
        }
        // Socket paths are limited to 108 bytes: number them instead of naming them.
        let path = self.dir.join(format!("s{}.sock", sockets.len()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        {
            use std::os::unix::fs::PermissionsExt;
            // Step processes may run as any user; the directory (0700, the engine's host) keeps
            // other users of this host out.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
        }
        let mut labels = self.labels.clone();
        labels.insert(VIA_LABEL.to_owned(), scope.to_owned());
        let conn = Arc::new(Conn {
            upstream: self.upstream.clone(),
            names: Arc::clone(&self.names),
            labels,
        });
        let stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((client, _)) => {
                            let conn = Arc::clone(&conn);
                            tokio::spawn(async move {
                                let _ = conn.serve(client).await;
                            });
                        }
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                    },
                }
            }
        });
        sockets.insert(scope.to_owned(), path.clone());
        Ok(path)
    }

    /// Stops accepting and removes the sockets' directory.
    pub fn shutdown(&self) {
        self.stop.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for NameProxy {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What one socket's connections share.
struct Conn {
    upstream: PathBuf,
    names: Arc<Mutex<Names>>,
    labels: BTreeMap<String, String>,
}

impl Conn {
    /// Serves one client connection: one rewritten request, then a byte copy both ways.
    async fn serve(&self, mut client: UnixStream) -> io::Result<()> {
        let mut buf = Vec::with_capacity(4096);
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            if buf.len() > MAX_HEAD {
                return Err(io::Error::other("request head too long"));
            }
            let mut chunk = [0u8; 8192];
            let n = client.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let mut rest = buf.split_off(head_end);
        let head = String::from_utf8_lossy(&buf).into_owned();
        let mut req = Head::parse(&head).ok_or_else(|| io::Error::other("bad request head"))?;
        let names = Arc::clone(&self.names);
        let body_kind = {
            let mut n = names
                .lock()
                .map_err(|_| io::Error::other("proxy state poisoned"))?;
            rewrite_target(&mut req, &mut n)
        };
        if body_kind != BodyKind::None
            && let Some(len) = req.content_length()
            && len <= MAX_BODY
        {
            while rest.len() < len {
                let mut chunk = vec![0u8; (len - rest.len()).min(65536)];
                let n = client.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                rest.extend_from_slice(&chunk[..n]);
            }
            if rest.len() == len
                && let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&rest)
            {
                {
                    let n = names
                        .lock()
                        .map_err(|_| io::Error::other("proxy state poisoned"))?;
                    rewrite_body(&mut body, body_kind, &n, &self.labels);
                }
                if let Ok(bytes) = serde_json::to_vec(&body) {
                    rest = bytes;
                    req.set_header("Content-Length", &rest.len().to_string());
                }
            }
        }
        if !req.is_upgrade() {
            req.set_header("Connection", "close");
        }
        let mut upstream = UnixStream::connect(&self.upstream).await?;
        upstream.write_all(req.render().as_bytes()).await?;
        upstream.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        Ok(())
    }
}

/// Which JSON body a request carries that the proxy rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    None,
    Create,
    NetworkConnect,
}

/// An HTTP/1.1 request head.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.split("\r\n");
        let mut first = lines.next()?.splitn(3, ' ');
        let method = first.next()?.to_owned();
        let target = first.next()?.to_owned();
        let version = first.next()?.to_owned();
        let headers = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_owned(), v.trim().to_owned()))
            })
            .collect();
        Some(Self {
            method,
            target,
            version,
            headers,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    fn content_length(&self) -> Option<usize> {
        if self
            .header("Transfer-Encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
        {
            return None;
        }
        self.header("Content-Length")?.parse().ok()
    }

    fn is_upgrade(&self) -> bool {
        self.header("Upgrade").is_some()
            || self
                .header("Connection")
                .is_some_and(|c| c.to_ascii_lowercase().contains("upgrade"))
    }

    fn render(&self) -> String {
        let mut out = format!("{} {} {}\r\n", self.method, self.target, self.version);
        for (k, v) in &self.headers {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out
    }
}

/// Rewrites the container name in the request target; says which body needs rewriting.
fn rewrite_target(req: &mut Head, names: &mut Names) -> BodyKind {
    let (path, query) = match req.target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (req.target.clone(), None),
    };
    let mut segs: Vec<String> = path.split('/').map(str::to_owned).collect();
    // ["", "v1.41", "containers", name, …] or ["", "containers", name, …]
    let base = usize::from(segs.get(1).is_some_and(|s| is_version(s))) + 1;
    let resource = segs.get(base).cloned().unwrap_or_default();
    let post = req.method.eq_ignore_ascii_case("POST");
    match (resource.as_str(), segs.get(base + 1).map(String::as_str)) {
        ("containers", Some("create")) if segs.len() == base + 2 => {
            let Some(query) = query else {
                return BodyKind::Create;
            };
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some(("name", v)) => {
                        let name = percent_decode(v);
                        if name.is_empty() || name.starts_with(&names.prefix) {
                            kv.to_owned()
                        } else {
                            format!("name={}", names.fresh(&name))
                        }
                    }
                    _ => kv.to_owned(),
                })
                .collect();
            req.target = format!("{path}?{}", params.join("&"));
            BodyKind::Create
        }
        ("containers", Some(name)) if !matches!(name, "json" | "prune") => {
            if let Some(actual) = names.actual(&percent_decode(name)) {
                segs[base + 1] = actual.to_owned();
                let path = segs.join("/");
                req.target = match query {
                    Some(q) => format!("{path}?{q}"),
                    None => path,
                };
            }
            BodyKind::None
        }
        ("networks", Some(_))
            if post
                && matches!(
                    segs.get(base + 2).map(String::as_str),
                    Some("connect" | "disconnect")
                ) =>
        {
            BodyKind::NetworkConnect
        }
        _ => BodyKind::None,
    }
}

/// Maps the names a create or network-connect body refers to, and labels created containers.
fn rewrite_body(
    body: &mut serde_json::Value,
    kind: BodyKind,
    names: &Names,
    labels: &BTreeMap<String, String>,
) {
    use serde_json::Value;
    let Value::Object(obj) = body else {
        return;
    };
    let map_ref = |s: &str| -> Option<String> {
        let (name, rest) = match s.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        let actual = names.actual(name)?;
        Some(match rest {
            Some(r) => format!("{actual}:{r}"),
            None => actual.to_owned(),
        })
    };
    match kind {
        BodyKind::NetworkConnect => {
            if let Some(Value::String(c)) = obj.get_mut("Container")
                && let Some(actual) = names.actual(c)
            {
                *c = actual.to_owned();
            }
        }
        BodyKind::Create => {
            let entry = obj
                .entry("Labels")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if entry.is_null() {
                *entry = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(l) = entry {
                for (k, v) in labels {
                    l.insert(k.clone(), Value::String(v.clone()));
                }
            }
            if let Some(Value::Object(host)) = obj.get_mut("HostConfig") {
                for mode in ["NetworkMode", "PidMode", "IpcMode"] {
                    if let Some(Value::String(m)) = host.get_mut(mode)
                        && let Some(name) = m.strip_prefix("container:")
                        && let Some(actual) = names.actual(name)
                    {
                        *m = format!("container:{actual}");
                    }
                }
                for list in ["Links", "VolumesFrom"] {
                    if let Some(Value::Array(items)) = host.get_mut(list) {
                        for item in items {
                            if let Value::String(s) = item
                                && let Some(mapped) = map_ref(s)
                            {
                                *s = mapped;
                            }
                        }
                    }
                }
            }
        }
        BodyKind::None => {}
    }
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `%2F` → `/`, `+` kept (Docker names never hold one).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let mut n = Names {
            prefix: "taskrun-k-".into(),
            ..Names::default()
        };
        n.map.insert("test".into(), "taskrun-k-test".into());
        n
    }

    fn head(target: &str) -> Head {
        Head::parse(&format!("POST {target} HTTP/1.1\r\nHost: docker\r\n\r\n")).unwrap()
    }

    #[test]
    fn paths_naming_a_known_container_are_rewritten() {
        let mut n = names();
        for (from, to) in [
            (
                "/v1.41/containers/test/stop",
                "/v1.41/containers/taskrun-k-test/stop",
            ),
            (
                "/containers/test/json?size=1",
                "/containers/taskrun-k-test/json?size=1",
            ),
            (
                "/v1.41/containers/%2Ftest/logs",
                "/v1.41/containers/taskrun-k-test/logs",
            ),
            (
                "/v1.41/containers/other/stop",
                "/v1.41/containers/other/stop",
            ),
            ("/v1.41/containers/json", "/v1.41/containers/json"),
            ("/v1.41/images/test/json", "/v1.41/images/test/json"),
        ] {
            let mut h = head(from);
            assert_eq!(rewrite_target(&mut h, &mut n), BodyKind::None);
            assert_eq!(h.target, to);
        }
    }

    #[test]
    fn created_names_are_unique_and_remembered() {
        let mut n = names();
        let mut h = head("/v1.41/containers/create?name=db&platform=");
        assert_eq!(rewrite_target(&mut h, &mut n), BodyKind::Create);
        assert_eq!(
            h.target,
            "/v1.41/containers/create?name=taskrun-k-c1-db&platform="
        );
        assert_eq!(n.actual("db"), Some("taskrun-k-c1-db"));
        let mut own = head("/v1.41/containers/create?name=taskrun-k-step");
        rewrite_target(&mut own, &mut n);
        assert_eq!(own.target, "/v1.41/containers/create?name=taskrun-k-step");
        let mut test = head("/containers/create?name=test");
        rewrite_target(&mut test, &mut n);
        assert_eq!(n.actual("test"), Some("taskrun-k-c2-test"));
    }

    #[test]
    fn create_bodies_get_labels_and_mapped_references() {
        let n = names();
        let mut body = serde_json::json!({
            "Image": "x",
            "Labels": null,
            "HostConfig": {"NetworkMode": "container:test", "Links": ["test:t"], "VolumesFrom": ["test:ro", "other"]}
        });
        let labels = BTreeMap::from([("io.taskrun.run".to_owned(), "k".to_owned())]);
        rewrite_body(&mut body, BodyKind::Create, &n, &labels);
        assert_eq!(body["Labels"]["io.taskrun.run"], "k");
        assert_eq!(
            body["HostConfig"]["NetworkMode"],
            "container:taskrun-k-test"
        );
        assert_eq!(body["HostConfig"]["Links"][0], "taskrun-k-test:t");
        assert_eq!(body["HostConfig"]["VolumesFrom"][0], "taskrun-k-test:ro");
        assert_eq!(body["HostConfig"]["VolumesFrom"][1], "other");
        let mut connect = serde_json::json!({"Container": "test"});
        rewrite_body(&mut connect, BodyKind::NetworkConnect, &n, &labels);
        assert_eq!(connect["Container"], "taskrun-k-test");
    }

    #[test]
    fn heads_round_trip_and_connection_close_is_added() {
        let mut h = Head::parse(
            "GET /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client\r\n\r\n",
        )
        .unwrap();
        assert!(!h.is_upgrade());
        h.set_header("Connection", "close");
        assert_eq!(
            h.render(),
            "GET /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client\r\nConnection: close\r\n\r\n"
        );
        let up = Head::parse(
            "POST /exec/1/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        )
        .unwrap();
        assert!(up.is_upgrade());
        assert_eq!(Head::parse("garbage"), None);
    }
}
