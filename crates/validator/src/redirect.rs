//! Whether a redirect may be followed, by Boulder's `extractRequestTarget`
//! (`va/http.go`): http or https only, ports 80 and 443 (or what stands for them), a
//! host that is a public IP address or a name under an IANA-registered TLD.

use std::net::IpAddr;

use url::{Host, Url};

use crate::addresses::AddressRules;
use crate::problem::Problem;

/// Where a followed redirect goes.
#[derive(Debug, Clone)]
pub(crate) struct RedirectTarget {
    /// The URL, its host lowercased.
    pub(crate) url: Url,
    /// The host: an address (contacted as it is) or a name (looked up).
    pub(crate) host: TargetHost,
    /// The port to connect to.
    pub(crate) port: u16,
    /// The port the URL names, if it names one (it then goes into `Host`).
    pub(crate) explicit_port: Option<u16>,
}

/// A redirect's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetHost {
    /// A name, lowercased.
    Name(String),
    /// An IP literal.
    Address(IpAddr),
}

/// The ports standing for 80 and 443.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub(crate) http: u16,
    pub(crate) https: u16,
}

/// Resolves `location` against `base` and applies Boulder's checks, in its order.
pub(crate) fn target(
    base: &Url,
    base_explicit_port: Option<u16>,
    location: &str,
    ports: Ports,
    rules: &AddressRules,
) -> Result<RedirectTarget, Problem> {
    if has_scope_zone(location) {
        return Err(Problem::connection(
            "Invalid host in redirect target: contains scope zone",
        ));
    }
    let mut url = base.join(location).map_err(|e| {
        Problem::connection(format!("failed to parse Location header {location:?}: {e}"))
    })?;
    let scheme = url.scheme().to_owned();
    if scheme != "http" && scheme != "https" {
        return Err(Problem::connection(format!(
            "Invalid protocol scheme in redirect target. Only \"http\" and \"https\" protocol \
             schemes are supported, not {scheme:?}"
        )));
    }
    // The url crate drops a port equal to the scheme's default; Boulder judges the port
    // as written, so it is read from the Location itself.
    let explicit_port = match authority(location) {
        Some(authority) => port_in(authority)?,
        None => base_explicit_port,
    };
    let port = match explicit_port {
        Some(p) if p != ports.http && p != ports.https => {
            return Err(Problem::connection(format!(
                "Invalid port in redirect target. Only ports {} and {} are supported, not {p}",
                ports.http, ports.https
            )));
        }
        Some(p) => p,
        None if scheme == "http" => ports.http,
        None => ports.https,
    };
    let host = match url.host() {
        None => return Err(Problem::connection("Invalid empty host in redirect target")),
        Some(Host::Ipv4(v4)) => TargetHost::Address(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => TargetHost::Address(IpAddr::V6(v6)),
        Some(Host::Domain("")) => {
            return Err(Problem::connection("Invalid empty host in redirect target"));
        }
        Some(Host::Domain(name)) => TargetHost::Name(name.to_ascii_lowercase()),
    };
    match &host {
        TargetHost::Name(name) => {
            if name.ends_with(".well-known") {
                return Err(Problem::connection(format!(
                    "Invalid host in redirect target {name:?}. Check webserver config for \
                     missing '/' in redirect target."
                )));
            }
            if !under_iana_tld(name) {
                return Err(Problem::connection(
                    "Invalid host in redirect target, must end in IANA registered TLD",
                ));
            }
            let lower = name.clone();
            url.set_host(Some(&lower)).map_err(|e| {
                Problem::connection(format!("Invalid host in redirect target: {e}"))
            })?;
        }
        TargetHost::Address(addr) => {
            rules.check(*addr).map_err(|reason| {
                Problem::connection(format!("Invalid host in redirect target: {reason}"))
            })?;
        }
    }
    Ok(RedirectTarget {
        url,
        host,
        port,
        explicit_port,
    })
}

/// Whether `host` ends in a TLD of the public suffix list's ICANN section and is not a
/// public suffix itself (Boulder's `iana.ExtractSuffix`).
pub(crate) fn under_iana_tld(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let Some(tld) = host.rsplit('.').next() else {
        return false;
    };
    let icann = |name: &str| {
        psl::suffix(name.as_bytes())
            .is_some_and(|s| s.is_known() && s.typ() == Some(psl::Type::Icann))
    };
    if !icann(tld) {
        return false;
    }
    // The name itself a suffix ("com", "co.uk") has no registrable part.
    match psl::suffix(host.as_bytes()) {
        Some(s) if s.is_known() && s.typ() == Some(psl::Type::Icann) => {
            s.as_bytes().len() < host.len()
        }
        _ => true,
    }
}

/// The authority part of an absolute (`scheme://…`) or scheme-relative (`//…`) reference.
fn authority(location: &str) -> Option<&str> {
    let rest = if let Some(rest) = location.strip_prefix("//") {
        rest
    } else {
        let (scheme, rest) = location.split_once("://")?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return None;
        }
        rest
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    Some(
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host),
    )
}

