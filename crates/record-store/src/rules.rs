//! The record rules every write obeys, whichever path it comes by (the HTTP API, acme-dns
//! `/update`, RFC 2136 UPDATE): checked by the store inside the write's own transaction,
//! so two concurrent writers cannot both pass a check that only one of them may pass, and
//! refused as a typed [`RuleViolation`] carrying the facts.
//!
//! 1. **A CNAME stands alone** (RFC 1034 section 3.6.2, RFC 2181 section 10.1): no other
//!    data beside a CNAME at its owner, no second CNAME record, and no CNAME at a zone
//!    apex (which has the SOA and NS records the configuration builds).
//! 2. **An RRset holds at most [`MAX_RRSET_RECORDS`] records.**
//! 3. **A TTL is within [`TTL_RANGE`].**
//! 4. **Record quotas** ([`RecordQuotas`]): records in one zone, and records one credential
//!    ([`Author`]) added, counted in O(1) by counters the database keeps in the same
//!    transaction as every change.
//!
//! What a write needs to know besides its records (who writes, the served zones, the
//! quotas) is its [`WriteContext`].

use std::fmt;
use std::sync::Arc;

use crate::model::{Author, RecordType};

/// Most records one RRset may hold.
///
/// A constant, not an option: it is a property of the data the DNS server must serve,
/// the same for every deployment, and the management API publishes it in its OpenAPI
/// document (`maxItems`). 64 covers everything ACME publishes at one name with room to
/// spare (the relay and the router read at most 32 SRV records; a dns-01 name holds a
/// few TXT values at once) while bounding the work of each write and of each answer.
pub const MAX_RRSET_RECORDS: usize = 64;

/// Smallest and largest TTL a stored record may have: one second (what acme-dns
/// publishes its TXT values with) to one week. A TTL of 0 would keep resolvers from
/// caching at all; beyond a week a mistake stays cached for too long.
pub const TTL_RANGE: std::ops::RangeInclusive<u32> = 1..=604_800;

/// A write that would break a record rule; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    /// A CNAME would share its owner with other data, or with a second CNAME.
    CnameNotAlone {
        /// The owner name.
        owner: String,
        /// The type of the data that was there (CNAME: a CNAME to another target).
        existing: RecordType,
        /// The type written.
        written: RecordType,
    },
    /// A CNAME at a zone apex, which has SOA and NS records.
    CnameAtApex {
        /// The apex.
        owner: String,
    },
    /// An RRset would hold more records than [`MAX_RRSET_RECORDS`].
    RrsetTooLarge {
        /// The owner name.
        owner: String,
        /// The RRset's type.
        record_type: RecordType,
        /// How many records it would hold.
        records: usize,
        /// The most it may hold.
        limit: usize,
    },
    /// A TTL outside [`TTL_RANGE`].
    TtlOutOfRange {
        /// The owner name of the record.
        owner: String,
        /// The TTL given.
        ttl: u32,
    },
    /// The write would take a zone or a credential past its record quota.
    QuotaExceeded {
        /// What is counted.
        counted: QuotaScope,
        /// How many records it would hold.
        records: u64,
        /// Its quota.
        limit: u64,
    },
}

impl fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CnameNotAlone {
                owner,
                existing: RecordType::Cname,
                written: RecordType::Cname,
            } => write!(
                f,
                "{owner:?} already is a CNAME to another target; replace its CNAME RRset to \
                 change the target (RFC 2181 section 10.1: one CNAME per name)"
            ),
            Self::CnameNotAlone {
                owner,
                existing,
                written: RecordType::Cname,
            } => write!(
                f,
                "{owner:?} has {existing} records: a CNAME cannot share its name with other \
                 data (RFC 1034 section 3.6.2)"
            ),
            Self::CnameNotAlone { owner, written, .. } => write!(
                f,
                "{owner:?} is a CNAME: it cannot have {written} records as well \
                 (RFC 1034 section 3.6.2)"
            ),
            Self::CnameAtApex { owner } => write!(
                f,
                "{owner:?} is a zone apex, which has SOA and NS records: it cannot be a CNAME"
            ),
            Self::RrsetTooLarge {
                owner,
                record_type,
                records,
                limit,
            } => write!(
                f,
                "the {record_type} RRset at {owner:?} would hold {records} records; an RRset \
                 holds at most {limit}"
            ),
            Self::TtlOutOfRange { owner, ttl } => write!(
                f,
                "ttl {ttl} at {owner:?} is outside {}-{}",
                TTL_RANGE.start(),
                TTL_RANGE.end()
            ),
            Self::QuotaExceeded {
                counted,
                records,
                limit,
            } => write!(
                f,
                "{counted} would hold {records} records; its quota is {limit}"
            ),
        }
    }
}

