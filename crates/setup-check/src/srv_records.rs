//! Steps `srv-http-01` and `srv-tls-alpn-01`: the SRV record at each label, found the
//! way the relay and the router find it (CNAMEs followed, then the allowed parents when
//! `walk_up_parents` is on, then the fallback target), with TTLs, the CNAME chain,
//! NXDOMAIN or NODATA, the `.` opt-out and the RFC 2782 order.

use domain_name::DomainName;
use hickory_proto::rr::{RData, RecordType};
use srv_scheme::{Challenge, MAX_SRV_RECORDS, SrvRecord};

use crate::Context;
use crate::addresses::lookup_failed;
use crate::dns::{End, RELAY_MAX_CNAME_HOPS};
use crate::report::{Finding, Status, Step, StepId};

/// What later steps need from an SRV step.
#[derive(Debug, Clone)]
pub(crate) struct SrvFacts {
    /// Which challenge.
    pub(crate) challenge: Challenge,
    /// Whether this challenge goes through acme-srv at all (tls-alpn-01 only with a
    /// router, or when no configuration says otherwise).
    pub(crate) in_use: bool,
    /// The targets to try, in priority order (weight descending within a priority);
    /// empty when there are none (no record, opt-out, lookup failure).
    pub(crate) targets: Vec<SrvRecord>,
}

