//! Client connections under `[relay.connections]`: the per-client cap, the first-byte,
//! idle and lifetime bounds, and a rate-limited client losing its connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use test_support::recording_target::Behaviour;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::*;

/// A connection from `local` (another loopback address stands for another client).
async fn connect_from(local: &str, relay: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    socket.connect(relay).await.unwrap()
}

/// Sends one keep-alive request and reads its (small, length-framed) answer.
async fn exchange(stream: &mut TcpStream, host: &str) -> String {
    stream
        .write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Waits (at most 5 s) for the relay to close `stream`; how long that took.
async fn closed_within(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the relay left the connection open");
    started.elapsed()
}

#[tokio::test]
async fn one_client_cannot_hold_every_connection() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.connections.max = Some(10);
        c.relay.connections.max_per_client = Some(3);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect_from("127.0.0.1", relay.addr).await;
        assert!(exchange(&mut s, "a.test").await.starts_with("HTTP/1.1 404"));
        held.push(s);
    }
    // The fourth from the same client is closed without an answer...
    let mut fourth = connect_from("127.0.0.1", relay.addr).await;
    let _ = fourth
        .write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), fourth.read_to_end(&mut answer)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // ...while another client (the CA) is still served.
    let mut other = connect_from("127.0.0.2", relay.addr).await;
    assert!(
        exchange(&mut other, "a.test")
            .await
            .starts_with("HTTP/1.1 404")
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_first_byte_timeout() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.connections.first_byte_timeout = Some(Duration::from_millis(300));
    })
    .await;
    let mut silent = TcpStream::connect(relay.addr).await.unwrap();
    let waited = closed_within(&mut silent).await;
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.connections.idle_timeout = Some(Duration::from_millis(300));
    })
    .await;
    let mut s = TcpStream::connect(relay.addr).await.unwrap();
    assert!(exchange(&mut s, "a.test").await.starts_with("HTTP/1.1 404"));
    let waited = closed_within(&mut s).await;
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[tokio::test]
async fn a_slow_target_is_not_taken_for_an_idle_client() {
    let dns = dns().await;
    let _target = srv_target(
        &dns,
        "slow.test",
        Behaviour::Slow(Duration::from_millis(700)),
    )
    .await;
    let relay = start_with(&dns, |c| {
        c.relay.connections.idle_timeout = Some(Duration::from_millis(200));
    })
    .await;
    let reply = challenge(relay.addr, "slow.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn a_connection_that_keeps_sending_requests_ends_at_its_lifetime() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.connections.max_duration = Some(Duration::from_millis(600));
    })
    .await;
    let mut s = TcpStream::connect(relay.addr).await.unwrap();
    let started = Instant::now();
    // A request every 100 ms: each one restarts the header timer, none is idle.
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(5) {
        let sent = s.write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n").await;
        let mut buf = [0u8; 1024];
        match (sent, s.read(&mut buf).await) {
            (Ok(()), Ok(n)) if n > 0 => answered += 1,
            _ => break,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lived = started.elapsed();
    assert!(answered >= 3, "{answered} answers");
    assert!(
        lived < Duration::from_secs(2),
        "the connection lived {lived:?}"
    );
}

#[tokio::test]
async fn a_rate_limited_client_loses_its_connection() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.limits.requests_per_second_per_client = 1;
        c.relay.limits.burst_per_client = 1;
    })
    .await;
    let mut s = TcpStream::connect(relay.addr).await.unwrap();
    assert!(exchange(&mut s, "a.test").await.starts_with("HTTP/1.1 404"));
    let answer = exchange(&mut s, "a.test").await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let waited = closed_within(&mut s).await;
    assert!(waited < Duration::from_secs(1), "{waited:?}");
}

#[tokio::test]
async fn ipv6_clients_of_one_prefix_share_one_rate() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.limits.requests_per_second_per_client = 1;
        c.relay.limits.burst_per_client = 2;
        c.relay.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let mut statuses = Vec::new();
    // Four addresses of one /64, as a proxy would report them.
    for host in 1..=4 {
        let xff = format!("X-Forwarded-For: 2001:db8:1:2::{host}");
        let reply = request(relay.addr, "GET", "a.test", "/", &[&xff]).await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [404, 404, 429, 429]);
    // Another /64 has its own budget.
    let reply = request(
        relay.addr,
        "GET",
        "a.test",
        "/",
        &["X-Forwarded-For: 2001:db8:1:3::1"],
    )
    .await;
    assert_eq!(reply.status, 404);
}