/// The port written in an authority, if any.
fn port_in(authority: &str) -> Result<Option<u16>, Problem> {
    let after_host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']').map_or("", |(_, after)| after),
        None => authority.find(':').map_or("", |i| &authority[i..]),
    };
    match after_host.strip_prefix(':') {
        None | Some("") => Ok(None),
        Some(digits) => digits.parse::<u16>().map(Some).map_err(|_| {
            Problem::connection(format!("invalid port {digits:?} in redirect target"))
        }),
    }
}

/// An IPv6 literal with a zone (`[fe80::1%25eth0]`), which the url crate cannot parse.
fn has_scope_zone(location: &str) -> bool {
    authority(location).is_some_and(|a| {
        a.strip_prefix('[')
            .and_then(|b| b.split_once(']'))
            .is_some_and(|(inside, _)| inside.contains('%'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AddressRules {
        AddressRules::new(&["127.0.0.0/8".parse().expect("cidr")])
    }

    const PORTS: Ports = Ports {
        http: 5002,
        https: 5001,
    };

    fn base() -> Url {
        Url::parse("http://example.com/.well-known/acme-challenge/t").expect("url")
    }

    fn go(location: &str) -> Result<RedirectTarget, String> {
        target(&base(), None, location, PORTS, &rules()).map_err(|p| p.detail)
    }

    #[test]
    fn a_port_written_equal_to_the_default_is_still_judged() {
        let refused = go("http://example.com:80/x").expect_err("80 is not the http port here");
        assert_eq!(
            refused,
            "Invalid port in redirect target. Only ports 5002 and 5001 are supported, not 80"
        );
        let followed = go("https://Example.COM:5001/x").expect("the https port");
        assert_eq!(followed.port, 5001);
        assert_eq!(followed.host, TargetHost::Name("example.com".into()));
        assert_eq!(followed.url.as_str(), "https://example.com:5001/x");
    }

    #[test]
    fn a_relative_location_keeps_the_port_of_the_url_it_came_from() {
        let from = Url::parse("http://example.com:5002/a/b").expect("url");
        let next = target(&from, Some(5002), "c?q=1", PORTS, &rules()).expect("relative");
        assert_eq!(next.url.as_str(), "http://example.com:5002/a/c?q=1");
        assert_eq!((next.port, next.explicit_port), (5002, Some(5002)));
    }

    #[test]
    fn hosts_are_judged_as_boulder_judges_them() {
        assert_eq!(
            go("gopher://example.com/").expect_err("scheme"),
            "Invalid protocol scheme in redirect target. Only \"http\" and \"https\" protocol \
             schemes are supported, not \"gopher\""
        );
        assert_eq!(
            go("http://example.net.well-known/acme-challenge/t").expect_err("missing slash"),
            "Invalid host in redirect target \"example.net.well-known\". Check webserver \
             config for missing '/' in redirect target."
        );
        assert_eq!(
            go("http://printer.local/").expect_err("no IANA TLD"),
            "Invalid host in redirect target, must end in IANA registered TLD"
        );
        assert_eq!(
            go("http://co.uk/").expect_err("a public suffix"),
            "Invalid host in redirect target, must end in IANA registered TLD"
        );
        assert_eq!(
            go("http://[fe80::1%25eth0]/").expect_err("zone"),
            "Invalid host in redirect target: contains scope zone"
        );
        assert_eq!(
            go("http://10.1.2.3/").expect_err("private"),
            "Invalid host in redirect target: IP address is in a reserved address block: \
             private-use"
        );
        let allowed = go("http://127.0.0.1/x").expect("loopback allowed by the lab rules");
        assert_eq!(
            allowed.host,
            TargetHost::Address("127.0.0.1".parse().expect("ip"))
        );
        assert!(under_iana_tld("www.example.co.uk"));
        assert!(!under_iana_tld("example.test"));
    }
}
