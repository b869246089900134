//! Admission: whether one more connection may be served, under a global cap and a cap
//! per client. An admitted connection holds an [`Admitted`] ticket; dropping it gives
//! the slots back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ipnet::IpNet;

use crate::client_key::{ClientKey, ClientPrefixes};

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The listener already serves its maximum number of connections.
    #[error("the connection limit of this listener is reached")]
    Global,
    /// This client already holds its maximum number of connections.
    #[error("the per-client connection limit is reached")]
    PerClient,
}

impl Refused {
    /// A label for metrics: `global` or `per_client`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::PerClient => "per_client",
        }
    }
}

/// The caps of one listener (or of several that share a budget).
#[derive(Debug, Clone)]
pub struct AdmissionLimits {
    /// Connections open at once, at most.
    pub max_connections: usize,
    /// Connections one client may hold at once; 0 disables the per-client cap.
    pub max_per_client: usize,
    /// How client addresses are aggregated.
    pub prefixes: ClientPrefixes,
    /// Peers exempt from the per-client cap (trusted reverse proxies, which carry many
    /// clients' connections). They still count towards the global cap.
    pub exempt: Vec<IpNet>,
}

/// Admission state shared by every accept loop of one listener budget.
#[derive(Debug, Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limits: AdmissionLimits,
    open: AtomicUsize,
    per_client: Mutex<HashMap<ClientKey, usize>>,
}

/// One admitted connection's slots, given back on drop.
#[derive(Debug)]
pub struct Admitted {
    inner: Arc<Inner>,
    client: Option<ClientKey>,
}

impl Admission {
    /// Admission under `limits`.
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                open: AtomicUsize::new(0),
                per_client: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The limits this admission applies.
    pub fn limits(&self) -> &AdmissionLimits {
        &self.inner.limits
    }

    /// Connections currently admitted.
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }

    /// Clients currently holding at least one connection (tracked ones only).
    pub fn clients(&self) -> usize {
        self.inner.lock().len()
    }

    /// Admits a connection from `peer`, or says why not.
    pub fn try_admit(&self, peer: IpAddr) -> Result<Admitted, Refused> {
        let inner = &self.inner;
        let max = inner.limits.max_connections;
        inner
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .map_err(|_| Refused::Global)?;
        // From here on, `admitted` gives the global slot back if the client is refused.
        let mut admitted = Admitted {
            inner: inner.clone(),
            client: None,
        };
        let per_client = inner.limits.max_per_client;
        if per_client == 0 || inner.limits.exempt.iter().any(|n| n.contains(&peer)) {
            return Ok(admitted);
        }
        let key = ClientKey::new(peer, inner.limits.prefixes);
        let mut clients = inner.lock();
        let held = clients.entry(key).or_insert(0);
        if *held >= per_client {
            return Err(Refused::PerClient);
        }
        *held += 1;
        admitted.client = Some(key);
        Ok(admitted)
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, usize>> {
        self.per_client.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(key) = self.client {
            let mut clients = self.inner.lock();
            if let Some(held) = clients.get_mut(&key) {
                *held -= 1;
                if *held == 0 {
                    clients.remove(&key);
                }
            }
        }
        self.inner.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max: usize, per_client: usize) -> Admission {
        Admission::new(AdmissionLimits {
            max_connections: max,
            max_per_client: per_client,
            prefixes: ClientPrefixes::default(),
            exempt: vec!["10.0.0.1/32".parse().unwrap()],
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_client_cannot_take_more_than_its_share() {
        let a = admission(10, 2);
        let first = a.try_admit(ip("192.0.2.1")).unwrap();
        let _second = a.try_admit(ip("192.0.2.1")).unwrap();
        assert_eq!(
            a.try_admit(ip("192.0.2.1")).unwrap_err(),
            Refused::PerClient
        );
        // Another client is still served, and a refusal gave its global slot back.
        let _other = a.try_admit(ip("192.0.2.2")).unwrap();
        assert_eq!(a.open(), 3);
        drop(first);
        assert!(a.try_admit(ip("192.0.2.1")).is_ok());
    }

    #[test]
    fn addresses_of_one_ipv6_prefix_share_a_budget() {
        let a = admission(10, 2);
        let _x = a.try_admit(ip("2001:db8::1")).unwrap();
        let _y = a.try_admit(ip("2001:db8::2")).unwrap();
        assert_eq!(
            a.try_admit(ip("2001:db8::3")).unwrap_err(),
            Refused::PerClient
        );
        assert!(a.try_admit(ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn the_global_cap_holds_and_slots_come_back() {
        let a = admission(2, 0);
        let x = a.try_admit(ip("192.0.2.1")).unwrap();
        let _y = a.try_admit(ip("192.0.2.2")).unwrap();
        assert_eq!(a.try_admit(ip("192.0.2.3")).unwrap_err(), Refused::Global);
        drop(x);
        assert!(a.try_admit(ip("192.0.2.3")).is_ok());
    }

    #[test]
    fn exempt_peers_skip_the_per_client_cap_only() {
        let a = admission(3, 1);
        let _held: Vec<_> = (0..3)
            .map(|_| a.try_admit(ip("10.0.0.1")).unwrap())
            .collect();
        assert_eq!(a.try_admit(ip("10.0.0.1")).unwrap_err(), Refused::Global);
    }

    #[test]
    fn released_clients_are_forgotten() {
        let a = admission(10, 4);
        let held: Vec<_> = (1..=4)
            .map(|i| a.try_admit(ip(&format!("192.0.2.{i}"))).unwrap())
            .collect();
        assert_eq!(a.clients(), 4);
        drop(held);
        assert_eq!(a.clients(), 0);
        assert_eq!(a.open(), 0);
    }
}
