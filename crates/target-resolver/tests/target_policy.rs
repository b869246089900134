//! The target policy against the IANA special-purpose registries, the IPv6 forms that
//! carry an IPv4 address, and the cloud metadata addresses.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use target_resolver::policy::{METADATA_ADDRESSES, SPECIAL_RANGES, embedded_ipv4};
use target_resolver::{Refusal, TargetPolicy};

fn policy(nets: &[&str]) -> TargetPolicy {
    TargetPolicy::new(
        nets.iter().map(|n| n.parse().unwrap()).collect(),
        vec![1..=65535],
    )
}

/// Everything, as broad as `allow_networks` can be.
fn everything() -> TargetPolicy {
    policy(&["0.0.0.0/0", "::/0"])
}

/// The shipped default of `targets.allow_networks`.
fn default_policy() -> TargetPolicy {
    policy(&["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"])
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn table() -> Vec<(IpNet, &'static str)> {
    SPECIAL_RANGES
        .iter()
        .map(|s| (s.range.parse().unwrap(), s.name))
        .collect()
}

/// Whether an IPv4 address is plain public unicast: in no special range, not metadata.
fn plain_ipv4(v4: Ipv4Addr) -> bool {
    let v4 = IpAddr::V4(v4);
    !table().iter().any(|(n, _)| n.contains(&v4))
        && !METADATA_ADDRESSES.iter().any(|m| ip(m.addr) == v4)
}

/// An address inside `net` that no narrower table entry holds, that is no metadata
/// address, and whose embedded IPv4 address (if any) is plain public unicast, so the
/// only thing that can refuse it is `net` (or a wider entry holding `net`).
fn sample(net: IpNet) -> IpAddr {
    let candidates: Vec<IpAddr> = match net {
        IpNet::V4(n) => {
            let base = n.network().to_bits();
            vec![
                n.broadcast().into(),
                Ipv4Addr::from_bits(base | 1).into(),
                n.network().into(),
            ]
        }
        IpNet::V6(n) => {
            let base = n.network().to_bits();
            let host = !n.netmask().to_bits();
            let public = u128::from(Ipv4Addr::new(8, 8, 8, 8).to_bits());
            [
                host,
                public << 80,                // 6to4
                public,                      // NAT64
                u128::from(!0x0808_0808u32), // Teredo
                1,
                0,
            ]
            .into_iter()
            .map(|fill| IpAddr::V6(Ipv6Addr::from_bits(base | (fill & host))))
            .collect()
        }
    };
    let table = table();
    candidates
        .into_iter()
        .find(|c| {
            let narrower = table
                .iter()
                .any(|(n, _)| n.prefix_len() > net.prefix_len() && n.contains(c));
            let meta = METADATA_ADDRESSES.iter().any(|m| ip(m.addr) == *c);
            let embedded_ok = match c {
                IpAddr::V6(v6) => embedded_ipv4(*v6).is_none_or(|(v4, _)| plain_ipv4(v4)),
                IpAddr::V4(_) => true,
            };
            net.contains(c) && !narrower && !meta && embedded_ok
        })
        .unwrap_or_else(|| panic!("no usable sample address in {net}"))
}

#[test]
fn every_special_range_is_refused_under_a_broad_policy_and_allowed_explicitly() {
    let broad = everything();
    let table = table();
    assert!(
        table.len() >= 50,
        "the registries have more entries than {}",
        table.len()
    );
    for (net, name) in &table {
        let addr = sample(*net);
        // Refused, naming a table entry that holds the address (this one, or a wider one
        // listed before it).
        let holding: Vec<&str> = table
            .iter()
            .filter(|(n, _)| n.contains(&addr))
            .map(|(_, name)| *name)
            .collect();
        match broad.check(addr, 80) {
            Err(Refusal::Special { addr: a, range }) => {
                assert_eq!(a, addr);
                assert!(
                    holding.contains(&range),
                    "{net} ({name}): {addr} refused as {range}"
                );
            }
            other => panic!("{net} ({name}): {addr} under 0.0.0.0/0 and ::/0: {other:?}"),
        }
        // Listing the range itself allows it (8.8.0.0/16 is there for the public IPv4
        // address a 6to4, NAT64 or Teredo sample carries).
        let explicit = policy(&[&net.to_string(), "8.8.0.0/16"]);
        assert_eq!(
            explicit.check(addr, 80),
            Ok(addr),
            "{net} ({name}) allowed explicitly"
        );
    }
}

#[test]
fn registry_ranges_missing_before_are_refused_under_a_broad_policy() {
    let broad = everything();
    for (addr, range) in [
        ("100.64.0.1", "shared address space (carrier-grade NAT)"),
        ("198.18.0.1", "benchmarking"),
        ("192.31.196.1", "AS112-v4 anycast"),
        ("192.52.193.1", "AMT anycast"),
        ("192.88.99.1", "deprecated 6to4 relay anycast"),
        ("192.175.48.1", "AS112 direct delegation anycast"),
        ("10.1.2.3", "private-use"),
        ("172.16.0.1", "private-use"),
        ("192.168.1.1", "private-use"),
        ("2001:2::1", "IETF protocol assignments"),
        ("2001:10::1", "IETF protocol assignments"),
        ("2001:20::1", "IETF protocol assignments"),
        ("5f00::1", "segment routing (SRv6) SIDs"),
        ("fd12:3456::1", "unique-local"),
        ("100:0:0:1::1", "dummy IPv6 prefix"),
        ("2620:4f:8000::1", "AS112 direct delegation anycast"),
        ("fec0::1", "deprecated site-local"),
    ] {
        assert_eq!(
            broad.check(ip(addr), 80),
            Err(Refusal::Special {
                addr: ip(addr),
                range
            }),
            "{addr}"
        );
    }
    // The default policy lists the private ranges, so they pass there.
    let default = default_policy();
    for addr in ["10.1.2.3", "172.16.0.1", "192.168.1.1", "fd12:3456::1"] {
        assert_eq!(default.check(ip(addr), 80), Ok(ip(addr)), "{addr}");
    }
}

#[test]
fn an_embedded_ipv4_address_is_refused_as_that_ipv4_address() {
    let broad = everything();
    for (v6, v4, form) in [
        ("64:ff9b::7f00:1", "127.0.0.1", "NAT64 well-known prefix"),
        (
            "64:ff9b::a9fe:a9fe",
            "169.254.169.254",
            "NAT64 well-known prefix",
        ),
        ("64:ff9b::a00:1", "10.0.0.1", "NAT64 well-known prefix"),
        ("64:ff9b:1::7f00:1", "127.0.0.1", "local-use NAT64 prefix"),
        ("2002:a9fe:a9fe::1", "169.254.169.254", "6to4"),
        ("2002:7f00:1::", "127.0.0.1", "6to4"),
        ("2001::80ff:fffe", "127.0.0.1", "Teredo"),
    ] {
        let v6: Ipv6Addr = v6.parse().unwrap();
        let v4: Ipv4Addr = v4.parse().unwrap();
        let as_ipv4 = broad.check(v4.into(), 80).unwrap_err();
        assert_eq!(
            broad.check(v6.into(), 80),
            Err(Refusal::Embedded {
                addr: v6,
                ipv4: v4,
                form,
                reason: Box::new(as_ipv4),
            }),
            "{v6}"
        );
    }
}

#[test]
fn a_nat64_address_is_connected_to_as_given_and_its_ipv4_must_be_allowed_too() {
    let public = ip("64:ff9b::808:808");
    // The relay connects to the IPv6 address it checked, not to the IPv4 it carries.
    assert_eq!(everything().check(public, 80), Ok(public));
    // With no IPv4 network allowed, the IPv4 address it carries is outside the policy.
    assert_eq!(
        policy(&["::/0"]).check(public, 80),
        Err(Refusal::Embedded {
            addr: "64:ff9b::808:808".parse().unwrap(),
            ipv4: Ipv4Addr::new(8, 8, 8, 8),
            form: "NAT64 well-known prefix",
            reason: Box::new(Refusal::Network(ip("8.8.8.8"))),
        })
    );
    // A NAT64 prefix plus the private network behind it: only that network is reached.
    let nat64 = policy(&["64:ff9b::/96", "10.0.0.0/8"]);
    assert_eq!(
        nat64.check(ip("64:ff9b::a00:5"), 80),
        Ok(ip("64:ff9b::a00:5"))
    );
    assert!(matches!(
        nat64.check(public, 80),
        Err(Refusal::Embedded { reason, .. }) if *reason == Refusal::Network(ip("8.8.8.8"))
    ));
}

#[test]
fn the_6to4_prefix_is_judged_as_well_as_the_ipv4_it_carries() {
    let addr = ip("2002:808:808::1");
    assert_eq!(
        everything().check(addr, 80),
        Err(Refusal::Special {
            addr,
            range: "6to4"
        })
    );
    assert_eq!(
        policy(&["2002::/16", "0.0.0.0/0"]).check(addr, 80),
        Ok(addr)
    );
    // Allowing 6to4 explicitly does not allow the loopback address it may carry.
    assert!(matches!(
        policy(&["2002::/16", "0.0.0.0/0"]).check(ip("2002:7f00:1::1"), 80),
        Err(Refusal::Embedded { ipv4, .. }) if ipv4 == Ipv4Addr::LOCALHOST
    ));
}

#[test]
fn metadata_addresses_are_refused_unless_listed_exactly() {
    assert!(METADATA_ADDRESSES.len() >= 8);
    for meta in METADATA_ADDRESSES {
        let addr = ip(meta.addr);
        assert!(
            default_policy().check(addr, 80).is_err(),
            "{addr} under the default policy"
        );
        assert!(
            everything().check(addr, 80).is_err(),
            "{addr} under 0.0.0.0/0 and ::/0"
        );
        // Every special range holding it allowed explicitly: still refused, as metadata.
        let mut nets: Vec<String> = table()
            .iter()
            .filter(|(n, _)| n.contains(&addr))
            .map(|(n, _)| n.to_string())
            .collect();
        nets.extend(["0.0.0.0/0".to_owned(), "::/0".to_owned()]);
        let wide = policy(&nets.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            wide.check(addr, 80),
            Err(Refusal::Metadata {
                addr,
                service: meta.service
            }),
            "{addr}"
        );
        // Listed exactly, it passes.
        let exact = format!("{addr}/{}", if addr.is_ipv4() { 32 } else { 128 });
        assert_eq!(policy(&[&exact]).check(addr, 80), Ok(addr), "{exact}");
    }
}

#[test]
fn the_ipv6_metadata_address_is_refused_by_the_default_policy_like_its_ipv4_twin() {
    let default = default_policy();
    assert!(matches!(
        default.check(ip("fd00:ec2::254"), 80),
        Err(Refusal::Metadata { .. })
    ));
    assert!(default.check(ip("169.254.169.254"), 80).is_err());
    // The rest of fc00::/7 is still allowed.
    assert_eq!(default.check(ip("fd00:ec2::1"), 80), Ok(ip("fd00:ec2::1")));
}

#[test]
fn metadata_in_ipv4_clothing_is_refused_as_metadata() {
    let p = policy(&["169.254.0.0/16", "64:ff9b::/96"]);
    assert_eq!(
        p.check(ip("::ffff:169.254.169.254"), 80),
        Err(Refusal::Metadata {
            addr: ip("169.254.169.254"),
            service: METADATA_ADDRESSES[0].service,
        })
    );
    assert!(matches!(
        p.check(ip("64:ff9b::a9fe:a9fe"), 80),
        Err(Refusal::Embedded { reason, .. }) if matches!(*reason, Refusal::Metadata { .. })
    ));
    assert_eq!(p.check(ip("169.254.1.1"), 80), Ok(ip("169.254.1.1")));
}

#[test]
fn refusals_say_why_in_the_log_text() {
    let broad = everything();
    assert_eq!(
        broad
            .check(ip("64:ff9b::7f00:1"), 80)
            .unwrap_err()
            .to_string(),
        "64:ff9b::7f00:1 carries 127.0.0.1 (NAT64 well-known prefix): \
         127.0.0.1 is loopback and not explicitly allowed"
    );
    assert_eq!(
        policy(&["fc00::/7"])
            .check(ip("fd00:ec2::254"), 80)
            .unwrap_err()
            .to_string(),
        "fd00:ec2::254 is a cloud metadata address (AWS instance metadata (IPv6)) \
         and not allowed exactly"
    );
    assert_eq!(
        broad.check(ip("100.64.0.1"), 80).unwrap_err().to_string(),
        "100.64.0.1 is shared address space (carrier-grade NAT) and not explicitly allowed"
    );
}
