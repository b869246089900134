//! Domain names as the relay compares them: normalised ASCII, and allow-list patterns.
//!
//! [`normalize_host`] turns an HTTP `Host` value (or a configured name) into the one
//! form every comparison uses: port and trailing dot stripped, IDNA (UTS 46) to ASCII,
//! lowercase, each label 1–63 characters of letters, digits, `-` and `_`, the whole at
//! most 253 characters. IP literals are not domain names and are refused.
//! [`DomainPattern`] is one allow-list entry: an exact name or `*.suffix`.

use std::fmt;
use std::str::FromStr;

/// Why a host value is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// Empty after stripping port and trailing dot.
    #[error("empty host name")]
    Empty,
    /// An IP address literal, not a name.
    #[error("an IP address is not a domain name")]
    IpLiteral,
    /// The port part is not a number.
    #[error("invalid port in host")]
    BadPort,
    /// IDNA processing refused the name.
    #[error("not a valid internationalised domain name")]
    Idna,
    /// A label is empty, too long, or has a character outside `[a-z0-9_-]`.
    #[error("invalid label {0:?}")]
    BadLabel(String),
    /// More than 253 characters.
    #[error("name longer than 253 characters")]
    TooLong,
}

/// Normalises a `Host` header value or configured name; see the module docs.
pub fn normalize_host(raw: &str) -> Result<String, HostError> {
    let raw = raw.trim();
    if raw.starts_with('[') {
        return Err(HostError::IpLiteral);
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
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(HostError::Empty);
    }
    let ascii = if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(name).map_err(|_| HostError::Idna)?
    };
    if ascii.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(HostError::IpLiteral);
    }
    if ascii.len() > 253 {
        return Err(HostError::TooLong);
    }
    for label in ascii.split('.') {
        let ok_chars = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if label.is_empty() || label.len() > 63 || !ok_chars {
            return Err(HostError::BadLabel(label.to_owned()));
        }
    }
    Ok(ascii)
}

/// One allow-list entry: `example.com` (that name only) or `*.example.com` (any name
/// below it, at any depth, but not `example.com` itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DomainPattern {
    /// Exactly this name.
    Exact(String),
    /// Any name ending in `.` + this suffix.
    Subdomains(String),
}

impl DomainPattern {
    /// Whether the normalised `domain` matches.
    pub fn matches(&self, domain: &str) -> bool {
        match self {
            Self::Exact(name) => domain == name,
            Self::Subdomains(suffix) => domain
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }

    /// The name (or suffix) this pattern is anchored at.
    pub fn base(&self) -> &str {
        match self {
            Self::Exact(name) | Self::Subdomains(name) => name,
        }
    }
}

impl FromStr for DomainPattern {
    type Err = HostError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("*.") {
            Some(suffix) => Ok(Self::Subdomains(normalize_host(suffix)?)),
            None => Ok(Self::Exact(normalize_host(s)?)),
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => f.write_str(name),
            Self::Subdomains(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

/// Whether any pattern in `allow` matches the normalised `domain`.
pub fn is_allowed(allow: &[DomainPattern], domain: &str) -> bool {
    allow.iter().any(|p| p.matches(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_host_values() {
        assert_eq!(
            normalize_host("WWW.Example.COM").unwrap(),
            "www.example.com"
        );
        assert_eq!(
            normalize_host("www.example.com.:80").unwrap(),
            "www.example.com"
        );
        assert_eq!(
            normalize_host("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(normalize_host("a_b.test").unwrap(), "a_b.test");
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
            "a.test:x",
            "a/b",
            "a.test:",
        ] {
            assert!(normalize_host(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            normalize_host(&"a".repeat(64)),
            Err(HostError::BadLabel("a".repeat(64)))
        );
    }

    #[test]
    fn patterns_match_exact_and_subdomains() {
        let exact: DomainPattern = "Example.com".parse().unwrap();
        let wild: DomainPattern = "*.example.com".parse().unwrap();
        assert!(exact.matches("example.com"));
        assert!(!exact.matches("www.example.com"));
        assert!(wild.matches("www.example.com"));
        assert!(wild.matches("a.b.example.com"));
        assert!(!wild.matches("example.com"));
        assert!(!wild.matches("badexample.com"));
        assert_eq!(wild.to_string(), "*.example.com");
    }
}
