//! Accepting connections under bounds, for every listener acme-srv has (the port-80
//! relay, the management API, the admin listener, DNS over TCP, and the port-443 router
//! when it lands), so that no client, and no part of `serve`, can take what the others
//! need.
//!
//! Goals: a connection that sends nothing, sends slowly, idles or lives forever is
//! closed; one client (an IPv4 address, or an IPv6 /64 by default) holds at most its
//! share of a listener's connections; a listener holds at most its cap, and the caps of
//! all parts fit the process's file-descriptor limit; a failing `accept(2)` (EMFILE)
//! pauses with back-off instead of spinning a core.
//!
//! How the parts fit, by file:
//! - `client_key.rs`: [`ClientKey`], a client address reduced to its prefix
//!   ([`ClientPrefixes`]); also the key of per-client rate limits elsewhere.
//! - `client_rate.rs`: [`ClientRate`], a token bucket per client in a bounded table
//!   (the API's failed-authentication and registration limits, DNS response rate
//!   limiting).
//! - `forwarded.rs`: [`forwarded_client`], the client behind trusted reverse proxies.
//! - `admission.rs`: [`Admission`], the global and per-client caps; an admitted
//!   connection holds an [`Admitted`] ticket until it ends.
//! - `timed_io.rs`: [`TimedIo`], a stream with a first-byte and an idle timeout; an
//!   [`Activity`] marks it busy while a request is served.
//! - `accept.rs`: [`accept_loop`] ties them together for one listener, with the lifetime
//!   bound per connection and the metrics `acme_srv_connections_open{listener}`,
//!   `acme_srv_connections_refused_total{listener,reason}` and
//!   `acme_srv_accept_errors_total{listener}`.
//! - `http1.rs`: [`http1::serve`], hyper's HTTP/1 server over the accept loop (header
//!   timeout, bounded head, graceful close at lifetime and shutdown); a kept-alive
//!   connection between requests holds no hyper state, only its socket waiting for
//!   readability (about 1.3 KiB in all, against 10 KiB with hyper's buffers).
//! - `fd_budget.rs`: [`raise_nofile_limit`] and [`fit_caps`], the descriptor budget.
#![forbid(unsafe_code)]

mod accept;
mod admission;
mod client_key;
mod client_rate;
mod fd_budget;
mod forwarded;
pub mod http1;
mod timed_io;

use std::time::Duration;

use ipnet::IpNet;

pub use accept::{Accepted, LIFETIME_GRACE, ListenerBounds, accept_loop};
pub use admission::{Admission, AdmissionLimits, Admitted, Refused};
pub use client_key::{ClientKey, ClientPrefixes};
pub use client_rate::ClientRate;
pub use fd_budget::{FdClaim, fit_caps, raise_nofile_limit};
pub use forwarded::{forwarded_client, is_trusted};
pub use timed_io::{Activity, Busy, Expiry, TimedIo};

/// The bounds of one listener as configured (`[<part>.connections]`).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections open at once, at most.
    pub max_connections: usize,
    /// Connections one client may hold; 0 disables the per-client cap.
    pub max_per_client: usize,
    /// How client addresses are aggregated.
    pub client_prefixes: ClientPrefixes,
    /// Time from accept to the client's first byte.
    pub first_byte_timeout: Duration,
    /// Time without progress (no request in progress) before the connection is closed.
    pub idle_timeout: Duration,
    /// Longest time a connection stays open.
    pub max_duration: Duration,
}

impl ListenerBounds {
    /// The bounds of listener `name` under `limits`; peers in `exempt` (trusted reverse
    /// proxies) skip the per-client cap.
    pub fn new(name: &'static str, limits: &ConnectionLimits, exempt: Vec<IpNet>) -> Self {
        Self {
            name,
            admission: Admission::new(AdmissionLimits {
                max_connections: limits.max_connections,
                max_per_client: limits.max_per_client,
                prefixes: limits.client_prefixes,
                exempt,
            }),
            first_byte_timeout: limits.first_byte_timeout,
            idle_timeout: limits.idle_timeout,
            max_duration: limits.max_duration,
        }
    }
}
