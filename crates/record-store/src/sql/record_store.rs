//! The [`crate::RecordStore`] implementation of the SQL stores.
//!
//! Every operation runs to its end on a task of its own, even when its caller stops
//! waiting (an API client that disconnects makes hyper drop the request): sqlx leaves a
//! connection unusable when a transaction is dropped at the wrong point (still inside
//! `BEGIN`, or waiting to be returned to its pool). An operation whose caller left
//! completes or fails as usual; nobody hears of it. The backend's `Connections::explain`
//! then turns a failure into the error the caller sees (PostgreSQL names a lost
//! database there).

/// `RecordStore` for `$store`, whose `inner: Arc<Connections>` runs the operations.
macro_rules! record_store {
    ($store:ty) => {
        impl $store {
            /// Runs `operation` on a task of its own, so that it ends by itself even if
            /// this future is dropped (see [`crate::sql::record_store`]).
            async fn detached<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
            where
                F: FnOnce(Arc<Connections>) -> Fut,
                Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
                T: Send + 'static,
            {
                let inner = self.inner.clone();
                let work = operation(inner.clone());
                tokio::spawn(async move {
                    let result = work.await;
                    inner.explain(result).await
                })
                .await
                .map_err(StoreError::Interrupted)?
            }
        }

        #[async_trait]
        impl $crate::RecordStore for $store {
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
                let (owner, records, context) =
                    (owner.to_owned(), records.to_vec(), context.clone());
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
                self.detached(
                    |c| async move { c.push_txt(&owner, &value, ttl, keep, &context).await },
                )
                .await
            }

            async fn apply_update(
                &self,
                update: &Update,
                permissions: &UpdatePermissions,
                context: &WriteContext,
            ) -> Result<UpdateOutcome, StoreError> {
                let (update, permissions, context) =
                    (update.clone(), permissions.clone(), context.clone());
                self.detached(
                    |c| async move { c.apply_update(&update, &permissions, &context).await },
                )
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

            async fn create_registration(
                &self,
                registration: &Registration,
            ) -> Result<(), StoreError> {
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

            async fn find_registration(
                &self,
                username: &str,
            ) -> Result<Option<Registration>, StoreError> {
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
    };
}
pub(crate) use record_store;
