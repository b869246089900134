//! [`Instrumented`]: any store, with the latency and outcome of every operation
//! recorded as metrics (`acme_srv_store_operation_seconds{op,outcome}`).
//!
//! `op` is the operation's name (`add_record`, `apply_update`, `find_tsig_key`, …; the
//! `…_with` forms count as the operation they are); `outcome` is `ok`, `refused` (the
//! store said no to what was asked: a record rule, a refused UPDATE, a name that exists;
//! see [`StoreError::is_refusal`]) or `error` (the store failed).

use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::{
    ApiKey, ApiKeyInfo, Changes, NewApiKey, NewTsigKey, Record, RecordStore, RecordType,
    Registration, StoreError, TsigKey, TsigKeyInfo, Update, UpdateOutcome, UpdatePermissions,
    WriteContext,
};

/// Wraps a store and times each call.
#[derive(Debug)]
pub struct Instrumented<S> {
    inner: S,
}

impl<S> Instrumented<S> {
    /// Instruments `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

async fn timed<T>(
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(error) if error.is_refusal() => "refused",
        Err(_) => "error",
    };
    metrics::histogram!("acme_srv_store_operation_seconds", "op" => op, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    result
}

#[async_trait]
impl<S: RecordStore> RecordStore for Instrumented<S> {
    async fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        timed("all_records", self.inner.all_records()).await
    }

    async fn records_under(&self, owner: &str) -> Result<Vec<Record>, StoreError> {
        timed("records_under", self.inner.records_under(owner)).await
    }

    async fn add_record_with(
        &self,
        record: &Record,
        context: &WriteContext,
    ) -> Result<Record, StoreError> {
        timed("add_record", self.inner.add_record_with(record, context)).await
    }

    async fn replace_rrset_with(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
        context: &WriteContext,
    ) -> Result<(), StoreError> {
        timed(
            "replace_rrset",
            self.inner
                .replace_rrset_with(owner, record_type, records, context),
        )
        .await
    }

    async fn delete_records(
        &self,
        owner: &str,
        record_type: Option<RecordType>,
    ) -> Result<u64, StoreError> {
        timed(
            "delete_records",
            self.inner.delete_records(owner, record_type),
        )
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
        timed(
            "push_txt",
            self.inner.push_txt_with(owner, value, ttl, keep, context),
        )
        .await
    }

    async fn apply_update(
        &self,
        update: &Update,
        permissions: &UpdatePermissions,
        context: &WriteContext,
    ) -> Result<UpdateOutcome, StoreError> {
        timed(
            "apply_update",
            self.inner.apply_update(update, permissions, context),
        )
        .await
    }

    async fn serial(&self) -> Result<u32, StoreError> {
        timed("serial", self.inner.serial()).await
    }

    async fn changes_since(&self, since: u32) -> Result<Option<Changes>, StoreError> {
        timed("changes_since", self.inner.changes_since(since)).await
    }

    async fn records_at(&self, owners: &[String]) -> Result<Vec<Record>, StoreError> {
        timed("records_at", self.inner.records_at(owners)).await
    }

    fn subscribe(&self) -> watch::Receiver<u32> {
        self.inner.subscribe()
    }

    async fn create_key(&self, key: &NewApiKey) -> Result<ApiKeyInfo, StoreError> {
        timed("create_key", self.inner.create_key(key)).await
    }

    async fn find_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        timed("find_key", self.inner.find_key(id)).await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        timed("list_keys", self.inner.list_keys()).await
    }

    async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        timed("revoke_key", self.inner.revoke_key(id)).await
    }

    async fn create_tsig_key(&self, key: &NewTsigKey) -> Result<TsigKeyInfo, StoreError> {
        timed("create_tsig_key", self.inner.create_tsig_key(key)).await
    }

    async fn find_tsig_key(&self, name: &str) -> Result<Option<TsigKey>, StoreError> {
        timed("find_tsig_key", self.inner.find_tsig_key(name)).await
    }

    async fn list_tsig_keys(&self) -> Result<Vec<TsigKeyInfo>, StoreError> {
        timed("list_tsig_keys", self.inner.list_tsig_keys()).await
    }

    async fn revoke_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        timed("revoke_tsig_key", self.inner.revoke_tsig_key(name)).await
    }

    async fn create_registration(&self, registration: &Registration) -> Result<(), StoreError> {
        timed(
            "create_registration",
            self.inner.create_registration(registration),
        )
        .await
    }

    async fn find_registration(&self, username: &str) -> Result<Option<Registration>, StoreError> {
        timed("find_registration", self.inner.find_registration(username)).await
    }

    async fn count_records_under(&self, owner: &str) -> Result<u64, StoreError> {
        timed("count_records_under", self.inner.count_records_under(owner)).await
    }

    async fn count_registrations(&self) -> Result<u64, StoreError> {
        timed("count_registrations", self.inner.count_registrations()).await
    }

    async fn delete_registration(&self, username: &str) -> Result<bool, StoreError> {
        timed(
            "delete_registration",
            self.inner.delete_registration(username),
        )
        .await
    }
}
