//! acme-srv's HTTP management API: the way records get into the DNS side.
//!
//! Goals:
//! - **Per-name credentials.** Besides an admin token, API keys are limited to scopes
//!   (one name, or a subtree) and optionally to source networks, so the client that
//!   renews `www.example.com` can change nothing else. Secrets are stored as argon2
//!   hashes and shown once.
//! - **Nothing changes on a refused request.** Authentication, validation of the request
//!   and authorisation happen before the store is written; the record rules that depend
//!   on what is stored (CNAME alone, RRset size, TTL range, quotas) are the store's,
//!   checked inside the write's transaction, which a refusal rolls back
//!   ([`record_store::rules`]). Every refusal is a clear 4xx problem detail (RFC 9457).
//! - **Drop-in acme-dns.** `/register`, `/update` and `/health` behave like acme-dns,
//!   so lego, certbot hooks and acme.sh work against acme-srv unmodified.
//! - **A document that tells the truth.** `GET /v1/openapi.json` (OpenAPI 3.1) is
//!   generated from the same types and patterns the server checks with, so a client that
//!   follows it is accepted and one that does not is refused (schemathesis verifies
//!   both).
//!
//! Routes (the OpenAPI document has the details):
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /v1/records[?under=NAME]` | admin, or a key (sees what it covers) | list |
//! | `POST /v1/records` | admin, or a key covering the owner | add one record (201) |
//! | `PUT /v1/records/{owner}/{type}` | same | replace the RRset (200) |
//! | `DELETE /v1/records/{owner}/{type}`, `DELETE /v1/records/{owner}` | same | delete (204, 404) |
//! | `POST /v1/keys`, `GET /v1/keys`, `DELETE /v1/keys/{id}` | admin | create (secret shown once), list, revoke |
//! | `GET /v1/zone-text[?under=NAME]` | as the list | the records as RFC 1035 zone-file lines (`text/plain`) |
//! | `PUT`, `DELETE /v1/challenges/dns-persist-01/{domain}` | admin, or a key covering `_validation-persist.<domain>` | write (replace) or delete the dns-persist-01 TXT record |
//! | `PUT`, `DELETE /v1/challenges/dns-account-01/{domain}` | admin, or a key covering `_<label>._acme-challenge.<domain>` | publish or delete a dns-account-01 TXT value (the label computed from the account URL) |
//! | `POST /v1/tsig-keys`, `GET /v1/tsig-keys`, `DELETE /v1/tsig-keys/{name}` | admin | TSIG keys for RFC 2136 UPDATE: create (secret shown once), list, revoke |
//! | `GET /v1/openapi.json` | anyone | the OpenAPI 3.1 document |
//! | `POST /register`, `POST /update`, `DELETE /register`, `GET /health` | acme-dns rules | acme-dns compatibility |
//!
//! Bounds against hostile clients: [`serve`] runs on `bounded-listener` (global and
//! per-client connection caps, first-byte, header, idle and lifetime timeouts); failed
//! authentications are limited per client (429, before any hashing); credentials of
//! the wrong shape are refused before hashing; argon2 verifications run a bounded number
//! at a time; `/register` can be closed or limited to networks and is rate-limited per
//! client; quotas bound records per key and per zone (counted by the store inside each
//! write's transaction, in O(1)) and registrations in all (`guards.rs`). Behind
//! `trusted_proxies`, all of these see the forwarded client.
//!
//! Layout by file:
//! - `lib.rs`: [`ApiSettings`], [`router`], [`serve`] and the request counter.
//! - `state.rs`: the shared state built from the settings.
//! - `auth.rs`: the admin token, API keys (argon2, scopes, source networks), and the
//!   [`hash_secret`] helper.
//! - `guards.rs`: per-client limits (failed authentication, registration), quotas, the
//!   bound on concurrent verifications, the client behind trusted proxies.
//! - `problem.rs`: errors as `application/problem+json`.
//! - `extract.rs`: body, path and query extractors whose refusals are problems.
//! - `validation.rs`: the input rules, shared by the server and the document.
//! - `records.rs`: `/v1/records`.
//! - `zone_text.rs`: records as zone-file text ([`zone_text()`], [`zone_line`]), and
//!   `/v1/zone-text`.
//! - `challenges.rs`: `/v1/challenges/…`, the dns-persist-01 and dns-account-01 records.
//! - `keys.rs`: `/v1/keys` and [`generate_key`].
//! - `tsig_keys.rs`: `/v1/tsig-keys`.
//! - `acme_dns.rs`: `/register`, `/update`, `/health`.
//! - `openapi.rs`: `/v1/openapi.json`.
//!
//! Metrics: every response increments `acme_srv_api_requests_total{route,status}`, with
//! `route` the matched route template (`/v1/records/{owner}/{type}`) or `unmatched`.
#![forbid(unsafe_code)]

mod acme_dns;
mod auth;
mod challenges;
mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod guards;
mod keys;
mod openapi;
mod problem;
mod records;
mod state;
mod tsig_keys;
mod validation;
mod zone_text;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use record_store::RecordStore;

pub use auth::{ARGON2_M_COST_KIB, ARGON2_T_COST, hash_secret};
pub use bounded_listener::{ClientPrefixes, ConnectionLimits};
pub use guards::{Quotas, RegistrationPolicy};
pub use keys::{GeneratedKey, generate_key};
pub use zone_text::{zone_line, zone_text};

use state::ApiState;

/// TXT values kept per name by acme-dns `/update` unless configured (acme-dns keeps 2).
pub const DEFAULT_TXT_KEEP: usize = 2;
/// Largest request body accepted unless configured: 64 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// The name of the request counter.
pub const REQUESTS_METRIC: &str = "acme_srv_api_requests_total";

/// What the API needs from the configuration.
#[derive(Clone)]
pub struct ApiSettings {
    /// Served zone origins (normalised, no trailing dot): owner names must be inside one.
    pub zones: Vec<String>,
    /// The admin token (plaintext from the configuration or environment). `None`: only
    /// API keys work, and keys cannot be managed through the API.
    pub admin_token: Option<String>,
    /// The zone acme-dns registrations are made under (`<uuid>.<zone>`); `None` disables
    /// `POST /register`.
    pub acme_dns_zone: Option<String>,
    /// TXT values kept per name by `/update` (acme-dns keeps 2).
    pub txt_keep: usize,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed: behind them, source-network checks and
    /// per-client limits see the forwarded client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How client addresses are grouped into clients for the per-client limits.
    pub client_prefixes: ClientPrefixes,
    /// Who may use `POST /register`, and how often.
    pub registration: RegistrationPolicy,
    /// Quotas and the failed-authentication limit.
    pub quotas: Quotas,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            zones: Vec::new(),
            admin_token: None,
            acme_dns_zone: None,
            txt_keep: DEFAULT_TXT_KEEP,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            trusted_proxies: Vec::new(),
            client_prefixes: ClientPrefixes::default(),
            registration: RegistrationPolicy::default(),
            quotas: Quotas::default(),
        }
    }
}

impl fmt::Debug for ApiSettings {
    /// Never shows the admin token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiSettings")
            .field("zones", &self.zones)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("acme_dns_zone", &self.acme_dns_zone)
            .field("txt_keep", &self.txt_keep)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("registration", &self.registration)
            .field("quotas", &self.quotas)
            .finish_non_exhaustive()
    }
}

/// The API's router, ready for
/// `into_make_service_with_connect_info::<SocketAddr>()` (source-network checks need the
/// client address; without it, keys and registrations limited to networks are refused).
pub fn router(store: Arc<dyn RecordStore>, settings: ApiSettings) -> Router {
    let max_body_bytes = settings.max_body_bytes;
    let state = ApiState::new(store, settings);
    if let Some(zone) = &state.acme_dns_zone
        && validation::zone_of(&state.zones, zone).is_none()
    {
        tracing::warn!(
            acme_dns_zone = %zone,
            "management API: the acme-dns zone is not inside a served zone; \
             TXT records of registrations will be stored but not served"
        );
    }
    Router::new()
        .route("/v1/records", get(records::list).post(records::create))
        .route("/v1/records/{owner}", delete(records::delete_owner))
        .route(
            "/v1/records/{owner}/{type}",
            put(records::replace).delete(records::delete_rrset),
        )
        .route("/v1/zone-text", get(zone_text::serve))
        .route(
            "/v1/challenges/dns-persist-01/{domain}",
            put(challenges::put_persist).delete(challenges::delete_persist),
        )
        .route(
            "/v1/challenges/dns-account-01/{domain}",
            put(challenges::put_account).delete(challenges::delete_account),
        )
        .route("/v1/keys", get(keys::list).post(keys::create))
        .route("/v1/keys/{id}", delete(keys::revoke))
        .route(
            "/v1/tsig-keys",
            get(tsig_keys::list).post(tsig_keys::create),
        )
        .route("/v1/tsig-keys/{name}", delete(tsig_keys::revoke))
        .route("/v1/openapi.json", get(openapi::serve))
        .route(
            "/register",
            post(acme_dns::register).delete(acme_dns::unregister),
        )
        .route("/update", post(acme_dns::update))
        .route("/health", get(acme_dns::health))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(count_request))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            forwarded_client,
        ))
        .with_state(state)
}

/// The OpenAPI document the router built from `settings` serves, as JSON (for
/// documentation and tooling).
pub fn openapi_json(settings: &ApiSettings) -> String {
    openapi::render(&state::normalise_zones(&settings.zones))
}

/// How [`serve`] bounds its clients' connections (`[api.connections]`).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The listener's name in logs and metrics (`api`, `admin`).
    pub name: &'static str,
    /// Caps and timeouts.
    pub connections: ConnectionLimits,
    /// Time for a request head once begun (and for the next one on a kept connection).
    pub header_timeout: Duration,
    /// Peers exempt from the per-client connection cap (trusted reverse proxies).
    pub exempt: Vec<ipnet::IpNet>,
}

impl Default for ServeOptions {
    /// The defaults of `[api.connections]`.
    fn default() -> Self {
        Self {
            name: "api",
            connections: ConnectionLimits {
                max_connections: 256,
                max_per_client: 16,
                client_prefixes: ClientPrefixes::default(),
                first_byte_timeout: Duration::from_secs(5),
                idle_timeout: Duration::from_secs(30),
                max_duration: Duration::from_secs(300),
            },
            header_timeout: Duration::from_secs(10),
            exempt: Vec::new(),
        }
    }
}

/// Serves `router` (this crate's, or any axum router such as the admin listener's) on
/// `listeners` with client addresses (`ConnectInfo<SocketAddr>`) under `options`:
/// `bounded-listener`'s caps and timeouts, hyper's header timeout. Returns once
/// `shutdown` has completed and the requests in flight have finished.
pub async fn serve(
    listeners: Vec<tokio::net::TcpListener>,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    use tower::ServiceExt as _;
    let bounds = Arc::new(bounded_listener::ListenerBounds::new(
        options.name,
        &options.connections,
        options.exempt,
    ));
    // Request heads of the API are small; bodies are limited separately.
    let http1 = bounded_listener::http1::Http1Options::new(options.header_timeout, 16 * 1024);
    let make_service = move |peer: SocketAddr| {
        let router = router.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        })
    };
    bounded_listener::http1::serve(listeners, bounds, http1, make_service, shutdown).await;
}

/// Middleware: behind a trusted reverse proxy, the client address every handler sees
/// (`ConnectInfo`) becomes the forwarded client, so source-network checks and per-client
/// limits apply to the real client rather than to the proxy.
async fn forwarded_client(
    axum::extract::State(state): axum::extract::State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
        && let Some(client) = state.guards.forwarded_client(peer.ip(), request.headers())
    {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
    }
    next.run(request).await
}

/// Counts every response by route template and status.
async fn count_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics::counter!(
        REQUESTS_METRIC,
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    response
}
