//! http-01 end to end on acme-srv's own DNS: the SRV record is created with
//! `acme-srv records set-srv`, served by `acme-srv serve`, read by the relay, and lego
//! gets its certificate.

use serde_json::json;
use test_support::binary::AcmeSrv;
use test_support::programs::pebble::{Pebble, PebbleOptions};
use test_support::programs::{self, lego};

use crate::{dns_side, harness};

const DOMAIN: &str = "www.srv-cli.acme.test";
const CLIENT: &str = "client.srv-cli.acme.test";

#[tokio::test]
async fn lego_gets_a_certificate_for_an_srv_record_made_with_the_cli() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("lego")?;
    let dir = tempfile::tempdir()?;
    let srv = dns_side::start_dns_and_api(dir.path()).await?;
    let api = format!("http://{}", srv.addr("api"));
    let dns = srv.addr("dns-udp");
    let lego_port = programs::free_tcp_port();

    for name in [DOMAIN, CLIENT] {
        dns_side::add_record(
            &srv,
            json!({"owner": name, "ttl": 5, "type": "A", "address": "127.0.0.1"}),
        )
        .await?;
    }
    let port = lego_port.to_string();
    dns_side::cli(&[
        "records",
        "--api",
        &api,
        "--token",
        dns_side::TOKEN,
        "set-srv",
        &harness::owner(DOMAIN),
        "--target",
        CLIENT,
        "--port",
        &port,
        "--ttl",
        "5",
    ])
    .await?;

    let dns_arg = dns.to_string();
    let relay = AcmeSrv::start(
        harness::acme_srv_bin(),
        &[
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--dns-server",
            &dns_arg,
            "--allow-domain",
            "*.srv-cli.acme.test",
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
        dns_server: dns,
    })
    .await?;
    let cert = lego::obtain_http01(&pebble, DOMAIN, lego_port)
        .await
        .map_err(|e| {
            e.context(format!(
                "{}\n--- acme-srv serve ---\n{}",
                harness::diagnostics(&relay, &pebble),
                srv.log_text()
            ))
        })?;
    harness::assert_certificate_for(&cert, DOMAIN)?;
    harness::relayed_line(&relay, DOMAIN, harness::loopback(lego_port)).await?;
    Ok(())
}
