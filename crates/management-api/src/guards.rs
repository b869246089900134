//! What bounds the API's clients beyond their connections: failed authentications per
//! client, registrations per client, argon2 verifications running at once, and the
//! client address behind trusted reverse proxies.
//!
//! Clients are counted by `bounded-listener`'s [`ClientKey`] (an IPv4 address, an IPv6
//! /64 by default), so one subscriber's many IPv6 addresses are one client.

use std::net::IpAddr;

use bounded_listener::{ClientKey, ClientPrefixes, ClientRate};
use ipnet::IpNet;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Clients tracked by each rate at most.
const MAX_TRACKED_CLIENTS: usize = 65_536;

/// Who may register through acme-dns `POST /register`, and how often.
#[derive(Debug, Clone)]
pub struct RegistrationPolicy {
    /// Whether `/register` takes registrations at all.
    pub enabled: bool,
    /// Networks registrations may come from; empty: anyone who reaches the API.
    pub allow_from: Vec<IpNet>,
    /// Registrations per client per hour (burst as many); 0: no limit.
    pub per_client_per_hour: u32,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_from: Vec::new(),
            per_client_per_hour: 0,
        }
    }
}

/// Limits on what credentials may store and on failed authentication.
///
/// The records quotas are the store's to check ([`record_store::RecordQuotas`]): they are
/// counted inside each write's transaction, from counters the store keeps, so checking
/// them costs the same whatever the size of the store and concurrent writes cannot slip
/// past them.
#[derive(Debug, Clone)]
pub struct Quotas {
    /// Records one API key may have added (that still exist); 0: no limit. Records the
    /// admin token added count for no key.
    pub records_per_key: u32,
    /// Records in one zone, whoever added them (acme-dns TXT records included); 0: no
    /// limit.
    pub records_per_zone: u32,
    /// Registrations that may exist at once; 0: no limit.
    pub registrations: u32,
    /// Failed authentications per client per minute before 429 (burst as many); 0: no
    /// limit.
    pub failed_auth_per_client_per_minute: u32,
    /// argon2 verifications at once; further callers wait their turn.
    pub concurrent_verifications: u32,
}

impl Default for Quotas {
    /// No quotas, no failed-authentication limit, 4 verifications at once.
    fn default() -> Self {
        Self {
            records_per_key: 0,
            records_per_zone: 0,
            registrations: 0,
            failed_auth_per_client_per_minute: 0,
            concurrent_verifications: 4,
        }
    }
}

/// The per-client state behind those limits.
pub(crate) struct Guards {
    prefixes: ClientPrefixes,
    trusted_proxies: Vec<IpNet>,
    failed_auth: Option<ClientRate>,
    registrations: Option<ClientRate>,
    pub(crate) registration: RegistrationPolicy,
    pub(crate) quotas: Quotas,
    pub(crate) verifications: Semaphore,
}

impl Guards {
    pub(crate) fn new(
        prefixes: ClientPrefixes,
        trusted_proxies: Vec<IpNet>,
        registration: RegistrationPolicy,
        quotas: Quotas,
    ) -> Self {
        let per_minute = quotas.failed_auth_per_client_per_minute;
        let per_hour = registration.per_client_per_hour;
        Self {
            prefixes,
            trusted_proxies,
            failed_auth: (per_minute > 0).then(|| {
                ClientRate::new(
                    f64::from(per_minute) / 60.0,
                    per_minute,
                    MAX_TRACKED_CLIENTS,
                )
            }),
            registrations: (per_hour > 0).then(|| {
                ClientRate::new(f64::from(per_hour) / 3600.0, per_hour, MAX_TRACKED_CLIENTS)
            }),
            verifications: Semaphore::new(quotas.concurrent_verifications.max(1) as usize),
            registration,
            quotas,
        }
    }

    fn key(&self, ip: Option<IpAddr>) -> ClientKey {
        ClientKey::new(ip.unwrap_or(IpAddr::from([0, 0, 0, 0])), self.prefixes)
    }

    /// Whether `ip` may present credentials now (it has not failed too often).
    pub(crate) fn may_authenticate(&self, ip: Option<IpAddr>) -> bool {
        self.failed_auth
            .as_ref()
            .is_none_or(|rate| rate.has_token(self.key(ip), Instant::now()))
    }

    /// Counts a failed authentication from `ip`.
    pub(crate) fn authentication_failed(&self, ip: Option<IpAddr>) {
        if let Some(rate) = &self.failed_auth {
            rate.charge(self.key(ip), Instant::now());
        }
    }

    /// The client behind a trusted proxy, when `peer` is one and `headers` name a
    /// client; `None` otherwise.
    pub(crate) fn forwarded_client(
        &self,
        peer: IpAddr,
        headers: &axum::http::HeaderMap,
    ) -> Option<IpAddr> {
        if self.trusted_proxies.is_empty()
            || !bounded_listener::is_trusted(&self.trusted_proxies, peer)
        {
            return None;
        }
        bounded_listener::forwarded_client(headers, &self.trusted_proxies)
    }

    /// Whether `ip` may register now (and counts the registration).
    pub(crate) fn may_register(&self, ip: Option<IpAddr>) -> bool {
        self.registrations
            .as_ref()
            .is_none_or(|rate| rate.try_take(self.key(ip), Instant::now()))
    }
}
