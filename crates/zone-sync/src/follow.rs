//! Keeps the DNS server's snapshot equal to the store.
//!
//! The first snapshot is built from every stored record. The records are kept in a
//! compact mirror (owner → TTL and data, about 180 bytes per record), so after a
//! committed change (the store's change feed) only the owners that changed are read back
//! ([`RecordStore::changes_since`], [`RecordStore::records_at`]) and patched in; the
//! snapshot is then rebuilt from the mirror on a blocking thread and swapped in
//! atomically. A burst of changes is one rebuild. When the store's change journal no
//! longer reaches back to the mirror's serial, everything is read again, as at start.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dns_server::{Authority, Snapshot, ZoneSpec};
use hickory_proto::rr::Record;
use record_store::{RecordData, RecordStore};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::with_causes;
use crate::{ZoneSyncError, to_dns_record};

/// Builds the first snapshot ([`StoreFollower::load`]) and spawns the task that follows
/// the store ([`StoreFollower::run`]) onto `tasks`, until `shutdown`. Returns the
/// authority to serve.
///
/// The follower task never fails (it logs and retries; it ends with `Ok` at shutdown or
/// when the store's change feed ends), so `tasks` may carry any error type.
pub async fn start<E: Send + 'static>(
    store: Arc<dyn RecordStore>,
    specs: Vec<ZoneSpec>,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<Result<(), E>>,
) -> Result<Arc<Authority>, ZoneSyncError> {
    let follower = StoreFollower::load(store, specs).await?;
    let authority = follower.authority();
    tasks.spawn(async move {
        follower.run(shutdown).await;
        Ok(())
    });
    Ok(authority)
}

/// Keeps an [`Authority`]'s snapshot equal to the store: the zone specs plus every
/// stored record, at the store's serial.
pub struct StoreFollower {
    store: Arc<dyn RecordStore>,
    specs: Arc<Vec<ZoneSpec>>,
    /// The store's change feed, subscribed to before the first read.
    changes: watch::Receiver<u32>,
    /// `None` after a failed rebuild (the mirror went with it): read everything again.
    mirror: Option<Mirror>,
    authority: Arc<Authority>,
}

impl StoreFollower {
    /// Reads every stored record and builds the first snapshot from them and `specs`.
    /// Changes committed from here on are seen by [`run`](Self::run).
    pub async fn load(
        store: Arc<dyn RecordStore>,
        specs: Vec<ZoneSpec>,
    ) -> Result<StoreFollower, ZoneSyncError> {
        let changes = store.subscribe();
        let specs = Arc::new(specs);
        let mirror = Mirror::load(store.as_ref()).await?;
        let (mirror, snapshot) = rebuild(mirror, specs.clone(), None).await?;
        Ok(StoreFollower {
            store,
            specs,
            changes,
            mirror: Some(mirror),
            authority: Arc::new(Authority::new(snapshot)),
        })
    }

    /// The authority whose snapshot this follower replaces: what the DNS server answers
    /// from ([`dns_server::run`]).
    pub fn authority(&self) -> Arc<Authority> {
        self.authority.clone()
    }

    /// Follows the store's change feed until `shutdown` is cancelled or the feed ends,
    /// swapping in a new snapshot after each change (a burst is one rebuild). When
    /// the store cannot be read or a snapshot cannot be built, the previous snapshot
    /// stays served: the error is logged and tried again [`RETRY_AFTER`] later.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Coalesce a burst: the journal read below covers every change
                    // committed so far.
                    self.changes.borrow_and_update();
                    if let Err(e) = self.follow().await {
                        tracing::error!(error = %with_causes(&e), "updating the DNS snapshot failed; serving the previous one, retrying in {RETRY_AFTER:?}");
                        tokio::select! {
                            () = tokio::time::sleep(RETRY_AFTER) => self.changes.mark_changed(),
                            () = shutdown.cancelled() => return,
                        }
                    }
                }
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Brings the mirror up to date with the store and swaps in a snapshot built from
    /// it. The mirror stays as it was when reading fails, and is dropped (`None`, to be
    /// read whole next time) when the build fails.
    async fn follow(&mut self) -> Result<(), ZoneSyncError> {
        let store = self.store.as_ref();
        let (current, changed) = match self.mirror.take() {
            Some(mut current) => match current.catch_up(store).await {
                Ok(changed) => (current, changed),
                Err(e) => {
                    self.mirror = Some(current);
                    return Err(e);
                }
            },
            None => (Mirror::load(store).await?, None),
        };
        // The owners that changed, as names, for the IXFR journal; none after a full read.
        let changed_names: Option<Vec<hickory_proto::rr::Name>> = changed.as_ref().map(|owners| {
            owners
                .iter()
                .filter_map(|owner| hickory_proto::rr::Name::from_ascii(format!("{owner}.")).ok())
                .collect()
        });
        let (current, snapshot) = rebuild(current, self.specs.clone(), changed).await?;
        self.mirror = Some(current);
        match changed_names {
            Some(names) => self.authority.replace_after_changes(snapshot, &names),
            None => self.authority.replace(snapshot),
        }
        Ok(())
    }
}

