//! The target policy: which addresses and ports a challenge may be relayed to.
//!
//! An address and port pass [`TargetPolicy::check`] only when all of these hold:
//!
//! 1. the port is in an allowed port range;
//! 2. the address (in [`canonical`] form) is in an allowed network;
//! 3. if it is an IPv6 address that carries an IPv4 address ([`embedded_ipv4`]: the
//!    NAT64 prefixes, 6to4, Teredo), that IPv4 address passes rules 2 to 5 as well;
//! 4. for every range of [`SPECIAL_RANGES`] holding the address, an allowed network
//!    holding the address lies inside that range (the range is allowed *explicitly*:
//!    `0.0.0.0/0` does not allow `127.0.0.1`, `127.0.0.0/8` does);
//! 5. if it is one of [`METADATA_ADDRESSES`], exactly that address is allowed (a `/32`
//!    or `/128` network equal to it): allowing `169.254.0.0/16` or `fc00::/7` does not
//!    allow a cloud metadata endpoint.
//!
//! The address returned is the one to connect to: the IPv4 address for an IPv4-mapped
//! or -compatible IPv6 address, the IPv6 address itself for every other form (a NAT64
//! or 6to4 address is connected to as given; the IPv4 address it carries is only
//! judged).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

use ipnet::IpNet;

/// One range that is refused unless allowed explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialRange {
    /// The range, in CIDR notation.
    pub range: &'static str,
    /// What it is; this is the name a [`Refusal::Special`] carries.
    pub name: &'static str,
    /// Where it is defined (an RFC, with the IANA registry's "Globally Reachable" value
    /// when the range is in the IANA special-purpose registries).
    pub source: &'static str,
}

const fn special(range: &'static str, name: &'static str, source: &'static str) -> SpecialRange {
    SpecialRange {
        range,
        name,
        source,
    }
}

