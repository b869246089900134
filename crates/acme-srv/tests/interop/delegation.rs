//! The delegation flow for people who keep their zone elsewhere: a real BIND serves the
//! customer's zone, where `_acme-challenge._tcp.www` is a CNAME into acme-srv's zone; the
//! customer manages the SRV target there with a key scoped to their name; a real Unbound
//! recurses (stub zones to BIND and to acme-srv); the relay and pebble resolve through
//! Unbound; lego gets its certificate.

use serde_json::json;
use test_support::binary::AcmeSrv;
use test_support::programs::bind::Bind;
use test_support::programs::pebble::{Pebble, PebbleOptions};
use test_support::programs::unbound::Unbound;
use test_support::programs::{self, lego};

use crate::{dns_side, harness};

const DOMAIN: &str = "www.customer.test";
/// The customer's name in acme-srv's zone.
const DELEGATED: &str = "www-customer.deleg.acme.test";
const CLIENT: &str = "client.deleg.acme.test";

#[tokio::test]
async fn lego_gets_a_certificate_through_a_cname_into_acme_srv() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    for program in ["pebble", "lego", "named", "unbound"] {
        programs::require(program)?;
    }
    let dir = tempfile::tempdir()?;
    let srv = dns_side::start_dns_and_api(dir.path()).await?;
    let api = format!("http://{}", srv.addr("api"));

    // The operator gives the customer a key for their subtree of acme-srv's zone.
    let created = dns_side::cli(&[
        "keys",
        "--api",
        &api,
        "--token",
        dns_side::TOKEN,
        "create",
        "--subtree",
        "deleg.acme.test",
        "--description",
        "customer.test",
    ])
    .await?;
    let key: serde_json::Value = serde_json::from_str(&created)?;
    let key = key["token"].as_str().unwrap_or_default().to_owned();

    // The customer's zone, elsewhere (BIND), CNAMEs the SRV name into acme-srv's zone.
    let zone = format!(
        "$ORIGIN customer.test.\n$TTL 5\n@ SOA ns1 hostmaster 1 3600 600 86400 1\n@ NS ns1\nns1 A 127.0.0.1\n\
         www A 127.0.0.1\n_acme-challenge._tcp.www CNAME {DELEGATED}.\n"
    );
    let bind = Bind::start("customer.test", &zone).await?;
    let unbound = Unbound::start(&[
        ("customer.test", bind.addr()),
        ("acme.test", srv.addr("dns-udp")),
    ])
    .await?;

    // The customer sets the SRV target with their own key.
    let lego_port = programs::free_tcp_port();
    let port = lego_port.to_string();
    dns_side::add_record(
        &srv,
        json!({"owner": CLIENT, "ttl": 5, "type": "A", "address": "127.0.0.1"}),
    )
    .await?;
    dns_side::cli(&[
        "records", "--api", &api, "--token", &key, "set-srv", DELEGATED, "--target", CLIENT,
        "--port", &port, "--ttl", "5",
    ])
    .await?;

    let resolver = unbound.addr().to_string();
    let relay = AcmeSrv::start(
        harness::acme_srv_bin(),
        &[
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--dns-server",
            &resolver,
            "--allow-domain",
            DOMAIN,
            "--allow-target",
            "127.0.0.0/8",
            "--allow-port",
            harness::ALLOW_PORTS,
            "--other-requests",
            "not-found",
        ],
    )
    .await?;
    let pebble = Pebble::start(PebbleOptions {
        http_port: relay.addr("http").port(),
        tls_port: programs::free_tcp_port(),
        dns_server: unbound.addr(),
    })
    .await?;
    let cert = lego::obtain_http01(&pebble, DOMAIN, lego_port)
        .await
        .map_err(|e| {
            e.context(format!(
                "{}\n--- acme-srv serve ---\n{}\n--- bind ---\n{}\n--- unbound ---\n{}",
                harness::diagnostics(&relay, &pebble),
                srv.log_text(),
                bind.output(),
                unbound.output()
            ))
        })?;
    harness::assert_certificate_for(&cert, DOMAIN)?;
    harness::relayed_line(&relay, DOMAIN, harness::loopback(lego_port)).await?;
    Ok(())
}
