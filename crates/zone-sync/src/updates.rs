//! RFC 2136 UPDATE into the store, and the TSIG keys it is checked with: the bridge
//! between the DNS server's [`dns_server::UpdateHandler`] / [`dns_server::Keyring`] and
//! the record store, so updates go through exactly the store's rules (its transaction,
//! prerequisites, scopes, CNAME and RRset rules, quotas) like the HTTP API's writes.
//!
//! - [`StoreKeyring`]: the configuration's keys (`[[dns.tsig_keys]]`, transfers only),
//!   then the store's (`acme-srv tsig-keys create`): a revoked key is unknown (BADKEY);
//!   a key with scopes may update; a key marked for transfers may transfer.
//! - [`StoreUpdates`]: the parsed update in the store's types; records of types the
//!   store does not hold (MX, NS, …) are refused, prerequisites about them are decided
//!   here (such an RRset never exists); the store's answer becomes the response code.

use std::sync::Arc;

use async_trait::async_trait;
use dns_server::tsig::TsigKey;
use dns_server::{
    KeyGrant, Keyring, Prerequisite, StaticKeyring, UpdateHandler, UpdateOperation, UpdateRequest,
};
use domain_name::DomainName;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use record_store::{RecordQuotas, RecordStore, StoreError, UpdateRcode, WriteContext};

use crate::stored_records::from_dns_record;

/// Keys from the configuration first, then from the store.
pub struct StoreKeyring {
    config: StaticKeyring,
    store: Arc<dyn RecordStore>,
}

impl StoreKeyring {
    /// The keys of `config` and those `store` holds.
    pub fn new(config: StaticKeyring, store: Arc<dyn RecordStore>) -> Self {
        Self { config, store }
    }
}

#[async_trait]
impl Keyring for StoreKeyring {
    async fn key(&self, name: &Name) -> Option<KeyGrant> {
        if let Some(grant) = self.config.key(name).await {
            return Some(grant);
        }
        let stored = match self.store.find_tsig_key(&owner_text(name)).await {
            Ok(found) => found?,
            Err(error) => {
                tracing::warn!(key = %name, %error, "TSIG key lookup failed");
                return None;
            }
        };
        if stored.info.revoked {
            return None;
        }
        let key = TsigKey::new(name, stored.info.algorithm.as_str(), stored.secret).ok()?;
        Some(KeyGrant {
            key,
            transfer: stored.info.transfer,
            update: !stored.info.scopes.is_empty(),
        })
    }
}

/// Applies updates to the store.
pub struct StoreUpdates {
    store: Arc<dyn RecordStore>,
    zones: Arc<[String]>,
    quotas: RecordQuotas,
}

impl StoreUpdates {
    /// Updates into `store`, for the served `zones` (origins, normalised), within
    /// `quotas`.
    pub fn new(store: Arc<dyn RecordStore>, zones: Vec<String>, quotas: RecordQuotas) -> Self {
        Self {
            store,
            zones: zones.into(),
            quotas,
        }
    }
}

#[async_trait]
impl UpdateHandler for StoreUpdates {
    async fn apply(&self, request: UpdateRequest) -> (ResponseCode, Option<String>) {
        let key_name = owner_text(&request.key);
        let info = match self.store.find_tsig_key(&key_name).await {
            Ok(Some(key)) if !key.info.revoked => key.info,
            Ok(_) => {
                return (
                    ResponseCode::Refused,
                    Some(format!("key {key_name} may not update")),
                );
            }
            Err(e) => {
                return (
                    ResponseCode::ServFail,
                    Some(format!("reading the key: {e}")),
                );
            }
        };
        let update = match to_store_update(&request) {
            Ok(Some(update)) => update,
            Ok(None) => {
                return (
                    ResponseCode::NXRRSet,
                    Some("a prerequisite names a type the store never holds".into()),
                );
            }
            Err(reason) => return (ResponseCode::Refused, Some(reason)),
        };
        let context = WriteContext {
            author: Some(info.author()),
            zones: self.zones.clone(),
            quotas: self.quotas,
        };
        match self
            .store
            .apply_update(&update, &info.permissions(), &context)
            .await
        {
            Ok(outcome) => {
                let detail = (!outcome.ignored.is_empty()).then(|| {
                    format!(
                        "{} addition(s) ignored by the CNAME rule",
                        outcome.ignored.len()
                    )
                });
                (ResponseCode::NoError, detail)
            }
            Err(StoreError::UpdateRefused(refusal)) => {
                (rcode(refusal.rcode()), Some(refusal.to_string()))
            }
            Err(StoreError::Rule(violation)) => {
                (ResponseCode::Refused, Some(violation.to_string()))
            }
            Err(error) => (ResponseCode::ServFail, Some(error.to_string())),
        }
    }
}

fn rcode(rcode: UpdateRcode) -> ResponseCode {
    match rcode {
        UpdateRcode::FormErr => ResponseCode::FormErr,
        UpdateRcode::NxDomain => ResponseCode::NXDomain,
        UpdateRcode::Refused => ResponseCode::Refused,
        UpdateRcode::YxDomain => ResponseCode::YXDomain,
        UpdateRcode::YxRrset => ResponseCode::YXRRSet,
        UpdateRcode::NxRrset => ResponseCode::NXRRSet,
        UpdateRcode::NotAuth => ResponseCode::NotAuth,
        UpdateRcode::NotZone => ResponseCode::NotZone,
    }
}

