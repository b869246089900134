//! The durable store behind acme-srv's DNS side.
//!
//! Everything the DNS server publishes and the management API changes lives here:
//! resource records ([`Record`]), API keys ([`ApiKey`], stored as argon2 hashes by the
//! caller), TSIG keys for RFC 2136 UPDATE ([`TsigKey`], stored as they are: the server
//! computes HMACs with them), and acme-dns registrations ([`Registration`]). One trait,
//! [`RecordStore`], is all the DNS server, the API and the CLI see; two implement it:
//! [`SqliteStore`] (embedded, the default, `sqlite://PATH`) and [`PostgresStore`]
//! (several instances on one database, `postgres://…`); [`open`] picks one by URL.
//!
//! Guarantees every implementation gives (the contract tests under `tests/` run on
//! both):
//! - **Durable acknowledgement**: a write method returns `Ok` only after the change is
//!   durable (SQLite: WAL with `synchronous = FULL`; PostgreSQL: `COMMIT` with
//!   `synchronous_commit = on`), so an acknowledged write survives a crash or `SIGKILL`.
//! - **Atomic changes**: each write method is one transaction; the zone serial
//!   ([`RecordStore::serial`]) increases by at least one with every committed change to
//!   records, raised in that transaction. Writers are serialised (SQLite's write lock;
//!   PostgreSQL: the one serial row locked first), also across processes and instances.
//! - **One set of rules for every write path** ([`rules`]): a CNAME stands alone and never
//!   at a zone apex, an RRset holds at most [`rules::MAX_RRSET_RECORDS`] records, TTLs
//!   are within [`rules::TTL_RANGE`], and the record quotas per zone and per credential
//!   hold. They are checked inside each write's transaction, so concurrent writers
//!   (of any instance) cannot slip past them, and a write that breaks one changes
//!   nothing and fails with [`StoreError::Rule`] naming the rule and the facts
//!   ([`RuleViolation`]). The HTTP API, acme-dns `/update` and RFC 2136 UPDATE
//!   ([`RecordStore::apply_update`], [`update`]) all write through them; none repeats them.
//! - **Change feed**: [`RecordStore::subscribe`] yields the serial after each committed
//!   change, so the DNS server updates its in-memory snapshot; queries never wait on
//!   the store. [`RecordStore::changes_since`] names the owners that changed (the change
//!   journal, written in the same transaction), so the snapshot is patched rather than
//!   rebuilt. SQLite announces the changes made through the same store; PostgreSQL also
//!   those of every other instance (LISTEN/NOTIFY, with a catch-up read after any gap).
//! - **Failures say what is wrong**: [`StoreError::storage_fault`] names a fault of the
//!   storage (a full disk, a read-only file system, an unreachable database server,
//!   [`StoreError::Unavailable`]) that the operator must fix and a client may retry
//!   after (the API answers 503); the stores recover by themselves once it is fixed.
//! - **A private stored form**: the types here are the interface, not the storage format;
//!   none is serialised as it is, so the API's JSON and the database's can change apart.
//!
//! Layout: [`model`] holds the data types and their validation; [`rules`] the record
//! rules and what a write needs for them ([`WriteContext`]); [`update`] the input and
//! outcome of an RFC 2136 UPDATE; [`sqlite`] and [`postgres`] the two stores, each with
//! its versioned migrations (`migrations/sqlite/`, `migrations/postgres/`), sharing their
//! statements, rule checks and UPDATE (`sql`, written once in SQL both accept) and their
//! private stored form (`stored_form`); [`instrumented`] wraps any store with latency
//! metrics ([`open`] returns stores wrapped so).
#![forbid(unsafe_code)]

pub mod instrumented;
pub mod model;
pub mod postgres;
pub mod rules;
mod sql;
pub mod sqlite;
mod stored_form;
pub mod update;

use async_trait::async_trait;
use tokio::sync::watch;

