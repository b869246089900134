//! NOTIFY out (RFC 1996): after every new serial, each configured secondary is told,
//! for every served zone, until it acknowledges; then it asks for the zone (IXFR) and
//! answers with the new data within a round trip instead of its refresh interval.
//!
//! A secondary that does not answer is asked again after 1 s, 2 s, 4 s, … up to
//! [`MAX_RETRY_INTERVAL`], for as long as the serial is current; a newer serial starts
//! a new round. NOTIFY is signed when the secondary has a TSIG key.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;

use crate::authority::Authority;
use crate::tsig::{ResponseSigner, Signed, TsigKey};

/// How long a NOTIFY waits for its answer before it counts as unanswered.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest pause between two rounds of NOTIFY to a silent secondary.
pub const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(60);
const FIRST_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// A secondary to notify.
#[derive(Debug, Clone)]
pub struct NotifyTarget {
    /// Its address (`ip:port`, UDP).
    pub addr: SocketAddr,
    /// The key NOTIFY messages are signed with, if any.
    pub key: Option<TsigKey>,
}

/// Notifies `targets` of every new serial of `authority` until `shutdown` completes.
pub async fn run(
    authority: Arc<Authority>,
    targets: Vec<NotifyTarget>,
    shutdown: impl Future<Output = ()>,
) {
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|target| tokio::spawn(notify_target(authority.clone(), target)))
        .collect();
    shutdown.await;
    for task in tasks {
        task.abort();
    }
}

async fn notify_target(authority: Arc<Authority>, target: NotifyTarget) {
    let mut serials = authority.subscribe_serials();
    loop {
        serials.borrow_and_update();
        let snapshot = authority.snapshot();
        let serial = snapshot.serial();
        let mut pending: BTreeSet<Name> = snapshot.origins().cloned().collect();
        // Each NOTIFY carries the zone's new SOA (RFC 1996 §3.7), so a secondary that
        // already has that serial need not ask.
        let soas: Vec<(Name, Option<hickory_proto::rr::Record>)> = pending
            .iter()
            .map(|zone| (zone.clone(), snapshot.soa(zone)))
            .collect();
        drop(snapshot);
        let mut pause = FIRST_RETRY_INTERVAL;
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            for zone in pending.clone() {
                let soa = soas
                    .iter()
                    .find(|(z, _)| *z == zone)
                    .and_then(|(_, soa)| soa.clone());
                match notify_once(&target, &zone, soa).await {
                    Ok(()) => {
                        tracing::info!(secondary = %target.addr, %zone, serial, "NOTIFY acknowledged");
                        metrics::counter!("acme_srv_dns_notify_total", "result" => "acknowledged")
                            .increment(1);
                        pending.remove(&zone);
                    }
                    Err(reason) => {
                        metrics::counter!("acme_srv_dns_notify_total", "result" => "unanswered")
                            .increment(1);
                        if round == 1 || pause == MAX_RETRY_INTERVAL {
                            tracing::warn!(secondary = %target.addr, %zone, serial, %reason, retry_in = ?pause, "NOTIFY not acknowledged");
                        }
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                changed = serials.changed() => {
                    if changed.is_err() { return; }
                    break;
                }
            }
            pause = (pause * 2).min(MAX_RETRY_INTERVAL);
        }
        if pending.is_empty() && serials.changed().await.is_err() {
            return;
        }
    }
}

/// Sends one NOTIFY for `zone` (with its SOA in the answer section when given) and waits
/// for its acknowledgement.
async fn notify_once(
    target: &NotifyTarget,
    zone: &Name,
    soa: Option<hickory_proto::rr::Record>,
) -> Result<(), String> {
    let bind: SocketAddr = if target.addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    socket
        .connect(target.addr)
        .await
        .map_err(|e| e.to_string())?;
    let id: u16 = rand_id();
    let mut message = Message::new(id, MessageType::Query, OpCode::Notify);
    message.metadata.authoritative = true;
    message.add_query(Query::query(zone.clone(), RecordType::SOA));
    if let Some(soa) = soa {
        message.add_answer(soa);
    }
    let mut wire = message.to_vec().map_err(|e| e.to_string())?;
    if let Some(key) = &target.key {
        // A request is signed like a first response without a prior MAC.
        let signed = Signed {
            key: key.clone(),
            request_mac: Vec::new(),
        };
        ResponseSigner::new_request(&signed).sign(&mut wire, crate::tsig::unix_now(), None, &[]);
    }
    socket.send(&wire).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        let len = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(Ok(len)) => len,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("no answer within {ANSWER_TIMEOUT:?}")),
        };
        let Ok(answer) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        if answer.metadata.id != id || answer.metadata.message_type != MessageType::Response {
            continue;
        }
        return match answer.metadata.response_code {
            ResponseCode::NoError => Ok(()),
            other => Err(format!("answered {other}")),
        };
    }
}

fn rand_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(crate::tsig::unix_now());
    hasher.finish() as u16
}
