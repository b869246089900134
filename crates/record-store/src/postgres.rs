//! The PostgreSQL store, for several acme-srv instances sharing one database.
//!
//! It keeps every promise of the SQLite store ([`crate::sqlite`]) with the same tables
//! and the same statements ([`crate::sql`]); the schema is created and upgraded by the
//! versioned migrations under `crates/record-store/migrations/postgres/`.
//!
//! - **Durable acknowledgement**: a write method returns `Ok` only after `COMMIT`
//!   returned, and every connection runs with `synchronous_commit = on` (set by the
//!   store on each connection, whatever the server's default), so the commit record is
//!   flushed to the server's WAL first. (A server run with `fsync = off` gives that up;
//!   do not run one so.)
//! - **One serial, one writer at a time**: every write transaction starts by locking
//!   the one `zone_serial` row (`SELECT … FOR UPDATE`) and holds the lock until it
//!   commits or rolls back. The writers of every instance are so serialised as SQLite's
//!   `BEGIN IMMEDIATE` serialises processes: under PostgreSQL's default `READ COMMITTED`,
//!   each statement after the lock sees every write committed before it, so the rule
//!   checks ([`crate::rules`]: the CNAME rule, RRset size, quotas) run on the data as
//!   it is and no concurrent writer can slip past them; and serials are raised, and
//!   journaled, in commit order, so [`RecordStore::changes_since`] never misses a
//!   change committed below the serial it reports. (The alternative, `SERIALIZABLE`
//!   with retries, would let writers to different owners overlap, but every record
//!   write raises the one serial row anyway, so they would conflict there.) Reads take
//!   no lock; [`RecordStore::changes_since`] reads in one `REPEATABLE READ` snapshot.
//! - **Change feed across instances**: a trigger on `zone_serial` runs
//!   `pg_notify('acme_srv_records', serial)` in every transaction that raises the
//!   serial; PostgreSQL delivers it at commit to every session that LISTENs. Each store
//!   keeps one listening connection (`postgres/listener.rs`) and publishes the serials
//!   it hears on [`RecordStore::subscribe`], besides announcing its own commits at once.
//!   After any gap (the listening connection dropped, the server restarted) it listens
//!   again, with back-off while the server is away, then reads the serial and publishes
//!   it: a follower then catches up through the journal, whatever notifications were
//!   lost.
//! - **Connection loss**: the pool reconnects by itself; no restart is needed. While
//!   the server cannot be reached, an operation fails after at most [`ACQUIRE_TIMEOUT`]
//!   (plus one connection attempt that names the cause) with
//!   [`StoreError::Unavailable`], "the database is unreachable: …", which the API
//!   answers with 503. Nothing was changed then, except when the connection broke
//!   during a `COMMIT`, whose outcome the client cannot know (as with any database).
//! - **Migrations** run on every [`PostgresStore::connect`] under sqlx's
//!   `pg_advisory_lock`, so instances starting together apply each version once.
//!
//! Limits: the record data's JSON text is part of a unique B-tree key, which PostgreSQL
//! caps at about 2700 bytes: a TXT value near its 2048-byte maximum that is mostly
//! characters JSON escapes (quotes, backslashes, control characters) is refused by the
//! database. The URL may carry a password; the store never logs the URL.

mod listener;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::model::{
    ApiKey, ApiKeyInfo, NewApiKey, NewTsigKey, Record, RecordType, Registration, TsigKey,
    TsigKeyInfo,
};
use crate::rules::{self, MAX_RRSET_RECORDS, WriteContext};
use crate::sql::{
    JOURNAL_ROWS, KEY_COLUMNS, KeyRow, RECORD_COLUMNS, RecordRow, RegistrationRow,
    TSIG_KEY_COLUMNS, TsigKeyRow, conflict, is_normalised, key_from_row, records_from_rows,
    same_rrset, serial_from_db, tsig_key_from_row, unix_now,
};
use crate::stored_form;
use crate::update::{Update, UpdateOutcome, UpdatePermissions};
use crate::{Changes, StoreError};

#[cfg(doc)]
use crate::RecordStore;

mod write_checks {
    crate::sql::write_checks::write_checks!(sqlx::Postgres);
}
mod apply_update {
    crate::sql::apply_update::apply_update!(sqlx::Postgres);
}

use write_checks::QuotaCheck;

/// The schema migrations under `migrations/postgres/`, embedded at build time.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel every serial is announced on (see the `zone_serial_announced` trigger).
pub const CHANNEL: &str = "acme_srv_records";

/// How long an operation waits for a pooled connection, which is also how long it waits
/// for an unreachable server before failing with [`StoreError::Unavailable`].
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the pool (reads and writes; the listener has one more of its own).
const CONNECTIONS: u32 = 8;

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The record store in a PostgreSQL database, shared by any number of instances.
///
/// Cheap to share behind an `Arc`; every method takes `&self`, and every operation runs
/// to its end on a task of its own (see [`crate::sql::record_store`]). Dropping the
/// store stops its listening task.
#[derive(Debug)]
pub struct PostgresStore {
    inner: Arc<Connections>,
    listener: JoinHandle<()>,
}

