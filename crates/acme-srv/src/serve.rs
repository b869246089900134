//! Running the parts a command or a configuration file enables (relay, router, DNS, API)
//! in one runtime, with one metrics registry, one admin listener, one resolver for the
//! relay and the router, one shutdown, and reloading on SIGHUP (`reload.rs`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use config::{Config, Connections};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{admin, listen, logging, reload};

/// Which parts to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts {
    pub(crate) relay: bool,
    pub(crate) router: bool,
    pub(crate) dns: bool,
    pub(crate) api: bool,
}

impl Parts {
    /// What `acme-srv serve` runs: every table present in the file.
    pub(crate) fn enabled_in(config: &Config) -> Self {
        Self {
            relay: config.relay_table_present,
            router: config.router.is_some(),
            dns: config.dns.is_some(),
            api: config.api.is_some(),
        }
    }
}

/// Runs `parts` of `config` until SIGTERM or SIGINT; on SIGHUP, `reload` reads the
/// configuration again and the relay and the router take it.
pub(crate) fn run(config: Config, parts: Parts, reload: reload::Source) -> anyhow::Result<()> {
    logging::init(config.log.format);
    if !(parts.relay || parts.router || parts.dns || parts.api) {
        anyhow::bail!(
            "nothing to run: the configuration has no [relay], [router], [dns] or [api] table"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config, parts, reload))
}

