//! Domain names as the relay takes them from HTTP: [`normalize_host`] turns a `Host`
//! value (or an absolute-form authority) into a [`DomainName`] by dropping surrounding
//! whitespace and the port, then parsing with the workspace's one parser (the
//! `domain-name` crate: IDNA to ASCII, lowercase, no trailing dot, checked labels, no
//! wildcard, no IP literal). [`is_allowed`] checks a name against the allow-list of
//! [`DomainPattern`]s. The name type and the pattern live in `domain-name`; they are
//! re-exported here for the crates that read SRV records.

pub use domain_name::{DomainName, DomainPattern, NameError};

/// Why a `Host` value is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The port part is not a number.
    #[error("invalid port in host")]
    BadPort,
    /// The host part is not a domain name (an IP literal, a bad label, …).
    #[error(transparent)]
    Name(#[from] NameError),
}

/// Normalises a `Host` header value (`name[:port]`, any letter case, an optional
/// trailing dot); see the module docs. A bracketed IPv6 literal is refused as an IP
/// literal.
pub fn normalize_host(raw: &str) -> Result<DomainName, HostError> {
    let raw = raw.trim();
    if raw.starts_with('[') {
        return Err(NameError::IpLiteral.into());
    }
    let name = match raw.rsplit_once(':') {
        Some((name, port)) => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
                return Err(HostError::BadPort);
            }
            name
        }
        None => raw,
    };
    Ok(DomainName::parse(name)?)
}

/// Whether any pattern in `allow` matches `domain`.
pub fn is_allowed(allow: &[DomainPattern], domain: &DomainName) -> bool {
    allow.iter().any(|p| p.matches(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_host_values() {
        for (raw, normal) in [
            ("WWW.Example.COM", "www.example.com"),
            ("www.example.com.:80", "www.example.com"),
            (" www.example.com:8080 ", "www.example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("a_b.test", "a_b.test"),
        ] {
            assert_eq!(normalize_host(raw).unwrap().as_str(), normal, "{raw:?}");
        }
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            ".",
            "a..b",
            "a b.test",
            "[::1]:80",
            "127.0.0.1",
            "127.0.0.1:80",
            "a.test:x",
            "a/b",
            "a.test:",
            "a.test:123456",
            "*.example.com",
        ] {
            assert!(normalize_host(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(normalize_host("a.test:x"), Err(HostError::BadPort));
        assert_eq!(
            normalize_host("[::1]:80"),
            Err(HostError::Name(NameError::IpLiteral))
        );
        assert_eq!(
            normalize_host(&"a".repeat(64)),
            Err(HostError::Name(NameError::BadLabel("a".repeat(64))))
        );
    }

    #[test]
    fn the_allow_list_matches_exact_names_and_names_below() {
        let allow: Vec<DomainPattern> = ["Example.com", "*.example.net"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let host = |raw| normalize_host(raw).unwrap();
        assert!(is_allowed(&allow, &host("example.com:80")));
        assert!(!is_allowed(&allow, &host("www.example.com")));
        assert!(is_allowed(&allow, &host("a.b.example.net")));
        assert!(!is_allowed(&allow, &host("example.net")));
        assert!(!is_allowed(&allow, &host("badexample.net")));
        assert!(!is_allowed(&[], &host("example.com")));
    }
}
