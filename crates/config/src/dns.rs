//! `[dns]`, `[api]`, `[store]` and `[admin]`: the DNS side's tables.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

use crate::connections::ConnectionsConfig;

/// `[dns]`: the authoritative server. Present in the file = enabled for `acme-srv serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Addresses to answer on, UDP and TCP each.
    pub listen: Vec<SocketAddr>,
    /// The zones served.
    pub zones: Vec<ZoneConfig>,
    /// Bounds on DNS-over-TCP connections (defaults: [`crate::Connections::DNS_TCP`]).
    pub connections: ConnectionsConfig,
    /// Response rate limiting for UDP answers.
    pub rate_limit: DnsRateLimitConfig,
    /// Zone transfers out, and NOTIFY to secondaries.
    pub transfers: TransfersConfig,
    /// TSIG keys of the configuration (transfers, NOTIFY); keys for updates are made
    /// with `acme-srv tsig-keys` and live in the store.
    pub tsig_keys: Vec<TsigKeyConfig>,
}

/// `[dns.transfers]`: who may transfer the zones (AXFR, IXFR), and which secondaries
/// are notified of changes. Nothing is allowed until a network or key is listed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransfersConfig {
    /// Source networks allowed to transfer without a key.
    pub allow_networks: Vec<IpNet>,
    /// Names of `[[dns.tsig_keys]]` allowed to transfer.
    pub allow_keys: Vec<String>,
    /// Secondaries (`ip:port`) sent a NOTIFY after every change.
    pub notify: Vec<SocketAddr>,
    /// The `[[dns.tsig_keys]]` name NOTIFY messages are signed with; unsigned when unset.
    pub notify_key: Option<String>,
}

/// `[[dns.tsig_keys]]`: one TSIG key (RFC 8945).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsigKeyConfig {
    /// The key's name, a DNS name both ends use (`xfr.example.com`).
    pub name: String,
    /// `hmac-sha256` (default) or `hmac-sha512`.
    #[serde(default = "default_tsig_algorithm")]
    pub algorithm: String,
    /// The shared secret, base64 (as BIND's `key` statement and `tsig-keygen` write it).
    pub secret: String,
}

fn default_tsig_algorithm() -> String {
    "hmac-sha256".to_owned()
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 53)),
                SocketAddr::from(([0u16; 8], 53)),
            ],
            zones: Vec::new(),
            connections: ConnectionsConfig::default(),
            rate_limit: DnsRateLimitConfig::default(),
            transfers: TransfersConfig::default(),
            tsig_keys: Vec::new(),
        }
    }
}

/// `[dns.rate_limit]`: response rate limiting (RRL) in the manner of BIND and Knot, so the
/// server is a poor reflector: each client network gets `responses_per_second` UDP
/// answers (with a burst of as many); beyond that, every `slip`-th answer is sent
/// truncated (TC, no records: a real client retries over TCP) and the others are dropped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsRateLimitConfig {
    /// UDP responses per second per client network; 0 disables rate limiting.
    pub responses_per_second: u32,
    /// Every `slip`-th limited response is sent truncated; 0 drops them all, 1 truncates
    /// them all.
    pub slip: u32,
    /// Bits of an IPv4 client address that form its network (24, as BIND).
    pub ipv4_prefix: u8,
    /// Bits of an IPv6 client address that form its network (56, as BIND).
    pub ipv6_prefix: u8,
    /// Clients never limited (spoofing a loopback source from outside is not possible).
    pub exempt: Vec<IpNet>,
}

impl Default for DnsRateLimitConfig {
    fn default() -> Self {
        Self {
            responses_per_second: 100,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        }
    }
}

/// `[[dns.zones]]`: one zone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// The zone's apex, e.g. `acme.example.com`.
    pub origin: String,
    /// Name servers published at the apex; default `ns1.<origin>`.
    #[serde(default)]
    pub ns: Vec<String>,
    /// The SOA fields.
    #[serde(default)]
    pub soa: SoaConfig,
    /// Static records in zone-file syntax, relative to the origin
    /// (`"ns1 3600 IN A 192.0.2.53"`).
    #[serde(default)]
    pub records: Vec<String>,
    /// An RFC 1035 zone file loaded as static records (SOA and NS in it replace
    /// `soa`/`ns`).
    #[serde(default)]
    pub zone_file: Option<PathBuf>,
    /// Push the records acme-srv owns in this zone into an existing primary.
    #[serde(default)]
    pub push: Option<PushConfig>,
}

/// `push = { primary = "ip:port", key = "name" }` of a zone: the records acme-srv owns
/// there are written into that primary with RFC 2136 UPDATE.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// The primary's address (`ip:port`, TCP).
    pub primary: SocketAddr,
    /// The `[[dns.tsig_keys]]` name UPDATE messages are signed with.
    #[serde(default)]
    pub key: Option<String>,
    /// How often every owned record is checked against the primary (and re-added when
    /// missing).
    #[serde(default = "default_reconcile_every", with = "humantime_serde")]
    pub reconcile_every: std::time::Duration,
}

