//! What the store's contract tests share: a store on a temporary file, records, contexts.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use record_store::{
    Author, Record, RecordData, RecordQuotas, RecordStore, SqliteStore, StoreError, WriteContext,
};
use tempfile::TempDir;

/// The zones the contexts of these tests serve.
pub const ZONES: [&str; 2] = ["example.com", "sub.example.com"];

pub async fn new_store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.sqlite"))
        .await
        .unwrap();
    (dir, store)
}

pub fn txt(owner: &str, value: &str, ttl: u32) -> Record {
    Record {
        owner: owner.into(),
        ttl,
        data: RecordData::Txt {
            value: value.into(),
        },
    }
}

pub fn a(owner: &str, last: u8, ttl: u32) -> Record {
    Record {
        owner: owner.into(),
        ttl,
        data: RecordData::A {
            address: Ipv4Addr::new(192, 0, 2, last),
        },
    }
}

pub fn cname(owner: &str, target: &str) -> Record {
    Record {
        owner: owner.into(),
        ttl: 60,
        data: RecordData::Cname {
            target: target.into(),
        },
    }
}

/// A context serving [`ZONES`], by `author`, under `quotas`.
pub fn context(author: Option<Author>, quotas: RecordQuotas) -> WriteContext {
    WriteContext {
        author,
        zones: ZONES
            .iter()
            .map(|zone| (*zone).to_owned())
            .collect::<Arc<[String]>>(),
        quotas,
    }
}

/// The API key `id` as an author.
pub fn key(id: &str) -> Option<Author> {
    Some(Author::ApiKey(id.to_owned()))
}

/// Everything a refused write must leave as it was: the records and the serial.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub records: Vec<Record>,
    pub serial: u32,
}

pub async fn snapshot(store: &SqliteStore) -> Snapshot {
    Snapshot {
        records: store.all_records().await.unwrap(),
        serial: store.serial().await.unwrap(),
    }
}

/// The rule violation `result` was refused with; panics on anything else.
#[track_caller]
pub fn violation<T: std::fmt::Debug>(result: Result<T, StoreError>) -> record_store::RuleViolation {
    match result {
        Err(StoreError::Rule(violation)) => violation,
        other => panic!("expected a rule violation, got {other:?}"),
    }
}
