//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`, never in a
//! release build): the request bodies of the write endpoints, parsed into the crate's
//! request types and checked by its validation, without a server or a store.
//!
//! Each function runs the checks its handler runs on the body before the handler first
//! touches the store or the caller's credentials, in the handler's order, calling the
//! same functions (see `records.rs`, `keys.rs`, `acme_dns.rs`), then the store's record
//! rules that need no stored data (`record_store::rules`: the TTL range, the RRset size,
//! no CNAME at an apex), as an empty store would apply them; a change to a handler's
//! checks belongs here too. The `…_json` functions write a value back as the API shows
//! it. Not an API: nothing here is stable.

use std::sync::Arc;

use ipnet::IpNet;
use record_store::model::{KeyScope, Record, RecordType};
use record_store::rules;
use serde_json::{Value, json};

use crate::acme_dns::{self, RegisterRequest, UpdateRequest};
use crate::extract;
use crate::keys::{self, NewKey};
use crate::records::{self, ARrset, AaaaRrset, CnameRrset, NewRecord, SrvRrset, TxtRrset};
use crate::state::ApiState;
use crate::validation;
use crate::{ApiSettings, DEFAULT_MAX_BODY_BYTES};

/// A key as `POST /v1/keys` would create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedKey {
    /// The description.
    pub description: String,
    /// The scopes, normalised, without duplicates.
    pub scopes: Vec<KeyScope>,
    /// The source networks, host bits cleared, without duplicates.
    pub source_cidrs: Vec<IpNet>,
}

/// The API's request checks for the zones it serves.
pub struct Checks {
    state: ApiState,
    // The store `state` holds is never used; its connections live on this runtime.
    _runtime: tokio::runtime::Runtime,
}

