//! The immutable in-memory view of every served zone, and how a question is answered from
//! it.
//!
//! [`Snapshot::build`] does all the work that does not depend on the question: it places
//! each record in the zone with the longest matching origin, merges records into RRsets
//! (one TTL per RRset: the smallest given), resolves CNAME conflicts, adds the empty
//! non-terminals (so `_tcp.www` exists when `_acme-challenge._tcp.www` does), and
//! precomputes each RRset's uncompressed wire size. A lookup is then a few hash-map probes
//! keyed by the query's already-lowercased name, with no allocation.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::NS;
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use crate::zone::ZoneSpec;

/// How many CNAME targets an answer follows at most. A longer chain (or a loop) ends the
/// answer after the last CNAME added; the resolver continues from there.
pub const MAX_CNAME_HOPS: usize = 8;

/// Every served zone, frozen. Build one with [`Snapshot::build`]; serve it through
/// [`crate::Authority`].
#[derive(Debug)]
pub struct Snapshot {
    serial: u32,
    /// Most specific origin first, so the first zone containing a name is the longest
    /// match.
    zones: Vec<Zone>,
}

#[derive(Debug)]
struct Zone {
    origin: LowerName,
    /// The SOA for the authority section of negative answers: TTL = min(SOA TTL, minimum).
    negative_soa: Record,
    negative_soa_len: usize,
    /// Every name that exists in the zone, including empty non-terminals.
    nodes: HashMap<LowerName, Node>,
}

#[derive(Debug)]
struct Node {
    /// By type code; empty for an empty non-terminal.
    rrsets: Box<[RRset]>,
}

#[derive(Debug)]
struct RRset {
    record_type: RecordType,
    records: Box<[Record]>,
    /// Upper bound of the encoded size of `records` (names uncompressed).
    wire_len: usize,
    /// For a CNAME RRset, the target as a lookup key.
    cname_target: Option<LowerName>,
}

impl Node {
    fn get(&self, record_type: RecordType) -> Option<&RRset> {
        self.rrsets
            .iter()
            .find(|set| set.record_type == record_type)
    }
}

/// A record [`Snapshot::build`] did not serve, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRecord {
    /// The record as given.
    pub record: Record,
    /// Why it is not served.
    pub reason: SkipReason,
}

/// Why a record is not in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its owner is not at or below any served zone's origin.
    OutsideZones,
    /// It is a static record of a zone whose origin an earlier [`ZoneSpec`] already has.
    DuplicateZone,
    /// Its class is not IN.
    NotClassIn(DNSClass),
    /// A SOA record: each zone's SOA comes from its [`ZoneSpec`] only.
    SoaFromZoneSpec,
    /// A pseudo or meta type (OPT, ANY, AXFR, TSIG, …) or a record without data.
    UnsupportedType,
    /// A CNAME at a name that has other data (RFC 1034 §3.6.2): the other data is kept.
    CnameAndOtherData,
    /// A second CNAME at the same name: the first one given is kept.
    SecondCname,
    /// The record cannot be put on the wire (hickory's error).
    Unencodable(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutsideZones => f.write_str("not in any served zone"),
            Self::DuplicateZone => f.write_str("its zone is configured twice"),
            Self::NotClassIn(class) => write!(f, "class {class} is not served (only IN)"),
            Self::SoaFromZoneSpec => f.write_str("the SOA comes from the zone configuration"),
            Self::UnsupportedType => f.write_str("pseudo, meta or empty record"),
            Self::CnameAndOtherData => f.write_str("a CNAME cannot coexist with other data"),
            Self::SecondCname => f.write_str("only one CNAME is allowed at a name"),
            Self::Unencodable(error) => write!(f, "cannot be encoded: {error}"),
        }
    }
}

impl fmt::Display for SkippedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.record.name,
            self.record.record_type(),
            self.reason
        )
    }
}

impl Snapshot {
    /// A snapshot that serves no zone: every query is REFUSED.
    pub fn empty() -> Snapshot {
        Snapshot {
            serial: 0,
            zones: Vec::new(),
        }
    }

