//! Serving the router: the accept loop of `bounded-listener` (the caps and timeouts of
//! `[router.connections]`), then for each connection: read the ClientHello
//! ([`client_hello`]), choose the route, connect, replay the bytes read, and tunnel
//! ([`tunnel`]); one log line per connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bounded_listener::{Accepted, ListenerBounds, TimedIo};
use domain_name::DomainName;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::challenge_target::{self, ChallengeRoute};
use crate::client_hello::{self, ClientHello, MAX_CLIENT_HELLO_BYTES, Peek};
use crate::proxy_protocol;
use crate::router::{Router, RouterHandle};
use crate::router_metrics::{Route, RouterMetrics};
use crate::routes::Backend;
use crate::tunnel::{self, Transferred};

/// How long tunnels open at shutdown may go on before they are cut.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The ALPN protocol of tls-alpn-01 (RFC 8737 §6.2).
pub const ACME_TLS_1: &[u8] = b"acme-tls/1";

/// Bytes a tls-alpn-01 validation may carry each way: a handshake and a close take a
/// few KiB (the certificate is small and self-signed), so anything much larger is not a
/// validation, and an SRV record cannot turn the router into a bulk relay.
pub const CHALLENGE_MAX_BYTES: u64 = 64 * 1024;

/// What bounds a tunnel.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// Time without traffic either way.
    idle: Duration,
    /// Bytes each way, at most.
    max_bytes: Option<u64>,
}

/// A fatal TLS alert record (TLS 1.2 record version, as TLS 1.3 also sends it).
const fn alert(description: u8) -> [u8; 7] {
    [21, 3, 3, 0, 2, 2, description]
}
/// `unrecognized_name` (RFC 6066 §3): no backend serves this name.
const UNRECOGNIZED_NAME: [u8; 7] = alert(112);
/// `internal_error`: the backend or target could not be reached.
const INTERNAL_ERROR: [u8; 7] = alert(80);

/// Serves the router in `handle` on every listener until `shutdown` completes, then
/// stops accepting and gives open tunnels up to [`DRAIN_TIMEOUT`] to end.
pub async fn run(
    handle: Arc<RouterHandle>,
    bounds: Arc<ListenerBounds>,
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) {
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics = Arc::new(RouterMetrics::default());
    let mut loops = Vec::new();
    for listener in listeners {
        let handle = handle.clone();
        let metrics = metrics.clone();
        let local = listener.local_addr().ok();
        let serve = move |accepted: Accepted| {
            let router = handle.current();
            let metrics = metrics.clone();
            async move { serve_connection(router, accepted, local, &metrics).await }
        };
        loops.push(tokio::spawn(bounded_listener::accept_loop(
            listener,
            bounds.clone(),
            stop.clone(),
            tracker.clone(),
            serve,
        )));
    }
    shutdown.await;
    stop.cancel();
    for accept in loops {
        let _ = accept.await;
    }
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::info!(open = tracker.len(), "router tunnels cut at shutdown");
    }
}

/// What the log line says about one connection.
struct Outcome {
    route: Route,
    backend: Option<String>,
    moved: Transferred,
    detail: Option<String>,
}

impl Outcome {
    fn closed(route: Route, detail: impl Into<Option<String>>) -> Self {
        Self {
            route,
            backend: None,
            moved: Transferred::default(),
            detail: detail.into(),
        }
    }
}

