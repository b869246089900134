//! The management API over HTTP on 127.0.0.1, backed by a real SQLite store: every
//! endpoint, every refusal (and that a refused request changes nothing), acme-dns
//! compatibility, the OpenAPI document, and schemathesis against that document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod acme_dns;
mod challenges;
mod credentials;
mod harness;
mod hostile_clients;
mod keys;
mod openapi;
mod records;
mod request_hygiene;
mod schemathesis;
mod tsig_keys;
mod zone_text;
