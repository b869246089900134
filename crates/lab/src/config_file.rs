//! The configuration `acme-srv serve` runs with in the lab: every part on loopback.
//!
//! - `[dns]` serves the lab zone ([`crate::names::ZONE`]) on the one port chosen
//!   beforehand (UDP and TCP), because `[resolver]` must name it: the relay and the
//!   router look the demo's SRV records up there.
//! - `[api]`, `[relay]`, `[router]` and `[admin]` listen on `127.0.0.1:0`; the lab reads
//!   the ports back from acme-srv's log (`listening for <kind> on <addr>`).
//! - `[challenge]` allows the lab zone and the names below it; `[targets]` allows only
//!   loopback (`127.0.0.0/8`), on unprivileged ports, because the ACME client runs on
//!   this machine. (That is exactly what a production configuration must not allow.)
//! - The admin token is not in the file: the lab passes it in `ACME_SRV_ADMIN_TOKEN`.

use std::path::Path;

use crate::LabError;
use crate::names::{DEMO_TTL, ZONE};

/// The configuration text for a lab whose DNS server listens on `127.0.0.1:dns_port`
/// and stores in `store`, checked by acme-srv's own configuration loader.
///
/// # Errors
///
/// [`LabError::Config`] when acme-srv refuses the text (which would be a bug here).
pub fn acme_srv_config(dns_port: u16, store: &Path) -> Result<String, LabError> {
    let text = render(dns_port, store);
    check(&text)?;
    Ok(text)
}

fn render(dns_port: u16, store: &Path) -> String {
    let store_url = toml_string(&format!("sqlite://{}", store.display()));
    let zone = toml_string(ZONE);
    let wildcard = toml_string(&format!("*.{ZONE}"));
    let ns = toml_string(&format!("ns1.{ZONE}"));
    format!(
        r#"# Written by `acme-srv lab`: every part of acme-srv on loopback, for the lab zone
# {ZONE}. See docs/lab.md. Ports 0 are chosen by the kernel; acme-srv logs them.

[relay]
listen = ["127.0.0.1:0"]
# The relay serves challenges only.
other_requests = "not-found"

[router]
listen = ["127.0.0.1:0"]
# No backends: a TLS connection that is not a tls-alpn-01 validation is refused.

[challenge]
allow_domains = [{zone}, {wildcard}]

[resolver]
# acme-srv's own DNS server, below: records written through the API are seen at once.
servers = ["127.0.0.1:{dns_port}"]
timeout = "1s"
negative_ttl_without_soa = "1s"

[targets]
# LAB ONLY: the ACME client runs on this machine, so loopback targets are allowed.
# Never allow loopback in production (docs/configuration.md, [targets]).
allow_networks = ["127.0.0.0/8"]
allow_ports = ["1024-65535"]

[dns]
listen = ["127.0.0.1:{dns_port}"]

[[dns.zones]]
origin = {zone}
ns = [{ns}]
records = ["ns1 300 IN A 127.0.0.1"]
# Short negative caching: a name looked up before its record was written is seen soon.
soa = {{ minimum = 1, ttl = {DEMO_TTL} }}

[api]
listen = "127.0.0.1:0"
# The admin token comes from ACME_SRV_ADMIN_TOKEN, set by the lab.

[store]
url = {store_url}

[admin]
listen = "127.0.0.1:0"
"#
    )
}

/// Parses and validates `text` as acme-srv would.
fn check(text: &str) -> Result<(), LabError> {
    let file = "the lab's acme-srv.toml";
    config::parse(file, text)
        .and_then(|parsed| parsed.validate(file))
        .map_err(LabError::Config)
}

/// `text` as a TOML basic string, quoted and escaped.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn parsed(text: &str) -> config::Config {
        match config::parse("test", text) {
            Ok(config) => config,
            Err(error) => panic!("{error}\n{text}"),
        }
    }

    #[test]
    fn every_part_runs_on_loopback() -> Result<(), LabError> {
        let text = acme_srv_config(10_053, Path::new("/tmp/lab dir/acme-srv.sqlite"))?;
        let config = parsed(&text);
        assert!(config.relay_table_present);
        assert!(config.router.is_some() && config.dns.is_some() && config.api.is_some());

        let loopback_0: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let dns_addr: SocketAddr = "127.0.0.1:10053".parse().unwrap();
        assert_eq!(config.relay.listen, [loopback_0]);
        assert_eq!(
            config.router.as_ref().map(|r| r.listen.clone()),
            Some(vec![loopback_0])
        );
        assert_eq!(config.api.as_ref().map(|a| a.listen), Some(loopback_0));
        assert_eq!(config.admin.listen, Some(loopback_0));
        assert_eq!(
            config.dns.as_ref().map(|d| d.listen.clone()),
            Some(vec![dns_addr])
        );
        // The relay and the router ask the lab's own DNS server.
        assert_eq!(config.resolver.servers, [dns_addr]);
        // No secret in the file.
        assert!(config.api.as_ref().is_some_and(|a| a.admin_token.is_none()));
        assert_eq!(
            config.store.url, "sqlite:///tmp/lab dir/acme-srv.sqlite",
            "a path with a space is quoted"
        );
        Ok(())
    }

    #[test]
    fn the_demo_domain_and_loopback_targets_are_allowed() -> Result<(), LabError> {
        let config = parsed(&acme_srv_config(10_053, Path::new("/tmp/s.sqlite"))?);
        let patterns: Vec<String> = config
            .challenge
            .allow_domains
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(patterns, [ZONE.to_owned(), format!("*.{ZONE}")]);
        let networks: Vec<String> = config
            .targets
            .allow_networks
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(networks, ["127.0.0.0/8"]);
        let zones = config.dns.map(|d| d.zones).unwrap_or_default();
        assert_eq!(zones.len(), 1);
        Ok(())
    }
}
