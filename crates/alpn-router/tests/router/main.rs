//! Integration tests for the router: real sockets on loopback, the in-process
//! authoritative DNS server, recording backends, captured ClientHellos. One module per
//! topic.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod harness;

mod challenge;
mod client_hello;
mod forwarding;
mod reload;
mod routing;
