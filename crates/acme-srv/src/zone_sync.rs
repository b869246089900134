//! Keeps the DNS server's snapshot equal to the store: built once at start, rebuilt
//! after every committed change (the store's change feed), swapped in atomically.

use std::sync::Arc;

use anyhow::Context;
use dns_server::{Authority, Snapshot, ZoneSpec};
use record_store::RecordStore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::dns_records;

/// Builds the first snapshot and spawns the task that follows the store.
pub(crate) async fn start(
    store: Arc<dyn RecordStore>,
    specs: Vec<ZoneSpec>,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<Arc<Authority>> {
    let mut changes = store.subscribe();
    let authority = Arc::new(Authority::new(build(store.as_ref(), &specs).await?));
    let follower = authority.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    // Coalesce a burst: the rebuild reads the latest state anyway.
                    changes.borrow_and_update();
                    match build(store.as_ref(), &specs).await {
                        Ok(snapshot) => follower.replace(snapshot),
                        Err(e) => tracing::error!(error = %format!("{e:#}"), "rebuilding the DNS snapshot failed; serving the previous one"),
                    }
                }
                () = shutdown.cancelled() => return Ok(()),
            }
        }
    });
    Ok(authority)
}

async fn build(store: &dyn RecordStore, specs: &[ZoneSpec]) -> anyhow::Result<Snapshot> {
    let started = std::time::Instant::now();
    let serial = store.serial().await.context("reading the zone serial")?;
    let records = store.all_records().await.context("reading records")?;
    let dynamic = records.iter().filter_map(|r| {
        let dns = dns_records::to_dns(r);
        if dns.is_none() {
            tracing::warn!(owner = %r.owner, "stored record has an unparsable name; not served");
        }
        dns
    });
    let (snapshot, skipped) = Snapshot::build(specs, dynamic, serial);
    for record in &skipped {
        tracing::warn!(record = ?record, "stored record is outside every served zone; not served");
    }
    tracing::info!(
        serial,
        records = records.len(),
        took_ms = started.elapsed().as_millis() as u64,
        "DNS snapshot built"
    );
    metrics::gauge!("acme_srv_dns_records").set(records.len() as f64);
    Ok(snapshot)
}
