//! The immutable in-memory view of every served zone, and how a question is answered from
//! it by the general path.
//!
//! [`Snapshot::build`] does all the work that does not depend on the question: it places
//! each record in the zone with the longest matching origin, merges records into RRsets
//! (one TTL per RRset: the smallest given; one owner spelling: the first given), resolves
//! CNAME conflicts, adds the empty non-terminals (so `_tcp.www` exists when
//! `_acme-challenge._tcp.www` does), and encodes every RRset once, as the answer section
//! of a response ([`crate::encoded`]), into each zone's [`NameTable`]. The records are
//! not kept in any other form: the general path decodes the few RRsets it needs.
//!
//! An SRV, MX or NS RRset is encoded with its additional section as well: the A and AAAA
//! RRsets of each target that is in the same zone, in the order of the records, each
//! target once (as BIND, Knot and NSD add them). They are taken from the records of the
//! snapshot being built, so every build (zone-sync rebuilds the whole snapshot after each
//! change) carries a target's current addresses in every RRset that names it.
//!
//! Building sorts references to the records (wire form: the zone specs' static records in
//! place, the dynamic ones in one buffer) by owner and type instead of growing a map per
//! name, so the transient memory is a few bytes per record.

use std::cmp::{Ordering, Reverse};
use std::fmt;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::NS;
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordData, RecordType};

use crate::encoded::{self, NegativeTails};
use crate::records::{self, WireRecord};
use crate::table::{FLAG_GENERAL_ONLY, NameTable, NewAdditional, NewSet, Set};
use crate::wire::{self, MAX_NAME_LEN};
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

/// One served zone.
#[derive(Debug)]
pub(crate) struct Zone {
    origin: Name,
    /// The origin as a lowercase wire name.
    pub(crate) origin_key: Box<[u8]>,
    /// The SOA for the authority section of negative answers: TTL = min(SOA TTL, minimum).
    negative_soa: Record,
    negative_soa_len: usize,
    /// `negative_soa` encoded after questions of every length (fast path).
    pub(crate) negative_tails: NegativeTails,
    /// Every name that exists in the zone, including empty non-terminals.
    pub(crate) table: NameTable,
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
        let mut builders: Vec<ZoneBuilder<'_>> = Vec::with_capacity(zones.len());
        for spec in zones {
            let origin = fqdn(&spec.origin);
            let mut key = [0; MAX_NAME_LEN];
            let Some(len) = wire::key_of(&origin, &mut key) else {
                continue;
            };
            if builders.iter().any(|b| *b.origin_key == key[..len]) {
                skipped.extend(spec.static_records.iter().map(|record| SkippedRecord {
                    record,
                    reason: SkipReason::DuplicateZone,
                }));
                continue;
            }
            builders.push(ZoneBuilder::new(spec, origin, key[..len].into(), serial));
        }
        builders.sort_by_key(|b| Reverse(b.origin.num_labels()));

        // Records not in wire form yet (apex SOA and NS, dynamic records, the odd static
        // ones) go to one buffer first; references into it are taken once it is complete.
        let mut arena = Vec::new();
        let mut pending: Vec<(usize, usize, usize)> = Vec::new();
        for (zone, builder) in builders.iter().enumerate() {
            for record in builder.apex_records() {
                let start = arena.len();
                if records::encode(&record, &mut arena).is_ok() {
                    pending.push((zone, start, arena.len()));
                }
            }
        }
        for builder in &builders {
            for record in builder.spec.static_records.other() {
                add(
                    &builders,
                    record.clone(),
                    &mut arena,
                    &mut pending,
                    &mut skipped,
                );
            }
        }
        let apex_and_other = pending.len();
        for record in dynamic {
            add(
                &builders,
                fqdn_record(record),
                &mut arena,
                &mut pending,
                &mut skipped,
            );
        }

