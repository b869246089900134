//! A tls-alpn-01 validation connection to the target the domain's SRV record names:
//! `_acme-tls-alpn._tcp.<name>` (walking up to allowed parents when configured), RFC
//! 2782 order, every address checked by the target policy, and the next target when a
//! connect fails. The checked address is the one connected to.

use std::net::SocketAddr;

use domain_name::DomainName;
use srv_scheme::{Challenge, Selection, SrvRecord};
use target_resolver::SrvAnswer;
use tokio::net::TcpStream;

use crate::router::Router;

/// Targets considered for one validation at most (the SRV answer may be hostile).
pub const MAX_TARGETS: usize = 8;
/// Addresses tried per target at most.
pub const MAX_ADDRESSES_PER_TARGET: usize = 4;

/// What the SRV records say about a validation connection for a name.
#[derive(Debug)]
pub enum ChallengeRoute {
    /// Connected to this target.
    Connected {
        /// The open connection.
        stream: TcpStream,
        /// The SRV target's name.
        target: String,
        /// The checked address connected to.
        addr: SocketAddr,
    },
    /// The name has no SRV record: the connection goes where other connections for the
    /// name go (a backend that answers tls-alpn-01 itself keeps working).
    NoRecord,
    /// The record says "no validation here" (target `.`): close.
    OptOut,
    /// A lookup failed, or no target could be reached: close; the details for the log.
    Failed(String),
}

/// Finds and connects to the validation target for `domain`. `this_router` is the
/// address the client reached: a target there would be the router itself (an SRV record
/// pointing back at it), a loop, and is skipped.
pub async fn connect(
    router: &Router,
    domain: &DomainName,
    this_router: Option<SocketAddr>,
) -> ChallengeRoute {
    let targets = match lookup(router, domain).await {
        Ok(Some(Selection::OptOut)) => return ChallengeRoute::OptOut,
        Ok(Some(Selection::Targets(targets))) => targets,
        Ok(None) => return ChallengeRoute::NoRecord,
        Err(detail) => return ChallengeRoute::Failed(detail),
    };
    let mut failures = Vec::new();
    for target in targets.iter().take(MAX_TARGETS) {
        match connect_target(router, target, this_router).await {
            Ok((stream, addr)) => {
                return ChallengeRoute::Connected {
                    stream,
                    target: target.target.clone(),
                    addr,
                };
            }
            Err(failure) => {
                tracing::warn!(%domain, target = %target.target, port = target.port, error = %failure, "target failed, trying the next");
                failures.push(failure);
            }
        }
    }
    if failures.is_empty() {
        failures.push("the SRV record has no usable target".to_owned());
    }
    ChallengeRoute::Failed(failures.join("; "))
}

/// The ordered records of the first name (the domain, then allowed parents) that has
/// any; `None` when none has.
async fn lookup(router: &Router, domain: &DomainName) -> Result<Option<Selection>, String> {
    let parents: Vec<DomainName> = if router.walk_up_parents {
        srv_scheme::labels::parent_names(domain, 2)
            .filter(|parent| router.is_allowed(parent))
            .collect()
    } else {
        Vec::new()
    };
    for name in std::iter::once(domain).chain(&parents) {
        let owner = router.labels.owner_name(Challenge::TlsAlpn01, name);
        match router.resolver.srv(&owner).await {
            Ok(SrvAnswer::Records(records)) => return Ok(Some(router.order(&records))),
            Ok(SrvAnswer::NoRecord { .. }) => {}
            Err(e) => return Err(format!("SRV lookup for {owner} failed: {e}")),
        }
    }
    Ok(None)
}

/// Connects to the first address of `target` that the policy allows and that answers.
async fn connect_target(
    router: &Router,
    target: &SrvRecord,
    this_router: Option<SocketAddr>,
) -> Result<(TcpStream, SocketAddr), String> {
    let addrs = router
        .resolver
        .addresses(&target.target)
        .await
        .map_err(|e| format!("{}: {e}", target.target))?;
    if addrs.is_empty() {
        return Err(format!("{}: no A or AAAA record", target.target));
    }
    let mut failures = Vec::new();
    for ip in addrs.iter().take(MAX_ADDRESSES_PER_TARGET) {
        let addr = match router.policy.check(ip, target.port) {
            Ok(checked) => SocketAddr::new(checked, target.port),
            Err(refusal) => {
                failures.push(format!("{} {ip}: {refusal}", target.target));
                continue;
            }
        };
        if this_router.is_some_and(|local| same_endpoint(local, addr)) {
            failures.push(format!("{} {addr}: is this router (a loop)", target.target));
            continue;
        }
        match tokio::time::timeout(router.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, addr)),
            Ok(Err(e)) => failures.push(format!("{} {addr}: {e}", target.target)),
            Err(_) => failures.push(format!("{} {addr}: connect timed out", target.target)),
        }
    }
    Err(failures.join("; "))
}

/// Whether two socket addresses are the same endpoint (an IPv4 address and its
/// IPv4-mapped IPv6 form are the same).
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical()
}
