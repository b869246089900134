//! Who the client is behind a reverse proxy: `X-Forwarded-For` is believed only when the
//! TCP peer is a trusted proxy, and then the client is the right-most entry that is not
//! itself a trusted proxy (entries further left are the client's own claims).

use std::net::IpAddr;

use hyper::HeaderMap;
use ipnet::IpNet;

/// Whether `ip` (an IPv4-mapped address counts as its IPv4 address) is in `trusted`.
pub fn is_trusted(trusted: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|n| n.contains(&ip))
}

/// The client behind trusted proxies per `headers`' `X-Forwarded-For`, or `None` when
/// the header is absent or holds anything but addresses.
pub fn forwarded_client(headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let entries: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Option<_>>()?;
    entries
        .iter()
        .rev()
        .find(|ip| !is_trusted(trusted, **ip))
        .or(entries.first())
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 5.6.7.8, 10.0.0.2"),
        );
        assert_eq!(
            forwarded_client(&h, &trusted),
            Some("5.6.7.8".parse().unwrap())
        );
        let mut bad = HeaderMap::new();
        bad.append("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(forwarded_client(&bad, &trusted), None);
        assert_eq!(forwarded_client(&HeaderMap::new(), &trusted), None);
        assert!(is_trusted(&trusted, "::ffff:10.1.2.3".parse().unwrap()));
    }
}