/// The pool, the change feed and the connection settings; what a detached operation
/// holds.
struct Connections {
    /// Reads and write transactions.
    pool: PgPool,
    /// How to connect (for naming the cause when the server cannot be reached, and for
    /// the listener). Holds the password: never logged.
    options: PgConnectOptions,
    /// The latest committed serial, for [`RecordStore::subscribe`].
    changes: watch::Sender<u32>,
    /// Rows kept in the change journal.
    journal_rows: AtomicI64,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the options: they hold the password.
        f.debug_struct("Connections")
            .field("pool", &self.pool)
            .field("serial", &*self.changes.borrow())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database named by `url` (`postgres://USER:PASSWORD@HOST:PORT/DB`
    /// or `postgresql://…`, with libpq's query parameters such as `sslmode` or `host=`
    /// for a socket directory), applies pending migrations under an advisory lock, and
    /// starts listening for changes made by other instances. The database must exist.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?
            .application_name("acme-srv")
            // The durability promise does not depend on the server's default.
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());
        let inner = Arc::new(Connections {
            pool,
            options,
            changes: watch::Sender::new(0),
            journal_rows: AtomicI64::new(JOURNAL_ROWS),
        });
        let prepared = async {
            MIGRATOR.run(&inner.pool).await?;
            inner.read_serial().await
        };
        let serial = match prepared.await {
            Ok(serial) => serial,
            Err(error) => {
                let error = inner.explain::<()>(Err(error)).await.err();
                inner.pool.close().await;
                return Err(error.unwrap_or_else(|| {
                    StoreError::Corrupt("opening the store failed without an error".into())
                }));
            }
        };
        inner.changes.send_replace(serial);
        tracing::debug!(serial, "opened PostgreSQL record store");
        let listener = tokio::spawn(listener::follow(Arc::clone(&inner)));
        Ok(Self { inner, listener })
    }

    /// Keeps `rows` rows in the change journal instead of [`JOURNAL_ROWS`] (at least 1).
    #[must_use]
    pub fn with_journal_rows(self, rows: i64) -> Self {
        self.inner
            .journal_rows
            .store(rows.max(1), Ordering::Relaxed);
        self
    }

    /// Stops listening and closes the pool, waiting for connections in use to be
    /// returned.
    pub async fn close(&self) {
        self.listener.abort();
        self.inner.pool.close().await;
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// What is PostgreSQL's own; the shared operations are [`crate::sql::operations`].
impl Connections {
    /// Starts a write transaction holding the writer lock: the `zone_serial` row.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT serial FROM zone_serial WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the zone_serial row is missing".into()))?;
        Ok(tx)
    }

    /// Starts a read transaction that sees one snapshot.
    async fn begin_snapshot(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?)
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn read_serial(&self) -> Result<u32, StoreError> {
        read_serial(&self.pool).await
    }

    async fn records_at(&self, owners: &[String]) -> Result<Vec<Record>, StoreError> {
        debug_assert!(
            owners.iter().all(|o| is_normalised(o)),
            "owners {owners:?} are not normalised"
        );
        let rows: Vec<RecordRow> = sqlx::query_as(&format!(
            "{RECORD_COLUMNS} WHERE owner = ANY($1) ORDER BY owner, type, id"
        ))
        .bind(owners)
        .fetch_all(&self.pool)
        .await?;
        records_from_rows(rows)
    }

    /// Turns a failure that means the server is out of reach into
    /// [`StoreError::Unavailable`] naming the cause; other results pass as they are.
    async fn explain<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match result {
            Err(StoreError::Database(error)) if connection_lost(&error) => {
                Err(self.unreachable(error).await)
            }
            other => other,
        }
    }

    /// The error for a lost server. The pool says only that no connection came within
    /// [`ACQUIRE_TIMEOUT`] (it retries refused connections until then); one direct
    /// attempt names the cause. When that attempt succeeds, the pool was merely busy.
    async fn unreachable(&self, error: sqlx::Error) -> StoreError {
        if !matches!(error, sqlx::Error::PoolTimedOut) {
            return StoreError::Unavailable(error);
        }
        match tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&self.options)).await
        {
            Ok(Ok(connection)) => {
                // Best effort: the connection only showed that the server answers.
                let _ = connection.close().await;
                StoreError::Database(error)
            }
            Ok(Err(cause)) => StoreError::Unavailable(cause),
            Err(_elapsed) => StoreError::Unavailable(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer from the server within {ACQUIRE_TIMEOUT:?}"),
            ))),
        }
    }
}

/// Whether `error` means the server cannot be reached or dropped the connection: I/O
/// and TLS errors, no connection from the pool in time, and SQLSTATE classes 08
/// (connection exception) and 57P (operator intervention: the server shutting down or
/// not yet started).
fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

crate::sql::operations::operations!(sqlx::Postgres);
crate::sql::record_store::record_store!(PostgresStore);