pub use instrumented::Instrumented;
pub use model::{
    ApiKey, ApiKeyInfo, Author, KeyScope, NewApiKey, NewTsigKey, Record, RecordData, RecordType,
    Registration, TsigAlgorithm, TsigKey, TsigKeyInfo,
};
pub use postgres::PostgresStore;
pub use rules::{QuotaScope, RecordQuotas, RuleViolation, WriteContext};
pub use sql::JOURNAL_ROWS;
pub use sqlite::SqliteStore;
pub use update::{
    Prerequisite, Update, UpdateOperation, UpdateOutcome, UpdatePermissions, UpdateRcode,
    UpdateRefusal,
};

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
    #[error("unsupported store URL {0:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The database server cannot be reached or dropped the connection (PostgreSQL):
    /// nothing was changed, or a commit's outcome is unknown when the connection broke
    /// during it. The store reconnects by itself once the server is back.
    #[error("the database is unreachable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A unique value (key id, TSIG key name, registration user name) already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The write would break a record rule; nothing was changed.
    #[error("record rule: {0}")]
    Rule(#[from] RuleViolation),
    /// The RFC 2136 UPDATE was refused ([`UpdateRefusal::rcode`] says how to answer);
    /// nothing was changed.
    #[error("update refused ({rcode}): {refusal}", rcode = .0.rcode(), refusal = .0)]
    UpdateRefused(#[from] UpdateRefusal),
    /// The task running the operation panicked or was stopped with the runtime.
    #[error("store operation did not complete: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

impl StoreError {
    /// Whether the store refused the operation for what it asked (a rule, a refused
    /// UPDATE, a name that exists), as opposed to failing: nothing is wrong with the
    /// store.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Rule(_) | Self::UpdateRefused(_) | Self::Conflict(_)
        )
    }

    /// When the storage under the store refuses the work (a full disk, a read-only
    /// file system, I/O errors, a database server that cannot be reached), what is
    /// wrong, in words for the client and the log. Such errors end when the operator
    /// fixes the storage or the server is back; nothing was changed.
    pub fn storage_fault(&self) -> Option<std::borrow::Cow<'static, str>> {
        if let Self::Unavailable(_) = self {
            return Some(self.to_string().into());
        }
        let Self::Database(sqlx::Error::Database(error)) = self else {
            return None;
        };
        if error
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some()
        {
            // SQLSTATE class 53: insufficient resources.
            return match error.code()?.as_ref() {
                "53100" => Some("the disk holding the database is full".into()),
                "53200" => Some("the database server is out of memory".into()),
                "53300" => Some("the database server has no free connection".into()),
                _ => None,
            };
        }
        let code: i32 = error.code()?.parse().ok()?;
        // SQLite's primary result code is the low byte of the extended one.
        let fault = match code & 0xff {
            13 => "the disk holding the store is full",
            8 => "the store's file system is read-only",
            10 => "the store's disk reports I/O errors",
            14 => "the store's file cannot be opened",
            _ => return None,
        };
        Some(fault.into())
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
/// (the normal form of [`domain_name::DomainName`]; see [`model::normalize_owner`]).
/// Every write of records obeys the [`rules`]; the `…_with` methods take the
/// [`WriteContext`] (who writes, the served zones, the quotas) and the short forms write
/// with the default context.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    // ---- records ----

    /// Every record, ordered by owner, type, then insertion.
    async fn all_records(&self) -> Result<Vec<Record>, StoreError>;

    /// Records at `owner` or below it (`owner` itself and `*.owner`).
    async fn records_under(&self, owner: &str) -> Result<Vec<Record>, StoreError>;

    /// Adds one record; an identical record (owner, type, data) is not duplicated but
    /// gets the new TTL. Returns the stored record. Refused with [`StoreError::Rule`]
    /// when the result would break a rule.
    async fn add_record_with(
        &self,
        record: &Record,
        context: &WriteContext,
    ) -> Result<Record, StoreError>;

    /// [`add_record_with`](Self::add_record_with) the default context.
    async fn add_record(&self, record: &Record) -> Result<Record, StoreError> {
        self.add_record_with(record, &WriteContext::default()).await
    }

    /// Replaces the whole RRset (`owner`, `record_type`) with `records` (all of that
    /// owner and type); an empty slice deletes the RRset. Refused with
    /// [`StoreError::Rule`] when the result would break a rule.
    async fn replace_rrset_with(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
        context: &WriteContext,
    ) -> Result<(), StoreError>;

    /// [`replace_rrset_with`](Self::replace_rrset_with) the default context.
    async fn replace_rrset(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
    ) -> Result<(), StoreError> {
        self.replace_rrset_with(owner, record_type, records, &WriteContext::default())
            .await
    }

    /// Deletes records at `owner`: of `record_type` only, or all types when `None`.
    /// Returns how many were deleted. (Deleting never breaks a rule.)
    async fn delete_records(
        &self,
        owner: &str,
        record_type: Option<RecordType>,
    ) -> Result<u64, StoreError>;

    /// Adds TXT `value` at `owner`, keeping only the newest `keep` TXT values there
    /// (acme-dns keeps 2; never more than [`rules::MAX_RRSET_RECORDS`]), in one
    /// transaction. Refused with [`StoreError::Rule`] when the result would break a rule.
    async fn push_txt_with(
        &self,
        owner: &str,
        value: &str,
        ttl: u32,
        keep: usize,
        context: &WriteContext,
    ) -> Result<(), StoreError>;

    /// [`push_txt_with`](Self::push_txt_with) the default context.
    async fn push_txt(
        &self,
        owner: &str,
        value: &str,
        ttl: u32,
        keep: usize,
    ) -> Result<(), StoreError> {
        self.push_txt_with(owner, value, ttl, keep, &WriteContext::default())
            .await
    }

    /// Applies one RFC 2136 UPDATE all or nothing, durable before it returns (see
    /// [`update`] for the semantics): the prerequisites against the data before it, what
    /// `permissions` allow checked on the data inside the transaction, the operations in
    /// order, the [`rules`] on the result. Refusals are [`StoreError::UpdateRefused`],
    /// carrying the rcode; nothing is changed then.
    async fn apply_update(
        &self,
        update: &Update,
        permissions: &UpdatePermissions,
        context: &WriteContext,
    ) -> Result<UpdateOutcome, StoreError>;

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

    // ---- TSIG keys ----

    /// Stores a new TSIG key with its secret. A name held by a revoked key is taken
    /// over; one held by a key in use is a [`StoreError::Conflict`].
    async fn create_tsig_key(&self, key: &NewTsigKey) -> Result<TsigKeyInfo, StoreError>;

    /// The TSIG key named `name` (normalised), with its secret, if it exists (revoked
    /// keys included, their secret empty).
    async fn find_tsig_key(&self, name: &str) -> Result<Option<TsigKey>, StoreError>;

    /// Every TSIG key, without secrets, ordered by name.
    async fn list_tsig_keys(&self) -> Result<Vec<TsigKeyInfo>, StoreError>;

    /// Marks the TSIG key `name` revoked and wipes its secret; false when there is no
    /// such key.
    async fn revoke_tsig_key(&self, name: &str) -> Result<bool, StoreError>;

    // ---- acme-dns registrations ----

    /// Stores a registration (password already hashed by the caller).
    async fn create_registration(&self, registration: &Registration) -> Result<(), StoreError>;

    /// The registration of `username`, if any.
    async fn find_registration(&self, username: &str) -> Result<Option<Registration>, StoreError>;

    /// Deletes the registration of `username` and the TXT records of its subdomain;
    /// false when there is no such registration.
    async fn delete_registration(&self, username: &str) -> Result<bool, StoreError>;

    /// How many records are at `owner` or below it (a scan: for reports, not for every
    /// write; the quotas use the counters the store keeps, see [`rules`]).
    async fn count_records_under(&self, owner: &str) -> Result<u64, StoreError>;

    /// How many registrations exist (for quotas).
    async fn count_registrations(&self) -> Result<u64, StoreError>;
}

/// `url` with its password, if it has one, shown as `***`: a store URL as it may be
/// logged (`postgres://acme:***@db:5432/acme`).
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Opens the store named by `url`: `sqlite://PATH` (created if missing, migrated), or
/// `postgres://…` / `postgresql://…` (a libpq-style URL; the database must exist, its
/// schema is migrated: see [`PostgresStore::connect`]).
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn RecordStore>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(std::sync::Arc::new(Instrumented::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        )));
    }
    if postgres::is_postgres_url(url) {
        return Ok(std::sync::Arc::new(Instrumented::new(
            PostgresStore::connect(url).await?,
        )));
    }
    Err(StoreError::UnsupportedUrl(url.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted_url("postgres://acme:s3cr:et@db:5432/acme?sslmode=require"),
            "postgres://acme:***@db:5432/acme?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgresql://acme@db/acme"),
            "postgresql://acme@db/acme"
        );
        assert_eq!(
            redacted_url("sqlite:///var/lib/a@b:c.sqlite"),
            "sqlite:///var/lib/a@b:c.sqlite"
        );
    }
}
