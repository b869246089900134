//! The ACME SRV scheme, as data and pure functions: no I/O, no clock, no global RNG.
//!
//! A domain owner publishes where validation for a name should go:
//!
//! ```text
//! _acme-challenge._tcp.www.example.com. 300 IN SRV 10 5 8080 acme-client.internal.
//! ```
//!
//! This crate knows three things about such records:
//!
//! - [`domain`]: a `Host` value as a [`DomainName`] (the workspace's one domain-name
//!   type, from the `domain-name` crate, re-exported with its allow-list pattern), and
//!   the allow-list check.
//! - [`labels`]: which owner name to query for a domain and a challenge type
//!   ([`Labels::owner_name`]), with both labels configurable, and the parent names to
//!   try when walking up is enabled ([`labels::parent_names`]).
//! - [`ordering`]: the order in which a client must try the targets of an SRV answer,
//!   as RFC 2782 says (lowest priority first, weighted random among equal priority, a
//!   lone `.` target meaning "not here"). hickory-resolver returns answers in wire order
//!   and does none of this (hickory-dns issue 3440), so the project does it here, with
//!   the random source passed in so tests are exact. At most [`MAX_SRV_RECORDS`]
//!   records of one answer are ordered (the lowest priorities), in O(n log n).
//!
//! The scheme itself is specified in `docs/srv-scheme.md`.
#![forbid(unsafe_code)]

pub mod domain;
pub mod labels;
pub mod ordering;

pub use domain::{DomainName, DomainPattern, HostError, NameError, normalize_host};
pub use labels::{Challenge, Labels};
pub use ordering::{MAX_SRV_RECORDS, Selection, SrvRecord, order_targets};
