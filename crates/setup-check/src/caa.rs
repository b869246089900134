//! Step `caa`: the CAA record set that applies to the domain (RFC 8659 §3: the first
//! name with CAA records, climbing from the domain to its parents), whether it lets
//! Let's Encrypt issue, and whether `validationmethods` (RFC 8657) allows http-01 and
//! tls-alpn-01.

use hickory_proto::rr::rdata::CAA;
use hickory_proto::rr::{RData, RecordType};

use crate::Context;
use crate::addresses::lookup_failed;
use crate::dns::End;
use crate::report::{Finding, Step, StepId};

/// Let's Encrypt's CAA issuer domain.
const LETS_ENCRYPT: &str = "letsencrypt.org";

/// Runs the step.
pub(crate) async fn check(ctx: &Context) -> Step {
    let domain = &ctx.domain;
    let title = format!("CAA for {domain}");
    let names = std::iter::once(domain.clone()).chain(domain.ancestors());
    for name in names {
        let chain = ctx.dns.follow(name.as_str(), RecordType::CAA).await;
        match &chain.end {
            End::Found(records) => {
                let caa: Vec<(&CAA, u32)> = records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::CAA(caa) => Some((caa, r.ttl)),
                        _ => None,
                    })
                    .collect();
                return Step::new(StepId::Caa, title, judge(name.as_str(), &caa));
            }
            End::NoRecord { .. } => continue,
            End::Failed(reason) => {
                return Step::new(StepId::Caa, title, vec![lookup_failed(&chain, reason)]);
            }
            End::Loop | End::TooLong => {
                return Step::new(
                    StepId::Caa,
                    title,
                    vec![Finding::error(
                        format!(
                            "the CAA lookup meets a broken CNAME chain: {}",
                            chain.describe()
                        ),
                        format!(
                            "Repair the CNAME chain at {name}: a CA refuses to issue when CAA cannot be looked up."
                        ),
                    )],
                );
            }
        }
    }
    Step::new(
        StepId::Caa,
        title,
        vec![Finding::ok(format!(
            "no CAA record at {domain} or its parents: any CA may issue"
        ))],
    )
}

/// The findings for the relevant record set, found at `at`.
fn judge(at: &str, records: &[(&CAA, u32)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut issuers = Vec::new();
    let mut lets_encrypt_methods: Option<String> = None;
    let mut lets_encrypt = false;
    for (caa, ttl) in records {
        let value = String::from_utf8_lossy(&caa.value);
        findings.push(Finding::ok(format!(
            "{at} CAA {} {} \"{value}\" (TTL {ttl})",
            caa.flags(),
            caa.tag
        )));
        match caa.tag.to_ascii_lowercase().as_str() {
            "issue" => {
                let Ok((issuer, options)) = caa.value_as_issue() else {
                    findings.push(Finding::warning(
                        format!("the CAA issue value \"{value}\" at {at} cannot be read"),
                        format!("Write it as `{at} CAA 0 issue \"{LETS_ENCRYPT}\"`."),
                    ));
                    continue;
                };
                let Some(issuer) = issuer else { continue };
                let issuer = issuer.to_ascii().trim_end_matches('.').to_ascii_lowercase();
                if issuer == LETS_ENCRYPT {
                    lets_encrypt = true;
                    lets_encrypt_methods = options
                        .iter()
                        .find(|kv| kv.key().eq_ignore_ascii_case("validationmethods"))
                        .map(|kv| kv.value().to_owned());
                }
                issuers.push(issuer);
            }
            "issuewild" | "iodef" | "contactemail" | "contactphone" | "issuemail"
            | "issuevmc" => {}
            other if caa.issuer_critical => findings.push(Finding::error(
                format!("{at} has a CAA record with the unknown critical tag \"{other}\": CAs refuse to issue"),
                format!("Remove the critical flag (128) from the \"{other}\" CAA record at {at}, or the record."),
            )),
            _ => {}
        }
    }
    if issuers.is_empty() {
        findings.push(Finding::error(
            format!("the CAA records at {at} name no issuer: no CA may issue"),
            format!("Add `{at} CAA 0 issue \"{LETS_ENCRYPT}\"` (or your CA's domain)."),
        ));
    } else if !lets_encrypt {
        findings.push(Finding::warning(
            format!(
                "the CAA records at {at} allow only {}: Let's Encrypt may not issue",
                issuers.join(", ")
            ),
            format!(
                "If your CA is Let's Encrypt, add `{at} CAA 0 issue \"{LETS_ENCRYPT}\"`; otherwise nothing to do."
            ),
        ));
    } else {
        findings.push(Finding::ok("Let's Encrypt may issue"));
    }
    if let Some(methods) = lets_encrypt_methods {
        let list: Vec<&str> = methods.split(',').map(str::trim).collect();
        for method in ["http-01", "tls-alpn-01"] {
            if !list.contains(&method) {
                findings.push(Finding::warning(
                    format!("the CAA record at {at} limits Let's Encrypt to validationmethods={methods}: {method} is refused"),
                    format!("Add {method} to validationmethods in the CAA record at {at}, if {method} is to be used."),
                ));
            }
        }
    }
    findings
}