        // Apex records first, then static records in the order of the specs, then dynamic
        // ones: "first given" is this order.
        for &(zone, start, end) in &pending[..apex_and_other] {
            builders[zone].records.push(Rec::new(&arena[start..end]));
        }
        let specs: Vec<&ZoneSpec> = builders.iter().map(|b| b.spec).collect();
        for spec in specs {
            for wire_record in spec.static_records.wire_records() {
                let mut key = [0; MAX_NAME_LEN];
                let zone = WireRecord::parse(wire_record).and_then(|parts| {
                    let len = parts.owner.len();
                    key[..len].copy_from_slice(parts.owner);
                    key[..len].make_ascii_lowercase();
                    builders
                        .iter()
                        .position(|b| wire::is_at_or_below(&key[..len], &b.origin_key))
                });
                match zone {
                    Some(zone) => builders[zone].records.push(Rec::new(wire_record)),
                    None => {
                        if let Some(record) = records::decode(wire_record) {
                            skipped.push(SkippedRecord {
                                record,
                                reason: SkipReason::OutsideZones,
                            });
                        }
                    }
                }
            }
        }
        for &(zone, start, end) in &pending[apex_and_other..] {
            builders[zone].records.push(Rec::new(&arena[start..end]));
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
        self.zones.iter().map(|zone| &zone.origin)
    }

    /// How many records are served, SOA and NS included.
    pub fn record_count(&self) -> usize {
        self.zones
            .iter()
            .flat_map(|zone| zone.table.nodes())
            .flat_map(|(_, node)| node.sets())
            .map(|set| usize::from(set.count))
            .sum()
    }

    /// How many names exist (empty non-terminals included), over all zones.
    pub fn name_count(&self) -> usize {
        self.zones.iter().map(|zone| zone.table.len()).sum()
    }

    /// The RRset of `record_type` at `name` (any case), as served. For inspection and
    /// tests; queries go through [`crate::Authority`].
    pub fn rrset(&self, name: &Name, record_type: RecordType) -> Option<Vec<Record>> {
        let mut key = [0; MAX_NAME_LEN];
        let len = wire::key_of(&fqdn(name), &mut key)?;
        let key = &key[..len];
        let set = self
            .zone_for(key)?
            .table
            .get(key)?
            .get(record_type.into())?;
        decode_set(len, set)
    }

    /// The served zone whose origin is exactly `origin` (any case).
    fn zone_at(&self, origin: &Name) -> Option<&Zone> {
        let mut key = [0; MAX_NAME_LEN];
        let len = wire::key_of(&fqdn(origin), &mut key)?;
        self.zones
            .iter()
            .find(|zone| *zone.origin_key == key[..len])
    }

    /// The origin of the zone `name` is in (the longest match), if any.
    pub fn zone_of(&self, name: &Name) -> Option<&Name> {
        let mut key = [0; MAX_NAME_LEN];
        let len = wire::key_of(&fqdn(name), &mut key)?;
        self.zone_for(&key[..len]).map(|zone| &zone.origin)
    }

    /// The SOA record of the zone at `origin`, with this snapshot's serial.
    pub fn soa(&self, origin: &Name) -> Option<Record> {
        self.rrset(origin, RecordType::SOA)?.into_iter().next()
    }

