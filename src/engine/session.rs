//! A BuildKit session over the engine's `/session` endpoint, serving build secrets.
//!
//! What the docker CLI does for `docker build --secret` (docker/cli
//! `cli/command/image/build_buildkit.go`, moby/buildkit `session/session.go`, `session/grpc.go`):
//! the client opens `POST /session` with `Connection: Upgrade`, `Upgrade: h2c` and the headers
//! `X-Docker-Expose-Session-Uuid`, `-Name`, `-Sharedkey` and one
//! `X-Docker-Expose-Session-Grpc-Method` per method it serves. After `101 Switching Protocols`
//! the connection carries HTTP/2, and the roles turn around: the engine is the gRPC *client*
//! and calls the methods the client announced; the client is the HTTP/2 server. The build
//! request then names the session in its query (`session=<uuid>`), and BuildKit asks the
//! session for each `RUN --mount=type=secret` it meets.
//!
//! [`Session::open`] does exactly that over a connection of its own to the engine: a unix
//! socket (`unix://…`) or plain TCP (`tcp://`, `http://`). Hijacking a TLS connection is not
//! done: with `DOCKER_TLS_VERIFY`, `https://` or `ssh://` the session is refused with a message
//! saying so. The HTTP/2 side is the `h2` crate's server; each call is answered by
//! [`super::grpc::answer`] (health check, `GetSecret`, Unimplemented for the rest). The
//! session lives until [`Session::close`] (or drop) ends the task serving it, which closes the
//! connection; the engine then forgets the session.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::grpc;

/// Time allowed to connect and for the engine to accept the session (`101 Switching
/// Protocols`).
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response head accepted from the engine.
const MAX_HEAD: usize = 64 << 10;
/// The largest request body a session call may send (a `GetSecretRequest` is tiny).
const MAX_REQUEST: usize = 1 << 20;

/// Why a session could not be opened. The text never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The engine's endpoint is not one a session can be opened on (TLS, ssh, npipe, …).
    #[error(
        "BuildKit secrets need a session on the engine, which taskrun opens over a unix \
         socket or plain TCP only; {reason}"
    )]
    Unsupported {
        /// Why this endpoint cannot carry a session.
        reason: String,
    },
    /// Unix sockets do not exist on this platform.
    #[error("unix sockets are not available here")]
    NoUnixSockets,
    /// The connection to the engine could not be made.
    #[error("cannot connect to the engine at {endpoint} for the BuildKit session: {message}")]
    Connect {
        /// The endpoint as `DOCKER_HOST` names it.
        endpoint: String,
        /// The I/O error.
        message: String,
    },
    /// Reading or writing the connection failed during the upgrade.
    #[error("the BuildKit session connection failed: {0}")]
    Io(String),
    /// The engine answered with something other than `101 Switching Protocols`.
    #[error("the engine refused the BuildKit session ({status}){}", detail(.message))]
    Refused {
        /// The response's status line (`HTTP/1.1 400 Bad Request`).
        status: String,
        /// The engine's message (empty when it gave none).
        message: String,
    },
    /// The engine closed the connection before answering.
    #[error("the engine closed the BuildKit session connection")]
    Closed,
    /// The engine's response head exceeded the limit.
    #[error("the engine's answer to the BuildKit session is too long")]
    HeadTooLong,
    /// The engine did not accept the session in time.
    #[error("the engine did not accept the BuildKit session within {seconds}s")]
    Timeout {
        /// The time allowed, in seconds.
        seconds: u64,
    },
}

/// `: message`, or nothing for an empty message.
fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// An open session; the engine may call it until it is closed.
#[derive(Debug)]
pub struct Session {
    id: String,
    task: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Opens a session on the engine at `endpoint` (as `DOCKER_HOST` names it) serving
    /// `secrets` (id → value). The error never holds a value.
    pub async fn open(
        endpoint: &str,
        secrets: BTreeMap<String, Vec<u8>>,
    ) -> Result<Self, SessionError> {
        let id = session_id();
        let opened = async { upgrade(connect(endpoint).await?, &id).await };
        let (stream, rest) = tokio::time::timeout(UPGRADE_TIMEOUT, opened)
            .await
            .map_err(|_| SessionError::Timeout {
                seconds: UPGRADE_TIMEOUT.as_secs(),
            })??;
        let io = Rewind {
            prefix: rest,
            inner: stream,
        };
        let task = tokio::spawn(serve(io, Arc::new(secrets)));
        Ok(Self { id, task })
    }

