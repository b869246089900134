//! [`Instrumented`]: any store, with the latency and outcome of every operation
//! recorded as metrics (`acme_srv_store_operation_seconds{op,outcome}`).

use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::{
    ApiKey, ApiKeyInfo, Changes, NewApiKey, Record, RecordStore, RecordType, Registration,
    StoreError,
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
    let outcome = if result.is_ok() { "ok" } else { "error" };
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

    async fn add_record(&self, record: &Record) -> Result<Record, StoreError> {
        timed("add_record", self.inner.add_record(record)).await
    }

    async fn replace_rrset(
        &self,
        owner: &str,
        record_type: RecordType,
        records: &[Record],
    ) -> Result<(), StoreError> {
        timed(
            "replace_rrset",
            self.inner.replace_rrset(owner, record_type, records),
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

    async fn push_txt(
        &self,
        owner: &str,
        value: &str,
        ttl: u32,
        keep: usize,
    ) -> Result<(), StoreError> {
        timed("push_txt", self.inner.push_txt(owner, value, ttl, keep)).await
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
