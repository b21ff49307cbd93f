//! BuildKit builds through the engine API (`POST /build?version=2`).
//!
//! dockerd (20.10 and later) has BuildKit built in. With `version=2` it hands the uploaded tar
//! body to BuildKit as the build context (moby `builder/builder-next`, `reqBodyHandler`), so no
//! `/session` is needed for the context. A build with `--secret` gets a session of its own
//! ([`super::session`], opened before the request, named by `session=<id>` in the query and
//! closed when the build ends) that serves the secrets to `RUN --mount=type=secret`; it offers
//! nothing else (no SSH, no registry auth: BuildKit then pulls anonymously, so base images that
//! need credentials are pulled before the build by the caller, `exec::step::build`, as for
//! builds without a session, where BuildKit would fail with `no active sessions`).
//!
//! The Dockerfile is sent as written: what the engine's built-in Dockerfile frontend cannot
//! read (heredocs on dockerd 20.10) fails with the engine's own message.
//!
//! The engine answers with JSON messages. Progress arrives as `{"id":"moby.buildkit.trace",
//! "aux":"<base64>"}`, a protobuf `StatusResponse` (moby/buildkit `api/services/control`):
//! vertexes (the build graph's steps, `[2/3] RUN …`), statuses and logs. [`Progress`] decodes the
//! fields taskrun shows with a small hand-written protobuf reader and renders them like
//! `docker build --progress=plain`: `#N name`, `#N <log line>`, `#N CACHED`, `#N DONE 0.3s`,
//! `#N ERROR: …`. The image id arrives as `{"id":"moby.image.id","aux":{"ID":"sha256:…"}}`, a
//! failure as `{"error":"…"}`.
//!
//! bollard 0.21 without its `buildkit` feature cannot carry this exchange (its `BuildInfo` cannot
//! decode a string `aux`, and it serialises one `t`), and the feature's own session only offers
//! auth and file export, while pulling in a gRPC stack. So `build` sends the request through
//! bollard's transport (any `DOCKER_HOST` works) with a one-off request modifier and reads the
//! raw response body itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bollard::Docker;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::docker::{
    capture_errors, error_message, is_connection_error, scrub, take_error, unreachable_error,
};
use super::session::Session;
use super::{BuildRequest, EngineError, EngineResult, LogSink, LogStream, RegistryAuth};

/// The query of a BuildKit `POST /build` for `request`, as ordered `(name, value)` pairs;
/// repeated names (`t`, `extrahosts`) are repeated parameters, as the engine reads them.
/// `session` is the id of the session serving the build's secrets, if any.
pub fn build_query(
    request: &BuildRequest,
    build_id: &str,
    session: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut q: Vec<(&'static str, String)> = vec![
        ("version", "2".to_owned()),
        ("dockerfile", request.dockerfile.clone()),
    ];
    for tag in &request.tags {
        q.push(("t", tag.clone()));
    }
    if !request.build_args.is_empty() {
        q.push(("buildargs", json_map(&request.build_args)));
    }
    if let Some(target) = &request.target {
        q.push(("target", target.clone()));
    }
    if request.no_cache {
        q.push(("nocache", "1".to_owned()));
    }
    if request.pull {
        q.push(("pull", "1".to_owned()));
    }
    if !request.labels.is_empty() {
        q.push(("labels", json_map(&request.labels)));
    }
    if let Some(platform) = &request.platform {
        q.push(("platform", platform.clone()));
    }
    if let Some(network) = &request.network {
        q.push(("networkmode", network.clone()));
    }
    for host in &request.extra_hosts {
        q.push(("extrahosts", host.clone()));
    }
    if !request.cache_from.is_empty() {
        q.push((
            "cachefrom",
            serde_json::Value::from(request.cache_from.clone()).to_string(),
        ));
    }
    q.extend(request.resources.query());
    q.push(("buildid", build_id.to_owned()));
    if let Some(session) = session {
        q.push(("session", session.to_owned()));
    }
    q
}

