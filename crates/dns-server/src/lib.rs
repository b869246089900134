//! The authoritative DNS server: answers for the operator's zones from an immutable
//! in-memory snapshot, so a query never waits on the record store.
//!
//! Goals, in order: answer exactly what an authoritative server must (AA, NXDOMAIN vs
//! NODATA with the zone SOA, CNAME chains, RFC 8482 ANY, EDNS(0) and truncation), never
//! panic or amplify on hostile input, preserve the question's letter case (CAs randomise
//! it, "0x20"), and keep a lookup free of locks and almost free of allocation.
//!
//! How the parts fit, by file:
//!
//! 1. [`zone`]: [`ZoneSpec`] describes one zone: its origin, SOA, NS names and static
//!    records. [`ZoneSpec::from_zone_file`] reads one from an RFC 1035 zone file with
//!    hickory's parser, reporting the file and line of a syntax error.
//! 2. [`snapshot`]: [`Snapshot::build`] merges the zone specs with the dynamic records
//!    from the store into maps keyed by lowercase name, then type, with empty
//!    non-terminals, CNAME conflicts resolved, the given serial in every SOA, and the wire
//!    size of each RRset precomputed. Records it cannot serve come back as
//!    [`SkippedRecord`]s. Answering a question from the maps lives here too.
//! 3. [`authority`]: [`Authority`] holds the current snapshot in an `ArcSwap`:
//!    [`Authority::replace`] swaps in a new one atomically while queries keep reading the
//!    old one. It implements hickory-server's `RequestHandler`: the checks on the message
//!    (opcode, question count, EDNS version), the answer from the snapshot, the UDP size
//!    limit and truncation, the OPT record, and the `acme_srv_dns_queries_total` metric.
//! 4. [`server`]: [`run`] serves an [`Authority`] with hickory's `Server` on sockets the
//!    caller bound (port 0 in tests) until a shutdown future completes. hickory itself
//!    drops messages shorter than a header and messages that are responses, and answers
//!    FORMERR to messages it cannot parse; everything else reaches [`Authority`].
//!
//! Not implemented (yet): zone transfers, NOTIFY and UPDATE (answered NOTIMP), DNSSEC,
//! wildcards (a `*` label is matched literally) and delegations (an NS RRset below the
//! apex is served as ordinary data, not as a referral).
#![forbid(unsafe_code)]

pub mod authority;
pub mod server;
pub mod snapshot;
pub mod zone;

pub use authority::{ADVERTISED_UDP_PAYLOAD, Authority, MAX_UDP_PAYLOAD};
pub use server::{DnsServerError, TCP_TIMEOUT, run};
pub use snapshot::{MAX_CNAME_HOPS, SkipReason, SkippedRecord, Snapshot};
pub use zone::{ZoneError, ZoneSpec};
