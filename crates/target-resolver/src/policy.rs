//! The target policy: which addresses and ports a challenge may be relayed to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

use ipnet::IpNet;

/// Ranges refused unless an allowed network lies inside them, with the name used in
/// refusals.
const SPECIAL_RANGES: &[(&str, &str)] = &[
    ("0.0.0.0/8", "unspecified (this network)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("100::/64", "discard-only"),
];

/// Why an address or port was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The port is outside the allowed ports.
    #[error("port {0} is not allowed")]
    Port(u16),
    /// The address is in a special range that no allowed network covers explicitly.
    #[error("{addr} is {range} and not explicitly allowed")]
    Special {
        /// The address, in canonical form.
        addr: IpAddr,
        /// What the range is.
        range: &'static str,
    },
    /// The address is outside every allowed network.
    #[error("{0} is outside the allowed networks")]
    Network(IpAddr),
}

/// Allowed networks and ports; see the crate docs for the rules.
#[derive(Clone)]
pub struct TargetPolicy {
    networks: Vec<IpNet>,
    ports: Vec<RangeInclusive<u16>>,
    special: Vec<(IpNet, &'static str)>,
}

impl fmt::Debug for TargetPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetPolicy")
            .field("networks", &self.networks)
            .field("ports", &self.ports)
            .finish()
    }
}

impl TargetPolicy {
    /// A policy allowing `networks` and `ports`.
    pub fn new(networks: Vec<IpNet>, ports: Vec<RangeInclusive<u16>>) -> Self {
        let special = SPECIAL_RANGES
            .iter()
            .map(|(net, name)| (net.parse().expect("built-in range parses"), *name))
            .collect();
        Self {
            networks,
            ports,
            special,
        }
    }

    /// Checks `addr:port`; on success returns the address to connect to, in canonical
    /// form (an IPv4-mapped or -compatible IPv6 address becomes the IPv4 address).
    pub fn check(&self, addr: IpAddr, port: u16) -> Result<IpAddr, Refusal> {
        if !self.ports.iter().any(|r| r.contains(&port)) {
            return Err(Refusal::Port(port));
        }
        let addr = canonical(addr);
        if !self.networks.iter().any(|n| n.contains(&addr)) {
            return Err(Refusal::Network(addr));
        }
        for (range, name) in &self.special {
            // "Explicitly allowed": an allowed network holding the address that itself
            // lies inside the special range.
            let explicit = || {
                self.networks
                    .iter()
                    .any(|n| n.contains(&addr) && range.contains(n))
            };
            if range.contains(&addr) && !explicit() {
                return Err(Refusal::Special { addr, range: name });
            }
        }
        Ok(addr)
    }
}

/// Maps IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`, deprecated)
/// IPv6 addresses to the IPv4 address they carry; `::` and `::1` stay IPv6.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let compatible = s[..6].iter().all(|x| *x == 0)
                && v6 != Ipv6Addr::UNSPECIFIED
                && v6 != Ipv6Addr::LOCALHOST;
            if compatible {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            addr
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(nets: &[&str], ports: &[RangeInclusive<u16>]) -> TargetPolicy {
        TargetPolicy::new(
            nets.iter().map(|n| n.parse().unwrap()).collect(),
            ports.to_vec(),
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn everything_allowed_still_refuses_special_ranges() {
        let p = policy(&["0.0.0.0/0", "::/0"], &[1..=65535]);
        assert_eq!(p.check(ip("203.0.114.9"), 80), Ok(ip("203.0.114.9")));
        for (addr, range) in [
            ("127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified (this network)"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("192.0.2.10", "documentation"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::5", "documentation"),
        ] {
            let refusal = p.check(ip(addr), 80).unwrap_err();
            assert!(
                matches!(refusal, Refusal::Special { range: r, .. } if r == range),
                "{addr}: {refusal:?}"
            );
        }
    }

    #[test]
    fn mapped_and_compatible_forms_are_checked_as_ipv4() {
        let p = policy(&["0.0.0.0/0", "::/0"], &[1..=65535]);
        for addr in [
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
        ] {
            assert!(
                matches!(p.check(ip(addr), 80), Err(Refusal::Special { .. })),
                "{addr}"
            );
        }
        assert_eq!(p.check(ip("::ffff:8.8.8.8"), 80), Ok(ip("8.8.8.8")));
    }

    #[test]
    fn loopback_allowed_only_explicitly() {
        let p = policy(&["127.0.0.0/8"], &[8080..=8080]);
        assert_eq!(p.check(ip("127.0.0.1"), 8080), Ok(ip("127.0.0.1")));
        assert_eq!(p.check(ip("::ffff:127.0.0.1"), 8080), Ok(ip("127.0.0.1")));
        assert_eq!(
            p.check(ip("10.0.0.1"), 8080),
            Err(Refusal::Network(ip("10.0.0.1")))
        );
        assert_eq!(p.check(ip("127.0.0.1"), 8081), Err(Refusal::Port(8081)));
        // 127.0.0.0/8 does not make 0.0.0.0 (which also reaches local listeners) allowed.
        assert!(p.check(ip("0.0.0.0"), 8080).is_err());
    }

    #[test]
    fn private_networks_by_default_style_policy() {
        let p = policy(&["10.0.0.0/8", "fc00::/7"], &[80..=80, 1024..=65535]);
        assert!(p.check(ip("10.1.2.3"), 8080).is_ok());
        assert!(p.check(ip("fd00::1"), 80).is_ok());
        assert_eq!(p.check(ip("10.1.2.3"), 22), Err(Refusal::Port(22)));
        assert_eq!(
            p.check(ip("8.8.8.8"), 80),
            Err(Refusal::Network(ip("8.8.8.8")))
        );
    }
}