    /// Builds a snapshot of `zones` plus the `dynamic` records (from the store), with
    /// `serial` as every zone's SOA serial.
    ///
    /// Static and dynamic records go to the zone with the longest origin that contains
    /// their owner; records of the same owner and type form one RRset, duplicates
    /// removed, with the smallest TTL given. Records that cannot be served are returned
    /// with the reason; the rest of the snapshot is still built.
    pub fn build(
        zones: &[ZoneSpec],
        dynamic: impl IntoIterator<Item = Record>,
        serial: u32,
    ) -> (Snapshot, Vec<SkippedRecord>) {
        let mut skipped = Vec::new();
        let mut builders: Vec<ZoneBuilder> = Vec::with_capacity(zones.len());
        let mut accepted: Vec<&ZoneSpec> = Vec::with_capacity(zones.len());
        for spec in zones {
            let origin = LowerName::new(&fqdn(&spec.origin));
            if builders.iter().any(|b| b.origin == origin) {
                skipped.extend(spec.static_records.iter().map(|record| SkippedRecord {
                    record: record.clone(),
                    reason: SkipReason::DuplicateZone,
                }));
                continue;
            }
            builders.push(ZoneBuilder::new(spec, serial));
            accepted.push(spec);
        }
        builders.sort_by_key(|b| Reverse(b.origin.iter().count()));

        let records = accepted
            .iter()
            .flat_map(|spec| spec.static_records.iter().cloned())
            .chain(dynamic);
        for record in records {
            if let Err(reason) = place(&mut builders, &record) {
                skipped.push(SkippedRecord { record, reason });
            }
        }

        let zones = builders
            .into_iter()
            .map(|builder| builder.finish(&mut skipped))
            .collect();
        (Snapshot { serial, zones }, skipped)
    }

    /// The serial in every zone's SOA.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The origins of the served zones, most specific first.
    pub fn origins(&self) -> impl Iterator<Item = &Name> {
        self.zones.iter().map(|zone| &*zone.origin)
    }

    /// How many records are served, SOA and NS included.
    pub fn record_count(&self) -> usize {
        self.zones
            .iter()
            .flat_map(|zone| zone.nodes.values())
            .flat_map(|node| node.rrsets.iter())
            .map(|set| set.records.len())
            .sum()
    }

    /// The RRset of `record_type` at `name` (any case), as served. For inspection and
    /// tests; queries go through [`crate::Authority`].
    pub fn rrset(&self, name: &Name, record_type: RecordType) -> Option<&[Record]> {
        let name = LowerName::new(&fqdn(name));
        let node = self.zone_for(&name)?.nodes.get(&name)?;
        node.get(record_type).map(|set| &*set.records)
    }

    fn zone_for(&self, name: &LowerName) -> Option<&Zone> {
        self.zones.iter().find(|zone| zone.origin.zone_of(name))
    }

    /// The answer to `qname`/`qtype` (class IN), or `None` when no served zone contains
    /// `qname` (REFUSED).
    pub(crate) fn answer(&self, qname: &LowerName, qtype: RecordType) -> Option<Answer<'_>> {
        let zone = self.zone_for(qname)?;
        let mut answer = Answer::default();
        let Some(node) = zone.nodes.get(qname) else {
            answer.set_negative(ResponseCode::NXDomain, zone);
            return Some(answer);
        };
        if qtype == RecordType::ANY {
            // RFC 8482 §4.1: one RRset that exists at the name, never the whole node.
            match node.rrsets.first() {
                Some(set) => answer.push(set),
                None => answer.set_negative(ResponseCode::NoError, zone),
            }
            return Some(answer);
        }
        if let Some(set) = node.get(qtype) {
            answer.push(set);
        } else if let Some(cname) = node.get(RecordType::CNAME) {
            answer.push(cname);
            self.follow(cname, qtype, &mut answer);
        } else {
            answer.set_negative(ResponseCode::NoError, zone);
        }
        Some(answer)
    }

    /// Appends the RRsets the CNAME chain from `cname` leads to, inside the served zones.
    /// The response code is that of the last name looked up (RFC 6604).
    fn follow<'s>(&'s self, mut cname: &'s RRset, qtype: RecordType, answer: &mut Answer<'s>) {
        for _ in 0..MAX_CNAME_HOPS {
            let Some(target) = &cname.cname_target else {
                return;
            };
            let Some(zone) = self.zone_for(target) else {
                // The chain leaves the served zones: the resolver continues from here.
                return;
            };
            let Some(node) = zone.nodes.get(target) else {
                answer.set_negative(ResponseCode::NXDomain, zone);
                return;
            };
            if let Some(set) = node.get(qtype) {
                answer.push(set);
                return;
            }
            match node.get(RecordType::CNAME) {
                Some(next) if !answer.contains(next) => {
                    answer.push(next);
                    cname = next;
                }
                // A loop: every CNAME of it is in the answer already.
                Some(_) => return,
                None => {
                    answer.set_negative(ResponseCode::NoError, zone);
                    return;
                }
            }
        }
    }
}

