//! Push mode: an operator keeps their own primary (real BIND, real Knot), and acme-srv
//! writes the records it owns there by RFC 2136 UPDATE, signed with TSIG. Records
//! appear on the primary; after the primary loses one (deleted behind acme-srv's back)
//! the periodic reconcile puts it back and reports the drift; a deletion in acme-srv
//! removes exactly its record; records acme-srv does not own, even at the same name,
//! are never touched.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::json;
use test_support::api_client::call_with_token;
use test_support::binary::AcmeSrv;
use test_support::programs::bind::Bind;
use test_support::programs::knot::Knot;
use test_support::programs::{self, dig, nsupdate};

use crate::dns_side::{TOKEN, add_record};
use crate::harness::acme_srv_bin;

const ZONE: &str = "push.test";
const KEY_NAME: &str = "push.push.test";
const KEY_SECRET: &str = "Wm9uZSBwdXNoIHRlc3Qga2V5IGZvciBhY21lLXNydiE=";
const KEY: (&str, &str, &str) = (KEY_NAME, "hmac-sha256", KEY_SECRET);

/// The operator's own zone, with records acme-srv does not own.
fn zone_text() -> String {
    format!(
        "$ORIGIN {ZONE}.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 604800 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\n\
         www IN A 192.0.2.80\n_acme-challenge.www IN TXT \"theirs\"\n"
    )
}

async fn start_acme_srv(dir: &Path, primary: SocketAddr) -> anyhow::Result<AcmeSrv> {
    let config = dir.join("acme-srv.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[dns.zones]]\norigin = \"{ZONE}\"\n\
             push = {{ primary = \"{primary}\", key = \"{KEY_NAME}\", reconcile_every = \"1s\" }}\n\
             [[dns.tsig_keys]]\nname = \"{KEY_NAME}\"\nsecret = \"{KEY_SECRET}\"\n\
             [api]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"{TOKEN}\"\n\
             [store]\nurl = \"sqlite://{}/acme-srv.sqlite\"\n",
            dir.display()
        ),
    )?;
    let config = config.to_string_lossy().into_owned();
    AcmeSrv::start(acme_srv_bin(), &["serve", "--config", &config])
        .await
        .context("starting acme-srv serve")
}

/// Waits until the TXT values at `name` on `server` are exactly `values` (sorted).
async fn wait_for_txt(server: SocketAddr, name: &str, values: &[&str]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut wanted: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
    wanted.sort();
    loop {
        let mut got: Vec<String> = dig::short(server, name, "TXT", &[])
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.trim_matches('"').to_owned())
            .collect();
        got.sort();
        if got == wanted {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{server}: TXT {name} is {got:?}, expected {wanted:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn exercise(primary: SocketAddr, output: impl Fn() -> String) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = start_acme_srv(dir.path(), primary).await?;
    let context = |e: anyhow::Error| {
        e.context(format!(
            "--- acme-srv ---\n{}\n--- primary ---\n{}",
            srv.log_text(),
            output()
        ))
    };
    let ours = format!("_acme-challenge.a.{ZONE}");
    let shared = format!("_acme-challenge.www.{ZONE}");

    // Records written through acme-srv appear on the primary, beside the operator's own.
    add_record(
        &srv,
        json!({"owner": ours, "type": "TXT", "value": "ours-a", "ttl": 60}),
    )
    .await?;
    add_record(
        &srv,
        json!({"owner": shared, "type": "TXT", "value": "ours-www", "ttl": 300}),
    )
    .await?;
    wait_for_txt(primary, &ours, &["ours-a"])
        .await
        .map_err(context)?;
    wait_for_txt(primary, &shared, &["ours-www", "theirs"])
        .await
        .map_err(context)?;

    // The primary loses one behind acme-srv's back: the reconcile puts it back.
    nsupdate::run_ok(
        Some(KEY),
        &format!(
            "server {} {}\nzone {ZONE}\nupdate delete {ours} TXT\nsend\n",
            primary.ip(),
            primary.port()
        ),
    )
    .await?;
    wait_for_txt(primary, &ours, &[]).await.map_err(context)?;
    wait_for_txt(primary, &ours, &["ours-a"])
        .await
        .map_err(context)?;
    srv.wait_for_log("drift", Duration::from_secs(5))
        .await
        .map_err(context)?;

    // Deleting acme-srv's record at the shared name removes exactly that record.
    let deleted = call_with_token(
        srv.addr("api"),
        "DELETE",
        &format!("/v1/records/{shared}/TXT"),
        TOKEN,
        None,
    )
    .await;
    ensure!(
        deleted.status == 204 || deleted.status == 200,
        "DELETE: {deleted:?}"
    );
    wait_for_txt(primary, &shared, &["theirs"])
        .await
        .map_err(context)?;
    let www = dig::short(primary, &format!("www.{ZONE}"), "A", &[]).await?;
    ensure!(
        www == ["192.0.2.80"],
        "the operator's own A record changed: {www:?}"
    );
    Ok(())
}

#[tokio::test]
async fn acme_srv_pushes_its_records_into_a_bind_primary() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    for program in ["named", "nsupdate", "dig"] {
        programs::require(program)?;
    }
    let bind = Bind::start_primary_with_updates(ZONE, &zone_text(), KEY).await?;
    exercise(bind.addr(), || bind.output()).await
}

#[tokio::test]
async fn acme_srv_pushes_its_records_into_a_knot_primary() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    for program in ["knotd", "nsupdate", "dig"] {
        programs::require(program)?;
    }
    let knot = Knot::start_primary_with_updates(ZONE, &zone_text(), KEY).await?;
    exercise(knot.addr(), || knot.output()).await
}
