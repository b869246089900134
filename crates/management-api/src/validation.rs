//! The input rules, written once and used twice: the server checks requests with them,
//! and the OpenAPI document publishes the same patterns and bounds, so a client (or
//! schemathesis) that follows the document is never refused and one that does not is.
//!
//! Patterns are written in the common subset of ECMA-262, Python `re` and Rust `regex`
//! syntax (explicit `[0-9]` classes, no look-around), so every tool reads them alike.

use std::net::IpAddr;
use std::sync::LazyLock;

use domain_name::{DomainName, NameError};
use ipnet::{IpNet, Ipv4Net};
use record_store::model::{self, RecordType};
use regex::Regex;

use crate::problem::ApiError;

/// Longest name accepted, counted as sent (a trailing dot included).
pub(crate) const MAX_NAME_LEN: usize = 253;
/// Longest TXT value accepted through the API.
pub(crate) const MAX_TXT_LEN: usize = model::MAX_TXT_BYTES;
/// Longest key description accepted, in characters.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 200;
/// Most source networks one key may list.
pub(crate) const MAX_CIDRS: usize = 32;
/// Most scopes one key may have.
pub(crate) const MAX_SCOPES: usize = 32;
/// Most records one RRset may hold: the store's rule, published as `maxItems`.
pub(crate) const MAX_RRSET_RECORDS: usize = record_store::rules::MAX_RRSET_RECORDS;

/// One DNS label as the API accepts it (case-insensitive letters).
const LABEL: &str = "[A-Za-z0-9_-]{1,63}";

/// A host name (CNAME or SRV target): labels, an optional trailing dot, no wildcard.
pub(crate) static TARGET_PATTERN: LazyLock<String> =
    LazyLock::new(|| format!("^(?:{LABEL}\\.)*{LABEL}\\.?$"));
/// An SRV target: a host name, or `.` for "no service here".
pub(crate) static SRV_TARGET_PATTERN: LazyLock<String> =
    LazyLock::new(|| format!("^(?:\\.|(?:{LABEL}\\.)*{LABEL}\\.?)$"));
/// A TXT value: printable ASCII (what every ACME TXT value is).
pub(crate) const TXT_PATTERN: &str = "^[ -~]*$";

const V4_OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const V4_PREFIX: &str = "(?:3[0-2]|[12][0-9]|[0-9])";
const V6_PREFIX: &str = "(?:12[0-8]|1[01][0-9]|[1-9][0-9]|[0-9])";
const H16: &str = "[0-9A-Fa-f]{1,4}";

/// A network in CIDR notation: `10.0.0.0/8`, `2001:db8::/32` (IPv6 without an
/// embedded IPv4 part).
pub(crate) static CIDR_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let v4 = format!("{V4_OCTET}(?:\\.{V4_OCTET}){{3}}");
    let v6 = [
        format!("(?:{H16}:){{7}}{H16}"),
        format!("(?:{H16}:){{1,7}}:"),
        format!("(?:{H16}:){{1,6}}:{H16}"),
        format!("(?:{H16}:){{1,5}}(?::{H16}){{1,2}}"),
        format!("(?:{H16}:){{1,4}}(?::{H16}){{1,3}}"),
        format!("(?:{H16}:){{1,3}}(?::{H16}){{1,4}}"),
        format!("(?:{H16}:){{1,2}}(?::{H16}){{1,5}}"),
        format!("{H16}:(?::{H16}){{1,6}}"),
        format!(":(?:(?::{H16}){{1,7}}|:)"),
    ]
    .join("|");
    format!("^(?:{v4}/{V4_PREFIX}|(?:{v6})/{V6_PREFIX})$")
});

/// An acme-dns user name or subdomain: a UUID.
pub(crate) const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// An acme-dns TXT value: 43 base64url characters (a SHA-256 digest).
pub(crate) const ACME_DNS_TXT_PATTERN: &str = "^[A-Za-z0-9_-]{43}$";

