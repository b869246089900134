//! Relaying one http-01 challenge: SRV lookup, RFC 2782 order, address checks, and
//! trying targets in turn until one answers.
//!
//! What the requester learns is the target's answer, or a status with a short generic
//! reason and an `x-request-id` header: which addresses were tried and how each failed
//! would make the relay a port scanner's oracle for whoever controls an SRV record, so
//! those details go only to the log line that carries the same id.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use domain_name::DomainName;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use srv_scheme::{Challenge, Selection, SrvRecord};
use target_resolver::SrvAnswer;

use crate::answer_reuse::{self, ChallengeKey, Claim, SharedAnswer, TargetSet};
use crate::forward::{self, AttemptLimits};
use crate::inbound::Inbound;
use crate::reply::{Body, full, text};
use crate::{Relay, forwarded_headers};

/// Targets considered for one challenge at most: the SRV answer may come from a hostile
/// zone, so the work it can cause is bounded.
pub const MAX_TARGETS: usize = 8;
/// Addresses tried per target at most.
pub const MAX_ADDRESSES_PER_TARGET: usize = 4;
/// Room for a typical request head to a target.
const REQUEST_HEAD_CAPACITY: usize = 512;

/// One failed step on the way to an answer, for the log and the 502 reason.
struct Failure {
    target: String,
    addr: Option<SocketAddr>,
    reason: String,
    timeout: bool,
}

/// An answer the relay writes itself: a status and a generic reason for the requester,
/// the details for the log.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    detail: String,
}

use crate::reply::reasons::{BAD_ANSWER, LOOKUP_FAILED, NO_TARGET, TIMED_OUT, UNREACHABLE};

fn refusal(status: StatusCode, reason: &'static str, detail: String) -> Refusal {
    Refusal {
        status,
        reason,
        detail,
    }
}

/// How a challenge ended: the target's answer, or the relay's own.
enum Outcome {
    Answered(Response<Body>),
    /// The target's answer.
    Target {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// A target's 200 answer given to every requester of a burst.
    Shared(Arc<SharedAnswer>),
    Refused(Refusal),
}

/// Whether the answer came from this request's own exchange with the target.
#[derive(Debug, Clone, Copy)]
enum Reuse {
    /// It did (or the relay answered itself).
    None,
    /// It waited for the same challenge's exchange in progress.
    Coalesced,
    /// A 200 answer kept from a moment ago.
    Kept,
}

impl Reuse {
    fn label(self) -> &'static str {
        match self {
            Self::None => "-",
            Self::Coalesced => "coalesced",
            Self::Kept => "kept",
        }
    }
}

/// The response every requester of a burst gets: the same status, headers and body.
fn shared_response(answer: &SharedAnswer) -> Response<Body> {
    let mut response = Response::new(full(answer.body.clone()));
    *response.status_mut() = answer.status;
    response.headers_mut().clone_from(&answer.headers);
    response
}

/// What the lookup phase decided.
enum Plan {
    /// Try these targets in order.
    Targets(Vec<SrvRecord>),
    /// Answer right away (opt-out, no record, DNS failure).
    Refuse(Refusal),
}

/// Relays the challenge in `req` for the allowed `inbound.host`.
pub async fn relay(
    relay: &Relay,
    req: &Request<Incoming>,
    inbound: &Inbound,
    token: &str,
) -> Response<Body> {
    let started = Instant::now();
    let total = relay.limits.total;
    let outcome =
        tokio::time::timeout(total, relay_within_deadline(relay, req, inbound, token)).await;
    let (outcome, target, addr, reuse) = match outcome {
        Ok(done) => done,
        Err(_) => (
            Outcome::Refused(refusal(
                StatusCode::GATEWAY_TIMEOUT,
                TIMED_OUT,
                format!("challenge not answered within {total:?}"),
            )),
            None,
            None,
            Reuse::None,
        ),
    };
    let (response, detail, id) = match outcome {
        Outcome::Answered(response) => (response, None, None),
        Outcome::Shared(answer) => (shared_response(&answer), None, None),
        Outcome::Target {
            status,
            headers,
            body,
        } => {
            // The target may speak HTTP/1.0; the client gets our own version.
            let mut response = Response::new(full(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            (response, None, None)
        }
        Outcome::Refused(refused) => {
            let id = relay.request_id();
            let mut response = text(refused.status, refused.reason);
            if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
                response.headers_mut().insert("x-request-id", value);
            }
            (response, Some(refused.detail), Some(id))
        }
    };
    // Borrowed fields and `Display` wrappers: the line costs no allocation of its own.
    tracing::info!(
        domain = %inbound.host,
        token = %token.get(..8).unwrap_or(token),
        client = %inbound.client,
        target = %target.as_deref().unwrap_or("-"),
        address = %OrDash(addr),
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        id = %OrDash(id),
        reuse = %reuse.label(),
        detail = %OrDash(detail),
        "relayed challenge"
    );
    response
}

/// Shows the value, or `-` when there is none.
struct OrDash<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for OrDash<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(value) => value.fmt(f),
            None => f.write_str("-"),
        }
    }
}