async fn serve_connection(
    router: Arc<Router>,
    accepted: Accepted,
    listener_addr: Option<SocketAddr>,
    metrics: &RouterMetrics,
) {
    let started = Instant::now();
    let peer = accepted.peer;
    let mut io = accepted.io;
    let mut first_bytes = Vec::new();
    let read = read_client_hello(&mut io, &mut first_bytes, router.hello_timeout).await;
    // Every byte read so far is replayed; the timeouts of the tunnel are its own.
    let local = io.get_ref().local_addr().ok().or(listener_addr);
    let client = io.into_inner();
    let (sni, outcome) = match read {
        Ok(hello) => {
            let sni = hello.server_name.clone();
            let outcome = route(&router, &client, peer, local, &hello, first_bytes).await;
            (sni, outcome)
        }
        Err(outcome) => (None, outcome),
    };
    metrics.connection(outcome.route, outcome.moved.up, outcome.moved.down);
    tracing::info!(
        client = %peer,
        sni = %sni.as_deref().unwrap_or("-"),
        route = %outcome.route.label(),
        backend = %outcome.backend.as_deref().unwrap_or("-"),
        bytes_up = outcome.moved.up,
        bytes_down = outcome.moved.down,
        duration_ms = started.elapsed().as_millis() as u64,
        detail = %outcome.detail.as_deref().unwrap_or("-"),
        "router connection"
    );
}

