//! The lab's names: the zone acme-srv serves, the demo domain a certificate is issued
//! for, and the host the demo's SRV records point at (where the ACME client listens).
//!
//! The names are under `example.com` (RFC 2606), a name under a real public suffix, so
//! a validator that applies the CA's rules (a registrable domain, no reserved TLD)
//! accepts them; they are only ever resolved through the lab's own DNS server, on
//! loopback.

/// The zone acme-srv's DNS side serves in the lab.
pub const ZONE: &str = "lab.example.com";

/// The demo domain: the name the lab's certificate is for.
pub const DEMO_DOMAIN: &str = "demo.lab.example.com";

/// The host the demo's SRV records name as target: where the ACME client listens
/// (127.0.0.1).
pub const CLIENT_HOST: &str = "client.lab.example.com";

/// The contact address given to the CA.
pub(crate) const CONTACT_EMAIL: &str = "admin@lab.example.com";

/// TTL of the demo records: short, so a record changed through the API is seen by the
/// relay's and the router's cache within seconds.
pub(crate) const DEMO_TTL: u32 = 5;

/// The http-01 SRV owner name of the demo domain (`_acme-challenge._tcp.<domain>`).
pub fn http01_owner() -> String {
    format!("_acme-challenge._tcp.{DEMO_DOMAIN}")
}

/// The tls-alpn-01 SRV owner name of the demo domain (`_acme-tls-alpn._tcp.<domain>`).
pub fn tls_alpn01_owner() -> String {
    format!("_acme-tls-alpn._tcp.{DEMO_DOMAIN}")
}
