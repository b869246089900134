//! The CA side: http-01 and tls-alpn-01 validation performed the way Let's Encrypt's
//! Boulder performs it, so that "would Let's Encrypt accept this?" has an answer on a
//! machine without Let's Encrypt. Pebble, the test CA, is laxer (any redirect port, any
//! body size, only the first address); passing pebble proves little, passing this proves
//! more. Every rule cites Boulder's `va/` code (`docs/validator.md` lists them).
//!
//! How the parts fit:
//!
//! - [`Validator`] (`validator.rs`) runs one challenge from the primary perspective
//!   and, when it passed, from the remote perspectives at once; [`quorum`] judges those
//!   by the Baseline Requirements' table and Boulder's two-RIR rule.
//! - `http01.rs` fetches `http://<domain>/.well-known/acme-challenge/<token>` on a fresh
//!   connection per hop, IPv6 first and IPv4 after a dial error (`dial.rs`), reading at
//!   most 128 bytes; `redirect.rs` judges each redirect (status, scheme, port, host).
//! - `tls_alpn01.rs` connects with SNI and `acme-tls/1` (`tls_client.rs`: no trust
//!   anchors, handshake signatures checked) and `acme_certificate.rs` checks the
//!   certificate: self-signed, one SAN, a critical acmeIdentifier with the digest.
//! - `addresses.rs` looks hosts up and drops reserved addresses (IANA special-purpose
//!   blocks) unless [`ValidatorOptions::allow_restricted`] names their network, as a lab
//!   on loopback needs.
//! - `srv_targets.rs` is the proposal as a CA would implement it
//!   ([`ValidatorOptions::honour_srv`]): validate at the targets of the challenge's SRV
//!   record, in RFC 2782 order, under a target policy.
//! - [`Problem`] carries Boulder's error type and detail text; [`ValidationRecord`] what
//!   was contacted.
//!
//! `--port N` of `acme-srv validate` sets [`ValidatorOptions::http_port`] (or
//! `tls_port`), which then stands for 80 (443) everywhere, redirects included, as in
//! Boulder's own test configuration.
#![forbid(unsafe_code)]

mod acme_certificate;
mod addresses;
mod dial;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod http01;
mod options;
mod perspective;
mod problem;
pub mod quorum;
mod redirect;
mod report;
mod srv_targets;
mod tls_alpn01;
mod tls_client;
mod validator;

pub use options::{
    ACME_TLS_1, DIAL_TIMEOUT, MAX_PATH_SIZE, MAX_REDIRECT, MAX_RESPONSE_SIZE, RIRS, SrvPolicy,
    USER_AGENT, ValidatorOptions,
};
pub use problem::{Problem, ProblemKind, ValidationRecord};
pub use srv_targets::SrvReport;
pub use tls_client::client_config as tls_client_config;
pub use validator::{Challenge, Outcome, PerspectiveReport, Validator, ValidatorError};