/// Reads until `buf` holds a whole ClientHello: the first byte within the listener's
/// first-byte timeout, the rest within `hello_timeout` of it.
async fn read_client_hello(
    io: &mut TimedIo<TcpStream>,
    buf: &mut Vec<u8>,
    hello_timeout: Duration,
) -> Result<ClientHello, Outcome> {
    let mut deadline = None;
    loop {
        if buf.capacity() == buf.len() {
            // A typical hello fits the first 2 KiB; grow only as needed, up to the bound.
            let room = (buf.len().max(2048)).min(MAX_CLIENT_HELLO_BYTES - buf.len());
            buf.reserve_exact(room.max(1));
        }
        let read = match deadline {
            None => io.read_buf(buf).await,
            Some(deadline) => match tokio::time::timeout_at(deadline, io.read_buf(buf)).await {
                Ok(read) => read,
                Err(_) => {
                    return Err(Outcome::closed(
                        Route::NoHello,
                        format!(
                            "ClientHello incomplete after {hello_timeout:?} ({} bytes)",
                            buf.len()
                        ),
                    ));
                }
            },
        };
        match read {
            Ok(0) => {
                return Err(Outcome::closed(
                    Route::NoHello,
                    format!("client closed after {} bytes", buf.len()),
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(Outcome::closed(Route::NoHello, e.to_string())),
        }
        deadline.get_or_insert_with(|| Instant::now() + hello_timeout);
        match client_hello::peek(buf) {
            Peek::NeedMore if buf.len() < MAX_CLIENT_HELLO_BYTES => {}
            Peek::NeedMore => {
                return Err(Outcome::closed(
                    Route::NotTls,
                    "ClientHello too large".to_owned(),
                ));
            }
            Peek::NotTls(reason) => return Err(Outcome::closed(Route::NotTls, reason.to_string())),
            Peek::Found(hello) => return Ok(hello),
        }
    }
}

/// Chooses where the connection goes and carries it there.
async fn route(
    router: &Router,
    client: &TcpStream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    hello: &ClientHello,
    first_bytes: Vec<u8>,
) -> Outcome {
    // The SNI in the workspace's one normal form; one that is no domain name (an IP
    // address) is as good as none.
    let domain = hello
        .server_name
        .as_deref()
        .and_then(|name| DomainName::parse(name).ok());
    if hello.offers_only(ACME_TLS_1)
        && let Some(domain) = domain.as_ref().filter(|d| router.is_allowed(d))
    {
        // Boxed: a validation is short and rare, so its (large) lookup state is kept out
        // of the state every long-lived tunnel carries.
        let validation = Box::pin(tokio::time::timeout(router.challenge_timeout, async {
            match challenge_target::connect(router, domain, local).await {
                ChallengeRoute::Connected {
                    stream,
                    target,
                    addr,
                } => {
                    let backend = format!("{} {addr}", target.trim_end_matches('.'));
                    Some(
                        carry(
                            client,
                            &stream,
                            first_bytes.clone(),
                            Route::Challenge,
                            backend,
                            Bounds {
                                idle: router.challenge_timeout,
                                max_bytes: Some(CHALLENGE_MAX_BYTES),
                            },
                        )
                        .await,
                    )
                }
                ChallengeRoute::NoRecord => None,
                ChallengeRoute::OptOut => {
                    let _ = tunnel::write_all(client, &UNRECOGNIZED_NAME).await;
                    Some(Outcome::closed(
                        Route::OptOut,
                        "the SRV record opts out (target \".\")".to_owned(),
                    ))
                }
                ChallengeRoute::Failed(detail) => {
                    let _ = tunnel::write_all(client, &INTERNAL_ERROR).await;
                    Some(Outcome::closed(Route::ChallengeFailed, detail))
                }
            }
        }))
        .await;
        match validation {
            Ok(Some(outcome)) => return outcome,
            // No record: the name's own backend answers the validation.
            Ok(None) => {}
            Err(_) => {
                return Outcome::closed(
                    Route::ChallengeFailed,
                    format!(
                        "validation connection ended after {:?}",
                        router.challenge_timeout
                    ),
                );
            }
        }
    }
    let Some((backend, is_default)) = router.routes.backend_for(domain.as_ref()) else {
        let _ = tunnel::write_all(client, &UNRECOGNIZED_NAME).await;
        return Outcome::closed(Route::NoBackend, None);
    };
    let route = if is_default {
        Route::Default
    } else {
        Route::Backend
    };
    // Boxed for the same reason: name resolution's state is needed only until connected.
    let stream = match Box::pin(connect_backend(backend, router.connect_timeout)).await {
        Ok(stream) => stream,
        Err(e) => {
            let _ = tunnel::write_all(client, &INTERNAL_ERROR).await;
            let mut outcome =
                Outcome::closed(Route::BackendFailed, format!("{}: {e}", backend.address));
            outcome.backend = Some(backend.address.clone());
            return outcome;
        }
    };
    // The PROXY header goes first, in the same write as the replayed bytes.
    let mut first = Vec::new();
    if let Some(local) = local {
        proxy_protocol::write_header(backend.proxy_protocol, peer, local, &mut first);
    }
    first.extend_from_slice(&first_bytes);
    drop(first_bytes);
    let bounds = Bounds {
        idle: router.idle_timeout,
        max_bytes: None,
    };
    carry(
        client,
        &stream,
        first,
        route,
        backend.address.clone(),
        bounds,
    )
    .await
}

/// Sends `first` (a PROXY header, if any, and the bytes read from the client) to `to`,
/// frees it, then tunnels: a long-lived tunnel keeps no copy of its first bytes.
async fn carry(
    client: &TcpStream,
    to: &TcpStream,
    first: Vec<u8>,
    route: Route,
    backend: String,
    bounds: Bounds,
) -> Outcome {
    let _ = to.set_nodelay(true);
    let mut outcome = Outcome {
        route,
        backend: Some(backend),
        moved: Transferred::default(),
        detail: None,
    };
    let replayed = first.len() as u64;
    if let Err(e) = tunnel::write_all(to, &first).await {
        outcome.detail = Some(format!("replaying the ClientHello: {e}"));
        return outcome;
    }
    drop(first);
    let (moved, error) = tunnel::run(client, to, bounds.idle, bounds.max_bytes).await;
    outcome.moved = Transferred {
        up: moved.up + replayed,
        down: moved.down,
    };
    outcome.detail = error.map(|e| e.to_string());
    outcome
}

/// Connects to `backend`: an address as it is, a name through the system resolver, each
/// of its addresses in turn within `timeout` in all.
async fn connect_backend(backend: &Backend, timeout: Duration) -> io::Result<TcpStream> {
    let attempt = async {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
        for addr in tokio::net::lookup_host(backend.address.as_str()).await? {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(last)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            ))
        })
}
