//! NXDOMAIN vs NODATA (with the zone SOA and its RFC 2308 TTL), empty non-terminals,
//! longest-match zone selection, and REFUSED outside every zone.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

use crate::harness::{SERIAL, TestServer, assert_authoritative, dig, udp_query};

/// Asserts a negative answer: no answer records, exactly the zone's SOA in authority with
/// the given TTL and the snapshot serial.
fn assert_negative(reply: &Message, rcode: ResponseCode, zone: &str, ttl: u32) {
    assert_authoritative(reply);
    assert_eq!(reply.metadata.response_code, rcode, "{reply:?}");
    assert!(reply.answers.is_empty(), "{reply:?}");
    assert_eq!(reply.authorities.len(), 1, "{reply:?}");
    let soa = &reply.authorities[0];
    assert_eq!(soa.name.to_ascii(), zone);
    assert_eq!(soa.ttl, ttl, "negative TTL = min(SOA TTL, SOA minimum)");
    let RData::SOA(data) = &soa.data else {
        panic!("authority is not a SOA: {soa:?}")
    };
    assert_eq!(data.serial, SERIAL);
}

#[tokio::test]
async fn nxdomain_carries_the_soa_with_the_negative_ttl() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "nope.example.test.", RecordType::A).await;
    // SOA TTL 3600, minimum 60: the negative TTL is 60.
    assert_negative(&reply, ResponseCode::NXDomain, "example.test.", 60);

    let out = dig(&server, &["nope.example.test", "A"]).await;
    assert_eq!(out.status, "NXDOMAIN", "{}", out.raw);
    assert!(out.has_flag("aa"), "{}", out.raw);
    assert!(out.answer.is_empty());
    assert_eq!(out.authority.len(), 1, "{}", out.raw);
    assert_eq!(out.authority[0].rtype, "SOA");
    assert_eq!(out.authority[0].ttl, 60);
}

#[tokio::test]
async fn nodata_is_noerror_with_an_empty_answer_and_the_soa() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "www.example.test.", RecordType::MX).await;
    assert_negative(&reply, ResponseCode::NoError, "example.test.", 60);
    // SOA below the apex is NODATA too.
    let reply = udp_query(server.addr, "www.example.test.", RecordType::SOA).await;
    assert_negative(&reply, ResponseCode::NoError, "example.test.", 60);

    let out = dig(&server, &["www.example.test", "SRV"]).await;
    assert_eq!(out.status, "NOERROR", "{}", out.raw);
    assert!(out.answer.is_empty(), "{}", out.raw);
    assert_eq!(out.authority[0].rtype, "SOA");
    assert_eq!(out.authority[0].ttl, 60);
}

#[tokio::test]
async fn negative_ttl_is_the_soa_ttl_when_that_is_smaller() {
    let server = TestServer::start().await;
    // sub.example.test: SOA TTL 30, minimum 300.
    let reply = udp_query(server.addr, "nope.sub.example.test.", RecordType::A).await;
    assert_negative(&reply, ResponseCode::NXDomain, "sub.example.test.", 30);
    let reply = udp_query(server.addr, "host.sub.example.test.", RecordType::TXT).await;
    assert_negative(&reply, ResponseCode::NoError, "sub.example.test.", 30);
}

#[tokio::test]
async fn the_most_specific_zone_answers() {
    let server = TestServer::start().await;
    // sub.example.test is its own zone inside example.test.
    let reply = udp_query(server.addr, "sub.example.test.", RecordType::SOA).await;
    assert_eq!(reply.answers[0].name.to_ascii(), "sub.example.test.");
    let reply = udp_query(server.addr, "x.y.sub.example.test.", RecordType::A).await;
    assert_eq!(reply.authorities[0].name.to_ascii(), "sub.example.test.");
}

#[tokio::test]
async fn empty_non_terminals_are_nodata_not_nxdomain() {
    let server = TestServer::start().await;
    // `_acme-challenge._tcp.www` exists, so `_tcp.www` exists with no data.
    for (qname, qtype) in [
        ("_tcp.www.example.test.", RecordType::SRV),
        ("_tcp.www.example.test.", RecordType::A),
        // `a.b.deep` exists: `b.deep` and `deep` are empty non-terminals.
        ("b.deep.example.test.", RecordType::TXT),
        ("deep.example.test.", RecordType::A),
    ] {
        let reply = udp_query(server.addr, qname, qtype).await;
        assert_negative(&reply, ResponseCode::NoError, "example.test.", 60);
    }
    let out = dig(&server, &["_tcp.www.example.test", "SRV"]).await;
    assert_eq!(out.status, "NOERROR", "{}", out.raw);

    // Siblings and children of empty non-terminals do not exist.
    for qname in [
        "_udp.www.example.test.",
        "c.deep.example.test.",
        "x._tcp.www.example.test.",
    ] {
        let reply = udp_query(server.addr, qname, RecordType::TXT).await;
        assert_negative(&reply, ResponseCode::NXDomain, "example.test.", 60);
    }
}

#[tokio::test]
async fn names_outside_every_zone_are_refused() {
    let server = TestServer::start().await;
    for qname in [
        "www.elsewhere.invalid.",
        "test.",
        ".",
        "example.test.invalid.",
    ] {
        let reply = udp_query(server.addr, qname, RecordType::A).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::Refused,
            "{qname}"
        );
        assert!(!reply.metadata.authoritative, "no AA on REFUSED");
        assert!(!reply.metadata.recursion_available);
        assert!(reply.answers.is_empty() && reply.authorities.is_empty());
        assert_eq!(reply.queries.len(), 1, "the question is echoed");
    }
    let out = dig(&server, &["www.elsewhere.invalid", "A"]).await;
    assert_eq!(out.status, "REFUSED", "{}", out.raw);
    assert!(!out.has_flag("aa"));
}
