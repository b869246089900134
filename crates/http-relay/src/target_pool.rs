//! Idle connections to targets, kept for the next exchange with the same address.
//!
//! A CA validates one challenge from several vantage points within a second or two, so
//! the relay often sends the next request to an address it has just talked to. A
//! connection whose answer allowed it ([`TargetResponse::reusable`]) is put back here
//! and taken by the next exchange with that exact address, saving a TCP handshake and
//! teardown on both ends. `upstream` mode keeps its app connections in a pool of the
//! same kind, keyed by the app's configured authority ([`crate::app_exchange`]).
//!
//! Bounds: at most a per-key cap ([`MAX_IDLE_PER_ADDRESS`] for challenge targets) and
//! [`MAX_IDLE_TOTAL`] in all; a connection idle longer than the configured time is
//! closed when the pool is next touched, and [`TargetPool::close_expired`] (called
//! periodically by the server) closes the rest. A connection is only taken after it
//! shows it can carry a request ([`IdleConnection::usable`]): for a challenge target, a
//! non-blocking read shows the target has neither closed it nor sent anything unasked.
//! The pool is keyed by the address the policy approved for this request, so reuse
//! never reaches an address the policy would refuse.
//!
//! [`TargetResponse::reusable`]: crate::target_response::TargetResponse::reusable

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// Idle connections kept per target address.
pub const MAX_IDLE_PER_ADDRESS: usize = 64;
/// Idle connections kept over all addresses.
pub const MAX_IDLE_TOTAL: usize = 1024;

/// A connection the pool can keep.
pub trait IdleConnection {
    /// Whether the connection can carry the next request now: the peer has neither
    /// closed it nor sent anything unasked.
    fn usable(&mut self) -> bool;
}

impl IdleConnection for TcpStream {
    fn usable(&mut self) -> bool {
        still_open(self)
    }
}

struct Idle<C> {
    connection: C,
    since: Instant,
}

/// The idle connections, by address (or app); see the module docs.
pub struct TargetPool<K = SocketAddr, C = TcpStream> {
    idle_for: Duration,
    per_key: usize,
    idle: Mutex<IdleConnections<K, C>>,
}

struct IdleConnections<K, C> {
    by_address: HashMap<K, Vec<Idle<C>>>,
    total: usize,
}

impl<K: Hash + Eq + Clone, C> IdleConnections<K, C> {
    /// Moves the connections to `addr` idle since before `cutoff` (the oldest are
    /// first) into `expired`. Callers declare `expired` before taking the lock, so it is
    /// dropped after the guard: the sockets close once the lock is released.
    fn take_expired_at(&mut self, addr: &K, cutoff: Instant, expired: &mut Vec<Idle<C>>) {
        if let Some(list) = self.by_address.get_mut(addr) {
            let count = list.iter().take_while(|idle| idle.since < cutoff).count();
            expired.extend(list.drain(..count));
            self.total -= count;
            if list.is_empty() {
                self.by_address.remove(addr);
            }
        }
    }
}

impl<K: Hash + Eq + Clone, C> std::fmt::Debug for TargetPool<K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetPool")
            .field("idle_for", &self.idle_for)
            .field("idle", &self.idle_count())
            .finish()
    }
}

impl<K: Hash + Eq + Clone, C: IdleConnection> TargetPool<K, C> {
    /// A pool that keeps connections for `idle_for` (zero keeps none), at most
    /// [`MAX_IDLE_PER_ADDRESS`] per address.
    pub fn new(idle_for: Duration) -> Self {
        Self::with_cap_per_key(idle_for, MAX_IDLE_PER_ADDRESS)
    }

    /// A pool that keeps connections for `idle_for` (zero keeps none), at most
    /// `per_key` for each key.
    pub fn with_cap_per_key(idle_for: Duration, per_key: usize) -> Self {
        Self {
            idle_for,
            per_key,
            idle: Mutex::new(IdleConnections {
                by_address: HashMap::new(),
                total: 0,
            }),
        }
    }

    /// Whether connections are kept at all (the request then asks for keep-alive).
    pub fn enabled(&self) -> bool {
        !self.idle_for.is_zero()
    }

    /// The most recently used idle connection to `addr` that is still usable, if any.
    pub fn take(&self, addr: K) -> Option<C> {
        if !self.enabled() {
            return None;
        }
        let mut closing = Vec::new();
        let mut idle = self.lock();
        if let Some(cutoff) = Instant::now().checked_sub(self.idle_for) {
            idle.take_expired_at(&addr, cutoff, &mut closing);
        }
        loop {
            let list = idle.by_address.get_mut(&addr)?;
            let candidate = list.pop();
            if list.is_empty() {
                idle.by_address.remove(&addr);
            }
            let mut candidate = candidate?;
            idle.total -= 1;
            if candidate.connection.usable() {
                return Some(candidate.connection);
            }
            closing.push(candidate);
        }
    }

