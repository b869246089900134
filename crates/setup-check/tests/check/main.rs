//! Integration tests for `setup-check`: the in-process DNS server, recording targets
//! and the real relay, all on loopback ports chosen by the system. One module per topic.
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    missing_docs,
    unreachable_pub
)]

mod harness;

mod broken_setups;
mod healthy;
mod output;
