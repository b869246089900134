//! Step `ca`: the validator crate performs an http-01 validation of a made-up token by
//! Let's Encrypt's rules (Boulder's), at the domain's own addresses on
//! [`crate::CheckInput::ca_http_port`]. It cannot pass (no ACME client knows the
//! token); what matters is how it fails: an HTTP answer of any kind means a CA gets
//! through, a connection or DNS problem means it does not. Seen from this host, which
//! may reach addresses the internet cannot (and the reverse).

use std::net::IpAddr;

use validator::{Challenge, ProblemKind, Validator, ValidatorOptions};

use crate::Context;
use crate::report::{Finding, Step, StepId};

/// Runs the step.
pub(crate) async fn check(ctx: &Context, domain_addresses: &[IpAddr]) -> Step {
    let port = ctx.input.ca_http_port;
    let title = format!(
        "Let's Encrypt's http-01 validation (Boulder's rules, port {port}), from this host"
    );
    if domain_addresses.is_empty() {
        return Step::new(
            StepId::Ca,
            title,
            vec![Finding::skipped(
                "the domain has no address (see the addresses step)",
            )],
        );
    }
    let options = ValidatorOptions {
        dns_server: ctx.dns_servers.first().copied(),
        http_port: port,
        dial_timeout: ctx.input.timeout,
        perspective_timeout: ctx.input.timeout * 3,
        allow_restricted: ctx.input.allow_restricted.clone(),
        ..ValidatorOptions::default()
    };
    let validator = match Validator::new(options) {
        Ok(v) => v,
        Err(e) => {
            return Step::new(
                StepId::Ca,
                title,
                vec![Finding::skipped(format!(
                    "the validator could not start: {e}"
                ))],
            );
        }
    };
    let key_authorization = format!("{}.acme-srv-check", ctx.token);
    let challenge = match Challenge::http01(ctx.domain.clone(), &ctx.token, &key_authorization) {
        Ok(c) => c,
        Err(e) => {
            return Step::new(StepId::Ca, title, vec![Finding::skipped(e.to_string())]);
        }
    };
    let outcome = validator.validate(&challenge).await;
    let used = outcome
        .perspectives
        .first()
        .and_then(|p| p.records.last())
        .and_then(|r| r.address_used.map(|a| format!(" at {a}")))
        .unwrap_or_default();
    let finding = match &outcome.problem {
        None => Finding::ok(format!(
            "the validation of a made-up token passed{used}: something answers every token with its own text"
        )),
        Some(problem) => match problem.kind {
            ProblemKind::Unauthorized if server_error(&problem.detail) => Finding::error(
                format!(
                    "the CA's request reached port {port}{used} but got a server error: {}",
                    problem.detail
                ),
                "Make the relay reach the target (see the relay and targets steps): a CA fails on this status.",
            ),
            ProblemKind::Unauthorized => Finding::ok(format!(
                "the CA's request got an HTTP answer{used}, as expected for a made-up token: {}",
                problem.detail
            )),
            ProblemKind::Dns => Finding::error(
                format!("a CA would fail: {}", problem.detail),
                format!(
                    "Give {} an A record (or AAAA) that a CA may use: the relay's public address.",
                    ctx.domain
                ),
            ),
            ProblemKind::Connection => Finding::error(
                format!("a CA would fail: {}", problem.detail),
                format!(
                    "Make port {port} of {}'s addresses reach the relay (firewall, NAT forwarding, [relay] listen).",
                    ctx.domain
                ),
            ),
            _ => Finding::error(
                format!("a CA would fail: {}", problem.detail),
                "Make port 80 of the domain's addresses answer with acme-srv's relay (see the relay step).",
            ),
        },
    };
    Step::new(StepId::Ca, title, vec![finding])
}

/// Whether Boulder's detail ends with a 5xx status (`...: 502`).
fn server_error(detail: &str) -> bool {
    detail
        .rsplit_once(": ")
        .and_then(|(_, status)| status.trim().parse::<u16>().ok())
        .is_some_and(|status| (500..600).contains(&status))
}