/// A name as the store spells owners ([`DomainName::parse_dns`]'s normal form). A name
/// that is no domain name stays as hickory spells it: the store then refuses it as
/// malformed (FORMERR), and a key lookup finds no key by it.
fn owner_text(name: &Name) -> String {
    crate::names::from_dns(name).map_or_else(|_| name.to_ascii(), DomainName::into_string)
}

/// The store's type for `record_type`, if it holds such records.
fn store_type(record_type: RecordType) -> Option<record_store::RecordType> {
    record_type.to_string().parse().ok()
}

/// The update in the store's types: `Ok(None)` when a prerequisite can never hold (an
/// RRset of a type the store does not hold should exist), `Err` for a record the store
/// cannot hold.
fn to_store_update(request: &UpdateRequest) -> Result<Option<record_store::Update>, String> {
    use record_store::Prerequisite as P;
    use record_store::UpdateOperation as O;
    let mut prerequisites = Vec::new();
    for prerequisite in &request.prerequisites {
        let converted = match prerequisite {
            Prerequisite::RrsetExists(name, t) => match store_type(*t) {
                Some(record_type) => P::RrsetExists {
                    owner: owner_text(name),
                    record_type,
                },
                None => return Ok(None),
            },
            Prerequisite::RrsetEquals(name, t, records) => match store_type(*t) {
                Some(record_type) => P::RrsetEquals {
                    owner: owner_text(name),
                    record_type,
                    records: records
                        .iter()
                        .map(|r| from_dns_record(r).map(|stored| stored.data))
                        .collect::<Result<_, _>>()?,
                },
                None => return Ok(None),
            },
            // Never holds such an RRset: always true.
            Prerequisite::RrsetDoesNotExist(_, t) if store_type(*t).is_none() => continue,
            Prerequisite::RrsetDoesNotExist(name, t) => P::RrsetDoesNotExist {
                owner: owner_text(name),
                record_type: store_type(*t).ok_or("unreachable")?,
            },
            Prerequisite::NameInUse(name) => P::NameInUse {
                owner: owner_text(name),
            },
            Prerequisite::NameNotInUse(name) => P::NameNotInUse {
                owner: owner_text(name),
            },
        };
        prerequisites.push(converted);
    }
    let mut operations = Vec::new();
    for operation in &request.operations {
        operations.push(match operation {
            UpdateOperation::Add(record) => O::Add(from_dns_record(record)?),
            // Deleting what the store cannot hold deletes nothing.
            UpdateOperation::DeleteRrset(_, t) if store_type(*t).is_none() => continue,
            UpdateOperation::DeleteRrset(name, t) => O::DeleteRrset {
                owner: owner_text(name),
                record_type: store_type(*t).ok_or("unreachable")?,
            },
            UpdateOperation::DeleteName(name) => O::DeleteName {
                owner: owner_text(name),
            },
            UpdateOperation::DeleteRecord(record) if store_type(record.record_type()).is_none() => {
                continue;
            }
            UpdateOperation::DeleteRecord(record) => O::DeleteRecord {
                owner: owner_text(&record.name),
                data: from_dns_record(record)?.data,
            },
        });
    }
    Ok(Some(record_store::Update {
        zone: owner_text(&request.zone),
        prerequisites,
        operations,
    }))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{MX, SRV, TXT};
    use hickory_proto::rr::{RData, Record};

    use super::*;

    /// The record through the store's form and back.
    fn round_trip(record: &Record) -> Option<Record> {
        let stored = from_dns_record(record).ok()?;
        crate::to_dns_record(&stored.owner, stored.ttl, &stored.data)
    }

    #[test]
    fn supported_records_convert_both_ways() {
        let name = Name::from_str("_acme-challenge._tcp.www.example.test.").expect("name");
        let srv = Record::from_rdata(
            name.clone(),
            60,
            RData::SRV(SRV::new(
                10,
                5,
                8080,
                Name::from_str("client.example.test.").expect("name"),
            )),
        );
        assert_eq!(round_trip(&srv), Some(srv));
        let txt = Record::from_rdata(name, 60, RData::TXT(TXT::new(vec!["one".into()])));
        assert_eq!(round_trip(&txt), Some(txt));
    }

    #[test]
    fn unsupported_types_are_refused_or_decided_here() {
        let name = Name::from_str("www.example.test.").expect("name");
        let mx = Record::from_rdata(
            name.clone(),
            60,
            RData::MX(MX::new(
                10,
                Name::from_str("mail.example.test.").expect("name"),
            )),
        );
        let add = UpdateRequest {
            zone: Name::from_str("example.test.").expect("name"),
            key: Name::from_str("k.example.test.").expect("name"),
            prerequisites: vec![],
            operations: vec![UpdateOperation::Add(mx)],
        };
        assert!(to_store_update(&add).is_err());
        let exists = UpdateRequest {
            prerequisites: vec![Prerequisite::RrsetExists(name.clone(), RecordType::MX)],
            operations: vec![],
            ..add.clone()
        };
        assert_eq!(to_store_update(&exists), Ok(None));
        let absent = UpdateRequest {
            prerequisites: vec![Prerequisite::RrsetDoesNotExist(name, RecordType::MX)],
            operations: vec![],
            ..add
        };
        let update = to_store_update(&absent).expect("fine").expect("holds");
        assert!(update.prerequisites.is_empty());
    }
}
