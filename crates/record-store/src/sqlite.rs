//! The embedded SQLite store.
//!
//! One database file holds everything; the schema is created and upgraded by the
//! versioned migrations under `crates/record-store/migrations/sqlite/` (sqlx's migrator,
//! run on every [`SqliteStore::open`]; an up-to-date database is left as it is).
//!
//! Tables:
//! - `records (id, owner, type, data, ttl, author)`: `id` is the insertion order, `data`
//!   the canonical JSON of the record data (the private stored form of
//!   `src/stored_form.rs`), unique on `(owner, type, data)`; `author` the credential
//!   that added the record (`api-key:<id>`, `tsig-key:<name>`, or NULL).
//! - `zone_serial (id = 1, serial)`: one row; it starts at the Unix time the database was
//!   created and every committed change to `records` sets it to
//!   `max(serial + 1, now)` in the same transaction, so it strictly increases and a
//!   database restored from an old backup still moves past what secondaries have seen.
//! - `counted_zones (origin)` and `record_counts (kind, name, records)`: the served zones
//!   (as the last write named them) and the number of records per zone and per author,
//!   kept by triggers on `records` in the transaction of every change; the record quotas
//!   read them in O(1) (`sql/write_checks.rs`).
//! - `api_keys (id, secret_hash, description, scopes, source_cidrs, created_at, revoked)`,
//!   with JSON arrays for the scopes and networks.
//! - `tsig_keys (name, algorithm, secret, description, scopes, record_types, transfer,
//!   created_at, revoked)`: the secret is stored as it is, not hashed, because the
//!   server computes HMACs with it (see `migrations/sqlite/0004_tsig_keys.sql`); revoking wipes
//!   it.
//! - `registrations (username, password_hash, subdomain, fulldomain, allow_from)`.
//! - `record_changes (id, serial, owner)`: the change journal. The transaction that bumps
//!   the serial also records which owners changed, so [`RecordStore::changes_since`] can
//!   name the owners changed after a serial and the DNS snapshot is patched instead of
//!   rebuilt. Only the newest [`JOURNAL_ROWS`] rows are kept;
//!   `record_changes_pruned (id = 1, serial)` holds the highest serial pruned, below which
//!   the journal is incomplete.
//!
//! Rules: every write of records checks the [`crate::rules`] inside its transaction,
//! after its statements and before its commit, on the data as it left them
//! (`sql/write_checks.rs`); a violation rolls the transaction back. RFC 2136 UPDATE is
//! `sql/apply_update.rs`. The statements are shared with the PostgreSQL store
//! ([`crate::sql`]); what is SQLite's own is here: the connections, the write lock, and
//! reading many owners at once (`json_each`).
//!
//! Durability and concurrency: the connections use WAL with `synchronous = FULL`, so a
//! commit returns only after the WAL is on disk, which is when a write method returns
//! `Ok`. Writes go through a pool of one connection and open their transaction with
//! `BEGIN IMMEDIATE`, so they are serialised inside the process and take the write lock
//! up front against other processes (a CLI on the same file waits up to the busy
//! timeout instead of failing on a lock upgrade). Reads use a separate small pool and,
//! with WAL, never wait for a writer.
//!
//! The change feed ([`RecordStore::subscribe`]) only sees changes made through this
//! `SqliteStore`; a change made by another process shows up in [`RecordStore::serial`]
//! but is not announced.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;

use crate::model::{
    ApiKey, ApiKeyInfo, NewApiKey, NewTsigKey, Record, RecordType, Registration, TsigKey,
    TsigKeyInfo,
};
use crate::rules::{self, MAX_RRSET_RECORDS, WriteContext};
use crate::sql::{
    KEY_COLUMNS, KeyRow, RECORD_COLUMNS, RecordRow, RegistrationRow, TSIG_KEY_COLUMNS, TsigKeyRow,
    conflict, is_normalised, key_from_row, records_from_rows, same_rrset, serial_from_db,
    tsig_key_from_row, unix_now,
};
use crate::stored_form;
use crate::update::{Update, UpdateOutcome, UpdatePermissions};
use crate::{Changes, StoreError};

pub use crate::sql::JOURNAL_ROWS;

mod write_checks {
    crate::sql::write_checks::write_checks!(sqlx::Sqlite);
}
mod apply_update {
    crate::sql::apply_update::apply_update!(sqlx::Sqlite);
}