static CIDR_RE: LazyLock<Regex> = LazyLock::new(|| compile(&CIDR_PATTERN));
static TARGET_RE: LazyLock<Regex> = LazyLock::new(|| compile(&TARGET_PATTERN));
static TXT_RE: LazyLock<Regex> = LazyLock::new(|| compile(TXT_PATTERN));
static UUID_RE: LazyLock<Regex> = LazyLock::new(|| compile(UUID_PATTERN));
static ACME_DNS_TXT_RE: LazyLock<Regex> = LazyLock::new(|| compile(ACME_DNS_TXT_PATTERN));

#[allow(clippy::expect_used)] // The patterns are constants; a unit test compiles each.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

/// The pattern of an owner name inside one of `zones` (normalised zone origins): any
/// labels, the zone in any letter case, an optional trailing dot. No wildcard: the DNS
/// server does not expand them, so a `*` owner would be stored but never match.
pub(crate) fn owner_pattern(zones: &[String]) -> String {
    if zones.is_empty() {
        // Matches nothing: with no served zone, no owner is acceptable.
        return "^[^\\s\\S]$".to_owned();
    }
    let alternatives: Vec<String> = zones.iter().map(|zone| case_insensitive(zone)).collect();
    format!("^(?:{LABEL}\\.)*(?:{})\\.?$", alternatives.join("|"))
}

/// `zone` as a pattern matching it in any letter case (`[eE][xX]…\.[cC][oO][mM]`).
fn case_insensitive(zone: &str) -> String {
    let mut pattern = String::with_capacity(zone.len() * 4);
    for c in zone.chars() {
        if c.is_ascii_alphabetic() {
            pattern.push('[');
            pattern.push(c.to_ascii_lowercase());
            pattern.push(c.to_ascii_uppercase());
            pattern.push(']');
        } else if c.is_ascii_alphanumeric() || c == '_' {
            pattern.push(c);
        } else {
            pattern.push('\\');
            pattern.push(c);
        }
    }
    pattern
}

/// The zone of `zones` that holds the normalised `owner` (the longest one), if any.
pub(crate) use record_store::rules::zone_of;

/// Normalises an owner name sent by a client and checks it is inside a served zone.
pub(crate) fn owner_in_zones(zones: &[String], raw: &str) -> Result<String, ApiError> {
    // Parsed as an owner (a `*` first label is a name), then refused as one by policy.
    let owner = name(raw, "owner", DomainName::parse_dns)?;
    if owner.is_wildcard() {
        return Err(ApiError::Invalid(
            "owner: wildcard names are not served (the DNS server does not expand them)".into(),
        ));
    }
    if zone_of(zones, owner.as_str()).is_none() {
        return Err(ApiError::OutsideZones(owner.into_string()));
    }
    Ok(owner.into_string())
}

/// Normalises a name sent by a client: at most 253 characters as sent, ASCII as the
/// published patterns say (an internationalised name is sent in its `xn--` form), then
/// `parse` (one of [`DomainName`]'s).
fn name(
    raw: &str,
    what: &str,
    parse: fn(&str) -> Result<DomainName, NameError>,
) -> Result<DomainName, ApiError> {
    if raw.len() > MAX_NAME_LEN {
        return Err(ApiError::Invalid(format!(
            "{what} is longer than {MAX_NAME_LEN} characters"
        )));
    }
    if !raw.is_ascii() {
        return Err(ApiError::Invalid(format!(
            "{what} {raw:?} is not ASCII: send an internationalised name in its xn-- form"
        )));
    }
    parse(raw).map_err(|reason| ApiError::Invalid(format!("{what} {raw:?}: {reason}")))
}

