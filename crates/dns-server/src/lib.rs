//! The authoritative DNS server: answers for the operator's zones from an immutable
//! in-memory snapshot, so a query never waits on the record store.
//!
//! Goals, in order: answer exactly what an authoritative server must (AA, NXDOMAIN vs
//! NODATA with the zone SOA, CNAME chains, RFC 8482 ANY, EDNS(0) and truncation), never
//! panic or amplify on hostile input, preserve the question's letter case (CAs randomise
//! it, "0x20"), and keep the common query free of locks, allocation and parsing into hickory types.
//!
//! How the parts fit, by file:
//!
//! 1. [`zone`]: [`ZoneSpec`] describes one zone: its origin, SOA, NS names and static
//!    records ([`StaticRecords`], kept in wire form, see [`records`]).
//!    [`ZoneSpec::from_zone_file`] reads one from an RFC 1035 zone file; `zone_file.rs`
//!    splits the file into entries and hands hickory's parser a few hundred
//!    self-contained record lines at a time, so a large zone never exists as hickory
//!    record sets all at once, and a syntax error is reported with its file and line.
//!    [`parse_records`] reads record lines held elsewhere (a configuration's static
//!    records) through the same code, with the line of a [`ZoneSyntaxError`].
//! 2. [`snapshot`]: [`Snapshot::build`] merges the zone specs with the dynamic records
//!    from the store (sorting references to their wire form by owner and type), with
//!    empty non-terminals, CNAME conflicts resolved and the given serial in every SOA.
//!    Records it cannot serve come back as [`SkippedRecord`]s. Each zone's names go into a
//!    `table.rs` name table: one buffer of entries keyed by lowercase wire name, with an
//!    open-addressing index and a fast non-cryptographic hash (`wire.rs`). Every RRset is
//!    stored once, already encoded as the answer section of a response (`encoded.rs`), and
//!    so is each zone's negative-answer SOA, for every question length. An SRV, MX or NS
//!    RRset also carries its additional section, encoded right after it: the A and AAAA
//!    of each of its targets in the same zone, a target's group at a time, so a response
//!    can stop after any group that fits. The general path's lookups (CNAME chains, ANY,
//!    inspection) decode the RRsets they need.
//! 3. [`authority`]: [`Authority`] holds the current snapshot in an `ArcSwap`:
//!    [`Authority::replace`] swaps in a new one atomically while queries keep reading the
//!    old one. It is the general path: hickory parses the message, then the checks
//!    (opcode, question count, EDNS version), the answer from the snapshot, the UDP size
//!    limit and truncation, the OPT record, and the `acme_srv_dns_queries_total` metric.
//! 4. `fast_path.rs`: the common UDP query (one question for a name in a zone, optional
//!    plain OPT, answer an RRset, NODATA or NXDOMAIN) answered by copying the
//!    pre-encoded section (and as many groups of additional records as fit, without TC)
//!    after the client's header and question, patching the ID, flags and counts: no
//!    hickory parsing, no allocation, no lock. Its responses are byte for
//!    byte the general path's (tested); anything else falls back to the general path.
//! 5. [`server`]: [`run`] serves an [`Authority`] on sockets the caller bound (port 0 in
//!    tests) until a shutdown future completes. Each UDP socket has one task that drains
//!    the socket, answers each datagram in place (fast path, else general path, as
//!    hickory's server would: silence for messages shorter than a header and for
//!    responses, FORMERR for messages that do not parse), under response rate limiting
//!    (`rate_limit.rs`, BIND-style RRL with slip), and sends; TCP (`tcp.rs`) runs on
//!    `bounded-listener`'s accept loop (global and per-client caps, first-byte, idle and
//!    lifetime timeouts, back-off on accept errors), one length-prefixed message at a
//!    time through the general path.
//!
//! Not implemented (yet): zone transfers, NOTIFY and UPDATE (answered NOTIMP), DNSSEC,
//! wildcards (a `*` label is matched literally) and delegations (an NS RRset below the
//! apex is served as ordinary data, not as a referral).
#![forbid(unsafe_code)]

pub mod authority;
mod encoded;
mod fast_path;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod journal;
pub mod notify;
mod rate_limit;
pub mod records;
pub mod server;
pub mod services;
mod signed_query;
pub mod snapshot;
mod table;
mod tcp;
pub mod transfer;
pub mod tsig;
mod update;
mod wire;
pub mod zone;
mod zone_file;

pub use authority::{ADVERTISED_UDP_PAYLOAD, Authority, MAX_UDP_PAYLOAD};
pub use journal::{ZoneDelta, serial_before};
pub use rate_limit::RateLimitOptions;
pub use records::StaticRecords;
pub use server::{DnsServerError, ServerOptions, TCP_TIMEOUT, run, run_with_options};
pub use services::{
    KeyGrant, Keyring, Prerequisite, StaticKeyring, UpdateHandler, UpdateOperation, UpdateRequest,
    ZoneServices,
};
pub use snapshot::{MAX_CNAME_HOPS, SkipReason, SkippedRecord, Snapshot};
pub use zone::{ZoneError, ZoneSpec};
pub use zone_file::{ZoneSyntaxError, parse_records};
