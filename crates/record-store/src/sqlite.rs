//! The embedded SQLite store.
//!
//! One database file holds everything; the schema is created and upgraded by the
//! versioned migrations under `crates/record-store/migrations/` (sqlx's migrator, run on
//! every [`SqliteStore::open`]; an up-to-date database is left as it is).
//!
//! Tables:
//! - `records (id, owner, type, data, ttl, author)`: `id` is the insertion order, `data`
//!   the canonical JSON of the record data (the private stored form of
//!   `sqlite/stored_form.rs`), unique on `(owner, type, data)`; `author` the credential
//!   that added the record (`api-key:<id>`, `tsig-key:<name>`, or NULL).
//! - `zone_serial (id = 1, serial)`: one row; it starts at the Unix time the database was
//!   created and every committed change to `records` sets it to
//!   `max(serial + 1, now)` in the same transaction, so it strictly increases and a
//!   database restored from an old backup still moves past what secondaries have seen.
//! - `counted_zones (origin)` and `record_counts (kind, name, records)`: the served zones
//!   (as the last write named them) and the number of records per zone and per author,
//!   kept by triggers on `records` in the transaction of every change; the record quotas
//!   read them in O(1) (`sqlite/write_checks.rs`).
//! - `api_keys (id, secret_hash, description, scopes, source_cidrs, created_at, revoked)`,
//!   with JSON arrays for the scopes and networks.
//! - `tsig_keys (name, algorithm, secret, description, scopes, record_types, transfer,
//!   created_at, revoked)`: the secret is stored as it is, not hashed, because the
//!   server computes HMACs with it (see `migrations/0004_tsig_keys.sql`); revoking wipes
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
//! (`sqlite/write_checks.rs`); a violation rolls the transaction back. RFC 2136 UPDATE is
//! `sqlite/apply_update.rs`.
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

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use domain_name::DomainName;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tokio::sync::watch;

use crate::model::{
    ApiKey, ApiKeyInfo, NewApiKey, NewTsigKey, Record, RecordType, Registration, TsigAlgorithm,
    TsigKey, TsigKeyInfo,
};
use crate::rules::{self, MAX_RRSET_RECORDS, WriteContext};
use crate::update::{Update, UpdateOutcome, UpdatePermissions};
use crate::{Changes, RecordStore, StoreError};

mod apply_update;
mod stored_form;
mod write_checks;

use write_checks::QuotaCheck;

/// The schema migrations under `migrations/`, embedded at build time.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a pooled connection (writes queue for the one writer).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections in the read pool.
const READERS: u32 = 4;
/// Rows kept in the change journal: enough for a reader that fell behind by this many
/// changes to catch up without reading everything.
pub const JOURNAL_ROWS: i64 = 10_000;

/// The record store in one SQLite database file.
///
/// Cheap to share behind an `Arc`; every method takes `&self`. Every operation runs to
/// its end on a task of its own, even when its caller stops waiting (an API client that
/// disconnects makes hyper drop the request): sqlx leaves a connection unusable when a
/// transaction is dropped at the wrong point (still inside `BEGIN`, or waiting to be
/// returned to its pool), and with one writer connection that would stop every later
/// write. An operation whose caller left completes or fails as usual; nobody hears of it.
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
    /// The latest committed serial, for [`RecordStore::subscribe`].
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

    /// Runs `operation` on a task of its own, so that it ends by itself even if this
    /// future is dropped (see [`SqliteStore`]).
    async fn detached<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Connections>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        tokio::spawn(operation(self.inner.clone()))
            .await
            .map_err(StoreError::Interrupted)?
    }
}

impl Connections {
    /// Runs the one-row write `sql` with `?1` bound to `key` in its own durable
    /// transaction; whether a row matched.
    async fn update_one(&self, sql: &str, key: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let found = sqlx::query(sql)
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(found > 0)
    }

    fn journal_rows(&self) -> i64 {
        self.journal_rows.load(Ordering::Relaxed)
    }

