//! Integration tests for the authoritative DNS server: `run` on loopback (UDP and TCP on
//! one port), asked by `dig` and by raw hickory-proto messages. One module per topic.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod harness;

mod any;
mod case;
mod cname;
mod limits;
mod malformed;
mod metrics;
mod negative;
mod opcodes;
mod records;
mod snapshot;
mod truncation;
mod updates;
mod zone_file;
