//! HTTPS to a real nginx behind the router works unchanged: curl connects to the router
//! with the name `www.router.test`, verifies nginx's certificate for that name, and
//! speaks HTTP/1.1 or h2 as it negotiated with nginx (the router never terminates TLS).
//! With PROXY protocol v2 towards nginx, nginx logs the real client's address (curl
//! connects from 127.0.0.3; the router from 127.0.0.1).

use std::time::Duration;

use anyhow::{Context as _, ensure};
use test_support::programs::nginx::Nginx;
use test_support::programs::{self};
use test_support::tls::{CertificateFiles, write_certificates};
use tokio::process::Command;

use crate::harness;

const NAME: &str = "www.router.test";
/// Where curl connects from in the PROXY protocol test: not the router's address.
const CLIENT_SOURCE: &str = "127.0.0.3";

async fn nginx(certs: &CertificateFiles, proxy_protocol: bool) -> anyhow::Result<Nginx> {
    let (listen, log_format, log) = if proxy_protocol {
        (
            "ssl http2 proxy_protocol",
            "log_format real '$proxy_protocol_addr via $remote_addr \"$request\" $status';",
            "access_log logs/real.log real;",
        )
    } else {
        ("ssl http2", "", "")
    };
    let cert = certs.server_cert.display();
    let key = certs.server_key.display();
    let nginx = Nginx::start(&format!(
        r#"{log_format}
server {{
    listen 127.0.0.1:@PORT@ {listen};
    server_name {NAME};
    ssl_certificate {cert};
    ssl_certificate_key {key};
    {log}
    location / {{ return 200 "hello $ssl_server_name $server_protocol\n"; }}
}}"#
    ))
    .await?;
    Ok(nginx)
}

/// Runs curl against `https://www.router.test:PORT/` through `router`; its output.
async fn curl(
    certs: &CertificateFiles,
    router: std::net::SocketAddr,
    extra: &[&str],
) -> anyhow::Result<String> {
    let curl = programs::require("curl")?;
    let resolve = format!("{NAME}:{}:127.0.0.1", router.port());
    let url = format!("https://{NAME}:{}/", router.port());
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        Command::new(curl)
            .args(["-sS", "--max-time", "15", "--cacert"])
            .arg(&certs.ca_cert)
            .args([
                "--resolve",
                &resolve,
                "-w",
                "%{http_version} verify=%{ssl_verify_result}",
            ])
            .args(extra)
            .arg(&url)
            .output(),
    )
    .await
    .context("curl did not finish in 20 s")??;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "curl {extra:?} failed: {}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(text)
}

#[tokio::test]
async fn curl_reaches_nginx_through_the_router_over_http1_and_h2() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("nginx")?;
    programs::require("curl")?;
    let dir = tempfile::tempdir()?;
    let certs = write_certificates(dir.path(), "acme-srv router test CA", &[NAME])?;
    let nginx = nginx(&certs, false).await?;
    let dns = test_support::dns_server::TestDns::start(harness::ZONE, 1).await;
    let backend = format!("{NAME}={}", nginx.addr());
    let router = harness::start_router(&dns, "*.router.test", &["--backend", &backend]).await?;

    let h1 = curl(&certs, router.addr("router"), &["--http1.1"]).await?;
    ensure!(
        h1 == format!("hello {NAME} HTTP/1.1\n1.1 verify=0"),
        "HTTP/1.1 through the router: {h1:?}\n{}",
        nginx.output()
    );
    let h2 = curl(&certs, router.addr("router"), &["--http2"]).await?;
    ensure!(
        h2 == format!("hello {NAME} HTTP/2.0\n2 verify=0"),
        "h2 through the router: {h2:?}\n{}",
        nginx.output()
    );
    let line = router
        .wait_for_log("route=backend", Duration::from_secs(5))
        .await?;
    ensure!(line.contains(&format!("sni={NAME} ")), "{line}");
    Ok(())
}

#[tokio::test]
async fn with_proxy_protocol_v2_nginx_logs_the_real_client() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("nginx")?;
    programs::require("curl")?;
    let dir = tempfile::tempdir()?;
    let certs = write_certificates(dir.path(), "acme-srv router test CA", &[NAME])?;
    let nginx = nginx(&certs, true).await?;
    let dns = test_support::dns_server::TestDns::start(harness::ZONE, 1).await;
    let backend = format!("{NAME}={}", nginx.addr());
    let router = harness::start_router(
        &dns,
        "*.router.test",
        &["--backend", &backend, "--proxy-protocol", "v2"],
    )
    .await?;

    let answer = curl(
        &certs,
        router.addr("router"),
        &["--http2", "--interface", CLIENT_SOURCE],
    )
    .await?;
    ensure!(
        answer.ends_with("2 verify=0"),
        "{answer:?}\n{}",
        nginx.output()
    );
    let log_path = nginx.prefix().join("logs/real.log");
    // nginx writes the access log line when the request ends, before curl's exit.
    let log = std::fs::read_to_string(&log_path)
        .with_context(|| format!("reading {}\n{}", log_path.display(), nginx.output()))?;
    ensure!(
        log.contains(&format!(
            "{CLIENT_SOURCE} via 127.0.0.1 \"GET / HTTP/2.0\" 200"
        )),
        "nginx's access log does not show the real client {CLIENT_SOURCE}: {log:?}"
    );
    Ok(())
}
