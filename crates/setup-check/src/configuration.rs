//! Step `configuration`: what acme-srv's configuration decides for this domain: is it
//! on `[challenge] allow_domains`, and may each target address be connected to under
//! `[targets]` (the relay's own `TargetPolicy::check`)?

use std::net::IpAddr;

use hickory_proto::rr::{RData, RecordType};
use srv_scheme::Challenge;
use target_resolver::Refusal;

use crate::Context;
use crate::dns::End;
use crate::report::{Finding, Status, Step, StepId};
use crate::srv_records::SrvFacts;

/// The relay and the router try at most this many targets, and addresses per target.
const MAX_TARGETS: usize = 8;
const MAX_ADDRESSES_PER_TARGET: usize = 4;

/// One target and its addresses, each with the policy's verdict.
#[derive(Debug, Clone)]
pub(crate) struct TargetPlan {
    /// Which challenge it serves.
    pub(crate) challenge: Challenge,
    /// The SRV target host (no trailing dot).
    pub(crate) host: String,
    /// The SRV port.
    pub(crate) port: u16,
    /// The addresses in the order they are tried (IPv6 first), with the verdict: the
    /// address to connect to, or why it is refused.
    pub(crate) addresses: Vec<(IpAddr, Result<IpAddr, Refusal>)>,
}

/// Runs the step; returns the targets for the `targets-*` steps.
pub(crate) async fn check(ctx: &Context, facts: &[&SrvFacts]) -> (Step, Vec<TargetPlan>) {
    let domain = &ctx.domain;
    let mut findings = Vec::new();
    match &ctx.config {
        None => findings.push(Finding::warning(
            "no configuration given: whether acme-srv relays this domain was not checked, and the targets are judged by the default [targets] policy",
            "Pass --config with the file acme-srv runs with.",
        )),
        Some(config) => {
            if srv_scheme::domain::is_allowed(&config.challenge.allow_domains, domain) {
                let pattern = config
                    .challenge
                    .allow_domains
                    .iter()
                    .find(|p| p.matches(domain))
                    .map(ToString::to_string)
                    .unwrap_or_default();
                findings.push(Finding::ok(format!(
                    "{domain} is allowed by [challenge] allow_domains (\"{pattern}\")"
                )));
            } else {
                let parent = domain
                    .parent()
                    .map_or_else(|| domain.to_string(), |p| format!("*.{p}"));
                findings.push(Finding::error(
                    format!(
                        "{domain} is not on [challenge] allow_domains: the relay answers the CA 404 and the router sends validations to the backend, without looking at DNS"
                    ),
                    format!(
                        "Add \"{domain}\" (or \"{parent}\") to allow_domains in [challenge] and reload acme-srv (SIGHUP)."
                    ),
                ));
            }
        }
    }
    let policy_text = format!(
        "[targets] allow_networks = [{}], allow_ports = [{}]",
        ctx.effective
            .targets
            .allow_networks
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
        ctx.effective
            .targets
            .allow_ports
            .iter()
            .map(|p| if p.first == p.last {
                format!("\"{}\"", p.first)
            } else {
                format!("\"{}-{}\"", p.first, p.last)
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut plans = Vec::new();
    for facts in facts.iter().filter(|f| f.in_use) {
        let mut allowed_any = false;
        let mut challenge_findings = Vec::new();
        for record in facts.targets.iter().take(MAX_TARGETS) {
            let host = record.target.trim_end_matches('.').to_owned();
            let addresses = target_addresses(ctx, &host, &mut challenge_findings).await;
            let mut plan = TargetPlan {
                challenge: facts.challenge,
                host: host.clone(),
                port: record.port,
                addresses: Vec::new(),
            };
            for addr in addresses.into_iter().take(MAX_ADDRESSES_PER_TARGET) {
                let verdict = ctx.policy.check(addr, record.port);
                match &verdict {
                    Ok(_) => {
                        allowed_any = true;
                        challenge_findings.push(Finding::ok(format!(
                            "{} target {host}:{} → {addr}: allowed by [targets]",
                            facts.challenge, record.port
                        )));
                    }
                    Err(refusal) => challenge_findings.push(Finding::error(
                        format!(
                            "{} target {host}:{} → {addr}: refused, {refusal}",
                            facts.challenge, record.port
                        ),
                        refusal_fix(refusal, &host, record.port),
                    )),
                }
                plan.addresses.push((addr, verdict));
            }
            plans.push(plan);
        }
        if facts.targets.len() > MAX_TARGETS {
            challenge_findings.push(Finding::warning(
                format!(
                    "{} targets: acme-srv tries {MAX_TARGETS} at most per validation",
                    facts.targets.len()
                ),
                format!(
                    "Publish at most {MAX_TARGETS} targets for {}.",
                    facts.challenge
                ),
            ));
        }
        // With one allowed address left, a refused or missing one only costs a failover.
        if allowed_any {
            for f in &mut challenge_findings {
                if f.status == Status::Error {
                    f.status = Status::Warning;
                }
            }
        }
        findings.extend(challenge_findings);
    }
    if plans
        .iter()
        .any(|p| p.addresses.iter().any(|(_, v)| v.is_err()))
    {
        findings.push(Finding::ok(format!("the policy: {policy_text}")));
    }
    (
        Step::new(
            StepId::Configuration,
            format!("What acme-srv's configuration decides for {domain}"),
            findings,
        ),
        plans,
    )
}

/// The addresses of `host`, AAAA first, as the relay takes them; an IP literal as is.
async fn target_addresses(ctx: &Context, host: &str, findings: &mut Vec<Finding>) -> Vec<IpAddr> {
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return vec![ip];
    }
    let (aaaa, a) = tokio::join!(
        ctx.dns.follow(host, RecordType::AAAA),
        ctx.dns.follow(host, RecordType::A)
    );
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for chain in [&aaaa, &a] {
        match &chain.end {
            End::Found(records) => out.extend(records.iter().filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })),
            End::NoRecord { .. } => {}
            End::Loop | End::TooLong => {
                problems.push(format!("its CNAME chain is broken: {}", chain.describe()))
            }
            End::Failed(reason) => problems.push(format!("the lookup failed: {reason}")),
        }
    }
    if out.is_empty() {
        let why = if problems.is_empty() {
            "no A or AAAA record".to_owned()
        } else {
            problems.join("; ")
        };
        findings.push(Finding::error(
            format!("target {host}: {why}"),
            format!("Add an A (or AAAA) record for {host} with the address of the ACME client."),
        ));
    }
    out
}

/// The fix for a policy refusal.
fn refusal_fix(refusal: &Refusal, host: &str, port: u16) -> String {
    match refusal {
        Refusal::Port(_) => format!(
            "Add \"{port}\" to allow_ports in [targets], or make the SRV record name a port that is allowed."
        ),
        Refusal::Network(addr) => format!(
            "Point {host} at an address inside [targets] allow_networks, or add a network holding {addr} to allow_networks."
        ),
        Refusal::Special { addr, range } => {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            format!(
                "Point {host} at an address the policy allows; {addr} is {range}, allowed only by listing a network inside that range (e.g. \"{addr}/{prefix}\") in allow_networks."
            )
        }
        Refusal::Metadata { addr, .. } => format!(
            "Point {host} elsewhere: {addr} is a cloud metadata address, allowed only when listed exactly in allow_networks."
        ),
        Refusal::Embedded { ipv4, .. } => format!(
            "Point {host} at a plain address: the IPv4 address it carries ({ipv4}) is refused by [targets]."
        ),
    }
}