    /// Starts a write transaction holding SQLite's write lock.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Commits `tx` when `work` succeeded and announces its new serial, if it made one;
    /// rolls `tx` back when `work` failed (a rule refused it, or a statement failed), and
    /// returns that failure.
    async fn finish<T>(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        work: Result<(T, Option<u32>), StoreError>,
    ) -> Result<T, StoreError> {
        match work {
            Ok((value, serial)) => {
                tx.commit().await?;
                if let Some(serial) = serial {
                    self.announce(serial);
                }
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(%rollback, %error, "record store: rolling back a refused write failed");
                }
                Err(error)
            }
        }
    }

    /// Announces a committed serial; never moves the feed backwards (two writers may
    /// announce in the other order than they committed).
    fn announce(&self, serial: u32) {
        self.changes.send_if_modified(|current| {
            let newer = serial > *current;
            if newer {
                *current = serial;
            }
            newer
        });
    }
}

/// Reads the zone serial.
async fn read_serial(pool: &SqlitePool) -> Result<u32, StoreError> {
    let serial: i64 = sqlx::query_scalar("SELECT serial FROM zone_serial WHERE id = 1")
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the zone_serial row is missing".into()))?;
    serial_from_db(serial)
}

/// Reads the zone serial inside the caller's transaction.
async fn read_serial_in(conn: &mut SqliteConnection) -> Result<u32, StoreError> {
    let serial: i64 = sqlx::query_scalar("SELECT serial FROM zone_serial WHERE id = 1")
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the zone_serial row is missing".into()))?;
    serial_from_db(serial)
}

/// Bumps the zone serial inside the caller's transaction and journals that `owners`
/// changed at the new serial (pruning the oldest journal rows); the new serial.
async fn bump_serial(
    conn: &mut SqliteConnection,
    owners: &[&str],
    journal_rows: i64,
) -> Result<u32, StoreError> {
    let serial = next_serial(conn).await?;
    for owner in owners {
        sqlx::query("INSERT INTO record_changes (serial, owner) VALUES (?1, ?2)")
            .bind(i64::from(serial))
            .bind(*owner)
            .execute(&mut *conn)
            .await?;
    }
    // As many rows out as went over: the journal stays at `journal_rows` rows.
    let pruned: Option<i64> = sqlx::query_scalar(
        "DELETE FROM record_changes WHERE id <= (SELECT max(id) FROM record_changes) - ?1 \
         RETURNING serial",
    )
    .bind(journal_rows)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .max();
    if let Some(pruned) = pruned {
        sqlx::query("UPDATE record_changes_pruned SET serial = max(serial, ?1) WHERE id = 1")
            .bind(pruned)
            .execute(&mut *conn)
            .await?;
    }
    Ok(serial)
}

/// Raises the zone serial inside the caller's transaction; the new value.
async fn next_serial(conn: &mut SqliteConnection) -> Result<u32, StoreError> {
    let serial: i64 = sqlx::query_scalar(
        "UPDATE zone_serial SET serial = max(serial + 1, CAST(strftime('%s', 'now') AS INTEGER)) \
         WHERE id = 1 RETURNING serial",
    )
    .fetch_optional(conn)
    .await
    .map_err(|e| match e.as_database_error() {
        Some(db) if db.is_check_violation() => {
            StoreError::Corrupt("the zone serial cannot grow past 4294967295".into())
        }
        _ => StoreError::Database(e),
    })?
    .ok_or_else(|| StoreError::Corrupt("the zone_serial row is missing".into()))?;
    serial_from_db(serial)
}

