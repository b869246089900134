//! Store-to-DNS sync: what the authoritative DNS server serves, made from the operator's
//! `[[dns.zones]]` and the record store, and kept equal to the store as it changes.
//!
//! Goals: `dns-server` stays a pure DNS crate that knows nothing of the store, and a
//! query never waits on a database; a committed change is served within one snapshot
//! rebuild, and a burst of changes is one rebuild; a change costs reading the owners it
//! touched, not the whole store; a store that cannot be read leaves the previous
//! snapshot served. `acme-srv serve`, tests and other commands share this crate, so the
//! binary only wires it.
//!
//! How the parts fit, by file:
//!
//! 1. [`zone_specs`](mod@zone_specs): `[[dns.zones]]` ([`config::DnsConfig`]) becomes one
//!    [`dns_server::ZoneSpec`] per zone ([`zone_specs()`]): names made absolute, the
//!    defaults of `ns` and `soa` filled in, a `zone_file` read, and the `records` lines
//!    parsed by dns-server's zone-text reader ([`dns_server::parse_records`], the parser
//!    of zone files too). [`origin_text`] is a zone origin as the management API
//!    compares names.
//! 2. [`stored_records`]: a stored record ([`record_store::Record`]) becomes a hickory
//!    DNS record ([`to_dns_record`]), and back. Names cross between hickory's `Name`
//!    and the workspace's one [`domain_name::DomainName`] in `names.rs` only.
//! 3. [`follow`]: [`StoreFollower::load`] reads every stored record into a compact
//!    mirror and builds the first [`dns_server::Snapshot`] from the zone specs and the
//!    mirror, held by a [`dns_server::Authority`] that the server answers from.
//!    [`StoreFollower::run`] then waits on the store's change feed, asks the change
//!    journal which owners changed, reads back only those, patches the mirror and swaps
//!    in a snapshot rebuilt on a blocking thread. [`start`] does both for `serve`.
//! 4. [`zone_services`](mod@zone_services): `[dns.transfers]` and `[[dns.tsig_keys]]`
//!    as the server's [`dns_server::ZoneServices`] (TSIG keys, who may transfer) and
//!    NOTIFY targets.
//! 5. [`push`]: the records acme-srv owns in a zone written into an existing primary
//!    by RFC 2136 UPDATE (changes from the journal, reconciling, back-off).
//! 6. [`updates`]: RFC 2136 UPDATE into the store through its rules ([`StoreUpdates`]),
//!    and the TSIG keys of the configuration and the store ([`StoreKeyring`]).
//! 7. [`ZoneSyncError`] (`error.rs`): every failure, with its cause kept and the
//!    configuration key named (`dns.zones[0].records[2]`).
#![forbid(unsafe_code)]

mod error;
pub mod follow;
mod names;
pub mod push;
pub mod stored_records;
pub mod updates;
pub mod zone_services;
pub mod zone_specs;

pub use error::ZoneSyncError;
pub use follow::{StoreFollower, start};
pub use stored_records::{from_dns_record, to_dns_record};
pub use updates::{StoreKeyring, StoreUpdates};
pub use zone_services::{config_keyring, notify_targets, push_targets, zone_services};
pub use zone_specs::{STATIC_RECORD_DEFAULT_TTL, origin_text, zone_specs};
