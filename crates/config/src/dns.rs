//! `[dns]`, `[api]`, `[store]` and `[admin]`: the DNS side's tables.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// `[dns]`: the authoritative server. Present in the file = enabled for `acme-srv serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Addresses to answer on, UDP and TCP each.
    pub listen: Vec<SocketAddr>,
    /// The zones served.
    pub zones: Vec<ZoneConfig>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 53)),
                SocketAddr::from(([0u16; 8], 53)),
            ],
            zones: Vec::new(),
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
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8053)),
            admin_token: None,
            acme_dns_zone: None,
            txt_keep: 2,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// `[store]`: where records, keys and registrations are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://PATH` (created if missing).
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
}
