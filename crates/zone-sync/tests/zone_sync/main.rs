//! Integration tests for zone-sync: a real SQLite store in a temporary directory, zones
//! from configuration text, and the library's follower, with the served snapshot read
//! through dns-server's public API (and once over UDP). One module per topic.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod harness;

mod config_errors;
mod follows_store;
mod served_over_udp;
mod static_records;