/// How long to wait before trying again after the store could not be read or a
/// snapshot could not be built.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The stored records by owner, at a serial. Kept in the store's own form, which is
/// less than half the size of hickory's records; they are turned into DNS records
/// while a snapshot is built.
struct Mirror {
    serial: u32,
    by_owner: BTreeMap<String, Box<[(u32, RecordData)]>>,
    count: usize,
}

impl Mirror {
    /// Reads every record. The serial is read first, so the records are at least that
    /// new and a later [`catch_up`](Self::catch_up) cannot miss a change.
    async fn load(store: &dyn RecordStore) -> Result<Mirror, ZoneSyncError> {
        let serial = store
            .serial()
            .await
            .map_err(ZoneSyncError::store("the zone serial"))?;
        let records = store
            .all_records()
            .await
            .map_err(ZoneSyncError::store("every record"))?;
        let mut mirror = Mirror {
            serial,
            by_owner: BTreeMap::new(),
            count: 0,
        };
        mirror.insert(records);
        Ok(mirror)
    }

    /// Brings the mirror up to the store's latest serial. Returns the owners that
    /// changed, or `None` when everything was read again.
    async fn catch_up(
        &mut self,
        store: &dyn RecordStore,
    ) -> Result<Option<Vec<String>>, ZoneSyncError> {
        let Some(changes) = store
            .changes_since(self.serial)
            .await
            .map_err(ZoneSyncError::store("the change journal"))?
        else {
            tracing::info!(
                serial = self.serial,
                "the change journal no longer reaches the snapshot's serial; reading every record"
            );
            *self = Mirror::load(store).await?;
            return Ok(None);
        };
        let records = store
            .records_at(&changes.owners)
            .await
            .map_err(ZoneSyncError::store("the changed records"))?;
        for owner in &changes.owners {
            if let Some(old) = self.by_owner.remove(owner) {
                self.count -= old.len();
            }
        }
        // Records read here may be newer than `changes.serial`; the change that made
        // them is also in the journal after it, so the next catch-up reads them again.
        self.insert(records);
        self.serial = changes.serial;
        Ok(Some(changes.owners))
    }

    /// Adds `records` (ordered by owner, as the store returns them). Each owner's records
    /// go into one exactly-sized slice: a growing `Vec` per owner would keep room for
    /// four records where most owners have one.
    fn insert(&mut self, records: Vec<record_store::Record>) {
        let mut records = records.into_iter().peekable();
        while let Some(first) = records.next() {
            let mut data = vec![(first.ttl, first.data)];
            while let Some(next) = records.next_if(|next| next.owner == first.owner) {
                data.push((next.ttl, next.data));
            }
            self.count += data.len();
            let merged = match self.by_owner.remove(&first.owner) {
                // Not expected (the store orders by owner), but kept if it happens.
                Some(earlier) => earlier.into_iter().chain(data).collect(),
                None => data.into_boxed_slice(),
            };
            self.by_owner.insert(first.owner, merged);
        }
    }

    /// The records as DNS records; those whose names do not parse are left out, and
    /// logged when `report(owner)` says so (so an old one is not logged on every build).
    fn dns_records<'a>(
        &'a self,
        report: impl Fn(&str) -> bool + Copy + 'a,
    ) -> impl Iterator<Item = Record> + 'a {
        self.by_owner.iter().flat_map(move |(owner, records)| {
            records.iter().filter_map(move |(ttl, data)| {
                let dns = to_dns_record(owner, *ttl, data);
                if dns.is_none() && report(owner) {
                    tracing::warn!(%owner, "stored record has an unparsable name; not served");
                }
                dns
            })
        })
    }
}

/// Builds a snapshot from the mirror on a blocking thread (it takes a while for a large
/// zone) and gives the mirror back.
async fn rebuild(
    mirror: Mirror,
    specs: Arc<Vec<ZoneSpec>>,
    changed: Option<Vec<String>>,
) -> Result<(Mirror, Snapshot), ZoneSyncError> {
    tokio::task::spawn_blocking(move || {
        let snapshot = build(&mirror, &specs, changed);
        (mirror, snapshot)
    })
    .await
    .map_err(ZoneSyncError::SnapshotBuildPanicked)
}