/// A CNAME or SRV target: a host name (no wildcard), normalised.
pub(crate) fn target(raw: &str, what: &str) -> Result<String, ApiError> {
    if raw.len() > MAX_NAME_LEN || !TARGET_RE.is_match(raw) {
        return Err(ApiError::Invalid(format!(
            "{what} {raw:?} is not a host name (labels of 1-63 letters, digits, '-' or '_', \
             at most {MAX_NAME_LEN} characters)"
        )));
    }
    let target = name(raw, what, DomainName::parse_dns)?;
    if target.is_wildcard() {
        return Err(ApiError::Invalid(format!(
            "{what} {raw:?}: a wildcard names no host"
        )));
    }
    Ok(target.into_string())
}

/// A TXT value: printable ASCII, at most [`MAX_TXT_LEN`] characters.
pub(crate) fn txt_value(value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_TXT_LEN {
        return Err(ApiError::Invalid(format!(
            "TXT value longer than {MAX_TXT_LEN} characters"
        )));
    }
    if !TXT_RE.is_match(value) {
        return Err(ApiError::Invalid(
            "TXT value must be printable ASCII (0x20-0x7E)".to_owned(),
        ));
    }
    Ok(())
}

/// A network in CIDR notation (see [`CIDR_PATTERN`]), with host bits cleared.
///
/// An IPv4-mapped IPv6 network (`::ffff:a00:0/104`) becomes the IPv4 network it stands
/// for (`10.0.0.0/8`): client addresses are compared in canonical form (see
/// [`ip_allowed`]), so as IPv6 it would match no client, and it would be shown as
/// `::ffff:10.0.0.0/104`, a form the pattern refuses (found by fuzzing, `api_json`).
pub(crate) fn cidr(raw: &str) -> Result<IpNet, String> {
    if !CIDR_RE.is_match(raw) {
        return Err(format!(
            "{raw:?} is not a network in CIDR notation (such as 10.0.0.0/8 or 2001:db8::/32)"
        ));
    }
    let net = raw
        .parse::<IpNet>()
        .map(|net| net.trunc())
        .map_err(|error| format!("{raw:?}: {error}"))?;
    let mapped = match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| Ipv4Net::new(v4, v6.prefix_len() - 96).ok()),
        _ => None,
    };
    Ok(mapped.map_or(net, IpNet::V4))
}

/// Whether `ip` is inside one of `networks` (IPv4-mapped IPv6 addresses count as IPv4).
pub(crate) fn ip_allowed(networks: &[IpNet], ip: Option<IpAddr>) -> bool {
    if networks.is_empty() {
        return true;
    }
    let Some(ip) = ip else {
        return false;
    };
    let ip = ip.to_canonical();
    networks.iter().any(|net| net.contains(&ip))
}

/// A record type named in a request path (any letter case).
pub(crate) fn path_record_type(raw: &str) -> Result<RecordType, ApiError> {
    raw.parse::<RecordType>().map_err(ApiError::NotFound)
}

/// Whether `raw` is a UUID in the canonical 8-4-4-4-12 form (any letter case).
pub(crate) fn is_uuid(raw: &str) -> bool {
    UUID_RE.is_match(raw)
}

