//! [`crate::RecordStore::apply_update`] on the SQL stores: one RFC 2136 UPDATE inside the
//! caller's write transaction, in the order of RFC 2136 section 3 (see [`crate::update`]
//! for the semantics). Any refusal returns an error before the commit, and the caller
//! rolls everything back.
//!
//! [`apply_update!`] expands, in a backend's `apply_update` module, to `apply`, which
//! uses the backend's `write_checks` module and its `bump_serial` and `read_serial_in`.

/// The items of a backend's `apply_update` module for the sqlx database `$db`.
macro_rules! apply_update {
    ($db:ty) => {
        use std::collections::{BTreeMap, BTreeSet};

        use super::write_checks::{self, QuotaCheck};
        use super::{bump_serial, read_serial_in};
        use crate::StoreError;
        use crate::model::{RecordData, RecordType};
        use crate::rules::{self, WriteContext};
        use crate::sql::normal_name;
        use crate::stored_form;
        use crate::update::{
            Prerequisite, Update, UpdateOperation, UpdateOutcome, UpdatePermissions, UpdateRefusal,
        };

        /// Applies `update` on `conn` (inside a write transaction); the outcome and, when
        /// something changed, the new serial to announce after the commit.
        pub(super) async fn apply(
            conn: &mut <$db as sqlx::Database>::Connection,
            update: &Update,
            permissions: &UpdatePermissions,
            context: &WriteContext,
            journal_rows: i64,
        ) -> Result<(UpdateOutcome, Option<u32>), StoreError> {
            prescan(update)?;
            write_checks::sync_counted_zones(conn, &context.zones).await?;
            check_zone(conn, update).await?;
            check_prerequisites(conn, &update.prerequisites).await?;
            check_permissions(&update.operations, permissions)?;
            let quotas = QuotaCheck::start(conn, context, Some(update.zone.clone())).await?;
            let author = context.author.as_ref().map(stored_form::author_text);
            let mut changed: BTreeSet<&str> = BTreeSet::new();
            let mut added: BTreeMap<&str, BTreeSet<RecordType>> = BTreeMap::new();
            let mut ignored = Vec::new();
            for (index, operation) in update.operations.iter().enumerate() {
                let owner = operation.owner();
                let effect = match operation {
                    UpdateOperation::Add(record) => {
                        let is_apex = record.owner == update.zone;
                        add(
                            conn,
                            &record.owner,
                            record.ttl,
                            &record.data,
                            is_apex,
                            author.as_deref(),
                        )
                        .await?
                    }
                    UpdateOperation::DeleteRrset { owner, record_type } => {
                        let deleted =
                            sqlx::query("DELETE FROM records WHERE owner = $1 AND type = $2")
                                .bind(owner)
                                .bind(record_type.as_str())
                                .execute(&mut *conn)
                                .await?
                                .rows_affected();
                        Effect::changed_if(deleted > 0)
                    }
                    UpdateOperation::DeleteName { owner } => {
                        // Checked on the data: every type the name holds must be allowed.
                        for record_type in types_at(conn, owner).await? {
                            if !permissions.allows(owner, record_type) {
                                return Err(UpdateRefusal::NotPermitted {
                                    owner: owner.clone(),
                                    record_type: Some(record_type),
                                }
                                .into());
                            }
                        }
                        let deleted = sqlx::query("DELETE FROM records WHERE owner = $1")
                            .bind(owner)
                            .execute(&mut *conn)
                            .await?
                            .rows_affected();
                        Effect::changed_if(deleted > 0)
                    }
                    UpdateOperation::DeleteRecord { owner, data } => {
                        let deleted = sqlx::query(
                            "DELETE FROM records WHERE owner = $1 AND type = $2 AND data = $3",
                        )
                        .bind(owner)
                        .bind(data.record_type().as_str())
                        .bind(stored_form::data_json(data)?)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                        Effect::changed_if(deleted > 0)
                    }
                };
                match effect {
                    Effect::Ignored => ignored.push(index),
                    Effect::Unchanged => {}
                    Effect::Changed => {
                        changed.insert(owner);
                        if let UpdateOperation::Add(record) = operation {
                            added.entry(owner).or_default().insert(record.record_type());
                        }
                    }
                }
            }
            for (owner, types) in &added {
                for record_type in types {
                    write_checks::check_owner_rules(conn, owner, *record_type)
                        .await
                        .map_err(into_update_refusal)?;
                }
            }
            quotas.finish(conn).await.map_err(into_update_refusal)?;
            let owners: Vec<&str> = changed.into_iter().collect();
            let serial = if owners.is_empty() {
                None
            } else {
                Some(bump_serial(conn, &owners, journal_rows).await?)
            };
            let outcome = UpdateOutcome {
                serial: match serial {
                    Some(serial) => serial,
                    None => read_serial_in(conn).await?,
                },
                changed: serial.is_some(),
                ignored,
            };
            Ok((outcome, serial))
        }

        /// What one operation did.
        enum Effect {
            /// The data changed.
            Changed,
            /// Nothing to do (deleting what is not there, adding what is, with its TTL).
            Unchanged,
            /// Ignored under the CNAME rule of section 3.4.2.2.
            Ignored,
        }

        impl Effect {
            fn changed_if(changed: bool) -> Self {
                if changed {
                    Self::Changed
                } else {
                    Self::Unchanged
                }
            }
        }

        /// A rule violation found while applying an update is a refusal of the update.
        fn into_update_refusal(error: StoreError) -> StoreError {
            match error {
                StoreError::Rule(violation) => UpdateRefusal::Rule(violation).into(),
                other => other,
            }
        }

        /// Section 3.4.1 and the TTL rule: names the store can hold, data that is valid, TTLs in
        /// range; checked before anything is read.
        fn prescan(update: &Update) -> Result<(), StoreError> {
            let malformed = |reason: String| StoreError::from(UpdateRefusal::Malformed(reason));
            let names = std::iter::once(update.zone.as_str())
                .chain(update.prerequisites.iter().map(Prerequisite::owner))
                .chain(update.operations.iter().map(UpdateOperation::owner));
            for name in names {
                // A wildcard owner is a name the store may hold, but UPDATE does not write one:
                // the DNS server matches a `*` label literally (docs/dns.md).
                if normal_name(name).is_none_or(|name| name.is_wildcard()) {
                    return Err(malformed(format!("{name:?} is not a name the store holds")));
                }
            }
            for prerequisite in &update.prerequisites {
                if let Prerequisite::RrsetEquals {
                    record_type,
                    records,
                    ..
                } = prerequisite
                {
                    if records.is_empty() {
                        return Err(malformed("an RRset prerequisite without records".into()));
                    }
                    if let Some(other) = records
                        .iter()
                        .find(|data| data.record_type() != *record_type)
                    {
                        return Err(malformed(format!(
                            "a {} record in a {record_type} RRset prerequisite",
                            other.record_type()
                        )));
                    }
                }
            }
            for operation in &update.operations {
                let data = match operation {
                    UpdateOperation::Add(record) => {
                        rules::check_ttl(&record.owner, record.ttl).map_err(|violation| {
                            StoreError::from(UpdateRefusal::Rule(violation))
                        })?;
                        &record.data
                    }
                    UpdateOperation::DeleteRecord { data, .. } => data,
                    UpdateOperation::DeleteRrset { .. } | UpdateOperation::DeleteName { .. } => {
                        continue;
                    }
                };
                data.validate().map_err(malformed)?;
            }
            Ok(())
        }

        /// Section 3.1 and the NOTZONE checks of 3.2 and 3.4.1: the zone is served, and every
        /// name is in it (not in a more specific served zone).
        async fn check_zone(
            conn: &mut <$db as sqlx::Database>::Connection,
            update: &Update,
        ) -> Result<(), StoreError> {
            let served: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM counted_zones WHERE origin = $1)")
                    .bind(&update.zone)
                    .fetch_one(&mut *conn)
                    .await?;
            if !served {
                return Err(UpdateRefusal::ZoneNotServed {
                    zone: update.zone.clone(),
                }
                .into());
            }
            let names: BTreeSet<&str> = update
                .prerequisites
                .iter()
                .map(Prerequisite::owner)
                .chain(update.operations.iter().map(UpdateOperation::owner))
                .collect();
            for name in names {
                let zone = write_checks::counted_zone_of(conn, name).await?;
                if zone.as_deref() != Some(update.zone.as_str()) {
                    return Err(UpdateRefusal::OutsideZone {
                        name: name.to_owned(),
                        zone: update.zone.clone(),
                    }
                    .into());
                }
            }
            Ok(())
        }

        /// Section 3.2: every prerequisite against the data before the update; the first that
        /// fails refuses it.
        async fn check_prerequisites(
            conn: &mut <$db as sqlx::Database>::Connection,
            prerequisites: &[Prerequisite],
        ) -> Result<(), StoreError> {
            for (index, prerequisite) in prerequisites.iter().enumerate() {
                let holds = match prerequisite {
                    Prerequisite::RrsetExists { owner, record_type } => {
                        rrset_exists(conn, owner, *record_type).await?
                    }
                    Prerequisite::RrsetDoesNotExist { owner, record_type } => {
                        !rrset_exists(conn, owner, *record_type).await?
                    }
                    Prerequisite::RrsetEquals {
                        owner,
                        record_type,
                        records,
                    } => {
                        let stored: BTreeSet<String> = sqlx::query_scalar(
                            "SELECT data FROM records WHERE owner = $1 AND type = $2",
                        )
                        .bind(owner)
                        .bind(record_type.as_str())
                        .fetch_all(&mut *conn)
                        .await?
                        .into_iter()
                        .collect();
                        let wanted = records
                            .iter()
                            .map(stored_form::data_json)
                            .collect::<Result<BTreeSet<String>, _>>()?;
                        stored == wanted
                    }
                    Prerequisite::NameInUse { owner } => name_in_use(conn, owner).await?,
                    Prerequisite::NameNotInUse { owner } => !name_in_use(conn, owner).await?,
                };
                if !holds {
                    return Err(UpdateRefusal::PrerequisiteFailed {
                        index,
                        prerequisite: prerequisite.clone(),
                    }
                    .into());
                }
            }
            Ok(())
        }

        /// Section 3.3 on the operations themselves: each names a name, and a type, the
        /// requester may change. (Deleting a whole name is checked again on its data.)
        fn check_permissions(
            operations: &[UpdateOperation],
            permissions: &UpdatePermissions,
        ) -> Result<(), StoreError> {
            for operation in operations {
                let owner = operation.owner();
                if !permissions.covers_name(owner) {
                    return Err(UpdateRefusal::NotPermitted {
                        owner: owner.to_owned(),
                        record_type: None,
                    }
                    .into());
                }
                if let Some(record_type) = operation.record_type()
                    && !permissions.allows(owner, record_type)
                {
                    return Err(UpdateRefusal::NotPermitted {
                        owner: owner.to_owned(),
                        record_type: Some(record_type),
                    }
                    .into());
                }
            }
            Ok(())
        }

        /// Section 3.4.2.2: adds one record, the whole RRset taking its TTL, with the CNAME rule.
        async fn add(
            conn: &mut <$db as sqlx::Database>::Connection,
            owner: &str,
            ttl: u32,
            data: &RecordData,
            is_apex: bool,
            author: Option<&str>,
        ) -> Result<Effect, StoreError> {
            let record_type = data.record_type();
            let types = types_at(conn, owner).await?;
            let has_cname = types.contains(&RecordType::Cname);
            let has_other = types.iter().any(|t| *t != RecordType::Cname);
            if record_type == RecordType::Cname {
                if has_other || is_apex {
                    return Ok(Effect::Ignored);
                }
            } else if has_cname {
                return Ok(Effect::Ignored);
            }
            let data = stored_form::data_json(data)?;
            let mut rows = 0;
            if record_type == RecordType::Cname {
                // One CNAME per name: a CNAME to another target is replaced.
                rows += sqlx::query(
                    "DELETE FROM records WHERE owner = $1 AND type = 'CNAME' AND data <> $2",
                )
                .bind(owner)
                .bind(&data)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
            rows += sqlx::query(
                "INSERT INTO records (owner, type, data, ttl, author) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (owner, type, data) DO NOTHING",
            )
            .bind(owner)
            .bind(record_type.as_str())
            .bind(&data)
            .bind(i64::from(ttl))
            .bind(author)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            // One TTL per RRset (RFC 2181 section 5.2): the RRset takes the added record's.
            rows += sqlx::query(
                "UPDATE records SET ttl = $3 WHERE owner = $1 AND type = $2 AND ttl <> $3",
            )
            .bind(owner)
            .bind(record_type.as_str())
            .bind(i64::from(ttl))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok(Effect::changed_if(rows > 0))
        }

        /// The types stored at `owner`.
        async fn types_at(
            conn: &mut <$db as sqlx::Database>::Connection,
            owner: &str,
        ) -> Result<BTreeSet<RecordType>, StoreError> {
            let names: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT type FROM records WHERE owner = $1")
                    .bind(owner)
                    .fetch_all(&mut *conn)
                    .await?;
            names
                .iter()
                .map(|name| {
                    name.parse()
                        .map_err(|e| StoreError::Corrupt(format!("records at {owner}: {e}")))
                })
                .collect()
        }

        async fn rrset_exists(
            conn: &mut <$db as sqlx::Database>::Connection,
            owner: &str,
            record_type: RecordType,
        ) -> Result<bool, StoreError> {
            Ok(sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM records WHERE owner = $1 AND type = $2)",
            )
            .bind(owner)
            .bind(record_type.as_str())
            .fetch_one(&mut *conn)
            .await?)
        }

        async fn name_in_use(
            conn: &mut <$db as sqlx::Database>::Connection,
            owner: &str,
        ) -> Result<bool, StoreError> {
            Ok(
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM records WHERE owner = $1)")
                    .bind(owner)
                    .fetch_one(&mut *conn)
                    .await?,
            )
        }
    };
}
pub(crate) use apply_update;