fn json_map(map: &BTreeMap<String, String>) -> String {
    serde_json::Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
    .to_string()
}

/// `application/x-www-form-urlencoded` form of `pairs` (RFC 3986 unreserved bytes kept).
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    fn enc(out: &mut String, s: &str) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(&mut out, k);
        out.push('=');
        enc(&mut out, v);
    }
    out
}

/// The `X-Registry-Config` header: base64url of `{server: {username, password, serveraddress}}`
/// (what the docker CLI sends), or `None` without credentials.
pub fn registry_config(auths: &[RegistryAuth]) -> Option<String> {
    if auths.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = auths
        .iter()
        .map(|a| {
            (
                a.server.clone(),
                serde_json::json!({
                    "username": a.username,
                    "password": a.password,
                    "serveraddress": a.server,
                }),
            )
        })
        .collect();
    Some(
        base64::engine::general_purpose::URL_SAFE
            .encode(serde_json::Value::Object(map).to_string()),
    )
}

// ---------------------------------------------------------------------------------------------
// The engine call

/// The image name of the placeholder request the modifier turns into `POST /build`; it names
/// no image, so a request that somehow escaped the rewrite fails with "no such image".
const PLACEHOLDER: &str = "taskrun-buildkit-request-placeholder";

/// Builds `request` with the engine's BuildKit; returns the image id. Output goes to `sink`.
pub(super) async fn build(
    docker: &Docker,
    endpoint: &str,
    request: BuildRequest,
    sink: Arc<dyn LogSink>,
    cancel: CancellationToken,
) -> EngineResult<String> {
    let subject = request
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| request.dockerfile.clone());
    let failed = |message: String| EngineError::Failed {
        operation: "build image",
        subject: subject.clone(),
        message,
    };
    let build_id = format!(
        "taskrun-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    // Secrets are served by a session of our own for the whole build (see `session`).
    let session = if request.secrets.is_empty() {
        None
    } else {
        let secrets = request
            .secrets
            .iter()
            .map(|s| (s.id.clone(), s.value.clone()))
            .collect();
        let opened = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(EngineError::Cancelled),
            opened = Session::open(endpoint, secrets) => opened,
        };
        Some(opened.map_err(|e| failed(e.to_string()))?)
    };
    let query = encode_query(&build_query(
        &request,
        &build_id,
        session.as_ref().map(Session::id),
    ));
    let config = registry_config(&request.auths);
    let scrub_auth = request.auths.clone();
    let (body, body_error) = capture_errors(request.context);
    let body = Mutex::new(Some(bollard::body_try_stream(body)));
    // One client for this one request: the modifier rewrites the placeholder export request
    // into the build request (method, path and query, headers, the context as body).
    let client = docker.clone().with_request_modifier(move |mut req| {
        let path = req.uri().path().to_owned();
        let Some(prefix) = path.strip_suffix("/images/get") else {
            return req;
        };
        let scheme = req.uri().scheme_str().unwrap_or("http").to_owned();
        let authority = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let Ok(uri) = format!("{scheme}://{authority}{prefix}/build?{query}").parse() else {
            return req;
        };
        let Some(taken) = body.lock().ok().and_then(|mut b| b.take()) else {
            return req;
        };
        *req.uri_mut() = uri;
        *req.method_mut() = "POST".parse().unwrap_or_default();
        *req.body_mut() = taken;
        if let Ok(v) = "application/x-tar".parse() {
            req.headers_mut().insert("content-type", v);
        }
        if let Some(Ok(v)) = config.as_deref().map(str::parse) {
            req.headers_mut().insert("x-registry-config", v);
        }
        req
    });
    let work = async {
        let mut response = client.export_images(&[PLACEHOLDER]);
        let mut decoder = Decoder::default();
        let mut image_id = None;
        let mut error = None;
        loop {
            let chunk = match response.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    if let Some(message) = take_error(&body_error) {
                        return Err(failed(format!("reading the build context: {message}")));
                    }
                    if is_connection_error(&e) {
                        return Err(unreachable_error(endpoint, &e));
                    }
                    let mut message = error_message(&e);
                    for auth in &scrub_auth {
                        message = scrub(&message, Some(auth));
                    }
                    return Err(failed(message));
                }
                None => break,
            };
            for event in decoder.push(&chunk) {
                match event {
                    Event::Line(stream, line) => sink.line(stream, &line),
                    Event::ImageId(id) => image_id = Some(id),
                    Event::Error(message) => error = Some(message),
                }
            }
        }
        for event in decoder.finish() {
            match event {
                Event::Line(stream, line) => sink.line(stream, &line),
                Event::ImageId(id) => image_id = Some(id),
                Event::Error(message) => error = Some(message),
            }
        }
        if let Some(mut message) = error {
            for auth in &scrub_auth {
                message = scrub(&message, Some(auth));
            }
            return Err(failed(message));
        }
        image_id.ok_or_else(|| failed("the engine did not report the built image's id".into()))
    };
    let result = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(EngineError::Cancelled),
        result = work => result,
    };
    if let Some(session) = session {
        session.close();
    }
    result
}