/// The ranges refused unless an allowed network lies inside them.
///
/// Every entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890,
/// RFC 8190 and later assignments) whose "Globally Reachable" value is False or N/A,
/// plus: the multicast ranges and the deprecated IPv6 site-local range (not in those
/// registries, never a unicast ACME client); the globally reachable anycast service
/// blocks inside a refused block (`192.0.0.9/32`, `2001:1::1/128`, ...) that the refusal
/// of their parent covers anyway; and the globally reachable anycast service blocks
/// AS112 and AMT, where no ACME client lives. `64:ff9b::/96` (NAT64, globally
/// reachable) is not here: its addresses are judged by the IPv4 address they carry.
/// The IPv4-mapped `::ffff:0:0/96` and IPv4-compatible forms are not here either: they
/// are converted to IPv4 first ([`canonical`]).
///
/// Entries are in address order, a block before the blocks inside it; a refusal names
/// the first entry that refuses.
#[rustfmt::skip]
pub const SPECIAL_RANGES: &[SpecialRange] = &[
    // IPv4 Special-Purpose Address Registry.
    special("0.0.0.0/8", "unspecified (this network)", "RFC 791, RFC 1122; not globally reachable"),
    special("0.0.0.0/32", "this host on this network", "RFC 1122; not globally reachable"),
    special("10.0.0.0/8", "private-use", "RFC 1918; not globally reachable"),
    special("100.64.0.0/10", "shared address space (carrier-grade NAT)", "RFC 6598; not globally reachable"),
    special("127.0.0.0/8", "loopback", "RFC 1122; not globally reachable"),
    special("169.254.0.0/16", "link-local", "RFC 3927; not globally reachable"),
    special("172.16.0.0/12", "private-use", "RFC 1918; not globally reachable"),
    special("192.0.0.0/24", "IETF protocol assignments", "RFC 6890; not globally reachable"),
    special("192.0.0.0/29", "IPv4 service continuity prefix", "RFC 7335; not globally reachable"),
    special("192.0.0.8/32", "IPv4 dummy address", "RFC 7600; not globally reachable"),
    special("192.0.0.9/32", "Port Control Protocol anycast", "RFC 7723; globally reachable, inside 192.0.0.0/24"),
    special("192.0.0.10/32", "TURN anycast", "RFC 8155; globally reachable, inside 192.0.0.0/24"),
    special("192.0.0.170/32", "NAT64/DNS64 discovery", "RFC 8880, RFC 7050; not globally reachable"),
    special("192.0.0.171/32", "NAT64/DNS64 discovery", "RFC 8880, RFC 7050; not globally reachable"),
    special("192.0.2.0/24", "documentation", "RFC 5737 (TEST-NET-1); not globally reachable"),
    special("192.31.196.0/24", "AS112-v4 anycast", "RFC 7535; globally reachable, refused as an anycast service"),
    special("192.52.193.0/24", "AMT anycast", "RFC 7450; globally reachable, refused as an anycast service"),
    special("192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526; N/A"),
    special("192.168.0.0/16", "private-use", "RFC 1918; not globally reachable"),
    special("192.175.48.0/24", "AS112 direct delegation anycast", "RFC 7534; globally reachable, refused as an anycast service"),
    special("198.18.0.0/15", "benchmarking", "RFC 2544; not globally reachable"),
    special("198.51.100.0/24", "documentation", "RFC 5737 (TEST-NET-2); not globally reachable"),
    special("203.0.113.0/24", "documentation", "RFC 5737 (TEST-NET-3); not globally reachable"),
    special("224.0.0.0/4", "multicast", "RFC 5771 (not a unicast destination)"),
    special("240.0.0.0/4", "reserved", "RFC 1112; not globally reachable"),
    special("255.255.255.255/32", "limited broadcast", "RFC 919, RFC 8190; not globally reachable"),
    // IPv6 Special-Purpose Address Registry.
    special("::/128", "unspecified", "RFC 4291; not globally reachable"),
    special("::1/128", "loopback", "RFC 4291; not globally reachable"),
    special("64:ff9b:1::/48", "local-use IPv4/IPv6 translation", "RFC 8215; not globally reachable"),
    special("100::/64", "discard-only", "RFC 6666; not globally reachable"),
    special("100:0:0:1::/64", "dummy IPv6 prefix", "RFC 9780; not globally reachable"),
    special("2001::/23", "IETF protocol assignments", "RFC 2928; not globally reachable"),
    special("2001::/32", "Teredo", "RFC 4380, RFC 8190; N/A"),
    special("2001:1::1/128", "Port Control Protocol anycast", "RFC 7723; globally reachable, inside 2001::/23"),
    special("2001:1::2/128", "TURN anycast", "RFC 8155; globally reachable, inside 2001::/23"),
    special("2001:1::3/128", "DNS-SD SRP anycast", "RFC 9665; globally reachable, inside 2001::/23"),
    special("2001:2::/48", "benchmarking", "RFC 5180; not globally reachable"),
    special("2001:3::/32", "AMT", "RFC 7450; globally reachable, inside 2001::/23"),
    special("2001:4:112::/48", "AS112-v6", "RFC 7535; globally reachable, inside 2001::/23"),
    special("2001:10::/28", "deprecated ORCHID", "RFC 4843; N/A"),
    special("2001:20::/28", "ORCHIDv2", "RFC 7343; globally reachable, inside 2001::/23"),
    special("2001:30::/28", "drone remote ID entity tags", "RFC 9374; globally reachable, inside 2001::/23"),
    special("2001:db8::/32", "documentation", "RFC 3849; not globally reachable"),
    special("2002::/16", "6to4", "RFC 3056; N/A"),
    special("2620:4f:8000::/48", "AS112 direct delegation anycast", "RFC 7534; globally reachable, refused as an anycast service"),
    special("3fff::/20", "documentation", "RFC 9637; not globally reachable"),
    special("5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602; not globally reachable"),
    special("fc00::/7", "unique-local", "RFC 4193, RFC 8190; not globally reachable"),
    special("fe80::/10", "link-local", "RFC 4291; not globally reachable"),
    special("fec0::/10", "deprecated site-local", "RFC 3879 (not a unicast destination)"),
    special("ff00::/8", "multicast", "RFC 4291 (not a unicast destination)"),
];

