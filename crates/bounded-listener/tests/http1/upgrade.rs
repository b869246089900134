//! A `101` answer with an `OnUpgrade` hands the socket to the service, with the bytes
//! that came behind the request; the listener's idle timeout still bounds it.

use std::time::{Duration, Instant};

use bounded_listener::http1::OnUpgrade;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Server, Timeouts};

/// `101` to `Upgrade: echo`; the connection then echoes until the client half-closes.
pub(crate) fn echo_after_101() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    response
        .headers_mut()
        .insert("connection", "upgrade".parse().unwrap());
    response
        .headers_mut()
        .insert("upgrade", "echo".parse().unwrap());
    response
        .extensions_mut()
        .insert(OnUpgrade::new(|mut upgraded| async move {
            let (mut from, mut to) = tokio::io::split(&mut upgraded);
            let _ = tokio::io::copy(&mut from, &mut to).await;
            let _ = upgraded.shutdown().await;
        }));
    response
}

const REQUEST: &[u8] =
    b"GET /upgrade HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n";

/// Sends the upgrade request with `behind` in the same write; returns the stream
/// positioned after the 101's head.
async fn upgrade(server: &Server, behind: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&[REQUEST, behind].concat()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo"), "{head}");
    stream
}

#[tokio::test]
async fn the_service_gets_the_socket_and_the_bytes_behind_the_request() {
    let server = Server::start(Timeouts::default()).await;
    let mut stream = upgrade(&server, b"early").await;
    let mut got = [0u8; 5];
    stream.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"early");
    stream.write_all(b"later").await.unwrap();
    stream.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"later");
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "nothing but the echo: {rest:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_upgraded_connection_ends_at_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let server = Server::start(Timeouts {
        idle,
        ..Timeouts::default()
    })
    .await;
    let mut stream = upgrade(&server, b"").await;
    let started = Instant::now();
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    assert!(
        ended.is_ok(),
        "the upgraded connection outlived its idle timeout"
    );
    assert!(
        started.elapsed() >= idle,
        "ended after {:?}, before the idle timeout",
        started.elapsed()
    );
    server.stop().await;
}
