//! [`Relay`]: the state shared by every connection, built once from the configuration.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bounded_listener::http1::Http1Options;
use bounded_listener::{ClientKey, ClientPrefixes, ListenerBounds};
use config::{Config, Connections, OtherRequests};
use domain_name::DomainName;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper::http::uri::Authority;
use ipnet::IpNet;
use rand::SeedableRng;
use rand::rngs::StdRng;
use srv_scheme::{DomainPattern, Labels, Selection, SrvRecord};
use target_resolver::{ResolveError, TargetPolicy, TargetResolver};

use crate::answer_reuse::AnswerReuse;
use crate::app_exchange::AppPool;
use crate::relay_metrics::RelayMetrics;
use crate::target_pool::TargetPool;

/// Why a relay could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The resolver could not be set up.
    #[error("resolver: {0}")]
    Resolver(#[from] ResolveError),
    /// An upstream app URL is not `http://host:port`.
    #[error("upstream app {url:?}: {reason}")]
    Upstream {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Timeouts and sizes the request path needs, copied out of the configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    pub(crate) connect: Duration,
    pub(crate) response_header: Duration,
    pub(crate) response_body: Duration,
    pub(crate) total: Duration,
    pub(crate) target_idle: Duration,
    pub(crate) max_response_bytes: usize,
}

/// Idle app connections kept per app when `max_idle_per_app` is 0: more than the
/// requests usually in flight to one app at once, or connections are closed and opened
/// again under steady load (32 did that with 50 busy clients).
const DEFAULT_IDLE_PER_APP: usize = 256;
/// How long an idle app connection is kept.
const APP_IDLE_FOR: Duration = Duration::from_secs(60);
/// TCP connect to an app.
pub(crate) const APP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The apps behind the relay in `upstream` mode.
pub(crate) struct Apps {
    /// Idle connections to the apps, for the next request.
    pub(crate) pool: Arc<AppPool>,
    /// Time for an app's response head (`response_timeout`).
    pub(crate) response_timeout: Duration,
    pub(crate) default: Option<Authority>,
    pub(crate) by_host: HashMap<DomainName, Authority>,
}

/// Where ordering randomness comes from: the thread RNG, or a seeded one for tests.
enum RngSource {
    Thread,
    Seeded(Box<Mutex<StdRng>>),
}

/// Everything a request needs; shared by all connections behind an `Arc`.
pub struct Relay {
    pub(crate) allow: Vec<DomainPattern>,
    pub(crate) labels: Labels,
    pub(crate) fallback_target: Option<(String, u16)>,
    pub(crate) walk_up_parents: bool,
    pub(crate) resolver: Arc<TargetResolver>,
    pub(crate) policy: TargetPolicy,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) via_name: String,
    pub(crate) limits: Limits,
    pub(crate) other_requests: OtherRequests,
    pub(crate) apps: Option<Apps>,
    pub(crate) metrics: RelayMetrics,
    pub(crate) target_pool: TargetPool,
    /// Challenge exchanges in flight and 200 answers kept, shared by a CA's burst.
    pub(crate) answer_reuse: AnswerReuse,
    /// The bounds of the relay's client connections (`[relay.connections]`).
    pub(crate) bounds: Arc<ListenerBounds>,
    /// One permit per target or app connection in use (`max_target_connections`).
    pub(crate) target_slots: Arc<tokio::sync::Semaphore>,
    pub(crate) http1: Http1Options,
    client_prefixes: ClientPrefixes,
    rate_limiter: Option<DefaultKeyedRateLimiter<ClientKey>>,
    request_ids: RequestIds,
    rng: RngSource,
}