/// A well-known cloud instance-metadata (or platform service) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataAddress {
    /// The address.
    pub addr: &'static str,
    /// The service behind it; this is what a [`Refusal::Metadata`] carries.
    pub service: &'static str,
}

const fn metadata(addr: &'static str, service: &'static str) -> MetadataAddress {
    MetadataAddress { addr, service }
}

/// Addresses refused unless allowed exactly (`addr/32` or `addr/128` in the allowed
/// networks), whatever wider network holds them. Most are also in a special range; two
/// are not (`100.100.100.200` is in the shared address space, refused anyway;
/// `168.63.129.16` is a public address), and the IPv6 ones are inside `fc00::/7`, which
/// the default policy allows.
#[rustfmt::skip]
pub const METADATA_ADDRESSES: &[MetadataAddress] = &[
    metadata("169.254.169.254", "instance metadata (AWS, GCP, Azure, Oracle, OpenStack and others)"),
    metadata("169.254.169.253", "AWS VPC DNS resolver"),
    metadata("169.254.170.2", "AWS ECS task metadata and credentials"),
    metadata("169.254.170.23", "AWS EKS Pod Identity credentials"),
    metadata("100.100.100.200", "Alibaba Cloud instance metadata"),
    metadata("168.63.129.16", "Azure WireServer"),
    metadata("192.0.0.192", "Oracle Cloud Classic instance metadata"),
    metadata("fd00:ec2::254", "AWS instance metadata (IPv6)"),
    metadata("fd00:ec2::253", "AWS VPC DNS resolver (IPv6)"),
    metadata("fd00:ec2::23", "AWS EKS Pod Identity credentials (IPv6)"),
    metadata("fd20:ce::254", "Google Compute Engine metadata (IPv6)"),
];

/// The IPv6 forms that carry an IPv4 address, as (prefix, name, where the IPv4 is).
/// The IPv4-mapped and -compatible forms are not here: [`canonical`] converts them.
///
/// - `64:ff9b::/96` (RFC 6052) and `64:ff9b:1::/48` (RFC 8215): the IPv4 address in the
///   last 32 bits. For the local-use prefix this is the `/96` layout; an operator
///   using a shorter prefix from it places the IPv4 address elsewhere (RFC 6052
///   section 2.2), and should allow only the `/96` it uses.
/// - `2002::/16` (6to4, RFC 3056): the IPv4 address in bits 16 to 48.
/// - `2001::/32` (Teredo, RFC 4380): the client's IPv4 address, inverted, in the last
///   32 bits.
pub fn embedded_ipv4(addr: Ipv6Addr) -> Option<(Ipv4Addr, &'static str)> {
    let bits = addr.to_bits();
    let s = addr.segments();
    let last32 = (bits & 0xffff_ffff) as u32;
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        Some((Ipv4Addr::from_bits(last32), "NAT64 well-known prefix"))
    } else if s[..3] == [0x64, 0xff9b, 1] {
        Some((Ipv4Addr::from_bits(last32), "local-use NAT64 prefix"))
    } else if s[0] == 0x2002 {
        let v4 = (u32::from(s[1]) << 16) | u32::from(s[2]);
        Some((Ipv4Addr::from_bits(v4), "6to4"))
    } else if s[..2] == [0x2001, 0] {
        Some((Ipv4Addr::from_bits(!last32), "Teredo"))
    } else {
        None
    }
}