// ---------------------------------------------------------------------------------------------
// The response: JSON messages

/// What one engine message means for the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A line of build output.
    Line(LogStream, String),
    /// The built image's id.
    ImageId(String),
    /// The build failed with this message.
    Error(String),
}

/// Splits the response body into JSON messages and turns them into [`Event`]s.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    progress: Progress,
}

impl Decoder {
    /// Feeds response bytes; returns the events of the complete messages among them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        // dockerd writes one JSON object per line (`\r\n` separated).
        while let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            self.message(&line, &mut events);
        }
        events
    }

    /// Ends the response: the last message without a newline, and partial log lines.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let rest = std::mem::take(&mut self.buf);
        self.message(&rest, &mut events);
        events.extend(self.progress.finish());
        events
    }

    fn message(&mut self, line: &[u8], events: &mut Vec<Event>) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
            events.push(Event::Line(LogStream::Stdout, text.to_owned()));
            return;
        };
        if let Some(message) = value.get("error").and_then(|e| e.as_str()) {
            events.push(Event::Error(message.trim().to_owned()));
            return;
        }
        let id = value.get("id").and_then(|i| i.as_str()).unwrap_or_default();
        let aux = value.get("aux");
        match (id, aux) {
            ("moby.buildkit.trace", Some(serde_json::Value::String(b64))) => {
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(bytes) => match self.progress.trace(&bytes) {
                        Ok(lines) => events.extend(lines),
                        Err(e) => events.push(Event::Line(
                            LogStream::Stderr,
                            format!("(unreadable BuildKit progress: {e})"),
                        )),
                    },
                    Err(_) => events.push(Event::Line(
                        LogStream::Stderr,
                        "(unreadable BuildKit progress: bad base64)".to_owned(),
                    )),
                }
            }
            ("moby.image.id", Some(aux)) => {
                if let Some(image) = aux.get("ID").and_then(|i| i.as_str()) {
                    events.push(Event::ImageId(image.to_owned()));
                }
            }
            _ => {
                if let Some(stream) = value.get("stream").and_then(|s| s.as_str()) {
                    for l in stream.lines().filter(|l| !l.trim().is_empty()) {
                        events.push(Event::Line(LogStream::Stdout, l.to_owned()));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// BuildKit progress: the StatusResponse protobuf

pub use super::protobuf::DecodeError;
use super::protobuf::{Field, Reader};

fn fields(buf: &[u8]) -> Reader<'_> {
    Reader::new(buf)
}

fn string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `google.protobuf.Timestamp` as seconds.
fn timestamp(bytes: &[u8]) -> Result<f64, DecodeError> {
    let (mut secs, mut nanos) = (0u64, 0u64);
    let mut r = fields(bytes);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Varint(v)) => secs = v,
            (2, Field::Varint(v)) => nanos = v,
            _ => {}
        }
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(secs as f64 + nanos as f64 / 1e9)
}

