//! One RFC 2136 UPDATE as the store applies it ([`crate::RecordStore::apply_update`]):
//! its input ([`Update`]: prerequisites and operations over the store's own record
//! types), what the requester may change ([`UpdatePermissions`]), and the answer (an
//! [`UpdateOutcome`], or an [`UpdateRefusal`] carrying the RFC 2136 rcode it means).
//!
//! The DNS side parses the message, checks its TSIG signature and hands the store this
//! form; the store applies it all or nothing, in one transaction, through the same record
//! rules as every other write ([`crate::rules`]). Semantics, section by section:
//!
//! - **Zone** (section 3.1): [`Update::zone`] must be a served zone (else NOTAUTH), and
//!   every name must be in it and not in a more specific served zone (else NOTZONE).
//! - **Prerequisites** (sections 2.4, 3.2) are all evaluated against the data as it was
//!   before any operation, in order; the first that fails decides the rcode: an RRset
//!   that should exist (NXRRSET), equal the given records, value for value with TTLs
//!   ignored (NXRRSET), or not exist (YXRRSET); a name that should be in use, holding at
//!   least one record (NXDOMAIN; an empty non-terminal is not in use), or not in use
//!   (YXDOMAIN). Only stored records count: the SOA and NS at the apex and the static
//!   records of the configuration are not in the store.
//! - **Permissions** (section 3.3) are checked on every operation after the
//!   prerequisites, and on the data inside the transaction: deleting every RRset at a
//!   name is refused when the name holds a type the requester may not change (as BIND's
//!   `update-policy` does). Refused: REFUSED.
//! - **Operations** (sections 2.5, 3.4.2), in order, each seeing the ones before it:
//!   - *add*: a record identical (same owner, type and data) to a stored one only
//!     changes the TTL (section 3.4.2.2), and the whole RRset takes the new TTL, one TTL
//!     per RRset (RFC 2181 section 5.2). **CNAMEs follow section 3.4.2.2, not a
//!     refusal**: a CNAME added where other data is (the apex counts: it has SOA and NS)
//!     is ignored, other data added where a CNAME is is ignored, and a CNAME added where
//!     a CNAME is replaces it. Ignored operations are listed in
//!     [`UpdateOutcome::ignored`]. This is what BIND, Knot and PowerDNS do, so clients
//!     written against them behave the same here;
//!   - *delete an RRset*, *delete every RRset at a name*, *delete one record*: deleting
//!     what is not there is no error; deleting the last record of an RRset removes the
//!     RRset.
//! - **Rules** ([`crate::rules`]): TTLs (checked before anything is read), RRset sizes
//!   and quotas (checked on the result). A violation refuses the whole update: REFUSED,
//!   carrying the violation.
//!
//! All or nothing: any refusal leaves the store, the serial and the change journal as
//! they were. An update that changes something raises the serial once and journals every
//! owner it changed, in its transaction, durable before `apply_update` returns; one that
//! changes nothing (all ignored, or deleting what is not there) leaves the serial.

use std::fmt;

use crate::model::{KeyScope, Record, RecordData, RecordType};
use crate::rules::RuleViolation;

/// One UPDATE message: the zone, the prerequisites, the operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The zone section: the origin of the zone to update (normalised).
    pub zone: String,
    /// Conditions on the data before the update (section 2.4).
    pub prerequisites: Vec<Prerequisite>,
    /// The changes, in order (section 2.5).
    pub operations: Vec<UpdateOperation>,
}

/// A prerequisite (RFC 2136 section 2.4). Owner names are normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prerequisite {
    /// At least one record of this type at this name (2.4.1, value independent).
    RrsetExists {
        /// The owner name.
        owner: String,
        /// The type.
        record_type: RecordType,
    },
    /// The RRset holds exactly these records, ignoring TTLs and order (2.4.2, value
    /// dependent).
    RrsetEquals {
        /// The owner name.
        owner: String,
        /// The type.
        record_type: RecordType,
        /// The whole RRset, every item of `record_type`.
        records: Vec<RecordData>,
    },
    /// No record of this type at this name (2.4.3).
    RrsetDoesNotExist {
        /// The owner name.
        owner: String,
        /// The type.
        record_type: RecordType,
    },
    /// At least one record at this name (2.4.4).
    NameInUse {
        /// The owner name.
        owner: String,
    },
    /// No record at this name (2.4.5).
    NameNotInUse {
        /// The owner name.
        owner: String,
    },
}