    /// Every RRset of the zone at `origin` (any case), the SOA RRset first: the
    /// contents of a zone transfer, decoded one RRset at a time.
    pub fn zone_rrsets(&self, origin: &Name) -> Option<impl Iterator<Item = Vec<Record>> + '_> {
        let zone = self.zone_at(origin)?;
        let soa = self.soa(origin)?;
        let rest = zone.table.nodes().flat_map(|(key, node)| {
            node.sets()
                .filter(|set| set.record_type != u16::from(RecordType::SOA))
                .filter_map(move |set| decode_set(key.len(), set))
        });
        Some(std::iter::once(vec![soa]).chain(rest))
    }

    /// Every RRset at `name` (any case) in the zone that holds it, SOA included.
    pub fn rrsets_at(&self, name: &Name) -> Vec<Vec<Record>> {
        let mut key = [0; MAX_NAME_LEN];
        let Some(len) = wire::key_of(&fqdn(name), &mut key) else {
            return Vec::new();
        };
        let key = &key[..len];
        let Some(node) = self.zone_for(key).and_then(|zone| zone.table.get(key)) else {
            return Vec::new();
        };
        node.sets().filter_map(|set| decode_set(len, set)).collect()
    }

    /// The zone of a lowercase wire name.
    #[inline]
    pub(crate) fn zone_for(&self, key: &[u8]) -> Option<&Zone> {
        self.zones
            .iter()
            .find(|zone| wire::is_at_or_below(key, &zone.origin_key))
    }

    /// The answer to `qname`/`qtype` (class IN), or `None` when no served zone contains
    /// `qname` (REFUSED).
    pub(crate) fn answer(&self, qname: &LowerName, qtype: RecordType) -> Option<Answer> {
        let mut key = [0; MAX_NAME_LEN];
        let len = wire::key_of(qname, &mut key)?;
        let key = &key[..len];
        let zone = self.zone_for(key)?;
        let mut answer = Answer::default();
        let Some(node) = zone.table.get(key) else {
            answer.set_negative(ResponseCode::NXDomain, zone);
            return Some(answer);
        };
        if qtype == RecordType::ANY {
            // RFC 8482 §4.1: one RRset that exists at the name, never the whole node.
            match node.first() {
                Some(set) => {
                    answer.push(len, set);
                }
                None => answer.set_negative(ResponseCode::NoError, zone),
            }
            return Some(answer);
        }
        if let Some(set) = node.get(qtype.into()) {
            answer.push(len, set);
            answer.set_additional(len, set);
        } else if let Some(cname) = node.get(RecordType::CNAME.into()) {
            let target = answer.push(len, cname);
            self.follow(target, qtype, &mut answer);
        } else {
            answer.set_negative(ResponseCode::NoError, zone);
        }
        Some(answer)
    }

    /// Appends the RRsets the CNAME chain from `target` leads to, inside the served zones.
    /// The response code is that of the last name looked up (RFC 6604).
    fn follow(&self, mut target: Option<Name>, qtype: RecordType, answer: &mut Answer) {
        for _ in 0..MAX_CNAME_HOPS {
            let Some(name) = target.take() else {
                return;
            };
            let mut key = [0; MAX_NAME_LEN];
            let Some(len) = wire::key_of(&name, &mut key) else {
                return;
            };
            let key = &key[..len];
            let Some(zone) = self.zone_for(key) else {
                // The chain leaves the served zones: the resolver continues from here.
                return;
            };
            let Some(node) = zone.table.get(key) else {
                answer.set_negative(ResponseCode::NXDomain, zone);
                return;
            };
            if let Some(set) = node.get(qtype.into()) {
                answer.push(len, set);
                return;
            }
            match node.get(RecordType::CNAME.into()) {
                Some(next) if !answer.contains(next) => target = answer.push(len, next),
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

/// The records of a stored RRset, decoded.
fn decode_set(name_len: usize, set: Set<'_>) -> Option<Vec<Record>> {
    encoded::decode_after_question(name_len, set.bytes, usize::from(set.count))
}

/// An answer computed from a [`Snapshot`] by the general path.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    pub(crate) rcode: ResponseCode,
    /// The answer section: the RRsets in order (CNAMEs of the chain, then the data).
    records: Vec<Record>,
    /// The RRsets added, by address, to stop at a CNAME loop.
    sets: Vec<usize>,
    /// The zone SOA, for a negative answer.
    pub(crate) authority: Option<Record>,
    /// Upper bound of the encoded size of the answer and authority records.
    pub(crate) wire_len: usize,
    /// The additional section of a direct answer (an RRset with one, asked for itself).
    pub(crate) additional: Vec<Record>,
    /// Per group of `additional`: the records up to its end, and the exact encoded size
    /// of the answer and additional sections up to there.
    pub(crate) additional_groups: Vec<(usize, usize)>,
}

impl Answer {
    /// Adds the RRset; returns the CNAME target when it is a CNAME RRset.
    fn push(&mut self, name_len: usize, set: Set<'_>) -> Option<Name> {
        if self.sets.len() >= MAX_CNAME_HOPS + 2 {
            return None;
        }
        let records = decode_set(name_len, set).unwrap_or_default();
        self.sets.push(set.bytes.as_ptr() as usize);
        self.wire_len += set.bound as usize;
        let target = match records.first().map(|r| &r.data) {
            Some(RData::CNAME(target)) => Some(fqdn(&target.0)),
            _ => None,
        };
        self.records.extend(records);
        target
    }

    fn contains(&self, set: Set<'_>) -> bool {
        self.sets.contains(&(set.bytes.as_ptr() as usize))
    }

    fn set_negative(&mut self, rcode: ResponseCode, zone: &Zone) {
        self.rcode = rcode;
        self.authority = Some(zone.negative_soa.clone());
        self.wire_len += zone.negative_soa_len;
    }

    /// The answer-section records, in order.
    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    /// The additional section of the RRset answered directly (the answer so far must be
    /// exactly that RRset).
    fn set_additional(&mut self, name_len: usize, set: Set<'_>) {
        let groups = set.groups();
        if groups == 0 {
            return;
        }
        let (total, bytes) = set.up_to_group(groups);
        let count = usize::from(set.count);
        let Some(mut records) =
            encoded::decode_after_question(name_len, bytes, count + usize::from(total))
        else {
            return;
        };
        self.additional = records.split_off(count);
        self.additional_groups = (1..=groups)
            .map(|group| {
                let (records, bytes) = set.up_to_group(group);
                (usize::from(records), bytes.len())
            })
            .collect();
    }

    /// Keeps the additional records of the most groups whose answer and additional
    /// sections take at most `room` bytes (the answer itself is known to fit).
    pub(crate) fn fit_additional(&mut self, room: usize) {
        let keep = self
            .additional_groups
            .iter()
            .take_while(|(_, len)| *len <= room)
            .last()
            .map_or(0, |(records, _)| *records);
        self.additional.truncate(keep);
    }

    /// How many records are in the answer section.
    pub(crate) fn answer_count(&self) -> usize {
        self.records.len()
    }
}

/// A record while a snapshot is built: its uncompressed wire form.
#[derive(Clone, Copy)]
struct Rec<'a> {
    wire: &'a [u8],
    owner_len: u8,
    record_type: u16,
}

impl<'a> Rec<'a> {
    fn new(wire: &'a [u8]) -> Self {
        let parts = WireRecord::parse(wire);
        Self {
            wire,
            owner_len: parts
                .as_ref()
                .and_then(|p| u8::try_from(p.owner.len()).ok())
                .unwrap_or(0),
            record_type: parts.map_or(0, |p| p.record_type),
        }
    }

    fn owner(&self) -> &'a [u8] {
        &self.wire[..usize::from(self.owner_len)]
    }

    fn same_owner(&self, other: &Rec<'_>) -> bool {
        self.owner().eq_ignore_ascii_case(other.owner())
    }

    fn cmp_owner_type(&self, other: &Rec<'_>) -> Ordering {
        let lower = |b: &u8| b.to_ascii_lowercase();
        self.owner()
            .iter()
            .map(lower)
            .cmp(other.owner().iter().map(lower))
            .then(self.record_type.cmp(&other.record_type))
    }

    fn ttl(&self) -> u32 {
        WireRecord::parse(self.wire).map_or(0, |p| p.ttl)
    }

    fn rdata(&self) -> &'a [u8] {
        WireRecord::parse(self.wire).map_or(&[], |p| p.rdata)
    }

    fn record(&self) -> Option<Record> {
        records::decode(self.wire)
    }

    /// Same data: the same bytes, or (names compare without case) the same decoded data.
    fn same_data(&self, other: &Rec<'_>) -> bool {
        let (a, b) = (self.rdata(), other.rdata());
        a == b
            || (a.eq_ignore_ascii_case(b)
                && matches!((self.record(), other.record()), (Some(x), Some(y)) if x.data == y.data))
    }
}

