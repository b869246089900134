//! Steps `relay` and `router`: the CA's request sent to acme-srv itself, and its answer
//! explained.
//!
//! The relay answers a challenge with the target's answer, or with its own: a short
//! `text/plain` reason (`http_relay::reply::reasons`, the relay's own constants), with an
//! `x-request-id` header when DNS or a target was involved (the relay's log line with the
//! same `id=` has the details).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http_relay::reply::reasons;

use crate::Context;
use crate::http::{self, Failure};
use crate::report::{Finding, Step, StepId};
use crate::targets::{challenge_path, judge_handshake};
use crate::tls::{self, Handshake};

/// The relay's own answers: its reason line, what it means, and the fix.
const RELAY_REASONS: &[(&str, &str, &str)] = &[
    (
        reasons::DOMAIN_NOT_ALLOWED,
        "the relay refused the domain: it is not on [challenge] allow_domains",
        "Add the domain to allow_domains in [challenge] and reload acme-srv (SIGHUP).",
    ),
    (
        reasons::NO_TARGET,
        "the relay found no target: no SRV record (and no fallback_target), or a \".\" opt-out",
        "Publish the http-01 SRV record for the domain (see the srv-http-01 step).",
    ),
    (
        reasons::LOOKUP_FAILED,
        "the relay's DNS lookup of the SRV record or the target failed",
        "Make [resolver] servers reachable from the relay and able to answer for the domain's SRV name.",
    ),
    (
        reasons::UNREACHABLE,
        "the relay could not reach any target: every address was refused by [targets] or did not accept the connection",
        "Start the ACME client on the SRV target, or allow its address in [targets] (see the configuration and targets steps).",
    ),
    (
        reasons::TIMED_OUT,
        "the target did not answer within the relay's timeouts",
        "Make the ACME client answer promptly, or raise [relay.timeouts].",
    ),
    (
        reasons::BAD_ANSWER,
        "the target's answer was malformed or too large to relay",
        "Point the SRV record at the ACME client's plain-HTTP responder, which answers with a short body.",
    ),
    (
        reasons::LOOP,
        "the SRV target leads back to the relay (a loop)",
        "Point the SRV record at the ACME client, not at the relay's own address.",
    ),
];

/// The address to probe: the override, else the first listen address (IPv4 first), a
/// wildcard replaced by the loopback address of its family.
fn probe_addr(
    override_addr: Option<SocketAddr>,
    listen: &[SocketAddr],
) -> Option<(SocketAddr, String)> {
    if let Some(addr) = override_addr {
        return Some((addr, format!("{addr} (given)")));
    }
    let listen = listen
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| listen.first())?;
    if listen.ip().is_unspecified() {
        let loopback = match listen.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        let addr = SocketAddr::new(loopback, listen.port());
        Some((addr, format!("{addr} (it listens on {listen})")))
    } else {
        Some((*listen, listen.to_string()))
    }
}

/// Runs the `relay` step.
pub(crate) async fn relay(ctx: &Context) -> Step {
    let listen = ctx
        .config
        .as_ref()
        .map(|c| c.relay.listen.clone())
        .unwrap_or_default();
    let Some((addr, shown)) = probe_addr(ctx.input.relay_addr, &listen) else {
        return Step::new(
            StepId::Relay,
            "A CA's http-01 request through the relay",
            vec![Finding::skipped(
                "no relay address: pass --config (its [relay] listen) to probe the relay",
            )],
        );
    };
    let title = format!("A CA's http-01 request through the relay at {shown}");
    let path = challenge_path(&ctx.token);
    let domain = ctx.domain.as_str();
    let finding = match http::get(addr, domain, &path, ctx.input.timeout).await {
        Err(Failure::Connect(e)) => Finding::error(
            format!("nothing answers at {addr}: {e}"),
            format!(
                "Start acme-srv (serve or relay) with {addr} in [relay] listen, or pass the relay's address."
            ),
        ),
        Err(failure) => Finding::error(
            format!("the relay at {addr} gave no usable answer: {failure}"),
            format!(
                "Check that acme-srv, not another server, listens on {addr}, and read its log."
            ),
        ),
        Ok(answer) => {
            let line = answer.body_line();
            let own = RELAY_REASONS.iter().find(|(reason, _, _)| *reason == line);
            let id = answer
                .header("x-request-id")
                .map(|id| format!(" (its log line has id={id})"))
                .unwrap_or_default();
            match own {
                Some((_, meaning, fix)) => Finding::error(
                    format!(
                        "GET http://{domain}{path}: the relay answered {} itself, \"{line}\": {meaning}{id}",
                        answer.status
                    ),
                    *fix,
                ),
                None if answer.status == 429 || answer.status == 503 => Finding::warning(
                    format!(
                        "the relay answered {} (\"{line}\"): it is limiting requests",
                        answer.status
                    ),
                    "Try again later, or raise [relay.limits] if a CA's perspectives are limited too.",
                ),
                None if answer.status == 404 || answer.status == 200 => Finding::ok(format!(
                    "GET http://{domain}{path}: answered {} by the target through the relay (expected for a made-up token): the path works",
                    answer.status
                )),
                None => Finding::warning(
                    format!(
                        "GET http://{domain}{path}: the relay passed on the target's answer {} (\"{line}\")",
                        answer.status
                    ),
                    "Make the target answer as an ACME client does (404 for an unknown token, 200 with the key authorization for a pending one).",
                ),
            }
        }
    };
    Step::new(StepId::Relay, title, vec![finding])
}

/// Runs the `router` step, when there is a router to probe.
pub(crate) async fn router(ctx: &Context) -> Option<Step> {
    let listen = ctx
        .config
        .as_ref()
        .and_then(|c| c.router.as_ref())
        .map(|r| r.listen.clone())
        .unwrap_or_default();
    let (addr, shown) = probe_addr(ctx.input.router_addr, &listen)?;
    let title = format!("A CA's tls-alpn-01 handshake through the router at {shown}");
    let handshake = tls::handshake(addr, ctx.domain.as_str(), ctx.input.timeout).await;
    let at = format!("the router at {addr}");
    let finding = match &handshake {
        Handshake::Alert(alert) if alert.contains("UnrecognisedName") => Finding::error(
            format!(
                "{at} closed the handshake with unrecognized_name: no route for this name, or a \".\" opt-out"
            ),
            "Publish the tls-alpn-01 SRV record (or give the router a backend for the name), and keep the domain on allow_domains.",
        ),
        Handshake::Alert(alert) if alert.contains("InternalError") => Finding::error(
            format!(
                "{at} closed the handshake with internal_error: the SRV lookup failed or no target could be reached"
            ),
            "Start the tls-alpn-01 responder on the SRV target and allow its address in [targets] (see the targets steps).",
        ),
        Handshake::Connect(e) => Finding::error(
            format!("nothing answers at {addr}: {e}"),
            format!("Start acme-srv with {addr} in [router] listen, or pass the router's address."),
        ),
        other => judge_handshake(&at, addr, other),
    };
    Some(Step::new(StepId::Router, title, vec![finding]))
}
