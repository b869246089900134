//! The acme-srv configuration file: its types, defaults, validation and errors.
//!
//! The file is TOML. Every table refuses unknown keys (`deny_unknown_fields`), every key
//! has a default, and every error names the file, the key and the reason:
//!
//! ```text
//! acme-srv.toml: relay.connections.max: invalid type: string "many", expected u32 (line 12, column 7)
//! ```
//!
//! Layout: [`Config`] is the whole file; [`load`] reads and checks it;
//! [`Config::validate`] holds the rules that span several keys (run again by the binary
//! after command-line flags override keys). `docs/configuration.md` documents every key.
#![forbid(unsafe_code)]

mod connections;
mod dns;
mod error;
mod ports;
mod router;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use domain_name::DomainName;
pub use domain_name::DomainPattern;
use ipnet::IpNet;
use serde::Deserialize;

pub use connections::{Connections, ConnectionsConfig};
pub use dns::{
    AdminConfig, ApiConfig, ApiQuotasConfig, DnsConfig, DnsRateLimitConfig, PushConfig,
    RegistrationConfig, SoaConfig, StoreConfig, TransfersConfig, TsigKeyConfig, ZoneConfig,
};
pub use error::ConfigError;
pub use ports::PortRange;
pub use router::{
    BackendConfig, NamedBackendConfig, ProxyProtocol, RouterConfig, RouterTimeoutsConfig,
};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The port-80 relay.
    pub relay: RelayConfig,
    /// Which domains are relayed and how their SRV names are formed.
    pub challenge: ChallengeConfig,
    /// How SRV and address records are looked up.
    pub resolver: ResolverConfig,
    /// Which target addresses and ports the relay may connect to.
    pub targets: TargetPolicyConfig,
    /// Logging.
    pub log: LogConfig,
    /// The authoritative DNS server; `None` when the file has no `[dns]` table.
    pub dns: Option<DnsConfig>,
    /// The management API; `None` when the file has no `[api]` table.
    pub api: Option<ApiConfig>,
    /// The record store.
    pub store: StoreConfig,
    /// The admin listener of `dns` and `serve`.
    pub admin: AdminConfig,
    /// The port-443 router; `None` when the file has no `[router]` table.
    pub router: Option<RouterConfig>,
    /// Whether the file has a `[relay]` table (what `serve` runs).
    #[serde(skip)]
    pub relay_table_present: bool,
}

/// `[relay]`: listeners, the non-challenge modes, limits and timeouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Addresses to accept HTTP on.
    pub listen: Vec<SocketAddr>,
    /// Address of the admin listener (`/metrics`, `/healthz`); none when unset.
    pub admin_listen: Option<SocketAddr>,
    /// What happens to requests that are not ACME challenges.
    pub other_requests: OtherRequests,
    /// Where `upstream` mode sends requests.
    pub upstream: UpstreamConfig,
    /// Peers whose `X-Forwarded-For` is believed (e.g. a front-end nginx).
    pub trusted_proxies: Vec<IpNet>,
    /// The pseudonym this relay writes into `Via`, and recognises there as a loop.
    pub via_name: String,
    /// Resource limits.
    pub limits: LimitsConfig,
    /// Timeouts for every phase.
    pub timeouts: TimeoutsConfig,
    /// Bounds on client connections (defaults: [`Connections::RELAY`]).
    pub connections: ConnectionsConfig,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 80)),
                SocketAddr::from(([0u16; 8], 80)),
            ],
            admin_listen: None,
            other_requests: OtherRequests::RedirectHttps,
            upstream: UpstreamConfig::default(),
            trusted_proxies: Vec::new(),
            via_name: "acme-srv".to_owned(),
            limits: LimitsConfig::default(),
            timeouts: TimeoutsConfig::default(),
            connections: ConnectionsConfig::default(),
        }
    }
}

/// What the relay does with a request that is not an ACME http-01 challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OtherRequests {
    /// 301 to `https://<host><path>?<query>`.
    RedirectHttps,
    /// 404.
    NotFound,
    /// Reverse proxy to the app chosen by Host (`[relay.upstream]`).
    Upstream,
}

impl std::str::FromStr for OtherRequests {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "redirect-https" => Ok(Self::RedirectHttps),
            "not-found" => Ok(Self::NotFound),
            "upstream" => Ok(Self::Upstream),
            other => Err(format!(
                "unknown mode {other:?}: expected redirect-https, not-found or upstream"
            )),
        }
    }
}

