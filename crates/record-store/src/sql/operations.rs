//! The store operations both SQL backends run with the same statements.
//!
//! [`operations!`] expands, in a backend's module, to methods of its `Connections` and to
//! the serial functions the write paths share (`read_serial`, `read_serial_in`,
//! `bump_serial`, `next_serial`). The backend's module provides, besides the `changes`
//! (`watch::Sender<u32>`) and `journal_rows` (`AtomicI64`) fields of `Connections`:
//! - `begin_write()`: a write transaction that holds the backend's writer lock (SQLite:
//!   `BEGIN IMMEDIATE`; PostgreSQL: the `zone_serial` row locked `FOR UPDATE`), so the
//!   rule checks see every earlier write and no later one commits before it;
//! - `begin_snapshot()`: a read transaction that sees one snapshot;
//! - `read_pool()`: the pool reads run on;
//! - `records_at()` and the items in scope the statements use (`stored_form`,
//!   `write_checks`, `apply_update`, and the row helpers of [`crate::sql`]).

/// The operations on `Connections` for the sqlx database `$db`.
macro_rules! operations {
    ($db:ty) => {
        impl Connections {
            /// Runs the one-row write `sql` with `$1` bound to `key` in its own durable
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
                self.journal_rows.load(std::sync::atomic::Ordering::Relaxed)
            }

            /// Commits `tx` when `work` succeeded and announces its new serial, if it made one;
            /// rolls `tx` back when `work` failed (a rule refused it, or a statement failed), and
            /// returns that failure.
            async fn finish<T>(
                &self,
                tx: sqlx::Transaction<'static, $db>,
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

            /// Announces a committed serial (see [`crate::sql::announce`]).
            fn announce(&self, serial: u32) {
                crate::sql::announce(&self.changes, serial);
            }

            fn subscribe(&self) -> tokio::sync::watch::Receiver<u32> {
                self.changes.subscribe()
            }
        }

        /// Reads the zone serial.
        async fn read_serial(pool: &sqlx::Pool<$db>) -> Result<u32, StoreError> {
            let serial: i64 = sqlx::query_scalar("SELECT serial FROM zone_serial WHERE id = 1")
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::Corrupt("the zone_serial row is missing".into()))?;
            serial_from_db(serial)
        }

        /// Reads the zone serial inside the caller's transaction.
        async fn read_serial_in(conn: &mut <$db as sqlx::Database>::Connection) -> Result<u32, StoreError> {
            let serial: i64 = sqlx::query_scalar("SELECT serial FROM zone_serial WHERE id = 1")
                .fetch_optional(conn)
                .await?
                .ok_or_else(|| StoreError::Corrupt("the zone_serial row is missing".into()))?;
            serial_from_db(serial)
        }

        /// Bumps the zone serial inside the caller's transaction and journals that `owners`
        /// changed at the new serial (pruning the oldest journal rows); the new serial.
        async fn bump_serial(
            conn: &mut <$db as sqlx::Database>::Connection,
            owners: &[&str],
            journal_rows: i64,
        ) -> Result<u32, StoreError> {
            let serial = next_serial(conn).await?;
            for owner in owners {
                sqlx::query("INSERT INTO record_changes (serial, owner) VALUES ($1, $2)")
                    .bind(i64::from(serial))
                    .bind(*owner)
                    .execute(&mut *conn)
                    .await?;
            }
            // As many rows out as went over: the journal stays at `journal_rows` rows.
            let pruned: Option<i64> = sqlx::query_scalar(
                "DELETE FROM record_changes WHERE id <= (SELECT max(id) FROM record_changes) - $1 \
                 RETURNING serial",
            )
            .bind(journal_rows)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .max();
            if let Some(pruned) = pruned {
                sqlx::query("UPDATE record_changes_pruned SET serial = CASE WHEN serial > $1 THEN serial ELSE $1 END WHERE id = 1")
                    .bind(pruned)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(serial)
        }

        /// Raises the zone serial inside the caller's transaction; the new value.
        async fn next_serial(conn: &mut <$db as sqlx::Database>::Connection) -> Result<u32, StoreError> {
            let serial: i64 = sqlx::query_scalar(
                "UPDATE zone_serial SET serial = CASE WHEN serial + 1 > $1 THEN serial + 1 ELSE $1 END \
                 WHERE id = 1 RETURNING serial",
            )
            .bind(unix_now())
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

        /// The operations themselves; the store's `RecordStore` methods run them detached.
        impl Connections {
            async fn all_records(&self) -> Result<Vec<Record>, StoreError> {
                let rows: Vec<RecordRow> =
                    sqlx::query_as(&format!("{RECORD_COLUMNS} ORDER BY owner, type, id"))
                        .fetch_all(self.read_pool())
                        .await?;
                records_from_rows(rows)
            }

            async fn records_under(&self, owner: &str) -> Result<Vec<Record>, StoreError> {
                debug_assert!(is_normalised(owner), "owner {owner:?} is not normalised");
                // Not LIKE: `_` (as in `_acme-challenge`) is a LIKE wildcard.
                let rows: Vec<RecordRow> = sqlx::query_as(&format!(
                    "{RECORD_COLUMNS} WHERE owner = $1 \
                     OR (length(owner) > length($1) AND substr(owner, length(owner) - length($1)) = '.' || $1) \
                     ORDER BY owner, type, id"
                ))
                .bind(owner)
                .fetch_all(self.read_pool())
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
                        "INSERT INTO records (owner, type, data, ttl, author) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (owner, type, data) DO UPDATE SET ttl = excluded.ttl \
                         WHERE records.ttl <> excluded.ttl",
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
                        sqlx::query_as("SELECT data, ttl FROM records WHERE owner = $1 AND type = $2")
                            .bind(owner)
                            .bind(record_type.as_str())
                            .fetch_all(&mut *tx)
                            .await?;
                    if same_rrset(current, wanted.clone()) {
                        return Ok(None);
                    }
                    let zone = write_checks::counted_zone_of(&mut tx, owner).await?;
                    let quotas = QuotaCheck::start(&mut tx, context, zone).await?;
                    sqlx::query("DELETE FROM records WHERE owner = $1 AND type = $2")
                        .bind(owner)
                        .bind(record_type.as_str())
                        .execute(&mut *tx)
                        .await?;
                    for (data, ttl) in &wanted {
                        sqlx::query(
                            "INSERT INTO records (owner, type, data, ttl, author) \
                             VALUES ($1, $2, $3, $4, $5)",
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
                    sqlx::query("DELETE FROM records WHERE owner = $1 AND ($2 IS NULL OR type = $2)")
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
                    sqlx::query("DELETE FROM records WHERE owner = $1 AND type = 'TXT' AND data = $2")
                        .bind(owner)
                        .bind(&data)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO records (owner, type, data, ttl, author) \
                         VALUES ($1, 'TXT', $2, $3, $4)",
                    )
                    .bind(owner)
                    .bind(&data)
                    .bind(i64::from(ttl))
                    .bind(&author)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "DELETE FROM records WHERE owner = $1 AND type = 'TXT' AND id NOT IN \
                         (SELECT id FROM records WHERE owner = $1 AND type = 'TXT' ORDER BY id DESC LIMIT $2)",
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
                read_serial(self.read_pool()).await
            }

            async fn changes_since(&self, since: u32) -> Result<Option<Changes>, StoreError> {
                // One read transaction: the serial and the journal rows agree.
                let mut tx = self.begin_snapshot().await?;
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
                    "SELECT DISTINCT owner FROM record_changes WHERE serial > $1 ORDER BY owner",
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



            async fn create_key(&self, key: &NewApiKey) -> Result<ApiKeyInfo, StoreError> {
                let scopes = stored_form::scopes_json(&key.scopes)?;
                let source_cidrs = stored_form::networks_json(&key.source_cidrs)?;
                let created_at = unix_now();
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO api_keys (id, secret_hash, description, scopes, source_cidrs, created_at, revoked) \
                     VALUES ($1, $2, $3, $4, $5, $6, FALSE)",
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
                let row: Option<KeyRow> = sqlx::query_as(&format!("{KEY_COLUMNS} WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(self.read_pool())
                    .await?;
                row.map(key_from_row).transpose()
            }

            async fn list_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
                let rows: Vec<KeyRow> = sqlx::query_as(&format!("{KEY_COLUMNS} ORDER BY created_at, id"))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter()
                    .map(|row| key_from_row(row).map(|key| key.info))
                    .collect()
            }

            async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
                self.update_one("UPDATE api_keys SET revoked = TRUE WHERE id = $1", id)
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
                     transfer, created_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE) \
                     ON CONFLICT (name) DO UPDATE SET algorithm = excluded.algorithm, \
                     secret = excluded.secret, description = excluded.description, \
                     scopes = excluded.scopes, record_types = excluded.record_types, \
                     transfer = excluded.transfer, created_at = excluded.created_at, revoked = FALSE \
                     WHERE tsig_keys.revoked = TRUE",
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
                    sqlx::query_as(&format!("{TSIG_KEY_COLUMNS} WHERE name = $1"))
                        .bind(name)
                        .fetch_optional(self.read_pool())
                        .await?;
                row.map(tsig_key_from_row).transpose()
            }

            async fn list_tsig_keys(&self) -> Result<Vec<TsigKeyInfo>, StoreError> {
                let rows: Vec<TsigKeyRow> = sqlx::query_as(&format!("{TSIG_KEY_COLUMNS} ORDER BY name"))
                    .fetch_all(self.read_pool())
                    .await?;
                rows.into_iter()
                    .map(|row| tsig_key_from_row(row).map(|key| key.info))
                    .collect()
            }

            async fn revoke_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                // The empty secret is bound: the dialects spell an empty blob apart.
                let found = sqlx::query("UPDATE tsig_keys SET revoked = TRUE, secret = $2 WHERE name = $1")
                    .bind(name)
                    .bind(Vec::<u8>::new())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(found > 0)
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
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&registration.username)
                .bind(&registration.password_hash)
                .bind(&registration.subdomain)
                .bind(&registration.fulldomain)
                .bind(&allow_from)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    conflict(e, |what| {
                        // SQLite: `registrations.subdomain`; PostgreSQL:
                        // `registrations_subdomain_key`.
                        if what.contains("subdomain") {
                            format!("registration subdomain {:?}", registration.subdomain)
                        } else if what.contains("fulldomain") {
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
                     FROM registrations WHERE username = $1",
                )
                .bind(username)
                .fetch_optional(self.read_pool())
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
                    "DELETE FROM registrations WHERE username = $1 RETURNING fulldomain",
                )
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(fulldomain) = fulldomain else {
                    tx.commit().await?;
                    return Ok(false);
                };
                let deleted = sqlx::query("DELETE FROM records WHERE owner = $1 AND type = 'TXT'")
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
                    "SELECT count(*) FROM records WHERE owner = $1 \
                     OR (length(owner) > length($1) AND substr(owner, length(owner) - length($1)) = '.' || $1)",
                )
                .bind(owner)
                .fetch_one(self.read_pool())
                .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn count_registrations(&self) -> Result<u64, StoreError> {
                let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM registrations")
                    .fetch_one(self.read_pool())
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }
        }
    };
}
pub(crate) use operations;