    /// The session's id, for the build's `session` query parameter.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Ends the session: stops serving and closes the connection.
    pub fn close(self) {
        // Drop aborts the task.
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fresh session id: 25 lowercase hex characters (BuildKit's own ids are 25 characters).
fn session_id() -> String {
    use sha2::Digest as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = format!(
        "{}-{}-{:?}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)
    );
    let digest = sha2::Sha256::digest(seed.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(25)
        .collect()
}

/// A byte stream to the engine.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Where a session connection goes, from a `DOCKER_HOST`-style endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A unix socket path.
    Unix(String),
    /// `host:port` over plain TCP.
    Tcp(String),
}

/// The session target of `endpoint`, or why no session can be opened there. `tls` is whether
/// `DOCKER_TLS_VERIFY` asks for TLS.
pub fn target(endpoint: &str, tls: bool) -> Result<Target, SessionError> {
    let refuse = |why: &str| SessionError::Unsupported {
        reason: why.to_owned(),
    };
    if let Some(path) = endpoint.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(refuse("the unix endpoint names no socket"));
        }
        return Ok(Target::Unix(path.to_owned()));
    }
    let plain = endpoint
        .strip_prefix("tcp://")
        .or_else(|| endpoint.strip_prefix("http://"));
    match plain {
        Some(_) if tls => Err(refuse(&format!(
            "the engine {endpoint} is reached with TLS (DOCKER_TLS_VERIFY)"
        ))),
        Some(rest) => {
            let host = rest.split('/').next().unwrap_or_default();
            if host.is_empty() {
                return Err(refuse("the tcp endpoint names no host"));
            }
            let host = if host.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
                host.to_owned()
            } else {
                format!("{host}:2375")
            };
            Ok(Target::Tcp(host))
        }
        None => Err(refuse(&format!("the engine endpoint is {endpoint}"))),
    }
}

async fn connect(endpoint: &str) -> Result<Box<dyn Io>, SessionError> {
    let tls = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty());
    let failed = |e: std::io::Error| SessionError::Connect {
        endpoint: endpoint.to_owned(),
        message: e.to_string(),
    };
    Ok(match target(endpoint, tls)? {
        #[cfg(unix)]
        Target::Unix(path) => Box::new(
            tokio::net::UnixStream::connect(path)
                .await
                .map_err(failed)?,
        ),
        #[cfg(not(unix))]
        Target::Unix(_) => return Err(SessionError::NoUnixSockets),
        Target::Tcp(addr) => Box::new(tokio::net::TcpStream::connect(addr).await.map_err(failed)?),
    })
}

/// The `POST /session` request that asks the engine to upgrade the connection.
pub fn upgrade_request(id: &str) -> String {
    let mut out = format!(
        "POST /session HTTP/1.1\r\nHost: docker\r\nUser-Agent: taskrun\r\n\
         Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\
         X-Docker-Expose-Session-Uuid: {id}\r\n\
         X-Docker-Expose-Session-Name: taskrun\r\n\
         X-Docker-Expose-Session-Sharedkey: taskrun-{id}\r\n"
    );
    for method in grpc::METHODS {
        out.push_str(&format!(
            "X-Docker-Expose-Session-Grpc-Method: {method}\r\n"
        ));
    }
    out.push_str("\r\n");
    out
}

/// The outcome of the engine's response head: the bytes after it, or why it is not a `101`.
pub fn read_upgrade_response(head: &[u8]) -> Option<Result<usize, SessionError>> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = String::from_utf8_lossy(&head[..end]);
    let status_line = text.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if code == "101" {
        return Some(Ok(end));
    }
    let body = String::from_utf8_lossy(&head[end..]);
    let body = body.trim();
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    Some(Err(SessionError::Refused {
        status: status_line.trim().to_owned(),
        message,
    }))
}

