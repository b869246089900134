//! [`Router`]: what every connection needs, built once per configuration and swapped
//! whole on reload ([`RouterHandle`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bounded_listener::ListenerBounds;
use config::{Config, RouterConfig};
use domain_name::DomainName;
use rand::SeedableRng;
use rand::rngs::StdRng;
use srv_scheme::{DomainPattern, Labels, Selection, SrvRecord};
use target_resolver::{TargetPolicy, TargetResolver};

use crate::routes::RouteTable;

/// Where ordering randomness comes from: the thread RNG, or a seeded one for tests.
enum RngSource {
    Thread,
    Seeded(Box<Mutex<StdRng>>),
}

/// The router's configuration in the form a connection uses it.
pub struct Router {
    pub(crate) routes: RouteTable,
    pub(crate) allow: Vec<DomainPattern>,
    pub(crate) labels: Labels,
    pub(crate) walk_up_parents: bool,
    pub(crate) resolver: Arc<TargetResolver>,
    pub(crate) policy: TargetPolicy,
    pub(crate) connect_timeout: Duration,
    pub(crate) challenge_timeout: Duration,
    pub(crate) hello_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    rng: RngSource,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .field("allow", &self.allow)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// The router of `config` (validated, with a `[router]` table or its defaults),
    /// looking up SRV records and addresses through `resolver` (shared with the relay).
    pub fn from_config(config: &Config, resolver: Arc<TargetResolver>) -> Self {
        let default = RouterConfig::default();
        let router = config.router.as_ref().unwrap_or(&default);
        let connections = router.connections.resolve(config::Connections::ROUTER);
        Self {
            routes: RouteTable::from_config(router),
            allow: config.challenge.allow_domains.clone(),
            labels: Labels {
                http01: config.challenge.http01_label.clone(),
                tls_alpn01: config.challenge.tls_alpn01_label.clone(),
            },
            walk_up_parents: config.challenge.walk_up_parents,
            resolver,
            policy: TargetPolicy::new(
                config.targets.allow_networks.clone(),
                config
                    .targets
                    .allow_ports
                    .iter()
                    .map(|p| p.first..=p.last)
                    .collect(),
            ),
            connect_timeout: router.timeouts.connect,
            challenge_timeout: router.timeouts.challenge,
            hello_timeout: connections.request_timeout,
            idle_timeout: connections.idle_timeout,
            rng: RngSource::Thread,
        }
    }

    /// Makes target ordering deterministic, for tests.
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.rng = RngSource::Seeded(Box::new(Mutex::new(StdRng::seed_from_u64(seed))));
        self
    }

    /// RFC 2782 order for `records`.
    pub(crate) fn order(&self, records: &[SrvRecord]) -> Selection {
        match &self.rng {
            RngSource::Thread => srv_scheme::order_targets(records, &mut rand::rng()),
            RngSource::Seeded(rng) => {
                let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
                srv_scheme::order_targets(records, &mut *rng)
            }
        }
    }

    /// Whether `domain` is in `challenge.allow_domains`.
    pub(crate) fn is_allowed(&self, domain: &DomainName) -> bool {
        srv_scheme::domain::is_allowed(&self.allow, domain)
    }
}

/// The bounds of the router's client connections (`[router.connections]`); they are
/// the listener's and stay as they were at start across reloads.
pub fn listener_bounds(config: &Config) -> ListenerBounds {
    let connections = config
        .router
        .as_ref()
        .map(|r| r.connections.resolve(config::Connections::ROUTER))
        .unwrap_or(config::Connections::ROUTER);
    ListenerBounds::new("router", &connections.limits(), Vec::new())
}

/// The running router's configuration: a connection takes the current one when it
/// starts and keeps it to its end; [`RouterHandle::replace`] (a reload) affects only the
/// connections that start after it.
#[derive(Debug)]
pub struct RouterHandle(ArcSwap<Router>);

impl RouterHandle {
    /// A handle holding `router`.
    pub fn new(router: Router) -> Self {
        Self(ArcSwap::from_pointee(router))
    }

    /// The current configuration.
    pub fn current(&self) -> Arc<Router> {
        self.0.load_full()
    }

    /// Puts `router` in place for new connections.
    pub fn replace(&self, router: Router) {
        self.0.store(Arc::new(router));
    }
}
