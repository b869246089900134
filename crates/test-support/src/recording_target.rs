//! HTTP servers standing in for ACME clients: the SRV targets of the tests.
//!
//! A [`RecordingTarget`] listens on a loopback address, counts every TCP connection it
//! accepts and records every request it parses, then behaves as its [`Behaviour`] says:
//! answer a challenge like an ACME client, hang, send a body that is too large, stall
//! mid-body, or redirect. Tests assert on what reached it, including that nothing did.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The key authorization suffix every well-behaved target appends to the token.
pub const THUMBPRINT: &str = "test-account-thumbprint";

/// The body a well-behaved target answers for `token`.
pub fn key_authorization(token: &str) -> String {
    format!("{token}.{THUMBPRINT}")
}

/// How a target answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// 200 with [`key_authorization`] of the last path segment, like an ACME client.
    Answer,
    /// 200 with this fixed body.
    Fixed(&'static str),
    /// Accepts the connection and never sends a byte.
    Hang,
    /// 200 with a body of this many bytes.
    Oversize(usize),
    /// Sends the headers and a first chunk, then stalls forever.
    StallBody,
    /// A redirect with this status to this location.
    Redirect(u16, &'static str),
    /// Like [`Behaviour::Answer`], after waiting this long.
    Slow(Duration),
}

/// One request as the target saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// Request method.
    pub method: String,
    /// Request target as sent (origin-form expected).
    pub uri: String,
    /// Headers in order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Bytes of request body received.
    pub body_len: usize,
    /// The peer that sent it (the relay).
    pub peer: SocketAddr,
}

impl SeenRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether header `name` is present at all.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }
}

#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: Mutex<Vec<SeenRequest>>,
}

/// A running recording target; stops when dropped.
pub struct RecordingTarget {
    addr: SocketAddr,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

impl Drop for RecordingTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingTarget {
    /// Starts a target answering like an ACME client on `127.0.0.1:0`.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0", Behaviour::Answer).await
    }

    /// Starts a target with `behaviour` on `bind` (e.g. `"[::1]:0"`).
    pub async fn start_on(bind: &str, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(bind)
            .await
            .expect("bind recording target");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let task = tokio::spawn(accept_loop(listener, behaviour, seen.clone()));
        Self { addr, seen, task }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    /// Requests parsed so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.requests.lock().unwrap().clone()
    }
}

/// A loopback port with nothing listening: connecting to it is refused.
pub async fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().unwrap().port()
}

async fn accept_loop(listener: TcpListener, behaviour: Behaviour, seen: Arc<Seen>) {
    loop {
        let Ok((mut stream, peer)) = listener.accept().await else {
            continue;
        };
        seen.connections.fetch_add(1, Ordering::SeqCst);
        let behaviour = behaviour.clone();
        let seen = seen.clone();
        tokio::spawn(async move {
            if let Behaviour::Hang = behaviour {
                // Hold the connection open, reading and discarding, until the peer leaves.
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            let service = hyper::service::service_fn(move |req| {
                respond(req, peer, behaviour.clone(), seen.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type TargetBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn respond(
    req: Request<Incoming>,
    peer: SocketAddr,
    behaviour: Behaviour,
    seen: Arc<Seen>,
) -> Result<Response<TargetBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let body_len = body
        .collect()
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    let token = parts
        .uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    seen.requests.lock().unwrap().push(SeenRequest {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into(),
                )
            })
            .collect(),
        body_len,
        peer,
    });
    let full = |status: u16, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("content-type", "text/plain")
            .header("x-target", "recording")
            .body(Full::new(Bytes::from(body)).boxed())
            .unwrap()
    };
    Ok(match behaviour {
        Behaviour::Answer => full(200, key_authorization(&token).into_bytes()),
        Behaviour::Slow(delay) => {
            tokio::time::sleep(delay).await;
            full(200, key_authorization(&token).into_bytes())
        }
        Behaviour::Fixed(body) => full(200, body.as_bytes().to_vec()),
        Behaviour::Oversize(n) => full(200, vec![b'x'; n]),
        Behaviour::Redirect(status, location) => {
            let mut resp = full(status, Vec::new());
            resp.headers_mut()
                .insert("location", location.parse().unwrap());
            resp
        }
        Behaviour::StallBody => {
            let first = one_chunk_then_stall(Bytes::from_static(b"partial"));
            Response::builder()
                .status(StatusCode::OK)
                .header("content-length", "100")
                .body(StreamBody::new(first).boxed())
                .unwrap()
        }
        Behaviour::Hang => unreachable!("hang is handled before parsing"),
    })
}

/// A body stream that yields one chunk and then never ends.
fn one_chunk_then_stall(
    chunk: Bytes,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + Sync + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let _ = tx.send(Ok(Frame::data(chunk))).await;
        // Keep the sender alive so the stream never ends; bounded so a leaked task ends.
        tokio::time::sleep(Duration::from_secs(600)).await;
        drop(tx);
    });
    receiver_stream(rx)
}

fn receiver_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + Sync + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
