//! One zone as configured: origin, SOA, NS names and static records, optionally read from
//! an RFC 1035 zone file.

use std::io;
use std::path::{Path, PathBuf};

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, RecordType};

use crate::records::StaticRecords;
use crate::zone_file::{self, ZoneSyntaxError};

/// Everything the server needs to know about one zone besides the dynamic records.
///
/// The SOA is served at the apex with TTL `soa_ttl`; its serial is replaced by the one
/// given to [`crate::Snapshot::build`]. The `ns` names become the apex NS RRset, also with
/// TTL `soa_ttl`. `static_records` are served like dynamic ones; they are kept in wire
/// form ([`StaticRecords`]), a few dozen bytes per record.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSpec {
    /// The zone apex, e.g. `acme.example.com.`.
    pub origin: Name,
    /// The SOA data (serial replaced at snapshot time).
    pub soa: SOA,
    /// TTL of the SOA and apex NS records. Negative answers carry the SOA with TTL
    /// `min(soa_ttl, soa.minimum)` (RFC 2308 §5).
    pub soa_ttl: u32,
    /// Names of the zone's name servers (apex NS RRset).
    pub ns: Vec<Name>,
    /// Other records of the zone, served like dynamic records.
    pub static_records: StaticRecords,
}

/// Why a zone file could not be turned into a [`ZoneSpec`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// The file could not be read.
    #[error("cannot read zone file {}: {source}", path.display())]
    Read {
        /// The zone file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The zone file's syntax is wrong.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The zone file.
        path: PathBuf,
        /// 1-based line of the entry that failed (the line its last token is on), when it
        /// could be determined. An error inside an `$INCLUDE`d file is reported at the
        /// `$INCLUDE` line.
        line: Option<usize>,
        /// hickory's description of the error.
        message: String,
    },
    /// The zone has no SOA record at its origin.
    #[error("{}: no SOA record at the zone origin {origin}", path.display())]
    MissingSoa {
        /// The zone file.
        path: PathBuf,
        /// The zone origin.
        origin: String,
    },
    /// The zone has no NS record at its origin.
    #[error("{}: no NS record at the zone origin {origin}", path.display())]
    MissingNs {
        /// The zone file.
        path: PathBuf,
        /// The zone origin.
        origin: String,
    },
    /// A SOA record was found below the origin.
    #[error("{}: SOA record at {name}, but the zone origin is {origin}", path.display())]
    SoaNotAtOrigin {
        /// The zone file.
        path: PathBuf,
        /// Owner of the misplaced SOA.
        name: String,
        /// The zone origin.
        origin: String,
    },
    /// A record's owner is not at or below the origin.
    #[error("{}: {name} ({record_type}) is outside the zone {origin}", path.display())]
    OutsideOrigin {
        /// The zone file.
        path: PathBuf,
        /// The record owner.
        name: String,
        /// The record type.
        record_type: RecordType,
        /// The zone origin.
        origin: String,
    },
}

impl ZoneSpec {
    /// Reads a zone from an RFC 1035 zone file. `origin` is the initial `$ORIGIN` (relative
    /// names and `@` refer to it) and the zone apex.
    ///
    /// The SOA must be at the origin, at least one NS must be at the origin, and every
    /// record must be at or below it. Apex NS records become [`ZoneSpec::ns`] (their TTL is
    /// replaced by the SOA's); every other record except the SOA goes to
    /// [`ZoneSpec::static_records`].
    pub fn from_zone_file(path: &Path, origin: Name) -> Result<ZoneSpec, ZoneError> {
        let text = std::fs::read_to_string(path).map_err(|source| ZoneError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path, origin)
    }

    /// Like [`ZoneSpec::from_zone_file`], from zone-file text already in memory. `path` is
    /// used in error messages and to resolve relative `$INCLUDE`s.
    pub fn from_zone_text(text: &str, path: &Path, origin: Name) -> Result<ZoneSpec, ZoneError> {
        Self::parse(text, path, origin)
    }

    fn parse(text: &str, path: &Path, mut origin: Name) -> Result<ZoneSpec, ZoneError> {
        origin.set_fqdn(true);
        let mut soa = None;
        let mut ns = Vec::new();
        let mut static_records = StaticRecords::new();
        let mut problem: Option<ZoneError> = None;
        let read = zone_file::read(text, path, &origin, &mut |record| {
            let fail = |error: ZoneError, problem: &mut Option<ZoneError>| {
                *problem = Some(error);
                ZoneSyntaxError {
                    line: None,
                    message: String::new(),
                }
            };
            if !origin.zone_of(&record.name) {
                return Err(fail(
                    ZoneError::OutsideOrigin {
                        path: path.to_owned(),
                        name: record.name.to_ascii(),
                        record_type: record.record_type(),
                        origin: origin.to_ascii(),
                    },
                    &mut problem,
                ));
            }
            let at_apex = record.name.eq_ignore_root(&origin);
            match &record.data {
                RData::SOA(_) if at_apex && soa.is_some() => {
                    return Err(ZoneSyntaxError {
                        line: None,
                        message: "SOA is already specified".to_owned(),
                    });
                }
                RData::SOA(data) if at_apex => soa = Some((data.clone(), record.ttl)),
                RData::SOA(_) => {
                    return Err(fail(
                        ZoneError::SoaNotAtOrigin {
                            path: path.to_owned(),
                            name: record.name.to_ascii(),
                            origin: origin.to_ascii(),
                        },
                        &mut problem,
                    ));
                }
                RData::NS(target) if at_apex => ns.push(target.0.clone()),
                _ => static_records.push(record),
            }
            Ok(())
        });
        if let Err(error) = read {
            return Err(problem.take().unwrap_or_else(|| ZoneError::Parse {
                path: path.to_owned(),
                line: error.line,
                message: error.message,
            }));
        }
        static_records.shrink_to_fit();
        let Some((soa, soa_ttl)) = soa else {
            return Err(ZoneError::MissingSoa {
                path: path.to_owned(),
                origin: origin.to_ascii(),
            });
        };
        if ns.is_empty() {
            return Err(ZoneError::MissingNs {
                path: path.to_owned(),
                origin: origin.to_ascii(),
            });
        }
        Ok(ZoneSpec {
            origin,
            soa,
            soa_ttl,
            ns,
            static_records,
        })
    }
}
