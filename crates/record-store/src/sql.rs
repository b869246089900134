//! What the two SQL stores ([`crate::sqlite`], [`crate::postgres`]) share: the reading
//! of rows into the model's types, and every statement and rule check, written once in a
//! dialect both databases accept and expanded for each by the macros of the submodules.
//!
//! The portable dialect: parameters are `$1`, `$2`, … (sqlx's SQLite driver reads them
//! like `?1`); suffix tests use `substr(x, length(x) - length(origin))` (SQLite's negative
//! start does not exist in PostgreSQL); `CASE` instead of the two-argument `max` (SQLite
//! only) or `greatest` (PostgreSQL only); `TRUE`/`FALSE` literals (SQLite stores 1/0);
//! the current time is bound from Rust, not read with a database function. What cannot
//! be said in both (reading many owners at once, the opening of a write transaction, a
//! read snapshot) each backend writes itself.
//!
//! - [`operations!`](operations::operations) expands to the store operations on a
//!   backend's `Connections`;
//! - [`write_checks!`](write_checks::write_checks) to the rule checks inside a write
//!   transaction;
//! - [`apply_update!`](apply_update::apply_update) to RFC 2136 UPDATE;
//! - [`record_store!`](record_store::record_store) to the [`crate::RecordStore`]
//!   implementation that runs each operation detached on a task of its own.

pub(crate) mod apply_update;
pub(crate) mod operations;
pub(crate) mod record_store;
pub(crate) mod write_checks;

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use domain_name::DomainName;
use tokio::sync::watch;

use crate::StoreError;
use crate::model::{ApiKey, ApiKeyInfo, Record, RecordType, TsigAlgorithm, TsigKey, TsigKeyInfo};

/// Rows kept in the change journal by default: enough for a reader that fell behind by
/// this many changes to catch up without reading everything.
pub const JOURNAL_ROWS: i64 = 10_000;

/// Announces a committed serial on `changes`; never moves the feed backwards (two
/// writers may announce in the other order than they committed, and a notification
/// from another instance may arrive after the serial was read).
pub(crate) fn announce(changes: &watch::Sender<u32>, serial: u32) {
    changes.send_if_modified(|current| {
        let newer = serial > *current;
        if newer {
            *current = serial;
        }
        newer
    });
}

pub(crate) fn serial_from_db(serial: i64) -> Result<u32, StoreError> {
    u32::try_from(serial)
        .map_err(|_| StoreError::Corrupt(format!("zone serial {serial} is out of range")))
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether `name` is already normalised (what the API hands the store).
pub(crate) fn is_normalised(name: &str) -> bool {
    normal_name(name).is_some()
}

/// `name` as a [`DomainName`] if it is one already in the normal form (a wildcard
/// owner included).
pub(crate) fn normal_name(name: &str) -> Option<DomainName> {
    DomainName::parse_dns(name)
        .ok()
        .filter(|parsed| parsed == name)
}

/// A `records` row: owner, type, data, ttl.
pub(crate) type RecordRow = (String, String, String, i64);

pub(crate) const RECORD_COLUMNS: &str = "SELECT owner, type, data, ttl FROM records";

pub(crate) fn record_from_row((owner, rtype, data, ttl): RecordRow) -> Result<Record, StoreError> {
    let what = format!("record {owner} {rtype}");
    let data = crate::stored_form::data_from_json(&what, &data)?;
    let declared =
        RecordType::from_str(&rtype).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))?;
    if data.record_type() != declared {
        return Err(StoreError::Corrupt(format!(
            "{what}: data is of type {}",
            data.record_type()
        )));
    }
    let ttl = u32::try_from(ttl).map_err(|_| StoreError::Corrupt(format!("{what}: TTL {ttl}")))?;
    Ok(Record { owner, ttl, data })
}

pub(crate) fn records_from_rows(rows: Vec<RecordRow>) -> Result<Vec<Record>, StoreError> {
    rows.into_iter().map(record_from_row).collect()
}

/// An `api_keys` row: id, secret_hash, description, scopes, source_cidrs, created_at,
/// revoked.
pub(crate) type KeyRow = (String, String, String, String, String, i64, bool);

pub(crate) const KEY_COLUMNS: &str =
    "SELECT id, secret_hash, description, scopes, source_cidrs, created_at, revoked FROM api_keys";

pub(crate) fn key_from_row(
    (id, secret_hash, description, scopes, source_cidrs, created_at, revoked): KeyRow,
) -> Result<ApiKey, StoreError> {
    let scopes = crate::stored_form::scopes_from_json(&format!("key {id} scopes"), &scopes)?;
    let source_cidrs =
        crate::stored_form::networks_from_json(&format!("key {id} source_cidrs"), &source_cidrs)?;
    Ok(ApiKey {
        info: ApiKeyInfo {
            id,
            description,
            scopes,
            source_cidrs,
            created_at,
            revoked,
        },
        secret_hash,
    })
}

/// A `registrations` row: username, password_hash, subdomain, fulldomain, allow_from.
pub(crate) type RegistrationRow = (String, String, String, String, String);

/// A `tsig_keys` row: name, algorithm, secret, description, scopes, record_types,
/// transfer, created_at, revoked.
pub(crate) type TsigKeyRow = (
    String,
    String,
    Vec<u8>,
    String,
    String,
    String,
    bool,
    i64,
    bool,
);

pub(crate) const TSIG_KEY_COLUMNS: &str = "SELECT name, algorithm, secret, description, scopes, \
     record_types, transfer, created_at, revoked FROM tsig_keys";

pub(crate) fn tsig_key_from_row(
    (name, algorithm, secret, description, scopes, record_types, transfer, created_at, revoked): TsigKeyRow,
) -> Result<TsigKey, StoreError> {
    let algorithm = TsigAlgorithm::from_str(&algorithm)
        .map_err(|e| StoreError::Corrupt(format!("TSIG key {name}: {e}")))?;
    let scopes = crate::stored_form::scopes_from_json(&format!("TSIG key {name} scopes"), &scopes)?;
    let record_types = crate::stored_form::record_types_from_json(
        &format!("TSIG key {name} record_types"),
        &record_types,
    )?;
    Ok(TsigKey {
        info: TsigKeyInfo {
            name,
            algorithm,
            description,
            scopes,
            record_types,
            transfer,
            created_at,
            revoked,
        },
        secret,
    })
}

/// Maps a unique violation to [`StoreError::Conflict`] naming `what`.
pub(crate) fn conflict(err: sqlx::Error, what: impl FnOnce(&str) -> String) -> StoreError {
    match err.as_database_error() {
        // PostgreSQL names the constraint (`registrations_subdomain_key`); SQLite names
        // the column in its message (`UNIQUE constraint failed: registrations.subdomain`).
        Some(db) if db.is_unique_violation() => {
            StoreError::Conflict(what(db.constraint().unwrap_or_else(|| db.message())))
        }
        _ => StoreError::Database(err),
    }
}

/// Whether `records` holds exactly `wanted` (data JSON, TTL) at one RRset, ignoring order.
pub(crate) fn same_rrset(mut current: Vec<(String, i64)>, mut wanted: Vec<(String, i64)>) -> bool {
    current.sort();
    wanted.sort();
    current == wanted
}
