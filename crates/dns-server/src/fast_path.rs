//! The fast path: the common UDP query answered by copying pre-encoded bytes, with no
//! parsing into hickory types, no allocation and no lock.
//!
//! It takes a query only when its answer is certain to be the general path's, byte for
//! byte: opcode QUERY, not a response, one question (class IN, uncompressed name, a
//! data QTYPE: not OPT, AXFR, IXFR or ANY), no answer or authority records, at most one
//! additional record which is an OPT of version 0 whose options hickory does not
//! interpret, and nothing after it. The name must be in a served zone, and the answer
//! one of:
//!
//! - the RRset of QTYPE at the name (not a CNAME chain: a name with a CNAME and no RRset
//!   of QTYPE goes to the general path);
//! - NODATA (the name exists without that type) or NXDOMAIN, with the zone's SOA.
//!
//! The response is the client's header (ID, RD and CD kept; QR and AA set), the client's
//! question bytes (so its letter case, "0x20", is kept), the stored section
//! ([`crate::encoded`]), for an SRV, MX or NS RRset as many groups of its stored
//! additional section (a target's A and AAAA) as fit the client's UDP size, and, when
//! the query had one, our OPT record. When the answer section itself would not fit, the
//! general path answers (with TC). Everything else returns `None` and goes to the general
//! path ([`crate::Authority`] through hickory).

use crate::authority::{ADVERTISED_UDP_PAYLOAD, MAX_UDP_PAYLOAD, OPT_LEN};
use crate::encoded::HEADER_LEN;
use crate::snapshot::Snapshot;
use crate::table::FLAG_GENERAL_ONLY;
use crate::wire::MAX_NAME_LEN;

const QR: u16 = 0x8000;
const OPCODE: u16 = 0x7800;
const AA: u16 = 0x0400;
const RD: u16 = 0x0100;
const CD: u16 = 0x0010;

const TYPE_CNAME: u16 = 5;
const TYPE_OPT: u16 = 41;
const TYPE_IXFR: u16 = 251;
const TYPE_AXFR: u16 = 252;
const TYPE_ANY: u16 = 255;

const RCODE_NXDOMAIN: u16 = 3;

/// EDNS options hickory parses (NSID, DAU, DHU, N3U, client subnet): a malformed one is a
/// FORMERR there, so queries carrying them take the general path.
const PARSED_OPTIONS: [u16; 5] = [3, 5, 6, 7, 8];

/// What the fast path answered, for the query counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answered {
    /// The QTYPE.
    pub(crate) qtype: u16,
    /// NOERROR or NXDOMAIN.
    pub(crate) nxdomain: bool,
}

