//! The timeouts and the shutdown hold for a connection that waits between requests
//! with no HTTP state, as they do for one inside an exchange.

use std::time::Duration;

use tokio::net::TcpStream;

use crate::{Server, Timeouts, closed_within, get, read_answer, send};

#[tokio::test]
async fn a_waiting_connection_closes_at_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let server = Server::start(Timeouts {
        idle,
        ..Timeouts::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    send(&mut stream, &get("/")).await;
    read_answer(&mut stream, &mut Vec::new()).await;
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took >= idle - Duration::from_millis(20),
        "closed after {took:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_silent_connection_closes_at_the_first_byte_timeout() {
    let first_byte = Duration::from_millis(300);
    let server = Server::start(Timeouts {
        first_byte,
        ..Timeouts::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took >= first_byte - Duration::from_millis(20),
        "closed after {took:?}"
    );
    server.stop().await;
}

/// A second request's head that stops half-way is bounded by the header timeout, not
/// by the idle timeout, just as the first's.
#[tokio::test]
async fn the_header_timeout_bounds_every_request_head() {
    let header = Duration::from_millis(400);
    let server = Server::start(Timeouts {
        header,
        idle: Duration::from_secs(30),
        ..Timeouts::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    send(&mut stream, &get("/")).await;
    read_answer(&mut stream, &mut Vec::new()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    send(&mut stream, b"GET /slow HTTP/1.1\r\nHost: te").await;
    let took = closed_within(&mut stream, Duration::from_secs(10)).await;
    assert!(
        took >= header - Duration::from_millis(20),
        "closed after {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "closed after {took:?}, not by the header timeout"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_waiting_connections_at_once() {
    let server = Server::start(Timeouts::default()).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        send(&mut stream, &get("/")).await;
        read_answer(&mut stream, &mut Vec::new()).await;
        streams.push(stream);
    }
    let started = tokio::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    for stream in &mut streams {
        closed_within(stream, Duration::from_secs(2)).await;
    }
}

#[tokio::test]
async fn a_waiting_connection_closes_at_the_end_of_its_lifetime() {
    let lifetime = Duration::from_millis(500);
    let server = Server::start(Timeouts {
        lifetime,
        ..Timeouts::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    send(&mut stream, &get("/")).await;
    read_answer(&mut stream, &mut Vec::new()).await;
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    server.stop().await;
}