use write_checks::QuotaCheck;

/// The schema migrations under `migrations/sqlite/`, embedded at build time.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a pooled connection (writes queue for the one writer).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections in the read pool.
const READERS: u32 = 4;

/// The record store in one SQLite database file.
///
/// Cheap to share behind an `Arc`; every method takes `&self`. Every operation runs to
/// its end on a task of its own, even when its caller stops waiting (see
/// [`crate::sql::record_store`]): with one writer connection, a transaction dropped at
/// the wrong point would stop every later write.
#[derive(Debug)]
pub struct SqliteStore {
    inner: Arc<Connections>,
}

/// The connection pools and change feed; what a detached operation holds.
#[derive(Debug)]
struct Connections {
    /// One connection: every write transaction.
    writer: SqlitePool,
    /// A few connections: reads.
    readers: SqlitePool,
    /// The latest committed serial, for [`crate::RecordStore::subscribe`].
    changes: watch::Sender<u32>,
    /// Rows kept in the change journal.
    journal_rows: AtomicI64,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it when missing, and applies pending
    /// migrations.
    ///
    /// `path` must name a file (not `:memory:`): the read and write pools are separate
    /// connections to it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A transaction whose COMMIT failed (a full disk, an I/O error) can leave
            // the connection inside it; every later write would then fail with
            // "begin_with at non-zero transaction depth" until a restart. Such a
            // connection is closed (rolling the transaction back) and a fresh one opened.
            .before_acquire(|connection, _| {
                Box::pin(async move {
                    use sqlx::Connection as _;
                    let stuck = connection.is_in_transaction();
                    if stuck {
                        tracing::warn!(
                            "the store's writer connection was left inside a failed transaction; reopening it"
                        );
                    }
                    Ok(!stuck)
                })
            })
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        let serial = read_serial(&readers).await?;
        tracing::debug!(path = %path.display(), serial, "opened SQLite record store");
        Ok(Self {
            inner: Arc::new(Connections {
                writer,
                readers,
                changes: watch::Sender::new(serial),
                journal_rows: AtomicI64::new(JOURNAL_ROWS),
            }),
        })
    }

    /// Keeps `rows` rows in the change journal instead of [`JOURNAL_ROWS`] (at least 1).
    #[must_use]
    pub fn with_journal_rows(self, rows: i64) -> Self {
        self.inner
            .journal_rows
            .store(rows.max(1), Ordering::Relaxed);
        self
    }

    /// Closes both connection pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        self.inner.readers.close().await;
    }
}

/// What is SQLite's own; the shared operations are [`crate::sql::operations`].
impl Connections {
    /// Starts a write transaction holding SQLite's write lock.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Starts a read transaction: with WAL, it reads one snapshot.
    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.readers.begin().await?)
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.readers
    }

    /// SQLite's errors reach the caller as they are.
    #[allow(clippy::unused_async)]
    async fn explain<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        result
    }

    async fn records_at(&self, owners: &[String]) -> Result<Vec<Record>, StoreError> {
        debug_assert!(
            owners.iter().all(|o| is_normalised(o)),
            "owners {owners:?} are not normalised"
        );
        let rows: Vec<RecordRow> = sqlx::query_as(&format!(
            "{RECORD_COLUMNS} WHERE owner IN (SELECT value FROM json_each($1)) \
             ORDER BY owner, type, id"
        ))
        .bind(
            serde_json::to_string(owners)
                .map_err(|e| StoreError::Corrupt(format!("cannot encode owners: {e}")))?,
        )
        .fetch_all(&self.readers)
        .await?;
        records_from_rows(rows)
    }
}

