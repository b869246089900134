//! Push into an existing primary: for operators who keep their own DNS (BIND, Knot,
//! PowerDNS…), acme-srv writes the records it owns in a zone into that zone's primary
//! with RFC 2136 UPDATE, signed with TSIG.
//!
//! What acme-srv owns is what its store holds under the zone (the records written
//! through its API or UPDATE); static records of the configuration are not pushed, and
//! nothing else on the primary is ever touched: a change deletes exactly the records
//! acme-srv deleted, and adds exactly those it added.
//!
//! - **Changes** go out as they happen, from the DNS server's change journal
//!   ([`dns_server::Authority::changes_since`]): one UPDATE per new serial, deletions
//!   first.
//! - **Reconciling**, at start, every `reconcile_every`, and whenever the journal no
//!   longer reaches back: every owned RRset is asked for at the primary, and records
//!   missing there are added again (logged as drift). A record deleted in acme-srv while
//!   it was not running is not removed from the primary: acme-srv keeps no record of
//!   what it pushed before.
//! - **Failures** (the primary unreachable, REFUSED, a TSIG error) are retried with
//!   back-off from 1 s up to a minute; the pending changes are not lost, as they are read
//!   from the journal again (or reconciled).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dns_server::tsig::{ResponseSigner, Signed, TsigKey};
use dns_server::{Authority, serial_before};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use record_store::RecordStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::stored_records::to_dns_record;

/// Time for one exchange with the primary (connect, send, answer).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// One zone pushed into a primary.
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// The zone's origin (fully qualified).
    pub zone: Name,
    /// The primary's address (TCP).
    pub primary: SocketAddr,
    /// The key UPDATE messages are signed with.
    pub key: Option<TsigKey>,
    /// How often every owned RRset is checked against the primary.
    pub reconcile_every: Duration,
}

/// Pushes `target`'s zone from `store` (what is owned) and `authority` (what changed)
/// until `shutdown`.
pub async fn run(
    target: PushTarget,
    store: Arc<dyn RecordStore>,
    authority: Arc<Authority>,
    shutdown: CancellationToken,
) {
    let mut serials = authority.subscribe_serials();
    let mut pushed: Option<u32> = None;
    let mut retry = FIRST_RETRY;
    let mut next_reconcile = tokio::time::Instant::now();
    loop {
        let current = authority.snapshot().serial();
        let due = tokio::time::Instant::now() >= next_reconcile;
        let result = match pushed {
            Some(serial) if !due && !serial_before(serial, current) => Ok(()),
            Some(serial) if !due => match authority.changes_since(&target.zone, serial) {
                Some(steps) => push_changes(&target, steps).await,
                None => reconcile(&target, store.as_ref()).await,
            },
            _ => reconcile(&target, store.as_ref()).await,
        };
        match result {
            Ok(()) => {
                if due || pushed.is_none() {
                    next_reconcile = tokio::time::Instant::now() + target.reconcile_every;
                }
                pushed = Some(current);
                retry = FIRST_RETRY;
                tokio::select! {
                    changed = serials.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep_until(next_reconcile) => {}
                    () = shutdown.cancelled() => return,
                }
            }
            Err(reason) => {
                tracing::warn!(zone = %target.zone, primary = %target.primary, %reason, retry_in = ?retry, "push to the primary failed");
                metrics::counter!("acme_srv_push_failures_total").increment(1);
                tokio::select! {
                    () = tokio::time::sleep(retry) => {}
                    () = shutdown.cancelled() => return,
                }
                retry = (retry * 2).min(MAX_RETRY);
            }
        }
    }
}

/// Sends the journal's steps: each one UPDATE, deletions then additions.
async fn push_changes(
    target: &PushTarget,
    steps: Vec<dns_server::ZoneDelta>,
) -> Result<(), String> {
    for step in steps {
        if step.deleted.is_empty() && step.added.is_empty() {
            continue;
        }
        let mut operations: Vec<Record> = step
            .deleted
            .iter()
            .map(|record| {
                let mut delete = record.clone();
                delete.dns_class = DNSClass::NONE;
                delete.ttl = 0;
                delete
            })
            .collect();
        operations.extend(step.added.iter().cloned());
        update(target, operations).await?;
        tracing::info!(zone = %target.zone, primary = %target.primary, serial = step.to, deleted = step.deleted.len(), added = step.added.len(), "pushed a change to the primary");
        metrics::counter!("acme_srv_push_updates_total").increment(1);
    }
    Ok(())
}

