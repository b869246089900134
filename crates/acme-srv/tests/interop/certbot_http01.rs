//! certbot (standalone) obtains a certificate for `certbot-srv.test` with http-01,
//! pebble's validation requests reaching certbot only through the relay and the SRV
//! record.

use test_support::programs::{self, certbot};

use crate::harness;

const DOMAIN: &str = "certbot-srv.test";

#[tokio::test]
async fn certbot_gets_a_certificate_through_the_relay() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("certbot")?;

    let certbot_port = programs::free_tcp_port();
    let target = harness::client_host(DOMAIN);
    let dns = harness::dns_for(DOMAIN, &[(10, 0, certbot_port, &target)]).await;
    let relay = harness::start_relay(&dns, DOMAIN, &[]).await?;
    let pebble = harness::start_pebble(&dns, relay.addr("http").port()).await?;

    let cert = certbot::obtain_http01(&pebble, DOMAIN, certbot_port)
        .await
        .map_err(|e| e.context(harness::diagnostics(&relay, &pebble)))?;

    harness::assert_certificate_for(&cert, DOMAIN)?;
    harness::relayed_line(&relay, DOMAIN, harness::loopback(certbot_port)).await?;
    harness::assert_srv_asked(&dns, DOMAIN)?;
    Ok(())
}
