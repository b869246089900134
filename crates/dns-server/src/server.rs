//! Serving an [`Authority`] on sockets the caller bound, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::NetError;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use tokio::net::{TcpListener, UdpSocket};

use crate::authority::Authority;

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
    /// A socket task failed while shutting down.
    #[error("the DNS server did not shut down cleanly: {0}")]
    Shutdown(#[source] NetError),
}

/// Serves `authority` on every UDP socket and TCP listener (typically the same address,
/// port 53) until `shutdown` completes, then stops accepting, lets the queries in flight
/// finish, and returns.
pub async fn run(
    authority: Arc<Authority>,
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DnsServerError> {
    if udp.is_empty() && tcp.is_empty() {
        return Err(DnsServerError::NoSockets);
    }
    let mut server = Server::new(Shared(authority));
    for socket in udp {
        if let Ok(addr) = socket.local_addr() {
            tracing::info!(%addr, "DNS server listening on UDP");
        }
        server.register_socket(socket);
    }
    for listener in tcp {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "DNS server listening on TCP");
        }
        server.register_listener(listener, TCP_TIMEOUT, TCP_RESPONSE_QUEUE);
    }

    let stopped = tokio::select! {
        result = server.block_until_done() => Some(result),
        () = shutdown => None,
    };
    match stopped {
        Some(Err(error)) => Err(DnsServerError::Stopped(error)),
        Some(Ok(())) => Err(DnsServerError::Stopped(NetError::from(
            "every socket task ended",
        ))),
        None => {
            tracing::info!("DNS server shutting down");
            server
                .shutdown_gracefully()
                .await
                .map_err(DnsServerError::Shutdown)
        }
    }
}

/// The handler given to hickory's server: the caller keeps its own `Arc` to replace
/// snapshots.
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
