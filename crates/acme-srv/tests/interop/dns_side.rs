//! Helpers for the DNS-side interop tests: `acme-srv serve` with DNS and the API for
//! zone `acme.test`, and calls to its API.

use std::path::Path;

use anyhow::{Context as _, ensure};
use serde_json::Value;
use test_support::api_client::call_with_token;
use test_support::binary::AcmeSrv;

use crate::harness::acme_srv_bin;

/// The zone acme-srv serves in these tests.
pub const ZONE: &str = "acme.test";
/// The admin token of the test servers.
pub const TOKEN: &str = "interop-admin-token";

/// Starts `acme-srv serve` with DNS (zone [`ZONE`], acme-dns registrations under
/// `auth.acme.test`) and the API, storing in `dir`.
pub async fn start_dns_and_api(dir: &Path) -> anyhow::Result<AcmeSrv> {
    let config = dir.join("acme-srv.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[dns.zones]]\norigin = \"{ZONE}\"\nrecords = [\"ns1 300 IN A 127.0.0.1\"]\nsoa = {{ minimum = 1, ttl = 5 }}\n\
             [api]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"{TOKEN}\"\nacme_dns_zone = \"auth.{ZONE}\"\n\
             [store]\nurl = \"sqlite://{}/acme-srv.sqlite\"\n",
            dir.display()
        ),
    )?;
    let config = config.to_string_lossy().into_owned();
    AcmeSrv::start(acme_srv_bin(), &["serve", "--config", &config])
        .await
        .context("starting acme-srv serve")
}

/// `POST /v1/records` with the admin token; the stored record.
pub async fn add_record(srv: &AcmeSrv, record: Value) -> anyhow::Result<Value> {
    let answer = call_with_token(
        srv.addr("api"),
        "POST",
        "/v1/records",
        TOKEN,
        Some(&record.to_string()),
    )
    .await;
    ensure!(
        answer.status == 201,
        "POST /v1/records {record}: {answer:?}"
    );
    Ok(answer.json())
}

/// Runs the `acme-srv` CLI with `args`; fails with its output unless it succeeds.
pub async fn cli(args: &[&str]) -> anyhow::Result<String> {
    let (ok, out) = test_support::binary::run_to_end(acme_srv_bin(), args).await?;
    ensure!(ok, "acme-srv {args:?} failed:\n{out}");
    Ok(out)
}
