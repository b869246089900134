//! The record rules ([`crate::rules`]) as the SQL stores check them: inside the write
//! transaction, on the data as the write left it, before the commit. A violation returns
//! [`crate::StoreError::Rule`]; the caller then rolls the transaction back.
//!
//! [`write_checks!`] expands, in a backend's `write_checks` module, to:
//! - `sync_counted_zones`, which brings `counted_zones` in line with the zones a write
//!   names, recounting the per-zone counts when the list changed;
//! - `check_owner_rules`, which reads what an owner holds (one indexed lookup) and
//!   applies [`rules::check_owner`](crate::rules::check_owner): CNAME alone and not at an
//!   apex, RRset size;
//! - `QuotaCheck`, which reads the counts a write's quotas look at before the write and
//!   again after it (one primary-key lookup each; triggers keep the counts).

/// The items of a backend's `write_checks` module for the sqlx database `$db`.
macro_rules! write_checks {
    ($db:ty) => {
        use std::str::FromStr;

        use domain_name::DomainName;

        use crate::stored_form;
        use crate::StoreError;
        use crate::model::RecordType;
        use crate::rules::{self, QuotaScope, RuleViolation, WriteContext};

        /// The SQL condition "`$1` is `origin` or below it" (not LIKE: `_` is a LIKE wildcard).
        const OWNER_IN_ORIGIN: &str = "($1 = origin OR (length($1) > length(origin) \
             AND substr($1, length($1) - length(origin)) = '.' || origin))";

        /// Makes `counted_zones` hold exactly `zones`; when that changes the list, recounts the
        /// records of every zone (a scan of `records`, once per change of the configuration). The
        /// origins are compared normalised ([`DomainName::parse`]), so callers spelling the same
        /// zones differently do not make the store recount; a text that is no domain name can
        /// hold no owner and is left out. An empty `zones` leaves the table as it is.
        pub(super) async fn sync_counted_zones(
            conn: &mut <$db as sqlx::Database>::Connection,
            zones: &[String],
        ) -> Result<(), StoreError> {
            let mut wanted: Vec<String> = zones
                .iter()
                .filter_map(|zone| DomainName::parse(zone).ok())
                .map(DomainName::into_string)
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            wanted.sort_unstable();
            wanted.dedup();
            let current: Vec<String> =
                sqlx::query_scalar("SELECT origin FROM counted_zones ORDER BY origin")
                    .fetch_all(&mut *conn)
                    .await?;
            if current == wanted {
                return Ok(());
            }
            sqlx::query("DELETE FROM counted_zones")
                .execute(&mut *conn)
                .await?;
            for zone in &wanted {
                sqlx::query("INSERT INTO counted_zones (origin) VALUES ($1)")
                    .bind(zone)
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query("DELETE FROM record_counts WHERE kind = 'zone'")
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO record_counts (kind, name, records) \
                 SELECT 'zone', zone, count(*) FROM ( \
                     SELECT (SELECT origin FROM counted_zones \
                             WHERE records.owner = origin \
                                OR (length(records.owner) > length(origin) \
                                    AND substr(records.owner, length(records.owner) - length(origin)) \
                                        = '.' || origin) \
                             ORDER BY length(origin) DESC LIMIT 1) AS zone \
                     FROM records) AS owners \
                 WHERE zone IS NOT NULL GROUP BY zone",
            )
            .execute(&mut *conn)
            .await?;
            tracing::info!(zones = ?wanted, "record store: counting records in a new list of zones");
            Ok(())
        }

        /// The counted zone `owner` is in (the longest origin at or above it), if any.
        pub(super) async fn counted_zone_of(
            conn: &mut <$db as sqlx::Database>::Connection,
            owner: &str,
        ) -> Result<Option<String>, StoreError> {
            Ok(sqlx::query_scalar(&format!(
                "SELECT origin FROM counted_zones WHERE {OWNER_IN_ORIGIN} \
                 ORDER BY length(origin) DESC LIMIT 1"
            ))
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?)
        }

        /// Checks the CNAME and RRset-size rules at `owner` after records of `written` were
        /// written there.
        pub(super) async fn check_owner_rules(
            conn: &mut <$db as sqlx::Database>::Connection,
            owner: &str,
            written: RecordType,
        ) -> Result<(), StoreError> {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT type, count(*) FROM records WHERE owner = $1 GROUP BY type")
                    .bind(owner)
                    .fetch_all(&mut *conn)
                    .await?;
            let mut held = Vec::with_capacity(rows.len());
            for (record_type, records) in rows {
                let record_type = RecordType::from_str(&record_type)
                    .map_err(|e| StoreError::Corrupt(format!("records at {owner}: {e}")))?;
                held.push((record_type, usize::try_from(records).unwrap_or(usize::MAX)));
            }
            let is_apex = written == RecordType::Cname
                && sqlx::query_scalar::<_, bool>(
                    "SELECT EXISTS (SELECT 1 FROM counted_zones WHERE origin = $1)",
                )
                .bind(owner)
                .fetch_one(&mut *conn)
                .await?;
            rules::check_owner(owner, written, &held, is_apex)?;
            Ok(())
        }

        /// One count a quota looks at, as it was before the write.
        #[derive(Debug)]
        struct Counted {
            scope: QuotaScope,
            kind: &'static str,
            name: String,
            limit: u64,
            before: u64,
        }

        /// The record quotas of one write: the counts before it, compared with the counts after
        /// it by [`QuotaCheck::finish`].
        #[derive(Debug)]
        pub(super) struct QuotaCheck {
            counted: Vec<Counted>,
        }

        impl QuotaCheck {
            /// Reads the counts the quotas of `context` look at: those of `zone` (the zone the
            /// write is in) and of the author.
            pub(super) async fn start(
                conn: &mut <$db as sqlx::Database>::Connection,
                context: &WriteContext,
                zone: Option<String>,
            ) -> Result<Self, StoreError> {
                let quotas = context.quotas;
                let mut counted = Vec::new();
                if quotas.records_per_zone > 0
                    && let Some(zone) = zone
                {
                    counted.push(Counted {
                        scope: QuotaScope::Zone(zone.clone()),
                        kind: "zone",
                        name: zone,
                        limit: u64::from(quotas.records_per_zone),
                        before: 0,
                    });
                }
                if quotas.records_per_author > 0
                    && let Some(author) = &context.author
                {
                    counted.push(Counted {
                        scope: QuotaScope::Author(author.clone()),
                        kind: "author",
                        name: stored_form::author_text(author),
                        limit: u64::from(quotas.records_per_author),
                        before: 0,
                    });
                }
                for count in &mut counted {
                    count.before = read_count(conn, count.kind, &count.name).await?;
                }
                Ok(Self { counted })
            }

            /// Refuses the write when it raised a count past its quota. A write that does not
            /// raise a count passes even when the count is already past a (lowered) quota.
            pub(super) async fn finish(self, conn: &mut <$db as sqlx::Database>::Connection) -> Result<(), StoreError> {
                for count in self.counted {
                    let after = read_count(conn, count.kind, &count.name).await?;
                    if after > count.limit && after > count.before {
                        if let QuotaScope::Zone(zone) = &count.scope {
                            tracing::warn!(%zone, records = after, quota = count.limit,
                                "record store: zone record quota reached");
                        }
                        return Err(RuleViolation::QuotaExceeded {
                            counted: count.scope,
                            records: after,
                            limit: count.limit,
                        }
                        .into());
                    }
                }
                Ok(())
            }
        }

        async fn read_count(
            conn: &mut <$db as sqlx::Database>::Connection,
            kind: &str,
            name: &str,
        ) -> Result<u64, StoreError> {
            let records: Option<i64> =
                sqlx::query_scalar("SELECT records FROM record_counts WHERE kind = $1 AND name = $2")
                    .bind(kind)
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(records.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
        }
    };
}
pub(crate) use write_checks;
