//! An unmodified acme-dns client obtains a certificate with dns-01 against acme-srv's
//! acme-dns-compatible API, pebble reading the TXT record from acme-srv's DNS server.
//!
//! The client is certbot with the `certbot-dns-acmedns` plugin (PyPI). lego's own
//! `acme-dns` provider would be the first choice, but Debian builds lego without it (its
//! Go dependency is not packaged: "unrecognized DNS provider: acme-dns"); both use the
//! same acme-dns API calls and the same registration-file format.

use serde_json::json;
use test_support::api_client::call;
use test_support::programs::pebble::{Pebble, PebbleOptions};
use test_support::programs::{self, certbot};

use crate::{dns_side, harness};

const DOMAIN: &str = "dns01.acme.test";

#[tokio::test]
async fn an_acme_dns_client_gets_a_certificate() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("certbot")?;
    let dir = tempfile::tempdir()?;
    let srv = dns_side::start_dns_and_api(dir.path()).await?;
    let api = srv.addr("api");

    // Register like an acme-dns client, then point the domain's _acme-challenge at the
    // registration's name, as the acme-dns instructions say.
    let registered = call(api, "POST", "/register", &[], Some("{}")).await;
    anyhow::ensure!(registered.status == 201, "register: {registered:?}");
    let account = registered.json();
    let fulldomain = account["fulldomain"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    dns_side::add_record(&srv, json!({"owner": format!("_acme-challenge.{DOMAIN}"), "ttl": 5, "type": "CNAME", "target": fulldomain})).await?;

    // The client reads the account from its registration file, keyed by domain.
    let storage = dir.path().join("acme-dns-registrations.json");
    std::fs::write(&storage, json!({ DOMAIN: account }).to_string())?;

    let dns = srv.addr("dns-udp");
    let pebble = Pebble::start(PebbleOptions {
        http_port: programs::free_tcp_port(),
        tls_port: programs::free_tcp_port(),
        dns_server: dns,
    })
    .await?;
    let cert = certbot::obtain_dns01_acme_dns(&pebble, DOMAIN, &format!("http://{api}"), &storage)
        .await
        .map_err(|e| {
            e.context(format!(
                "--- acme-srv log ---\n{}\n--- pebble ---\n{}",
                srv.log_text(),
                pebble.output()
            ))
        })?;
    harness::assert_certificate_for(&cert, DOMAIN)?;

    // The TXT the client set through /update is what acme-srv serves at the registration's name.
    let txt = programs::dig::short(dns, &fulldomain, "TXT", &[]).await?;
    anyhow::ensure!(
        txt.len() == 1 && txt[0].len() == 45,
        "one 43-character TXT value expected at {fulldomain}: {txt:?}"
    );
    Ok(())
}