async fn relay_within_deadline(
    relay: &Relay,
    req: &Request<Incoming>,
    inbound: &Inbound,
    token: &str,
) -> (Outcome, Option<String>, Option<SocketAddr>, Reuse) {
    let targets = match plan(relay, &inbound.host).await {
        Plan::Targets(targets) => targets,
        Plan::Refuse(refused) => return (Outcome::Refused(refused), None, None, Reuse::None),
    };
    // With reuse off, no key or target set is built at all.
    let claim = if relay.answer_reuse.enabled() {
        let key = ChallengeKey::new(&inbound.host, token, req.method() == Method::HEAD);
        relay.answer_reuse.claim(&key, &TargetSet::of(&targets))
    } else {
        Claim::Alone
    };
    let leader = match claim {
        Claim::Kept(answer) => return kept(answer, Reuse::Kept),
        Claim::Wait(done) => match answer_reuse::wait(done).await {
            Some(answer) => return kept(answer, Reuse::Coalesced),
            // The exchange in flight ended without a 200: this request tries alone.
            None => None,
        },
        Claim::Lead(leader) => Some(leader),
        Claim::Alone => None,
    };
    let Some(_slot) = relay.target_slot() else {
        tracing::warn!(domain = %inbound.host, client = %inbound.client, "every target-connection slot is in use: 503");
        return (
            Outcome::Answered(crate::reply::busy()),
            None,
            None,
            Reuse::None,
        );
    };
    let (outcome, target, addr) = try_targets(relay, req, inbound, targets).await;
    match (outcome, leader, target, addr) {
        (
            Outcome::Target {
                status: StatusCode::OK,
                headers,
                body,
            },
            Some(leader),
            Some(target),
            Some(addr),
        ) => {
            let answer = leader.answered(StatusCode::OK, headers, body, target.clone(), addr);
            (
                Outcome::Shared(answer),
                Some(target),
                Some(addr),
                Reuse::None,
            )
        }
        (outcome, _, target, addr) => (outcome, target, addr, Reuse::None),
    }
}

fn kept(
    answer: Arc<SharedAnswer>,
    reuse: Reuse,
) -> (Outcome, Option<String>, Option<SocketAddr>, Reuse) {
    let (target, addr) = (answer.target.clone(), answer.addr);
    (Outcome::Shared(answer), Some(target), Some(addr), reuse)
}

