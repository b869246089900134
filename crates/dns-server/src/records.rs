//! A list of records kept in wire form: what a [`crate::ZoneSpec`] holds for its static
//! records, so a zone of 100,000 records costs a few megabytes rather than a hickory
//! [`Record`] (and its heap allocations) per record.

use std::fmt;

use hickory_proto::rr::{DNSClass, Record, RecordData, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, NameEncoding,
};

use crate::wire;

/// Records in uncompressed wire form, one after the other, plus the few records that do
/// not survive a round trip through the wire (kept as they are).
///
/// Build one from `Vec<Record>` (`.into()`), with [`StaticRecords::push`] or by
/// collecting; read the records back with [`StaticRecords::iter`].
#[derive(Clone, Default, PartialEq)]
pub struct StaticRecords {
    /// Uncompressed wire records (owner, type, class, TTL, RDLENGTH, RDATA).
    wire: Vec<u8>,
    count: usize,
    /// Records kept as given: not class IN, a pseudo type, empty data, or unencodable.
    /// [`crate::Snapshot::build`] skips all of them, with the reason.
    other: Vec<Record>,
}

impl StaticRecords {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one record.
    pub fn push(&mut self, record: Record) {
        if encodable(&record) && encode(&record, &mut self.wire).is_ok() {
            self.count += 1;
        } else {
            self.other.push(record);
        }
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.count + self.other.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records, decoded (the ones kept in wire form first).
    pub fn iter(&self) -> impl Iterator<Item = Record> + '_ {
        self.wire_records()
            .filter_map(decode)
            .chain(self.other.iter().cloned())
    }

    /// Frees unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.wire.shrink_to_fit();
        self.other.shrink_to_fit();
    }

    /// Each wire record as a slice.
    pub(crate) fn wire_records(&self) -> WireRecords<'_> {
        WireRecords { rest: &self.wire }
    }

    /// The records not in wire form.
    pub(crate) fn other(&self) -> &[Record] {
        &self.other
    }
}

impl fmt::Debug for StaticRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticRecords")
            .field("records", &self.len())
            .field("wire_bytes", &self.wire.len())
            .finish()
    }
}

impl From<Vec<Record>> for StaticRecords {
    fn from(records: Vec<Record>) -> Self {
        records.into_iter().collect()
    }
}

impl FromIterator<Record> for StaticRecords {
    fn from_iter<I: IntoIterator<Item = Record>>(iter: I) -> Self {
        let mut records = Self::new();
        records.extend(iter);
        records
    }
}

impl Extend<Record> for StaticRecords {
    fn extend<I: IntoIterator<Item = Record>>(&mut self, iter: I) {
        for record in iter {
            self.push(record);
        }
    }
}

/// Iterator over the wire records of a buffer.
pub(crate) struct WireRecords<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for WireRecords<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = record_len(self.rest)?;
        let (record, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(record)
    }
}

/// Whether a record is kept in wire form: class IN, a data type, non-empty data. The rest
/// is skipped by the snapshot anyway and kept as given for the report.
pub(crate) fn encodable(record: &Record) -> bool {
    record.dns_class == DNSClass::IN
        && !matches!(
            record.record_type(),
            RecordType::SOA
                | RecordType::OPT
                | RecordType::ANY
                | RecordType::AXFR
                | RecordType::IXFR
                | RecordType::TSIG
                | RecordType::SIG
                | RecordType::ZERO
        )
        && !record.data.is_update()
}

/// Appends `record` in uncompressed wire form (owner made absolute); on error nothing is
/// appended. A record with empty data is refused (it would not decode to the same data).
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) -> Result<(), String> {
    // A fresh buffer: an encoder refuses to write past 64 KiB, and `out` grows beyond.
    let mut buffer = Vec::with_capacity(128);
    let mut encoder = BinEncoder::new(&mut buffer);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    record.emit(&mut encoder).map_err(|e| e.to_string())?;
    if record_len(&buffer) != Some(buffer.len()) || rdata_len(&buffer) == 0 {
        return Err("empty or malformed record data".to_owned());
    }
    out.extend_from_slice(&buffer);
    Ok(())
}

/// Decodes one uncompressed wire record.
pub(crate) fn decode(wire: &[u8]) -> Option<Record> {
    let mut decoder = BinDecoder::new(wire);
    Record::read(&mut decoder).ok()
}

/// The length of the uncompressed wire record at the start of `bytes`.
fn record_len(bytes: &[u8]) -> Option<usize> {
    let owner = wire::name_len(bytes)?;
    let fixed = bytes.get(owner..owner + 10)?;
    let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let len = owner + 10 + rdlen;
    (len <= bytes.len()).then_some(len)
}

fn rdata_len(record: &[u8]) -> usize {
    let owner = wire::name_len(record).unwrap_or(record.len());
    record.len().saturating_sub(owner + 10)
}

/// The parts of an uncompressed wire record.
pub(crate) struct WireRecord<'a> {
    pub(crate) owner: &'a [u8],
    pub(crate) record_type: u16,
    pub(crate) ttl: u32,
    pub(crate) rdata: &'a [u8],
}

impl<'a> WireRecord<'a> {
    /// Splits a record produced by [`encode`].
    pub(crate) fn parse(record: &'a [u8]) -> Option<Self> {
        let owner_len = wire::name_len(record)?;
        let (owner, rest) = record.split_at(owner_len);
        let fixed = rest.get(..10)?;
        Some(Self {
            owner,
            record_type: u16::from_be_bytes([fixed[0], fixed[1]]),
            ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            rdata: &rest[10..],
        })
    }
}
