//! Serving an [`Authority`] on sockets the caller bound, until shutdown: our own loop per
//! UDP socket (fast path, else the general path, answered in place), hickory's `Server`
//! for TCP.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use hickory_server::Server;
use hickory_server::net::NetError;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use metrics::Counter;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;

use crate::authority::{Authority, rcode_label, type_label};
use crate::fast_path;

/// The largest UDP query read; longer datagrams are cut (and then fail to parse), as in
/// hickory's server.
const MAX_UDP_QUERY: usize = 4096;

/// Datagrams answered in a row before the UDP loop lets other tasks run.
const UDP_BATCH: usize = 64;

/// How long a TCP connection may stay idle before the server closes it (RFC 7766 §6.2.3
/// suggests seconds, not minutes; this also bounds slow-loris clients).
pub const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many responses may wait to be written on one TCP connection. Queries on a
/// connection are answered one at a time, so this is rarely more than one.
const TCP_RESPONSE_QUEUE: usize = 32;

/// Why [`run`] returned an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsServerError {
    /// [`run`] was given no socket at all.
    #[error("the DNS server has no UDP socket and no TCP listener to serve on")]
    NoSockets,
    /// A socket task ended before shutdown was requested.
    #[error("the DNS server stopped before shutdown was requested: {0}")]
    Stopped(#[source] NetError),
    /// A UDP socket failed.
    #[error("the DNS server's UDP socket failed: {0}")]
    Udp(#[source] io::Error),
    /// A socket task failed while shutting down.
    #[error("the DNS server did not shut down cleanly: {0}")]
    Shutdown(#[source] NetError),
}

/// Serves `authority` on every UDP socket and TCP listener (typically the same address,
/// port 53) until `shutdown` completes, then stops accepting, lets the TCP queries in
/// flight finish, and returns. UDP queries are answered as they are read, so none is in
/// flight at shutdown.
pub async fn run(
    authority: Arc<Authority>,
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
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
        udp_tasks.spawn(serve_udp(socket, authority.clone()));
    }
    let mut server = (!tcp.is_empty()).then(|| Server::new(Shared(authority)));
    if let Some(server) = &mut server {
        for listener in tcp {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "DNS server listening on TCP");
            }
            server.register_listener(listener, TCP_TIMEOUT, TCP_RESPONSE_QUEUE);
        }
    }

    let tcp_done = async {
        match &mut server {
            Some(server) => server.block_until_done().await,
            None => std::future::pending().await,
        }
    };
    let udp_done = async {
        match udp_tasks.join_next().await {
            Some(Ok(Err(error))) => error,
            Some(Err(error)) => io::Error::other(error),
            Some(Ok(Ok(()))) => io::Error::other("a UDP socket task ended"),
            None => std::future::pending().await,
        }
    };
    let stopped = tokio::select! {
        result = tcp_done => Some(match result {
            Err(error) => DnsServerError::Stopped(error),
            Ok(()) => DnsServerError::Stopped(NetError::from("every socket task ended")),
        }),
        error = udp_done => Some(DnsServerError::Udp(error)),
        () = shutdown => None,
    };
    udp_tasks.abort_all();
    if let Some(error) = stopped {
        return Err(error);
    }
    tracing::info!("DNS server shutting down");
    match &mut server {
        Some(server) => server
            .shutdown_gracefully()
            .await
            .map_err(DnsServerError::Shutdown),
        None => Ok(()),
    }
}

/// One UDP socket: read every waiting datagram, answer it in place (fast path, else the
/// general path), send, and wait for the socket to be readable again.
async fn serve_udp(socket: UdpSocket, authority: Arc<Authority>) -> io::Result<()> {
    let mut query = vec![0; MAX_UDP_QUERY];
    let mut response = Vec::with_capacity(usize::from(crate::MAX_UDP_PAYLOAD));
    let mut counters = Counters::default();
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
            let answered = fast_path::answer(&authority.current(), query, &mut response);
            let send = match answered {
                Some(answered) => {
                    counters.count(answered);
                    true
                }
                None => authority.respond_datagram(query, src, &mut response),
            };
            if send {
                send_to(&socket, &response, src).await;
            }
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

/// The handler given to hickory's server (TCP): the caller keeps its own `Arc` to
/// replace snapshots.
struct Shared(Arc<Authority>);

#[async_trait::async_trait]
impl RequestHandler for Shared {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        self.0.respond(request, response_handle).await
    }
}
