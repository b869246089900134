//! The port-80 relay: ACME http-01 challenges go to the target the domain's SRV record
//! names; every other request is redirected to https, proxied to an app, or refused.
//!
//! The path of a request, by file:
//!
//! 1. [`server`]: accepts connections on every listener (a connection limit, hyper's
//!    HTTP/1 parser with a header-size limit and a header-read timeout), and shuts down
//!    gracefully.
//! 2. [`inbound`]: decides what a request is. Client address (believing
//!    `X-Forwarded-For` only from `trusted_proxies`), per-client rate limit, request
//!    smuggling and loop (`Via`) checks, the host (absolute-form URI or `Host`,
//!    normalised), and whether the path is a well-formed challenge.
//! 3. [`challenge`]: for an allowed domain, asks [`target_resolver`] for the SRV
//!    records, orders them with [`srv_scheme::order_targets`], resolves and checks each
//!    target address against the target policy, and tries them in turn.
//! 4. [`forward`]: the one request sent to a checked address, in the request's own
//!    task, on an idle connection to that address from [`target_pool`] or a fresh one:
//!    the head written by [`forwarded_headers`] (origin-form, original `Host`,
//!    forwarding headers added, hop-by-hop headers and body dropped), the answer read
//!    by [`target_response`] (`httparse`) with timeouts, a head limit and a body cap,
//!    and returned unchanged; the connection is kept for the next challenge when the
//!    answer allows it.
//! 5. [`other_requests`]: `redirect-https`, `not-found`, or `upstream` (a pooled reverse
//!    proxy to the app chosen by host).
//!
//! [`reply`] holds the relay's own answers and the response body type; metrics are
//! handles registered once (`relay_metrics.rs`), so a request allocates nothing for them.
//!
//! [`Relay`] holds the shared state built from the configuration; [`run`] serves it on
//! listeners the caller bound (port 0 in tests) until a shutdown future completes.
#![forbid(unsafe_code)]

mod answer_reuse;
pub mod app_exchange;
pub mod app_upgrade;
pub mod challenge;
pub mod forward;
pub mod forwarded_headers;
pub mod inbound;
pub mod other_requests;
pub mod reply;
pub mod server;
pub mod target_pool;
pub mod target_response;

mod relay;
mod relay_metrics;

pub use relay::{Relay, RelayError, RelayHandle};
pub use server::{run, run_reloadable};
