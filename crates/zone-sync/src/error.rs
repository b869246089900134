//! [`ZoneSyncError`]: what can go wrong while building zones from configuration or
//! following the store.

use std::error::Error;

use dns_server::{ZoneError, ZoneSyntaxError};
use record_store::StoreError;

/// Why zone specs could not be built from `[[dns.zones]]`, or a snapshot from the
/// store. The message names the place (a configuration key, or what was being read);
/// the cause is the error's source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneSyncError {
    /// A name in a zone's configuration (`origin`, `ns`, `soa.mname`, `soa.rname`, or a
    /// default made from the origin) is not a domain name.
    #[error("{key} (zone {origin}): {name:?} is not a domain name")]
    ZoneName {
        /// The configuration key, e.g. `dns.zones[0].ns[1]`.
        key: String,
        /// The zone's origin as configured.
        origin: String,
        /// The name that failed.
        name: String,
        /// Why: the domain-name parser's reason ([`domain_name::NameError`]), or
        /// hickory's.
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
    /// A zone's `zone_file` could not be read or is not a valid zone.
    #[error("{key} (zone {origin})")]
    ZoneFile {
        /// The configuration key, e.g. `dns.zones[0].zone_file`.
        key: String,
        /// The zone's origin as configured.
        origin: String,
        /// What is wrong with the file (it names the file and line); boxed, as it is
        /// much larger than the other causes.
        #[source]
        source: Box<ZoneError>,
    },
    /// A line of a zone's `records` does not parse.
    #[error("{key} (zone {origin})")]
    StaticRecord {
        /// The configuration key of the line, e.g. `dns.zones[0].records[2]`
        /// (`dns.zones[0].records` when the line is not known).
        key: String,
        /// The zone's origin as configured.
        origin: String,
        /// The parser's reason.
        #[source]
        source: ZoneSyntaxError,
    },
    /// The store could not be read.
    #[error("reading {what} from the store")]
    Store {
        /// What was being read, e.g. `the change journal`.
        what: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// Building a snapshot panicked (a bug); the previous snapshot stays served.
    #[error("building the DNS snapshot panicked")]
    SnapshotBuildPanicked(#[source] tokio::task::JoinError),
}

impl ZoneSyncError {
    pub(crate) fn store(what: &'static str) -> impl FnOnce(StoreError) -> Self {
        move |source| Self::Store { what, source }
    }
}

/// `error` and its causes joined by `: `, for one log line; a cause whose text the
/// message before it already contains is left out.
pub(crate) fn with_causes(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let current_text = current.to_string();
        if !text.contains(&current_text) {
            text.push_str(": ");
            text.push_str(&current_text);
        }
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_carries_every_cause_once() {
        let error = ZoneSyncError::ZoneFile {
            key: "dns.zones[0].zone_file".to_owned(),
            origin: "acme.test".to_owned(),
            source: Box::new(ZoneError::Read {
                path: "/missing.zone".into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
            }),
        };
        // The I/O error is in the zone error's text already: not repeated.
        assert_eq!(
            with_causes(&error),
            "dns.zones[0].zone_file (zone acme.test): cannot read zone file /missing.zone: not found"
        );
    }
}