/// `[relay.upstream]`: the apps behind the relay, for `other_requests = "upstream"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// App for hosts not listed in `hosts`, as `http://host:port`.
    pub default: Option<String>,
    /// Normalised host name → app URL.
    pub hosts: BTreeMap<String, String>,
    /// Idle keep-alive connections kept per app.
    pub max_idle_per_app: usize,
    /// Time for an app to send its response head once the request, body and all, has
    /// been sent to it.
    #[serde(with = "humantime_serde")]
    pub response_timeout: Duration,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            default: None,
            hosts: BTreeMap::new(),
            max_idle_per_app: 0,
            response_timeout: Duration::from_secs(60),
        }
    }
}

/// `[relay.limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Sustained requests per second per client (an IPv4 address or an IPv6 prefix, as
    /// `relay.connections` aggregates them); 0 disables the limit.
    pub requests_per_second_per_client: u32,
    /// Burst allowed above the sustained rate.
    pub burst_per_client: u32,
    /// Largest request head (request line + headers) accepted, in bytes; at least 8192
    /// (the smallest read buffer hyper accepts).
    pub max_header_bytes: usize,
    /// Largest challenge response body relayed back, in bytes; more is a 502.
    pub max_response_bytes: usize,
    /// Connections to targets and apps in use at once (challenges in progress and
    /// proxied requests); beyond it the relay answers 503 at once.
    pub max_target_connections: u32,
    /// Target answers kept for reuse at most (see `relay.timeouts.answer_reuse`).
    pub max_reused_answers: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_second_per_client: 20,
            burst_per_client: 50,
            max_header_bytes: 8 * 1024,
            max_response_bytes: 1024,
            max_target_connections: 1024,
            max_reused_answers: 4096,
        }
    }
}

/// `[relay.timeouts]`, each a duration such as `"5s"` or `"500ms"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// Time for one TCP connect to a target.
    #[serde(with = "humantime_serde")]
    pub connect: Duration,
    /// Time for a target to send its response head.
    #[serde(with = "humantime_serde")]
    pub response_header: Duration,
    /// Time for a target to send its whole body.
    #[serde(with = "humantime_serde")]
    pub response_body: Duration,
    /// Time for one challenge request from start to end, over all targets tried.
    #[serde(with = "humantime_serde")]
    pub total: Duration,
    /// How long a connection to a target is kept open after an answer, for the next
    /// challenge to the same address; zero closes it after every answer.
    #[serde(with = "humantime_serde")]
    pub target_idle: Duration,
    /// How long a target's 200 answer to a challenge is given to later requests for the
    /// same domain and token (a CA's remote perspectives arrive just after its primary);
    /// requests arriving while one is at the target wait for it. Zero turns both off.
    #[serde(with = "humantime_serde")]
    pub answer_reuse: Duration,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            response_header: Duration::from_secs(5),
            response_body: Duration::from_secs(5),
            total: Duration::from_secs(15),
            target_idle: Duration::from_secs(2),
            answer_reuse: Duration::from_secs(5),
        }
    }
}

/// `[challenge]`: which domains are relayed and where their SRV records live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChallengeConfig {
    /// Domains whose challenges are relayed: `example.com` or `*.example.com`.
    /// Anything else gets 404 without a DNS query.
    #[serde(deserialize_with = "domain_patterns")]
    pub allow_domains: Vec<DomainPattern>,
    /// SRV label for http-01.
    pub http01_label: String,
    /// SRV label for tls-alpn-01.
    pub tls_alpn01_label: String,
    /// Target used when a domain has no SRV record (`host:port`); 404 when unset.
    pub fallback_target: Option<String>,
    /// Try parent names (within the allow-list) when the exact name has no record.
    pub walk_up_parents: bool,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        let labels = srv_scheme::Labels::default();
        Self {
            allow_domains: Vec::new(),
            http01_label: labels.http01,
            tls_alpn01_label: labels.tls_alpn01,
            fallback_target: None,
            walk_up_parents: false,
        }
    }
}

