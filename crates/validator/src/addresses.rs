//! The addresses of a host as Boulder's `getAddrs` finds them: A and AAAA asked together,
//! reserved addresses dropped (unless a lab allowed their block), IPv6 first.

use std::net::IpAddr;

use ipnet::IpNet;
use target_resolver::{Refusal, TargetPolicy, TargetResolver};

use crate::problem::Problem;

/// Which addresses may be contacted: every public one, and the reserved blocks a lab
/// allowed. The reserved blocks are `target_resolver`'s table of the IANA special-purpose
/// registries, the same list Boulder's `iana.IsReservedAddr` follows.
#[derive(Debug, Clone)]
pub(crate) struct AddressRules {
    policy: TargetPolicy,
}

impl AddressRules {
    pub(crate) fn new(allow_restricted: &[IpNet]) -> Self {
        let mut networks = vec![
            IpNet::V4(ipnet::Ipv4Net::default()),
            IpNet::V6(ipnet::Ipv6Net::default()),
        ];
        networks.extend_from_slice(allow_restricted);
        Self {
            policy: TargetPolicy::new(networks, vec![0..=u16::MAX]),
        }
    }

    /// `Err` names the reserved block, in Boulder's words.
    pub(crate) fn check(&self, addr: IpAddr) -> Result<(), String> {
        match self.policy.check(addr, 1) {
            Ok(_) => Ok(()),
            Err(Refusal::Special { range, .. }) => Err(format!(
                "IP address is in a reserved address block: {range}"
            )),
            Err(Refusal::Metadata { service, .. }) => Err(format!(
                "IP address is in a reserved address block: {service}"
            )),
            Err(other) => Err(format!(
                "IP address is in a reserved address block: {other}"
            )),
        }
    }
}

/// The usable addresses of `host`, IPv6 first; a DNS problem when there are none.
pub(crate) async fn lookup(
    resolver: &TargetResolver,
    rules: &AddressRules,
    host: &str,
) -> Result<Vec<IpAddr>, Problem> {
    let found = resolver
        .addresses(host)
        .await
        .map_err(|e| Problem::dns(format!("DNS problem: {e}")))?;
    let usable: Vec<IpAddr> = found.iter().filter(|a| rules.check(*a).is_ok()).collect();
    if usable.is_empty() {
        return Err(Problem::dns(format!(
            "no valid A records found for {host}; no valid AAAA records found for {host}"
        )));
    }
    Ok(usable)
}

/// The first IPv6 and the first IPv4 address: the one Boulder tries and its fallback.
pub(crate) fn first_of_each(addrs: &[IpAddr]) -> (Option<IpAddr>, Option<IpAddr>) {
    (
        addrs.iter().copied().find(IpAddr::is_ipv6),
        addrs.iter().copied().find(IpAddr::is_ipv4),
    )
}
