//! The shipped nginx snippet (`deploy/nginx/acme-srv.conf`) in front of the relay: nginx
//! owns the port pebble validates on and hands the challenge path to the relay, which
//! trusts nginx's `X-Forwarded-For` (`relay.trusted_proxies`). lego gets a certificate
//! for `nginx-front.test`.
//!
//! The snippet is used as shipped, with only the relay's address (`127.0.0.1:8080` in
//! the file) replaced by the test relay's. The server block around it adds
//! `proxy_bind 127.0.0.2`, so the relay's TCP peer (nginx, 127.0.0.2) differs from the
//! CA's address (127.0.0.1): `client=127.0.0.1` in the relay's log proves that it
//! believed nginx's `X-Forwarded-For`.

use test_support::programs::nginx::Nginx;
use test_support::programs::{self, lego};

use crate::harness;

const DOMAIN: &str = "nginx-front.test";

#[tokio::test]
async fn lego_gets_a_certificate_through_nginx_and_the_relay() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("lego")?;
    programs::require("nginx")?;

    let lego_port = programs::free_tcp_port();
    let (dns, relay, _config_dir) = harness::relay_behind_proxy(DOMAIN, lego_port).await?;
    let snippet = harness::shipped_snippet("deploy/nginx/acme-srv.conf", &relay)?;
    let server_block = format!(
        "server {{\n\
         listen 127.0.0.1:@PORT@;\n\
         server_name {DOMAIN};\n\
         proxy_bind {};\n\
         {snippet}\n\
         location / {{ return 404; }}\n\
         }}\n",
        harness::PROXY_SOURCE
    );
    let nginx = Nginx::start(&server_block).await?;
    let pebble = harness::start_pebble(&dns, nginx.port()).await?;

    let cert = lego::obtain_http01(&pebble, DOMAIN, lego_port)
        .await
        .map_err(|e| {
            e.context(format!(
                "{}\n{}",
                harness::diagnostics(&relay, &pebble),
                nginx.output()
            ))
        })?;

    harness::assert_certificate_for(&cert, DOMAIN)?;
    let line = harness::relayed_line(&relay, DOMAIN, harness::loopback(lego_port)).await?;
    anyhow::ensure!(
        line.contains(&format!("client={} ", harness::LOOPBACK)),
        "the relay did not take the CA's address from nginx's X-Forwarded-For: {line}"
    );
    harness::assert_srv_asked(&dns, DOMAIN)?;
    Ok(())
}
