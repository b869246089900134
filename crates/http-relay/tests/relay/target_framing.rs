//! How the relay reads a target's answer (its own HTTP/1.x client): chunked bodies,
//! close-delimited bodies, informational heads, HEAD, and answers it must refuse.
//! The targets here are raw sockets that send exact bytes.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::*;

/// A target that answers every connection with `answer` and closes; keeps the request
/// heads it read.
struct RawTarget {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RawTarget {
    async fn start(answer: &'static [u8]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let _ = stream.write_all(answer).await;
                });
            }
        });
        Self { port, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// `domain`'s SRV record names `t.<domain>` (127.0.0.1) at `port`.
async fn point(dns: &test_support::dns_server::TestDns, domain: &str, port: u16) {
    let host = format!("t.{domain}");
    dns.set_srv(&owner(domain), &[(0, 0, port, &host)], 60)
        .await;
    dns.set_a(&host, &[Ipv4Addr::LOCALHOST], 60).await;
}

#[tokio::test]
async fn a_chunked_answer_is_decoded_and_its_framing_dropped() {
    let dns = dns().await;
    let target = RawTarget::start(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-From: target\r\n\r\n\
          4\r\ntok.\r\n5;ext=1\r\nthumb\r\n0\r\nX-Trailer: t\r\n\r\n",
    )
    .await;
    point(&dns, "chunked.test", target.port).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "chunked.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "tok.thumb");
    assert_eq!(reply.header("x-from"), Some("target"));
    assert_eq!(reply.header("content-length"), Some("9"));
    assert_eq!(reply.header("transfer-encoding"), None);
    assert_eq!(reply.header("x-trailer"), None);
    // One request, origin-form, that leaves the connection open for the next one.
    let seen = target.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].starts_with("GET /.well-known/acme-challenge/tok HTTP/1.1\r\n"),
        "{seen:?}"
    );
    assert!(
        !seen[0].to_ascii_lowercase().contains("\r\nconnection:"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_chunked_answer_over_the_cap_is_a_502() {
    let dns = dns().await;
    // 1023 + 2 bytes: over the 1024-byte cap only once de-chunked.
    let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3FF\r\n".to_vec();
    answer.extend(std::iter::repeat_n(b'a', 1023));
    answer.extend_from_slice(b"\r\n2\r\nbb\r\n0\r\n\r\n");
    let target = RawTarget::start(answer.leak()).await;
    point(&dns, "bigchunks.test", target.port).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "bigchunks.test", "tok").await;
    assert_eq!(reply.status, 502, "{reply:?}");
    assert!(
        reply.details().contains("larger than 1024 bytes"),
        "{}",
        reply.details()
    );
}

#[tokio::test]
async fn a_close_delimited_http10_answer_is_read_to_the_end() {
    let dns = dns().await;
    let target =
        RawTarget::start(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ntok.thumb").await;
    point(&dns, "old.test", target.port).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "old.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "tok.thumb");
}

#[tokio::test]
async fn an_informational_head_is_skipped() {
    let dns = dns().await;
    let target = RawTarget::start(
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;
    point(&dns, "hints.test", target.port).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "hints.test", "tok").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "ok"),
        "{reply:?}"
    );
}

#[tokio::test]
async fn head_gets_the_targets_length_and_no_body() {
    let dns = dns().await;
    let target = RawTarget::start(b"HTTP/1.1 200 OK\r\nContent-Length: 87\r\n\r\n").await;
    point(&dns, "head.test", target.port).await;
    let relay = start_with(&dns, |_| {}).await;
    let text = raw(
        relay.addr,
        b"HEAD /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: head.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    let reply = parse(&text);
    assert_eq!(reply.status, 200, "{text}");
    assert_eq!(reply.header("content-length"), Some("87"));
    assert_eq!(reply.body, "");
    assert!(target.requests()[0].starts_with("HEAD "));
}

#[tokio::test]
async fn ambiguous_or_garbled_answers_move_on_then_are_a_502() {
    let dns = dns().await;
    let both = RawTarget::start(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    )
    .await;
    let garbage = RawTarget::start(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
    let upgrade = RawTarget::start(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").await;
    dns.set_srv(
        &owner("bad.test"),
        &[
            (1, 0, both.port, "t.bad.test"),
            (2, 0, garbage.port, "t.bad.test"),
            (3, 0, upgrade.port, "t.bad.test"),
        ],
        60,
    )
    .await;
    dns.set_a("t.bad.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "bad.test", "tok").await;
    assert_eq!(reply.status, 502, "{reply:?}");
    for expected in [
        "both Transfer-Encoding and Content-Length",
        "malformed response head",
        "101 Switching Protocols",
    ] {
        assert!(
            reply.details().contains(expected),
            "{expected}: {}",
            reply.details()
        );
    }
    assert_eq!(
        (
            both.requests().len(),
            garbage.requests().len(),
            upgrade.requests().len()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_body_cut_short_is_a_502() {
    let dns = dns().await;
    let target = RawTarget::start(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort").await;
    point(&dns, "short.test", target.port).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "short.test", "tok").await;
    assert_eq!(reply.status, 502, "{reply:?}");
    assert!(
        reply
            .details()
            .contains("closed before the end of the body"),
        "{}",
        reply.details()
    );
}
