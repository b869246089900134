//! CNAMEs: the chain is followed inside the served zones (8 targets at most, loop-safe)
//! and stops where it leaves them; the response code is that of the last name.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::{TestServer, assert_authoritative, dig, udp_query};

fn owners_and_types(reply: &hickory_proto::op::Message) -> Vec<(String, RecordType)> {
    reply
        .answers
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type()))
        .collect()
}

#[tokio::test]
async fn a_chain_inside_the_zone_is_followed_in_order() {
    let server = TestServer::start().await;
    let out = dig(&server, &["c1.example.test", "A"]).await;
    assert_eq!(out.status, "NOERROR", "{}", out.raw);
    assert!(out.has_flag("aa"));
    let chain: Vec<(&str, &str, &str)> = out
        .answer
        .iter()
        .map(|r| (r.name.as_str(), r.rtype.as_str(), r.data.as_str()))
        .collect();
    assert_eq!(
        chain,
        [
            ("c1.example.test.", "CNAME", "c2.example.test."),
            ("c2.example.test.", "CNAME", "c3.example.test."),
            ("c3.example.test.", "CNAME", "www.example.test."),
            ("www.example.test.", "A", "192.0.2.1"),
        ],
        "{}",
        out.raw
    );
}

#[tokio::test]
async fn the_chain_follows_the_query_type() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "alias.example.test.", RecordType::TXT).await;
    assert_authoritative(&reply);
    assert_eq!(
        owners_and_types(&reply),
        [
            ("alias.example.test.".to_owned(), RecordType::CNAME),
            ("www.example.test.".to_owned(), RecordType::TXT),
        ]
    );
}

#[tokio::test]
async fn a_cname_query_gets_only_the_cname() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "c1.example.test.", RecordType::CNAME).await;
    assert_eq!(
        owners_and_types(&reply),
        [("c1.example.test.".to_owned(), RecordType::CNAME)]
    );
}

#[tokio::test]
async fn a_chain_into_another_served_zone_is_followed() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "cross.example.test.", RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        owners_and_types(&reply),
        [
            ("cross.example.test.".to_owned(), RecordType::CNAME),
            ("host.other.test.".to_owned(), RecordType::A),
        ]
    );
}

#[tokio::test]
async fn a_chain_leaving_the_served_zones_stops_there() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "ext.example.test.", RecordType::A).await;
    assert_authoritative(&reply);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        owners_and_types(&reply),
        [("ext.example.test.".to_owned(), RecordType::CNAME)]
    );
    assert!(reply.authorities.is_empty());
}

#[tokio::test]
async fn a_chain_to_a_missing_name_is_nxdomain_with_the_cname() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "dangling.example.test.", RecordType::A).await;
    // RFC 6604: the RCODE is that of the last name in the chain.
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        owners_and_types(&reply),
        [("dangling.example.test.".to_owned(), RecordType::CNAME)]
    );
    assert_eq!(reply.authorities[0].record_type(), RecordType::SOA);

    // And to a name without that type: NODATA after the CNAME.
    let reply = udp_query(server.addr, "alias.example.test.", RecordType::MX).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 1);
    assert_eq!(reply.authorities[0].record_type(), RecordType::SOA);
}

#[tokio::test]
async fn a_loop_ends() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "loop1.example.test.", RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        owners_and_types(&reply),
        [
            ("loop1.example.test.".to_owned(), RecordType::CNAME),
            ("loop2.example.test.".to_owned(), RecordType::CNAME),
        ]
    );
    let out = dig(&server, &["loop2.example.test", "AAAA"]).await;
    assert_eq!(out.answer.len(), 2, "{}", out.raw);
}

#[tokio::test]
async fn at_most_eight_targets_are_followed() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "eight0.example.test.", RecordType::A).await;
    let types: Vec<RecordType> = reply.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types.len(), 9, "{reply:?}");
    assert!(types[..8].iter().all(|t| *t == RecordType::CNAME));
    assert_eq!(types[8], RecordType::A, "8 targets followed reach the data");

    let reply = udp_query(server.addr, "nine0.example.test.", RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 9, "{reply:?}");
    assert!(
        reply
            .answers
            .iter()
            .all(|r| r.record_type() == RecordType::CNAME),
        "a 9th target is not followed"
    );
    assert_eq!(reply.answers[8].name.to_ascii(), "nine8.example.test.");
}
