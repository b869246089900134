//! One target exchange per challenge burst. A CA validates each challenge from a
//! primary perspective and then from several remote ones at once, each from another
//! address: the relay sees 5 to 7 near-simultaneous GETs for one (domain, token).
//!
//! - **Coalescing:** while one request for a (domain, token, method) is at the target,
//!   later ones with the same SRV answer wait for it and get its answer.
//! - **Reuse:** a 200 answer is kept for `relay.timeouts.answer_reuse` (a few seconds)
//!   and given to the perspectives that arrive after the primary, without touching the
//!   target.
//!
//! Only a 200 is ever shared: when the leading exchange ends otherwise (a 404 because
//! the client is not ready yet, a timeout, a dead target), each waiter goes on alone,
//! so no error outlives the request that met it. A kept answer is tied to the SRV
//! records it came through: a changed record set is not served a kept answer. Memory is
//! bounded: at most `max_kept` answers of at most `relay.limits.max_response_bytes`
//! each; when full, the oldest kept answer (the first to expire: all are kept equally
//! long) makes room for the new one.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use domain_name::DomainName;
use hyper::{HeaderMap, StatusCode};
use srv_scheme::SrvRecord;
use tokio::sync::watch;
use tokio::time::Instant;

/// What one challenge request is about: the same for every perspective of a CA.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ChallengeKey {
    domain: DomainName,
    token: Box<str>,
    head: bool,
}

impl ChallengeKey {
    pub(crate) fn new(domain: &DomainName, token: &str, head: bool) -> Self {
        Self {
            domain: domain.clone(),
            token: token.into(),
            head,
        }
    }
}

/// The SRV records a plan came from, in a canonical order (the relay's RFC 2782
/// ordering is random per request; the set is what identifies the target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetSet(Arc<[SrvRecord]>);

impl TargetSet {
    pub(crate) fn of(records: &[SrvRecord]) -> Self {
        let mut set = records.to_vec();
        set.sort_by(|a, b| {
            (a.priority, a.weight, a.port, &a.target)
                .cmp(&(b.priority, b.weight, b.port, &b.target))
        });
        Self(set.into())
    }
}

/// A target's 200 answer, shared by every requester it is given to.
#[derive(Debug)]
pub(crate) struct SharedAnswer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The SRV target that answered, and its address, for the log.
    pub(crate) target: String,
    pub(crate) addr: SocketAddr,
    targets: TargetSet,
}

/// How an exchange in flight stands, as its waiters see it.
#[derive(Debug, Clone)]
pub(crate) enum Flight {
    /// Still at the target.
    Pending,
    /// It got a 200.
    Answered(Arc<SharedAnswer>),
    /// It ended without one (or its request went away).
    Failed,
}

enum Entry {
    /// An exchange in progress; how it ends arrives on the channel.
    InFlight {
        targets: TargetSet,
        done: watch::Receiver<Flight>,
    },
    /// A 200 answer, given out until `expires`.
    Kept {
        answer: Arc<SharedAnswer>,
        expires: Instant,
    },
}

/// What a request does next.
pub(crate) enum Claim {
    /// Answer with this (kept) answer.
    Kept(Arc<SharedAnswer>),
    /// Wait for the exchange in progress.
    Wait(watch::Receiver<Flight>),
    /// Go to the target; the others wait for this one.
    Lead(Leader),
    /// Go to the target alone (reuse is off, or another target set is in flight).
    Alone,
}

/// The entries, and the kept answers in the order they expire.
#[derive(Default)]
struct Table {
    entries: HashMap<ChallengeKey, Entry>,
    /// Kept answers, oldest first, with their expiry (an entry replaced since is
    /// recognised by a different expiry and skipped).
    kept: VecDeque<(ChallengeKey, Instant)>,
}

