//! What the store's contract tests share: a fresh store of each backend (SQLite on a
//! temporary file, PostgreSQL in a fresh database of the test cluster), the macro that
//! runs a test body on both, records, contexts.
#![allow(dead_code, unused_macros, clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use record_store::{
    Author, PostgresStore, Record, RecordData, RecordQuotas, RecordStore, SqliteStore, StoreError,
    WriteContext,
};
use tempfile::TempDir;
use test_support::programs::postgres::TestDatabase;

/// The zones the contexts of these tests serve.
pub const ZONES: [&str; 2] = ["example.com", "sub.example.com"];

/// Runs each named test body (`async fn NAME(backend: Backend)`) as two tests,
/// `sqlite::NAME` and `postgres::NAME`. The PostgreSQL one is skipped, loudly, only when
/// the operator opted out of interop tests and no test cluster was given.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if $crate::support::postgres_skipped() {
                        return;
                    }
                    super::$name($crate::support::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether the PostgreSQL tests are skipped (see [`on_both_backends`]).
pub fn postgres_skipped() -> bool {
    std::env::var(test_support::programs::postgres::URL_VAR).is_err()
        && test_support::programs::interop_opted_out()
}

/// A fresh store and the place it keeps its data (removed when dropped). Derefs to the
/// store.
pub struct TestStore {
    pub store: Arc<dyn RecordStore>,
    place: Place,
}

enum Place {
    File(TempDir, PathBuf),
    Database(TestDatabase),
}

impl std::ops::Deref for TestStore {
    type Target = dyn RecordStore;

    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

impl TestStore {
    /// Another store on the same data: a reopened SQLite file, or, for PostgreSQL, a
    /// second pool on the same database, standing for another acme-srv instance.
    pub async fn reopen(&self) -> Arc<dyn RecordStore> {
        match &self.place {
            Place::File(_, path) => Arc::new(SqliteStore::open(path).await.unwrap()),
            Place::Database(database) => {
                Arc::new(PostgresStore::connect(database.url()).await.unwrap())
            }
        }
    }

    /// The URL `record_store::open` takes for this store's data.
    pub fn url(&self) -> String {
        match &self.place {
            Place::File(_, path) => format!("sqlite://{}", path.display()),
            Place::Database(database) => database.url().to_owned(),
        }
    }
}

/// A fresh, empty store of `backend`.
pub async fn new_store(backend: Backend) -> TestStore {
    new_store_with_journal_rows(backend, record_store::JOURNAL_ROWS).await
}

/// A fresh, empty store of `backend` keeping `rows` rows in its change journal.
pub async fn new_store_with_journal_rows(backend: Backend, rows: i64) -> TestStore {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("store.sqlite");
            let store = SqliteStore::open(&path)
                .await
                .unwrap()
                .with_journal_rows(rows);
            TestStore {
                store: Arc::new(store),
                place: Place::File(dir, path),
            }
        }
        Backend::Postgres => {
            let database = test_database().await;
            let store = PostgresStore::connect(database.url())
                .await
                .unwrap()
                .with_journal_rows(rows);
            TestStore {
                store: Arc::new(store),
                place: Place::Database(database),
            }
        }
    }
}

/// A fresh database on the test cluster (PostgreSQL must be there: see
/// [`postgres_skipped`]).
pub async fn test_database() -> TestDatabase {
    test_support::programs::postgres::test_database()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
        .expect("PostgreSQL tests are skipped (ACME_SRV_SKIP_INTEROP=1) but one ran")
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

pub async fn snapshot(store: &TestStore) -> Snapshot {
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