/// Writes the response to `query` into `out` when the fast path can answer it (see the
/// module documentation); `None` leaves `out` unspecified and the query to the general
/// path.
#[inline]
pub(crate) fn answer(snapshot: &Snapshot, query: &[u8], out: &mut Vec<u8>) -> Option<Answered> {
    let header = query.get(..HEADER_LEN)?;
    let u16_at = |bytes: &[u8], at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
    };
    let flags = u16_at(header, 2)?;
    let counts = (
        u16_at(header, 4)?,
        u16_at(header, 6)?,
        u16_at(header, 8)?,
        u16_at(header, 10)?,
    );
    if flags & (QR | OPCODE) != 0 || !matches!(counts, (1, 0, 0, 0 | 1)) {
        return None;
    }

    // The question name, lowercased into `key`.
    let mut key = [0u8; MAX_NAME_LEN];
    let mut at = HEADER_LEN;
    loop {
        let len = usize::from(*query.get(at)?);
        let start = at - HEADER_LEN;
        if len == 0 {
            key[start] = 0;
            break;
        }
        if len > 63 || start + 1 + len >= MAX_NAME_LEN - 1 {
            return None;
        }
        let label = query.get(at + 1..at + 1 + len)?;
        key[start] = query[at];
        for (to, from) in key[start + 1..start + 1 + len].iter_mut().zip(label) {
            *to = from.to_ascii_lowercase();
        }
        at += 1 + len;
    }
    let name_len = at + 1 - HEADER_LEN;
    let qtype = u16_at(query, at + 1)?;
    let qclass = u16_at(query, at + 3)?;
    let question_end = at + 5;
    if qclass != 1 || matches!(qtype, TYPE_OPT | TYPE_IXFR | TYPE_AXFR | TYPE_ANY) {
        return None;
    }

    // EDNS: the client's UDP size and DO bit.
    let (limit, edns) = if counts.3 == 1 {
        let opt = query.get(question_end..question_end + OPT_LEN)?;
        let payload = u16_at(opt, 3)?;
        let rdlen = usize::from(u16_at(opt, 9)?);
        if opt[0] != 0 || u16_at(opt, 1)? != TYPE_OPT || opt[6] != 0 {
            return None;
        }
        let options = query.get(question_end + OPT_LEN..)?;
        if options.len() != rdlen || !plain_options(options) {
            return None;
        }
        let limit = payload.clamp(512, MAX_UDP_PAYLOAD);
        (usize::from(limit), Some((limit, opt[7] & 0x80)))
    } else {
        if query.len() != question_end {
            return None;
        }
        (512, None)
    };

    let key = &key[..name_len];
    let zone = snapshot.zone_for(key)?;
    let opt_len = edns.map_or(0, |_| OPT_LEN);
    let (rcode, answers, authorities, additionals, section): (u16, u16, u16, u16, &[u8]) =
        match zone.table.get(key) {
            None => (RCODE_NXDOMAIN, 0, 1, 0, zone.negative_tails.get(name_len)?),
            Some(node) => match node.get(qtype) {
                Some(set) if set.flags & FLAG_GENERAL_ONLY == 0 => {
                    // Additional groups that do not fit are left out (no TC); an answer
                    // section that does not fit is the general path's TC.
                    let room = limit.checked_sub(question_end + opt_len)?;
                    let (records, bytes) = set.up_to_group(set.groups_fitting(room)?);
                    (0, set.count, 0, records, bytes)
                }
                Some(_) => return None,
                None if node.get(TYPE_CNAME).is_some() => return None,
                None => (0, 0, 1, 0, zone.negative_tails.get(name_len)?),
            },
        };
    let total = question_end + section.len() + opt_len;
    if total > limit {
        return None;
    }

    out.clear();
    out.reserve(total);
    out.extend_from_slice(&header[..2]);
    out.extend_from_slice(&(QR | AA | (flags & (RD | CD)) | rcode).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&answers.to_be_bytes());
    out.extend_from_slice(&authorities.to_be_bytes());
    out.extend_from_slice(&(additionals + u16::from(edns.is_some())).to_be_bytes());
    out.extend_from_slice(&query[HEADER_LEN..question_end]);
    out.extend_from_slice(section);
    if let Some((limit, dnssec_ok)) = edns {
        let [high, low] = limit.max(ADVERTISED_UDP_PAYLOAD).to_be_bytes();
        out.extend_from_slice(&[0, 0, 41, high, low, 0, 0, dnssec_ok, 0, 0, 0]);
    }
    Some(Answered {
        qtype,
        nxdomain: rcode == RCODE_NXDOMAIN,
    })
}

