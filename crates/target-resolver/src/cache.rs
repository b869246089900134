//! A TTL cache with serve-stale, keyed by (lowercased name, record type).
//!
//! An entry is *fresh* until its TTL runs out, then *stale* for `serve_stale_for`
//! longer; a stale entry is only handed out when the upstream has just failed
//! ([`AnswerCache::get_stale`]). When the cache is full, entries past their stale window
//! go first, then the ones closest to expiry.
//!
//! Reads take a shared lock only (many readers at once) and allocate nothing when the
//! name is already lowercase; the answers for one name (SRV, CNAME, A, AAAA) share one
//! map slot.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::time::Instant;

/// What a cache lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached<V> {
    /// Within its TTL.
    Fresh(V),
    /// Nothing usable without asking upstream.
    Miss,
}

struct Entry<V> {
    value: V,
    fresh_until: Instant,
    stale_until: Instant,
}

/// The record types cached, each with its place in a name's slot.
const TYPES: [RecordType; 4] = [
    RecordType::SRV,
    RecordType::CNAME,
    RecordType::A,
    RecordType::AAAA,
];

fn type_index(record_type: RecordType) -> Option<usize> {
    TYPES.iter().position(|t| *t == record_type)
}

/// The answers held for one name.
struct Slot<V> {
    entries: [Option<Entry<V>>; TYPES.len()],
}

impl<V> Slot<V> {
    fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }
}

struct Inner<V> {
    names: HashMap<Box<str>, Slot<V>>,
    /// Entries held, over all names.
    len: usize,
}

/// The cache; cheap to share behind an `Arc`. Only SRV, CNAME, A and AAAA answers are
/// kept; other types are never cached.
pub struct AnswerCache<V> {
    inner: RwLock<Inner<V>>,
    capacity: usize,
    serve_stale_for: Duration,
}

/// `name` lowercased, borrowed when it already is.
fn lowercase(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    }
}

impl<V: Clone> AnswerCache<V> {
    /// A cache of at most `capacity` entries, serving stale answers for `serve_stale_for`.
    pub fn new(capacity: usize, serve_stale_for: Duration) -> Self {
        Self {
            inner: RwLock::new(Inner {
                names: HashMap::new(),
                len: 0,
            }),
            capacity: capacity.max(1),
            serve_stale_for,
        }
    }

    /// Runs `f` on the entry for `name`/`record_type`, under the shared lock.
    fn with_entry<T>(
        &self,
        name: &str,
        record_type: RecordType,
        f: impl FnOnce(&Entry<V>) -> Option<T>,
    ) -> Option<T> {
        let index = type_index(record_type)?;
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let slot = inner.names.get(&*lowercase(name))?;
        slot.entries[index].as_ref().and_then(f)
    }

    /// The fresh entry for `name`/`record_type`, if any.
    pub fn get(&self, name: &str, record_type: RecordType) -> Cached<V> {
        let now = Instant::now();
        self.with_entry(name, record_type, |e| {
            (now < e.fresh_until).then(|| e.value.clone())
        })
        .map_or(Cached::Miss, Cached::Fresh)
    }

    /// The entry for `name`/`record_type` if it is fresh or within its stale window:
    /// for use after the upstream failed.
    pub fn get_stale(&self, name: &str, record_type: RecordType) -> Option<V> {
        let now = Instant::now();
        self.with_entry(name, record_type, |e| {
            (now < e.stale_until).then(|| e.value.clone())
        })
    }

    /// After the upstream failed: the entry for `name`/`record_type` if it is within its
    /// stale window, made fresh again for `recheck` (never beyond its stale window), so
    /// that the next lookups use it at once instead of each waiting for the upstream to
    /// fail again (RFC 8767's failure recheck timer).
    pub fn get_stale_and_hold(
        &self,
        name: &str,
        record_type: RecordType,
        recheck: Duration,
    ) -> Option<V> {
        let index = type_index(record_type)?;
        let now = Instant::now();
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let entry = inner.names.get_mut(&*lowercase(name))?.entries[index].as_mut()?;
        if now >= entry.stale_until {
            return None;
        }
        entry.fresh_until = (now + recheck).min(entry.stale_until);
        Some(entry.value.clone())
    }