/// Whether `raw` is an acme-dns TXT value (43 base64url characters).
pub(crate) fn is_acme_dns_txt(raw: &str) -> bool {
    ACME_DNS_TXT_RE.is_match(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        for pattern in [
            CIDR_PATTERN.as_str(),
            TARGET_PATTERN.as_str(),
            SRV_TARGET_PATTERN.as_str(),
            TXT_PATTERN,
            UUID_PATTERN,
            ACME_DNS_TXT_PATTERN,
            &owner_pattern(&["example.com".to_owned(), "a-b.example".to_owned()]),
            &owner_pattern(&[]),
        ] {
            Regex::new(pattern).unwrap();
        }
    }

    #[test]
    fn owner_pattern_matches_names_in_zones_only() {
        let zones = vec!["example.com".to_owned(), "other.test".to_owned()];
        let re = Regex::new(&owner_pattern(&zones)).unwrap();
        for good in [
            "example.com",
            "Example.COM.",
            "_acme-challenge._tcp.www.example.com",
            "x.other.test",
        ] {
            assert!(re.is_match(good), "{good}");
            assert!(owner_in_zones(&zones, good).is_ok(), "{good}");
        }
        for bad in [
            "badexample.com",
            "example.org",
            "a..example.com",
            "a.*.example.com",
            "*.example.com",
            "example.com..",
            "",
            // Outside the published pattern: refused, though the name type would take
            // its IDNA form.
            "b\u{fc}cher.example.com",
        ] {
            assert!(!re.is_match(bad), "{bad}");
            assert!(owner_in_zones(&zones, bad).is_err(), "{bad}");
        }
        assert!(
            !Regex::new(&owner_pattern(&[]))
                .unwrap()
                .is_match("example.com")
        );
    }

    #[test]
    fn cidrs() {
        for good in [
            "10.0.0.0/8",
            "10.1.2.3/8",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "::/0",
            "::1/128",
            "2001:db8::/32",
            "fe80::1:2/64",
            "1:2:3:4:5:6:7:8/128",
            "1:2:3:4:5:6:7::/112",
        ] {
            assert!(cidr(good).is_ok(), "{good}");
        }
        assert_eq!(cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/08",
            "010.0.0.0/8",
            "256.0.0.0/8",
            "::ffff:10.0.0.0/104",
            "1:2:3:4:5:6:7:8::/128",
            "fe80::1%eth0/64",
            "::/129",
            " 10.0.0.0/8",
        ] {
            assert!(cidr(bad).is_err(), "{bad}");
        }
    }

    /// Found by fuzzing (`api_json`, acme-dns `/register` and `/v1/keys`): a network
    /// accepted in hexadecimal IPv4-mapped form was shown as `::ffff:1.2.3.4/128`, which
    /// the API refused when sent back.
    #[test]
    fn mapped_networks_become_ipv4_and_read_back_as_shown() {
        for (raw, shown) in [
            ("::ffff:102:304/128", "1.2.3.4/32"),
            ("::ffff:a00:0/104", "10.0.0.0/8"),
            ("::FFFF:0:0/96", "0.0.0.0/0"),
            ("::ffff:0:0/95", "::fffe:0:0/95"),
        ] {
            let net = cidr(raw).unwrap();
            assert_eq!(net.to_string(), shown, "{raw}");
            assert_eq!(cidr(&net.to_string()).unwrap(), net, "{raw}");
        }
        let nets = vec![cidr("::ffff:a00:0/104").unwrap()];
        assert!(ip_allowed(&nets, Some("10.1.2.3".parse().unwrap())));
        assert!(ip_allowed(&nets, Some("::ffff:10.1.2.3".parse().unwrap())));
        assert!(!ip_allowed(&nets, Some("11.0.0.1".parse().unwrap())));
    }

    #[test]
    fn ip_allowed_handles_mapped_addresses() {
        let nets = vec![cidr("127.0.0.0/8").unwrap()];
        assert!(ip_allowed(&nets, Some("::ffff:127.0.0.1".parse().unwrap())));
        assert!(!ip_allowed(&nets, Some("10.0.0.1".parse().unwrap())));
        assert!(!ip_allowed(&nets, None));
        assert!(ip_allowed(&[], None));
    }

    #[test]
    fn targets_and_txt() {
        assert_eq!(
            target("Client.Example.COM.", "target").unwrap(),
            "client.example.com"
        );
        assert!(target("*.example.com", "target").is_err());
        assert!(target(".", "target").is_err());
        assert!(txt_value("v=spf1 -all").is_ok());
        assert!(txt_value("caf\u{e9}").is_err());
        assert!(txt_value(&"x".repeat(MAX_TXT_LEN + 1)).is_err());
        assert!(is_acme_dns_txt(&"a".repeat(43)));
        assert!(!is_acme_dns_txt(&"a".repeat(42)));
        assert!(is_uuid("0d2f7c2e-6a7b-4c8d-9e0f-1a2b3c4d5e6f"));
        assert!(!is_uuid("0d2f7c2e6a7b4c8d9e0f1a2b3c4d5e6f"));
    }
}