/// A zone while a snapshot is being built.
struct ZoneBuilder<'s> {
    spec: &'s ZoneSpec,
    origin: Name,
    origin_key: Box<[u8]>,
    soa: Record,
    negative_soa: Record,
    records: Vec<Rec<'s>>,
}

impl<'s> ZoneBuilder<'s> {
    fn new(spec: &'s ZoneSpec, origin: Name, origin_key: Box<[u8]>, serial: u32) -> Self {
        let mut soa = spec.soa.clone();
        soa.serial = serial;
        let minimum = soa.minimum;
        let soa = Record::from_rdata(origin.clone(), spec.soa_ttl, RData::SOA(soa));
        let mut negative_soa = soa.clone();
        negative_soa.ttl = spec.soa_ttl.min(minimum);
        Self {
            spec,
            origin,
            origin_key,
            soa,
            negative_soa,
            records: Vec::new(),
        }
    }

    /// The SOA, then the NS records from the spec.
    fn apex_records(&self) -> impl Iterator<Item = Record> + '_ {
        std::iter::once(self.soa.clone()).chain(self.spec.ns.iter().map(|target| {
            Record::from_rdata(
                self.origin.clone(),
                self.spec.soa_ttl,
                RData::NS(NS(fqdn(target))),
            )
        }))
    }

    fn finish(mut self, skipped: &mut Vec<SkippedRecord>) -> Zone {
        // Stable: records of one RRset stay in the order given.
        self.records.sort_by(Rec::cmp_owner_type);
        let records = std::mem::take(&mut self.records);
        let mut table = NameTable::new();

        let mut sets: Vec<NewSet> = Vec::new();
        let mut key = [0; MAX_NAME_LEN];
        for node in records.chunk_by(Rec::same_owner) {
            let len = node[0].owner().len();
            key[..len].copy_from_slice(node[0].owner());
            key[..len].make_ascii_lowercase();
            let key = &key[..len];
            sets.clear();

            let mut by_type: Vec<Vec<(Rec<'_>, u32)>> = node
                .chunk_by(|a, b| a.record_type == b.record_type)
                .map(dedup)
                .collect();
            let cname = u16::from(RecordType::CNAME);
            if by_type.len() > 1 {
                by_type.retain(|set| {
                    let is_cname = set[0].0.record_type == cname;
                    if is_cname {
                        skip_all(
                            set.iter().map(|(r, _)| r),
                            SkipReason::CnameAndOtherData,
                            skipped,
                        );
                    }
                    !is_cname
                });
            } else if let Some(set) = by_type.first_mut()
                && set[0].0.record_type == cname
                && set.len() > 1
            {
                skip_all(
                    set[1..].iter().map(|(r, _)| r),
                    SkipReason::SecondCname,
                    skipped,
                );
                set.truncate(1);
            }

            for set in &by_type {
                match encode_set(key, set, &records) {
                    Ok(new) => sets.push(new),
                    Err(error) => skip_all(
                        set.iter().map(|(r, _)| r),
                        SkipReason::Unencodable(error),
                        skipped,
                    ),
                }
            }
            if !sets.is_empty() {
                table.insert(key, &sets);
            }
        }

        // Empty non-terminals: every ancestor of an owner, up to the origin, exists.
        for node in records.chunk_by(Rec::same_owner) {
            let len = node[0].owner().len();
            key[..len].copy_from_slice(node[0].owner());
            key[..len].make_ascii_lowercase();
            let mut name = &key[..len];
            if !table.contains(name) {
                continue;
            }
            while name != &*self.origin_key {
                let Some(parent) = wire::parent(name) else {
                    break;
                };
                name = parent;
                if !table.insert(name, &[]) {
                    // Its ancestors are (or will be) added from it.
                    break;
                }
            }
        }
        drop(records);
        table.shrink_to_fit();

        let negative_soa_len = {
            let mut wire = Vec::new();
            records::encode(&self.negative_soa, &mut wire).map_or(0, |()| wire.len())
        };
        let negative_tails = NegativeTails::new(&self.negative_soa, self.origin_key.len());
        Zone {
            origin: self.origin,
            origin_key: self.origin_key,
            negative_soa: self.negative_soa,
            negative_soa_len,
            negative_tails,
            table,
        }
    }
}