async fn upgrade(mut stream: Box<dyn Io>, id: &str) -> Result<(Box<dyn Io>, Bytes), SessionError> {
    let io_error = |e: std::io::Error| SessionError::Io(e.to_string());
    stream
        .write_all(upgrade_request(id).as_bytes())
        .await
        .map_err(io_error)?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(io_error)?;
        if n == 0 {
            // A refusal may end the connection right after its body.
            return match read_upgrade_response(&head) {
                Some(Err(message)) => Err(message),
                _ => Err(SessionError::Closed),
            };
        }
        head.extend_from_slice(&chunk[..n]);
        match read_upgrade_response(&head) {
            Some(Ok(end)) => return Ok((stream, Bytes::copy_from_slice(&head[end..]))),
            Some(Err(message)) => {
                // Let the error body arrive (it is small and the engine closes after it).
                let _ = tokio::time::timeout(Duration::from_millis(200), async {
                    while let Ok(n) = stream.read(&mut chunk).await {
                        if n == 0 || head.len() > MAX_HEAD {
                            break;
                        }
                        head.extend_from_slice(&chunk[..n]);
                    }
                })
                .await;
                return Err(read_upgrade_response(&head)
                    .and_then(Result::err)
                    .unwrap_or(message));
            }
            None if head.len() > MAX_HEAD => {
                return Err(SessionError::HeadTooLong);
            }
            None => {}
        }
    }
}

/// Serves the engine's calls until the connection ends (or the task is aborted).
async fn serve(io: Rewind, secrets: Arc<BTreeMap<String, Vec<u8>>>) {
    let Ok(mut conn) = h2::server::handshake(io).await else {
        return;
    };
    while let Some(accepted) = conn.accept().await {
        let Ok((request, respond)) = accepted else {
            break;
        };
        let secrets = Arc::clone(&secrets);
        tokio::spawn(async move {
            let _ = call(request, respond, &secrets).await;
        });
    }
}

/// Answers one call.
async fn call(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    secrets: &BTreeMap<String, Vec<u8>>,
) -> Result<(), h2::Error> {
    let path = request.uri().path().to_owned();
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if bytes.len() + chunk.len() > MAX_REQUEST {
            respond.send_reset(h2::Reason::REFUSED_STREAM);
            return Ok(());
        }
        bytes.extend_from_slice(&chunk);
    }
    let reply = grpc::answer(&path, &bytes, secrets);
    let mut head = http::Response::builder()
        .status(200)
        .header("content-type", "application/grpc");
    match reply.body {
        Some(message) => {
            let response = head.body(()).unwrap_or_default();
            let mut stream = respond.send_response(response, false)?;
            stream.send_data(Bytes::from(message), false)?;
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from(reply.status));
            stream.send_trailers(trailers)?;
        }
        None => {
            // A "trailers-only" response: the status in the one header block.
            head = head.header("grpc-status", reply.status);
            if let Ok(message) = http::HeaderValue::from_str(&percent(&reply.message)) {
                head = head.header("grpc-message", message);
            }
            let response = head.body(()).unwrap_or_default();
            respond.send_response(response, true)?;
        }
    }
    Ok(())
}