fn default_reconcile_every() -> std::time::Duration {
    std::time::Duration::from_secs(300)
}

/// `soa = { ... }` of a zone; the serial is managed by acme-srv (it rises with every
/// change).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoaConfig {
    /// Primary name server; default the first `ns`.
    pub mname: Option<String>,
    /// Contact mailbox as a name (`hostmaster.example.com`); default `hostmaster.<origin>`.
    pub rname: Option<String>,
    /// Refresh, seconds.
    pub refresh: i32,
    /// Retry, seconds.
    pub retry: i32,
    /// Expire, seconds.
    pub expire: i32,
    /// Negative-caching TTL (RFC 2308), seconds.
    pub minimum: u32,
    /// TTL of the SOA record itself.
    pub ttl: u32,
}

impl Default for SoaConfig {
    fn default() -> Self {
        Self {
            mname: None,
            rname: None,
            refresh: 3600,
            retry: 600,
            expire: 604_800,
            minimum: 60,
            ttl: 3600,
        }
    }
}

/// `[api]`: the management API. Present in the file = enabled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address of the HTTP API.
    pub listen: SocketAddr,
    /// Admin token (better: the `ACME_SRV_ADMIN_TOKEN` environment variable, which wins).
    pub admin_token: Option<String>,
    /// Zone under which acme-dns registrations get `<uuid>.<zone>`; none disables
    /// `/register`.
    pub acme_dns_zone: Option<String>,
    /// TXT values kept per name by acme-dns `/update` (acme-dns keeps 2).
    pub txt_keep: usize,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy in front of the API),
    /// so that source-network checks and per-client limits see the real client.
    pub trusted_proxies: Vec<IpNet>,
    /// Bounds on client connections (defaults: [`crate::Connections::API`]).
    pub connections: ConnectionsConfig,
    /// Who may use acme-dns `POST /register`, and how often.
    pub registration: RegistrationConfig,
    /// Limits on what credentials may store and on failed authentication.
    pub quotas: ApiQuotasConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8053)),
            admin_token: None,
            acme_dns_zone: None,
            txt_keep: 2,
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            connections: ConnectionsConfig::default(),
            registration: RegistrationConfig::default(),
            quotas: ApiQuotasConfig::default(),
        }
    }
}

/// `[api.registration]`: acme-dns `POST /register` (it needs `api.acme_dns_zone` too).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// Whether `/register` takes new registrations at all (acme-dns's
    /// `disable_registration`, inverted).
    pub enabled: bool,
    /// Networks registrations may come from; empty: any client that reaches the API.
    pub allow_from: Vec<IpNet>,
    /// Registrations one client may make per hour (a burst of as many, then a steady
    /// rate); 0 disables the limit.
    pub per_client_per_hour: u32,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_from: Vec::new(),
            per_client_per_hour: 20,
        }
    }
}

/// `[api.quotas]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiQuotasConfig {
    /// Records an API key may have under its scopes; 0 (the default): no limit. Each
    /// write then counts the records under the scope, which takes time in proportion
    /// to the store's size.
    pub records_per_key: u32,
    /// Records in one zone; 0 (the default): no limit. Each write then counts the
    /// zone's records, which takes time in proportion to the store's size.
    pub records_per_zone: u32,
    /// Registrations that may exist at once; 0: no limit.
    pub registrations: u32,
    /// Failed authentications one client may make per minute before it is refused with
    /// 429 (a burst of as many, then a steady rate); 0 disables the limit.
    pub failed_auth_per_client_per_minute: u32,
    /// argon2 verifications running at once; more callers wait.
    pub concurrent_verifications: u32,
}

impl Default for ApiQuotasConfig {
    fn default() -> Self {
        Self {
            records_per_key: 0,
            records_per_zone: 0,
            registrations: 100_000,
            failed_auth_per_client_per_minute: 30,
            concurrent_verifications: 4,
        }
    }
}

/// `[store]`: where records, keys and registrations are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://PATH` (created if missing), or `postgres://…` / `postgresql://…` for a
    /// PostgreSQL database shared by several instances (the database must exist).
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite:///var/lib/acme-srv/acme-srv.sqlite".to_owned(),
        }
    }
}

/// `[admin]`: `/metrics` and `/healthz` for `acme-srv dns` and `serve`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin listener; none when unset (`serve` then falls back to
    /// `relay.admin_listen`).
    pub listen: Option<SocketAddr>,
    /// Bounds on client connections (defaults: [`crate::Connections::ADMIN`]).
    pub connections: ConnectionsConfig,
}
