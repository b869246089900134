//! Serving an [`Authority`] on sockets the caller bound, until shutdown: our own loop per
//! UDP socket (fast path, else the general path, answered in place, under response rate
//! limiting), and our own TCP accept loop on `bounded-listener` (caps, timeouts,
//! back-off; see `tcp.rs`).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bounded_listener::{ClientPrefixes, ConnectionLimits, ListenerBounds};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use metrics::Counter;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::authority::{Authority, rcode_label, type_label};
use crate::fast_path;
use crate::rate_limit::{RateLimitOptions, RateLimiter, Verdict, truncate_to_question};
use crate::services::ZoneServices;
use hickory_server::net::xfer::Protocol;

/// The largest UDP query read; longer datagrams are cut (and then fail to parse), as in
/// hickory's server.
const MAX_UDP_QUERY: usize = 4096;

/// UPDATE messages over UDP being applied at once, per socket; more are dropped (the
/// client retries, or uses TCP).
const MAX_UDP_UPDATES_IN_FLIGHT: usize = 64;

/// Datagrams answered in a row before the UDP loop lets other tasks run.
const UDP_BATCH: usize = 64;

/// How long a TCP connection may stay idle before the server closes it by default
/// (RFC 7766 §6.2.3 suggests seconds, not minutes; this also bounds slow-loris clients).
pub const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long open TCP connections get to finish after shutdown begins.
const TCP_DRAIN: Duration = Duration::from_secs(5);

/// How the server bounds its clients.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Caps and timeouts of DNS-over-TCP connections.
    pub tcp: ConnectionLimits,
    /// Time for a TCP client to send a whole message once it has begun its length.
    pub tcp_request_timeout: Duration,
    /// Response rate limiting for UDP; `None` answers every query.
    pub rate_limit: Option<RateLimitOptions>,
    /// Zone transfers, TSIG keys and updates; none by default.
    pub services: ZoneServices,
}

impl Default for ServerOptions {
    /// The defaults of `[dns.connections]`, and no rate limiting (tests and library
    /// users; `acme-srv` passes its configuration, which limits by default).
    fn default() -> Self {
        Self {
            tcp: ConnectionLimits {
                max_connections: 1024,
                max_per_client: 32,
                client_prefixes: ClientPrefixes::default(),
                first_byte_timeout: Duration::from_secs(5),
                idle_timeout: TCP_TIMEOUT,
                max_duration: Duration::from_secs(120),
            },
            tcp_request_timeout: Duration::from_secs(5),
            rate_limit: None,
            services: ZoneServices::default(),
        }
    }
}

/// Why [`run`] returned an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsServerError {
    /// [`run`] was given no socket at all.
    #[error("the DNS server has no UDP socket and no TCP listener to serve on")]
    NoSockets,
    /// A UDP socket failed.
    #[error("the DNS server's UDP socket failed: {0}")]
    Udp(#[source] io::Error),
}

/// Serves `authority` with [`ServerOptions::default`]; see [`run_with_options`].
pub async fn run(
    authority: Arc<Authority>,
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DnsServerError> {
    run_with_options(authority, udp, tcp, ServerOptions::default(), shutdown).await
}

/// Serves `authority` on every UDP socket and TCP listener (typically the same address,
/// port 53) until `shutdown` completes, then stops accepting, lets the TCP queries in
/// flight finish, and returns. UDP queries are answered as they are read, so none is in
/// flight at shutdown.
pub async fn run_with_options(
    authority: Arc<Authority>,
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DnsServerError> {
    if udp.is_empty() && tcp.is_empty() {
        return Err(DnsServerError::NoSockets);
    }
    let mut udp_tasks = JoinSet::new();
    for socket in udp {
        if let Ok(addr) = socket.local_addr() {
            tracing::info!(%addr, "DNS server listening on UDP");
        }
        let limiter = options.rate_limit.as_ref().and_then(RateLimiter::new);
        let services = Arc::new(options.services.clone());
        udp_tasks.spawn(serve_udp(
            Arc::new(socket),
            authority.clone(),
            services,
            limiter,
        ));
    }
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let bounds = Arc::new(ListenerBounds::new("dns-tcp", &options.tcp, Vec::new()));
    for listener in tcp {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "DNS server listening on TCP");
        }
        let authority = authority.clone();
        let request_timeout = options.tcp_request_timeout;
        let services = Arc::new(options.services.clone());
        tracker.spawn(bounded_listener::accept_loop(
            listener,
            bounds.clone(),
            stop.clone(),
            tracker.clone(),
            move |accepted| {
                crate::tcp::serve_connection(
                    accepted,
                    authority.clone(),
                    services.clone(),
                    request_timeout,
                )
            },
        ));
    }

    let udp_done = async {
        match udp_tasks.join_next().await {
            Some(Ok(Err(error))) => error,
            Some(Err(error)) => io::Error::other(error),
            Some(Ok(Ok(()))) => io::Error::other("a UDP socket task ended"),
            None => std::future::pending().await,
        }
    };
    let stopped = tokio::select! {
        error = udp_done => Some(DnsServerError::Udp(error)),
        () = shutdown => None,
    };
    udp_tasks.abort_all();
    stop.cancel();
    tracker.close();
    if let Some(error) = stopped {
        return Err(error);
    }
    tracing::info!("DNS server shutting down");
    if tokio::time::timeout(TCP_DRAIN, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("DNS TCP connections still open after {TCP_DRAIN:?}; closing them");
    }
    Ok(())
}