    /// Keeps `connection` (whose last answer was complete and allowed reuse) for
    /// `addr`; closes it instead when the pool is off or full.
    pub fn put(&self, addr: K, connection: C) {
        if !self.enabled() {
            return;
        }
        let now = Instant::now();
        let mut closing = Vec::new();
        let mut idle = self.lock();
        if let Some(cutoff) = now.checked_sub(self.idle_for) {
            idle.take_expired_at(&addr, cutoff, &mut closing);
        }
        if idle.total >= MAX_IDLE_TOTAL {
            return;
        }
        if idle.by_address.get(&addr).map_or(0, Vec::len) >= self.per_key {
            return;
        }
        idle.by_address.entry(addr).or_default().push(Idle {
            connection,
            since: now,
        });
        idle.total += 1;
    }

    /// Closes every connection idle for longer than the configured time.
    pub fn close_expired(&self) {
        let Some(cutoff) = Instant::now().checked_sub(self.idle_for) else {
            return;
        };
        let mut closing = Vec::new();
        let mut idle = self.lock();
        let addresses: Vec<K> = idle.by_address.keys().cloned().collect();
        for addr in addresses {
            idle.take_expired_at(&addr, cutoff, &mut closing);
        }
    }
}

impl<K: Hash + Eq + Clone, C> TargetPool<K, C> {
    /// Idle connections now held.
    pub fn idle_count(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdleConnections<K, C>> {
        // The map stays consistent even if a holder panicked: nothing is left half-done.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether an idle connection can carry a request: the target has not closed it and
/// has not sent anything (an unasked-for byte would be read as the next answer).
fn still_open(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    /// A connected pair on loopback: (our side, the target's side).
    async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let ours = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (theirs, _) = listener.accept().await.unwrap();
        (ours, theirs)
    }

    #[tokio::test]
    async fn a_kept_connection_is_taken_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pool = TargetPool::new(Duration::from_secs(60));
        let (ours, _theirs) = pair(&listener).await;
        let local = ours.local_addr().unwrap();
        pool.put(addr, ours);
        assert_eq!(pool.idle_count(), 1);
        let taken = pool.take(addr).expect("kept connection");
        assert_eq!(taken.local_addr().unwrap(), local);
        assert!(pool.take(addr).is_none());
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn connections_are_kept_per_address() {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let b = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let pool = TargetPool::new(Duration::from_secs(60));
        let (ours, _theirs) = pair(&a).await;
        pool.put(a.local_addr().unwrap(), ours);
        assert!(pool.take(b.local_addr().unwrap()).is_none());
        assert!(pool.take(a.local_addr().unwrap()).is_some());
    }

    #[tokio::test]
    async fn closed_or_chatty_connections_are_not_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pool = TargetPool::new(Duration::from_secs(60));

        let (closed, theirs) = pair(&listener).await;
        drop(theirs);
        closed.readable().await.unwrap();
        pool.put(addr, closed);

        let (chatty, mut theirs_chatty) = pair(&listener).await;
        theirs_chatty
            .write_all(b"HTTP/1.1 200 OK\r\n")
            .await
            .unwrap();
        chatty.readable().await.unwrap();
        pool.put(addr, chatty);

        assert_eq!(pool.idle_count(), 2);
        assert!(pool.take(addr).is_none());
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn expired_connections_are_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pool = TargetPool::new(Duration::from_millis(1));
        let (ours, _theirs) = pair(&listener).await;
        pool.put(addr, ours);
        assert_eq!(pool.idle_count(), 1);
        let later = Instant::now() + Duration::from_millis(20);
        while Instant::now() < later {
            tokio::task::yield_now().await;
        }
        pool.close_expired();
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn a_disabled_pool_keeps_nothing_and_the_caps_hold() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let off = TargetPool::new(Duration::ZERO);
        let (ours, _theirs) = pair(&listener).await;
        off.put(addr, ours);
        assert_eq!(off.idle_count(), 0);

        let pool = TargetPool::new(Duration::from_secs(60));
        let mut theirs = Vec::new();
        for _ in 0..MAX_IDLE_PER_ADDRESS + 2 {
            let (ours, other) = pair(&listener).await;
            theirs.push(other);
            pool.put(addr, ours);
        }
        assert_eq!(pool.idle_count(), MAX_IDLE_PER_ADDRESS);
    }
}