/// gRPC's percent-encoding of `grpc-message` (bytes outside printable ASCII, and `%`).
fn percent(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The upgraded connection, with the bytes that arrived after the response head read first.
struct Rewind {
    prefix: Bytes,
    inner: Box<dyn Io>,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let taken = self.prefix.split_to(n);
            buf.put_slice(&taken);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_map_to_session_targets() {
        assert_eq!(
            target("unix:///var/run/docker.sock", false),
            Ok(Target::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            target("tcp://10.0.0.1:2376", false),
            Ok(Target::Tcp("10.0.0.1:2376".into()))
        );
        assert_eq!(
            target("tcp://engine", false),
            Ok(Target::Tcp("engine:2375".into()))
        );
        assert_eq!(
            target("http://[::1]:80/", false),
            Ok(Target::Tcp("[::1]:80".into()))
        );
        for (endpoint, tls) in [
            ("tcp://10.0.0.1:2376", true),
            ("https://engine:2376", false),
            ("ssh://me@engine", false),
            ("npipe:////./pipe/docker_engine", false),
            ("unix://", false),
        ] {
            let e = target(endpoint, tls).unwrap_err().to_string();
            assert!(e.contains("unix socket or plain TCP only"), "{e}");
        }
    }

    #[test]
    fn the_upgrade_request_announces_the_methods() {
        let r = upgrade_request("abc");
        assert!(r.starts_with("POST /session HTTP/1.1\r\n"));
        for h in [
            "Connection: Upgrade\r\n",
            "Upgrade: h2c\r\n",
            "X-Docker-Expose-Session-Uuid: abc\r\n",
            "X-Docker-Expose-Session-Name: taskrun\r\n",
            "X-Docker-Expose-Session-Grpc-Method: /grpc.health.v1.Health/Check\r\n",
            "X-Docker-Expose-Session-Grpc-Method: /moby.buildkit.secrets.v1.Secrets/GetSecret\r\n",
        ] {
            assert!(r.contains(h), "{h}");
        }
        assert!(r.ends_with("\r\n\r\n"));
        assert_eq!(session_id().len(), 25);
        assert_ne!(session_id(), session_id());
    }

    #[test]
    fn upgrade_responses_are_read() {
        assert_eq!(read_upgrade_response(b"HTTP/1.1 101 Swi"), None);
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nPRI";
        assert_eq!(read_upgrade_response(ok), Some(Ok(ok.len() - 3)));
        let refused = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{\"message\":\"session not supported\"}\n";
        let e = read_upgrade_response(refused).unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the engine refused the BuildKit session (HTTP/1.1 400 Bad Request): session not supported"
        );
    }

    #[test]
    fn session_errors_keep_their_wording() {
        let cases = [
            (
                target("ssh://me@engine", false).unwrap_err(),
                "BuildKit secrets need a session on the engine, which taskrun opens over a unix \
                 socket or plain TCP only; the engine endpoint is ssh://me@engine",
            ),
            (
                SessionError::Refused {
                    status: "HTTP/1.1 500 Internal Server Error".into(),
                    message: String::new(),
                },
                "the engine refused the BuildKit session (HTTP/1.1 500 Internal Server Error)",
            ),
            (
                SessionError::Timeout { seconds: 30 },
                "the engine did not accept the BuildKit session within 30s",
            ),
            (
                SessionError::Io("broken pipe".into()),
                "the BuildKit session connection failed: broken pipe",
            ),
            (
                SessionError::Closed,
                "the engine closed the BuildKit session connection",
            ),
            (
                SessionError::HeadTooLong,
                "the engine's answer to the BuildKit session is too long",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn grpc_messages_are_percent_encoded() {
        assert_eq!(percent("a b%c\u{e9}"), "a b%25c%C3%A9");
    }

    /// Calls `path` on a session served over an in-memory connection, as the engine's gRPC
    /// client would; returns the response status header, the body and the `grpc-status`.
    async fn call_session(
        secrets: BTreeMap<String, Vec<u8>>,
        path: &str,
        message: &[u8],
    ) -> (Vec<u8>, String) {
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(serve(
            Rewind {
                prefix: Bytes::new(),
                inner: Box::new(server_io),
            },
            Arc::new(secrets),
        ));
        let (client, conn) = h2::client::handshake(client_io).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut client = client.ready().await.unwrap();
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://session{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
        let (response, mut send) = client.send_request(request, false).unwrap();
        send.send_data(Bytes::from(grpc::frame(message)), true)
            .unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        let header_status = response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_owned());
        let mut body = response.into_body();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            data.extend_from_slice(&chunk);
        }
        let status = match header_status {
            Some(s) => s,
            None => body.trailers().await.unwrap().unwrap()["grpc-status"]
                .to_str()
                .unwrap()
                .to_owned(),
        };
        server.abort();
        (data, status)
    }

    #[tokio::test]
    async fn the_session_answers_get_secret_over_http2() {
        // GetSecretRequest{ID: "tok"}; a value larger than HTTP/2's initial window.
        let value = vec![b'v'; 200 * 1024];
        let secrets = BTreeMap::from([("tok".to_owned(), value.clone())]);
        let (data, status) = call_session(secrets.clone(), grpc::GET_SECRET, b"\x0a\x03tok").await;
        assert_eq!(status, "0");
        assert_eq!(data, grpc::frame(&grpc::secret_response(&value)));
        let (data, status) = call_session(secrets.clone(), grpc::GET_SECRET, b"\x0a\x03nop").await;
        assert_eq!((data.as_slice(), status.as_str()), (&[][..], "5"));
        let (_, status) =
            call_session(secrets.clone(), "/moby.sshforward.v1.SSH/CheckAgent", b"").await;
        assert_eq!(status, "12");
        let (data, status) = call_session(secrets, grpc::HEALTH_CHECK, b"").await;
        assert_eq!((data, status.as_str()), (grpc::frame(&[8, 1]), "0"));
    }

    /// The engine's side of an upgraded connection: the HTTP/2 client preface was already
    /// written with the `101` response, so the first 24 bytes the h2 client writes are dropped.
    struct AfterPreface<T> {
        inner: T,
        skip: usize,
    }

    impl<T: AsyncRead + Unpin> AsyncRead for AfterPreface<T> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl<T: AsyncWrite + Unpin> AsyncWrite for AfterPreface<T> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            if self.skip > 0 {
                let n = self.skip.min(buf.len());
                self.skip -= n;
                return Poll::Ready(Ok(n));
            }
            Pin::new(&mut self.inner).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    #[tokio::test]
    async fn open_upgrades_a_unix_connection_and_the_engine_calls_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let engine = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.unwrap();
                head.extend_from_slice(&buf[..n]);
            }
            // The 101 and the start of HTTP/2 in one write: the session must keep those bytes.
            conn.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\
                  PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            )
            .await
            .unwrap();
            let io = AfterPreface {
                inner: conn,
                skip: 24,
            };
            let (client, h2conn) = h2::client::handshake(io).await.unwrap();
            tokio::spawn(async move {
                let _ = h2conn.await;
            });
            let mut client = client.ready().await.unwrap();
            let request = http::Request::builder()
                .method("POST")
                .uri(format!("http://session{}", grpc::GET_SECRET))
                .header("content-type", "application/grpc")
                .body(())
                .unwrap();
            let (response, mut send) = client.send_request(request, false).unwrap();
            send.send_data(Bytes::from(grpc::frame(b"\x0a\x01a")), true)
                .unwrap();
            let mut body = response.await.unwrap().into_body();
            let mut data = Vec::new();
            while let Some(chunk) = body.data().await {
                data.extend_from_slice(&chunk.unwrap());
            }
            let trailers = body.trailers().await.unwrap().unwrap();
            (String::from_utf8(head).unwrap(), data, trailers)
        });
        let endpoint = format!("unix://{}", socket.display());
        let secrets = BTreeMap::from([("a".to_owned(), b"xyz".to_vec())]);
        let session = Session::open(&endpoint, secrets).await.unwrap();
        let (head, data, trailers) = engine.await.unwrap();
        assert!(
            head.contains(&format!(
                "X-Docker-Expose-Session-Uuid: {}\r\n",
                session.id()
            )),
            "{head}"
        );
        assert_eq!(data, grpc::frame(&grpc::secret_response(b"xyz")));
        assert_eq!(trailers["grpc-status"], "0");
        session.close();
    }

    #[tokio::test]
    async fn a_refused_upgrade_is_the_engines_message() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n\
                      {\"message\":\"page not found\"}\n",
                )
                .await;
        });
        let e = Session::open(&format!("unix://{}", socket.display()), BTreeMap::new())
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "the engine refused the BuildKit session (HTTP/1.1 404 Not Found): page not found"
        );
        let e = Session::open("unix:///nonexistent/taskrun.sock", BTreeMap::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot connect to the engine at unix:///nonexistent/taskrun.sock"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn rewind_reads_the_prefix_first() {
        let (client, mut server) = tokio::io::duplex(64);
        let mut io = Rewind {
            prefix: Bytes::from_static(b"ab"),
            inner: Box::new(client),
        };
        server.write_all(b"cd").await.unwrap();
        drop(server);
        let mut out = Vec::new();
        io.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"abcd");
    }
}