/// `[resolver]`: where SRV and address lookups go and how answers are cached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResolverConfig {
    /// Name servers (`ip:port`, UDP then TCP); the system's (`/etc/resolv.conf`) when empty.
    pub servers: Vec<SocketAddr>,
    /// Time for one query to one server.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts per server.
    pub attempts: usize,
    /// Longest a positive answer is cached, whatever its TTL.
    #[serde(with = "humantime_serde")]
    pub max_ttl: Duration,
    /// How long a negative answer without an SOA is cached.
    #[serde(with = "humantime_serde")]
    pub negative_ttl_without_soa: Duration,
    /// How long past its TTL a cached answer is still served when the upstream fails.
    #[serde(with = "humantime_serde")]
    pub serve_stale_for: Duration,
    /// Cached names at most.
    pub cache_entries: usize,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            timeout: Duration::from_secs(2),
            attempts: 2,
            max_ttl: Duration::from_secs(3600),
            negative_ttl_without_soa: Duration::from_secs(30),
            serve_stale_for: Duration::from_secs(3600),
            cache_entries: 10_000,
        }
    }
}

/// `[targets]`: the SSRF guard. A target address must be inside `allow_networks` and
/// its port inside `allow_ports`. Loopback, link-local, multicast, unspecified,
/// documentation and reserved ranges are refused even then, unless an allowed network
/// lies inside that range (so `0.0.0.0/0` never allows `127.0.0.1`; `127.0.0.0/8` does).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetPolicyConfig {
    /// Networks targets may be in.
    pub allow_networks: Vec<IpNet>,
    /// Ports or port ranges (`"8080"`, `"1024-65535"`) targets may use.
    pub allow_ports: Vec<PortRange>,
}

impl Default for TargetPolicyConfig {
    fn default() -> Self {
        let nets = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
        Self {
            allow_networks: nets.iter().filter_map(|n| n.parse().ok()).collect(),
            allow_ports: vec![
                PortRange::single(80),
                PortRange::single(443),
                PortRange {
                    first: 1024,
                    last: 65535,
                },
            ],
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "unknown log format {other:?}: expected text or json"
            )),
        }
    }
}

/// Reads, parses and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    let config = parse(&file, &text)?;
    config.validate(&file)?;
    Ok(config)
}

/// Parses `text` (named `file` in errors) without the cross-key checks.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    let deserializer = toml::de::Deserializer::parse(text)
        .map_err(|e| ConfigError::from_toml(file, text, String::new(), &e))?;
    let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::from_toml(file, text, key, e.inner())
    })?;
    config.relay_table_present = text
        .parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("relay"));
    Ok(config)
}