async fn serve(mut config: Config, parts: Parts, reload: reload::Source) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let metrics = admin::install_metrics(shutdown.clone())?;
    fit_connection_caps(&mut config, parts);
    let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();

    let store = if parts.dns || parts.api {
        Some(open_store(&config.store.url).await?)
    } else {
        None
    };

    if parts.dns {
        let dns = config.dns.clone().unwrap_or_default();
        let dns_store = store.clone().context("store")?;
        let specs = zone_sync::zone_specs(&dns).context("loading [dns] zones")?;
        let authority =
            zone_sync::start(dns_store.clone(), specs, shutdown.clone(), &mut tasks).await?;
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for addr in &dns.listen {
            // TCP on the same port as UDP, so port 0 gives one port for both.
            let (socket, listener) = listen::bind_udp_and_tcp(*addr)
                .with_context(|| format!("binding dns-udp and dns-tcp {addr}"))?;
            tracing::info!("listening for dns-udp on {}", socket.local_addr()?);
            tracing::info!("listening for dns-tcp on {}", listener.local_addr()?);
            udp.push(socket);
            tcp.push(listener);
        }
        let quotas =
            config
                .api
                .as_ref()
                .map_or_else(Default::default, |api| record_store::RecordQuotas {
                    records_per_zone: api.quotas.records_per_zone,
                    records_per_author: api.quotas.records_per_key,
                });
        let mut options = dns_server_options(&dns);
        options.services = zone_sync::zone_services(&dns, dns_store.clone(), quotas);
        for target in zone_sync::push_targets(&dns) {
            tokio::spawn(zone_sync::push::run(
                target,
                dns_store.clone(),
                authority.clone(),
                shutdown.clone(),
            ));
        }
        let notify = zone_sync::notify_targets(&dns);
        if !notify.is_empty() {
            let (authority, stop) = (authority.clone(), shutdown.clone());
            tokio::spawn(dns_server::notify::run(
                authority,
                notify,
                stop.cancelled_owned(),
            ));
        }
        let stop = shutdown.clone();
        tasks.spawn(async move {
            dns_server::run_with_options(authority, udp, tcp, options, stop.cancelled_owned())
                .await
                .context("dns server")
        });
    }

    if parts.api {
        let api = config.api.clone().unwrap_or_default();
        let store = store.clone().context("store")?;
        let listener =
            listen::bind(api.listen).with_context(|| format!("binding api {}", api.listen))?;
        tracing::info!("listening for api on {}", listener.local_addr()?);
        let zones = config
            .dns
            .iter()
            .flat_map(|d| &d.zones)
            .map(|z| zone_sync::origin_text(&z.origin))
            .collect();
        let admin_token = std::env::var("ACME_SRV_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .or(api.admin_token);
        if admin_token.is_none() {
            tracing::warn!(
                "no admin token (ACME_SRV_ADMIN_TOKEN or api.admin_token): keys cannot be created"
            );
        }
        let connections = api.connections.resolve(Connections::API);
        let settings = management_api::ApiSettings {
            zones,
            admin_token,
            acme_dns_zone: api.acme_dns_zone.as_deref().map(zone_sync::origin_text),
            txt_keep: api.txt_keep,
            max_body_bytes: api.max_body_bytes,
            trusted_proxies: api.trusted_proxies.clone(),
            client_prefixes: connections.limits().client_prefixes,
            registration: management_api::RegistrationPolicy {
                enabled: api.registration.enabled,
                allow_from: api.registration.allow_from.clone(),
                per_client_per_hour: api.registration.per_client_per_hour,
            },
            quotas: management_api::Quotas {
                records_per_key: api.quotas.records_per_key,
                records_per_zone: api.quotas.records_per_zone,
                registrations: api.quotas.registrations,
                failed_auth_per_client_per_minute: api.quotas.failed_auth_per_client_per_minute,
                concurrent_verifications: api.quotas.concurrent_verifications,
            },
        };
        let router = management_api::router(store, settings);
        let options = serve_options("api", &connections, api.trusted_proxies.clone());
        let stop = shutdown.clone();
        tasks.spawn(async move {
            management_api::serve(vec![listener], router, options, stop.cancelled_owned()).await;
            Ok(())
        });
    }

    // One resolver (one cache) for the relay and the router; a reload keeps it.
    let resolver = if parts.relay || parts.router {
        Some(Arc::new(
            target_resolver::TargetResolver::new((&config.resolver).into())
                .context("setting up the resolver")?,
        ))
    } else {
        None
    };
    let mut running = reload::Running::new(&config, resolver.clone());

    if parts.relay {
        let relay =
            http_relay::Relay::with_resolver(&config, resolver.clone().context("resolver")?)
                .context("building the relay")?;
        let handle = Arc::new(http_relay::RelayHandle::new(relay));
        running.relay = Some(handle.clone());
        let mut listeners = Vec::new();
        for addr in &config.relay.listen {
            let listener =
                listen::bind(*addr).with_context(|| format!("binding http listener {addr}"))?;
            tracing::info!("listening for http on {}", listener.local_addr()?);
            listeners.push(listener);
        }
        let stop = shutdown.clone();
        tasks.spawn(async move {
            http_relay::run_reloadable(handle, listeners, stop.cancelled_owned()).await;
            Ok(())
        });
    }

    if parts.router {
        let router =
            alpn_router::Router::from_config(&config, resolver.clone().context("resolver")?);
        let handle = Arc::new(alpn_router::RouterHandle::new(router));
        running.router = Some(handle.clone());
        let bounds = Arc::new(alpn_router::listener_bounds(&config));
        let mut listeners = Vec::new();
        for addr in config.router.iter().flat_map(|r| &r.listen) {
            let listener =
                listen::bind(*addr).with_context(|| format!("binding router listener {addr}"))?;
            tracing::info!("listening for router on {}", listener.local_addr()?);
            listeners.push(listener);
        }
        let stop = shutdown.clone();
        tasks.spawn(async move {
            alpn_router::run(handle, bounds, listeners, stop.cancelled_owned()).await;
            Ok(())
        });
    }

    // `acme-srv relay` keeps its own `relay.admin_listen` (and `--admin-listen`); the
    // other commands use `[admin]`, falling back to the relay's.
    let relay_only = parts.relay && !parts.router && !parts.dns && !parts.api;
    let admin_addr = if relay_only {
        config.relay.admin_listen
    } else {
        config
            .admin
            .listen
            .or(config.relay.admin_listen.filter(|_| parts.relay))
    };
    if let Some(addr) = admin_addr {
        let listener =
            listen::bind(addr).with_context(|| format!("binding admin listener {addr}"))?;
        tracing::info!("listening for admin on {}", listener.local_addr()?);
        let connections = config.admin.connections.resolve(Connections::ADMIN);
        let options = serve_options("admin", &connections, Vec::new());
        let stop = shutdown.clone();
        tasks.spawn(async move {
            admin::serve(listener, metrics, options, stop).await;
            Ok(())
        });
    }

    // Every signal is handled before "ready" is logged: a signal sent as soon as the
    // process says it is ready must not find the default action (terminate) in place.
    let stop_signal = stop_signals();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        stop_signal.await;
        signal.cancel();
    });
    reload::on_sighup(reload, running, shutdown.clone());
    tracing::info!(
        relay = parts.relay,
        router = parts.router,
        dns = parts.dns,
        api = parts.api,
        "acme-srv ready"
    );

    // The first part to end (normally all of them, on shutdown) ends the others.
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        shutdown.cancel();
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = result.and(Err(e)),
            Err(e) => result = result.and(Err(e).context("a task panicked")),
        }
    }
    tracing::info!("stopped");
    result
}

/// Descriptors kept aside from the connection caps: the store, the resolver's sockets,
/// logs, the admin listener's own, and slack.
const RESERVED_FDS: u64 = 256;