/// Why an address or port was refused. The text is for logs: it says which rule
/// refused and why.
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
        /// What the range is ([`SpecialRange::name`]).
        range: &'static str,
    },
    /// The address is a cloud metadata address and not allowed exactly.
    #[error("{addr} is a cloud metadata address ({service}) and not allowed exactly")]
    Metadata {
        /// The address.
        addr: IpAddr,
        /// What answers there ([`MetadataAddress::service`]).
        service: &'static str,
    },
    /// The address is an IPv6 form carrying an IPv4 address, and that IPv4 address is
    /// refused.
    #[error("{addr} carries {ipv4} ({form}): {reason}")]
    Embedded {
        /// The IPv6 address.
        addr: Ipv6Addr,
        /// The IPv4 address it carries.
        ipv4: Ipv4Addr,
        /// Which form carries it (see [`embedded_ipv4`]).
        form: &'static str,
        /// Why the IPv4 address is refused.
        reason: Box<Refusal>,
    },
    /// The address is outside every allowed network.
    #[error("{0} is outside the allowed networks")]
    Network(IpAddr),
}

/// Allowed networks and ports; see the module docs for the rules.
#[derive(Clone)]
pub struct TargetPolicy {
    networks: Vec<IpNet>,
    ports: Vec<RangeInclusive<u16>>,
    special: Vec<(IpNet, &'static str)>,
    metadata: Vec<(IpAddr, &'static str)>,
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
            .map(|s| (s.range.parse().expect("built-in range parses"), s.name))
            .collect();
        let metadata = METADATA_ADDRESSES
            .iter()
            .map(|m| (m.addr.parse().expect("built-in address parses"), m.service))
            .collect();
        Self {
            networks,
            ports,
            special,
            metadata,
        }
    }

    /// Checks `addr:port`; on success returns the address to connect to, in canonical
    /// form (an IPv4-mapped or -compatible IPv6 address becomes the IPv4 address; every
    /// other IPv6 address, a NAT64 or 6to4 one included, stays as given).
    pub fn check(&self, addr: IpAddr, port: u16) -> Result<IpAddr, Refusal> {
        if !self.ports.iter().any(|r| r.contains(&port)) {
            return Err(Refusal::Port(port));
        }
        let addr = canonical(addr);
        self.judge(addr)?;
        Ok(addr)
    }

    /// Rules 2 to 5 of the module docs for a canonical address.
    fn judge(&self, addr: IpAddr) -> Result<(), Refusal> {
        if !self.networks.iter().any(|n| n.contains(&addr)) {
            return Err(Refusal::Network(addr));
        }
        if let IpAddr::V6(v6) = addr
            && let Some((ipv4, form)) = embedded_ipv4(v6)
        {
            // An IPv4 address has no embedded form, so this recurses once at most.
            self.judge(IpAddr::V4(ipv4))
                .map_err(|reason| Refusal::Embedded {
                    addr: v6,
                    ipv4,
                    form,
                    reason: Box::new(reason),
                })?;
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
        if let Some((_, service)) = self.metadata.iter().find(|(m, _)| *m == addr) {
            let exact = self
                .networks
                .iter()
                .any(|n| n.prefix_len() == n.max_prefix_len() && n.addr() == addr);
            if !exact {
                return Err(Refusal::Metadata { addr, service });
            }
        }
        Ok(())
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
    fn embedded_ipv4_reads_each_form_from_its_place() {
        let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let v4 = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        for (addr, want, form) in [
            ("64:ff9b::c000:221", "192.0.2.33", "NAT64 well-known prefix"),
            (
                "64:ff9b:1:abcd::c000:221",
                "192.0.2.33",
                "local-use NAT64 prefix",
            ),
            ("2002:c000:221:1::5", "192.0.2.33", "6to4"),
            (
                "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                "192.0.2.45",
                "Teredo",
            ),
        ] {
            assert_eq!(embedded_ipv4(v6(addr)), Some((v4(want), form)), "{addr}");
        }
        for addr in ["64:ff9b:0:0:1::c000:221", "2001:1::1", "2003::1", "fd00::1"] {
            assert_eq!(embedded_ipv4(v6(addr)), None, "{addr}");
        }
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
