//! The routing table: which backend a server name goes to. Exact names first, then the
//! longest `*.` wildcard that covers the name, then the default backend; no server name
//! or an IP address goes to the default backend.

use std::collections::HashMap;
use std::sync::Arc;

use config::{DomainPattern, ProxyProtocol, RouterConfig};
use domain_name::DomainName;

/// Where a backend is and how it is spoken to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// `host:port` as configured; a name is resolved at each connection.
    pub address: String,
    /// The PROXY protocol header sent first, if any.
    pub proxy_protocol: ProxyProtocol,
}

/// The backends by server name, built once per configuration.
#[derive(Debug, Default)]
pub struct RouteTable {
    exact: HashMap<DomainName, Arc<Backend>>,
    below: HashMap<DomainName, Arc<Backend>>,
    default: Option<Arc<Backend>>,
}

impl RouteTable {
    /// The table of `[router]` (already validated: every name parses).
    pub fn from_config(config: &RouterConfig) -> Self {
        let mut table = Self {
            default: config.default_backend.as_ref().map(|b| {
                Arc::new(Backend {
                    address: b.address.clone(),
                    proxy_protocol: b.proxy_protocol,
                })
            }),
            ..Self::default()
        };
        for named in &config.backends {
            let backend = Arc::new(Backend {
                address: named.address.clone(),
                proxy_protocol: named.proxy_protocol,
            });
            for name in &named.server_names {
                match DomainPattern::parse(name) {
                    Ok(DomainPattern::Exact(name)) => {
                        table.exact.insert(name, backend.clone());
                    }
                    Ok(DomainPattern::Below(base)) => {
                        table.below.insert(base, backend.clone());
                    }
                    Err(reason) => {
                        tracing::warn!(name, %reason, "server name skipped");
                    }
                }
            }
        }
        table
    }

    /// The backend for `server_name` (the ClientHello's, parsed; `None` when there was
    /// none or it is no domain name, an IP address for one), and whether it was the
    /// default one.
    pub fn backend_for(&self, server_name: Option<&DomainName>) -> Option<(&Arc<Backend>, bool)> {
        match server_name.and_then(|name| self.by_name(name)) {
            Some(backend) => Some((backend, false)),
            None => self.default.as_ref().map(|b| (b, true)),
        }
    }

    fn by_name(&self, name: &DomainName) -> Option<&Arc<Backend>> {
        if let Some(backend) = self.exact.get(name) {
            return Some(backend);
        }
        // Each parent, nearest first: the longest wildcard that covers the name wins.
        name.ancestors().find_map(|parent| self.below.get(&parent))
    }
}

#[cfg(test)]
mod tests {
    use config::{BackendConfig, NamedBackendConfig};

    use super::*;

    fn table() -> RouteTable {
        let named = |names: &[&str], address: &str| NamedBackendConfig {
            server_names: names.iter().map(|n| (*n).to_owned()).collect(),
            address: address.into(),
            proxy_protocol: ProxyProtocol::Off,
        };
        RouteTable::from_config(&RouterConfig {
            default_backend: Some(BackendConfig {
                address: "default:443".into(),
                proxy_protocol: ProxyProtocol::V2,
            }),
            backends: vec![
                named(&["www.example.com", "*.example.com"], "web:443"),
                named(&["*.api.example.com"], "api:443"),
                named(&["API.Example.NET."], "net:443"),
            ],
            ..RouterConfig::default()
        })
    }

    /// The route for an SNI as the server takes it: parsed, `None` if it is no name.
    fn route(table: &RouteTable, sni: Option<&str>) -> (String, bool) {
        let name = sni.and_then(|sni| DomainName::parse(sni).ok());
        let (backend, default) = table.backend_for(name.as_ref()).expect("a backend");
        (backend.address.clone(), default)
    }

    #[test]
    fn exact_then_longest_wildcard_then_default() {
        let t = table();
        assert_eq!(
            route(&t, Some("www.example.com")),
            ("web:443".into(), false)
        );
        assert_eq!(
            route(&t, Some("a.b.example.com")),
            ("web:443".into(), false)
        );
        assert_eq!(
            route(&t, Some("v1.api.example.com")),
            ("api:443".into(), false)
        );
        assert_eq!(
            route(&t, Some("x.v1.api.example.com")),
            ("api:443".into(), false)
        );
        // A wildcard covers names below, not the name itself.
        assert_eq!(route(&t, Some("example.com")), ("default:443".into(), true));
        assert_eq!(
            route(&t, Some("api.example.net")),
            ("net:443".into(), false)
        );
        assert_eq!(route(&t, Some("other.test")), ("default:443".into(), true));
    }

    #[test]
    fn no_name_or_an_address_goes_to_the_default() {
        let t = table();
        assert_eq!(route(&t, None), ("default:443".into(), true));
        assert_eq!(route(&t, Some("192.0.2.1")), ("default:443".into(), true));
        assert_eq!(route(&t, Some("2001:db8::1")), ("default:443".into(), true));
    }

    #[test]
    fn without_a_default_unknown_names_have_no_backend() {
        let t = RouteTable::from_config(&RouterConfig::default());
        let name = DomainName::parse("www.example.com").unwrap();
        assert!(t.backend_for(Some(&name)).is_none());
        assert!(t.backend_for(None).is_none());
    }
}
