//! The durable store behind acme-srv's DNS side.
//!
//! Everything the DNS server publishes and the management API changes lives here:
//! resource records ([`Record`]), API keys ([`ApiKey`], stored as argon2 hashes by the
//! caller), and acme-dns registrations ([`Registration`]). One trait,
//! [`RecordStore`], is all the DNS server, the API and the CLI see, so a PostgreSQL
//! store for several instances can be added without touching them.
//!
//! Guarantees every implementation gives:
//! - **Durable acknowledgement**: a write method returns `Ok` only after the change is
//!   durable (for SQLite: WAL with `synchronous = FULL`), so an acknowledged write
//!   survives a crash or `SIGKILL`.
//! - **Atomic changes**: each write method is one transaction; the zone serial
//!   ([`RecordStore::serial`]) increases by at least one with every committed change to
//!   records.
//! - **Change feed**: [`RecordStore::subscribe`] yields the serial after each committed
//!   change, so the DNS server updates its in-memory snapshot; queries never wait on
//!   the store. [`RecordStore::changes_since`] names the owners that changed, so the
//!   snapshot is patched rather than rebuilt.
//!
//! Layout: [`model`] holds the data types and their validation; [`sqlite`] the embedded
//! SQLite implementation with versioned migrations under `migrations/`; [`instrumented`]
//! wraps any store with latency metrics ([`open`] returns stores wrapped so).
#![forbid(unsafe_code)]

pub mod instrumented;
pub mod model;
pub mod sqlite;

use async_trait::async_trait;
use tokio::sync::watch;

pub use instrumented::Instrumented;
pub use model::{
    ApiKey, ApiKeyInfo, KeyScope, NewApiKey, Record, RecordData, RecordType, Registration,
};
pub use sqlite::SqliteStore;

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be read back as a valid value (corruption or a newer
    /// schema).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The URL names a store this build does not support.
    #[error("unsupported store URL {0:?}: expected sqlite://PATH")]
    UnsupportedUrl(String),
    /// A unique value (key id, registration user name) already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The task running the operation panicked or was stopped with the runtime.
    #[error("store operation did not complete: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

impl StoreError {
    /// When the storage under the store refuses the work (a full disk, a read-only
    /// file system, I/O errors), what is wrong, in words for the client and the log.
    /// Such errors end when the operator fixes the storage; nothing was changed.
    pub fn storage_fault(&self) -> Option<&'static str> {
        let Self::Database(sqlx::Error::Database(error)) = self else {
            return None;
        };
        let code: i32 = error.code()?.parse().ok()?;
        // SQLite's primary result code is the low byte of the extended one.
        match code & 0xff {
            13 => Some("the disk holding the store is full"),
            8 => Some("the store's file system is read-only"),
            10 => Some("the store's disk reports I/O errors"),
            14 => Some("the store's file cannot be opened"),
            _ => None,
        }
    }
}

/// What changed after a serial: see [`RecordStore::changes_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The serial the changes were read at (the newest change included).
    pub serial: u32,
    /// Owners whose records were added, changed or deleted, sorted, each once.
    pub owners: Vec<String>,
}

/// The store interface used by the DNS server, the management API and the CLI.
///
/// Owner names are passed and returned normalised: lowercase ASCII, no trailing dot
/// (see [`model::normalize_owner`]).
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    // ---- records ----

    /// Every record, ordered by owner, type, then insertion.
    async fn all_records(&self) -> Result<Vec<Record>, StoreError>;

    /// Records at `owner` or below it (`owner` itself and `*.owner`).
    async fn records_under(&self, owner: &str) -> Result<Vec<Record>, StoreError>;

    /// Adds one record; an identical record (owner, type, data) is not duplicated but
    /// gets the new TTL. Returns the stored record.
    async fn add_record(&self, record: &Record) -> Result<Record, StoreError>;

    /// Replaces the whole RRset (`owner`, `record_type`) with `records` (all of that
    /// owner and type); an empty slice deletes the RRset.
    async fn replace_rrset(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
    ) -> Result<(), StoreError>;

    /// Deletes records at `owner`: of `record_type` only, or all types when `None`.
    /// Returns how many were deleted.
    async fn delete_records(
        &self,
        owner: &str,
        record_type: Option<RecordType>,
    ) -> Result<u64, StoreError>;

    /// Adds TXT `value` at `owner`, keeping only the newest `keep` TXT values there
    /// (acme-dns keeps 2), in one transaction.
    async fn push_txt(
        &self,
        owner: &str,
        value: &str,
        ttl: u32,
        keep: usize,
    ) -> Result<(), StoreError>;

    /// The zone serial: increases with every committed change to records.
    async fn serial(&self) -> Result<u32, StoreError>;

    /// The owners whose records changed after serial `since`, with the serial they were
    /// read at; `None` when the store cannot tell (its change journal no longer reaches
    /// back to `since`), and the caller must read everything with
    /// [`all_records`](Self::all_records).
    async fn changes_since(&self, since: u32) -> Result<Option<Changes>, StoreError>;

    /// Every record whose owner is one of `owners` (exact names, not subtrees), ordered
    /// like [`all_records`](Self::all_records).
    async fn records_at(&self, owners: &[String]) -> Result<Vec<Record>, StoreError>;

    /// A receiver that sees the serial after each committed change.
    fn subscribe(&self) -> watch::Receiver<u32>;

    // ---- API keys ----

    /// Stores a new key (its secret already hashed by the caller).
    async fn create_key(&self, key: &NewApiKey) -> Result<ApiKeyInfo, StoreError>;

    /// The key with `id`, with its hash, if it exists (revoked keys included).
    async fn find_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError>;

    /// Every key, without secrets.
    async fn list_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError>;

    /// Marks key `id` revoked; false when there is no such key.
    async fn revoke_key(&self, id: &str) -> Result<bool, StoreError>;

    // ---- acme-dns registrations ----

    /// Stores a registration (password already hashed by the caller).
    async fn create_registration(&self, registration: &Registration) -> Result<(), StoreError>;

    /// The registration of `username`, if any.
    async fn find_registration(&self, username: &str) -> Result<Option<Registration>, StoreError>;

    /// Deletes the registration of `username` and the TXT records of its subdomain;
    /// false when there is no such registration.
    async fn delete_registration(&self, username: &str) -> Result<bool, StoreError>;

    /// How many records are at `owner` or below it (for quotas).
    async fn count_records_under(&self, owner: &str) -> Result<u64, StoreError>;

    /// How many registrations exist (for quotas).
    async fn count_registrations(&self) -> Result<u64, StoreError>;
}

/// Opens the store named by `url`: `sqlite://PATH` (created if missing, migrated).
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn RecordStore>, StoreError> {
    match url.strip_prefix("sqlite://") {
        Some(path) => Ok(std::sync::Arc::new(Instrumented::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))),
        None => Err(StoreError::UnsupportedUrl(url.to_owned())),
    }
}
