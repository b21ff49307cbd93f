//! The gRPC methods a BuildKit session serves, without a gRPC stack: message framing, the two
//! tiny protobuf messages of BuildKit's secrets service, and the answer to each call.
//!
//! A gRPC message on an HTTP/2 stream is a 5-byte prefix (a compression flag, 0 here, and the
//! big-endian length) followed by the protobuf bytes; the call's outcome is the `grpc-status`
//! trailer (0 OK, 5 NotFound, 12 Unimplemented, 3 InvalidArgument). The session
//! ([`super::session`]) exposes two methods and [`answer`] serves them:
//!
//! * `/grpc.health.v1.Health/Check` → `HealthCheckResponse{status: SERVING}`; BuildKit checks the
//!   session's health and drops it when the check fails.
//! * `/moby.buildkit.secrets.v1.Secrets/GetSecret` (moby/buildkit
//!   `session/secrets/secrets.proto`): request `{string ID = 1; map<string,string> annotations =
//!   2}`, response `{bytes data = 1}`; an id the build was not given is NotFound, which BuildKit
//!   reports as a missing secret (an error only for a `required` mount).
//!
//! Every other method is Unimplemented. Nothing here logs, and no error text carries a value.

use std::collections::BTreeMap;

use super::protobuf::{Field, Reader, put_varint};

/// The path of the health check method.
pub const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
/// The path of BuildKit's secrets method.
pub const GET_SECRET: &str = "/moby.buildkit.secrets.v1.Secrets/GetSecret";
/// The methods a session exposes (each is announced in an `X-Docker-Expose-Session-Grpc-Method`
/// header when the session is opened).
pub const METHODS: &[&str] = &[HEALTH_CHECK, GET_SECRET];

/// gRPC status codes used here.
pub mod status {
    /// Success.
    pub const OK: u32 = 0;
    /// The request is malformed.
    pub const INVALID_ARGUMENT: u32 = 3;
    /// The secret is not known to this session.
    pub const NOT_FOUND: u32 = 5;
    /// The method is not served.
    pub const UNIMPLEMENTED: u32 = 12;
}

/// The answer to one call: a status and, for OK, one response message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The `grpc-status` trailer.
    pub status: u32,
    /// The `grpc-message` trailer (never a secret value).
    pub message: String,
    /// The response message (protobuf bytes), sent framed when `status` is OK.
    pub body: Option<Vec<u8>>,
}

impl Reply {
    fn ok(body: Vec<u8>) -> Self {
        Self {
            status: status::OK,
            message: String::new(),
            body: Some(body),
        }
    }

    fn error(status: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            body: None,
        }
    }
}

/// Answers a call of `path` with the request bytes `request` (the whole stream body, framed),
/// from the build's `secrets` (id → value).
pub fn answer(path: &str, request: &[u8], secrets: &BTreeMap<String, Vec<u8>>) -> Reply {
    match path {
        HEALTH_CHECK => Reply::ok(frame(&health_serving())),
        GET_SECRET => {
            let message = match unframe(request) {
                Ok(m) => m,
                Err(e) => return Reply::error(status::INVALID_ARGUMENT, e.to_string()),
            };
            let id = match secret_request_id(message) {
                Ok(id) => id,
                Err(e) => return Reply::error(status::INVALID_ARGUMENT, e.to_string()),
            };
            match secrets.get(&id) {
                Some(value) => Reply::ok(frame(&secret_response(value))),
                None => Reply::error(status::NOT_FOUND, format!("secret {id} not found")),
            }
        }
        other => Reply::error(
            status::UNIMPLEMENTED,
            format!("unknown method {other}: this session serves secrets only"),
        ),
    }
}