/// Runs the step for `challenge`.
pub(crate) async fn check(ctx: &Context, challenge: Challenge) -> (Step, SrvFacts) {
    let (id, in_use) = match challenge {
        Challenge::Http01 => (StepId::SrvHttp01, true),
        Challenge::TlsAlpn01 => (
            StepId::SrvTlsAlpn01,
            ctx.config.as_ref().is_none_or(|c| c.router.is_some())
                || ctx.input.router_addr.is_some(),
        ),
    };
    let owner = ctx.labels.owner_name(challenge, &ctx.domain);
    let title = format!("SRV {owner} ({challenge})");
    let mut facts = SrvFacts {
        challenge,
        in_use,
        targets: Vec::new(),
    };
    let mut findings = Vec::new();

    let challenge_cfg = &ctx.effective.challenge;
    let parents: Vec<DomainName> = if challenge_cfg.walk_up_parents {
        srv_scheme::labels::parent_names(&ctx.domain, 2)
            .filter(|p| srv_scheme::domain::is_allowed(&challenge_cfg.allow_domains, p))
            .collect()
    } else {
        Vec::new()
    };
    let mut first_negative = None;
    for name in std::iter::once(&ctx.domain).chain(&parents) {
        let at = ctx.labels.owner_name(challenge, name);
        let chain = ctx.dns.follow(&at, RecordType::SRV).await;
        if !chain.hops.is_empty() {
            findings.push(Finding::ok(format!("CNAME chain: {}", chain.describe())));
        }
        match &chain.end {
            End::Found(records) => {
                if chain.hops.len() > RELAY_MAX_CNAME_HOPS {
                    findings.push(Finding::error(
                        format!(
                            "the chain has {} CNAME hops; acme-srv follows at most {RELAY_MAX_CNAME_HOPS}",
                            chain.hops.len()
                        ),
                        format!("Point {at} at the SRV record's name directly, or in fewer hops."),
                    ));
                    break;
                }
                if name != &ctx.domain {
                    findings.push(Finding::ok(format!(
                        "no record at {owner}; walk_up_parents finds {at}, as the relay will"
                    )));
                }
                let records: Vec<(SrvRecord, u32)> = records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::SRV(srv) => Some((
                            SrvRecord {
                                priority: srv.priority,
                                weight: srv.weight,
                                port: srv.port,
                                target: srv.target.to_ascii(),
                            },
                            r.ttl,
                        )),
                        _ => None,
                    })
                    .collect();
                judge(
                    ctx,
                    challenge,
                    chain.last_name(),
                    &records,
                    &mut findings,
                    &mut facts,
                );
                return (finish(id, title, findings, in_use), facts);
            }
            End::NoRecord { nxdomain } => {
                first_negative.get_or_insert(*nxdomain);
                continue;
            }
            End::Loop => {
                findings.push(Finding::error(
                    format!("the CNAME chain at {at} loops back to {}", chain.last_name()),
                    "Break the CNAME loop: make the last name of the chain hold the SRV record instead of pointing back into it.",
                ));
                return (finish(id, title, findings, in_use), facts);
            }
            End::TooLong => {
                findings.push(Finding::error(
                    format!("the CNAME chain at {at} does not end: {}", chain.describe()),
                    format!("Point {at} at the SRV record's name directly, or in fewer hops."),
                ));
                return (finish(id, title, findings, in_use), facts);
            }
            End::Failed(reason) => {
                findings.push(lookup_failed(&chain, reason));
                return (finish(id, title, findings, in_use), facts);
            }
        }
    }

    // No record anywhere.
    let how = if first_negative == Some(true) {
        "the name does not exist (NXDOMAIN)"
    } else {
        "the name exists but holds no SRV record (NODATA)"
    };
    let walked = if parents.is_empty() {
        String::new()
    } else {
        format!(
            " nor at the allowed parents' names ({})",
            parents
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match challenge {
        Challenge::Http01 => match &challenge_cfg.fallback_target {
            Some(fallback) if ctx.config.is_some() => {
                findings.push(Finding::ok(format!(
                    "no SRV record at {owner}{walked}: {how}; the relay uses fallback_target {fallback}"
                )));
                if let Ok((host, port)) = config::parse_host_port(fallback) {
                    facts.targets.push(SrvRecord {
                        priority: 0,
                        weight: 0,
                        port,
                        target: host,
                    });
                }
            }
            _ => findings.push(Finding::error(
                format!(
                    "no SRV record at {owner}{walked}: {how}; the relay answers the CA 404"
                ),
                format!(
                    "Publish `{owner} 300 IN SRV 0 0 <port> <host>.` naming the host and port your ACME client answers http-01 on."
                ),
            )),
        },
        Challenge::TlsAlpn01 => findings.push(Finding::ok(format!(
            "no SRV record at {owner}{walked}: {how}; tls-alpn-01 for {} goes to the router's backend for this name (or to whatever owns port 443), which must answer it",
            ctx.domain
        ))),
    }
    (finish(id, title, findings, in_use), facts)
}

/// The step, with its problems softened to notes when the challenge is not in use.
fn finish(id: StepId, title: String, findings: Vec<Finding>, in_use: bool) -> Step {
    if in_use {
        return Step::new(id, title, findings);
    }
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .map(|f| {
            if f.status == Status::Error {
                f.with_status(Status::Warning)
            } else {
                f
            }
        })
        .collect();
    findings.push(Finding::ok(
        "the configuration has no [router]: nothing on port 443 reads this record",
    ));
    Step::new(id, title, findings)
}

/// Findings for the records found at `at`; fills `facts.targets`.
fn judge(
    ctx: &Context,
    challenge: Challenge,
    at: &str,
    records: &[(SrvRecord, u32)],
    findings: &mut Vec<Finding>,
    facts: &mut SrvFacts,
) {
    for (r, ttl) in records {
        findings.push(Finding::ok(format!(
            "{at} {ttl} IN SRV {} {} {} {}",
            r.priority, r.weight, r.port, r.target
        )));
    }
    if let [(only, _)] = records
        && only.is_opt_out()
    {
        let (what, status) = match challenge {
            Challenge::Http01 => ("the relay answers the CA 404", Status::Error),
            Challenge::TlsAlpn01 => (
                "the router closes the CA's connection (unrecognized_name)",
                Status::Warning,
            ),
        };
        findings.push(
            Finding::error(
                format!(
                    "the target \".\" opts {} out of {challenge} through acme-srv: {what}, and no fallback is tried",
                    ctx.domain
                ),
                format!(
                    "Replace the \".\" record at {at} with `{at} 300 IN SRV 0 0 <port> <host>.` if {challenge} should go through acme-srv."
                ),
            )
            .with_status(status),
        );
        return;
    }
    let usable: Vec<SrvRecord> = records
        .iter()
        .map(|(r, _)| r.clone())
        .filter(|r| !r.is_opt_out())
        .collect();
    if usable.len() < records.len() {
        findings.push(Finding::warning(
            format!("{at} mixes \".\" with other targets: the \".\" record is ignored"),
            format!("Remove the \".\" record at {at}: an opt-out is a single record."),
        ));
    }
    if usable.is_empty() {
        findings.push(Finding::error(
            format!("{at} has no usable target"),
            format!("Publish `{at} 300 IN SRV 0 0 <port> <host>.` for your ACME client."),
        ));
        return;
    }
    let mut ordered = usable;
    ordered.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
    if ordered.len() > MAX_SRV_RECORDS {
        findings.push(Finding::warning(
            format!(
                "{} records: acme-srv considers the {MAX_SRV_RECORDS} of lowest priority only",
                ordered.len()
            ),
            format!("Publish at most {MAX_SRV_RECORDS} records at {at}."),
        ));
        ordered.truncate(MAX_SRV_RECORDS);
    }
    findings.push(Finding::ok(format!(
        "RFC 2782 order: {}",
        order_text(&ordered)
    )));
    if ordered.len() > 1 {
        findings.push(Finding::ok(
            "a CA validates from several perspectives, each ordered afresh: every target must answer every token of this name",
        ));
    }
    facts.targets = ordered;
}

/// `priority 10: a:8080 (60%), b:8080 (40%); then priority 20: c:8402`.
fn order_text(ordered: &[SrvRecord]) -> String {
    let mut groups = Vec::new();
    for group in ordered.chunk_by(|a, b| a.priority == b.priority) {
        let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
        let members: Vec<String> = group
            .iter()
            .map(|r| {
                let host = r.target.trim_end_matches('.');
                if group.len() == 1 {
                    return format!("{host}:{}", r.port);
                }
                match (u32::from(r.weight) * 100).checked_div(total) {
                    None => format!("{host}:{} (equal chance)", r.port),
                    Some(share) => format!("{host}:{} ({share}% first)", r.port),
                }
            })
            .collect();
        groups.push(format!(
            "priority {}: {}",
            group[0].priority,
            members.join(", ")
        ));
    }
    groups.join("; then ")
}