impl Config {
    /// The rules that span several keys; `file` names the source in errors.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            reason,
            location: None,
        };
        if self.relay.listen.is_empty() {
            return Err(invalid(
                "relay.listen",
                "at least one address is needed".into(),
            ));
        }
        if self.relay.other_requests == OtherRequests::Upstream
            && self.relay.upstream.default.is_none()
            && self.relay.upstream.hosts.is_empty()
        {
            return Err(invalid(
                "relay.upstream.default",
                "other_requests = \"upstream\" needs a default app or per-host apps".into(),
            ));
        }
        let apps = self
            .relay
            .upstream
            .default
            .iter()
            .map(|u| ("relay.upstream.default".into(), u));
        let hosts = self
            .relay
            .upstream
            .hosts
            .iter()
            .map(|(h, u)| (format!("relay.upstream.hosts.{h}"), u));
        for (key, url) in apps.chain(hosts) {
            check_app_url(url).map_err(|reason| invalid(&key, reason))?;
        }
        for host in self.relay.upstream.hosts.keys() {
            srv_scheme::normalize_host(host)
                .map_err(|e| invalid(&format!("relay.upstream.hosts.{host}"), e.to_string()))?;
        }
        if self.relay.via_name.is_empty()
            || !self
                .relay
                .via_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(invalid(
                "relay.via_name",
                "must be a token: letters, digits, - . _".into(),
            ));
        }
        for (key, table, defaults) in self.connection_tables() {
            table
                .check(key, defaults)
                .map_err(|(key, reason)| invalid(&key, reason))?;
        }
        if self.relay.limits.max_target_connections == 0 {
            return Err(invalid(
                "relay.limits.max_target_connections",
                "must be at least 1".into(),
            ));
        }
        if self.relay.limits.max_header_bytes < 8192 {
            return Err(invalid(
                "relay.limits.max_header_bytes",
                "must be at least 8192".into(),
            ));
        }
        for (key, label) in [
            ("challenge.http01_label", &self.challenge.http01_label),
            (
                "challenge.tls_alpn01_label",
                &self.challenge.tls_alpn01_label,
            ),
        ] {
            let ok = !label.is_empty()
                && label.split('.').all(|l| {
                    !l.is_empty()
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                });
            if !ok {
                return Err(invalid(
                    key,
                    format!("{label:?} is not a sequence of DNS labels"),
                ));
            }
        }
        if let Some(target) = &self.challenge.fallback_target {
            parse_host_port(target).map_err(|r| invalid("challenge.fallback_target", r))?;
        }
        for (key, d) in [
            ("relay.timeouts.connect", self.relay.timeouts.connect),
            (
                "relay.timeouts.response_header",
                self.relay.timeouts.response_header,
            ),
            (
                "relay.timeouts.response_body",
                self.relay.timeouts.response_body,
            ),
            ("relay.timeouts.total", self.relay.timeouts.total),
            (
                "relay.upstream.response_timeout",
                self.relay.upstream.response_timeout,
            ),
            ("resolver.timeout", self.resolver.timeout),
        ] {
            if d.is_zero() {
                return Err(invalid(key, "must be longer than zero".into()));
            }
        }
        if self.resolver.attempts == 0 {
            return Err(invalid("resolver.attempts", "must be at least 1".into()));
        }
        if let Some(dns) = &self.dns {
            if dns.listen.is_empty() {
                return Err(invalid(
                    "dns.listen",
                    "at least one address is needed".into(),
                ));
            }
            if dns.rate_limit.ipv4_prefix > 32 {
                return Err(invalid(
                    "dns.rate_limit.ipv4_prefix",
                    "must be 0 to 32".into(),
                ));
            }
            if dns.rate_limit.ipv6_prefix > 128 {
                return Err(invalid(
                    "dns.rate_limit.ipv6_prefix",
                    "must be 0 to 128".into(),
                ));
            }
            let mut key_names = std::collections::BTreeSet::new();
            for (i, key) in dns.tsig_keys.iter().enumerate() {
                let at = |field: &str| format!("dns.tsig_keys[{i}].{field}");
                let name = DomainName::parse(&key.name)
                    .map_err(|e| invalid(&at("name"), e.to_string()))?;
                if !key_names.insert(name.clone()) {
                    return Err(invalid(&at("name"), format!("key {name} is listed twice")));
                }
                if !matches!(key.algorithm.as_str(), "hmac-sha256" | "hmac-sha512") {
                    return Err(invalid(
                        &at("algorithm"),
                        format!("{:?}: expected hmac-sha256 or hmac-sha512", key.algorithm),
                    ));
                }
                use base64::Engine as _;
                match base64::engine::general_purpose::STANDARD.decode(key.secret.trim()) {
                    Ok(secret) if secret.len() >= 16 => {}
                    Ok(_) => {
                        return Err(invalid(
                            &at("secret"),
                            "shorter than 16 bytes: make one with `tsig-keygen` or `openssl rand -base64 32`".into(),
                        ));
                    }
                    Err(e) => return Err(invalid(&at("secret"), format!("not base64: {e}"))),
                }
            }
            let known_key =
                |name: &str| DomainName::parse(name).is_ok_and(|n| key_names.contains(&n));
            for (i, name) in dns.transfers.allow_keys.iter().enumerate() {
                if !known_key(name) {
                    return Err(invalid(
                        &format!("dns.transfers.allow_keys[{i}]"),
                        format!("{name:?} is not a key in [[dns.tsig_keys]]"),
                    ));
                }
            }
            if let Some(name) = &dns.transfers.notify_key
                && !known_key(name)
            {
                return Err(invalid(
                    "dns.transfers.notify_key",
                    format!("{name:?} is not a key in [[dns.tsig_keys]]"),
                ));
            }
            let mut origins = std::collections::BTreeSet::new();
            for (i, zone) in dns.zones.iter().enumerate() {
                let key = format!("dns.zones[{i}].origin");
                let origin =
                    DomainName::parse(&zone.origin).map_err(|e| invalid(&key, e.to_string()))?;
                if !origins.insert(origin.clone()) {
                    return Err(invalid(&key, format!("zone {origin} is listed twice")));
                }
                if zone.soa.refresh < 0 || zone.soa.retry < 0 || zone.soa.expire < 0 {
                    return Err(invalid(
                        &format!("dns.zones[{i}].soa"),
                        "refresh, retry and expire must not be negative".into(),
                    ));
                }
                if let Some(push) = &zone.push {
                    if let Some(name) = &push.key
                        && !known_key(name)
                    {
                        return Err(invalid(
                            &format!("dns.zones[{i}].push.key"),
                            format!("{name:?} is not a key in [[dns.tsig_keys]]"),
                        ));
                    }
                    if push.reconcile_every.is_zero() {
                        return Err(invalid(
                            &format!("dns.zones[{i}].push.reconcile_every"),
                            "must be longer than zero".into(),
                        ));
                    }
                }
                if zone.soa.minimum == 0 || zone.soa.ttl == 0 {
                    return Err(invalid(
                        &format!("dns.zones[{i}].soa"),
                        "ttl and minimum must be at least 1".into(),
                    ));
                }
            }
        }
        if let Some(api) = &self.api {
            if api.max_body_bytes < 1024 {
                return Err(invalid(
                    "api.max_body_bytes",
                    "must be at least 1024".into(),
                ));
            }
            if api.txt_keep == 0 {
                return Err(invalid("api.txt_keep", "must be at least 1".into()));
            }
            if let Some(zone) = &api.acme_dns_zone {
                let zone = DomainName::parse(zone)
                    .map_err(|e| invalid("api.acme_dns_zone", e.to_string()))?;
                let served =
                    self.dns.iter().flat_map(|d| &d.zones).any(|z| {
                        DomainName::parse(&z.origin).is_ok_and(|o| zone.is_at_or_below(&o))
                    });
                if !served {
                    return Err(invalid(
                        "api.acme_dns_zone",
                        format!("{zone} is not inside a zone in [[dns.zones]]"),
                    ));
                }
            }
        }
        let url = &self.store.url;
        let store_named = ["sqlite://", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| {
                url.strip_prefix(scheme)
                    .is_some_and(|rest| !rest.is_empty())
            });
        if !store_named {
            // Not the URL itself: a mistyped PostgreSQL URL may carry a password.
            let shown = url.split_once("://").map_or("", |(scheme, _)| scheme);
            return Err(invalid(
                "store.url",
                format!(
                    "a URL with scheme {shown:?}: expected sqlite://PATH or \
                     postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                ),
            ));
        }
        if let Some(router) = &self.router {
            router
                .check()
                .map_err(|(key, reason)| invalid(&key, reason))?;
        }
        if self.targets.allow_ports.is_empty() {
            return Err(invalid(
                "targets.allow_ports",
                "no port allowed: nothing could be relayed".into(),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// Every `[<part>.connections]` table with its key and the part's defaults.
    fn connection_tables(&self) -> Vec<(&'static str, &ConnectionsConfig, Connections)> {
        let mut tables = vec![
            (
                "relay.connections",
                &self.relay.connections,
                Connections::RELAY,
            ),
            (
                "admin.connections",
                &self.admin.connections,
                Connections::ADMIN,
            ),
        ];
        if let Some(api) = &self.api {
            tables.push(("api.connections", &api.connections, Connections::API));
        }
        if let Some(dns) = &self.dns {
            tables.push(("dns.connections", &dns.connections, Connections::DNS_TCP));
        }
        if let Some(router) = &self.router {
            tables.push((
                "router.connections",
                &router.connections,
                Connections::ROUTER,
            ));
        }
        tables
    }
}

/// Splits `host:port` (the host may be a name or `[v6]`); the reason on failure.
pub fn parse_host_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port number"))?;
    if port == 0 {
        return Err("port 0 is not a target".into());
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{text:?} has no host"));
    }
    Ok((host.to_owned(), port))
}

/// Deserialises a list of allow-list patterns, refusing any that is not a domain name.
fn domain_patterns<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<Vec<DomainPattern>, D::Error> {
    let texts = Vec::<String>::deserialize(de)?;
    texts
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|e| serde::de::Error::custom(format!("{t:?}: {e}")))
        })
        .collect()
}

/// Checks an app URL for upstream mode: `http://host[:port]` with no path.
fn check_app_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// apps are supported"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains('/') {
        return Err(format!("{url:?}: expected http://host:port with no path"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