/// Ids that tie an answer the relay wrote itself to its log line: a random prefix per
/// process, then a counter.
struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        Self {
            prefix: rand::random(),
            next: AtomicU64::new(1),
        }
    }
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("allow", &self.allow)
            .field("policy", &self.policy)
            .field("other_requests", &self.other_requests)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Builds the relay for `config` (already validated), with a resolver of its own.
    pub fn from_config(config: &Config) -> Result<Self, RelayError> {
        let resolver = Arc::new(TargetResolver::new((&config.resolver).into())?);
        Self::with_resolver(config, resolver)
    }

    /// Builds the relay for `config` (already validated), looking names up through
    /// `resolver` (shared with the router, and kept across reloads: its cache stays warm).
    pub fn with_resolver(
        config: &Config,
        resolver: Arc<TargetResolver>,
    ) -> Result<Self, RelayError> {
        let policy = TargetPolicy::new(
            config.targets.allow_networks.clone(),
            config
                .targets
                .allow_ports
                .iter()
                .map(|p| p.first..=p.last)
                .collect(),
        );
        let relay = &config.relay;
        let limits = Limits {
            connect: relay.timeouts.connect,
            response_header: relay.timeouts.response_header,
            response_body: relay.timeouts.response_body,
            total: relay.timeouts.total,
            target_idle: relay.timeouts.target_idle,
            max_response_bytes: relay.limits.max_response_bytes,
        };
        let connections = relay.connections.resolve(Connections::RELAY);
        let client_prefixes = ClientPrefixes {
            ipv4: connections.client_ipv4_prefix,
            ipv6: connections.client_ipv6_prefix,
        };
        let bounds = Arc::new(ListenerBounds::new(
            "http",
            &connections.limits(),
            relay.trusted_proxies.clone(),
        ));
        let http1 = Http1Options::new(connections.request_timeout, relay.limits.max_header_bytes);
        let rate_limiter =
            NonZeroU32::new(relay.limits.requests_per_second_per_client).map(|rate| {
                let burst = NonZeroU32::new(relay.limits.burst_per_client).unwrap_or(rate);
                RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
            });
        let apps = (relay.other_requests == OtherRequests::Upstream)
            .then(|| build_apps(&relay.upstream))
            .transpose()?;
        let fallback_target = config
            .challenge
            .fallback_target
            .as_deref()
            .and_then(|t| config::parse_host_port(t).ok());
        Ok(Self {
            allow: config.challenge.allow_domains.clone(),
            labels: Labels {
                http01: config.challenge.http01_label.clone(),
                tls_alpn01: config.challenge.tls_alpn01_label.clone(),
            },
            fallback_target,
            walk_up_parents: config.challenge.walk_up_parents,
            resolver,
            policy,
            trusted_proxies: relay.trusted_proxies.clone(),
            via_name: relay.via_name.clone(),
            limits,
            other_requests: relay.other_requests,
            apps,
            metrics: RelayMetrics::default(),
            target_pool: TargetPool::new(relay.timeouts.target_idle),
            answer_reuse: AnswerReuse::new(
                relay.timeouts.answer_reuse,
                relay.limits.max_reused_answers,
            ),
            bounds,
            target_slots: Arc::new(tokio::sync::Semaphore::new(
                relay.limits.max_target_connections as usize,
            )),
            http1,
            client_prefixes,
            rate_limiter,
            request_ids: RequestIds::new(),
            rng: RngSource::Thread,
        })
    }

    /// Makes target ordering deterministic: the same seed gives the same order for the
    /// same sequence of requests. For tests.
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.rng = RngSource::Seeded(Box::new(Mutex::new(StdRng::seed_from_u64(seed))));
        self
    }

    /// RFC 2782 order for `records`, using this relay's random source.
    pub(crate) fn order(&self, records: &[SrvRecord]) -> Selection {
        match &self.rng {
            RngSource::Thread => srv_scheme::order_targets(records, &mut rand::rng()),
            RngSource::Seeded(rng) => {
                let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
                srv_scheme::order_targets(records, &mut *rng)
            }
        }
    }

    /// Whether `client` may make another request now (clients are counted by
    /// [`ClientKey`]: an IPv6 client is its prefix).
    pub(crate) fn admit(&self, client: IpAddr) -> bool {
        self.rate_limiter.as_ref().is_none_or(|l| {
            l.check_key(&ClientKey::new(client, self.client_prefixes))
                .is_ok()
        })
    }

    /// A fresh id for an answer and its log line, like `3f9a01c2-17`.
    pub(crate) fn request_id(&self) -> RequestId {
        RequestId {
            prefix: self.request_ids.prefix,
            counter: self.request_ids.next.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The bounds of the relay's client connections.
    pub fn bounds(&self) -> &ListenerBounds {
        &self.bounds
    }

    /// A target-connection slot, or `None` when `max_target_connections` are in use.
    pub(crate) fn target_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.target_slots.clone().try_acquire_owned().ok()
    }

    /// Drops rate-limiter state of clients not seen lately; called periodically.
    pub(crate) fn forget_idle_clients(&self) {
        if let Some(limiter) = &self.rate_limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// The relay's timeouts and sizes.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether `domain` is in the allow-list.
    pub(crate) fn is_allowed(&self, domain: &DomainName) -> bool {
        srv_scheme::domain::is_allowed(&self.allow, domain)
    }
}

/// The running relay: each request takes the current one; a reload puts a new one in
/// place for the requests that follow, and requests in progress finish with theirs.
#[derive(Debug)]
pub struct RelayHandle(arc_swap::ArcSwap<Relay>);

impl RelayHandle {
    /// A handle holding `relay`.
    pub fn new(relay: Relay) -> Self {
        Self::from_arc(Arc::new(relay))
    }

    /// A handle holding the shared `relay`.
    pub fn from_arc(relay: Arc<Relay>) -> Self {
        Self(arc_swap::ArcSwap::new(relay))
    }

    /// The current relay.
    pub fn current(&self) -> Arc<Relay> {
        self.0.load_full()
    }

    /// Puts `relay` in place for the requests that follow.
    pub fn replace(&self, relay: Relay) {
        self.0.store(Arc::new(relay));
    }
}

/// The id of one request, shown in the `x-request-id` header of answers the relay
/// writes itself and in the log line with the details.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestId {
    prefix: u32,
    counter: u64,
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08x}-{}", self.prefix, self.counter)
    }
}

fn build_apps(upstream: &config::UpstreamConfig) -> Result<Apps, RelayError> {
    let authority = |url: &str| -> Result<Authority, RelayError> {
        let rest = url.strip_prefix("http://").unwrap_or(url);
        rest.trim_end_matches('/')
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| RelayError::Upstream {
                url: url.to_owned(),
                reason: e.to_string(),
            })
    };
    let per_app = match upstream.max_idle_per_app {
        0 => DEFAULT_IDLE_PER_APP,
        n => n,
    };
    let pool = Arc::new(AppPool::with_cap_per_key(APP_IDLE_FOR, per_app));
    let mut by_host = HashMap::new();
    for (host, url) in &upstream.hosts {
        let host = srv_scheme::normalize_host(host).map_err(|e| RelayError::Upstream {
            url: url.clone(),
            reason: format!("host {host:?}: {e}"),
        })?;
        by_host.insert(host, authority(url)?);
    }
    Ok(Apps {
        pool,
        response_timeout: upstream.response_timeout,
        default: upstream.default.as_deref().map(authority).transpose()?,
        by_host,
    })
}
