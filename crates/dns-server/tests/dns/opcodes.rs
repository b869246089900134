//! Message-level checks: opcodes other than QUERY (UPDATE refused until configured),
//! responses, question counts, EDNS version, classes and query types the server does not
//! serve (transfers refused until allowed).

use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};

use crate::harness::{TestServer, dig, name, query, tcp, udp, udp_exchange};

#[tokio::test]
async fn notify_and_status_are_not_implemented() {
    let server = TestServer::start().await;
    for op_code in [OpCode::Notify, OpCode::Status, OpCode::Unknown(6)] {
        let mut message = query("example.test.", RecordType::SOA, Some(1232));
        message.metadata.op_code = op_code;
        let (reply, _) = udp(server.addr, &message).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NotImp,
            "{op_code}"
        );
        assert_eq!(reply.metadata.op_code, op_code);
        assert!(!reply.metadata.authoritative);
        assert!(reply.answers.is_empty());
        let reply = tcp(server.addr, &message).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NotImp,
            "{op_code}"
        );
    }
    for opcode in ["+opcode=notify", "+opcode=status"] {
        let out = dig(&server, &[opcode, "example.test", "SOA"]).await;
        assert_eq!(out.status, "NOTIMP", "{opcode}: {}", out.raw);
    }
}

#[tokio::test]
async fn an_update_is_refused_until_updates_are_configured() {
    // The default server has no keyring and no update handler: every UPDATE, over UDP
    // or TCP, is REFUSED (never applied, never NOTIMP).
    let server = TestServer::start().await;
    let mut message = query("example.test.", RecordType::SOA, None);
    message.metadata.op_code = OpCode::Update;
    let (reply, _) = udp(server.addr, &message).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert_eq!(reply.metadata.op_code, OpCode::Update);
    let reply = tcp(server.addr, &message).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    // A zone this server does not serve: NOTAUTH.
    let mut elsewhere = query("elsewhere.test.", RecordType::SOA, None);
    elsewhere.metadata.op_code = OpCode::Update;
    let (reply, _) = udp(server.addr, &elsewhere).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NotAuth);
}

#[tokio::test]
async fn a_response_is_never_answered() {
    let server = TestServer::start().await;
    let mut message = query("www.example.test.", RecordType::A, Some(1232));
    message.metadata.message_type = MessageType::Response;
    let reply = udp_exchange(
        server.addr,
        &message.to_vec().unwrap(),
        Duration::from_millis(500),
    )
    .await;
    assert!(reply.is_none(), "a response (QR=1) must be dropped");
}

#[tokio::test]
async fn exactly_one_question_is_required() {
    let server = TestServer::start().await;
    let mut none = Message::new(11, MessageType::Query, OpCode::Query);
    none.metadata.recursion_desired = false;
    let (reply, _) = udp(server.addr, &none).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);

    let mut two = query("www.example.test.", RecordType::A, None);
    two.add_query(Query::query(name("www.example.test."), RecordType::AAAA));
    let (reply, _) = udp(server.addr, &two).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    assert!(reply.answers.is_empty());
    let reply = tcp(server.addr, &two).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
}

#[tokio::test]
async fn an_unknown_edns_version_is_badvers() {
    let server = TestServer::start().await;
    let mut message = query("www.example.test.", RecordType::A, None);
    let mut edns = Edns::new();
    edns.set_version(1).set_max_payload(1232);
    message.set_edns(edns);
    let (reply, _) = udp(server.addr, &message).await;
    // RCODE 16 is BADVERS with an OPT record; hickory decodes 16 as its alias BADSIG.
    assert_eq!(u16::from(reply.metadata.response_code), 16);
    assert_eq!(reply.edns.as_ref().map(Edns::version), Some(0));
    assert!(reply.answers.is_empty());

    let out = dig(&server, &["+edns=1", "+noednsneg", "www.example.test", "A"]).await;
    assert_eq!(out.status, "BADVERS", "{}", out.raw);
}

#[tokio::test]
async fn other_classes_are_refused() {
    let server = TestServer::start().await;
    let out = dig(&server, &["-c", "CH", "version.bind", "TXT"]).await;
    assert_eq!(out.status, "REFUSED", "{}", out.raw);
    let mut message = query("www.example.test.", RecordType::A, Some(1232));
    message.queries[0].set_query_class(DNSClass::CH);
    let (reply, _) = udp(server.addr, &message).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn zone_transfers_are_refused_until_allowed_and_opt_is_not_a_query_type() {
    let server = TestServer::start().await;
    for qtype in [RecordType::AXFR, RecordType::IXFR] {
        // Over TCP: no network or key allows it.
        let reply = tcp(server.addr, &query("example.test.", qtype, None)).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::Refused,
            "{qtype}"
        );
        assert!(reply.answers.is_empty());
        // Over UDP transfers are not served at all.
        let (reply, _) = udp(server.addr, &query("example.test.", qtype, None)).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NotImp,
            "{qtype}"
        );
    }
    let (reply, _) = udp(server.addr, &query("example.test.", RecordType::OPT, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
}

#[tokio::test]
async fn rd_is_echoed_and_ra_never_set() {
    let server = TestServer::start().await;
    let mut message = query("www.example.test.", RecordType::A, Some(1232));
    message.metadata.recursion_desired = true;
    let (reply, _) = udp(server.addr, &message).await;
    assert!(reply.metadata.recursion_desired);
    assert!(!reply.metadata.recursion_available);
    assert!(reply.metadata.authoritative);
    let out = dig(&server, &["+recurse", "www.example.test", "A"]).await;
    assert!(out.has_flag("rd") && !out.has_flag("ra"), "{}", out.raw);
}
