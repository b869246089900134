//! What the two datagram targets share: the snapshot they answer from and the checks
//! every response must pass.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;

use dns_server::{Authority, MAX_UDP_PAYLOAD, Snapshot, ZoneSpec};
use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record};

/// The test suite's zone file (`tests/dns/fixtures`).
const ZONE: &str = include_str!("../../tests/dns/fixtures/example.test.zone");

/// Largest datagram the server reads (`server.rs`); longer ones are cut there.
pub const MAX_UDP_QUERY: usize = 4096;

pub fn src() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5353))
}

fn name(text: &str) -> Name {
    Name::from_str(text).expect("a valid name")
}

fn txt(owner: &str, value: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::TXT(TXT::new(vec![value.to_owned()])),
    )
}

fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(name(target))))
}

/// The zones and records of the DNS test harness, in small: the zone file, a child
/// zone and a second zone; RRsets of several types, CNAME chains (inside, across, out of
/// the zones, dangling, a loop, longer than the hop limit), an empty non-terminal, and
/// TXT sets of about 0.9, 2 and 4.7 KB (truncation at 512, 1232 and 4096 bytes).
pub static AUTHORITY: LazyLock<Authority> = LazyLock::new(|| {
    let example =
        ZoneSpec::from_zone_text(ZONE, Path::new("example.test.zone"), name("example.test."))
            .expect("the fixture zone parses");
    let programmatic = |origin: &str| {
        let origin = name(origin);
        ZoneSpec {
            soa: SOA::new(
                origin.prepend_label("ns").expect("label"),
                origin.prepend_label("hostmaster").expect("label"),
                1,
                3600,
                600,
                86400,
                300,
            ),
            soa_ttl: 30,
            ns: vec![name("ns1.example.test.")],
            static_records: vec![Record::from_rdata(
                origin.prepend_label("host").expect("label"),
                300,
                RData::A(A::new(198, 51, 100, 7)),
            )]
            .into(),
            origin,
        }
    };
    let zones = [
        example,
        programmatic("sub.example.test."),
        programmatic("other.test."),
    ];
    let mut records = vec![
        txt(
            "_acme-challenge.www.example.test.",
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
        ),
        Record::from_rdata(
            name("multi.example.test."),
            300,
            RData::A(A::new(192, 0, 2, 10)),
        ),
        Record::from_rdata(
            name("multi.example.test."),
            300,
            RData::AAAA(AAAA::from_str("2001:db8::10").expect("address")),
        ),
        txt("multi.example.test.", "multi"),
        cname("c1.example.test.", "c2.example.test."),
        cname("c2.example.test.", "www.example.test."),
        cname("cross.example.test.", "host.other.test."),
        cname("ext.example.test.", "target.elsewhere.invalid."),
        cname("dangling.example.test.", "nothing.example.test."),
        cname("loop1.example.test.", "loop2.example.test."),
        cname("loop2.example.test.", "loop1.example.test."),
        txt("a.b.deep.example.test.", "deep"),
    ];
    for i in 0..9 {
        let target = if i == 8 {
            "www.example.test.".to_owned()
        } else {
            format!("n{}.example.test.", i + 1)
        };
        records.push(cname(&format!("n{i}.example.test."), &target));
    }
    for (owner, count) in [("medium", 4), ("large", 9), ("big", 22)] {
        for i in 0..count {
            records.push(txt(
                &format!("{owner}.example.test."),
                &format!("{i:03}{}", "x".repeat(197)),
            ));
        }
    }
    let (snapshot, skipped) = Snapshot::build(&zones, records, 7);
    assert!(skipped.is_empty(), "{skipped:?}");
    Authority::new(snapshot)
});

/// The UDP size limit a response to `query` must keep: the client's EDNS size clamped
/// to 512..=4096, else 512. Read from the OPT record hickory finds; a query hickory cannot
/// parse gets FORMERR without OPT, so 512.
pub fn udp_limit(query: &[u8]) -> usize {
    match Message::from_vec(query) {
        Ok(message) => message.edns.as_ref().map_or(512, |edns| {
            usize::from(edns.max_payload().clamp(512, MAX_UDP_PAYLOAD))
        }),
        Err(_) => 512,
    }
}

/// The checks on every response sent for `query`: within the UDP limit, QR set, the
/// query's ID, and decodable.
pub fn check_response(query: &[u8], response: &[u8], path: &str) {
    assert!(
        response.len() >= 12,
        "{path}: a response shorter than a header: {response:?}"
    );
    let limit = udp_limit(query);
    assert!(
        response.len() <= limit,
        "{path}: response of {} bytes over the UDP limit {limit}",
        response.len()
    );
    assert!(response.len() <= usize::from(MAX_UDP_PAYLOAD));
    assert_eq!(
        response[..2],
        query[..2],
        "{path}: the response has another ID"
    );
    assert_ne!(response[2] & 0x80, 0, "{path}: QR is clear in the response");
    let message = Message::from_vec(response)
        .unwrap_or_else(|error| panic!("{path}: the response does not decode: {error}"));
    assert_eq!(message.metadata.message_type, MessageType::Response);
}
