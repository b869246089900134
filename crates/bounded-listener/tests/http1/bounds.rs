//! The timeouts and the shutdown hold for a connection that waits between requests
//! with no HTTP state, as they do for one inside an exchange.

use std::time::Duration;

use crate::{Client, Server, Timeouts};

/// A server with `timeouts` and a connection to it that has had one exchange.
async fn after_one_request(timeouts: Timeouts) -> (Server, Client) {
    let server = Server::start(timeouts).await;
    let mut client = Client::connect(&server).await;
    client.get("/").await;
    (server, client)
}

/// Asserts that a close after `took` came from a timeout of `timeout` (timers may fire a
/// little early on a busy machine, by at most 20 ms here).
fn closed_by(took: Duration, timeout: Duration) {
    assert!(
        took >= timeout - Duration::from_millis(20),
        "closed after {took:?}, before the {timeout:?} timeout"
    );
}

#[tokio::test]
async fn a_waiting_connection_closes_at_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let (server, mut client) = after_one_request(Timeouts {
        idle,
        ..Timeouts::default()
    })
    .await;
    closed_by(client.closed_within(Duration::from_secs(5)).await, idle);
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
    let mut client = Client::connect(&server).await;
    closed_by(
        client.closed_within(Duration::from_secs(5)).await,
        first_byte,
    );
    server.stop().await;
}

/// A second request's head that stops half-way is bounded by the header timeout, not
/// by the idle timeout, just as the first's.
#[tokio::test]
async fn the_header_timeout_bounds_every_request_head() {
    let header = Duration::from_millis(400);
    let (server, mut client) = after_one_request(Timeouts {
        header,
        idle: Duration::from_secs(30),
        ..Timeouts::default()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.send(b"GET /slow HTTP/1.1\r\nHost: te").await;
    let took = client.closed_within(Duration::from_secs(10)).await;
    closed_by(took, header);
    assert!(
        took < Duration::from_secs(5),
        "closed after {took:?}, not by the header timeout"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_waiting_connections_at_once() {
    let server = Server::start(Timeouts::default()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(&server).await;
        client.get("/").await;
        clients.push(client);
    }
    let started = tokio::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    for client in &mut clients {
        client.closed_within(Duration::from_secs(2)).await;
    }
}

#[tokio::test]
async fn a_waiting_connection_closes_at_the_end_of_its_lifetime() {
    let (server, mut client) = after_one_request(Timeouts {
        lifetime: Duration::from_millis(500),
        ..Timeouts::default()
    })
    .await;
    let took = client.closed_within(Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    server.stop().await;
}
