//! The shipped HAProxy snippet (`deploy/haproxy/acme-srv.cfg`) in front of the relay:
//! HAProxy's frontend owns the port pebble validates on and sends the challenge path to
//! the relay's backend, and the relay trusts HAProxy's `X-Forwarded-For`
//! (`relay.trusted_proxies`). lego gets a certificate for `haproxy-front.test`.
//!
//! The snippet is pasted as its comment says, right below the frontend's `bind` line,
//! with only the relay's address (`127.0.0.1:8080` in the file) replaced by the test
//! relay's. The `defaults` section adds `source 127.0.0.2`, so the relay's TCP peer
//! (HAProxy, 127.0.0.2) differs from the CA's address (127.0.0.1): `client=127.0.0.1` in
//! the relay's log proves that it believed HAProxy's `X-Forwarded-For`.

use test_support::programs::{self, lego};

use crate::harness::{self, Haproxy};

const DOMAIN: &str = "haproxy-front.test";

#[tokio::test]
async fn lego_gets_a_certificate_through_haproxy_and_the_relay() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("lego")?;
    programs::require("haproxy")?;

    let lego_port = programs::free_tcp_port();
    let (dns, relay, _config_dir) = harness::relay_behind_proxy(DOMAIN, lego_port).await?;
    let snippet = harness::shipped_snippet("deploy/haproxy/acme-srv.cfg", &relay)?;
    let config = format!(
        "global\n\
         \x20   maxconn 256\n\
         \n\
         defaults\n\
         \x20   mode http\n\
         \x20   timeout connect 3s\n\
         \x20   timeout client 30s\n\
         \x20   timeout server 30s\n\
         \x20   source {}\n\
         \n\
         frontend port80\n\
         \x20   bind 127.0.0.1:{}\n\
         {snippet}",
        harness::PROXY_SOURCE,
        harness::PORT_PLACEHOLDER
    );
    let haproxy = Haproxy::start(&config).await?;
    let pebble = harness::start_pebble(&dns, haproxy.addr().port()).await?;

    let cert = lego::obtain_http01(&pebble, DOMAIN, lego_port)
        .await
        .map_err(|e| {
            e.context(format!(
                "{}\n{}",
                harness::diagnostics(&relay, &pebble),
                haproxy.output()
            ))
        })?;

    harness::assert_certificate_for(&cert, DOMAIN)?;
    let line = harness::relayed_line(&relay, DOMAIN, harness::loopback(lego_port)).await?;
    anyhow::ensure!(
        line.contains(&format!("client={} ", harness::LOOPBACK)),
        "the relay did not take the CA's address from HAProxy's X-Forwarded-For: {line}"
    );
    harness::assert_srv_asked(&dns, DOMAIN)?;
    Ok(())
}
