//! `http1::serve` driven over loopback by raw clients: a kept-alive connection waits for
//! its next request holding no HTTP state, and nothing a client can send tells the
//! difference (`keep_alive`); the bounds still hold while it waits (`bounds`); a `101`
//! answer hands the connection to the service (`upgrade`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod bounds;
mod keep_alive;
mod upgrade;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bounded_listener::http1::{Http1Options, serve};
use bounded_listener::{ClientPrefixes, ConnectionLimits, ListenerBounds};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The quiet time after which the test servers release a connection's hyper state:
/// short, so that the tests' pauses ([`keep_alive::PAUSE`]) send requests to connections
/// that have gone back to waiting.
pub const RELEASE: Duration = Duration::from_millis(20);

/// Timeouts of a test server.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub first_byte: Duration,
    pub idle: Duration,
    pub header: Duration,
    pub lifetime: Duration,
    /// Quiet time before a kept-alive connection releases its hyper state.
    pub release_after_quiet: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            first_byte: Duration::from_secs(10),
            idle: Duration::from_secs(10),
            header: Duration::from_secs(10),
            lifetime: Duration::from_secs(60),
            release_after_quiet: RELEASE,
        }
    }
}

/// A server on 127.0.0.1:0 whose answer names the request and the connection:
/// `METHOD PATH body=N port=P`, where N is the length of the body it read (paths under
/// `/ignore-body` answer at once without reading it) and P the client's port. `/upgrade`
/// answers `101` and then echoes every byte until the client half-closes.
pub struct Server {
    pub addr: SocketAddr,
    stop: CancellationToken,
    done: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(timeouts: Timeouts) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = ConnectionLimits {
            max_connections: 10_000,
            max_per_client: 0,
            client_prefixes: ClientPrefixes::default(),
            first_byte_timeout: timeouts.first_byte,
            idle_timeout: timeouts.idle,
            max_duration: timeouts.lifetime,
        };
        let bounds = Arc::new(ListenerBounds::new("test", &limits, Vec::new()));
        let options = Http1Options {
            release_after_quiet: timeouts.release_after_quiet,
            ..Http1Options::new(timeouts.header, 8192)
        };
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        let done = tokio::spawn(serve(
            vec![listener],
            bounds,
            options,
            |peer: SocketAddr| hyper::service::service_fn(move |req| answer(req, peer)),
            async move { shutdown.cancelled().await },
        ));
        Self { addr, stop, done }
    }

    /// Shuts the server down and waits until it has stopped.
    pub async fn stop(self) {
        self.stop.cancel();
        self.done.await.unwrap();
    }
}

async fn answer(
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if path == "/upgrade" {
        return Ok(upgrade::echo_after_101());
    }
    let body_len = if path.starts_with("/ignore-body") {
        0
    } else {
        req.into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().len())
            .unwrap_or(usize::MAX)
    };
    let text = format!("{method} {path} body={body_len} port={}", peer.port());
    Ok(Response::new(Full::new(Bytes::from(text))))
}

/// One answer read from a raw connection: the status and the body.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Reads one answer (with a Content-Length) from `stream`, keeping any bytes that
/// follow it in `pending`.
pub async fn read_answer(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Answer {
    read_answer_from(stream, pending).await
}

/// [`read_answer`] from any reader (the read half of a split stream).
pub async fn read_answer_from(
    stream: &mut (impl AsyncRead + Unpin),
    pending: &mut Vec<u8>,
) -> Answer {
    let head_end = loop {
        if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        read_more(stream, pending).await;
    };
    let head = String::from_utf8(pending[..head_end].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("an answer with a Content-Length");
    while pending.len() < head_end + length {
        read_more(stream, pending).await;
    }
    let body = String::from_utf8(pending[head_end..head_end + length].to_vec()).unwrap();
    pending.drain(..head_end + length);
    Answer { status, body }
}

async fn read_more(stream: &mut (impl AsyncRead + Unpin), pending: &mut Vec<u8>) {
    let mut buf = [0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    assert!(
        n > 0,
        "connection closed before a whole answer; got {:?}",
        String::from_utf8_lossy(pending)
    );
    pending.extend_from_slice(&buf[..n]);
}

/// Sends `bytes` on `stream`.
pub async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
}

/// Waits until the server closes `stream` (EOF or reset), at most `limit`; returns how
/// long that took.
pub async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    let mut buf = [0; 1024];
    loop {
        match tokio::time::timeout_at(started + limit, stream.read(&mut buf)).await {
            Err(_) => panic!("the server did not close the connection within {limit:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// A raw HTTP/1 client on one connection to a test [`Server`].
pub struct Client {
    pub stream: TcpStream,
    /// The client's port, which the server's answers name.
    pub port: u16,
    /// Bytes read after the last whole answer.
    pending: Vec<u8>,
}

impl Client {
    pub async fn connect(server: &Server) -> Self {
        let stream = TcpStream::connect(server.addr).await.unwrap();
        let port = stream.local_addr().unwrap().port();
        Self {
            stream,
            port,
            pending: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        send(&mut self.stream, bytes).await;
    }

    pub async fn answer(&mut self) -> Answer {
        read_answer(&mut self.stream, &mut self.pending).await
    }

    /// Asserts that the next answer is a 200 for `request` (`"GET /a body=0"`, as the
    /// server names what it read) on this connection.
    pub async fn expect(&mut self, request: &str) {
        let answer = self.answer().await;
        let body = format!("{request} port={}", self.port);
        assert_eq!(answer, Answer { status: 200, body });
    }

    /// Sends a GET for `path` and asserts its answer.
    pub async fn get(&mut self, path: &str) {
        self.send(&get(path)).await;
        self.expect(&format!("GET {path} body=0")).await;
    }

    /// Waits until the server closes the connection, at most `limit`; how long it took.
    pub async fn closed_within(&mut self, limit: Duration) -> Duration {
        closed_within(&mut self.stream, limit).await
    }
}

/// A GET for `path` on a kept-alive connection.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}
