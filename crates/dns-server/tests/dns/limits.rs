//! Bounds against hostile clients: DNS-over-TCP connection caps and timeouts (our own
//! accept loop), and response rate limiting over UDP with slip.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bounded_listener::ClientPrefixes;
use dns_server::{RateLimitOptions, ServerOptions};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::harness::*;

fn options(tweak: impl FnOnce(&mut ServerOptions)) -> ServerOptions {
    let mut options = ServerOptions::default();
    tweak(&mut options);
    options
}

async fn connect_from(local: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// One query on an open connection; `None` when the server closed it instead.
async fn ask(stream: &mut TcpStream, qname: &str) -> Option<Message> {
    let bytes = query(qname, RecordType::A, None).to_vec().unwrap();
    let mut framed = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await.ok()?;
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut len))
        .await
        .ok()?
        .ok()?;
    let mut answer = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut answer).await.ok()?;
    Some(Message::from_vec(&answer).unwrap())
}

/// How long the server took to close `stream` (at most 5 s, else a failure).
async fn closed_within(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the server left the connection open");
    started.elapsed()
}

#[tokio::test]
async fn one_client_cannot_hold_every_tcp_connection() {
    let server = TestServer::with_limits(options(|o| {
        o.tcp.max_connections = 8;
        o.tcp.max_per_client = 2;
    }))
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from("127.0.0.1", server.addr).await;
        assert!(ask(&mut s, "www.example.test.").await.is_some());
        held.push(s);
    }
    let mut third = connect_from("127.0.0.1", server.addr).await;
    assert!(ask(&mut third, "www.example.test.").await.is_none());
    let mut other = connect_from("127.0.0.2", server.addr).await;
    let answer = ask(&mut other, "www.example.test.").await.unwrap();
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
}

#[tokio::test]
async fn a_tcp_flood_is_capped_and_udp_keeps_answering() {
    let server = TestServer::with_limits(options(|o| {
        o.tcp.max_connections = 6;
        o.tcp.max_per_client = 0;
    }))
    .await;
    let mut flood = Vec::new();
    for i in 0..6 {
        let mut s = connect_from(&format!("127.0.1.{i}"), server.addr).await;
        assert!(ask(&mut s, "www.example.test.").await.is_some());
        flood.push(s);
    }
    let mut over = connect_from("127.0.2.1", server.addr).await;
    assert!(ask(&mut over, "www.example.test.").await.is_none());
    let reply = udp_query(server.addr, "www.example.test.", RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    // A slot freed is served again.
    drop(flood.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = connect_from("127.0.2.2", server.addr).await;
        if ask(&mut s, "www.example.test.").await.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot never came back");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn silent_idle_and_half_sent_connections_are_closed() {
    let server = TestServer::with_limits(options(|o| {
        o.tcp.first_byte_timeout = Duration::from_millis(300);
        o.tcp.idle_timeout = Duration::from_millis(300);
        o.tcp_request_timeout = Duration::from_millis(300);
    }))
    .await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    assert!(closed_within(&mut silent).await < Duration::from_secs(2));

    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    assert!(ask(&mut idle, "www.example.test.").await.is_some());
    assert!(closed_within(&mut idle).await < Duration::from_secs(2));

    // A length of 40 and then only 3 bytes, trickled.
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(&[0, 40, 1, 2, 3]).await.unwrap();
    assert!(closed_within(&mut half).await < Duration::from_secs(2));
}

#[tokio::test]
async fn a_connection_ends_at_its_lifetime() {
    let server = TestServer::with_limits(options(|o| {
        o.tcp.max_duration = Duration::from_millis(500);
    }))
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(5) {
        if ask(&mut s, "www.example.test.").await.is_none() {
            break;
        }
        answered += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered >= 3, "{answered}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn udp_answers_are_rate_limited_per_network_with_slip() {
    let server = TestServer::with_limits(options(|o| {
        o.rate_limit = Some(RateLimitOptions {
            responses_per_second: 5,
            slip: 2,
            prefixes: ClientPrefixes { ipv4: 24, ipv6: 56 },
            exempt: vec!["127.0.9.0/24".parse().unwrap()],
        });
    }))
    .await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sent = 41;
    for _ in 0..sent {
        let bytes = query("www.example.test.", RecordType::A, None)
            .to_vec()
            .unwrap();
        socket.send_to(&bytes, server.addr).await.unwrap();
    }
    let (mut full, mut truncated) = (0, 0);
    let mut buffer = vec![0; 4096];
    while let Ok(Ok((len, _))) =
        tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buffer)).await
    {
        let reply = Message::from_vec(&buffer[..len]).unwrap();
        if reply.metadata.truncation {
            assert!(reply.answers.is_empty());
            assert_eq!(reply.queries.len(), 1, "a slip keeps the question");
            truncated += 1;
        } else {
            full += 1;
        }
    }
    // 5 in the burst (a few more may refill while the datagrams are answered); of the
    // rest, every second one slips.
    assert!((5..=8).contains(&full), "{full} full answers");
    let limited = sent - full;
    assert!(
        (limited / 2 - 1..=limited / 2 + 1).contains(&truncated),
        "{truncated} truncated of {limited} limited"
    );
    // Another network is not affected, and an exempt one is never limited.
    for local in [
        "127.0.1.1",
        "127.0.9.9",
        "127.0.9.9",
        "127.0.9.9",
        "127.0.9.9",
        "127.0.9.9",
        "127.0.9.9",
    ] {
        let other = UdpSocket::bind(format!("{local}:0")).await.unwrap();
        let bytes = query("www.example.test.", RecordType::A, None)
            .to_vec()
            .unwrap();
        other.send_to(&bytes, server.addr).await.unwrap();
        let (len, _) = tokio::time::timeout(Duration::from_secs(2), other.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert!(
            !Message::from_vec(&buffer[..len])
                .unwrap()
                .metadata
                .truncation
        );
    }
    // TCP is never limited: the truncated client gets its answer there.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    assert!(
        ask(&mut tcp, "www.example.test.")
            .await
            .unwrap()
            .answers
            .len()
            == 1
    );
}
