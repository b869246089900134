//! `[router]`: the port-443 router. Connections that offer only `acme-tls/1` go to the
//! target the domain's `_acme-tls-alpn._tcp` SRV record names (under `[challenge]` and
//! `[targets]`, as the relay's do); every other connection goes to the backend chosen by
//! the ClientHello's server name (`[[router.backends]]`), or to `default_backend`.

use std::net::SocketAddr;
use std::time::Duration;

use domain_name::DomainPattern;
use serde::Deserialize;

use crate::connections::ConnectionsConfig;

/// `[router]`. Present in the file = enabled for `acme-srv serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Addresses to accept TLS connections on.
    pub listen: Vec<SocketAddr>,
    /// Where a connection goes whose server name no backend lists, or that has none (or
    /// an IP address); such a connection is closed with a TLS `unrecognized_name` alert
    /// when unset.
    pub default_backend: Option<BackendConfig>,
    /// Backends chosen by server name.
    pub backends: Vec<NamedBackendConfig>,
    /// Timeouts towards backends and challenge targets.
    pub timeouts: RouterTimeoutsConfig,
    /// Bounds on client connections (defaults: [`crate::Connections::ROUTER`]); the
    /// `request_timeout` is the time to receive a whole ClientHello once its first byte
    /// came.
    pub connections: ConnectionsConfig,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 443)),
                SocketAddr::from(([0u16; 8], 443)),
            ],
            default_backend: None,
            backends: Vec::new(),
            timeouts: RouterTimeoutsConfig::default(),
            connections: ConnectionsConfig::default(),
        }
    }
}

/// A backend: where connections go, and whether they are preceded by a PROXY protocol
/// header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// `host:port`; a name is resolved by the system resolver at each connection.
    pub address: String,
    /// `off` (default), `v1` or `v2`: the PROXY protocol header sent before the
    /// client's bytes, so the backend learns the client's address.
    #[serde(default)]
    pub proxy_protocol: ProxyProtocol,
}

/// `[[router.backends]]`: a backend and the server names it serves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedBackendConfig {
    /// Exact names (`www.example.com`) and wildcards (`*.example.com`: any name below
    /// `example.com`); an exact name wins over a wildcard, a longer wildcard over a
    /// shorter one.
    pub server_names: Vec<String>,
    /// See [`BackendConfig::address`].
    pub address: String,
    /// See [`BackendConfig::proxy_protocol`].
    #[serde(default)]
    pub proxy_protocol: ProxyProtocol,
}

/// The PROXY protocol version sent to a backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyProtocol {
    /// No header.
    #[default]
    Off,
    /// The text header (`PROXY TCP4 …\r\n`).
    V1,
    /// The binary header.
    V2,
}

/// `[router.timeouts]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterTimeoutsConfig {
    /// Time for one TCP connect to a backend or a challenge target.
    #[serde(with = "humantime_serde")]
    pub connect: Duration,
    /// Longest a tls-alpn-01 validation connection stays open (a handshake and a close).
    #[serde(with = "humantime_serde")]
    pub challenge: Duration,
}

impl Default for RouterTimeoutsConfig {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            challenge: Duration::from_secs(30),
        }
    }
}

impl RouterConfig {
    /// The rules of `[router]`: the failing key and the reason on error.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        if self.listen.is_empty() {
            return Err((
                "router.listen".into(),
                "at least one address is needed".into(),
            ));
        }
        if let Some(backend) = &self.default_backend {
            crate::parse_host_port(&backend.address)
                .map_err(|reason| ("router.default_backend.address".to_owned(), reason))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, backend) in self.backends.iter().enumerate() {
            crate::parse_host_port(&backend.address)
                .map_err(|reason| (format!("router.backends[{i}].address"), reason))?;
            let key = format!("router.backends[{i}].server_names");
            if backend.server_names.is_empty() {
                return Err((key, "at least one name is needed".into()));
            }
            for name in &backend.server_names {
                let pattern = DomainPattern::parse(name)
                    .map_err(|reason| (key.clone(), format!("{name:?}: {reason}")))?;
                if !seen.insert(pattern) {
                    return Err((key, format!("{name:?} is listed by two backends")));
                }
            }
        }
        for (key, d) in [
            ("router.timeouts.connect", self.timeouts.connect),
            ("router.timeouts.challenge", self.timeouts.challenge),
        ] {
            if d.is_zero() {
                return Err((key.into(), "must be longer than zero".into()));
            }
        }
        Ok(())
    }
}