impl Table {
    /// Whether `key`'s entry is the answer kept until `expires`.
    fn holds(&self, key: &ChallengeKey, expires: Instant) -> bool {
        matches!(self.entries.get(key), Some(Entry::Kept { expires: e, .. }) if *e == expires)
    }

    /// Drops expired answers, then the oldest ones until fewer than `max` are kept.
    fn make_room(&mut self, now: Instant, max: usize) {
        while let Some((key, expires)) = self.kept.front().cloned() {
            let live = self.holds(&key, expires);
            if live && expires > now && self.kept.len() < max {
                break;
            }
            self.kept.pop_front();
            if live {
                self.entries.remove(&key);
            }
        }
    }
}

/// The table of exchanges in flight and answers kept.
pub(crate) struct AnswerReuse {
    keep_for: Duration,
    max_kept: usize,
    table: Arc<Mutex<Table>>,
}

impl AnswerReuse {
    /// Keeps 200 answers for `keep_for` (zero turns coalescing and reuse off), at most
    /// `max_kept` of them.
    pub(crate) fn new(keep_for: Duration, max_kept: usize) -> Self {
        Self {
            keep_for,
            max_kept,
            table: Arc::new(Mutex::new(Table::default())),
        }
    }

    /// Whether coalescing and reuse are on (a request then needs a key and a target set).
    pub(crate) fn enabled(&self) -> bool {
        !self.keep_for.is_zero() && self.max_kept > 0
    }

    /// Decides for one request about `key`, planned through `targets`.
    pub(crate) fn claim(&self, key: &ChallengeKey, targets: &TargetSet) -> Claim {
        if !self.enabled() {
            return Claim::Alone;
        }
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        match table.entries.get(key) {
            Some(Entry::Kept { answer, expires })
                if *expires > Instant::now() && answer.targets == *targets =>
            {
                return Claim::Kept(Arc::clone(answer));
            }
            Some(Entry::InFlight {
                targets: flying,
                done,
            }) => {
                return if flying == targets {
                    Claim::Wait(done.clone())
                } else {
                    Claim::Alone
                };
            }
            // Expired, or kept for another record set: replaced by this exchange.
            Some(Entry::Kept { .. }) | None => {}
        }
        let (tx, rx) = watch::channel(Flight::Pending);
        table.entries.insert(
            key.clone(),
            Entry::InFlight {
                targets: targets.clone(),
                done: rx,
            },
        );
        Claim::Lead(Leader {
            key: key.clone(),
            targets: targets.clone(),
            table: Arc::clone(&self.table),
            keep_for: self.keep_for,
            max_kept: self.max_kept,
            tx: Some(tx),
        })
    }

    /// Answers kept or in flight now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }
}

/// The request that goes to the target for everyone. Dropped without
/// [`Leader::answered`] (no 200, a timeout, the client gone), it wakes the waiters
/// with nothing, and each of them goes on alone.
pub(crate) struct Leader {
    key: ChallengeKey,
    targets: TargetSet,
    table: Arc<Mutex<Table>>,
    keep_for: Duration,
    max_kept: usize,
    tx: Option<watch::Sender<Flight>>,
}

impl Leader {
    /// Shares a 200 answer with the waiters and keeps it; returns it.
    pub(crate) fn answered(
        mut self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        target: String,
        addr: SocketAddr,
    ) -> Arc<SharedAnswer> {
        let answer = Arc::new(SharedAnswer {
            status,
            headers,
            body,
            target,
            addr,
            targets: self.targets.clone(),
        });
        let now = Instant::now();
        {
            let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
            table.make_room(now, self.max_kept);
            let expires = now + self.keep_for;
            table.entries.insert(
                self.key.clone(),
                Entry::Kept {
                    answer: Arc::clone(&answer),
                    expires,
                },
            );
            table.kept.push_back((self.key.clone(), expires));
        }
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Flight::Answered(Arc::clone(&answer)));
        }
        answer
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(table.entries.get(&self.key), Some(Entry::InFlight { .. })) {
            table.entries.remove(&self.key);
        }
        drop(table);
        let _ = tx.send(Flight::Failed);
    }
}