/// Builds a snapshot from the mirror. Records that cannot be served are logged: all of
/// them after a full read (`changed` is `None`), else only those of changed owners, so
/// one bad record is not logged again on every build.
fn build(mirror: &Mirror, specs: &[ZoneSpec], changed: Option<Vec<String>>) -> Snapshot {
    let started = Instant::now();
    let changed: Option<BTreeSet<String>> = changed.map(BTreeSet::from_iter);
    let report = |owner: &str| changed.as_ref().is_none_or(|set| set.contains(owner));
    let (snapshot, skipped) = Snapshot::build(specs, mirror.dns_records(report), mirror.serial);
    for record in &skipped {
        let owner = crate::names::from_dns(&record.record.name).ok();
        if owner.is_none_or(|owner| report(owner.as_str())) {
            tracing::warn!(%record, "stored record not served");
        }
    }
    tracing::info!(
        serial = mirror.serial,
        records = mirror.count,
        changed_owners = changed.as_ref().map(BTreeSet::len),
        took_ms = started.elapsed().as_millis() as u64,
        "DNS snapshot built"
    );
    metrics::gauge!("acme_srv_dns_records").set(mirror.count as f64);
    snapshot
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::Name;
    use hickory_proto::rr::rdata::SOA;
    use record_store::SqliteStore;

    use super::*;

    fn txt(owner: &str, value: &str) -> record_store::Record {
        record_store::Record {
            owner: owner.to_owned(),
            ttl: 60,
            data: RecordData::Txt {
                value: value.to_owned(),
            },
        }
    }

    fn zone() -> ZoneSpec {
        let origin = Name::from_str("acme.test.").unwrap();
        ZoneSpec {
            origin: origin.clone(),
            soa: SOA::new(
                origin.prepend_label("ns").unwrap(),
                origin.prepend_label("hostmaster").unwrap(),
                0,
                3600,
                600,
                86400,
                60,
            ),
            soa_ttl: 3600,
            ns: vec![origin.prepend_label("ns").unwrap()],
            static_records: Vec::new().into(),
        }
    }

    async fn store(journal_rows: i64) -> (tempfile::TempDir, Arc<dyn RecordStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("records.sqlite"))
            .await
            .unwrap()
            .with_journal_rows(journal_rows);
        (dir, Arc::new(store))
    }

    fn owners(mirror: &Mirror) -> Vec<&str> {
        mirror.by_owner.keys().map(String::as_str).collect()
    }

    #[tokio::test]
    async fn catch_up_reads_only_the_changed_owners() {
        let (_dir, store) = store(100).await;
        store.add_record(&txt("a.acme.test", "1")).await.unwrap();
        store.add_record(&txt("b.acme.test", "1")).await.unwrap();
        let mut mirror = Mirror::load(store.as_ref()).await.unwrap();
        assert_eq!(owners(&mirror), ["a.acme.test", "b.acme.test"]);

        store.add_record(&txt("c.acme.test", "1")).await.unwrap();
        store.delete_records("a.acme.test", None).await.unwrap();
        let changed = mirror.catch_up(store.as_ref()).await.unwrap();

        assert_eq!(
            changed,
            Some(vec!["a.acme.test".to_owned(), "c.acme.test".to_owned()])
        );
        assert_eq!(owners(&mirror), ["b.acme.test", "c.acme.test"]);
        assert_eq!(mirror.count, 2);
        assert_eq!(mirror.serial, store.serial().await.unwrap());
    }

    #[tokio::test]
    async fn a_pruned_journal_reads_everything_again() {
        let (_dir, store) = store(1).await;
        store.add_record(&txt("a.acme.test", "1")).await.unwrap();
        let mut mirror = Mirror::load(store.as_ref()).await.unwrap();

        // Three changes to three owners; the journal keeps only the last one.
        for owner in ["b.acme.test", "c.acme.test", "d.acme.test"] {
            store.add_record(&txt(owner, "1")).await.unwrap();
        }
        let changed = mirror.catch_up(store.as_ref()).await.unwrap();

        assert_eq!(changed, None, "the journal cannot reach back; full read");
        assert_eq!(
            owners(&mirror),
            ["a.acme.test", "b.acme.test", "c.acme.test", "d.acme.test"]
        );
        assert_eq!(mirror.count, 4);
    }

    /// Counts the warnings logged while `f` runs on this thread.
    fn warnings_during(f: impl FnOnce()) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tracing_subscriber::layer::{Context, SubscriberExt};

        struct CountWarnings(Arc<AtomicUsize>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
            fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
                if *event.metadata().level() == tracing::Level::WARN {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        let count = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(CountWarnings(count.clone()));
        tracing::subscriber::with_default(subscriber, f);
        count.load(Ordering::SeqCst)
    }

    #[test]
    fn records_not_served_are_logged_once_not_on_every_build() {
        let mut mirror = Mirror {
            serial: 1,
            by_owner: BTreeMap::new(),
            count: 0,
        };
        mirror.insert(vec![
            txt("a.acme.test", "served"),
            // A label longer than 63 bytes: the name does not parse.
            txt(&format!("{}.acme.test", "x".repeat(70)), "bad name"),
            // Outside every served zone.
            txt("b.other.test", "no zone"),
        ]);
        let specs = [zone()];

        // Built from everything: both are logged.
        assert_eq!(warnings_during(|| drop(build(&mirror, &specs, None))), 2);
        // Built after a change to another owner: neither again.
        let other = Some(vec!["a.acme.test".to_owned()]);
        assert_eq!(warnings_during(|| drop(build(&mirror, &specs, other))), 0);
        // Built after a change to the owner outside the zones: that one again.
        let outside = Some(vec!["b.other.test".to_owned()]);
        assert_eq!(warnings_during(|| drop(build(&mirror, &specs, outside))), 1);
    }
}
