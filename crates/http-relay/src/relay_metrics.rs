//! The relay's Prometheus metrics, as handles registered once (on first use) and then
//! only incremented: no key building, hashing or allocation per request.
//!
//! - `acme_srv_http_requests_total{kind, status}` and
//!   `acme_srv_http_request_duration_seconds{kind}`, `kind` being `challenge` or `other`.
//!
//! Connection metrics (`acme_srv_connections_open{listener="http"}`, refusals by reason)
//! come from `bounded-listener`.

use std::sync::OnceLock;
use std::time::Duration;

use hyper::StatusCode;
use metrics::{Counter, Histogram};

/// Statuses with a handle of their own; any other is registered per request.
const STATUSES: [u16; 22] = [
    200, 204, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 408, 413, 421, 429, 431, 500, 502,
    503, 504, 508,
];

/// What a request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An ACME http-01 challenge.
    Challenge,
    /// Anything else.
    Other,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Challenge => "challenge",
            Self::Other => "other",
        }
    }
}

/// The handles, created lazily so that they belong to whichever recorder is installed
/// when the first request arrives.
#[derive(Default)]
pub(crate) struct RelayMetrics {
    requests: [[OnceLock<Counter>; STATUSES.len()]; 2],
    durations: [OnceLock<Histogram>; 2],
}

impl RelayMetrics {
    /// Counts one answered request and its duration.
    pub(crate) fn request(&self, kind: Kind, status: StatusCode, elapsed: Duration) {
        let k = kind as usize;
        match STATUSES.iter().position(|s| *s == status.as_u16()) {
            Some(i) => self.requests[k][i]
                .get_or_init(|| {
                    metrics::counter!("acme_srv_http_requests_total", "kind" => kind.label(), "status" => status.as_str().to_owned())
                })
                .increment(1),
            None => metrics::counter!("acme_srv_http_requests_total", "kind" => kind.label(), "status" => status.as_str().to_owned())
                .increment(1),
        }
        self.durations[k]
            .get_or_init(|| {
                metrics::histogram!("acme_srv_http_request_duration_seconds", "kind" => kind.label())
            })
            .record(elapsed.as_secs_f64());
    }
}

impl std::fmt::Debug for RelayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayMetrics").finish_non_exhaustive()
    }
}
