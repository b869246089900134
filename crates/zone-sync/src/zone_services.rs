//! What the DNS server does besides answering, made from `[dns]`: the TSIG keys of the
//! configuration ([`config_keyring`]), who may transfer zones, and which secondaries are
//! notified ([`notify_targets`]); [`zone_services`] puts them together for
//! [`dns_server::ZoneServices`].

use std::sync::Arc;

use base64::Engine as _;
use config::DnsConfig;
use dns_server::notify::NotifyTarget;
use dns_server::tsig::TsigKey;
use dns_server::{KeyGrant, StaticKeyring, ZoneServices};
use domain_name::DomainName;
use hickory_proto::rr::Name;

/// The `[[dns.tsig_keys]]` of `dns` (already validated), each allowed to transfer when
/// `[dns.transfers] allow_keys` names it. Keys of the configuration never update: update
/// keys are scoped, and live in the store.
pub fn config_keyring(dns: &DnsConfig) -> StaticKeyring {
    let allowed: Vec<Name> = dns
        .transfers
        .allow_keys
        .iter()
        .filter_map(|name| key_name(name))
        .collect();
    StaticKeyring(
        dns.tsig_keys
            .iter()
            .filter_map(|key| {
                let name = key_name(&key.name)?;
                let secret = base64::engine::general_purpose::STANDARD
                    .decode(key.secret.trim())
                    .ok()?;
                let key = TsigKey::new(&name, &key.algorithm, secret).ok()?;
                Some(KeyGrant {
                    transfer: allowed.contains(&key.name),
                    update: false,
                    key,
                })
            })
            .collect(),
    )
}

/// The secondaries notified after every change, with the NOTIFY key when one is set.
pub fn notify_targets(dns: &DnsConfig) -> Vec<NotifyTarget> {
    let keyring = config_keyring(dns);
    let key = dns
        .transfers
        .notify_key
        .as_deref()
        .and_then(key_name)
        .and_then(|name| {
            keyring
                .0
                .iter()
                .find(|g| g.key.name == name)
                .map(|g| g.key.clone())
        });
    dns.transfers
        .notify
        .iter()
        .map(|addr| NotifyTarget {
            addr: *addr,
            key: key.clone(),
        })
        .collect()
}

/// The zones whose owned records are pushed into an existing primary.
pub fn push_targets(dns: &DnsConfig) -> Vec<crate::push::PushTarget> {
    let keyring = config_keyring(dns);
    dns.zones
        .iter()
        .filter_map(|zone| {
            let push = zone.push.as_ref()?;
            let mut origin = key_name(&zone.origin)?;
            origin.set_fqdn(true);
            let key = push.key.as_deref().and_then(key_name).and_then(|name| {
                keyring
                    .0
                    .iter()
                    .find(|g| g.key.name == name)
                    .map(|g| g.key.clone())
            });
            Some(crate::push::PushTarget {
                zone: origin,
                primary: push.primary,
                key,
                reconcile_every: push.reconcile_every,
            })
        })
        .collect()
}

/// Transfers, keys and updates as the server takes them: the configuration's keys and
/// the store's, RFC 2136 updates into `store` within `quotas`.
pub fn zone_services(
    dns: &DnsConfig,
    store: Arc<dyn record_store::RecordStore>,
    quotas: record_store::RecordQuotas,
) -> ZoneServices {
    let zones = dns
        .zones
        .iter()
        .map(|zone| crate::origin_text(&zone.origin))
        .collect();
    ZoneServices {
        keyring: Some(Arc::new(crate::StoreKeyring::new(
            config_keyring(dns),
            store.clone(),
        ))),
        transfer_networks: dns.transfers.allow_networks.clone(),
        updates: Some(Arc::new(crate::StoreUpdates::new(store, zones, quotas))),
    }
}

/// A key name as the keyring compares it: the normal form, fully qualified.
fn key_name(text: &str) -> Option<Name> {
    crate::names::to_dns(&DomainName::parse(text).ok()?).ok()
}