fn serial_from_db(serial: i64) -> Result<u32, StoreError> {
    u32::try_from(serial)
        .map_err(|_| StoreError::Corrupt(format!("zone serial {serial} is out of range")))
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether `name` is already normalised (what the API hands the store).
fn is_normalised(name: &str) -> bool {
    normal_name(name).is_some()
}

/// `name` as a [`DomainName`] if it is one already in the normal form (a wildcard
/// owner included).
fn normal_name(name: &str) -> Option<DomainName> {
    DomainName::parse_dns(name)
        .ok()
        .filter(|parsed| parsed == name)
}

/// A `records` row: owner, type, data, ttl.
type RecordRow = (String, String, String, i64);

const RECORD_COLUMNS: &str = "SELECT owner, type, data, ttl FROM records";

fn record_from_row((owner, rtype, data, ttl): RecordRow) -> Result<Record, StoreError> {
    let what = format!("record {owner} {rtype}");
    let data = stored_form::data_from_json(&what, &data)?;
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

fn records_from_rows(rows: Vec<RecordRow>) -> Result<Vec<Record>, StoreError> {
    rows.into_iter().map(record_from_row).collect()
}

/// An `api_keys` row: id, secret_hash, description, scopes, source_cidrs, created_at,
/// revoked.
type KeyRow = (String, String, String, String, String, i64, bool);

const KEY_COLUMNS: &str =
    "SELECT id, secret_hash, description, scopes, source_cidrs, created_at, revoked FROM api_keys";

fn key_from_row(
    (id, secret_hash, description, scopes, source_cidrs, created_at, revoked): KeyRow,
) -> Result<ApiKey, StoreError> {
    let scopes = stored_form::scopes_from_json(&format!("key {id} scopes"), &scopes)?;
    let source_cidrs =
        stored_form::networks_from_json(&format!("key {id} source_cidrs"), &source_cidrs)?;
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
type RegistrationRow = (String, String, String, String, String);

/// A `tsig_keys` row: name, algorithm, secret, description, scopes, record_types,
/// transfer, created_at, revoked.
type TsigKeyRow = (
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

const TSIG_KEY_COLUMNS: &str = "SELECT name, algorithm, secret, description, scopes, \
     record_types, transfer, created_at, revoked FROM tsig_keys";

fn tsig_key_from_row(
    (name, algorithm, secret, description, scopes, record_types, transfer, created_at, revoked): TsigKeyRow,
) -> Result<TsigKey, StoreError> {
    let algorithm = TsigAlgorithm::from_str(&algorithm)
        .map_err(|e| StoreError::Corrupt(format!("TSIG key {name}: {e}")))?;
    let scopes = stored_form::scopes_from_json(&format!("TSIG key {name} scopes"), &scopes)?;
    let record_types = stored_form::record_types_from_json(
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
fn conflict(err: sqlx::Error, what: impl FnOnce(&str) -> String) -> StoreError {
    match err.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what(db.message())),
        _ => StoreError::Database(err),
    }
}

/// Whether `records` holds exactly `wanted` (data JSON, TTL) at one RRset, ignoring order.
fn same_rrset(mut current: Vec<(String, i64)>, mut wanted: Vec<(String, i64)>) -> bool {
    current.sort();
    wanted.sort();
    current == wanted
}

/// The operations themselves; [`SqliteStore`]'s `RecordStore` methods run them detached.
impl Connections {
    async fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        let rows: Vec<RecordRow> =
            sqlx::query_as(&format!("{RECORD_COLUMNS} ORDER BY owner, type, id"))
                .fetch_all(&self.readers)
                .await?;
        records_from_rows(rows)
    }

    async fn records_under(&self, owner: &str) -> Result<Vec<Record>, StoreError> {
        debug_assert!(is_normalised(owner), "owner {owner:?} is not normalised");
        // Not LIKE: `_` (as in `_acme-challenge`) is a LIKE wildcard.
        let rows: Vec<RecordRow> = sqlx::query_as(&format!(
            "{RECORD_COLUMNS} WHERE owner = ?1 \
             OR (length(owner) > length(?1) AND substr(owner, -length(?1) - 1) = '.' || ?1) \
             ORDER BY owner, type, id"
        ))
        .bind(owner)
        .fetch_all(&self.readers)
        .await?;
        records_from_rows(rows)
    }

    async fn add_record(
        &self,
        record: &Record,
        context: &WriteContext,
    ) -> Result<Record, StoreError> {
        debug_assert!(
            is_normalised(&record.owner),
            "owner {:?} is not normalised",
            record.owner
        );
        debug_assert!(record.data.validate().is_ok(), "invalid record {record:?}");
        rules::check_ttl(&record.owner, record.ttl)?;
        let data = stored_form::data_json(&record.data)?;
        let author = context.author.as_ref().map(stored_form::author_text);
        let mut tx = self.begin_write().await?;
        let work = async {
            write_checks::sync_counted_zones(&mut tx, &context.zones).await?;
            let zone = write_checks::counted_zone_of(&mut tx, &record.owner).await?;
            let quotas = QuotaCheck::start(&mut tx, context, zone).await?;
            let changed = sqlx::query(
                "INSERT INTO records (owner, type, data, ttl, author) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (owner, type, data) DO UPDATE SET ttl = excluded.ttl \
                 WHERE ttl <> excluded.ttl",
            )
            .bind(&record.owner)
            .bind(record.record_type().as_str())
            .bind(&data)
            .bind(i64::from(record.ttl))
            .bind(&author)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                // Identical record, same TTL: nothing changed, the serial stays.
                return Ok(None);
            }
            write_checks::check_owner_rules(&mut tx, &record.owner, record.record_type()).await?;
            quotas.finish(&mut tx).await?;
            let serial = bump_serial(&mut tx, &[&record.owner], self.journal_rows()).await?;
            Ok(Some(serial))
        }
        .await;
        self.finish(tx, work.map(|serial| (record.clone(), serial)))
            .await
    }

    async fn replace_rrset(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
        context: &WriteContext,
    ) -> Result<(), StoreError> {
        debug_assert!(is_normalised(owner), "owner {owner:?} is not normalised");
        if let Some(stray) = records
            .iter()
            .find(|r| r.owner != owner || r.record_type() != record_type)
        {
            // The API builds the RRset from one owner and type; anything else is a bug
            // in the caller, and storing it would put records outside the RRset.
            debug_assert!(
                false,
                "record {stray:?} is not in RRset {owner} {record_type}"
            );
            return Err(StoreError::Corrupt(format!(
                "record at {} {} given for RRset {owner} {record_type}",
                stray.owner,
                stray.record_type()
            )));
        }
        // Deduplicate (owner, type, data), the last TTL winning, keeping first order.
        let mut wanted: Vec<(String, i64)> = Vec::with_capacity(records.len());
        for record in records {
            rules::check_ttl(owner, record.ttl)?;
            let data = stored_form::data_json(&record.data)?;
            let ttl = i64::from(record.ttl);
            match wanted.iter_mut().find(|(d, _)| *d == data) {
                Some(existing) => existing.1 = ttl,
                None => wanted.push((data, ttl)),
            }
        }
        let author = context.author.as_ref().map(stored_form::author_text);
        let mut tx = self.begin_write().await?;
        let work = async {
            write_checks::sync_counted_zones(&mut tx, &context.zones).await?;
            let current: Vec<(String, i64)> =
                sqlx::query_as("SELECT data, ttl FROM records WHERE owner = ?1 AND type = ?2")
                    .bind(owner)
                    .bind(record_type.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
            if same_rrset(current, wanted.clone()) {
                return Ok(None);
            }
            let zone = write_checks::counted_zone_of(&mut tx, owner).await?;
            let quotas = QuotaCheck::start(&mut tx, context, zone).await?;
            sqlx::query("DELETE FROM records WHERE owner = ?1 AND type = ?2")
                .bind(owner)
                .bind(record_type.as_str())
                .execute(&mut *tx)
                .await?;
            for (data, ttl) in &wanted {
                sqlx::query(
                    "INSERT INTO records (owner, type, data, ttl, author) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .bind(owner)
                .bind(record_type.as_str())
                .bind(data)
                .bind(ttl)
                .bind(&author)
                .execute(&mut *tx)
                .await?;
            }
            if !wanted.is_empty() {
                write_checks::check_owner_rules(&mut tx, owner, record_type).await?;
            }
            quotas.finish(&mut tx).await?;
            Ok(Some(
                bump_serial(&mut tx, &[owner], self.journal_rows()).await?,
            ))
        }
        .await;
        self.finish(tx, work.map(|serial| ((), serial))).await
    }

    async fn delete_records(
        &self,
        owner: &str,
        record_type: Option<RecordType>,
    ) -> Result<u64, StoreError> {
        debug_assert!(is_normalised(owner), "owner {owner:?} is not normalised");
        let mut tx = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM records WHERE owner = ?1 AND (?2 IS NULL OR type = ?2)")
                .bind(owner)
                .bind(record_type.map(RecordType::as_str))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if deleted == 0 {
            tx.commit().await?;
            return Ok(0);
        }
        let serial = bump_serial(&mut tx, &[owner], self.journal_rows()).await?;
        tx.commit().await?;
        self.announce(serial);
        Ok(deleted)
    }

    async fn push_txt(
        &self,
        owner: &str,
        value: &str,
        ttl: u32,
        keep: usize,
        context: &WriteContext,
    ) -> Result<(), StoreError> {
        debug_assert!(is_normalised(owner), "owner {owner:?} is not normalised");
        rules::check_ttl(owner, ttl)?;
        let data = stored_form::data_json(&crate::RecordData::Txt {
            value: value.to_owned(),
        })?;
        // The newest `keep`, never more than an RRset may hold.
        let keep = i64::try_from(keep.min(MAX_RRSET_RECORDS)).unwrap_or(i64::MAX);
        let author = context.author.as_ref().map(stored_form::author_text);
        let mut tx = self.begin_write().await?;
        let work = async {
            write_checks::sync_counted_zones(&mut tx, &context.zones).await?;
            let zone = write_checks::counted_zone_of(&mut tx, owner).await?;
            let quotas = QuotaCheck::start(&mut tx, context, zone).await?;
            // A value pushed again becomes the newest: delete it, then insert it afresh.
            sqlx::query("DELETE FROM records WHERE owner = ?1 AND type = 'TXT' AND data = ?2")
                .bind(owner)
                .bind(&data)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO records (owner, type, data, ttl, author) \
                 VALUES (?1, 'TXT', ?2, ?3, ?4)",
            )
            .bind(owner)
            .bind(&data)
            .bind(i64::from(ttl))
            .bind(&author)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM records WHERE owner = ?1 AND type = 'TXT' AND id NOT IN \
                 (SELECT id FROM records WHERE owner = ?1 AND type = 'TXT' ORDER BY id DESC LIMIT ?2)",
            )
            .bind(owner)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
            write_checks::check_owner_rules(&mut tx, owner, RecordType::Txt).await?;
            quotas.finish(&mut tx).await?;
            Ok(Some(
                bump_serial(&mut tx, &[owner], self.journal_rows()).await?,
            ))
        }
        .await;
        self.finish(tx, work.map(|serial| ((), serial))).await
    }

    async fn apply_update(
        &self,
        update: &Update,
        permissions: &UpdatePermissions,
        context: &WriteContext,
    ) -> Result<UpdateOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let work =
            apply_update::apply(&mut tx, update, permissions, context, self.journal_rows()).await;
        self.finish(tx, work).await
    }

    async fn serial(&self) -> Result<u32, StoreError> {
        read_serial(&self.readers).await
    }

    async fn changes_since(&self, since: u32) -> Result<Option<Changes>, StoreError> {
        // One read transaction: the serial and the journal rows agree.
        let mut tx = self.readers.begin().await?;
        let pruned: i64 =
            sqlx::query_scalar("SELECT serial FROM record_changes_pruned WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::Corrupt("the record_changes_pruned row is missing".into())
                })?;
        if pruned > i64::from(since) {
            tx.commit().await?;
            return Ok(None);
        }
        let serial: i64 = sqlx::query_scalar("SELECT serial FROM zone_serial WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the zone_serial row is missing".into()))?;
        let owners: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT owner FROM record_changes WHERE serial > ?1 ORDER BY owner",
        )
        .bind(i64::from(since))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Changes {
            serial: serial_from_db(serial)?,
            owners,
        }))
    }

    async fn records_at(&self, owners: &[String]) -> Result<Vec<Record>, StoreError> {
        debug_assert!(
            owners.iter().all(|o| is_normalised(o)),
            "owners {owners:?} are not normalised"
        );
        let rows: Vec<RecordRow> = sqlx::query_as(&format!(
            "{RECORD_COLUMNS} WHERE owner IN (SELECT value FROM json_each(?1)) \
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

    fn subscribe(&self) -> watch::Receiver<u32> {
        self.changes.subscribe()
    }

    async fn create_key(&self, key: &NewApiKey) -> Result<ApiKeyInfo, StoreError> {
        let scopes = stored_form::scopes_json(&key.scopes)?;
        let source_cidrs = stored_form::networks_json(&key.source_cidrs)?;
        let created_at = unix_now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, secret_hash, description, scopes, source_cidrs, created_at, revoked) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        )
        .bind(&key.id)
        .bind(&key.secret_hash)
        .bind(&key.description)
        .bind(&scopes)
        .bind(&source_cidrs)
        .bind(created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, |_| format!("API key {:?}", key.id)))?;
        tx.commit().await?;
        Ok(ApiKeyInfo {
            id: key.id.clone(),
            description: key.description.clone(),
            scopes: key.scopes.clone(),
            source_cidrs: key.source_cidrs.clone(),
            created_at,
            revoked: false,
        })
    }

    async fn find_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<KeyRow> = sqlx::query_as(&format!("{KEY_COLUMNS} WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(key_from_row).transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(&format!("{KEY_COLUMNS} ORDER BY created_at, id"))
            .fetch_all(&self.readers)
            .await?;
        rows.into_iter()
            .map(|row| key_from_row(row).map(|key| key.info))
            .collect()
    }

    async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        self.update_one("UPDATE api_keys SET revoked = 1 WHERE id = ?1", id)
            .await
    }

    async fn create_tsig_key(&self, key: &NewTsigKey) -> Result<TsigKeyInfo, StoreError> {
        debug_assert!(
            is_normalised(&key.name),
            "TSIG key name {:?} is not normalised",
            key.name
        );
        let scopes = stored_form::scopes_json(&key.scopes)?;
        let record_types = stored_form::record_types_json(&key.record_types)?;
        let created_at = unix_now();
        let mut tx = self.begin_write().await?;
        // A revoked key's name may be taken over; a key in use keeps its name.
        let stored = sqlx::query(
            "INSERT INTO tsig_keys (name, algorithm, secret, description, scopes, record_types, \
             transfer, created_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0) \
             ON CONFLICT (name) DO UPDATE SET algorithm = excluded.algorithm, \
             secret = excluded.secret, description = excluded.description, \
             scopes = excluded.scopes, record_types = excluded.record_types, \
             transfer = excluded.transfer, created_at = excluded.created_at, revoked = 0 \
             WHERE tsig_keys.revoked = 1",
        )
        .bind(&key.name)
        .bind(key.algorithm.as_str())
        .bind(&key.secret)
        .bind(&key.description)
        .bind(&scopes)
        .bind(&record_types)
        .bind(key.transfer)
        .bind(created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if stored == 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!("TSIG key {:?}", key.name)));
        }
        tx.commit().await?;
        Ok(TsigKeyInfo {
            name: key.name.clone(),
            algorithm: key.algorithm,
            description: key.description.clone(),
            scopes: key.scopes.clone(),
            record_types: key.record_types.clone(),
            transfer: key.transfer,
            created_at,
            revoked: false,
        })
    }

    async fn find_tsig_key(&self, name: &str) -> Result<Option<TsigKey>, StoreError> {
        let row: Option<TsigKeyRow> =
            sqlx::query_as(&format!("{TSIG_KEY_COLUMNS} WHERE name = ?1"))
                .bind(name)
                .fetch_optional(&self.readers)
                .await?;
        row.map(tsig_key_from_row).transpose()
    }

    async fn list_tsig_keys(&self) -> Result<Vec<TsigKeyInfo>, StoreError> {
        let rows: Vec<TsigKeyRow> = sqlx::query_as(&format!("{TSIG_KEY_COLUMNS} ORDER BY name"))
            .fetch_all(&self.readers)
            .await?;
        rows.into_iter()
            .map(|row| tsig_key_from_row(row).map(|key| key.info))
            .collect()
    }

    async fn revoke_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        self.update_one(
            "UPDATE tsig_keys SET revoked = 1, secret = x'' WHERE name = ?1",
            name,
        )
        .await
    }

    async fn create_registration(&self, registration: &Registration) -> Result<(), StoreError> {
        debug_assert!(
            is_normalised(&registration.fulldomain),
            "fulldomain {:?} is not normalised",
            registration.fulldomain
        );
        let allow_from = stored_form::networks_json(&registration.allow_from)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO registrations (username, password_hash, subdomain, fulldomain, allow_from) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&registration.username)
        .bind(&registration.password_hash)
        .bind(&registration.subdomain)
        .bind(&registration.fulldomain)
        .bind(&allow_from)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict(e, |message| {
                if message.contains("registrations.subdomain") {
                    format!("registration subdomain {:?}", registration.subdomain)
                } else if message.contains("registrations.fulldomain") {
                    format!("registration fulldomain {:?}", registration.fulldomain)
                } else {
                    format!("registration {:?}", registration.username)
                }
            })
        })?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_registration(&self, username: &str) -> Result<Option<Registration>, StoreError> {
        let row: Option<RegistrationRow> = sqlx::query_as(
            "SELECT username, password_hash, subdomain, fulldomain, allow_from \
             FROM registrations WHERE username = ?1",
        )
        .bind(username)
        .fetch_optional(&self.readers)
        .await?;
        row.map(
            |(username, password_hash, subdomain, fulldomain, allow_from)| {
                let allow_from = stored_form::networks_from_json(
                    &format!("registration {username} allow_from"),
                    &allow_from,
                )?;
                Ok(Registration {
                    username,
                    password_hash,
                    subdomain,
                    fulldomain,
                    allow_from,
                })
            },
        )
        .transpose()
    }

    async fn delete_registration(&self, username: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let fulldomain: Option<String> = sqlx::query_scalar(
            "DELETE FROM registrations WHERE username = ?1 RETURNING fulldomain",
        )
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(fulldomain) = fulldomain else {
            tx.commit().await?;
            return Ok(false);
        };
        let deleted = sqlx::query("DELETE FROM records WHERE owner = ?1 AND type = 'TXT'")
            .bind(&fulldomain)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let serial = if deleted > 0 {
            Some(bump_serial(&mut tx, &[fulldomain.as_str()], self.journal_rows()).await?)
        } else {
            None
        };
        tx.commit().await?;
        if let Some(serial) = serial {
            self.announce(serial);
        }
        Ok(true)
    }

    async fn count_records_under(&self, owner: &str) -> Result<u64, StoreError> {
        debug_assert!(is_normalised(owner), "owner {owner:?} is not normalised");
        let (count,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM records WHERE owner = ?1 \
             OR (length(owner) > length(?1) AND substr(owner, -length(?1) - 1) = '.' || ?1)",
        )
        .bind(owner)
        .fetch_one(&self.readers)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn count_registrations(&self) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM registrations")
            .fetch_one(&self.readers)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        self.detached(|c| async move { c.all_records().await })
            .await
    }

    async fn records_under(&self, owner: &str) -> Result<Vec<Record>, StoreError> {
        let owner = owner.to_owned();
        self.detached(|c| async move { c.records_under(&owner).await })
            .await
    }

    async fn add_record_with(
        &self,
        record: &Record,
        context: &WriteContext,
    ) -> Result<Record, StoreError> {
        let (record, context) = (record.clone(), context.clone());
        self.detached(|c| async move { c.add_record(&record, &context).await })
            .await
    }

    async fn replace_rrset_with(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
        context: &WriteContext,
    ) -> Result<(), StoreError> {
        let (owner, records, context) = (owner.to_owned(), records.to_vec(), context.clone());
        self.detached(|c| async move {
            c.replace_rrset(&owner, record_type, &records, &context)
                .await
        })
        .await
    }

    async fn delete_records(
        &self,
        owner: &str,
        record_type: Option<RecordType>,
    ) -> Result<u64, StoreError> {
        let owner = owner.to_owned();
        self.detached(|c| async move { c.delete_records(&owner, record_type).await })
            .await
    }

    async fn push_txt_with(
        &self,
        owner: &str,
        value: &str,
        ttl: u32,
        keep: usize,
        context: &WriteContext,
    ) -> Result<(), StoreError> {
        let (owner, value, context) = (owner.to_owned(), value.to_owned(), context.clone());
        self.detached(|c| async move { c.push_txt(&owner, &value, ttl, keep, &context).await })
            .await
    }

    async fn apply_update(
        &self,
        update: &Update,
        permissions: &UpdatePermissions,
        context: &WriteContext,
    ) -> Result<UpdateOutcome, StoreError> {
        let (update, permissions, context) = (update.clone(), permissions.clone(), context.clone());
        self.detached(|c| async move { c.apply_update(&update, &permissions, &context).await })
            .await
    }

    async fn serial(&self) -> Result<u32, StoreError> {
        self.detached(|c| async move { c.serial().await }).await
    }

    async fn changes_since(&self, since: u32) -> Result<Option<Changes>, StoreError> {
        self.detached(|c| async move { c.changes_since(since).await })
            .await
    }

    async fn records_at(&self, owners: &[String]) -> Result<Vec<Record>, StoreError> {
        let owners = owners.to_vec();
        self.detached(|c| async move { c.records_at(&owners).await })
            .await
    }

    fn subscribe(&self) -> watch::Receiver<u32> {
        self.inner.subscribe()
    }

    async fn create_key(&self, key: &NewApiKey) -> Result<ApiKeyInfo, StoreError> {
        let key = key.clone();
        self.detached(|c| async move { c.create_key(&key).await })
            .await
    }

    async fn find_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let id = id.to_owned();
        self.detached(|c| async move { c.find_key(&id).await })
            .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        self.detached(|c| async move { c.list_keys().await }).await
    }

    async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.detached(|c| async move { c.revoke_key(&id).await })
            .await
    }

    async fn create_tsig_key(&self, key: &NewTsigKey) -> Result<TsigKeyInfo, StoreError> {
        let key = key.clone();
        self.detached(|c| async move { c.create_tsig_key(&key).await })
            .await
    }

    async fn find_tsig_key(&self, name: &str) -> Result<Option<TsigKey>, StoreError> {
        let name = name.to_owned();
        self.detached(|c| async move { c.find_tsig_key(&name).await })
            .await
    }

    async fn list_tsig_keys(&self) -> Result<Vec<TsigKeyInfo>, StoreError> {
        self.detached(|c| async move { c.list_tsig_keys().await })
            .await
    }

    async fn revoke_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.detached(|c| async move { c.revoke_tsig_key(&name).await })
            .await
    }

    async fn create_registration(&self, registration: &Registration) -> Result<(), StoreError> {
        let registration = registration.clone();
        self.detached(|c| async move { c.create_registration(&registration).await })
            .await
    }

    async fn count_records_under(&self, owner: &str) -> Result<u64, StoreError> {
        let owner = owner.to_owned();
        self.detached(|c| async move { c.count_records_under(&owner).await })
            .await
    }

    async fn count_registrations(&self) -> Result<u64, StoreError> {
        self.detached(|c| async move { c.count_registrations().await })
            .await
    }

    async fn find_registration(&self, username: &str) -> Result<Option<Registration>, StoreError> {
        let username = username.to_owned();
        self.detached(|c| async move { c.find_registration(&username).await })
            .await
    }

    async fn delete_registration(&self, username: &str) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.detached(|c| async move { c.delete_registration(&username).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
