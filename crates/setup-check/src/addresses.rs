//! Step `addresses`: the domain's A and AAAA records, as a CA finds them, and whether
//! they lead to the relay (port 80) and the router (port 443).

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{RData, RecordType};
use ipnet::IpNet;
use target_resolver::policy::SPECIAL_RANGES;

use crate::Context;
use crate::dns::{Chain, End};
use crate::report::{Finding, Step, StepId};

/// Runs the step; returns the domain's addresses too (IPv6 first), for the `ca` step.
pub(crate) async fn check(ctx: &Context) -> (Step, Vec<IpAddr>) {
    let domain = ctx.domain.as_str();
    let (aaaa, a) = tokio::join!(
        ctx.dns.follow(domain, RecordType::AAAA),
        ctx.dns.follow(domain, RecordType::A)
    );
    let mut findings = Vec::new();
    let mut found: Vec<(IpAddr, u32)> = Vec::new();
    for chain in [&aaaa, &a] {
        match &chain.end {
            End::Found(records) => {
                if !chain.hops.is_empty() {
                    findings.push(Finding::ok(format!(
                        "{} is an alias: {}",
                        domain,
                        chain.describe()
                    )));
                }
                found.extend(records.iter().filter_map(|r| match &r.data {
                    RData::A(a) => Some((IpAddr::V4(a.0), r.ttl)),
                    RData::AAAA(a) => Some((IpAddr::V6(a.0), r.ttl)),
                    _ => None,
                }));
            }
            End::NoRecord { .. } => {}
            End::Loop => findings.push(Finding::error(
                format!("the CNAME chain of {domain} loops: {}", chain.describe()),
                format!("Break the CNAME loop so that {domain} ends at a name with an A record."),
            )),
            End::TooLong => findings.push(Finding::error(
                format!(
                    "the CNAME chain of {domain} is too long: {}",
                    chain.describe()
                ),
                format!("Point {domain} at its address in fewer CNAME hops."),
            )),
            End::Failed(reason) => findings.push(lookup_failed(chain, reason)),
        }
    }
    if found.is_empty() && findings.iter().all(|f| f.fix.is_none()) {
        let nx = matches!(a.end, End::NoRecord { nxdomain: true });
        findings.push(Finding::error(
            format!(
                "{domain} has no A or AAAA record{}: a CA cannot reach it",
                if nx {
                    " (the name does not exist, NXDOMAIN)"
                } else {
                    ""
                }
            ),
            format!(
                "Add an A record (and an AAAA record if the relay has IPv6) for {domain} \
                 pointing at the relay's public address."
            ),
        ));
    }
    let relay = relay_listeners(ctx);
    let router = router_listeners(ctx);
    for (addr, ttl) in &found {
        let kind = if addr.is_ipv4() { "A" } else { "AAAA" };
        if let Some(range) = reserved(*addr, &ctx.input.allow_restricted) {
            findings.push(Finding::error(
                format!(
                    "{domain} {kind} {addr} (TTL {ttl}) is {range}: a CA does not connect there"
                ),
                format!("Point {domain}'s {kind} record at the relay's public address."),
            ));
            continue;
        }
        findings.push(Finding::ok(format!("{domain} {kind} {addr} (TTL {ttl})")));
        if let Some(listeners) = &relay {
            findings.push(leads_to(domain, kind, *addr, listeners, "relay", 80));
        }
        if let Some(listeners) = &router {
            findings.push(leads_to(domain, kind, *addr, listeners, "router", 443));
        }
    }
    if relay.is_none() {
        findings.push(Finding::skipped(
            "whether the addresses lead to the relay was not checked: no configuration and no relay address given",
        ));
    }
    let step = Step::new(StepId::Addresses, format!("A/AAAA of {domain}"), findings);
    (step, found.into_iter().map(|(a, _)| a).collect())
}

/// A failed lookup as a finding.
pub(crate) fn lookup_failed(chain: &Chain, reason: &str) -> Finding {
    Finding::error(
        format!("the lookup of {} failed: {reason}", chain.describe()),
        format!(
            "Make the name servers of {} answer (a CA treats a failed lookup as a failed validation).",
            chain.last_name()
        ),
    )
}

/// The relay's listen addresses: the override, else the configuration's.
fn relay_listeners(ctx: &Context) -> Option<Vec<SocketAddr>> {
    match (ctx.input.relay_addr, &ctx.config) {
        (Some(addr), _) => Some(vec![addr]),
        (None, Some(config)) => Some(config.relay.listen.clone()),
        (None, None) => None,
    }
}

/// The router's listen addresses: the override, else the configuration's `[router]`.
fn router_listeners(ctx: &Context) -> Option<Vec<SocketAddr>> {
    match (ctx.input.router_addr, &ctx.config) {
        (Some(addr), _) => Some(vec![addr]),
        (None, Some(config)) => config.router.as_ref().map(|r| r.listen.clone()),
        (None, None) => None,
    }
}

/// The special-purpose range `addr` lies in, unless `allowed` covers it.
pub(crate) fn reserved(addr: IpAddr, allowed: &[IpNet]) -> Option<&'static str> {
    let addr = target_resolver::policy::canonical(addr);
    if allowed.iter().any(|n| n.contains(&addr)) {
        return None;
    }
    SPECIAL_RANGES.iter().find_map(|s| {
        let range: IpNet = s.range.parse().ok()?;
        range.contains(&addr).then_some(s.name)
    })
}

/// Whether `addr` is configured on an interface of this host: binding a socket to it
/// works only then (nothing is sent).
fn is_local(addr: IpAddr) -> bool {
    std::net::TcpListener::bind((addr, 0)).is_ok()
}

/// Whether traffic for `addr` reaches one of `listeners`.
fn leads_to(
    domain: &str,
    kind: &str,
    addr: IpAddr,
    listeners: &[SocketAddr],
    what: &str,
    port: u16,
) -> Finding {
    let listed = listeners
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(l) = listeners.iter().find(|l| l.ip() == addr) {
        return Finding::ok(format!("{addr} leads to the {what}: it listens on {l}"));
    }
    let wildcard = listeners
        .iter()
        .find(|l| l.ip().is_unspecified() && (l.is_ipv6() || addr.is_ipv4()));
    if let Some(l) = wildcard {
        let l_port = l.port();
        if is_local(addr) {
            return Finding::ok(format!(
                "{addr} is an address of this host, and the {what} listens on every address ({l})"
            ));
        }
        return Finding::warning(
            format!(
                "{addr} is not an address of this host; the {what} listens on every address \
                 ({l}), so whether {addr} leads to it cannot be told from here"
            ),
            format!(
                "Verify that port {port} of {addr} reaches port {l_port} of this host (a NAT \
                 or load balancer must forward it), or point {domain}'s {kind} record at this host."
            ),
        );
    }
    let private_listener = listeners.iter().any(|l| is_private(l.ip()));
    if private_listener && !is_private(addr) {
        return Finding::warning(
            format!(
                "{addr} is not where the {what} listens ({listed}); the {what} is on a private \
                 address, so a NAT may forward {addr} to it"
            ),
            format!(
                "Verify that port {port} of {addr} is forwarded to {listed}, or point {domain}'s \
                 {kind} record at the {what}'s public address."
            ),
        );
    }
    Finding::error(
        format!("{domain} {kind} {addr} does not lead to the {what}: it listens on {listed}"),
        format!(
            "Point {domain}'s {kind} record at the {what}'s address ({listed}), or make the \
             {what} listen on {addr} ([{what}] listen)."
        ),
    )
}

/// RFC 1918 and IPv6 unique local addresses.
fn is_private(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}
