//! Randomness for `shuffle`, the `rand*` strings and `uuidv4`. No rand crate: the OS source
//! (`/dev/urandom`), with a hasher-based fallback.

use std::io::Read as _;

pub(super) fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom")
        && f.read_exact(&mut buf).is_ok()
    {
        return buf;
    }
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(nanos);
        let bytes = h.finish().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    buf
}

/// Random numbers drawn from a buffer of OS randomness.
pub(super) struct Rng {
    buf: Vec<u8>,
    pos: usize,
}

impl Rng {
    pub(super) fn new() -> Self {
        Rng {
            buf: Vec::new(),
            pos: 0,
        }
    }

    pub(super) fn byte(&mut self) -> u8 {
        if self.pos >= self.buf.len() {
            self.buf = random_bytes(4096);
            self.pos = 0;
        }
        let b = self.buf.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A uniform random number in `0..bound`.
    pub(super) fn below(&mut self, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let x = (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.byte()));
            if x < zone {
                return x % bound;
            }
        }
    }
}
