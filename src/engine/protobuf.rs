//! The few protobuf wire-format pieces taskrun reads and writes by hand: BuildKit's progress
//! messages ([`super::buildkit`]) and the session's gRPC messages ([`super::grpc`]). Varints,
//! length-delimited fields and fixed-size fields; groups are refused. No generated code and no
//! protobuf crate: the messages are small and only a few fields matter.

/// A malformed protobuf message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One field of a protobuf message.
pub(crate) enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2 (strings, bytes, nested messages, packed lists).
    Bytes(&'a [u8]),
    /// Wire types 1 and 5 (skipped).
    Fixed,
}

/// Reads the fields of one protobuf message (wire types 0, 1, 2 and 5; groups are refused).
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of the message `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self
                .buf
                .split_first()
                .ok_or(DecodeError("truncated varint"))?;
            self.buf = rest;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError("truncated field"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next field number and field; `None` at the end of the message.
    pub(crate) fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, DecodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Fixed
            }
            2 => {
                let len =
                    usize::try_from(self.varint()?).map_err(|_| DecodeError("field too long"))?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Fixed
            }
            _ => return Err(DecodeError("unsupported wire type")),
        };
        Ok(Some((key >> 3, field)))
    }
}

/// Appends `v` as a varint.
pub(crate) fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}
