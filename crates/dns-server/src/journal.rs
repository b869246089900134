//! The zone change journal that IXFR (RFC 1995) answers from: for each snapshot that
//! replaced another after a known set of owners changed, the records deleted and added
//! in each zone, kept in memory up to a bound.
//!
//! The serial is one for all zones (the store's), so a zone's history is the whole
//! chain of steps: a step that changed nothing in a zone is an empty difference for it.
//! A full rebuild (the first load, or a store that could not say what changed) clears
//! the journal; IXFR from a serial it no longer reaches is answered with the whole zone.

use std::collections::VecDeque;

use hickory_proto::rr::{LowerName, Name, Record, RecordType};

use crate::snapshot::Snapshot;

/// Records kept in the journal at most, over all steps: the oldest steps go first.
pub const MAX_JOURNAL_RECORDS: usize = 100_000;

/// What one zone lost and gained between two serials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoneDelta {
    /// The serial before.
    pub from: u32,
    /// The serial after.
    pub to: u32,
    /// Records no longer served.
    pub deleted: Vec<Record>,
    /// Records newly served.
    pub added: Vec<Record>,
}

/// One snapshot replacing another.
#[derive(Debug)]
struct Step {
    from: u32,
    to: u32,
    /// Per zone origin, what changed there.
    zones: Vec<(LowerName, Vec<Record>, Vec<Record>)>,
    records: usize,
}

/// The steps since the last full rebuild, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    steps: VecDeque<Step>,
    records: usize,
}

impl Journal {
    /// Forgets every step (after a full rebuild).
    pub(crate) fn clear(&mut self) {
        self.steps.clear();
        self.records = 0;
    }

    /// Records the step from `old` to `new`, where only the records of `changed` owners
    /// differ. A step that does not continue the chain (its `from` is not the last
    /// `to`) starts a new chain.
    pub(crate) fn record(&mut self, old: &Snapshot, new: &Snapshot, changed: &[Name]) {
        let (from, to) = (old.serial(), new.serial());
        if from == to {
            return;
        }
        if self.steps.back().is_some_and(|last| last.to != from) {
            self.clear();
        }
        let mut zones: Vec<(LowerName, Vec<Record>, Vec<Record>)> = Vec::new();
        for name in changed {
            let Some(origin) = new.zone_of(name).or_else(|| old.zone_of(name)) else {
                continue;
            };
            let origin = LowerName::from(origin);
            let before = records_at(old, name);
            let after = records_at(new, name);
            let deleted: Vec<Record> = before
                .iter()
                .filter(|r| !contains(&after, r))
                .cloned()
                .collect();
            let added: Vec<Record> = after
                .iter()
                .filter(|r| !contains(&before, r))
                .cloned()
                .collect();
            if deleted.is_empty() && added.is_empty() {
                continue;
            }
            match zones.iter_mut().find(|(o, _, _)| *o == origin) {
                Some((_, d, a)) => {
                    d.extend(deleted);
                    a.extend(added);
                }
                None => zones.push((origin, deleted, added)),
            }
        }
        let records = zones.iter().map(|(_, d, a)| d.len() + a.len()).sum();
        self.steps.push_back(Step {
            from,
            to,
            zones,
            records,
        });
        self.records += records;
        while self.records > MAX_JOURNAL_RECORDS {
            let Some(oldest) = self.steps.pop_front() else {
                break;
            };
            self.records -= oldest.records;
        }
    }

    /// The steps that lead zone `origin` from `serial` to `current`, oldest first;
    /// `None` when the journal does not reach back to `serial`.
    pub(crate) fn since(
        &self,
        origin: &LowerName,
        serial: u32,
        current: u32,
    ) -> Option<Vec<ZoneDelta>> {
        let start = self.steps.iter().position(|step| step.from == serial)?;
        let steps: Vec<&Step> = self.steps.iter().skip(start).collect();
        if steps.last().map(|s| s.to) != Some(current) {
            return None;
        }
        Some(
            steps
                .into_iter()
                .map(|step| {
                    let (deleted, added) = step
                        .zones
                        .iter()
                        .find(|(o, _, _)| o == origin)
                        .map(|(_, d, a)| (d.clone(), a.clone()))
                        .unwrap_or_default();
                    ZoneDelta {
                        from: step.from,
                        to: step.to,
                        deleted,
                        added,
                    }
                })
                .collect(),
        )
    }
}

/// The records at `name` in `snapshot`, SOA excluded (IXFR carries the SOAs itself).
fn records_at(snapshot: &Snapshot, name: &Name) -> Vec<Record> {
    snapshot
        .rrsets_at(name)
        .into_iter()
        .flatten()
        .filter(|r| r.record_type() != RecordType::SOA)
        .collect()
}

/// Whether `records` holds `record`: the same name (any case), type, TTL and data.
fn contains(records: &[Record], record: &Record) -> bool {
    records.iter().any(|r| {
        r.record_type() == record.record_type()
            && r.ttl == record.ttl
            && r.data == record.data
            && LowerName::from(&r.name) == LowerName::from(&record.name)
    })
}

/// RFC 1982 serial number arithmetic: whether `a` is before `b`.
pub fn serial_before(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

#[cfg(test)]
mod tests {
    use super::serial_before;

    #[test]
    fn serial_arithmetic_wraps_as_rfc_1982_says() {
        assert!(serial_before(1, 2));
        assert!(!serial_before(2, 1));
        assert!(!serial_before(5, 5));
        assert!(serial_before(u32::MAX, 0), "0 follows 4294967295");
        assert!(serial_before(u32::MAX - 10, 5));
        assert!(!serial_before(5, u32::MAX - 10));
        assert!(serial_before(0, 0x7fff_ffff));
        // 2^31 apart is undefined in RFC 1982: treated as not before either way.
        assert!(!serial_before(0, 0x8000_0000));
    }
}