/// Whether the OPT RDATA is a well-formed list of options hickory keeps as opaque bytes.
fn plain_options(mut options: &[u8]) -> bool {
    while !options.is_empty() {
        let [c0, c1, l0, l1, rest @ ..] = options else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        if PARSED_OPTIONS.contains(&u16::from_be_bytes([*c0, *c1])) || rest.len() < len {
            return false;
        }
        options = &rest[len..];
    }
    true
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::str::FromStr;

    use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    use hickory_proto::rr::{DNSClass, Name, RecordType};

    use super::*;
    use crate::{Authority, Snapshot, ZoneSpec};

    const ZONE: &str = r#"$TTL 300
@       3600 IN SOA ns1 hostmaster 1 3600 600 86400 60
@       3600 IN NS  ns1
@       3600 IN NS  ns2.other.invalid.
ns1          IN A    192.0.2.53
www          IN A    192.0.2.1
www          IN A    192.0.2.2
www          IN AAAA 2001:db8::1
www          IN TXT  "hello" "world"
www          IN MX   10 mail
alias    120 IN CNAME www
_acme-challenge._tcp.www IN SRV 10 5 8080 acme-client
_acme-challenge._tcp.www IN SRV 20 5 8080 acme-client.other.invalid.
_acme-challenge.www IN TXT "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
acme-client  IN A    192.0.2.80
_acme-tls-alpn._tcp.www IN SRV 0 0 443 WWW
_acme-tls-alpn._tcp.www IN SRV 1 0 443 acme-client
_acme-tls-alpn._tcp.www IN SRV 2 0 443 www
_acme-tls-alpn._tcp.www IN SRV 3 0 443 elsewhere.other.invalid.
_acme-challenge._tcp.cn IN CNAME _acme-challenge._tcp.www
_acme-challenge._tcp.many IN SRV 0 0 80 t0
_acme-challenge._tcp.many IN SRV 0 0 80 t1
_acme-challenge._tcp.many IN SRV 0 0 80 t2
_acme-challenge._tcp.many IN SRV 0 0 80 t3
_acme-challenge._tcp.many IN SRV 0 0 80 t4
_acme-challenge._tcp.many IN SRV 0 0 80 t5
_acme-challenge._tcp.many IN SRV 0 0 80 t6
_acme-challenge._tcp.many IN SRV 0 0 80 t7
t0 IN A 192.0.2.10
t0 IN AAAA 2001:db8::10
t1 IN A 192.0.2.11
t1 IN AAAA 2001:db8::11
t2 IN A 192.0.2.12
t2 IN AAAA 2001:db8::12
t3 IN A 192.0.2.13
t3 IN AAAA 2001:db8::13
t4 IN A 192.0.2.14
t4 IN AAAA 2001:db8::14
t5 IN A 192.0.2.15
t5 IN AAAA 2001:db8::15
t6 IN A 192.0.2.16
t6 IN AAAA 2001:db8::16
t7 IN A 192.0.2.17
t7 IN AAAA 2001:db8::17
"#;

    fn authority() -> Authority {
        let origin = Name::from_str("example.test.").unwrap();
        let spec = ZoneSpec::from_zone_text(ZONE, Path::new("example.test.zone"), origin).unwrap();
        let big: Vec<_> = (0..12)
            .map(|i| {
                hickory_proto::rr::Record::from_rdata(
                    Name::from_str("big.example.test.").unwrap(),
                    300,
                    hickory_proto::rr::RData::TXT(hickory_proto::rr::rdata::TXT::new(vec![
                        format!("{i:03}{}", "x".repeat(197)),
                    ])),
                )
            })
            .collect();
        let (snapshot, skipped) = Snapshot::build(&[spec], big, 42);
        assert!(skipped.is_empty(), "{skipped:?}");
        Authority::new(snapshot)
    }

    fn src() -> SocketAddr {
        "127.0.0.1:5353".parse().unwrap()
    }

    fn query(qname: &str, qtype: RecordType, rd: bool, edns: Option<Edns>) -> Vec<u8> {
        let mut message = Message::new(0xbeef, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = rd;
        // `from_ascii`: `from_str` lowercases IDNA-looking labels.
        message.add_query(Query::query(Name::from_ascii(qname).unwrap(), qtype));
        if let Some(edns) = edns {
            message.set_edns(edns);
        }
        message.to_vec().unwrap()
    }

    fn edns(payload: u16, dnssec_ok: bool) -> Edns {
        let mut edns = Edns::new();
        edns.set_max_payload(payload).set_dnssec_ok(dnssec_ok);
        edns
    }

    fn fast(authority: &Authority, query: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        answer(&authority.current(), query, &mut out).map(|_| out)
    }

    fn general(authority: &Authority, query: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        authority
            .respond_datagram(query, src(), &mut out)
            .then_some(out)
    }

    /// `name` with every other ASCII letter in upper case ("0x20").
    fn mixed_case(name: &str) -> String {
        name.chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    #[test]
    fn fast_answers_are_byte_identical_to_the_general_path() {
        let authority = authority();
        // Name, type, answers, authorities, additionals.
        let questions = [
            // The in-zone target's A; the other target is outside the zone.
            (
                "_acme-challenge._tcp.www.example.test.",
                RecordType::SRV,
                2,
                0,
                1,
            ),
            // www (A, A, AAAA) once although named twice and in another case, then
            // acme-client's A.
            (
                "_acme-tls-alpn._tcp.www.example.test.",
                RecordType::SRV,
                4,
                0,
                4,
            ),
            (
                "_acme-challenge.www.example.test.",
                RecordType::TXT,
                1,
                0,
                0,
            ),
            ("www.example.test.", RecordType::A, 2, 0, 0),
            ("www.example.test.", RecordType::AAAA, 1, 0, 0),
            ("www.example.test.", RecordType::TXT, 1, 0, 0),
            // `mail` has no address.
            ("www.example.test.", RecordType::MX, 1, 0, 0),
            ("example.test.", RecordType::SOA, 1, 0, 0),
            // ns1's A; ns2 is outside the zone.
            ("example.test.", RecordType::NS, 2, 0, 1),
            // NODATA: a name with data, an empty non-terminal, a CNAME asked for itself.
            ("www.example.test.", RecordType::SRV, 0, 1, 0),
            ("_tcp.www.example.test.", RecordType::A, 0, 1, 0),
            ("alias.example.test.", RecordType::CNAME, 1, 0, 0),
            // NXDOMAIN.
            ("nope.example.test.", RecordType::A, 0, 1, 0),
            (
                "_acme-challenge._tcp.nope.example.test.",
                RecordType::SRV,
                0,
                1,
                0,
            ),
        ];
        let mut cookie = edns(1232, false);
        cookie
            .options_mut()
            .insert(EdnsOption::Unknown(u16::from(EdnsCode::Cookie), vec![7; 8]));
        let edns_variants = [
            None,
            Some(edns(1232, false)),
            Some(edns(4096, true)),
            Some(edns(8192, false)),
            Some(edns(100, true)),
            Some(cookie),
        ];
        let mut checked = 0;
        for (qname, qtype, answers, authorities, additionals) in questions {
            for name in [
                qname.to_owned(),
                qname.to_ascii_uppercase(),
                mixed_case(qname),
            ] {
                for rd in [false, true] {
                    for edns in &edns_variants {
                        let query = query(&name, qtype, rd, edns.clone());
                        let fast = fast(&authority, &query)
                            .unwrap_or_else(|| panic!("fast path for {name} {qtype} {edns:?}"));
                        let general = general(&authority, &query).unwrap();
                        assert_eq!(fast, general, "{name} {qtype} rd={rd} {edns:?}");

                        // The ID and the question (with its case) are the client's.
                        assert_eq!(fast[..2], [0xbe, 0xef]);
                        let question_end = 12 + name.len() + 1 + 4;
                        assert_eq!(fast[12..question_end], query[12..question_end]);
                        let reply = Message::from_vec(&fast).unwrap();
                        assert_eq!(reply.queries[0].name().to_ascii(), name);
                        assert!(reply.metadata.authoritative);
                        assert_eq!(reply.metadata.recursion_desired, rd);
                        assert_eq!(reply.answers.len(), answers, "{name} {qtype}");
                        assert_eq!(reply.authorities.len(), authorities, "{name} {qtype}");
                        assert_eq!(reply.additionals.len(), additionals, "{name} {qtype}");
                        assert_eq!(reply.edns.is_some(), edns.is_some());
                        assert!(!reply.metadata.truncation);
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 14 * 3 * 2 * 6);
    }

    #[test]
    fn additional_records_that_do_not_fit_are_left_out_without_tc_on_both_paths() {
        let authority = authority();
        let qname = "_acme-challenge._tcp.many.example.test.";
        let mut seen = Vec::new();
        for edns in [
            None,
            Some(edns(512, false)),
            Some(edns(600, false)),
            Some(edns(700, true)),
            Some(edns(1232, false)),
        ] {
            for name in [qname.to_owned(), mixed_case(qname)] {
                let query = query(&name, RecordType::SRV, true, edns.clone());
                let fast = fast(&authority, &query).expect("fast path");
                let general = general(&authority, &query).unwrap();
                assert_eq!(fast, general, "{name} {edns:?}");
                let limit = edns.as_ref().map_or(512, |e| usize::from(e.max_payload()));
                assert!(fast.len() <= limit, "{} > {limit}", fast.len());
                let reply = Message::from_vec(&fast).unwrap();
                assert!(!reply.metadata.truncation, "{edns:?}");
                assert_eq!(reply.answers.len(), 8);
                assert_eq!(reply.edns.is_some(), edns.is_some());
                // Whole targets: A and AAAA together, in the order of the records.
                let additionals = reply.additionals.len();
                assert_eq!(additionals % 2, 0, "{edns:?}");
                for (i, pair) in reply.additionals.chunks(2).enumerate() {
                    assert_eq!(pair[0].name.to_ascii(), format!("t{i}.example.test."));
                    assert_eq!(pair[0].record_type(), RecordType::A);
                    assert_eq!(pair[1].name, pair[0].name);
                    assert_eq!(pair[1].record_type(), RecordType::AAAA);
                }
                seen.push(additionals);
            }
        }
        // 512 bytes without EDNS, then with EDNS (the OPT takes room), 600, 700, 1232.
        assert_eq!(seen, [6, 6, 4, 4, 8, 8, 14, 14, 16, 16]);

        // Over TCP everything goes.
        let query = query(qname, RecordType::SRV, false, None);
        let mut out = Vec::new();
        assert!(authority.respond_message(
            &query,
            src(),
            hickory_server::net::xfer::Protocol::Tcp,
            &mut out
        ));
        assert_eq!(Message::from_vec(&out).unwrap().additionals.len(), 16);
    }

    #[test]
    fn additional_addresses_follow_the_zone_and_stay_out_of_transfers() {
        let authority = authority();
        let snapshot = authority.current();
        let owner = Name::from_str("_acme-challenge._tcp.www.example.test.").unwrap();
        // A transfer or an inspection sees the RRset alone.
        assert_eq!(snapshot.rrset(&owner, RecordType::SRV).unwrap().len(), 2);
        assert!(
            snapshot
                .zone_rrsets(&Name::from_str("example.test.").unwrap())
                .unwrap()
                .all(|set| set.iter().all(|r| r.record_type() != RecordType::OPT))
        );
        // Through a CNAME or for ANY: no additional section.
        for (qname, qtype) in [
            ("_acme-challenge._tcp.www.example.test.", RecordType::ANY),
            ("_acme-challenge._tcp.cn.example.test.", RecordType::SRV),
        ] {
            let reply = general(&authority, &query(qname, qtype, false, None)).unwrap();
            let reply = Message::from_vec(&reply).unwrap();
            assert!(!reply.answers.is_empty(), "{qname} {qtype}");
            assert!(reply.additionals.is_empty(), "{qname} {qtype}");
        }
    }

    #[test]
    fn header_flags_are_patched_like_the_general_path() {
        let authority = authority();
        let base = query("www.example.test.", RecordType::A, false, None);
        // Every combination of AA, TC, RD, RA, Z, AD, CD (and RCODE bits) in a query.
        for bits in 0..0x0800u16 {
            let mut query = base.clone();
            let flags = bits;
            query[2..4].copy_from_slice(&flags.to_be_bytes());
            query[0..2].copy_from_slice(&bits.to_be_bytes());
            let fast = fast(&authority, &query).unwrap();
            assert_eq!(
                Some(&fast),
                general(&authority, &query).as_ref(),
                "{flags:#06x}"
            );
            assert_eq!(fast[..2], bits.to_be_bytes());
        }
    }

    #[test]
    fn opt_fields_hickory_ignores_are_ignored_alike() {
        let authority = authority();
        let base = query(
            "www.example.test.",
            RecordType::A,
            false,
            Some(edns(1232, false)),
        );
        let opt = base.len() - OPT_LEN;
        // Extended RCODE bits and the Z flags of the OPT TTL.
        for (at, value) in [(5, 1), (5, 0xff), (7, 0x7f), (8, 0xff), (7, 0xff)] {
            let mut query = base.clone();
            query[opt + at] = value;
            let fast = fast(&authority, &query).unwrap();
            assert_eq!(
                Some(fast),
                general(&authority, &query),
                "byte {at} = {value:#x}"
            );
        }
    }

    #[test]
    fn unusual_queries_fall_back_to_the_general_path() {
        let authority = authority();
        let with = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut query = query(
                "www.example.test.",
                RecordType::A,
                false,
                Some(edns(1232, false)),
            );
            edit(&mut query);
            query
        };
        let mut subnet = edns(1232, false);
        subnet
            .options_mut()
            .insert(EdnsOption::Unknown(8, vec![0, 1, 24, 0, 192, 0, 2]));
        let mut notify = Message::new(1, MessageType::Query, OpCode::Notify);
        notify.add_query(Query::query(
            Name::from_str("www.example.test.").unwrap(),
            RecordType::A,
        ));
        let mut chaos = Query::query(
            Name::from_str("www.example.test.").unwrap(),
            RecordType::TXT,
        );
        chaos.set_query_class(DNSClass::CH);
        let mut chaos_message = Message::new(1, MessageType::Query, OpCode::Query);
        chaos_message.add_query(chaos);
        let mut two = Message::new(1, MessageType::Query, OpCode::Query);
        two.add_query(Query::query(
            Name::from_str("www.example.test.").unwrap(),
            RecordType::A,
        ));
        two.add_query(Query::query(
            Name::from_str("www.example.test.").unwrap(),
            RecordType::AAAA,
        ));

        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "ANY",
                query("www.example.test.", RecordType::ANY, false, None),
            ),
            (
                "CNAME chain",
                query("alias.example.test.", RecordType::A, false, None),
            ),
            (
                "AXFR",
                query("example.test.", RecordType::AXFR, false, None),
            ),
            (
                "outside the zones",
                query("www.example.invalid.", RecordType::A, false, None),
            ),
            (
                "too big without EDNS",
                query("big.example.test.", RecordType::TXT, false, None),
            ),
            (
                "too big for 1232",
                query(
                    "big.example.test.",
                    RecordType::TXT,
                    false,
                    Some(edns(1232, false)),
                ),
            ),
            ("NOTIFY", notify.to_vec().unwrap()),
            ("class CH", chaos_message.to_vec().unwrap()),
            ("two questions", two.to_vec().unwrap()),
            (
                "client subnet option",
                query("www.example.test.", RecordType::A, false, Some(subnet)),
            ),
            (
                "EDNS version 1",
                with(&|q| {
                    let at = q.len() - 5;
                    q[at] = 1;
                }),
            ),
            ("a response", with(&|q| q[2] |= 0x80)),
            ("trailing bytes", with(&|q| q.push(0))),
            (
                "truncated OPT",
                with(&|q| {
                    q.pop();
                }),
            ),
            ("short header", vec![0x12, 0x34, 0, 0]),
            ("compressed question name", {
                let mut q = vec![0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
                q.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
                q
            }),
        ];
        for (what, query) in cases {
            assert_eq!(
                fast(&authority, &query),
                None,
                "{what} must take the general path"
            );
        }
        // The general path still answers them as before (spot checks).
        let reply = general(
            &authority,
            &query("big.example.test.", RecordType::TXT, false, None),
        )
        .unwrap();
        assert!(Message::from_vec(&reply).unwrap().metadata.truncation);
        let reply = general(
            &authority,
            &query("alias.example.test.", RecordType::A, false, None),
        )
        .unwrap();
        assert_eq!(Message::from_vec(&reply).unwrap().answers.len(), 3);
        assert_eq!(general(&authority, &with(&|q| q[2] |= 0x80)), None);
    }

    #[test]
    fn a_replaced_snapshot_is_answered_at_once() {
        let authority = authority();
        let query = query("www.example.test.", RecordType::A, false, None);
        assert!(fast(&authority, &query).is_some());
        authority.replace(Snapshot::empty());
        assert_eq!(
            fast(&authority, &query),
            None,
            "REFUSED comes from the general path"
        );
        let reply = Message::from_vec(&general(&authority, &query).unwrap()).unwrap();
        assert_eq!(
            reply.metadata.response_code,
            hickory_proto::op::ResponseCode::Refused
        );
    }
}
