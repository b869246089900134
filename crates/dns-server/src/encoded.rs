//! Pre-encoded answer sections: an RRset, or a zone's SOA for negative answers, exactly
//! as hickory encodes it after the header and the question of a response.
//!
//! hickory echoes the question as raw bytes and compresses later names only against
//! names it has written itself, so the encoding of the records after the question
//! depends only on where they start (12 + the question's length), never on the letter
//! case of the question. A question for a name has the same length whatever its case, so
//! one encoding per RRset serves every query for it: [`crate::fast_path`] copies it after
//! the client's own question, and the result is byte for byte what the general path
//! (hickory's `MessageResponse`) sends.
//!
//! The same holds for an additional section (the addresses of SRV, MX and NS targets):
//! [`encode_with_additional`] encodes it after the answer section in one pass, as
//! hickory emits the sections of a response one after the other with one table of
//! compression pointers, and notes where each group of records ends, so a response can
//! stop after any group.

use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

use crate::table::NewAdditional;
use crate::wire::MAX_NAME_LEN;

/// Size of a DNS header.
pub(crate) const HEADER_LEN: usize = 12;

/// Where the answer section starts for a question whose name is `name_len` bytes long.
pub(crate) fn answer_offset(name_len: usize) -> usize {
    HEADER_LEN + name_len + 4
}

/// Encodes `records` as they follow a question for `key` (lowercase wire name) of
/// `record_type`, class IN. Returns the bytes after the question.
pub(crate) fn encode_after_question<'r>(
    key: &[u8],
    record_type: u16,
    records: impl IntoIterator<Item = &'r Record>,
) -> Result<Vec<u8>, String> {
    let mut buffer = Vec::with_capacity(answer_offset(key.len()) + 128);
    let mut encoder = BinEncoder::new(&mut buffer);
    let result = (|| {
        encoder.emit_vec(&[0; HEADER_LEN])?;
        // As hickory emits the question of a request: raw, remembered as one pointer
        // candidate that no later name can match.
        encoder.emit_vec(key)?;
        encoder.emit_u16(record_type)?;
        encoder.emit_u16(1)?;
        encoder.store_label_pointer(HEADER_LEN, answer_offset(key.len()));
        for record in records {
            record.emit(&mut encoder)?;
        }
        Ok::<(), hickory_proto::ProtoError>(())
    })();
    result.map_err(|e| e.to_string())?;
    buffer.drain(..answer_offset(key.len()));
    Ok(buffer)
}

/// Encodes `answers` as [`encode_after_question`] does, then the `groups` of additional
/// records after them. Returns the answer bytes and the additional section (its bytes and,
/// per group, the records and bytes up to its end).
pub(crate) fn encode_with_additional(
    key: &[u8],
    record_type: u16,
    answers: &[Record],
    groups: &[Vec<Record>],
) -> Result<(Vec<u8>, NewAdditional), String> {
    let mut buffer = Vec::with_capacity(answer_offset(key.len()) + 256);
    let mut ends = Vec::with_capacity(groups.len());
    let mut answer_end = 0;
    let mut encoder = BinEncoder::new(&mut buffer);
    let result = (|| {
        encoder.emit_vec(&[0; HEADER_LEN])?;
        encoder.emit_vec(key)?;
        encoder.emit_u16(record_type)?;
        encoder.emit_u16(1)?;
        encoder.store_label_pointer(HEADER_LEN, answer_offset(key.len()));
        for record in answers {
            record.emit(&mut encoder)?;
        }
        answer_end = encoder.offset();
        let mut records = 0usize;
        for group in groups {
            for record in group {
                record.emit(&mut encoder)?;
            }
            records += group.len();
            ends.push((records, encoder.offset()));
        }
        Ok::<(), hickory_proto::ProtoError>(())
    })();
    result.map_err(|e| e.to_string())?;
    let additional_bytes = buffer.split_off(answer_end);
    buffer.drain(..answer_offset(key.len()));
    let groups = ends
        .into_iter()
        .map(|(records, end)| {
            let records = u16::try_from(records).map_err(|_| "too many additional records")?;
            let end = u32::try_from(end - answer_end).map_err(|_| "additional section too long")?;
            Ok((records, end))
        })
        .collect::<Result<_, &str>>()?;
    Ok((
        buffer,
        NewAdditional {
            bytes: additional_bytes,
            groups,
        },
    ))
}

/// Decodes `count` records encoded by [`encode_after_question`] for a name of
/// `name_len` bytes.
pub(crate) fn decode_after_question(
    name_len: usize,
    bytes: &[u8],
    count: usize,
) -> Option<Vec<Record>> {
    let offset = answer_offset(name_len);
    let mut buffer = vec![0; offset];
    buffer.extend_from_slice(bytes);
    let mut decoder = BinDecoder::new(&buffer);
    decoder.read_slice(offset).ok()?;
    (0..count)
        .map(|_| Record::read(&mut decoder).ok())
        .collect()
}

/// The SOA of a negative answer encoded after a question of every possible name length:
/// one encoding per length, so a negative answer is a copy too.
#[derive(Debug)]
pub(crate) struct NegativeTails {
    bytes: Vec<u8>,
    /// Start and end in `bytes` by question name length.
    ranges: Vec<(u32, u32)>,
}

impl NegativeTails {
    /// Encodings of `soa` for question names of `min_len..=255` bytes.
    pub(crate) fn new(soa: &Record, min_len: usize) -> Self {
        let mut bytes = Vec::new();
        let mut ranges = vec![(0, 0); MAX_NAME_LEN + 1];
        for (len, range) in ranges.iter_mut().enumerate().skip(min_len.max(1)) {
            // Any name of that length: only the length matters.
            let key = filler_name(len);
            if key.is_empty() {
                continue;
            }
            if let Ok(encoded) = encode_after_question(&key, 6, [soa]) {
                let start = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                bytes.extend_from_slice(&encoded);
                let end = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                *range = (start, end);
            }
        }
        Self { bytes, ranges }
    }

    /// The SOA after a question whose name is `name_len` bytes long.
    #[inline]
    pub(crate) fn get(&self, name_len: usize) -> Option<&[u8]> {
        let &(start, end) = self.ranges.get(name_len)?;
        (end > start).then(|| &self.bytes[start as usize..end as usize])
    }
}

/// A wire name of exactly `len` bytes made of `x` labels (empty when there is none: a
/// name cannot be two bytes long).
fn filler_name(len: usize) -> Vec<u8> {
    if len == 2 {
        return Vec::new();
    }
    let mut name = Vec::with_capacity(len);
    let mut left = len - 1;
    while left > 0 {
        let mut label = (left - 1).min(63);
        if left - (label + 1) == 1 {
            // One byte cannot hold a label: leave two.
            label -= 1;
        }
        name.push(u8::try_from(label).unwrap_or(63));
        name.extend(std::iter::repeat_n(b'x', label));
        left -= label + 1;
    }
    name.push(0);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::name_len;

    #[test]
    fn filler_names_have_the_asked_length() {
        for len in 1..=MAX_NAME_LEN {
            let name = filler_name(len);
            if len == 2 {
                assert!(name.is_empty());
            } else {
                assert_eq!(name.len(), len);
                assert_eq!(name_len(&name), Some(len));
            }
        }
    }
}
