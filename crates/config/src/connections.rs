//! `[<part>.connections]`: the bounds every listener has (the relay, the API, the admin
//! listener, DNS over TCP). One table type for all, with each part's own defaults: a key
//! left out takes the part's default.

use std::time::Duration;

use serde::Deserialize;

/// The bounds of one listener as written in the file; [`ConnectionsConfig::resolve`]
/// fills in the part's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// Connections open at once, at most; more are closed at once.
    pub max: Option<u32>,
    /// Connections one client may hold at once; 0 disables the per-client cap.
    pub max_per_client: Option<u32>,
    /// Bits of an IPv4 client address that identify a client (32: each address).
    pub client_ipv4_prefix: Option<u8>,
    /// Bits of an IPv6 client address that identify a client (64: each /64).
    pub client_ipv6_prefix: Option<u8>,
    /// Time from accept to the client's first byte.
    #[serde(with = "humantime_serde::option")]
    pub first_byte_timeout: Option<Duration>,
    /// Time for a client to send a whole request once it has begun one (an HTTP request
    /// head, a DNS message).
    #[serde(with = "humantime_serde::option")]
    pub request_timeout: Option<Duration>,
    /// Time a connection may go without traffic either way while no request is served.
    #[serde(with = "humantime_serde::option")]
    pub idle_timeout: Option<Duration>,
    /// Longest time a connection stays open; it is then closed after the request in
    /// progress.
    #[serde(with = "humantime_serde::option")]
    pub max_duration: Option<Duration>,
}

/// A listener's bounds with every value present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// See [`ConnectionsConfig::max`].
    pub max: u32,
    /// See [`ConnectionsConfig::max_per_client`].
    pub max_per_client: u32,
    /// See [`ConnectionsConfig::client_ipv4_prefix`].
    pub client_ipv4_prefix: u8,
    /// See [`ConnectionsConfig::client_ipv6_prefix`].
    pub client_ipv6_prefix: u8,
    /// See [`ConnectionsConfig::first_byte_timeout`].
    pub first_byte_timeout: Duration,
    /// See [`ConnectionsConfig::request_timeout`].
    pub request_timeout: Duration,
    /// See [`ConnectionsConfig::idle_timeout`].
    pub idle_timeout: Duration,
    /// See [`ConnectionsConfig::max_duration`].
    pub max_duration: Duration,
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Connections {
    /// The relay's defaults (port 80, facing the internet). 128 per client leaves room
    /// for many users behind one carrier-grade NAT address while one attacker address
    /// still holds at most 1/78 of `max`.
    pub const RELAY: Self = Self {
        max: 10_000,
        max_per_client: 128,
        client_ipv4_prefix: 32,
        client_ipv6_prefix: 64,
        first_byte_timeout: secs(10),
        request_timeout: secs(10),
        idle_timeout: secs(15),
        max_duration: secs(600),
    };
    /// The port-443 router's defaults: TLS tunnels carry long downloads and WebSockets,
    /// so they may idle for minutes and live for a day; the ClientHello must come
    /// within 10 s.
    pub const ROUTER: Self = Self {
        max: 10_000,
        max_per_client: 128,
        client_ipv4_prefix: 32,
        client_ipv6_prefix: 64,
        first_byte_timeout: secs(10),
        request_timeout: secs(10),
        idle_timeout: secs(600),
        max_duration: secs(86_400),
    };
    /// The management API's defaults.
    pub const API: Self = Self {
        max: 256,
        max_per_client: 16,
        client_ipv4_prefix: 32,
        client_ipv6_prefix: 64,
        first_byte_timeout: secs(5),
        request_timeout: secs(10),
        idle_timeout: secs(30),
        max_duration: secs(300),
    };
    /// The admin listener's defaults (`/metrics`, `/healthz`).
    pub const ADMIN: Self = Self {
        max: 32,
        max_per_client: 8,
        ..Self::API
    };
    /// DNS over TCP's defaults (RFC 7766 §6.2.3: idle seconds, not minutes).
    pub const DNS_TCP: Self = Self {
        max: 1024,
        max_per_client: 32,
        client_ipv4_prefix: 32,
        client_ipv6_prefix: 64,
        first_byte_timeout: secs(5),
        request_timeout: secs(5),
        idle_timeout: secs(10),
        max_duration: secs(120),
    };
}

impl Connections {
    /// These bounds as the listeners take them (the request timeout is the listener's own
    /// business: hyper's header timeout, or DNS's message timeout).
    pub fn limits(&self) -> bounded_listener::ConnectionLimits {
        bounded_listener::ConnectionLimits {
            max_connections: self.max as usize,
            max_per_client: self.max_per_client as usize,
            client_prefixes: bounded_listener::ClientPrefixes {
                ipv4: self.client_ipv4_prefix,
                ipv6: self.client_ipv6_prefix,
            },
            first_byte_timeout: self.first_byte_timeout,
            idle_timeout: self.idle_timeout,
            max_duration: self.max_duration,
        }
    }
}

impl ConnectionsConfig {
    /// The values written, the part's `defaults` for the others.
    pub fn resolve(&self, defaults: Connections) -> Connections {
        Connections {
            max: self.max.unwrap_or(defaults.max),
            max_per_client: self.max_per_client.unwrap_or(defaults.max_per_client),
            client_ipv4_prefix: self
                .client_ipv4_prefix
                .unwrap_or(defaults.client_ipv4_prefix),
            client_ipv6_prefix: self
                .client_ipv6_prefix
                .unwrap_or(defaults.client_ipv6_prefix),
            first_byte_timeout: self
                .first_byte_timeout
                .unwrap_or(defaults.first_byte_timeout),
            request_timeout: self.request_timeout.unwrap_or(defaults.request_timeout),
            idle_timeout: self.idle_timeout.unwrap_or(defaults.idle_timeout),
            max_duration: self.max_duration.unwrap_or(defaults.max_duration),
        }
    }

    /// Checks the values of table `key` (e.g. `api.connections`); the failing key and
    /// the reason on error.
    pub(crate) fn check(&self, key: &str, defaults: Connections) -> Result<(), (String, String)> {
        let c = self.resolve(defaults);
        let fail = |name: &str, reason: &str| Err((format!("{key}.{name}"), reason.to_owned()));
        if c.max == 0 {
            return fail("max", "must be at least 1");
        }
        if c.client_ipv4_prefix > 32 {
            return fail("client_ipv4_prefix", "must be 0 to 32");
        }
        if c.client_ipv6_prefix > 128 {
            return fail("client_ipv6_prefix", "must be 0 to 128");
        }
        for (name, d) in [
            ("first_byte_timeout", c.first_byte_timeout),
            ("request_timeout", c.request_timeout),
            ("idle_timeout", c.idle_timeout),
            ("max_duration", c.max_duration),
        ] {
            if d.is_zero() {
                return fail(name, "must be longer than zero");
            }
        }
        Ok(())
    }
}