impl Prerequisite {
    /// The name the prerequisite is about.
    pub fn owner(&self) -> &str {
        match self {
            Self::RrsetExists { owner, .. }
            | Self::RrsetEquals { owner, .. }
            | Self::RrsetDoesNotExist { owner, .. }
            | Self::NameInUse { owner }
            | Self::NameNotInUse { owner } => owner,
        }
    }

    /// The rcode of this prerequisite failing (section 3.2.5).
    pub fn failure_rcode(&self) -> UpdateRcode {
        match self {
            Self::RrsetExists { .. } | Self::RrsetEquals { .. } => UpdateRcode::NxRrset,
            Self::RrsetDoesNotExist { .. } => UpdateRcode::YxRrset,
            Self::NameInUse { .. } => UpdateRcode::NxDomain,
            Self::NameNotInUse { .. } => UpdateRcode::YxDomain,
        }
    }
}

/// An update operation (RFC 2136 section 2.5). Owner names are normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOperation {
    /// Add a record to its RRset (2.5.1).
    Add(Record),
    /// Delete the RRset of this type at this name (2.5.2).
    DeleteRrset {
        /// The owner name.
        owner: String,
        /// The type.
        record_type: RecordType,
    },
    /// Delete every RRset at this name (2.5.3).
    DeleteName {
        /// The owner name.
        owner: String,
    },
    /// Delete one record from its RRset (2.5.4).
    DeleteRecord {
        /// The owner name.
        owner: String,
        /// The record's data (its type is the RRset's).
        data: RecordData,
    },
}

impl UpdateOperation {
    /// The name the operation changes.
    pub fn owner(&self) -> &str {
        match self {
            Self::Add(record) => &record.owner,
            Self::DeleteRrset { owner, .. }
            | Self::DeleteName { owner }
            | Self::DeleteRecord { owner, .. } => owner,
        }
    }

    /// The type the operation changes; `None` for every type at the name.
    pub fn record_type(&self) -> Option<RecordType> {
        match self {
            Self::Add(record) => Some(record.record_type()),
            Self::DeleteRrset { record_type, .. } => Some(*record_type),
            Self::DeleteName { .. } => None,
            Self::DeleteRecord { data, .. } => Some(data.record_type()),
        }
    }
}

/// What a requester may change: the names its scopes cover, of the listed types (every
/// type when `record_types` is empty). A TSIG key's ([`crate::TsigKeyInfo::permissions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdatePermissions {
    /// The names (exact, or subtrees).
    pub scopes: Vec<KeyScope>,
    /// The types; every type when empty.
    pub record_types: Vec<RecordType>,
}

impl UpdatePermissions {
    /// Whether `owner` is covered by a scope.
    pub fn covers_name(&self, owner: &str) -> bool {
        self.scopes.iter().any(|scope| scope.covers(owner))
    }

    /// Whether records of `record_type` at `owner` may be changed.
    pub fn allows(&self, owner: &str, record_type: RecordType) -> bool {
        self.covers_name(owner)
            && (self.record_types.is_empty() || self.record_types.contains(&record_type))
    }
}

/// What an applied UPDATE did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// The zone serial now: new when something changed, the same as before otherwise.
    pub serial: u32,
    /// Whether anything changed.
    pub changed: bool,
    /// Indexes into [`Update::operations`] of the additions ignored by the CNAME rule of
    /// RFC 2136 section 3.4.2.2.
    pub ignored: Vec<usize>,
}

/// The rcodes an UPDATE can be answered with (RFC 2136 section 2.2, RFC 1035).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateRcode {
    /// FORMERR (1): the update is malformed (a name or value the store cannot hold).
    FormErr,
    /// NXDOMAIN (3): a name that should be in use is not.
    NxDomain,
    /// REFUSED (5): not permitted, or a record rule would break.
    Refused,
    /// YXDOMAIN (6): a name that should not be in use is.
    YxDomain,
    /// YXRRSET (7): an RRset that should not exist does.
    YxRrset,
    /// NXRRSET (8): an RRset that should exist does not, or differs.
    NxRrset,
    /// NOTAUTH (9): the zone is not served here.
    NotAuth,
    /// NOTZONE (10): a name is outside the zone.
    NotZone,
}

impl UpdateRcode {
    /// The numeric rcode.
    pub fn code(self) -> u16 {
        match self {
            Self::FormErr => 1,
            Self::NxDomain => 3,
            Self::Refused => 5,
            Self::YxDomain => 6,
            Self::YxRrset => 7,
            Self::NxRrset => 8,
            Self::NotAuth => 9,
            Self::NotZone => 10,
        }
    }
}

