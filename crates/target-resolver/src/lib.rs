//! Where a challenge may go: SRV and address lookups, their cache, and the target policy.
//!
//! - [`resolver`]: [`TargetResolver`] asks the configured name servers (through
//!   hickory-resolver, which follows CNAMEs) for the SRV records of an owner name and
//!   for the addresses of each target, AAAA before A. Concurrent lookups of the same
//!   name share one upstream query (hickory deduplicates queries in flight). The target
//!   addresses an authoritative SRV answer carries in its additional section are cached
//!   too (RFC 2181 §5.4.1: only from an AA answer, only for the SRV targets inside its
//!   zone), so a cold challenge to such a server costs one query instead of three.
//! - [`cache`]: answers are kept for their TTL (capped), negative answers for the SOA
//!   minimum (RFC 2308), and when the upstream fails an expired answer is served for
//!   a configurable while longer (serve-stale, RFC 8767). Reads share a read lock and
//!   allocate nothing.
//! - [`policy`]: [`TargetPolicy`] decides whether an address and port may be connected
//!   to: inside the allowed networks and ports, never in a range of the IANA
//!   special-purpose registries (loopback, link-local, private-use, documentation, ...:
//!   [`policy::SPECIAL_RANGES`]) unless an allowed network lies inside that range, never
//!   a cloud metadata address ([`policy::METADATA_ADDRESSES`]) unless listed exactly,
//!   and an IPv6 address carrying an IPv4 address (IPv4-mapped or -compatible, NAT64,
//!   6to4, Teredo) is judged by that IPv4 address too.
//!   The address it approves is the address the caller connects to: there is no
//!   second lookup for a rebinding attacker to race.
//!
//! Ordering the SRV targets is not done here: it is `srv_scheme::order_targets`, so the
//! caller controls the random source.
#![forbid(unsafe_code)]

pub mod cache;
pub mod policy;
pub mod resolver;

pub use policy::{Refusal, TargetPolicy};
pub use resolver::{
    Addresses, ResolveError, ResolverOptions, STALE_RECHECK, SrvAnswer, TargetResolver,
};
