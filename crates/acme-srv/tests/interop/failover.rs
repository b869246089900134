//! RFC 2782 failover with a real CA and client: the SRV record with the lowest priority
//! points at a port where nothing listens; the relay must try the next record, where lego
//! listens, and lego must get its certificate for `failover.test`.

use test_support::programs::{self, lego};
use test_support::recording_target;

use crate::harness;

const DOMAIN: &str = "failover.test";

#[tokio::test]
async fn lego_gets_a_certificate_when_the_first_target_is_dead() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("lego")?;

    let dead_port = recording_target::refused_port().await;
    let lego_port = programs::free_tcp_port();
    let dead_host = format!("dead.{DOMAIN}");
    let live_host = harness::client_host(DOMAIN);
    let dns = harness::dns_for(
        DOMAIN,
        &[
            (10, 0, dead_port, &dead_host),
            (20, 0, lego_port, &live_host),
        ],
    )
    .await;
    let relay = harness::start_relay(&dns, DOMAIN, &[]).await?;
    let pebble = harness::start_pebble(&dns, relay.addr("http").port()).await?;

    let cert = lego::obtain_http01(&pebble, DOMAIN, lego_port)
        .await
        .map_err(|e| e.context(harness::diagnostics(&relay, &pebble)))?;

    harness::assert_certificate_for(&cert, DOMAIN)?;
    harness::relayed_line(&relay, DOMAIN, harness::loopback(lego_port)).await?;
    let warning = relay
        .wait_for_log(
            "target failed, trying the next",
            std::time::Duration::from_secs(5),
        )
        .await?;
    anyhow::ensure!(
        warning.contains(&format!("address={}", harness::loopback(dead_port))),
        "the failover warning is not about the dead target 127.0.0.1:{dead_port}: {warning}"
    );
    harness::assert_srv_asked(&dns, DOMAIN)?;
    Ok(())
}
