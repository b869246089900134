//! The proposal as a CA would implement it: look up the SRV record of the challenge's
//! label (`_acme-challenge._tcp.<domain>` for http-01, `_acme-tls-alpn._tcp.<domain>` for
//! tls-alpn-01), order it as RFC 2782 says, and validate at the first target address
//! the policy allows that can be connected to. No record, or a lone `.` target, means
//! the domain does not use the scheme: the validation goes to port 80 / 443 as usual.

use std::net::SocketAddr;

use domain_name::DomainName;
use serde::Serialize;
use srv_scheme::{Challenge as SrvChallenge, Labels, Selection, order_targets};
use target_resolver::SrvAnswer;

use crate::perspective::Perspective;
use crate::problem::Problem;

/// What the SRV lookup found and which target addresses may be used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SrvReport {
    /// The owner name asked.
    pub owner: String,
    /// The records found, as `priority weight port target`, in the order tried.
    pub records: Vec<String>,
    /// The target addresses the policy allows, in the order tried.
    pub allowed: Vec<SocketAddr>,
    /// Target addresses refused, with the reason.
    pub refused: Vec<String>,
    /// Why the usual port is used instead, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// Looks up and filters the targets for `domain`.
pub(crate) async fn targets(
    perspective: &Perspective<'_>,
    challenge: SrvChallenge,
    domain: &DomainName,
) -> Result<SrvReport, Problem> {
    let owner = Labels::default().owner_name(challenge, domain);
    let owner = owner.trim_end_matches('.').to_owned();
    let mut report = SrvReport {
        owner: owner.clone(),
        ..SrvReport::default()
    };
    let answer = perspective
        .resolver()
        .srv(&owner)
        .await
        .map_err(|e| Problem::dns(format!("DNS problem: SRV lookup for {owner}: {e}")))?;
    let records = match answer {
        SrvAnswer::NoRecord { .. } => {
            report.fallback = Some(format!("no SRV record at {owner}"));
            return Ok(report);
        }
        SrvAnswer::Records(records) => records,
    };
    let ordered = match order_targets(&records, &mut rand::rng()) {
        Selection::OptOut => {
            report.fallback = Some(format!("{owner} opts out (target \".\")"));
            return Ok(report);
        }
        Selection::Targets(ordered) => ordered,
    };
    let Some(policy) = perspective.srv_policy() else {
        return Ok(report);
    };
    for record in &ordered {
        report.records.push(format!(
            "{} {} {} {}",
            record.priority, record.weight, record.port, record.target
        ));
        let host = record.target.trim_end_matches('.');
        let addrs = match perspective.resolver().addresses(host).await {
            Ok(addrs) => addrs,
            Err(e) => {
                report.refused.push(format!("{host}: {e}"));
                continue;
            }
        };
        if addrs.is_empty() {
            report.refused.push(format!("{host}: no A or AAAA record"));
        }
        for addr in addrs.iter() {
            match policy.check(addr, record.port) {
                Ok(addr) => report.allowed.push(SocketAddr::new(addr, record.port)),
                Err(refusal) => report.refused.push(format!("{host} ({addr}): {refusal}")),
            }
        }
    }
    if report.allowed.is_empty() {
        return Err(Problem::connection(format!(
            "No SRV target of {owner} may be used: {}",
            report.refused.join("; ")
        )));
    }
    Ok(report)
}