/// A malformed gRPC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(&'static str);

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// `message` with the gRPC prefix: flag 0 (uncompressed) and the big-endian length.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// The one message of a unary request body. A compressed message is refused (no compression
/// is announced, so a peer must not send one).
pub fn unframe(body: &[u8]) -> Result<&[u8], FrameError> {
    let (head, rest) = body
        .split_at_checked(5)
        .ok_or(FrameError("truncated gRPC message prefix"))?;
    if head[0] != 0 {
        return Err(FrameError("compressed gRPC messages are not accepted"));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if rest.len() < len {
        return Err(FrameError("truncated gRPC message"));
    }
    if rest.len() > len {
        return Err(FrameError("more than one message in a unary call"));
    }
    Ok(rest)
}

/// `HealthCheckResponse{status: SERVING}` (field 1, enum value 1).
fn health_serving() -> Vec<u8> {
    vec![0x08, 0x01]
}

/// `GetSecretResponse{data: value}`.
pub fn secret_response(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(0x0a); // field 1, length-delimited
    put_varint(value.len() as u64, &mut out);
    out.extend_from_slice(value);
    out
}

/// The `ID` (field 1) of a `GetSecretRequest`; annotations and unknown fields are skipped.
pub fn secret_request_id(message: &[u8]) -> Result<String, FrameError> {
    let mut fields = Reader::new(message);
    let mut id = String::new();
    while let Some((number, field)) = fields.next().map_err(|e| FrameError(e.0))? {
        if let (1, Field::Bytes(value)) = (number, field) {
            id = String::from_utf8(value.to_vec())
                .map_err(|_| FrameError("the secret id is not UTF-8"))?;
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `GetSecretRequest` as Go's protobuf encodes it: ID, then one annotation map entry.
    fn request(id: &str) -> Vec<u8> {
        let mut out = vec![0x0a];
        put_varint(id.len() as u64, &mut out);
        out.extend_from_slice(id.as_bytes());
        // annotations: map entry {key=1:"k", value=2:"v"} as field 2.
        out.extend_from_slice(&[0x12, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v']);
        out
    }

    fn secrets() -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([("tok".to_owned(), b"s3cr3t".to_vec())])
    }

    #[test]
    fn framing_round_trips_and_rejects_bad_prefixes() {
        let framed = frame(b"abc");
        assert_eq!(framed, [0, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(unframe(&framed).unwrap(), b"abc");
        assert_eq!(unframe(&frame(b"")).unwrap(), b"");
        assert!(unframe(&[0, 0, 0]).is_err());
        assert!(unframe(&[1, 0, 0, 0, 0]).is_err());
        assert!(unframe(&[0, 0, 0, 0, 4, 1]).is_err());
        assert!(unframe(&[0, 0, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn a_known_secret_is_answered_with_its_bytes() {
        let reply = answer(GET_SECRET, &frame(&request("tok")), &secrets());
        assert_eq!(reply.status, status::OK);
        let body = reply.body.unwrap();
        let message = unframe(&body).unwrap();
        assert_eq!(message, [&[0x0a, 6][..], b"s3cr3t"].concat());
    }

    #[test]
    fn long_values_get_a_multi_byte_length() {
        let value = vec![b'x'; 300];
        let message = secret_response(&value);
        assert_eq!(&message[..3], &[0x0a, 0xac, 0x02]);
        assert_eq!(message.len(), 303);
    }

    #[test]
    fn unknown_ids_methods_and_bad_requests_get_their_status() {
        let reply = answer(GET_SECRET, &frame(&request("other")), &secrets());
        assert_eq!(reply.status, status::NOT_FOUND);
        assert!(reply.body.is_none());
        assert!(!reply.message.contains("s3cr3t"));
        let reply = answer("/moby.filesync.v1.Auth/Credentials", &[], &secrets());
        assert_eq!(reply.status, status::UNIMPLEMENTED);
        for bad in [
            &b""[..],
            &[0, 0, 0, 0, 2, 0x0a, 0x05],
            &[0, 0, 0, 0, 1, 0x0b],
        ] {
            let reply = answer(GET_SECRET, bad, &secrets());
            assert_eq!(reply.status, status::INVALID_ARGUMENT, "{bad:?}");
        }
        let reply = answer(HEALTH_CHECK, &frame(&[]), &secrets());
        assert_eq!(reply.body.unwrap(), frame(&[0x08, 0x01]));
    }

    #[test]
    fn the_request_id_skips_other_fields() {
        // A varint field 3, a fixed64 field 4 and a fixed32 field 5 around the id.
        let mut m = vec![
            0x18, 0x96, 0x01, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2d, 1, 2, 3, 4,
        ];
        m.extend_from_slice(&request("a"));
        assert_eq!(secret_request_id(&m).unwrap(), "a");
        assert!(secret_request_id(&[0x21, 1]).is_err());
        assert!(secret_request_id(&[0x0a, 2, 0xff, 0xfe]).is_err());
        assert!(secret_request_id(&[0xff; 11]).is_err());
    }
}
