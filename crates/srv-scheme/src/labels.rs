//! Owner names: which SRV name to ask for a given domain and challenge type.

use std::fmt;

use domain_name::DomainName;

/// The ACME challenge types the scheme covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Challenge {
    /// RFC 8555 §8.3: plain HTTP on port 80.
    Http01,
    /// RFC 8737: TLS with ALPN `acme-tls/1` on port 443.
    TlsAlpn01,
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http01 => "http-01",
            Self::TlsAlpn01 => "tls-alpn-01",
        })
    }
}

/// The label prepended to a domain to form the SRV owner name, per challenge type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// Label for http-01; default `_acme-challenge._tcp`.
    pub http01: String,
    /// Label for tls-alpn-01; default `_acme-tls-alpn._tcp`.
    pub tls_alpn01: String,
}

/// Default label for http-01.
pub const DEFAULT_HTTP01_LABEL: &str = "_acme-challenge._tcp";
/// Default label for tls-alpn-01.
pub const DEFAULT_TLS_ALPN01_LABEL: &str = "_acme-tls-alpn._tcp";

impl Default for Labels {
    fn default() -> Self {
        Self {
            http01: DEFAULT_HTTP01_LABEL.to_owned(),
            tls_alpn01: DEFAULT_TLS_ALPN01_LABEL.to_owned(),
        }
    }
}

impl Labels {
    /// The label used for `challenge`.
    pub fn label(&self, challenge: Challenge) -> &str {
        match challenge {
            Challenge::Http01 => &self.http01,
            Challenge::TlsAlpn01 => &self.tls_alpn01,
        }
    }

    /// The fully qualified SRV owner name (with trailing dot) for `domain`:
    /// `_acme-challenge._tcp.www.example.com.`.
    pub fn owner_name(&self, challenge: Challenge, domain: &DomainName) -> String {
        format!("{}.{}", self.label(challenge), domain.to_fqdn_string())
    }
}

/// The proper ancestors of `domain` ([`DomainName::ancestors`]), nearest first, that
/// still have at least `min_labels` labels.
///
/// `www.a.example.com` with `min_labels = 2` gives `a.example.com`, `example.com`. The
/// caller decides how far to go (the relay stops where its domain allow-list stops), so
/// a walk never reaches a public suffix on its own.
pub fn parent_names(
    domain: &DomainName,
    min_labels: usize,
) -> impl Iterator<Item = DomainName> + '_ {
    domain
        .ancestors()
        .take_while(move |parent| parent.label_count() >= min_labels.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DomainName {
        text.parse().unwrap()
    }

    #[test]
    fn owner_names_use_the_configured_labels() {
        let labels = Labels::default();
        assert_eq!(
            labels.owner_name(Challenge::Http01, &name("www.example.com")),
            "_acme-challenge._tcp.www.example.com."
        );
        assert_eq!(
            labels.owner_name(Challenge::TlsAlpn01, &name("WWW.example.com.")),
            "_acme-tls-alpn._tcp.www.example.com."
        );
        let custom = Labels {
            http01: "_acme-http._tcp".into(),
            ..Labels::default()
        };
        assert_eq!(
            custom.owner_name(Challenge::Http01, &name("a.test")),
            "_acme-http._tcp.a.test."
        );
    }

    #[test]
    fn parent_names_stop_at_the_minimum() {
        let parents: Vec<_> = parent_names(&name("www.a.example.com"), 2).collect();
        assert_eq!(parents, ["a.example.com", "example.com"]);
        assert_eq!(parent_names(&name("example.com"), 2).count(), 0);
        let all: Vec<_> = parent_names(&name("a.b.c."), 1).collect();
        assert_eq!(all, ["b.c", "c"]);
        let all: Vec<_> = parent_names(&name("a.b.c"), 0).collect();
        assert_eq!(all, ["b.c", "c"]);
    }
}
