//! A TTL cache with serve-stale, keyed by (lowercased name, record type).
//!
//! An entry is *fresh* until its TTL runs out, then *stale* for `serve_stale_for`
//! longer; a stale entry is only handed out when the upstream has just failed
//! ([`AnswerCache::get_stale`]). When the cache is full, entries past their stale window
//! go first, then the ones closest to expiry.

use std::collections::HashMap;
use std::sync::Mutex;
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

/// The cache; cheap to share behind an `Arc`.
pub struct AnswerCache<V> {
    entries: Mutex<HashMap<(String, RecordType), Entry<V>>>,
    capacity: usize,
    serve_stale_for: Duration,
}

impl<V: Clone> AnswerCache<V> {
    /// A cache of at most `capacity` entries, serving stale answers for `serve_stale_for`.
    pub fn new(capacity: usize, serve_stale_for: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            serve_stale_for,
        }
    }

    /// The fresh entry for `name`/`record_type`, if any.
    pub fn get(&self, name: &str, record_type: RecordType) -> Cached<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&(name.to_ascii_lowercase(), record_type)) {
            Some(e) if Instant::now() < e.fresh_until => Cached::Fresh(e.value.clone()),
            _ => Cached::Miss,
        }
    }

    /// The entry for `name`/`record_type` if it is fresh or within its stale window:
    /// for use after the upstream failed.
    pub fn get_stale(&self, name: &str, record_type: RecordType) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&(name.to_ascii_lowercase(), record_type))
            .filter(|e| Instant::now() < e.stale_until)
            .map(|e| e.value.clone())
    }

    /// Stores `value` for `ttl`.
    pub fn insert(&self, name: &str, record_type: RecordType, value: V, ttl: Duration) {
        let now = Instant::now();
        let fresh_until = now + ttl;
        let entry = Entry {
            value,
            fresh_until,
            stale_until: fresh_until + self.serve_stale_for,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.stale_until > now);
        }
        if entries.len() >= self.capacity {
            // Still full: drop the tenth of entries closest to going stale.
            let mut by_expiry: Vec<_> = entries
                .iter()
                .map(|(k, e)| (e.fresh_until, k.clone()))
                .collect();
            by_expiry.sort_by_key(|(t, _)| *t);
            for (_, key) in by_expiry.into_iter().take(self.capacity / 10 + 1) {
                entries.remove(&key);
            }
        }
        entries.insert((name.to_ascii_lowercase(), record_type), entry);
    }

    /// Number of entries held (fresh or not).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
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
}