impl fmt::Display for UpdateRcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FormErr => "FORMERR",
            Self::NxDomain => "NXDOMAIN",
            Self::Refused => "REFUSED",
            Self::YxDomain => "YXDOMAIN",
            Self::YxRrset => "YXRRSET",
            Self::NxRrset => "NXRRSET",
            Self::NotAuth => "NOTAUTH",
            Self::NotZone => "NOTZONE",
        })
    }
}

/// An UPDATE that was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateRefusal {
    /// A prerequisite does not hold.
    #[error("prerequisite {index} ({prerequisite:?}) does not hold")]
    PrerequisiteFailed {
        /// Its index in [`Update::prerequisites`].
        index: usize,
        /// The prerequisite.
        prerequisite: Prerequisite,
    },
    /// The requester may not change this name, or this type at it.
    #[error("not permitted to change {}{owner:?}", .record_type.map(|t| format!("{t} records at ")).unwrap_or_default())]
    NotPermitted {
        /// The owner name.
        owner: String,
        /// The type refused; `None` when the name itself is not covered.
        record_type: Option<RecordType>,
    },
    /// The zone is not one this server serves.
    #[error("zone {zone:?} is not served here")]
    ZoneNotServed {
        /// The zone section's name.
        zone: String,
    },
    /// A name is outside the update's zone.
    #[error("{name:?} is not in zone {zone:?}")]
    OutsideZone {
        /// The name.
        name: String,
        /// The update's zone.
        zone: String,
    },
    /// A name or value the store cannot hold.
    #[error("malformed update: {0}")]
    Malformed(String),
    /// A record rule would break.
    #[error("refused: {0}")]
    Rule(#[source] RuleViolation),
}

impl UpdateRefusal {
    /// The rcode this refusal is answered with.
    pub fn rcode(&self) -> UpdateRcode {
        match self {
            Self::PrerequisiteFailed { prerequisite, .. } => prerequisite.failure_rcode(),
            Self::NotPermitted { .. } | Self::Rule(_) => UpdateRcode::Refused,
            Self::ZoneNotServed { .. } => UpdateRcode::NotAuth,
            Self::OutsideZone { .. } => UpdateRcode::NotZone,
            Self::Malformed(_) => UpdateRcode::FormErr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_cover_names_and_types() {
        let txt_under_www = UpdatePermissions {
            scopes: vec![KeyScope::Subtree("www.example.com".into())],
            record_types: vec![RecordType::Txt],
        };
        assert!(txt_under_www.allows("_acme-challenge.www.example.com", RecordType::Txt));
        assert!(!txt_under_www.allows("_acme-challenge.www.example.com", RecordType::A));
        assert!(!txt_under_www.allows("mail.example.com", RecordType::Txt));
        let any_type = UpdatePermissions {
            scopes: vec![KeyScope::Exact("a.example.com".into())],
            record_types: vec![],
        };
        assert!(any_type.allows("a.example.com", RecordType::Cname));
        assert!(!any_type.allows("b.a.example.com", RecordType::Cname));
        assert!(!UpdatePermissions::default().allows("a.example.com", RecordType::A));
    }

    #[test]
    fn refusals_carry_their_rcodes() {
        let owner = || "a.example.com".to_owned();
        let cases = [
            (
                Prerequisite::RrsetExists {
                    owner: owner(),
                    record_type: RecordType::A,
                },
                UpdateRcode::NxRrset,
            ),
            (
                Prerequisite::RrsetEquals {
                    owner: owner(),
                    record_type: RecordType::A,
                    records: vec![],
                },
                UpdateRcode::NxRrset,
            ),
            (
                Prerequisite::RrsetDoesNotExist {
                    owner: owner(),
                    record_type: RecordType::A,
                },
                UpdateRcode::YxRrset,
            ),
            (
                Prerequisite::NameInUse { owner: owner() },
                UpdateRcode::NxDomain,
            ),
            (
                Prerequisite::NameNotInUse { owner: owner() },
                UpdateRcode::YxDomain,
            ),
        ];
        for (prerequisite, rcode) in cases {
            let refusal = UpdateRefusal::PrerequisiteFailed {
                index: 0,
                prerequisite,
            };
            assert_eq!(refusal.rcode(), rcode);
        }
        let rule = UpdateRefusal::Rule(RuleViolation::TtlOutOfRange {
            owner: owner(),
            ttl: 0,
        });
        assert_eq!(rule.rcode(), UpdateRcode::Refused);
        assert_eq!(UpdateRcode::NotZone.code(), 10);
        let refused = UpdateRefusal::NotPermitted {
            owner: owner(),
            record_type: Some(RecordType::A),
        };
        assert_eq!(
            refused.to_string(),
            "not permitted to change A records at \"a.example.com\""
        );
    }
}