/// What a record quota counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QuotaScope {
    /// The records in one zone (by its origin).
    Zone(String),
    /// The records one credential added (and that still exist).
    Author(Author),
}

impl fmt::Display for QuotaScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zone(zone) => write!(f, "zone {zone}"),
            Self::Author(author) => write!(f, "{author}"),
        }
    }
}

/// Record quotas; 0 means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordQuotas {
    /// Records one zone may hold (the longest served origin above an owner is its zone).
    pub records_per_zone: u32,
    /// Records one credential ([`Author`]) may have added that still exist.
    pub records_per_author: u32,
}

/// What a write needs besides its records for the rules: who writes, the served zones,
/// the quotas. The default (nobody in particular, zones as last given, no quotas) is
/// what the operator's own writes get.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// The credential making the change; records it adds are attributed to it and
    /// counted against [`RecordQuotas::records_per_author`]. `None`: the operator (the
    /// admin token), acme-dns registrations, internal writes.
    pub author: Option<Author>,
    /// The served zone origins (normalised). The store counts records per zone and keeps
    /// CNAMEs off the apexes of the zones it was last given; empty: the zones of an
    /// earlier write stay in force.
    pub zones: Arc<[String]>,
    /// The quotas the write must stay within.
    pub quotas: RecordQuotas,
}

/// Checks rule 3: `ttl` is within [`TTL_RANGE`].
pub fn check_ttl(owner: &str, ttl: u32) -> Result<(), RuleViolation> {
    if TTL_RANGE.contains(&ttl) {
        Ok(())
    } else {
        Err(RuleViolation::TtlOutOfRange {
            owner: owner.to_owned(),
            ttl,
        })
    }
}

/// Whether the normalised `name` is `origin` or below it, by whole labels
/// ([`domain_name::is_at_or_below`]).
pub fn is_at_or_below(name: &str, origin: &str) -> bool {
    domain_name::is_at_or_below(name, origin)
}

/// The zone of `zones` (normalised origins) that holds the normalised `owner`: the
/// longest origin at or above it.
pub fn zone_of<'z>(zones: &'z [String], owner: &str) -> Option<&'z str> {
    zones
        .iter()
        .filter(|zone| is_at_or_below(owner, zone))
        .max_by_key(|zone| zone.len())
        .map(String::as_str)
}

