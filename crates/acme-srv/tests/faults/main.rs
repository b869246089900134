//! acme-srv under hostile load and faults, as one real `serve` process (relay, DNS, API,
//! admin) on loopback: a CA-style challenge load runs (bursts of 5 concurrent requests
//! per token from 5 addresses, as multi-perspective validation sends them) while each
//! fault is applied in turn. Every phase checks that challenges keep succeeding with a
//! p99 within bounds of the quiet run, that writes either succeed or fail with a clear
//! error, and that the process recovers by itself once the fault ends; at the end every
//! acknowledged write is in the store. The figures are printed (`--nocapture`) and
//! recorded in docs/reliability.md.
#![allow(
    clippy::unwrap_used,
    missing_docs,
    unreachable_pub,
    clippy::print_stdout
)]

mod descriptors;
mod harness;
mod phases;