/// Tries `targets` in order until one answers.
async fn try_targets(
    relay: &Relay,
    req: &Request<Incoming>,
    inbound: &Inbound,
    targets: Vec<SrvRecord>,
) -> (Outcome, Option<String>, Option<SocketAddr>) {
    // The same request head goes to every address tried.
    let mut request_head = Vec::with_capacity(REQUEST_HEAD_CAPACITY);
    forwarded_headers::write_challenge_head(
        &mut request_head,
        req.method(),
        req.uri().path(),
        req.headers(),
        inbound,
        &relay.via_name,
        relay.target_pool.enabled(),
    );
    let head_only = req.method() == Method::HEAD;
    let limits = AttemptLimits {
        connect: relay.limits.connect,
        response_header: relay.limits.response_header,
        response_body: relay.limits.response_body,
        max_body: relay.limits.max_response_bytes,
    };

    let mut failures = Vec::new();
    for target in targets.into_iter().take(MAX_TARGETS) {
        let addrs = match relay.resolver.addresses(&target.target).await {
            Ok(addrs) if addrs.is_empty() => {
                failures.push(fail(
                    &target,
                    None,
                    "target has no A or AAAA record".into(),
                    false,
                ));
                continue;
            }
            Ok(addrs) => addrs,
            Err(e) => {
                failures.push(fail(&target, None, e.to_string(), false));
                continue;
            }
        };
        for ip in addrs.iter().take(MAX_ADDRESSES_PER_TARGET) {
            let checked = match relay.policy.check(ip, target.port) {
                Ok(checked) => SocketAddr::new(checked, target.port),
                Err(refusal) => {
                    tracing::warn!(domain = %inbound.host, target = %target.target, address = %ip, reason = %refusal, "target address refused by policy");
                    failures.push(fail(
                        &target,
                        Some(SocketAddr::new(ip, target.port)),
                        refusal.to_string(),
                        false,
                    ));
                    continue;
                }
            };
            match forward::send(
                checked,
                &request_head,
                head_only,
                limits,
                &relay.target_pool,
            )
            .await
            {
                Ok(answer) => {
                    return (
                        Outcome::Target {
                            status: answer.status,
                            headers: answer.headers,
                            body: answer.body,
                        },
                        Some(target.target),
                        Some(checked),
                    );
                }
                Err(e) if e.try_next() => {
                    tracing::warn!(domain = %inbound.host, target = %target.target, address = %checked, error = %e, "target failed, trying the next");
                    failures.push(fail(&target, Some(checked), e.to_string(), e.is_timeout()));
                }
                Err(e) => {
                    let (status, reason) = if e.is_timeout() {
                        (StatusCode::GATEWAY_TIMEOUT, TIMED_OUT)
                    } else {
                        (StatusCode::BAD_GATEWAY, BAD_ANSWER)
                    };
                    let detail = format!("target {} at {checked}: {e}", target.target);
                    return (
                        Outcome::Refused(refusal(status, reason, detail)),
                        Some(target.target),
                        Some(checked),
                    );
                }
            }
        }
    }
    (
        Outcome::Refused(no_target_answered(&failures)),
        failures.last().map(|f| f.target.clone()),
        failures.last().and_then(|f| f.addr),
    )
}

/// Looks up the SRV records (walking up or falling back as configured) and decides.
async fn plan(relay: &Relay, host: &DomainName) -> Plan {
    let parents: Vec<DomainName> = if relay.walk_up_parents {
        srv_scheme::labels::parent_names(host, 2)
            .filter(|parent| relay.is_allowed(parent))
            .collect()
    } else {
        Vec::new()
    };
    for name in std::iter::once(host).chain(&parents) {
        let owner = relay.labels.owner_name(Challenge::Http01, name);
        match relay.resolver.srv(&owner).await {
            Ok(SrvAnswer::Records(records)) => {
                return match relay.order(&records) {
                    Selection::OptOut => Plan::Refuse(refusal(
                        StatusCode::NOT_FOUND,
                        NO_TARGET,
                        format!("{owner} says no validation here (target \".\")"),
                    )),
                    Selection::Targets(targets) if targets.is_empty() => Plan::Refuse(refusal(
                        StatusCode::NOT_FOUND,
                        NO_TARGET,
                        format!("{owner} has no usable target"),
                    )),
                    Selection::Targets(targets) => Plan::Targets(targets),
                };
            }
            Ok(SrvAnswer::NoRecord { .. }) => continue,
            Err(e) => {
                return Plan::Refuse(refusal(
                    StatusCode::BAD_GATEWAY,
                    LOOKUP_FAILED,
                    format!("SRV lookup for {owner} failed: {e}"),
                ));
            }
        }
    }
    match &relay.fallback_target {
        Some((host, port)) => Plan::Targets(vec![SrvRecord {
            priority: 0,
            weight: 0,
            port: *port,
            target: host.clone(),
        }]),
        None => {
            let owner = relay.labels.owner_name(Challenge::Http01, host);
            Plan::Refuse(refusal(
                StatusCode::NOT_FOUND,
                NO_TARGET,
                format!("no SRV record at {owner}"),
            ))
        }
    }
}

fn fail(target: &SrvRecord, addr: Option<SocketAddr>, reason: String, timeout: bool) -> Failure {
    Failure {
        target: target.target.clone(),
        addr,
        reason,
        timeout,
    }
}

/// 502 (or 504 when every attempt timed out); the details list what was tried.
fn no_target_answered(failures: &[Failure]) -> Refusal {
    let all_timeouts = !failures.is_empty() && failures.iter().all(|f| f.timeout);
    let (status, generic) = if all_timeouts {
        (StatusCode::GATEWAY_TIMEOUT, TIMED_OUT)
    } else {
        (StatusCode::BAD_GATEWAY, UNREACHABLE)
    };
    let mut reason = String::from("no target answered:");
    for f in failures {
        let _ = match f.addr {
            Some(addr) => write!(reason, " [{} {addr}: {}]", f.target, f.reason),
            None => write!(reason, " [{}: {}]", f.target, f.reason),
        };
    }
    refusal(status, generic, reason)
}
