//! The router's Prometheus metrics, as handles registered once and then only
//! incremented:
//!
//! - `acme_srv_router_connections_total{route}`: connections by how they ended up
//!   routed ([`Route`]);
//! - `acme_srv_router_bytes_total{route, direction}`: bytes carried, `up` (client to
//!   backend) and `down`.
//!
//! Connection counts and refusals (`listener="router"`) come from `bounded-listener`.

use std::sync::OnceLock;

use metrics::Counter;

/// Where a connection went, or why it went nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A tls-alpn-01 validation, to the SRV target.
    Challenge,
    /// To the backend its server name selects.
    Backend,
    /// To the default backend.
    Default,
    /// No backend for its name and no default: closed with `unrecognized_name`.
    NoBackend,
    /// A validation for a name whose SRV record opts out (target `.`): closed.
    OptOut,
    /// A validation whose lookup failed or whose targets could not be reached: closed.
    ChallengeFailed,
    /// The backend could not be reached: closed.
    BackendFailed,
    /// The first bytes were not a TLS ClientHello: closed.
    NotTls,
    /// The ClientHello did not arrive in time, or the client left first.
    NoHello,
}

const ROUTES: [Route; 9] = [
    Route::Challenge,
    Route::Backend,
    Route::Default,
    Route::NoBackend,
    Route::OptOut,
    Route::ChallengeFailed,
    Route::BackendFailed,
    Route::NotTls,
    Route::NoHello,
];

impl Route {
    /// The label in logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Challenge => "challenge",
            Self::Backend => "backend",
            Self::Default => "default",
            Self::NoBackend => "no-backend",
            Self::OptOut => "opt-out",
            Self::ChallengeFailed => "challenge-failed",
            Self::BackendFailed => "backend-failed",
            Self::NotTls => "not-tls",
            Self::NoHello => "no-hello",
        }
    }
}

/// The handles, created lazily so that they belong to whichever recorder is installed
/// when the first connection arrives.
#[derive(Default)]
pub(crate) struct RouterMetrics {
    connections: [OnceLock<Counter>; ROUTES.len()],
    bytes: [[OnceLock<Counter>; 2]; ROUTES.len()],
}

impl RouterMetrics {
    /// Counts one finished connection and the bytes it carried each way.
    pub(crate) fn connection(&self, route: Route, up: u64, down: u64) {
        let r = route as usize;
        self.connections[r]
            .get_or_init(
                || metrics::counter!("acme_srv_router_connections_total", "route" => route.label()),
            )
            .increment(1);
        for (d, (direction, n)) in [("up", up), ("down", down)].into_iter().enumerate() {
            if n > 0 {
                self.bytes[r][d]
                    .get_or_init(|| {
                        metrics::counter!("acme_srv_router_bytes_total", "route" => route.label(), "direction" => direction)
                    })
                    .increment(n);
            }
        }
    }
}

impl std::fmt::Debug for RouterMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterMetrics").finish_non_exhaustive()
    }
}
