//! Steps `targets-http-01` and `targets-tls-alpn-01`: each target address the policy
//! allows, contacted as the relay or the router would contact it.

use std::net::SocketAddr;

use srv_scheme::Challenge;

use crate::Context;
use crate::configuration::TargetPlan;
use crate::http::{self, Failure};
use crate::report::{Finding, Status, Step, StepId};
use crate::tls::{self, Handshake};

/// The challenge path for `token`.
pub(crate) fn challenge_path(token: &str) -> String {
    format!("/.well-known/acme-challenge/{token}")
}

/// Runs the http-01 step.
pub(crate) async fn http(ctx: &Context, plans: &[TargetPlan]) -> Step {
    let title = "http-01 targets answer HTTP".to_owned();
    let path = challenge_path(&ctx.token);
    let mut findings = Vec::new();
    let mut answered = false;
    for (plan, addr) in allowed(plans, Challenge::Http01) {
        let at = format!("{}:{} ({addr})", plan.host, plan.port);
        match http::get(addr, ctx.domain.as_str(), &path, ctx.input.timeout).await {
            Ok(answer) => {
                answered = true;
                findings.push(judge_answer(&at, &answer));
            }
            Err(failure) => findings.push(dead(&at, addr, &failure)),
        }
    }
    finish(StepId::TargetsHttp01, title, findings, answered)
}

/// What an answer from a target says.
fn judge_answer(at: &str, answer: &http::Answer) -> Finding {
    match answer.status {
        404 => Finding::ok(format!(
            "{at} answers HTTP: 404 for a made-up token, as an ACME client does"
        )),
        200 => Finding::ok(format!(
            "{at} answers HTTP: 200 for a made-up token (\"{}\"); it serves every token",
            answer.body_line()
        )),
        301 | 302 | 303 | 307 | 308 => Finding::warning(
            format!(
                "{at} answers {} with a redirect to {}: the relay passes it to the CA, which follows it only to port 80 or 443",
                answer.status,
                answer.header("location").unwrap_or("(no Location)")
            ),
            "Make the ACME client answer the challenge itself on this address and port, without a redirect.",
        ),
        status => Finding::warning(
            format!(
                "{at} answers HTTP {status} (\"{}\") for a made-up token",
                answer.body_line()
            ),
            "Check that the ACME client's http-01 responder, not another web server, listens here.",
        ),
    }
}

/// A target address that gave no HTTP answer.
fn dead(at: &str, addr: SocketAddr, failure: &Failure) -> Finding {
    let fix = match failure {
        Failure::Connect(_) => format!(
            "Start the ACME client's http-01 responder on {addr} (clients that listen only while validating, like certbot --standalone, show this between runs), or fix the SRV record's port."
        ),
        Failure::Timeout => format!(
            "Make the service on {addr} answer HTTP promptly, or let the relay's host reach it (firewall)."
        ),
        Failure::NotHttp(_) | Failure::Io(_) => format!(
            "Point the SRV record at the ACME client's plain-HTTP responder: {addr} does not answer HTTP."
        ),
    };
    Finding::error(format!("{at}: {failure}"), fix)
}

/// Runs the tls-alpn-01 step.
pub(crate) async fn tls(ctx: &Context, plans: &[TargetPlan]) -> Step {
    let title = "tls-alpn-01 targets answer TLS with acme-tls/1".to_owned();
    let mut findings = Vec::new();
    let mut answered = false;
    for (plan, addr) in allowed(plans, Challenge::TlsAlpn01) {
        let at = format!("{}:{} ({addr})", plan.host, plan.port);
        let handshake = tls::handshake(addr, ctx.domain.as_str(), ctx.input.timeout).await;
        let finding = judge_handshake(&at, addr, &handshake);
        answered |= !matches!(handshake, Handshake::Connect(_) | Handshake::Failed(_));
        findings.push(finding);
    }
    finish(StepId::TargetsTlsAlpn01, title, findings, answered)
}

/// What a handshake with `at` says.
pub(crate) fn judge_handshake(at: &str, addr: SocketAddr, handshake: &Handshake) -> Finding {
    match handshake {
        Handshake::AcmeTls => Finding::ok(format!(
            "{at} completes a TLS handshake with acme-tls/1: a tls-alpn-01 responder is answering"
        )),
        Handshake::NoApplicationProtocol => Finding::warning(
            format!(
                "{at} speaks TLS but refuses acme-tls/1 (no_application_protocol): an ACME client does so while no challenge is pending"
            ),
            "Nothing to do if no validation is pending; otherwise make the ACME client serve tls-alpn-01 here.",
        ),
        Handshake::NoAlpn => Finding::warning(
            format!("{at} completes TLS but ignores acme-tls/1: it is not a tls-alpn-01 responder"),
            format!(
                "Point the SRV record at the ACME client's tls-alpn-01 responder, not at {addr}."
            ),
        ),
        Handshake::Alert(alert) => Finding::error(
            format!("{at} ends the handshake with the alert {alert}"),
            format!(
                "Make the service on {addr} answer TLS for the domain with acme-tls/1 (the ACME client's tls-alpn-01 responder)."
            ),
        ),
        Handshake::Connect(e) => Finding::error(
            format!("{at}: connect failed: {e}"),
            format!(
                "Start the ACME client's tls-alpn-01 responder on {addr} (clients that listen only while validating show this between runs), or fix the SRV record's port."
            ),
        ),
        Handshake::Failed(e) => Finding::error(
            format!("{at}: TLS handshake failed: {e}"),
            format!(
                "Point the SRV record at a service that speaks TLS with acme-tls/1; {addr} does not."
            ),
        ),
    }
}

/// The allowed addresses of `challenge`'s targets, in order.
fn allowed(
    plans: &[TargetPlan],
    challenge: Challenge,
) -> impl Iterator<Item = (&TargetPlan, SocketAddr)> + '_ {
    plans
        .iter()
        .filter(move |p| p.challenge == challenge)
        .flat_map(|p| {
            p.addresses
                .iter()
                .filter_map(move |(_, v)| v.as_ref().ok().map(|a| (p, SocketAddr::new(*a, p.port))))
        })
}

/// The step: nothing to contact is "skipped"; a dead address is a warning when another
/// one answers (the relay fails over), an error when none does.
fn finish(id: StepId, title: String, mut findings: Vec<Finding>, answered: bool) -> Step {
    if findings.is_empty() {
        findings.push(Finding::skipped(
            "no target address to contact (see the SRV and configuration steps)",
        ));
    } else if answered {
        for f in &mut findings {
            if f.status == Status::Error {
                f.status = Status::Warning;
                f.message
                    .push_str(" (the relay fails over to the next address)");
            }
        }
    }
    Step::new(id, title, findings)
}
