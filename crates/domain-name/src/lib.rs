//! Domain names for every crate of acme-srv: one type, [`DomainName`], parsed and
//! normalised in one place, and compared at label boundaries in one place.
//!
//! # The normal form
//!
//! Both parse functions turn text (a `Host` value without its port, an SNI, a configured
//! zone origin, an owner sent to the API, a name read off the wire) into the one form
//! every comparison uses:
//!
//! - IDNA (UTS 46) to ASCII: `bücher.example` is `xn--bcher-kva.example`. Text that is
//!   already ASCII is only lowercased: its `xn--` labels are kept as spelled, as DNS
//!   keeps them (a label is a label to a resolver).
//! - Lowercase, and no trailing dot: `WWW.Example.COM.` is `www.example.com`.
//!   [`DomainName::to_fqdn_string`] gives the absolute form back (`www.example.com.`),
//!   for hickory's `Name` and zone files; parsing accepts either form.
//! - Labels of 1–63 characters of `[a-z0-9_-]` (`_` for `_acme-challenge` and its
//!   kind), at most 253 characters in all (the dot-less text form of the 255-byte wire
//!   limit).
//!
//! # Host names and DNS names: the one wildcard rule
//!
//! Where a name comes from decides two things, and only these two:
//!
//! | | [`DomainName::parse`]: a host name | [`DomainName::parse_dns`]: a name as DNS holds it |
//! |---|---|---|
//! | used for | the relay's `Host`, the router's SNI, every configured name (zone origins, TSIG key names, the acme-dns zone, name servers), the bases of allow-lists and router server names | owner names of records (the store, RFC 2136 UPDATE, the API), CNAME and SRV targets, TSIG key names the API is sent, names read off the wire |
//! | `*.example.com` | refused ([`NameError::Wildcard`]) | a name (the wildcard of RFC 4592): a `*` first label above at least one other label; never `*` alone, never `a.*.example.com` |
//! | `192.0.2.1`, `127.1`, `::1` | refused ([`NameError::IpLiteral`]): a name whose last label is all digits is an address (RFC 1123 section 2.1: a host name's top label is never all-numeric), and so is an IPv6 literal | labels like any others, as DNS has them (the API publishes that pattern) |
//!
//! What [`DomainName::parse`] refuses it refuses for every ancestor too (the last label
//! is kept, the first dropped), so [`DomainName::parent`] never makes an address of a
//! host name. [`DomainPattern::parse`] reads `*.example.com` as a pattern: every host
//! name below `example.com`.
//!
//! Parsing says what a name *is*; whether a wildcard may be *written* is the writer's
//! policy: the management API and UPDATE do not write wildcard owners, because the DNS
//! server matches a `*` label literally (see `docs/dns.md`), and the store takes no
//! wildcard as a CNAME or SRV target (a target names a host).
//!
//! # Containment
//!
//! [`DomainName::is_at_or_below`] compares whole labels: `www.example.com` is below
//! `example.com`, `xexample.com` is not. [`is_at_or_below`] is the same rule for text
//! already in the normal form (as the store keeps its names), so both go through one
//! function. [`DomainName::ancestors`] walks up, nearest first.
#![forbid(unsafe_code)]

mod error;
mod name;
mod pattern;

pub use error::NameError;
pub use name::{Ancestors, DomainName, MAX_LABEL_LEN, MAX_NAME_LEN, is_at_or_below};
pub use pattern::DomainPattern;
