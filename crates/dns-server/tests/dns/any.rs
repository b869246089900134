//! ANY: the RFC 8482 minimal answer, one RRset, never the whole node.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::{TestServer, assert_authoritative, dig, udp_query};

fn single_rrset(reply: &hickory_proto::op::Message) -> RecordType {
    assert!(!reply.answers.is_empty(), "{reply:?}");
    let first = reply.answers[0].record_type();
    assert!(
        reply
            .answers
            .iter()
            .all(|r| r.record_type() == first && r.name == reply.answers[0].name),
        "one RRset only: {reply:?}"
    );
    first
}

#[tokio::test]
async fn any_gets_one_rrset() {
    let server = TestServer::start().await;
    // multi has A, AAAA and TXT.
    let reply = udp_query(server.addr, "multi.example.test.", RecordType::ANY).await;
    assert_authoritative(&reply);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(single_rrset(&reply), RecordType::A);

    // The apex has SOA and NS (two records): one RRset.
    let reply = udp_query(server.addr, "example.test.", RecordType::ANY).await;
    single_rrset(&reply);

    let out = dig(&server, &["www.example.test", "ANY"]).await;
    assert_eq!(out.status, "NOERROR", "{}", out.raw);
    assert_eq!(out.answer.len(), 1, "{}", out.raw);
}

#[tokio::test]
async fn any_at_a_cname_is_the_cname_and_is_not_chased() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "c1.example.test.", RecordType::ANY).await;
    assert_eq!(single_rrset(&reply), RecordType::CNAME);
    assert_eq!(reply.answers.len(), 1);
}

#[tokio::test]
async fn any_at_an_empty_name_is_nodata_and_at_a_missing_one_nxdomain() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "_tcp.www.example.test.", RecordType::ANY).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
    assert_eq!(reply.authorities[0].record_type(), RecordType::SOA);
    let reply = udp_query(server.addr, "nope.example.test.", RecordType::ANY).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
}
