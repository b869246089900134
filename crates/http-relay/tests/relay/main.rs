//! Integration tests for the relay: real sockets on loopback, the in-process
//! authoritative DNS server, recording targets. One module per topic.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod harness;

mod burst;
mod connections;
mod dns_answers;
mod failover;
mod happy_path;
mod limits;
mod ordering;
mod other_requests;
mod request_validation;
mod target_framing;
mod target_misbehaviour;
mod target_policy;
mod upstream_apps;
mod what_crosses;