/// A `Vertex` of a `StatusResponse` (fields 1 digest, 3 name, 4 cached, 5 started,
/// 6 completed, 7 error).
#[derive(Debug, Default)]
struct Vertex {
    digest: String,
    name: String,
    cached: bool,
    started: Option<f64>,
    completed: Option<f64>,
    error: String,
}

impl Vertex {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut v = Self::default();
        let mut r = fields(bytes);
        while let Some((n, f)) = r.next()? {
            match (n, f) {
                (1, Field::Bytes(b)) => v.digest = string(b),
                (3, Field::Bytes(b)) => v.name = string(b),
                (4, Field::Varint(b)) => v.cached = b != 0,
                (5, Field::Bytes(b)) => v.started = Some(timestamp(b)?),
                (6, Field::Bytes(b)) => v.completed = Some(timestamp(b)?),
                (7, Field::Bytes(b)) => v.error = string(b),
                _ => {}
            }
        }
        Ok(v)
    }
}

/// What has been shown of one vertex.
#[derive(Debug, Default)]
struct Shown {
    number: usize,
    name: String,
    started: Option<f64>,
    header: bool,
    cached: bool,
    done: bool,
    errored: bool,
    /// Partial log line per stream (1 stdout, 2 stderr).
    partial: BTreeMap<u64, Vec<u8>>,
}

/// Turns `StatusResponse` messages into `--progress=plain`-style lines.
#[derive(Debug, Default)]
pub struct Progress {
    vertices: HashMap<String, Shown>,
    order: Vec<String>,
}

impl Progress {
    /// Decodes one `StatusResponse` (fields 1 vertexes, 3 logs; statuses and warnings are not
    /// shown) and returns the lines it adds.
    pub fn trace(&mut self, bytes: &[u8]) -> Result<Vec<Event>, DecodeError> {
        let (mut vertices, mut logs) = (Vec::new(), Vec::new());
        let mut r = fields(bytes);
        while let Some((n, f)) = r.next()? {
            match (n, f) {
                (1, Field::Bytes(b)) => vertices.push(Vertex::decode(b)?),
                (3, Field::Bytes(b)) => logs.push(b),
                _ => {}
            }
        }
        // Headers first, then the logs, then completions: a vertex's output comes before its
        // `DONE` even when both arrive in one message.
        let mut out = Vec::new();
        for v in &vertices {
            self.vertex_start(v, &mut out);
        }
        for l in logs {
            self.log(l, &mut out)?;
        }
        for v in &vertices {
            self.vertex_end(v, &mut out);
        }
        Ok(out)
    }

