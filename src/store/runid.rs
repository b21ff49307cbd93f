//! ACR-style run ids.
//!
//! An id is a two-letter registry prefix followed by the run's sequence number (1, 2, …) in
//! lower-case base 36 without leading zeros: `ca1` … `ca9`, `caa` … `caz`, `ca10`, `ca11` … This is
//! what ACR shows (`cf4`, `cax`, `ca11`, `cf1c`): the prefix is fixed per registry and the suffix
//! counts in base 36.
//!
//! Prefixes are handed out per registry in the order registries first ask for an id: the first
//! registry gets `ca`, then `cb` … `cz`, `da` … `zz` (624 in all). Each registry therefore has its
//! own counter starting at 1, and ids are still unique across the whole store, so `task logs
//! --run-id ca3` is never ambiguous. Counters never go back, even when runs or tasks are deleted.
//!
//! Ids of one length sort like their numbers, but `ca10` sorts before `ca9` as text: order by the
//! stored sequence number (or by start time), never by the id string.

/// Number of distinct registry prefixes (`ca` … `zz`).
pub const PREFIX_COUNT: u64 = 24 * 26;

/// The prefix of the `index`-th registry (0-based): `ca`, `cb`, … `cz`, `da`, … `zz`.
pub fn registry_prefix(index: u64) -> Option<String> {
    if index >= PREFIX_COUNT {
        return None;
    }
    let first = char::from(b'c' + u8::try_from(index / 26).ok()?);
    let second = char::from(b'a' + u8::try_from(index % 26).ok()?);
    Some([first, second].iter().collect())
}

/// `prefix` + `seq` in lower-case base 36 (`seq` ≥ 1; 0 gives `prefix0`).
pub fn encode_run_id(prefix: &str, seq: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut digits = Vec::new();
    let mut n = seq;
    loop {
        digits.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    let mut id = String::with_capacity(prefix.len() + digits.len());
    id.push_str(prefix);
    id.extend(digits.iter().rev().map(|&d| char::from(d)));
    id
}

#[cfg(test)]
/// Splits an id made by [`encode_run_id`] with a two-letter prefix into the prefix and sequence
/// number. `None` for anything else (upper case, leading zero, overflow, wrong prefix shape).
pub fn parse_run_id(id: &str) -> Option<(&str, u64)> {
    let prefix = id.get(..2)?;
    let suffix = id.get(2..)?;
    let b = prefix.as_bytes();
    if !(b[0].is_ascii_lowercase() && b[0] >= b'c' && b[1].is_ascii_lowercase()) {
        return None;
    }
    if suffix.is_empty() || suffix.starts_with('0') {
        return None;
    }
    let mut n: u64 = 0;
    for c in suffix.bytes() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            _ => return None,
        };
        n = n.checked_mul(36)?.checked_add(u64::from(d))?;
    }
    Some((prefix, n))
}

/// Normalises a registry name for counting: trimmed, without a trailing `/`, ASCII lower case
/// (host names are case-insensitive). No registry is the empty string.
pub fn registry_key(registry: &str) -> String {
    registry.trim().trim_end_matches('/').to_ascii_lowercase()
}