impl Checks {
    /// Checks for an API serving `zones`. Opens a throwaway SQLite store (its file is
    /// removed at once; no check uses it) because the key checks take the API state.
    pub fn new(zones: &[&str]) -> Checks {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = std::env::temp_dir().join(format!("acme-srv-fuzzing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let url = format!("sqlite://{}", dir.join("store.sqlite").display());
        let store = runtime.block_on(record_store::open(&url)).expect("a store");
        let _ = std::fs::remove_dir_all(&dir);
        let settings = ApiSettings {
            zones: zones.iter().map(|zone| (*zone).to_owned()).collect(),
            admin_token: None,
            acme_dns_zone: zones.first().map(|zone| (*zone).to_owned()),
            txt_keep: 2,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            ..ApiSettings::default()
        };
        let state = ApiState::new(Arc::clone(&store), settings);
        Checks {
            state,
            _runtime: runtime,
        }
    }

    /// `POST /v1/records`: the record that would be added, or why not.
    pub fn create_record(&self, body: &[u8]) -> Result<Record, String> {
        let body: NewRecord = extract::parse_json(body).map_err(|e| e.to_string())?;
        let owner = validation::owner_in_zones(&self.state.zones, &body.owner)
            .map_err(|e| e.to_string())?;
        let data = body.data.into_data().map_err(|e| e.to_string())?;
        let record = Record {
            owner,
            ttl: body.ttl,
            data,
        };
        self.store_rules(
            &record.owner,
            record.record_type(),
            std::slice::from_ref(&record),
        )?;
        Ok(record)
    }

    /// The store's rules that need no stored data, for `records` written at `owner` into
    /// an empty store.
    fn store_rules(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
    ) -> Result<(), String> {
        for record in records {
            rules::check_ttl(owner, record.ttl).map_err(|e| e.to_string())?;
        }
        if records.is_empty() {
            return Ok(());
        }
        let is_apex = self.state.zones.iter().any(|zone| zone == owner);
        rules::check_owner(owner, record_type, &[(record_type, records.len())], is_apex)
            .map_err(|e| e.to_string())
    }

    /// `PUT /v1/records/{owner}/{type}`: the TTL and the RRset that would replace the
    /// stored one, or why not.
    pub fn replace_rrset(
        &self,
        raw_owner: &str,
        raw_type: &str,
        body: &[u8],
    ) -> Result<(u32, Vec<Record>), String> {
        let body: Value = extract::parse_json(body).map_err(|e| e.to_string())?;
        let record_type = validation::path_record_type(raw_type).map_err(|e| e.to_string())?;
        let owner =
            validation::owner_in_zones(&self.state.zones, raw_owner).map_err(|e| e.to_string())?;
        records::check_item_types(&body, record_type).map_err(|e| e.to_string())?;
        let parsed = match record_type {
            RecordType::A => extract::parse_value::<ARrset>(body).map(ARrset::into_parts),
            RecordType::Aaaa => extract::parse_value::<AaaaRrset>(body).map(AaaaRrset::into_parts),
            RecordType::Cname => {
                extract::parse_value::<CnameRrset>(body).map(CnameRrset::into_parts)
            }
            RecordType::Srv => extract::parse_value::<SrvRrset>(body).map(SrvRrset::into_parts),
            RecordType::Txt => extract::parse_value::<TxtRrset>(body).map(TxtRrset::into_parts),
        };
        let (ttl, items) = parsed.map_err(|e| e.to_string())?;
        rules::check_ttl(&owner, ttl).map_err(|e| e.to_string())?;
        if record_type == RecordType::Cname && items.len() > 1 {
            return Err("more than one CNAME".to_owned());
        }
        let mut records: Vec<Record> = Vec::with_capacity(items.len());
        for item in items {
            let record = Record {
                owner: owner.clone(),
                ttl,
                data: item.into_data().map_err(|e| e.to_string())?,
            };
            if !records.contains(&record) {
                records.push(record);
            }
        }
        self.store_rules(&owner, record_type, &records)?;
        Ok((ttl, records))
    }

    /// `record` as the API shows it (and as `POST /v1/records` takes it).
    pub fn record_json(&self, record: &Record) -> Vec<u8> {
        serde_json::to_vec(&records::StoredRecord::from(record.clone())).unwrap_or_default()
    }

    /// An RRset body for `PUT /v1/records/{owner}/{type}` from the records as the API
    /// shows them.
    pub fn rrset_json(&self, ttl: u32, rrset: &[Record]) -> Vec<u8> {
        let items: Vec<Value> = rrset
            .iter()
            .map(|record| {
                let mut shown = serde_json::to_value(records::StoredRecord::from(record.clone()))
                    .unwrap_or_default();
                if let Some(fields) = shown.as_object_mut() {
                    fields.remove("owner");
                    fields.remove("ttl");
                }
                shown
            })
            .collect();
        serde_json::to_vec(&json!({"ttl": ttl, "records": items})).unwrap_or_default()
    }

    /// A key's definition as the API shows it (and as `POST /v1/keys` takes it).
    pub fn key_json(&self, key: &CheckedKey) -> Vec<u8> {
        let cidrs: Vec<String> = key.source_cidrs.iter().map(ToString::to_string).collect();
        serde_json::to_vec(&json!({
            "description": key.description,
            "scopes": keys::scope_views(key.scopes.clone()),
            "source_cidrs": cidrs,
        }))
        .unwrap_or_default()
    }

    /// `POST /v1/keys`: the key that would be created, or why not.
    pub fn create_key(&self, body: &[u8]) -> Result<CheckedKey, String> {
        let body: NewKey = extract::parse_json(body).map_err(|e| e.to_string())?;
        let key = keys::validate(&self.state, body).map_err(|e| e.to_string())?;
        Ok(CheckedKey {
            description: key.description,
            scopes: key.scopes,
            source_cidrs: key.source_cidrs,
        })
    }

    /// acme-dns `POST /update` by the registration of `subdomain`: the TXT value that
    /// would be published, or why not.
    pub fn acme_dns_update(&self, subdomain: &str, body: &[u8]) -> Result<String, String> {
        let update: UpdateRequest =
            acme_dns::parse_object(body, &["subdomain", "txt"]).map_err(|e| e.to_string())?;
        if !update.subdomain.eq_ignore_ascii_case(subdomain) {
            return Err("another subdomain".to_owned());
        }
        if !validation::is_acme_dns_txt(&update.txt) {
            return Err("bad TXT value".to_owned());
        }
        Ok(update.txt)
    }

    /// acme-dns `POST /register`: the networks the registration would allow, or why not.
    pub fn acme_dns_register(&self, body: &[u8]) -> Result<Vec<IpNet>, String> {
        let request: RegisterRequest =
            acme_dns::parse_optional(body, &["allowfrom"]).map_err(|e| e.to_string())?;
        if request.allowfrom.len() > validation::MAX_CIDRS {
            return Err("too many networks".to_owned());
        }
        let mut allow_from = Vec::with_capacity(request.allowfrom.len());
        for raw in &request.allowfrom {
            let net = validation::cidr(raw)?;
            if !allow_from.contains(&net) {
                allow_from.push(net);
            }
        }
        Ok(allow_from)
    }
}
