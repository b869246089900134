//! Test harness for acme-srv's integration and interop tests.
//!
//! Everything here runs on loopback and binds port 0; nothing waits with a fixed sleep.
//!
//! - [`dns_server`]: an in-process authoritative DNS server on hickory-server whose
//!   records a test changes while it runs, and which remembers every question it got.
//! - [`recording_target`]: small HTTP servers standing in for ACME clients (the SRV
//!   targets); they record every connection and request, and can misbehave on purpose
//!   (hang, send too much, redirect).
//! - [`api_client`]: a raw HTTP/1.1 JSON client for the management API.
//! - [`binary`]: starts the real `acme-srv` binary with `--listen 127.0.0.1:0` and reads
//!   the bound addresses back from its log.
//! - [`programs`]: the real programs used for interop (pebble, lego, certbot, nginx),
//!   found on the machine or failing with a clear message.
//! - [`tls`]: a throwaway CA and server certificate, and ClientHellos built to order.
//! - [`tls_alpn_responder`]: a tls-alpn-01 responder with the RFC 8737 certificate,
//!   standing in for an ACME client behind the router.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::print_stderr)]

pub mod api_client;
pub mod binary;
pub mod dns_server;
pub mod programs;
pub mod recording_target;
pub mod tls;
pub mod tls_alpn_responder;
