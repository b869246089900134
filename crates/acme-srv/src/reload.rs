//! Reloading on SIGHUP: the configuration is read again (the file, and for `relay` and
//! `router` the command-line flags on top), and when it is valid the relay and the
//! router take it at once: backends, allow-lists, target policy, limits, timeouts. A
//! request or tunnel in progress finishes with the configuration it started with; no
//! connection is closed. A file that fails to load or build is refused with its error,
//! and the running configuration stays.
//!
//! What the listeners were built with stays until a restart: listen addresses,
//! `[<part>.connections]` (except the router's `request_timeout` and `idle_timeout`,
//! which are the router's own and reload), and the DNS side's tables; a reload that
//! changes them says so in its log line.

use std::sync::Arc;

use anyhow::Context;
use config::Config;
use target_resolver::TargetResolver;
use tokio_util::sync::CancellationToken;

/// Reads the configuration again; `None` for a command that has nothing to reload.
pub(crate) type Source = Option<Box<dyn Fn() -> anyhow::Result<Config> + Send + Sync>>;

/// What a reload replaces, and the configuration it replaces it from.
pub(crate) struct Running {
    pub(crate) relay: Option<Arc<http_relay::RelayHandle>>,
    pub(crate) router: Option<Arc<alpn_router::RouterHandle>>,
    config: Config,
    resolver: Option<Arc<TargetResolver>>,
}

impl Running {
    /// The running `config`, its resolver shared by the relay and the router.
    pub(crate) fn new(config: &Config, resolver: Option<Arc<TargetResolver>>) -> Self {
        Self {
            relay: None,
            router: None,
            config: config.clone(),
            resolver,
        }
    }

    /// Builds everything from `config` first, then swaps it all in.
    fn apply(&mut self, mut config: Config) -> anyhow::Result<()> {
        crate::serve::fit_connection_caps(&mut config, self.parts());
        let resolver = match &self.resolver {
            Some(resolver) if config.resolver == self.config.resolver => Some(resolver.clone()),
            Some(_) => Some(Arc::new(
                TargetResolver::new((&config.resolver).into())
                    .context("setting up the resolver")?,
            )),
            None => None,
        };
        let relay = match (&self.relay, &resolver) {
            (Some(_), Some(resolver)) => Some(
                http_relay::Relay::with_resolver(&config, resolver.clone())
                    .context("building the relay")?,
            ),
            _ => None,
        };
        let router = match (&self.router, &resolver) {
            (Some(_), Some(resolver)) => {
                Some(alpn_router::Router::from_config(&config, resolver.clone()))
            }
            _ => None,
        };
        let restart = self.needs_restart(&config);
        if let (Some(handle), Some(relay)) = (&self.relay, relay) {
            handle.replace(relay);
        }
        if let (Some(handle), Some(router)) = (&self.router, router) {
            handle.replace(router);
        }
        self.resolver = resolver;
        if restart.is_empty() {
            tracing::info!("configuration reloaded");
        } else {
            tracing::warn!(
                unchanged_until_restart = %restart.join(", "),
                "configuration reloaded; these tables keep their running values until a restart"
            );
        }
        self.config = config;
        Ok(())
    }

    fn parts(&self) -> crate::serve::Parts {
        crate::serve::Parts {
            relay: self.relay.is_some(),
            router: self.router.is_some(),
            dns: self.config.dns.is_some(),
            api: self.config.api.is_some(),
        }
    }

    /// The keys whose change a reload cannot apply.
    fn needs_restart(&self, new: &Config) -> Vec<&'static str> {
        let old = &self.config;
        let mut keys = Vec::new();
        if self.relay.is_some() {
            if old.relay.listen != new.relay.listen {
                keys.push("relay.listen");
            }
            if old.relay.connections != new.relay.connections {
                keys.push("relay.connections");
            }
        }
        let listen = |c: &Config| c.router.as_ref().map(|r| r.listen.clone());
        // The ClientHello and idle timeouts are the router's own and reload; the caps,
        // the first-byte timeout and the lifetime belong to the listener.
        let connections = |c: &Config| {
            c.router.as_ref().map(|r| {
                let mut listener_part = r.connections.clone();
                listener_part.request_timeout = None;
                listener_part.idle_timeout = None;
                listener_part
            })
        };
        if self.router.is_some() {
            if listen(old) != listen(new) {
                keys.push("router.listen");
            }
            if connections(old) != connections(new) {
                keys.push("router.connections (max, max_per_client, prefixes, first_byte_timeout, max_duration)");
            }
        }
        // The DNS side's tables: compared by their full contents.
        let same =
            |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
        for (key, changed) in [
            ("dns", !same(&old.dns, &new.dns)),
            ("api", !same(&old.api, &new.api)),
            ("store", !same(&old.store, &new.store)),
            ("admin", !same(&old.admin, &new.admin)),
        ] {
            if changed {
                keys.push(key);
            }
        }
        keys
    }
}

/// Reloads from `source` on each SIGHUP until `shutdown`.
pub(crate) fn on_sighup(source: Source, mut running: Running, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP: reloading is off");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                got = hangup.recv() => if got.is_none() { return },
                () = shutdown.cancelled() => return,
            }
            let Some(source) = &source else {
                tracing::info!("SIGHUP received; this command has nothing to reload");
                continue;
            };
            tracing::info!("SIGHUP received: reloading the configuration");
            let result = source().and_then(|config| running.apply(config));
            if let Err(e) = result {
                tracing::error!(
                    error = %crate::error_chain(&e),
                    "reload refused; the running configuration stays"
                );
            }
        }
    });
}
