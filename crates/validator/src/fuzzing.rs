//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`, never in a
//! release build): the crate-private readers of what a validated server sends. Not an
//! API: nothing here is stable.

/// A followed redirect, as the fuzz target sees it.
#[derive(Debug)]
pub struct Followed {
    /// The URL, serialised.
    pub url: String,
    /// The port connected to.
    pub port: u16,
    /// The host when it is a name (lowercase), else `None` for an IP literal.
    pub name: Option<String>,
}

/// Judges `location`, sent in answer to `base` (an http or https URL), with the http
/// port 80 and https port 443 and no reserved network allowed: `Ok` when Boulder's rules
/// follow it, `Err(detail)` otherwise.
pub fn redirect(base: &str, location: &str) -> Result<Followed, String> {
    let base = url::Url::parse(base).map_err(|e| e.to_string())?;
    let ports = crate::redirect::Ports {
        http: 80,
        https: 443,
    };
    let rules = crate::addresses::AddressRules::new(&[]);
    let target =
        crate::redirect::target(&base, None, location, ports, &rules).map_err(|p| p.detail)?;
    Ok(Followed {
        url: target.url.to_string(),
        port: target.port,
        name: match target.host {
            crate::redirect::TargetHost::Name(name) => Some(name),
            crate::redirect::TargetHost::Address(_) => None,
        },
    })
}

/// Whether `der`, presented by a tls-alpn-01 server, passes the certificate checks for
/// `domain` and `key_authorization`.
pub fn certificate(der: &[u8], domain: &str, key_authorization: &str) -> Result<(), String> {
    crate::acme_certificate::check(der, domain, key_authorization)
}

/// Whether `host` ends in an IANA-registered TLD and is not a public suffix itself.
pub fn under_iana_tld(host: &str) -> bool {
    crate::redirect::under_iana_tld(host)
}