    /// Stores `value` for `ttl` (nothing for a type that is not cached).
    pub fn insert(&self, name: &str, record_type: RecordType, value: V, ttl: Duration) {
        let Some(index) = type_index(record_type) else {
            return;
        };
        let now = Instant::now();
        let fresh_until = now + ttl;
        let entry = Entry {
            value,
            fresh_until,
            stale_until: fresh_until + self.serve_stale_for,
        };
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *guard;
        if inner.len >= self.capacity {
            for slot in inner.names.values_mut() {
                for e in &mut slot.entries {
                    if e.as_ref().is_some_and(|e| e.stale_until <= now) {
                        *e = None;
                    }
                }
            }
            inner.names.retain(|_, slot| slot.len() > 0);
            inner.len = inner.names.values().map(Slot::len).sum();
        }
        if inner.len >= self.capacity {
            // Still full: drop the tenth of entries closest to going stale.
            let mut by_expiry: Vec<_> = inner
                .names
                .iter()
                .flat_map(|(k, slot)| {
                    slot.entries
                        .iter()
                        .enumerate()
                        .filter_map(move |(i, e)| e.as_ref().map(|e| (e.fresh_until, k.clone(), i)))
                })
                .collect();
            by_expiry.sort_by_key(|(t, _, _)| *t);
            for (_, key, i) in by_expiry.into_iter().take(self.capacity / 10 + 1) {
                if let Some(slot) = inner.names.get_mut(&key) {
                    if slot.entries[i].take().is_some() {
                        inner.len -= 1;
                    }
                    if slot.len() == 0 {
                        inner.names.remove(&key);
                    }
                }
            }
        }
        let slot = match inner.names.get_mut(&*lowercase(name)) {
            Some(slot) => slot,
            None => inner
                .names
                .entry(name.to_ascii_lowercase().into_boxed_str())
                .or_insert_with(|| Slot {
                    entries: std::array::from_fn(|_| None),
                }),
        };
        if slot.entries[index].replace(entry).is_none() {
            inner.len += 1;
        }
    }

    /// Number of entries held (fresh or not).
    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).len
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fresh_then_stale_then_gone() {
        let cache = AnswerCache::new(10, Duration::from_secs(60));
        cache.insert("A.test", RecordType::SRV, 7, Duration::from_secs(5));
        assert_eq!(cache.get("a.test", RecordType::SRV), Cached::Fresh(7));
        assert_eq!(cache.get("a.test", RecordType::A), Cached::Miss);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(cache.get("a.test", RecordType::SRV), Cached::Miss);
        assert_eq!(cache.get_stale("a.test", RecordType::SRV), Some(7));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(cache.get_stale("a.test", RecordType::SRV), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_answer_held_after_a_failure_is_fresh_for_the_recheck_time_only() {
        let cache = AnswerCache::new(10, Duration::from_secs(60));
        cache.insert("a.test", RecordType::SRV, 7, Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.get("a.test", RecordType::SRV), Cached::Miss);
        let held = cache.get_stale_and_hold("a.test", RecordType::SRV, Duration::from_secs(5));
        assert_eq!(held, Some(7));
        // The next lookups find it without asking upstream...
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(cache.get("a.test", RecordType::SRV), Cached::Fresh(7));
        // ...until the recheck time is over.
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.get("a.test", RecordType::SRV), Cached::Miss);
        // Never beyond the stale window.
        tokio::time::advance(Duration::from_secs(58)).await;
        let late = cache.get_stale_and_hold("a.test", RecordType::SRV, Duration::from_secs(5));
        assert_eq!(late, None);
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_is_kept() {
        let cache = AnswerCache::new(20, Duration::from_secs(1));
        for i in 0..100u32 {
            cache.insert(
                &format!("n{i}.test"),
                RecordType::A,
                i,
                Duration::from_secs(u64::from(i) + 1),
            );
        }
        assert!(cache.len() <= 20, "{} entries", cache.len());
        assert_eq!(cache.get("n99.test", RecordType::A), Cached::Fresh(99));
    }

    #[tokio::test(start_paused = true)]
    async fn types_of_one_name_are_separate_entries() {
        let cache = AnswerCache::new(3, Duration::from_secs(1));
        cache.insert("h.test", RecordType::A, 4, Duration::from_secs(9));
        cache.insert("H.TEST", RecordType::AAAA, 6, Duration::from_secs(9));
        cache.insert("h.test", RecordType::A, 5, Duration::from_secs(9));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("h.test", RecordType::A), Cached::Fresh(5));
        assert_eq!(cache.get("h.Test", RecordType::AAAA), Cached::Fresh(6));
        assert_eq!(cache.get("h.test", RecordType::SRV), Cached::Miss);
        cache.insert("h.test", RecordType::MX, 1, Duration::from_secs(9));
        assert_eq!(
            cache.get("h.test", RecordType::MX),
            Cached::Miss,
            "not a cached type"
        );
        cache.insert("g.test", RecordType::SRV, 7, Duration::from_secs(1));
        cache.insert("f.test", RecordType::SRV, 8, Duration::from_secs(9));
        assert!(cache.len() <= 3, "{}", cache.len());
        assert_eq!(cache.get("f.test", RecordType::SRV), Cached::Fresh(8));
    }
}