/// The records of one RRset without duplicates, each with the smallest TTL given for it.
fn dedup<'a>(records: &[Rec<'a>]) -> Vec<(Rec<'a>, u32)> {
    let mut kept: Vec<(Rec<'a>, u32)> = Vec::with_capacity(records.len());
    for record in records {
        let ttl = record.ttl();
        match kept.iter_mut().find(|(known, _)| known.same_data(record)) {
            Some((_, known_ttl)) => *known_ttl = (*known_ttl).min(ttl),
            None => kept.push((*record, ttl)),
        }
    }
    kept
}

fn skip_all<'a>(
    records: impl Iterator<Item = &'a Rec<'a>>,
    reason: SkipReason,
    skipped: &mut Vec<SkippedRecord>,
) {
    skipped.extend(records.filter_map(Rec::record).map(|record| SkippedRecord {
        record,
        reason: reason.clone(),
    }));
}

/// Types whose hickory decoding re-encodes to the same bytes (checked for the others).
const ROUND_TRIP_TYPES: [RecordType; 9] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::NS,
    RecordType::PTR,
    RecordType::MX,
    RecordType::TXT,
    RecordType::SRV,
    RecordType::SOA,
];

/// The records of one RRset as served: one TTL (the smallest), one owner spelling (the
/// first record's).
fn rrset_records(set: &[(Rec<'_>, u32)]) -> Result<Vec<Record>, String> {
    let ttl = set.iter().map(|(_, ttl)| *ttl).min().unwrap_or(0);
    let mut records = Vec::with_capacity(set.len());
    let mut owner: Option<Name> = None;
    for (rec, _) in set {
        let mut record = rec.record().ok_or_else(|| "cannot be decoded".to_owned())?;
        record.ttl = ttl;
        match &owner {
            Some(owner) => record.name.clone_from(owner),
            None => owner = Some(record.name.clone()),
        }
        records.push(record);
    }
    Ok(records)
}

/// The name an SRV, MX or NS record points to (the names whose addresses go into the
/// additional section).
fn target_of(record: &Record) -> Option<&Name> {
    match &record.data {
        RData::SRV(srv) => Some(&srv.target),
        RData::MX(mx) => Some(&mx.exchange),
        RData::NS(ns) => Some(&ns.0),
        _ => None,
    }
}

/// The additional section of an RRset: per distinct target (in record order) with
/// addresses among `zone_records` (one zone's, sorted by [`Rec::cmp_owner_type`]), its A
/// then its AAAA records, as they are served.
fn additional_groups(answers: &[Record], zone_records: &[Rec<'_>]) -> Vec<Vec<Record>> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut groups = Vec::new();
    for target in answers.iter().filter_map(target_of) {
        let mut key = [0; MAX_NAME_LEN];
        let Some(len) = wire::key_of(&fqdn(target), &mut key) else {
            continue;
        };
        let key = &key[..len];
        if seen.iter().any(|k| k == key) {
            continue;
        }
        seen.push(key.to_vec());
        let lower = |b: &u8| b.to_ascii_lowercase();
        let start = zone_records.partition_point(|rec| {
            rec.owner()
                .iter()
                .map(lower)
                .cmp(key.iter().copied())
                .is_lt()
        });
        let at_target = zone_records[start..]
            .iter()
            .take_while(|rec| rec.owner().eq_ignore_ascii_case(key))
            .count();
        let node = &zone_records[start..start + at_target];
        let mut group = Vec::new();
        for record_type in [RecordType::A, RecordType::AAAA] {
            let code = u16::from(record_type);
            let of_type: Vec<Rec<'_>> = node
                .iter()
                .filter(|rec| rec.record_type == code)
                .copied()
                .collect();
            if of_type.is_empty() {
                continue;
            }
            if let Ok(records) = rrset_records(&dedup(&of_type)) {
                group.extend(records);
            }
        }
        if !group.is_empty() {
            groups.push(group);
        }
    }
    groups
}

/// One RRset encoded as the answer to a question for `key`; an SRV, MX or NS RRset with
/// its additional section (the addresses of its targets among `zone_records`).
fn encode_set(
    key: &[u8],
    set: &[(Rec<'_>, u32)],
    zone_records: &[Rec<'_>],
) -> Result<NewSet, String> {
    let records = rrset_records(set)?;
    let record_type = set.first().map_or(0, |(rec, _)| rec.record_type);
    let count = u16::try_from(records.len()).map_err(|_| "too many records".to_owned())?;
    let groups = if matches!(
        RecordType::from(record_type),
        RecordType::SRV | RecordType::MX | RecordType::NS
    ) {
        additional_groups(&records, zone_records)
    } else {
        Vec::new()
    };
    let (bytes, additional): (Vec<u8>, Option<NewAdditional>) = if groups.is_empty() {
        (
            encoded::encode_after_question(key, record_type, &records)?,
            None,
        )
    } else {
        let (bytes, additional) =
            encoded::encode_with_additional(key, record_type, &records, &groups)?;
        (bytes, Some(additional))
    };
    let bound: usize = set.iter().map(|(rec, _)| rec.wire.len()).sum();
    let mut flags = 0;
    if !ROUND_TRIP_TYPES.contains(&RecordType::from(record_type)) {
        let again = encoded::decode_after_question(key.len(), &bytes, records.len())
            .and_then(|decoded| encoded::encode_after_question(key, record_type, &decoded).ok());
        if again.as_deref() != Some(&bytes[..]) {
            flags |= FLAG_GENERAL_ONLY;
        }
    }
    Ok(NewSet {
        record_type,
        count,
        flags,
        bound: u32::try_from(bound).unwrap_or(u32::MAX),
        bytes,
        additional,
    })
}

/// Places a record not in wire form yet: appended to `arena`, its zone and range to
/// `pending`; or skipped.
fn add(
    builders: &[ZoneBuilder<'_>],
    record: Record,
    arena: &mut Vec<u8>,
    pending: &mut Vec<(usize, usize, usize)>,
    skipped: &mut Vec<SkippedRecord>,
) {
    let placed = place(builders, &record).and_then(|zone| {
        let start = arena.len();
        records::encode(&record, arena)
            .map(|()| (zone, start, arena.len()))
            .map_err(SkipReason::Unencodable)
    });
    match placed {
        Ok(placed) => pending.push(placed),
        Err(reason) => skipped.push(SkippedRecord { record, reason }),
    }
}

/// The zone (index into `builders`) of a static or dynamic record, or why it is skipped.
fn place(builders: &[ZoneBuilder<'_>], record: &Record) -> Result<usize, SkipReason> {
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
    let mut key = [0; MAX_NAME_LEN];
    let len = wire::key_of(&record.name, &mut key).ok_or(SkipReason::OutsideZones)?;
    builders
        .iter()
        .position(|b| wire::is_at_or_below(&key[..len], &b.origin_key))
        .ok_or(SkipReason::OutsideZones)
}

fn fqdn(name: &Name) -> Name {
    let mut name = name.clone();
    name.set_fqdn(true);
    name
}

fn fqdn_record(mut record: Record) -> Record {
    record.name.set_fqdn(true);
    record
}