    /// Partial log lines still held.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        for digest in self.order.clone() {
            if let Some(shown) = self.vertices.get_mut(&digest) {
                flush(shown, &mut out);
            }
        }
        out
    }

    fn entry(&mut self, digest: &str) -> &mut Shown {
        let order = &mut self.order;
        self.vertices.entry(digest.to_owned()).or_insert_with(|| {
            order.push(digest.to_owned());
            Shown {
                number: order.len(),
                ..Shown::default()
            }
        })
    }

    fn vertex_start(&mut self, v: &Vertex, out: &mut Vec<Event>) {
        let shown = self.entry(&v.digest);
        if !v.name.is_empty() {
            shown.name.clone_from(&v.name);
        }
        if v.started.is_some() {
            shown.started = v.started;
        }
        let n = shown.number;
        if !shown.header && (v.started.is_some() || v.cached || v.completed.is_some()) {
            shown.header = true;
            out.push(line(format!("#{n} {}", shown.name)));
        }
        if v.cached && !shown.cached && !shown.done {
            shown.cached = true;
            out.push(line(format!("#{n} CACHED")));
        }
    }

    fn vertex_end(&mut self, v: &Vertex, out: &mut Vec<Event>) {
        let shown = self.entry(&v.digest);
        let n = shown.number;
        if shown.errored || shown.done {
            return;
        }
        if !v.error.is_empty() {
            shown.errored = true;
            flush(shown, out);
            out.push(Event::Line(
                LogStream::Stderr,
                format!("#{n} ERROR: {}", v.error),
            ));
        } else if let Some(completed) = v.completed
            && !shown.cached
        {
            shown.done = true;
            flush(shown, out);
            let took = shown.started.map_or(0.0, |s| (completed - s).max(0.0));
            out.push(line(format!("#{n} DONE {took:.1}s")));
        }
    }

    fn log(&mut self, bytes: &[u8], out: &mut Vec<Event>) -> Result<(), DecodeError> {
        let (mut vertex, mut stream, mut msg) = (String::new(), 1, &[][..]);
        let mut r = fields(bytes);
        while let Some((n, f)) = r.next()? {
            match (n, f) {
                (1, Field::Bytes(b)) => vertex = string(b),
                (3, Field::Varint(s)) => stream = s,
                (4, Field::Bytes(b)) => msg = b,
                _ => {}
            }
        }
        let shown = self.entry(&vertex);
        let n = shown.number;
        if !shown.header {
            shown.header = true;
            out.push(line(format!("#{n} {}", shown.name)));
        }
        let partial = shown.partial.entry(stream).or_default();
        partial.extend_from_slice(msg);
        while let Some(end) = partial.iter().position(|b| *b == b'\n') {
            let text: Vec<u8> = partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&text);
            out.push(Event::Line(
                stream_of(stream),
                format!("#{n} {}", text.trim_end_matches(['\n', '\r'])),
            ));
        }
        Ok(())
    }
}

fn line(text: String) -> Event {
    Event::Line(LogStream::Stdout, text)
}

fn stream_of(n: u64) -> LogStream {
    if n == 2 {
        LogStream::Stderr
    } else {
        LogStream::Stdout
    }
}

