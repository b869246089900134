//! Limits: per-client rate, connections, header size, slow clients, trusted proxies,
//! graceful shutdown.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use test_support::recording_target::RecordingTarget;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

#[tokio::test]
async fn the_per_client_rate_limit_answers_429() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.limits.requests_per_second_per_client = 1;
        c.relay.limits.burst_per_client = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(request(relay.addr, "GET", "a.test", "/", &[]).await.status);
    }
    assert_eq!(&statuses[..3], &[404, 404, 404], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("xff.test"),
        &[(0, 0, target.port(), "t.xff.test")],
        60,
    )
    .await;
    dns.set_a("t.xff.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let path = "/.well-known/acme-challenge/tok";

    let untrusted = start_with(&dns, |_| {}).await;
    request(
        untrusted.addr,
        "GET",
        "xff.test",
        path,
        &["X-Forwarded-For: 203.0.113.9"],
    )
    .await;
    assert_eq!(
        target.requests()[0].header("x-forwarded-for"),
        Some("127.0.0.1"),
        "spoofed chain dropped"
    );

    let trusted = start_with(&dns, |c| {
        c.relay.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]
    })
    .await;
    request(
        trusted.addr,
        "GET",
        "xff.test",
        path,
        &["X-Forwarded-For: 203.0.113.9"],
    )
    .await;
    assert_eq!(
        target.requests()[1].header("x-forwarded-for"),
        Some("203.0.113.9, 127.0.0.1")
    );
}

#[tokio::test]
async fn trusted_proxy_clients_are_rate_limited_separately() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        c.relay.limits.requests_per_second_per_client = 1;
        c.relay.limits.burst_per_client = 1;
    })
    .await;
    let first = request(
        relay.addr,
        "GET",
        "a.test",
        "/",
        &["X-Forwarded-For: 198.51.100.1"],
    )
    .await;
    let second = request(
        relay.addr,
        "GET",
        "a.test",
        "/",
        &["X-Forwarded-For: 198.51.100.1"],
    )
    .await;
    let other = request(
        relay.addr,
        "GET",
        "a.test",
        "/",
        &["X-Forwarded-For: 198.51.100.2"],
    )
    .await;
    assert_eq!((first.status, second.status, other.status), (404, 429, 404));
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| c.relay.connections.max = Some(2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(relay.addr).await.unwrap();
        // A complete request makes sure the relay accepted (and holds) this connection.
        s.write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 404"));
        held.push(s);
    }
    let mut third = TcpStream::connect(relay.addr).await.unwrap();
    let _ = third
        .write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the third connection must be closed, not left waiting"
    );
    assert!(
        buf.is_empty(),
        "no response for a connection over the limit"
    );

    drop(held.pop());
    // The freed slot is taken again: retry briefly while the relay notices the close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = raw(
            relay.addr,
            b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
        )
        .await;
        if reply.starts_with("HTTP/1.1 404") {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let dns = dns().await;
    let relay = start_with(&dns, |_| {}).await;
    let big = format!("X-Big: {}", "a".repeat(20_000));
    let reply = raw(
        relay.addr,
        format!("GET / HTTP/1.1\r\nHost: a.test\r\n{big}\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(
        reply.starts_with("HTTP/1.1 431"),
        "{}",
        &reply[..reply.len().min(200)]
    );
}

#[tokio::test]
async fn a_slow_client_is_cut_off() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.connections.request_timeout = Some(Duration::from_millis(300))
    })
    .await;
    let mut s = TcpStream::connect(relay.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a.te").await.unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "connection still open after 5 s");
    assert!(started.elapsed() < Duration::from_secs(3));
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let dns = dns().await;
    let relay = start_with(&dns, |_| {}).await;
    let addr = relay.addr;
    assert_eq!(request(addr, "GET", "a.test", "/", &[]).await.status, 404);
    relay.shutdown().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener closed after shutdown"
    );
}

#[tokio::test]
async fn challenges_beyond_the_target_connection_cap_get_503_at_once() {
    let dns = dns().await;
    let target = srv_target(
        &dns,
        "slow.test",
        test_support::recording_target::Behaviour::Slow(Duration::from_millis(400)),
    )
    .await;
    let relay = start_with(&dns, |c| c.relay.limits.max_target_connections = 2).await;
    let addr = relay.addr;
    let slow: Vec<_> = (0..2)
        .map(|i| {
            tokio::spawn(async move { challenge(addr, "slow.test", &format!("tok{i}")).await })
        })
        .collect();
    // Both slots are taken once the target has seen both requests.
    let deadline = Instant::now() + Duration::from_secs(5);
    while target.requests().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the target never saw both requests"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let third = challenge(addr, "slow.test", "tok2").await;
    assert_eq!(third.status, 503, "{third:?}");
    assert_eq!(third.header("retry-after"), Some("1"));
    assert!(started.elapsed() < Duration::from_millis(300));
    for request in slow {
        assert_eq!(request.await.unwrap().status, 200);
    }
    // The slots come back.
    assert_eq!(challenge(addr, "slow.test", "tok3").await.status, 200);
    assert_eq!(target.requests().len(), 3);
}
