//! Interop tests of the `acme-srv` binary: real ACME clients obtain real certificates
//! from a real test CA, with the http-01 validation going through the relay.
//!
//! Every test runs on loopback only and builds its own world, so the tests are
//! independent of one another:
//!
//! - an in-process authoritative DNS server for `test.` ([`test_support::dns_server`])
//!   that publishes the domain's A record (127.0.0.1) and the SRV record
//!   `_acme-challenge._tcp.<domain>` pointing at the port where the ACME client listens;
//! - the real `acme-srv relay` process on `127.0.0.1:0`, resolving through that server;
//! - pebble, Let's Encrypt's test CA, resolving the domain through the same server and
//!   sending its http-01 requests to the relay's port (or to nginx or HAProxy in front of
//!   the relay);
//! - lego or certbot, listening on the SRV target's port and nowhere near port 80.
//!
//! What they prove, each by a certificate issued for the domain *and* by the relay's own
//! log (`relayed challenge ... status=200` for that domain, to the SRV target's address)
//! *and* by the DNS server having been asked the SRV question:
//!
//! - [`lego_http01`]: lego gets a certificate through the relay alone.
//! - [`certbot_http01`]: certbot (standalone) gets one the same way.
//! - [`failover`]: with two SRV records, the first (priority 10) on a dead port, the relay
//!   logs `target failed, trying the next` and lego, on the priority-20 target, still gets
//!   its certificate.
//! - [`behind_nginx`]: the shipped `deploy/nginx/acme-srv.conf`, unchanged except for the
//!   relay's address, works in front of the relay, and the relay believes nginx's
//!   `X-Forwarded-For` (it logs the CA's address, not nginx's).
//! - [`behind_haproxy`]: the same with the shipped `deploy/haproxy/acme-srv.cfg`.
//!
//! And port 443 (`acme-srv router`):
//!
//! - [`lego_tls_alpn01`]: pebble's tls-alpn-01 validation goes through the router to the
//!   `_acme-tls-alpn._tcp` SRV target, the first target dead, and lego gets a
//!   certificate.
//! - [`https_behind_router`]: HTTPS to a real nginx behind the router works unchanged
//!   (curl over HTTP/1.1 and h2, the certificate verified), and with PROXY protocol v2
//!   nginx logs the real client's address.
//!
//! And the DNS side (`acme-srv serve` with `[dns]` and `[api]`, see [`dns_side`]):
//!
//! - [`acme_dns_client`]: an unmodified acme-dns client (certbot-dns-acmedns) gets a certificate with
//!   dns-01 against acme-srv's acme-dns-compatible API and DNS server.
//! - [`srv_via_cli`]: the SRV record made with `acme-srv records set-srv` is served by
//!   acme-srv's DNS, read by the relay, and lego gets an http-01 certificate.
//! - [`delegation`]: a real BIND serves the customer's zone with a CNAME into acme-srv's
//!   zone, a real Unbound recurses, the customer sets the SRV target with a scoped key,
//!   and lego gets its certificate through the relay.
//!
//! And the lab ([`lab`]): the real `acme-srv lab --issue lego` (http-01 and
//! tls-alpn-01) and `--issue certbot` print a pebble certificate for the demo domain,
//! and `acme-srv lab` comes up, answers the demo's SRV records and stops on SIGINT.
//!
//! The programs (pebble, lego, certbot, nginx, haproxy) come from Debian packages. A
//! missing program fails the test with a message naming the package; the only way to
//! skip these tests is `ACME_SRV_SKIP_INTEROP=1`, and a skip is printed.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod dns_side;
mod harness;

mod acme_dns_client;
mod behind_haproxy;
mod behind_nginx;
mod certbot_http01;
mod delegation;
mod failover;
mod https_behind_router;
mod lab;
mod lego_http01;
mod lego_tls_alpn01;
mod push_to_primary;
mod rfc2136_updates;
mod secondaries;
mod several_instances;
mod srv_via_cli;