fn flush(shown: &mut Shown, out: &mut Vec<Event>) {
    let n = shown.number;
    for (stream, partial) in &mut shown.partial {
        if !partial.is_empty() {
            let text = String::from_utf8_lossy(partial).into_owned();
            out.push(Event::Line(stream_of(*stream), format!("#{n} {text}")));
            partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Protobuf encoding helpers (the writer side of [`Reader`]).
    use crate::engine::protobuf::put_varint as varint;

    fn bytes_field(n: u64, b: &[u8], out: &mut Vec<u8>) {
        varint(n << 3 | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }

    fn varint_field(n: u64, v: u64, out: &mut Vec<u8>) {
        varint(n << 3, out);
        varint(v, out);
    }

    fn ts(secs: u64, nanos: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint_field(1, secs, &mut out);
        varint_field(2, nanos, &mut out);
        out
    }

    struct V<'a> {
        digest: &'a str,
        name: &'a str,
        cached: bool,
        started: Option<(u64, u64)>,
        completed: Option<(u64, u64)>,
        error: &'a str,
    }

    fn vertex(v: &V<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        bytes_field(1, v.digest.as_bytes(), &mut out);
        bytes_field(2, b"sha256:input", &mut out);
        bytes_field(3, v.name.as_bytes(), &mut out);
        if v.cached {
            varint_field(4, 1, &mut out);
        }
        if let Some((s, n)) = v.started {
            bytes_field(5, &ts(s, n), &mut out);
        }
        if let Some((s, n)) = v.completed {
            bytes_field(6, &ts(s, n), &mut out);
        }
        if !v.error.is_empty() {
            bytes_field(7, v.error.as_bytes(), &mut out);
        }
        out
    }

    fn log(digest: &str, stream: u64, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        bytes_field(1, digest.as_bytes(), &mut out);
        bytes_field(2, &ts(1, 0), &mut out);
        varint_field(3, stream, &mut out);
        bytes_field(4, msg, &mut out);
        out
    }

    fn status(vertexes: &[Vec<u8>], logs: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in vertexes {
            bytes_field(1, v, &mut out);
        }
        // A VertexStatus (field 2), which is skipped.
        bytes_field(2, b"\x0a\x02id", &mut out);
        for l in logs {
            bytes_field(3, l, &mut out);
        }
        out
    }

    fn trace_message(pb: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(pb);
        format!("{{\"id\":\"moby.buildkit.trace\",\"aux\":\"{b64}\"}}\r\n")
    }

    fn texts(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Line(LogStream::Stdout, l) => l.clone(),
                Event::Line(LogStream::Stderr, l) => format!("E {l}"),
                Event::ImageId(id) => format!("ID {id}"),
                Event::Error(m) => format!("ERROR {m}"),
            })
            .collect()
    }

    const RUN: &str = "[2/3] RUN echo hi";

    #[test]
    fn a_real_engine_trace_message_decodes() {
        // Captured from dockerd 20.10.24: the context vertex, started and completed.
        let aux = "CosBCkdzaGEyNTY6MDc2NDk1NjJjYjI5NmEwNWU3MDIyM2QyODBlOWQyYjk3YTZhZmYzYjkwZjgxYTJmZTQ0OTcxNWExOWE0ODMwYhokW2ludGVybmFsXSBsb2FkIHJlbW90ZSBidWlsZCBjb250ZXh0KgwIxf3V2AYQxbj6sgMyDAjF/dXYBhDDpOW+Aw==";
        let mut d = Decoder::default();
        let events =
            d.push(format!("{{\"id\":\"moby.buildkit.trace\",\"aux\":\"{aux}\"}}\r\n").as_bytes());
        assert_eq!(
            texts(&events),
            ["#1 [internal] load remote build context", "#1 DONE 0.0s"]
        );
    }

    #[test]
    fn vertices_logs_and_completion_render_like_plain_progress() {
        let mut p = Progress::default();
        let started = vertex(&V {
            digest: "sha256:a",
            name: RUN,
            cached: false,
            started: Some((10, 0)),
            completed: None,
            error: "",
        });
        let out = p
            .trace(&status(
                &[started],
                &[
                    log("sha256:a", 1, b"hello\nwor"),
                    log("sha256:a", 2, b"oops\n"),
                ],
            ))
            .unwrap();
        assert_eq!(
            texts(&out),
            [format!("#1 {RUN}"), "#1 hello".into(), "E #1 oops".into()]
        );
        let done = vertex(&V {
            digest: "sha256:a",
            name: RUN,
            cached: false,
            started: Some((10, 0)),
            completed: Some((11, 500_000_000)),
            error: "",
        });
        let out = p
            .trace(&status(&[done], &[log("sha256:a", 1, b"ld")]))
            .unwrap();
        // The partial line is completed by the next log and flushed at completion.
        assert_eq!(texts(&out), ["#1 world", "#1 DONE 1.5s"]);
        let cached = vertex(&V {
            digest: "sha256:b",
            name: "[1/3] FROM base",
            cached: true,
            started: None,
            completed: Some((10, 0)),
            error: "",
        });
        let out = p.trace(&status(&[cached], &[])).unwrap();
        assert_eq!(texts(&out), ["#2 [1/3] FROM base", "#2 CACHED"]);
        assert!(p.finish().is_empty());
    }

    #[test]
    fn a_vertex_error_is_shown_on_stderr_once() {
        let mut p = Progress::default();
        let failed = vertex(&V {
            digest: "sha256:c",
            name: "[2/2] RUN exit 3",
            cached: false,
            started: Some((1, 0)),
            completed: Some((2, 0)),
            error: "executor failed running [/bin/sh -c exit 3]: exit code: 3",
        });
        let out = p.trace(&status(&[failed.clone(), failed], &[])).unwrap();
        assert_eq!(
            texts(&out),
            [
                "#1 [2/2] RUN exit 3",
                "E #1 ERROR: executor failed running [/bin/sh -c exit 3]: exit code: 3"
            ]
        );
    }

    #[test]
    fn the_decoder_reads_ids_errors_streams_and_split_messages() {
        let mut d = Decoder::default();
        let pb = status(
            &[vertex(&V {
                digest: "sha256:a",
                name: RUN,
                cached: false,
                started: Some((1, 0)),
                completed: None,
                error: "",
            })],
            &[],
        );
        let msg = trace_message(&pb);
        let (head, tail) = msg.split_at(10);
        assert!(d.push(head.as_bytes()).is_empty());
        assert_eq!(texts(&d.push(tail.as_bytes())), [format!("#1 {RUN}")]);
        let rest = concat!(
            "{\"id\":\"moby.image.id\",\"aux\":{\"ID\":\"sha256:abc\"}}\r\n",
            "{\"stream\":\"Successfully tagged a:1\\n\"}\r\n",
            "{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}"
        );
        assert_eq!(
            texts(&d.push(rest.as_bytes())),
            ["ID sha256:abc", "Successfully tagged a:1"]
        );
        assert_eq!(texts(&d.finish()), ["ERROR boom"]);
    }

    #[test]
    fn bad_progress_never_panics() {
        let mut p = Progress::default();
        for bad in [
            &b"\x0a"[..],
            b"\x0a\x05ab",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\x0b",
            b"\x0a\x03\x2a\x01\x08",
        ] {
            assert!(p.trace(bad).is_err(), "{bad:?}");
        }
        let mut d = Decoder::default();
        let events = d.push(b"{\"id\":\"moby.buildkit.trace\",\"aux\":\"!!\"}\nnot json\n");
        assert_eq!(
            texts(&events),
            ["E (unreadable BuildKit progress: bad base64)", "not json"]
        );
    }

    fn request() -> BuildRequest {
        BuildRequest {
            context: Box::pin(futures_util::stream::empty()),
            dockerfile: "app/Dockerfile".into(),
            tags: vec!["r/a:1".into(), "r/a:2".into()],
            build_args: BTreeMap::from([("V".into(), "1 2".into())]),
            target: Some("final".into()),
            no_cache: true,
            pull: true,
            labels: BTreeMap::from([("l".into(), "x".into())]),
            platform: Some("linux/amd64".into()),
            network: Some("net".into()),
            cache_from: vec!["r/a:cache".into()],
            extra_hosts: vec!["h1:1.1.1.1".into(), "h2:2.2.2.2".into()],
            auths: vec![],
            resources: Default::default(),
            buildkit: true,
            secrets: Vec::new(),
        }
    }

    #[test]
    fn the_request_maps_to_repeated_query_parameters() {
        let q = build_query(&request(), "id1", Some("s1"));
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("version", "2"),
                ("dockerfile", "app/Dockerfile"),
                ("t", "r/a:1"),
                ("t", "r/a:2"),
                ("buildargs", "{\"V\":\"1 2\"}"),
                ("target", "final"),
                ("nocache", "1"),
                ("pull", "1"),
                ("labels", "{\"l\":\"x\"}"),
                ("platform", "linux/amd64"),
                ("networkmode", "net"),
                ("extrahosts", "h1:1.1.1.1"),
                ("extrahosts", "h2:2.2.2.2"),
                ("cachefrom", "[\"r/a:cache\"]"),
                ("buildid", "id1"),
                ("session", "s1"),
            ]
        );
        assert_eq!(
            encode_query(&q[..4]),
            "version=2&dockerfile=app%2FDockerfile&t=r%2Fa%3A1&t=r%2Fa%3A2"
        );
    }

    #[test]
    fn registry_config_is_base64url_json() {
        assert_eq!(registry_config(&[]), None);
        let header = registry_config(&[RegistryAuth {
            server: "127.0.0.1:5001".into(),
            username: "u".into(),
            password: "p?>".into(),
        }])
        .unwrap();
        let json = base64::engine::general_purpose::URL_SAFE
            .decode(header)
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["127.0.0.1:5001"]["password"], "p?>");
        assert_eq!(value["127.0.0.1:5001"]["serveraddress"], "127.0.0.1:5001");
    }
}