/// An answer computed from a [`Snapshot`], borrowing its records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer<'s> {
    pub(crate) rcode: ResponseCode,
    /// The answer section: the RRsets in order (CNAMEs of the chain, then the data).
    parts: [&'s [Record]; MAX_CNAME_HOPS + 2],
    len: usize,
    /// The zone SOA, for a negative answer.
    pub(crate) authority: Option<&'s Record>,
    /// Upper bound of the encoded size of the answer and authority records.
    pub(crate) wire_len: usize,
}

impl Default for Answer<'_> {
    fn default() -> Self {
        Self {
            rcode: ResponseCode::NoError,
            parts: [&[]; MAX_CNAME_HOPS + 2],
            len: 0,
            authority: None,
            wire_len: 0,
        }
    }
}

impl<'s> Answer<'s> {
    fn push(&mut self, set: &'s RRset) {
        if let Some(slot) = self.parts.get_mut(self.len) {
            *slot = &set.records;
            self.len += 1;
            self.wire_len += set.wire_len;
        }
    }

    fn contains(&self, set: &RRset) -> bool {
        self.parts[..self.len]
            .iter()
            .any(|part| std::ptr::eq(part.as_ptr(), set.records.as_ptr()))
    }

    fn set_negative(&mut self, rcode: ResponseCode, zone: &'s Zone) {
        self.rcode = rcode;
        self.authority = Some(&zone.negative_soa);
        self.wire_len += zone.negative_soa_len;
    }

    /// The answer-section records, in order.
    pub(crate) fn records(&self) -> impl Iterator<Item = &'s Record> + Send + use<'s> {
        let parts = self.parts;
        parts.into_iter().take(self.len).flatten()
    }

    /// How many records are in the answer section.
    pub(crate) fn answer_count(&self) -> usize {
        self.parts[..self.len].iter().map(|part| part.len()).sum()
    }
}

/// A zone while a snapshot is being built.
struct ZoneBuilder {
    origin: LowerName,
    negative_soa: Record,
    nodes: HashMap<LowerName, NodeBuilder>,
}

struct NodeBuilder {
    /// By type code: the records with their encoded sizes.
    sets: BTreeMap<u16, Vec<(Record, usize)>>,
}

impl ZoneBuilder {
    fn new(spec: &ZoneSpec, serial: u32) -> Self {
        let name = fqdn(&spec.origin);
        let mut soa = spec.soa.clone();
        soa.serial = serial;
        let minimum = soa.minimum;
        let soa = Record::from_rdata(name.clone(), spec.soa_ttl, RData::SOA(soa));
        let mut negative_soa = soa.clone();
        negative_soa.ttl = spec.soa_ttl.min(minimum);

        let mut builder = Self {
            origin: LowerName::new(&name),
            negative_soa,
            nodes: HashMap::new(),
        };
        let apex = std::iter::once(soa).chain(spec.ns.iter().map(|target| {
            Record::from_rdata(name.clone(), spec.soa_ttl, RData::NS(NS(fqdn(target))))
        }));
        for record in apex {
            // The SOA and NS given in the spec are well-formed names; a failure to encode
            // would only come from an absurd name and is caught again when querying.
            let len = wire_len(&record).unwrap_or(0);
            builder.insert(record, len);
        }
        builder
    }

    fn insert(&mut self, record: Record, len: usize) {
        let set = self
            .nodes
            .entry(LowerName::new(&record.name))
            .or_insert_with(|| NodeBuilder {
                sets: BTreeMap::new(),
            })
            .sets
            .entry(u16::from(record.record_type()))
            .or_default();
        match set.iter_mut().find(|(known, _)| known.data == record.data) {
            Some((known, _)) => known.ttl = known.ttl.min(record.ttl),
            None => set.push((record, len)),
        }
    }

