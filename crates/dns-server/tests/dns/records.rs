//! Every record type the project publishes, through dig and through hickory, UDP and TCP.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::harness::{
    SERIAL, TestServer, assert_authoritative, dig, query, rdata_of, tcp, udp_query,
};

#[tokio::test]
async fn every_record_type_with_dig() {
    let server = TestServer::start().await;
    let cases: &[(&str, &str, &[&str])] = &[
        ("www.example.test", "A", &["192.0.2.1"]),
        ("www.example.test", "AAAA", &["2001:db8::1"]),
        ("www.example.test", "TXT", &["\"hello from the zone file\""]),
        ("alias.example.test", "CNAME", &["www.example.test."]),
        (
            "_acme-challenge._tcp.www.example.test",
            "SRV",
            &["10 5 8080 acme-client.example.test."],
        ),
        (
            "_acme-tls-alpn._tcp.www.example.test",
            "SRV",
            &["0 0 8443 acme-client.example.test."],
        ),
        (
            "_acme-challenge.www.example.test",
            "TXT",
            &["\"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\""],
        ),
        (
            "example.test",
            "NS",
            &["ns1.example.test.", "ns2.example.test."],
        ),
        (
            "example.test",
            "SOA",
            &["ns1.example.test. hostmaster.example.test. 7 3600 600 86400 60"],
        ),
    ];
    for (qname, qtype, expected) in cases {
        let out = dig(&server, &[qname, qtype]).await;
        assert_eq!(out.status, "NOERROR", "{qname} {qtype}: {}", out.raw);
        assert!(out.has_flag("qr") && out.has_flag("aa"), "{}", out.raw);
        assert!(!out.has_flag("ra") && !out.has_flag("tc"), "{}", out.raw);
        assert_eq!(
            out.answer_data(qtype),
            *expected,
            "{qname} {qtype}: {}",
            out.raw
        );
        assert!(out.authority.is_empty(), "{}", out.raw);
    }
}

#[tokio::test]
async fn every_record_type_with_hickory_over_udp_and_tcp() {
    let server = TestServer::start().await;
    let cases: &[(&str, RecordType, &[&str])] = &[
        ("www.example.test.", RecordType::A, &["192.0.2.1"]),
        ("www.example.test.", RecordType::AAAA, &["2001:db8::1"]),
        ("ns2.example.test.", RecordType::AAAA, &["2001:db8::53"]),
        (
            "alias.example.test.",
            RecordType::CNAME,
            &["www.example.test."],
        ),
        (
            "_acme-challenge._tcp.www.example.test.",
            RecordType::SRV,
            &["10 5 8080 acme-client.example.test."],
        ),
        (
            "www.example.test.",
            RecordType::TXT,
            &["hello from the zone file"],
        ),
        (
            "example.test.",
            RecordType::NS,
            &["ns1.example.test.", "ns2.example.test."],
        ),
        ("host.sub.example.test.", RecordType::A, &["198.51.100.7"]),
        ("sub.example.test.", RecordType::NS, &["ns1.example.test."]),
    ];
    for (qname, qtype, expected) in cases {
        let message = query(qname, *qtype, Some(1232));
        for reply in [
            crate::harness::udp(server.addr, &message).await.0,
            tcp(server.addr, &message).await,
        ] {
            assert_authoritative(&reply);
            assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
            assert_eq!(rdata_of(&reply, *qtype), *expected, "{qname} {qtype}");
            assert_eq!(reply.answers.len(), expected.len());
        }
    }
}

#[tokio::test]
async fn soa_at_the_apex_carries_the_snapshot_serial_and_ttl() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "example.test.", RecordType::SOA).await;
    assert_authoritative(&reply);
    assert_eq!(reply.answers.len(), 1);
    let soa = &reply.answers[0];
    assert_eq!(soa.ttl, 3600);
    let RData::SOA(soa) = &soa.data else {
        panic!("not a SOA: {soa:?}")
    };
    assert_eq!(soa.serial, SERIAL);
    assert_eq!(soa.minimum, 60);
    assert_eq!(soa.mname.to_ascii(), "ns1.example.test.");

    let reply = udp_query(server.addr, "sub.example.test.", RecordType::SOA).await;
    assert_eq!(reply.answers[0].ttl, 30);
    assert_eq!(reply.answers[0].name.to_ascii(), "sub.example.test.");
}

#[tokio::test]
async fn ttls_come_from_the_records() {
    let server = TestServer::start().await;
    let out = dig(&server, &["alias.example.test", "CNAME"]).await;
    assert_eq!(out.answer[0].ttl, 120, "{}", out.raw);
    let out = dig(&server, &["www.example.test", "A"]).await;
    assert_eq!(out.answer[0].ttl, 300, "{}", out.raw);
    let out = dig(&server, &["example.test", "NS"]).await;
    assert!(out.answer.iter().all(|r| r.ttl == 3600), "{}", out.raw);
}

#[tokio::test]
async fn run_returns_ok_after_shutdown() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "www.example.test.", RecordType::A).await;
    assert_authoritative(&reply);
    server.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn run_without_sockets_is_an_error() {
    let authority = std::sync::Arc::new(dns_server::Authority::new(dns_server::Snapshot::empty()));
    let result = dns_server::run(authority, Vec::new(), Vec::new(), std::future::pending()).await;
    assert!(matches!(result, Err(dns_server::DnsServerError::NoSockets)));
}