crate::sql::operations::operations!(sqlx::Sqlite);
crate::sql::record_store::record_store!(SqliteStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordStore as _;

    #[tokio::test]
    async fn migrations_run_twice_are_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let applied = || async {
            sqlx::query_as::<_, (i64, Vec<u8>)>(
                "SELECT version, checksum FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&store.inner.readers)
            .await
            .unwrap()
        };
        let before = applied().await;
        assert_eq!(before.len(), MIGRATOR.iter().count());
        MIGRATOR.run(&store.inner.writer).await.unwrap();
        MIGRATOR.run(&store.inner.writer).await.unwrap();
        assert_eq!(applied().await, before);
    }

    /// A database written by schema version 2 (the records' `data` then the serde_json of
    /// the model types) opens, is migrated, and reads back the same records, keys and
    /// registrations; equal records still deduplicate against the old rows, and the
    /// quotas count the old records once the zones are known.
    #[tokio::test]
    async fn a_database_of_schema_version_2_opens_and_reads_the_same() {
        use crate::model::{KeyScope, RecordData};
        use crate::rules::{RecordQuotas, RuleViolation};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.sqlite");
        {
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            let version_2 = sqlx::migrate::Migrator {
                migrations: std::borrow::Cow::Owned(
                    MIGRATOR
                        .iter()
                        .filter(|m| m.version <= 2)
                        .cloned()
                        .collect(),
                ),
                ignore_missing: false,
                locking: true,
                no_tx: false,
            };
            version_2.run(&pool).await.unwrap();
            // What version 2 wrote, byte for byte.
            sqlx::query(
                "INSERT INTO records (owner, type, data, ttl) VALUES \
                 ('www.example.com', 'A', '{\"type\":\"A\",\"address\":\"192.0.2.1\"}', 60), \
                 ('_acme-challenge._tcp.www.example.com', 'SRV', \
                  '{\"type\":\"SRV\",\"priority\":10,\"weight\":5,\"port\":8080,\"target\":\"client.example.com\"}', 300), \
                 ('t.example.com', 'TXT', '{\"type\":\"TXT\",\"value\":\"v\"}', 1); \
                 INSERT INTO api_keys (id, secret_hash, description, scopes, source_cidrs, created_at, revoked) VALUES \
                 ('k1', '$argon2id$x', 'd', '[{\"kind\":\"subtree\",\"name\":\"example.com\"}]', '[\"10.0.0.0/8\"]', 7, 0); \
                 INSERT INTO registrations (username, password_hash, subdomain, fulldomain, allow_from) VALUES \
                 ('u1', '$argon2id$y', 's1', 's1.auth.example.com', '[\"192.0.2.0/24\"]');",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let srv = Record {
            owner: "_acme-challenge._tcp.www.example.com".into(),
            ttl: 300,
            data: RecordData::Srv {
                priority: 10,
                weight: 5,
                port: 8080,
                target: "client.example.com".into(),
            },
        };
        let www = Record {
            owner: "www.example.com".into(),
            ttl: 60,
            data: RecordData::A {
                address: "192.0.2.1".parse().unwrap(),
            },
        };
        let txt = Record {
            owner: "t.example.com".into(),
            ttl: 1,
            data: RecordData::Txt { value: "v".into() },
        };
        assert_eq!(
            store.all_records().await.unwrap(),
            [srv.clone(), txt.clone(), www.clone()]
        );
        let key = store.find_key("k1").await.unwrap().unwrap();
        assert_eq!(key.info.scopes, [KeyScope::Subtree("example.com".into())]);
        assert_eq!(key.info.source_cidrs, ["10.0.0.0/8".parse().unwrap()]);
        let registration = store.find_registration("u1").await.unwrap().unwrap();
        assert_eq!(registration.allow_from, ["192.0.2.0/24".parse().unwrap()]);

        // The same record again is the old row: no duplicate, no change.
        let serial = store.serial().await.unwrap();
        store.add_record(&srv).await.unwrap();
        assert_eq!(store.all_records().await.unwrap().len(), 3);
        assert_eq!(store.serial().await.unwrap(), serial);

        // The old records count in their zone once the zones are known.
        let context = WriteContext {
            zones: std::sync::Arc::from(vec!["example.com".to_owned()]),
            quotas: RecordQuotas {
                records_per_zone: 3,
                records_per_author: 0,
            },
            ..WriteContext::default()
        };
        let fourth = Record {
            owner: "new.example.com".into(),
            ..www.clone()
        };
        let refused = store.add_record_with(&fourth, &context).await;
        assert!(
            matches!(
                refused,
                Err(StoreError::Rule(RuleViolation::QuotaExceeded {
                    records: 4,
                    ..
                }))
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn rrset_comparison_ignores_order() {
        let a = vec![("x".to_owned(), 1), ("y".to_owned(), 2)];
        let b = vec![("y".to_owned(), 2), ("x".to_owned(), 1)];
        assert!(same_rrset(a.clone(), b));
        assert!(!same_rrset(
            a,
            vec![("x".to_owned(), 1), ("y".to_owned(), 3)]
        ));
    }
}