    fn finish(self, skipped: &mut Vec<SkippedRecord>) -> Zone {
        let cname = u16::from(RecordType::CNAME);
        let mut nodes: HashMap<LowerName, Node> = HashMap::with_capacity(self.nodes.len());
        for (name, mut node) in self.nodes {
            if node.sets.len() > 1 {
                if let Some(cnames) = node.sets.remove(&cname) {
                    skipped.extend(cnames.into_iter().map(|(record, _)| SkippedRecord {
                        record,
                        reason: SkipReason::CnameAndOtherData,
                    }));
                }
            } else if let Some(cnames) = node.sets.get_mut(&cname) {
                skipped.extend(cnames.drain(1..).map(|(record, _)| SkippedRecord {
                    record,
                    reason: SkipReason::SecondCname,
                }));
            }
            let rrsets = node.sets.into_values().map(rrset).collect();
            nodes.insert(name, Node { rrsets });
        }

        // Empty non-terminals: every ancestor of an owner, up to the origin, exists.
        let owners: Vec<LowerName> = nodes.keys().cloned().collect();
        for owner in owners {
            let mut name = owner;
            while name != self.origin && !name.is_root() {
                name = name.base_name();
                match nodes.entry(name.clone()) {
                    // Its ancestors are (or will be) added from it.
                    Entry::Occupied(_) => break,
                    Entry::Vacant(slot) => {
                        slot.insert(Node {
                            rrsets: Box::new([]),
                        });
                    }
                }
            }
        }

        let negative_soa_len = wire_len(&self.negative_soa).unwrap_or(0);
        Zone {
            origin: self.origin,
            negative_soa: self.negative_soa,
            negative_soa_len,
            nodes,
        }
    }
}

/// One RRset from its records: one TTL (the smallest), one owner spelling (the first
/// record's), the size, the CNAME target.
fn rrset(records: Vec<(Record, usize)>) -> RRset {
    let ttl = records.iter().map(|(r, _)| r.ttl).min().unwrap_or(0);
    let owner = records.first().map(|(r, _)| r.name.clone());
    let wire_len = records.iter().map(|(_, len)| len).sum();
    let records: Box<[Record]> = records
        .into_iter()
        .map(|(mut record, _)| {
            record.ttl = ttl;
            if let Some(owner) = &owner {
                record.name.clone_from(owner);
            }
            record
        })
        .collect();
    let record_type = records
        .first()
        .map_or(RecordType::ZERO, Record::record_type);
    let cname_target = match records.first().map(|r| &r.data) {
        Some(RData::CNAME(target)) => Some(LowerName::new(&fqdn(&target.0))),
        _ => None,
    };
    RRset {
        record_type,
        records,
        wire_len,
        cname_target,
    }
}

/// Puts a static or dynamic record in the zone with the longest matching origin.
fn place(builders: &mut [ZoneBuilder], record: &Record) -> Result<(), SkipReason> {
    if record.dns_class != DNSClass::IN {
        return Err(SkipReason::NotClassIn(record.dns_class));
    }
    match record.record_type() {
        RecordType::SOA => return Err(SkipReason::SoaFromZoneSpec),
        RecordType::OPT
        | RecordType::ANY
        | RecordType::AXFR
        | RecordType::IXFR
        | RecordType::TSIG
        | RecordType::SIG
        | RecordType::ZERO => return Err(SkipReason::UnsupportedType),
        _ if record.data.is_update() => return Err(SkipReason::UnsupportedType),
        _ => {}
    }
    let mut record = record.clone();
    record.name.set_fqdn(true);
    let owner = LowerName::new(&record.name);
    let zone = builders
        .iter_mut()
        .find(|zone| zone.origin.zone_of(&owner))
        .ok_or(SkipReason::OutsideZones)?;
    let len = wire_len(&record).map_err(SkipReason::Unencodable)?;
    zone.insert(record, len);
    Ok(())
}

/// The encoded size of `record` with uncompressed names: an upper bound of its size in
/// any message.
fn wire_len(record: &Record) -> Result<usize, String> {
    let mut buffer = Vec::with_capacity(64);
    let mut encoder = BinEncoder::new(&mut buffer);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    record.emit(&mut encoder).map_err(|e| e.to_string())?;
    Ok(buffer.len())
}

fn fqdn(name: &Name) -> Name {
    let mut name = name.clone();
    name.set_fqdn(true);
    name
}
