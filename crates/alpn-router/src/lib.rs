//! The port-443 router (tls-alpn-01, RFC 8737): it owns port 443 without terminating
//! TLS. It reads the client's ClientHello, sends a connection that offers only
//! `acme-tls/1` to the target named by `_acme-tls-alpn._tcp.<sni>` and every other
//! connection to the backend chosen by SNI, replaying the bytes it read.
//!
//! Goals: everything on 443 passes through it, so it adds as little as HAProxy in TCP
//! mode does (no TLS, no buffer held by an idle tunnel, one small allocation to read a
//! ClientHello) and is as safe as the relay (the target policy and allow-list for
//! validation connections, the caps and timeouts every listener has).
//!
//! The path of a connection, by file:
//!
//! 1. [`server`]: `bounded-listener` accepts and admits it (`[router.connections]`),
//!    and the first bytes are read until [`client_hello::peek`] finds a whole
//!    ClientHello (split over any number of TLS records and TCP segments, within a
//!    bounded buffer and the hello timeout), or says it is not TLS.
//! 2. [`server`] chooses the route: `acme-tls/1` offered alone for a name in
//!    `challenge.allow_domains` → [`challenge_target`] (SRV lookup, RFC 2782 order,
//!    target policy, failover); a name without such a record goes on as any other
//!    connection, to the backend [`routes`] picks (exact name, longest `*.` wildcard,
//!    default backend; no name or an IP literal → default).
//! 3. [`proxy_protocol`] writes the PROXY header the backend asked for, the bytes read
//!    are replayed, and [`tunnel`] copies both ways (half-close, idle timeout).
//! 4. One log line per connection (SNI, route, backend, bytes, duration) and the
//!    metrics of `router_metrics.rs`.
//!
//! [`Router`] is built from the configuration; [`RouterHandle`] holds the current one
//! and swaps it on reload, so established connections keep the configuration they
//! started with. [`run`] serves listeners the caller bound (port 0 in tests).
#![forbid(unsafe_code)]

pub mod challenge_target;
pub mod client_hello;
pub mod proxy_protocol;
pub mod routes;
pub mod server;
pub mod tunnel;

mod router;
mod router_metrics;

pub use router::{Router, RouterHandle, listener_bounds};
pub use router_metrics::Route;
pub use server::run;