/// Raises the open-file limit to its hard limit and lowers the connection caps of the
/// parts that run, together and in proportion, when they would not fit inside it: one
/// part exhausting its share then never leaves another without descriptors.
pub(crate) fn fit_connection_caps(config: &mut Config, parts: Parts) {
    let limit = match bounded_listener::raise_nofile_limit() {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the open-file limit; connection caps stay as configured");
            return;
        }
    };
    let admin_table_used = config.admin.listen.is_some() || config.relay.admin_listen.is_some();
    let mut claims = Vec::new();
    let mut reserve = RESERVED_FDS;
    if let Some(router) = config.router.as_ref().filter(|_| parts.router) {
        // A tunnel holds the client's descriptor and the backend's.
        let max = router.connections.resolve(Connections::ROUTER).max;
        claims.push(("router.connections.max", max, 2));
    }
    if parts.relay {
        let relay = config.relay.connections.resolve(Connections::RELAY);
        // A client connection holds one descriptor; a challenge in progress or a proxied
        // request one more, for its target, up to max_target_connections at once.
        claims.push(("relay.connections.max", relay.max, 1));
        claims.push((
            "relay.limits.max_target_connections",
            config.relay.limits.max_target_connections,
            1,
        ));
        // Its pool of idle target connections (a smaller share under a low limit), and
        // in `upstream` mode its pool of idle app connections, bounded the same way.
        let pools = if config.relay.other_requests == config::OtherRequests::Upstream {
            2
        } else {
            1
        };
        reserve += pools * (http_relay::target_pool::MAX_IDLE_TOTAL as u64).min(limit / 8);
    }
    if let Some(api) = config.api.as_ref().filter(|_| parts.api) {
        claims.push((
            "api.connections.max",
            api.connections.resolve(Connections::API).max,
            1,
        ));
    }
    if let Some(dns) = config.dns.as_ref().filter(|_| parts.dns) {
        let tcp = dns.connections.resolve(Connections::DNS_TCP);
        claims.push(("dns.connections.max", tcp.max, 1));
    }
    if admin_table_used {
        let admin = config.admin.connections.resolve(Connections::ADMIN);
        claims.push(("admin.connections.max", admin.max, 1));
    }
    let fd_claims: Vec<bounded_listener::FdClaim> = claims
        .iter()
        .map(|(name, max, fds)| bounded_listener::FdClaim {
            name,
            connections: *max as usize,
            fds_per_connection: *fds,
        })
        .collect();
    let caps = bounded_listener::fit_caps(limit, reserve, &fd_claims);
    let mut lowered = Vec::new();
    for ((key, configured, _), cap) in claims.iter().zip(caps) {
        let cap = u32::try_from(cap).unwrap_or(u32::MAX);
        if cap >= *configured {
            continue;
        }
        lowered.push(format!("{key} {configured} -> {cap}"));
        match *key {
            "relay.connections.max" => config.relay.connections.max = Some(cap),
            "relay.limits.max_target_connections" => {
                config.relay.limits.max_target_connections = cap;
            }
            "api.connections.max" => {
                if let Some(api) = &mut config.api {
                    api.connections.max = Some(cap);
                }
            }
            "dns.connections.max" => {
                if let Some(dns) = &mut config.dns {
                    dns.connections.max = Some(cap);
                }
            }
            "router.connections.max" => {
                if let Some(router) = &mut config.router {
                    router.connections.max = Some(cap);
                }
            }
            _ => config.admin.connections.max = Some(cap),
        }
    }
    if !lowered.is_empty() {
        tracing::warn!(
            open_file_limit = limit,
            lowered = %lowered.join(", "),
            "connection caps lowered to fit the open-file limit (raise LimitNOFILE, or lower the caps, to silence this)"
        );
    }
}

/// `[dns.connections]` and `[dns.rate_limit]` as the DNS server takes them.
fn dns_server_options(dns: &config::DnsConfig) -> dns_server::ServerOptions {
    let tcp = dns.connections.resolve(Connections::DNS_TCP);
    let rrl = &dns.rate_limit;
    dns_server::ServerOptions {
        tcp: tcp.limits(),
        tcp_request_timeout: tcp.request_timeout,
        rate_limit: (rrl.responses_per_second > 0).then(|| dns_server::RateLimitOptions {
            responses_per_second: rrl.responses_per_second,
            slip: rrl.slip,
            prefixes: bounded_listener::ClientPrefixes {
                ipv4: rrl.ipv4_prefix,
                ipv6: rrl.ipv6_prefix,
            },
            exempt: rrl.exempt.clone(),
        }),
        services: dns_server::ZoneServices::default(),
    }
}

/// An HTTP listener's bounds as `management_api::serve` takes them.
fn serve_options(
    name: &'static str,
    connections: &config::Connections,
    exempt: Vec<ipnet::IpNet>,
) -> management_api::ServeOptions {
    management_api::ServeOptions {
        name,
        connections: connections.limits(),
        header_timeout: connections.request_timeout,
        exempt,
    }
}

/// Opens the store, creating the SQLite file's folder when needed.
async fn open_store(url: &str) -> anyhow::Result<Arc<dyn record_store::RecordStore>> {
    if let Some(path) = url.strip_prefix("sqlite://")
        && let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    record_store::open(url)
        .await
        .with_context(|| format!("opening store {}", record_store::redacted_url(url)))
}

/// Resolves on SIGTERM or SIGINT.
fn stop_signals() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered here, at the call, not when the future is first polled.
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
            },
            (Err(e), Ok(mut interrupt)) | (Ok(mut interrupt), Err(e)) => {
                tracing::error!(error = %e, "cannot listen for every stop signal; the other one still stops the process");
                interrupt.recv().await;
            }
            (Err(e), Err(_)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM or SIGINT; stop the process with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
}
