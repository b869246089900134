//! Wire-format names: lengths, lowercase lookup keys, zone membership, and the hash the
//! name tables use.

use hickory_proto::rr::Name;

/// The longest name on the wire, terminating zero included.
pub(crate) const MAX_NAME_LEN: usize = 255;

/// The length of the uncompressed name at the start of `bytes` (terminating zero
/// included), or `None` when it is not a well-formed uncompressed name.
pub(crate) fn name_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len == 0 {
            return (at < MAX_NAME_LEN).then_some(at + 1);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
}

/// The lowercase wire form of `name` (made absolute) into `key`; returns its length.
pub(crate) fn key_of(name: &Name, key: &mut [u8; MAX_NAME_LEN]) -> Option<usize> {
    let mut at = 0;
    for label in name.iter() {
        let end = at + 1 + label.len();
        if end >= MAX_NAME_LEN || label.len() > 63 {
            return None;
        }
        key[at] = u8::try_from(label.len()).ok()?;
        for (to, from) in key[at + 1..end].iter_mut().zip(label) {
            *to = from.to_ascii_lowercase();
        }
        at = end;
    }
    key[at] = 0;
    Some(at + 1)
}

/// Whether `name` is `origin` or below it (both lowercase wire names).
pub(crate) fn is_at_or_below(name: &[u8], origin: &[u8]) -> bool {
    if origin.len() > name.len() {
        return false;
    }
    let start = name.len() - origin.len();
    if name[start..] != *origin {
        return false;
    }
    // `start` must be a label boundary of `name`.
    let mut at = 0;
    while at < start {
        at += 1 + usize::from(name[at]);
    }
    at == start
}

/// The parent of a wire name (its first label removed), or `None` for the root.
pub(crate) fn parent(name: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*name.first()?);
    (len > 0).then(|| &name[1 + len..])
}

/// A fast hash of a short byte string (FxHash's mixing, eight bytes at a time). Not
/// DoS-resistant by design: the tables hashed with it are built from the operator's
/// records and only read by queries, so a client cannot choose what collides.
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut hash = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0; 8];
        word[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // The table uses the high bits.
    hash ^ (hash >> 29)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn keys_are_lowercase_wire_names() {
        let mut key = [0; MAX_NAME_LEN];
        let len = key_of(&Name::from_str("WwW.Example.TEST.").unwrap(), &mut key).unwrap();
        assert_eq!(&key[..len], b"\x03www\x07example\x04test\x00");
        assert_eq!(name_len(&key[..len]), Some(len));
        assert!(is_at_or_below(&key[..len], b"\x04test\x00"));
        assert!(is_at_or_below(&key[..len], &key[..len]));
        assert!(!is_at_or_below(&key[..len], b"\x02st\x00"));
        assert!(!is_at_or_below(b"\x04test\x00", &key[..len]));
        assert_eq!(parent(&key[..len]), Some(&b"\x07example\x04test\x00"[..]));
        assert_eq!(parent(b"\x00"), None);
    }
}