/// One UDP socket: read every waiting datagram, answer it in place (fast path, else the
/// general path), send, and wait for the socket to be readable again.
async fn serve_udp(
    socket: Arc<UdpSocket>,
    authority: Arc<Authority>,
    services: Arc<ZoneServices>,
    mut limiter: Option<RateLimiter>,
) -> io::Result<()> {
    let mut query = vec![0; MAX_UDP_QUERY];
    let mut response = Vec::with_capacity(usize::from(crate::MAX_UDP_PAYLOAD));
    let mut counters = Counters::default();
    let updates_in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_UDP_UPDATES_IN_FLIGHT));
    loop {
        socket.readable().await?;
        for _ in 0..UDP_BATCH {
            let (len, src) = match socket.try_recv_from(&mut query) {
                Ok(received) => received,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if is_unrecoverable(&error) => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, "error receiving on the DNS UDP socket");
                    continue;
                }
            };
            if !answerable(src) {
                tracing::warn!(%src, "DNS query from an address that cannot be answered");
                continue;
            }
            let query = &query[..len];
            if crate::transfer::opcode(query) == crate::update::OPCODE_UPDATE {
                // Applied by the store, durably: not in the socket's loop. Updates are
                // signed and rare; rate limiting applies to what is reflected, answers.
                let Ok(permit) = updates_in_flight.clone().try_acquire_owned() else {
                    tracing::debug!(%src, "too many UDP updates in progress; dropped");
                    continue;
                };
                let (socket, authority, services) =
                    (socket.clone(), authority.clone(), services.clone());
                let update = query.to_vec();
                tokio::spawn(async move {
                    if let Some(answer) =
                        crate::update::respond(&update, src, &authority, &services).await
                    {
                        send_to(&socket, &answer, src).await;
                    }
                    drop(permit);
                });
                continue;
            }
            let answered = fast_path::answer(&authority.current(), query, &mut response);
            let send = match answered {
                Some(answered) => {
                    counters.count(answered);
                    true
                }
                None if crate::signed_query::is_signed(query) => {
                    // The key may have to be looked up in the store: not in this loop.
                    let Ok(permit) = updates_in_flight.clone().try_acquire_owned() else {
                        continue;
                    };
                    let (socket, authority, services) =
                        (socket.clone(), authority.clone(), services.clone());
                    let signed = query.to_vec();
                    tokio::spawn(async move {
                        if let Some(answer) = crate::signed_query::respond(
                            &signed,
                            src,
                            Protocol::Udp,
                            &authority,
                            &services,
                        )
                        .await
                        {
                            send_to(&socket, &answer, src).await;
                        }
                        drop(permit);
                    });
                    continue;
                }
                None => authority.respond_datagram(query, src, &mut response),
            };
            if !send {
                continue;
            }
            if let Some(limiter) = &mut limiter {
                match limiter.check(src.ip()) {
                    Verdict::Send => {}
                    Verdict::Drop => continue,
                    Verdict::Slip => {
                        if !truncate_to_question(&mut response) {
                            continue;
                        }
                    }
                }
            }
            send_to(&socket, &response, src).await;
        }
        tokio::task::yield_now().await;
    }
}

async fn send_to(socket: &UdpSocket, response: &[u8], dst: SocketAddr) {
    let result = match socket.try_send_to(response, dst) {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
            socket.send_to(response, dst).await
        }
        result => result,
    };
    if let Err(error) = result {
        tracing::debug!(%dst, %error, "could not send DNS response");
    }
}

/// hickory's rule: never answer port 0, an unspecified or a broadcast address.
fn answerable(src: SocketAddr) -> bool {
    src.port() != 0
        && match src.ip() {
            IpAddr::V4(ip) => !ip.is_unspecified() && !ip.is_broadcast(),
            IpAddr::V6(ip) => !ip.is_unspecified(),
        }
}

fn is_unrecoverable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotConnected | io::ErrorKind::ConnectionAborted
    )
}

/// `acme_srv_dns_queries_total` handles for the fast path's answers, registered once per
/// label pair instead of once per query.
#[derive(Default)]
struct Counters {
    known: Vec<((u16, bool), Counter)>,
}

impl Counters {
    fn count(&mut self, answered: fast_path::Answered) {
        let key = (answered.qtype, answered.nxdomain);
        if let Some((_, counter)) = self.known.iter().find(|(k, _)| *k == key) {
            counter.increment(1);
            return;
        }
        let rcode = if answered.nxdomain {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        let counter = metrics::counter!(
            "acme_srv_dns_queries_total",
            "type" => type_label(RecordType::from(answered.qtype)),
            "rcode" => rcode_label(rcode)
        );
        counter.increment(1);
        // Bounded: a client choosing QTYPEs could otherwise grow the list; the labels of
        // unknown types are all `other` anyway.
        if self.known.len() < 64 {
            self.known.push((key, counter));
        }
    }
}
