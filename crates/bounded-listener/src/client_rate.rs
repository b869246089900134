//! [`ClientRate`]: a token bucket per client (a [`ClientKey`]), with a bounded table.
//!
//! Each client starts with `burst` tokens and earns `per_second` more each second, up to
//! `burst`. The table holds at most `max_clients` clients; when it is full, clients whose
//! buckets have refilled are forgotten (they are as good as new), and if none has, new
//! clients share one overflow bucket, so a flood of fresh (spoofed or rotating) addresses
//! is limited as a single client instead of growing the table.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;

use crate::client_key::ClientKey;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets per client.
#[derive(Debug)]
pub struct ClientRate {
    per_second: f64,
    burst: f64,
    max_clients: usize,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    buckets: HashMap<ClientKey, Bucket>,
    overflow: Option<Bucket>,
}

impl ClientRate {
    /// `per_second` tokens a second up to `burst` (at least 1) per client, for at most
    /// `max_clients` clients.
    pub fn new(per_second: f64, burst: u32, max_clients: usize) -> Self {
        Self {
            per_second,
            burst: f64::from(burst.max(1)),
            max_clients: max_clients.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    /// Takes a token for `client` if it has one.
    pub fn try_take(&self, client: ClientKey, now: Instant) -> bool {
        self.with_bucket(client, now, |bucket| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Whether `client` has a token, without taking it.
    pub fn has_token(&self, client: ClientKey, now: Instant) -> bool {
        self.with_bucket(client, now, |bucket| bucket.tokens >= 1.0)
    }

    /// Takes a token for `client` whether it has one or not (its balance may go down
    /// to -burst), e.g. to count a failure after the fact.
    pub fn charge(&self, client: ClientKey, now: Instant) {
        let floor = -self.burst;
        self.with_bucket(client, now, |bucket| {
            bucket.tokens = (bucket.tokens - 1.0).max(floor);
        });
    }

    /// Clients tracked at the moment.
    pub fn tracked(&self) -> usize {
        self.lock().buckets.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_bucket<T>(
        &self,
        client: ClientKey,
        now: Instant,
        f: impl FnOnce(&mut Bucket) -> T,
    ) -> T {
        let (per_second, burst) = (self.per_second, self.burst);
        let refill = |bucket: &mut Bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
            bucket.updated = now;
        };
        let mut table = self.lock();
        let known = table.buckets.contains_key(&client);
        if !known && table.buckets.len() >= self.max_clients {
            table.buckets.retain(|_, b| {
                let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
                b.tokens + elapsed * per_second < burst
            });
        }
        let fresh = Bucket {
            tokens: burst,
            updated: now,
        };
        let bucket = if known || table.buckets.len() < self.max_clients {
            table.buckets.entry(client).or_insert(fresh)
        } else {
            table.overflow.get_or_insert(fresh)
        };
        refill(bucket);
        f(bucket)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::time::Duration;

    use super::*;
    use crate::ClientPrefixes;

    fn key(s: &str) -> ClientKey {
        ClientKey::new(s.parse().unwrap(), ClientPrefixes::default())
    }

    #[test]
    fn a_client_gets_its_burst_then_its_rate() {
        let rate = ClientRate::new(2.0, 3, 100);
        let now = Instant::now();
        let taken: Vec<bool> = (0..5)
            .map(|_| rate.try_take(key("192.0.2.1"), now))
            .collect();
        assert_eq!(taken, [true, true, true, false, false]);
        assert!(rate.try_take(key("192.0.2.2"), now));
        let later = now + Duration::from_millis(500);
        assert!(rate.try_take(key("192.0.2.1"), later));
        assert!(!rate.try_take(key("192.0.2.1"), later));
    }

    #[test]
    fn charges_go_into_debt_and_peeking_takes_nothing() {
        let rate = ClientRate::new(1.0, 2, 100);
        let now = Instant::now();
        for _ in 0..10 {
            rate.charge(key("192.0.2.1"), now);
        }
        assert!(!rate.has_token(key("192.0.2.1"), now));
        // Debt is bounded by the burst: 2 below zero, so 3 seconds to one token.
        assert!(!rate.has_token(key("192.0.2.1"), now + Duration::from_millis(2900)));
        assert!(rate.has_token(key("192.0.2.1"), now + Duration::from_millis(3100)));
        assert!(rate.has_token(key("192.0.2.1"), now + Duration::from_millis(3100)));
    }

    #[test]
    fn the_table_is_bounded_and_fresh_clients_share_the_overflow() {
        let rate = ClientRate::new(1.0, 1, 64);
        let now = Instant::now();
        for i in 0..1000u32 {
            let [a, b, c, d] = i.to_be_bytes();
            let _ = (a, b);
            rate.try_take(
                ClientKey::new(IpAddr::from([10, c, d, 1]), ClientPrefixes::default()),
                now,
            );
        }
        assert!(rate.tracked() <= 64);
        // The overflow bucket is spent: an unknown client is refused now.
        assert!(!rate.try_take(key("198.51.100.7"), now));
    }
}