/// Checks rules 1 and 2 on what an owner holds after a write of `written` records there:
/// `held` is every type at the owner with its number of records, `is_apex` whether the
/// owner is a zone apex. Only the written type's RRset is held to the size limit, so an
/// RRset stored before the limit existed can still be changed by other writes.
pub fn check_owner(
    owner: &str,
    written: RecordType,
    held: &[(RecordType, usize)],
    is_apex: bool,
) -> Result<(), RuleViolation> {
    let count = |wanted: RecordType| {
        held.iter()
            .filter(|(record_type, _)| *record_type == wanted)
            .map(|(_, records)| *records)
            .sum::<usize>()
    };
    let cnames = count(RecordType::Cname);
    if written == RecordType::Cname && cnames > 0 && is_apex {
        return Err(RuleViolation::CnameAtApex {
            owner: owner.to_owned(),
        });
    }
    if cnames > 1 {
        return Err(RuleViolation::CnameNotAlone {
            owner: owner.to_owned(),
            existing: RecordType::Cname,
            written,
        });
    }
    if cnames > 0
        && let Some((other, _)) = held
            .iter()
            .find(|(record_type, records)| *record_type != RecordType::Cname && *records > 0)
    {
        return Err(RuleViolation::CnameNotAlone {
            owner: owner.to_owned(),
            existing: if written == RecordType::Cname {
                *other
            } else {
                RecordType::Cname
            },
            written,
        });
    }
    let records = count(written);
    if records > MAX_RRSET_RECORDS {
        return Err(RuleViolation::RrsetTooLarge {
            owner: owner.to_owned(),
            record_type: written,
            records,
            limit: MAX_RRSET_RECORDS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls() {
        assert!(check_ttl("a", 1).is_ok());
        assert!(check_ttl("a", 604_800).is_ok());
        assert_eq!(
            check_ttl("a", 0),
            Err(RuleViolation::TtlOutOfRange {
                owner: "a".into(),
                ttl: 0
            })
        );
        assert!(check_ttl("a", 604_801).is_err());
    }

    #[test]
    fn zones_are_the_longest_origin_above() {
        let zones = vec!["example.com".to_owned(), "auth.example.com".to_owned()];
        assert_eq!(zone_of(&zones, "example.com"), Some("example.com"));
        assert_eq!(
            zone_of(&zones, "x.auth.example.com"),
            Some("auth.example.com")
        );
        assert_eq!(zone_of(&zones, "www.example.com"), Some("example.com"));
        assert_eq!(zone_of(&zones, "badexample.com"), None);
    }

    #[test]
    fn owner_rules() {
        use RecordType::{A, Cname, Txt};
        assert!(check_owner("a", A, &[(A, 2), (Txt, 1)], false).is_ok());
        assert!(check_owner("a", Cname, &[(Cname, 1)], false).is_ok());
        assert_eq!(
            check_owner("a", Cname, &[(Cname, 1), (Txt, 1)], false),
            Err(RuleViolation::CnameNotAlone {
                owner: "a".into(),
                existing: Txt,
                written: Cname
            })
        );
        assert_eq!(
            check_owner("a", A, &[(Cname, 1), (A, 1)], false),
            Err(RuleViolation::CnameNotAlone {
                owner: "a".into(),
                existing: Cname,
                written: A
            })
        );
        assert_eq!(
            check_owner("a", Cname, &[(Cname, 2)], false),
            Err(RuleViolation::CnameNotAlone {
                owner: "a".into(),
                existing: Cname,
                written: Cname
            })
        );
        assert_eq!(
            check_owner("a", Cname, &[(Cname, 1)], true),
            Err(RuleViolation::CnameAtApex { owner: "a".into() })
        );
        assert!(check_owner("a", Txt, &[(Txt, 64)], false).is_ok());
        assert!(matches!(
            check_owner("a", Txt, &[(Txt, 65)], false),
            Err(RuleViolation::RrsetTooLarge { records: 65, .. })
        ));
        // Another type's RRset over the limit does not block this write.
        assert!(check_owner("a", A, &[(Txt, 65), (A, 1)], false).is_ok());
    }

    #[test]
    fn messages_name_the_rfcs_and_quotas() {
        let second = RuleViolation::CnameNotAlone {
            owner: "a".into(),
            existing: RecordType::Cname,
            written: RecordType::Cname,
        };
        assert!(second.to_string().contains("RFC 2181"), "{second}");
        let beside = RuleViolation::CnameNotAlone {
            owner: "a".into(),
            existing: RecordType::Srv,
            written: RecordType::Cname,
        };
        assert!(beside.to_string().contains("has SRV records"), "{beside}");
        let quota = RuleViolation::QuotaExceeded {
            counted: QuotaScope::Author(Author::ApiKey("k1".into())),
            records: 3,
            limit: 2,
        };
        assert_eq!(
            quota.to_string(),
            "key \"k1\" would hold 3 records; its quota is 2"
        );
    }
}