/// Adds every owned record the primary lacks.
async fn reconcile(target: &PushTarget, store: &dyn RecordStore) -> Result<(), String> {
    let zone =
        crate::names::from_dns(&target.zone).map_err(|e| format!("zone {}: {e}", target.zone))?;
    let owned = store
        .records_under(zone.as_str())
        .await
        .map_err(|e| format!("reading the store: {e}"))?;
    let mut rrsets: BTreeMap<(Name, RecordType), Vec<Record>> = BTreeMap::new();
    for stored in &owned {
        if let Some(record) = to_dns_record(&stored.owner, stored.ttl, &stored.data) {
            rrsets
                .entry((record.name.to_lowercase(), record.record_type()))
                .or_default()
                .push(record);
        }
    }
    let mut missing = Vec::new();
    for ((name, record_type), records) in &rrsets {
        let present = query(target, name, *record_type).await?;
        missing.extend(
            records
                .iter()
                .filter(|r| !present.iter().any(|p| p.data == r.data))
                .cloned(),
        );
    }
    if !missing.is_empty() {
        tracing::warn!(zone = %target.zone, primary = %target.primary, missing = missing.len(), owned = owned.len(), "drift: records acme-srv owns were missing on the primary; adding them");
        metrics::counter!("acme_srv_push_drift_records_total").increment(missing.len() as u64);
        for chunk in missing.chunks(100) {
            update(target, chunk.to_vec()).await?;
        }
    }
    tracing::info!(zone = %target.zone, primary = %target.primary, owned = owned.len(), re_added = missing.len(), "reconciled with the primary");
    Ok(())
}

/// The RRset `name`/`record_type` as the primary serves it.
async fn query(
    target: &PushTarget,
    name: &Name,
    record_type: RecordType,
) -> Result<Vec<Record>, String> {
    let mut message = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    message.add_query(Query::query(name.clone(), record_type));
    let answer = exchange(target.primary, message.to_vec().map_err(|e| e.to_string())?).await?;
    match answer.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => Ok(answer
            .answers
            .into_iter()
            .filter(|r| r.record_type() == record_type && r.name.to_lowercase() == *name)
            .collect()),
        other => Err(format!(
            "the primary answered {other} for {name} {record_type}"
        )),
    }
}

/// Sends one UPDATE of `operations` (the update section) for the zone.
async fn update(target: &PushTarget, operations: Vec<Record>) -> Result<(), String> {
    let mut message = Message::new(rand_id(), MessageType::Query, OpCode::Update);
    message.add_query(Query::query(target.zone.clone(), RecordType::SOA));
    for mut record in operations {
        if let RData::Update0(_) = record.data {
            record.ttl = 0;
        }
        message.add_authority(record);
    }
    let mut wire = message.to_vec().map_err(|e| e.to_string())?;
    if let Some(key) = &target.key {
        let signed = Signed {
            key: key.clone(),
            request_mac: Vec::new(),
        };
        ResponseSigner::new_request(&signed).sign(
            &mut wire,
            dns_server::tsig::unix_now(),
            None,
            &[],
        );
    }
    let answer = exchange(target.primary, wire).await?;
    match answer.metadata.response_code {
        ResponseCode::NoError => Ok(()),
        other => Err(format!("the primary answered the UPDATE with {other}")),
    }
}

/// One message over TCP, and its answer.
async fn exchange(primary: SocketAddr, wire: Vec<u8>) -> Result<Message, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(primary)
            .await
            .map_err(|e| e.to_string())?;
        let len = u16::try_from(wire.len()).map_err(|_| "message over 64 KiB".to_owned())?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&wire);
        stream.write_all(&framed).await.map_err(|e| e.to_string())?;
        let mut length = [0u8; 2];
        stream
            .read_exact(&mut length)
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream
            .read_exact(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        Message::from_vec(&answer).map_err(|e| e.to_string())
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer from {primary} within {EXCHANGE_TIMEOUT:?}"
            ))
        })
}

fn rand_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(dns_server::tsig::unix_now());
    hasher.finish() as u16
}
