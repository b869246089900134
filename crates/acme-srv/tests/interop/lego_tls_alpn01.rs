//! lego obtains a certificate for `alpn-srv.test` with tls-alpn-01, pebble's validation
//! connections reaching lego only through the router and the
//! `_acme-tls-alpn._tcp.alpn-srv.test` SRV record, whose first target (priority 10) is
//! dead: the router must fall over to the second, where lego listens.

use std::time::Duration;

use test_support::programs::pebble::{Pebble, PebbleOptions};
use test_support::programs::{self, lego};
use test_support::recording_target;

use crate::harness;

const DOMAIN: &str = "alpn-srv.test";

#[tokio::test]
async fn lego_gets_a_certificate_through_the_router_after_failover() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("lego")?;

    let dead_port = recording_target::refused_port().await;
    let lego_port = programs::free_tcp_port();
    let (dead_host, live_host) = (format!("dead.{DOMAIN}"), harness::client_host(DOMAIN));
    let dns = test_support::dns_server::TestDns::start(harness::ZONE, 1).await;
    dns.set_a(DOMAIN, &[harness::LOOPBACK], 60).await;
    dns.set_a(&dead_host, &[harness::LOOPBACK], 60).await;
    dns.set_a(&live_host, &[harness::LOOPBACK], 60).await;
    dns.set_srv(
        &harness::tls_owner(DOMAIN),
        &[
            (10, 0, dead_port, &dead_host),
            (20, 0, lego_port, &live_host),
        ],
        60,
    )
    .await;
    let router = harness::start_router(&dns, DOMAIN, &[]).await?;
    let pebble = Pebble::start(PebbleOptions {
        http_port: programs::free_tcp_port(),
        tls_port: router.addr("router").port(),
        dns_server: dns.addr(),
    })
    .await?;

    let cert = lego::obtain_tls_alpn01(&pebble, DOMAIN, lego_port)
        .await
        .map_err(|e| {
            e.context(format!(
                "--- router log ---\n{}\n--- pebble output ---\n{}",
                router.log_text(),
                pebble.output()
            ))
        })?;
    harness::assert_certificate_for(&cert, DOMAIN)?;

    // The router's line for a validation that reached lego's port...
    let line = router
        .wait_for_log(
            &format!("backend={live_host} {}", harness::loopback(lego_port)),
            Duration::from_secs(10),
        )
        .await
        .map_err(|e| e.context(router.log_text()))?;
    anyhow::ensure!(
        line.contains("route=challenge") && line.contains(&format!("sni={DOMAIN} ")),
        "unexpected router line: {line}"
    );
    // ...after the dead first target was tried and passed over.
    let warning = router
        .wait_for_log("target failed, trying the next", Duration::from_secs(5))
        .await
        .map_err(|e| e.context(router.log_text()))?;
    anyhow::ensure!(
        warning.contains(&harness::loopback(dead_port).to_string()),
        "the failover warning is not about the dead target: {warning}"
    );
    Ok(())
}
