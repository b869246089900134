//! Integration tests of the `acme-srv` binary itself: the CLI contract, the listeners
//! it reports, logs, metrics, and shutdown. Relay behaviour in depth is tested in-process
//! by `http-relay`'s own integration tests; here the real process is driven.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod check_process;
mod config_cli;
mod dns_process;
mod relay_process;
mod reload_process;
mod router_process;
mod validate_process;
mod validation_methods;