/// Waits for the exchange in flight: its 200 answer, or `None` when it ended without
/// one (or its leader went away).
pub(crate) async fn wait(mut done: watch::Receiver<Flight>) -> Option<Arc<SharedAnswer>> {
    match done.wait_for(|f| !matches!(f, Flight::Pending)).await {
        Ok(flight) => match &*flight {
            Flight::Answered(answer) => Some(Arc::clone(answer)),
            Flight::Pending | Flight::Failed => None,
        },
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ChallengeKey {
        ChallengeKey::new(
            &DomainName::parse("www.a.test").expect("name"),
            "tok",
            false,
        )
    }

    fn set(port: u16) -> TargetSet {
        TargetSet::of(&[SrvRecord {
            priority: 10,
            weight: 0,
            port,
            target: "t.a.test.".into(),
        }])
    }

    fn addr() -> SocketAddr {
        "127.0.0.1:1".parse().expect("addr")
    }

    #[tokio::test]
    async fn waiters_get_the_leaders_200_and_later_requests_the_kept_one() {
        let reuse = AnswerReuse::new(Duration::from_secs(5), 16);
        let Claim::Lead(leader) = reuse.claim(&key(), &set(1)) else {
            panic!("the first request leads");
        };
        let Claim::Wait(done) = reuse.claim(&key(), &set(1)) else {
            panic!("the second waits");
        };
        let waiter = tokio::spawn(wait(done));
        leader.answered(
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from_static(b"ka"),
            "t".into(),
            addr(),
        );
        let got = waiter.await.expect("joined").expect("an answer");
        assert_eq!(got.body, "ka");
        assert!(matches!(reuse.claim(&key(), &set(1)), Claim::Kept(_)));
        // Another SRV record set is not served the kept answer.
        assert!(matches!(reuse.claim(&key(), &set(2)), Claim::Lead(_)));
    }

    #[tokio::test]
    async fn a_leader_without_a_200_keeps_nothing_and_frees_its_waiters() {
        let reuse = AnswerReuse::new(Duration::from_secs(5), 16);
        let Claim::Lead(leader) = reuse.claim(&key(), &set(1)) else {
            panic!("leads");
        };
        let Claim::Wait(done) = reuse.claim(&key(), &set(1)) else {
            panic!("waits");
        };
        drop(leader);
        assert!(wait(done).await.is_none());
        assert_eq!(reuse.len(), 0);
        assert!(matches!(reuse.claim(&key(), &set(1)), Claim::Lead(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_answer_expires_and_the_oldest_makes_room() {
        let reuse = AnswerReuse::new(Duration::from_secs(2), 2);
        let key = |t| ChallengeKey::new(&DomainName::parse("x.test").expect("name"), t, false);
        for token in ["a", "b", "c"] {
            let Claim::Lead(leader) = reuse.claim(&key(token), &set(1)) else {
                panic!("leads");
            };
            leader.answered(
                StatusCode::OK,
                HeaderMap::new(),
                Bytes::new(),
                "t".into(),
                addr(),
            );
        }
        assert_eq!(reuse.len(), 2, "two kept at most");
        assert!(
            matches!(reuse.claim(&key("c"), &set(1)), Claim::Kept(_)),
            "the newest is kept"
        );
        assert!(matches!(reuse.claim(&key("b"), &set(1)), Claim::Kept(_)));
        assert!(
            matches!(reuse.claim(&key("a"), &set(1)), Claim::Lead(_)),
            "the oldest made room"
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(
            matches!(reuse.claim(&key("c"), &set(1)), Claim::Lead(_)),
            "expired"
        );
        assert!(matches!(
            AnswerReuse::new(Duration::ZERO, 2).claim(&key("c"), &set(1)),
            Claim::Alone
        ));
    }
}
