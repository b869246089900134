//! Who a client is, for caps and rate limits: its address, with IPv6 addresses
//! aggregated to a prefix (a /64 by default), because one IPv6 subscriber holds at least
//! a /64 and could otherwise claim 2^64 separate budgets.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How many leading bits of a client address identify the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientPrefixes {
    /// Bits of an IPv4 address kept (32: every address is its own client).
    pub ipv4: u8,
    /// Bits of an IPv6 address kept (64: one client per /64).
    pub ipv6: u8,
}

impl Default for ClientPrefixes {
    fn default() -> Self {
        Self { ipv4: 32, ipv6: 64 }
    }
}

/// A client address reduced to its prefix: the key of per-client budgets.
///
/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket reports for
/// an IPv4 peer) is the IPv4 client it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of `addr` under `prefixes` (prefix lengths above the address size are
    /// treated as the full address).
    pub fn new(addr: IpAddr, prefixes: ClientPrefixes) -> Self {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            IpAddr::V4(_) => addr,
        };
        Self(match addr {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4) & mask32(prefixes.ipv4);
                IpAddr::V4(Ipv4Addr::from(bits))
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & mask128(prefixes.ipv6);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        })
    }

    /// The first address of the client's prefix.
    pub fn network(self) -> IpAddr {
        self.0
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn mask32(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

fn mask128(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p if p >= 128 => u128::MAX,
        p => u128::MAX << (128 - u32::from(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(addr: &str, v4: u8, v6: u8) -> String {
        let prefixes = ClientPrefixes { ipv4: v4, ipv6: v6 };
        ClientKey::new(addr.parse().unwrap(), prefixes).to_string()
    }

    #[test]
    fn ipv6_addresses_in_one_prefix_are_one_client() {
        assert_eq!(key("2001:db8:1:2:aaaa::1", 32, 64), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:ffff::9", 32, 64), "2001:db8:1:2::");
        assert_ne!(
            key("2001:db8:1:3::1", 32, 64),
            key("2001:db8:1:2::1", 32, 64)
        );
        assert_eq!(key("2001:db8:1:2::1", 32, 48), "2001:db8:1::");
        assert_eq!(key("2001:db8::1", 32, 128), "2001:db8::1");
        assert_eq!(key("2001:db8::1", 32, 0), "::");
    }

    #[test]
    fn ipv4_is_per_address_by_default_and_can_be_aggregated() {
        assert_eq!(key("192.0.2.7", 32, 64), "192.0.2.7");
        assert_eq!(key("192.0.2.7", 24, 64), "192.0.2.0");
        assert_eq!(key("192.0.2.7", 40, 64), "192.0.2.7");
    }

    #[test]
    fn a_mapped_address_is_its_ipv4_client() {
        assert_eq!(key("::ffff:192.0.2.7", 32, 64), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7", 24, 64), "192.0.2.0");
    }
}
