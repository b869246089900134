//! EDNS(0) and the UDP size limit: TC with header + question only when the answer does
//! not fit, the full answer over TCP, the client's payload size honoured (512..=4096).

use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::{TestServer, dig, query, tcp, udp, udp_exchange};

fn assert_truncated(reply: &Message, len: usize, limit: usize) {
    assert!(reply.metadata.truncation, "TC must be set: {reply:?}");
    assert!(reply.metadata.authoritative);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(
        reply.answers.is_empty() && reply.authorities.is_empty(),
        "no partial RRsets"
    );
    assert_eq!(reply.queries.len(), 1, "the question is kept");
    assert!(len <= limit, "{len} bytes over a {limit}-byte limit");
}

#[tokio::test]
async fn a_big_rrset_is_truncated_over_udp_and_complete_over_tcp() {
    let server = TestServer::start().await;

    let out = dig(
        &server,
        &["+ignore", "+bufsize=1232", "big.example.test", "TXT"],
    )
    .await;
    assert!(out.has_flag("tc"), "{}", out.raw);
    assert!(out.has_flag("aa"), "{}", out.raw);
    assert!(out.answer.is_empty(), "{}", out.raw);

    let out = dig(&server, &["+tcp", "big.example.test", "TXT"]).await;
    assert!(!out.has_flag("tc"), "{}", out.raw);
    assert_eq!(out.status, "NOERROR");
    assert_eq!(out.answer.len(), 22, "{}", out.raw);

    // dig retries over TCP by itself after a TC answer.
    let out = dig(&server, &["big.example.test", "TXT"]).await;
    assert_eq!(out.answer.len(), 22, "{}", out.raw);

    // The same with hickory: even a 4096-byte buffer is too small for ~4.7 KB.
    let message = query("big.example.test.", RecordType::TXT, Some(4096));
    let (reply, len) = udp(server.addr, &message).await;
    assert_truncated(&reply, len, 4096);
    assert_eq!(reply.edns.as_ref().map(|e| e.max_payload()), Some(4096));
    let reply = tcp(server.addr, &message).await;
    assert!(!reply.metadata.truncation);
    assert_eq!(reply.answers.len(), 22);
}

#[tokio::test]
async fn the_clients_payload_size_is_honoured() {
    let server = TestServer::start().await;
    // ~0.9 KB of TXT: too big for 512, fits 1232.
    let out = dig(
        &server,
        &["+ignore", "+bufsize=512", "medium.example.test", "TXT"],
    )
    .await;
    assert!(out.has_flag("tc"), "{}", out.raw);
    let out = dig(
        &server,
        &["+ignore", "+bufsize=1232", "medium.example.test", "TXT"],
    )
    .await;
    assert!(!out.has_flag("tc"), "{}", out.raw);
    assert_eq!(out.answer.len(), 4, "{}", out.raw);
    // No EDNS: 512 bytes.
    let out = dig(
        &server,
        &["+ignore", "+noedns", "medium.example.test", "TXT"],
    )
    .await;
    assert!(out.has_flag("tc"), "{}", out.raw);

    // ~2 KB: truncated at 1232, sent whole to a client that takes 4096.
    let message = query("large.example.test.", RecordType::TXT, Some(1232));
    let (reply, len) = udp(server.addr, &message).await;
    assert_truncated(&reply, len, 1232);
    let message = query("large.example.test.", RecordType::TXT, Some(4096));
    let (reply, len) = udp(server.addr, &message).await;
    assert!(!reply.metadata.truncation);
    assert_eq!(reply.answers.len(), 9);
    assert!(len > 1232 && len <= 4096, "{len}");

    // A payload size above 4096 is capped at 4096; one below 512 counts as 512.
    let message = query("big.example.test.", RecordType::TXT, Some(65000));
    let (reply, len) = udp(server.addr, &message).await;
    assert_truncated(&reply, len, 4096);
    let message = query("medium.example.test.", RecordType::TXT, Some(100));
    let (reply, len) = udp(server.addr, &message).await;
    assert_truncated(&reply, len, 512);
    let message = query("www.example.test.", RecordType::A, Some(100));
    let (reply, _) = udp(server.addr, &message).await;
    assert_eq!(reply.answers.len(), 1);
}

#[tokio::test]
async fn without_edns_the_limit_is_512() {
    let server = TestServer::start().await;
    let message = query("medium.example.test.", RecordType::TXT, None);
    let bytes = message.to_vec().unwrap();
    let reply = udp_exchange(server.addr, &bytes, Duration::from_secs(5))
        .await
        .unwrap();
    let len = reply.len();
    let reply = Message::from_vec(&reply).unwrap();
    assert_truncated(&reply, len, 512);
    assert!(
        reply.edns.is_none(),
        "no OPT in answer to a query without one"
    );
    let reply = tcp(server.addr, &message).await;
    assert_eq!(reply.answers.len(), 4);
    assert!(reply.edns.is_none());
}

#[tokio::test]
async fn an_opt_record_is_echoed_with_our_payload_size() {
    let server = TestServer::start().await;
    let out = dig(&server, &["+bufsize=1232", "www.example.test", "A"]).await;
    assert_eq!(out.edns_udp, Some(1232), "{}", out.raw);
    let out = dig(&server, &["+bufsize=512", "www.example.test", "A"]).await;
    assert_eq!(out.edns_udp, Some(1232), "{}", out.raw);
    let out = dig(&server, &["+noedns", "www.example.test", "A"]).await;
    assert_eq!(out.edns_udp, None, "{}", out.raw);
    let out = dig(&server, &["+tcp", "www.example.test", "A"]).await;
    assert_eq!(out.edns_udp, Some(1232), "{}", out.raw);

    // Over UDP a larger client size is advertised back, as hickory caps the response
    // at the size our OPT advertises.
    let (reply, _) = udp(
        server.addr,
        &query("www.example.test.", RecordType::A, Some(2048)),
    )
    .await;
    let edns = reply.edns.expect("OPT in the answer");
    assert_eq!(edns.max_payload(), 2048);
    assert_eq!(edns.version(), 0);
}

#[tokio::test]
async fn the_do_bit_is_copied() {
    let server = TestServer::start().await;
    let mut message = query("www.example.test.", RecordType::A, Some(1232));
    message.edns.as_mut().unwrap().set_dnssec_ok(true);
    let (reply, _) = udp(server.addr, &message).await;
    assert!(reply.edns.unwrap().flags().dnssec_ok);
    let (reply, _) = udp(
        server.addr,
        &query("www.example.test.", RecordType::A, Some(1232)),
    )
    .await;
    assert!(!reply.edns.unwrap().flags().dnssec_ok);
}
