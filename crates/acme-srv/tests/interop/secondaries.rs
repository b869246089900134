//! Real BIND and Knot as secondaries of acme-srv: they transfer the zone (TSIG-signed),
//! are told of every change by NOTIFY, fetch it by IXFR, and answer a write made through
//! the API within a fraction of a second. On a 100,000-record zone a one-record change
//! travels as a few hundred bytes. And `dig` as a client: an unsigned transfer from a
//! network not allowed, a wrong MAC and an unknown key are refused as RFC 8945 says.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::json;
use test_support::binary::AcmeSrv;
use test_support::programs::bind::Bind;
use test_support::programs::knot::Knot;
use test_support::programs::{self, dig};

use crate::dns_side::{TOKEN, ZONE, add_record};
use crate::harness::acme_srv_bin;

/// The transfer key both secondaries use (32 bytes, base64).
const KEY_NAME: &str = "xfr.acme.test";
const KEY_SECRET: &str = "n3bMDYdAcFfnOsNUt0S5Tk3rJYJXIqqQ6bKQkQkS8Qc=";
const KEY: (&str, &str, &str) = (KEY_NAME, "hmac-sha256", KEY_SECRET);

/// Starts `acme-srv serve` for [`ZONE`] with the API, transfers allowed with the key
/// only, and NOTIFY (signed) to `notify`; `zone_file` adds static records.
async fn start_primary(
    dir: &Path,
    notify: &[SocketAddr],
    zone_file: Option<&Path>,
) -> anyhow::Result<AcmeSrv> {
    let notify: Vec<String> = notify.iter().map(|a| format!("\"{a}\"")).collect();
    let zone_file = zone_file.map_or(String::new(), |f| {
        format!("zone_file = \"{}\"\n", f.display())
    });
    let config = dir.join("acme-srv.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[dns.zones]]\norigin = \"{ZONE}\"\n{zone_file}\
             records = [\"ns1 300 IN A 127.0.0.1\"]\nsoa = {{ minimum = 1, ttl = 5, refresh = 3600 }}\n\
             [dns.transfers]\nallow_keys = [\"{KEY_NAME}\"]\nnotify = [{}]\nnotify_key = \"{KEY_NAME}\"\n\
             [[dns.tsig_keys]]\nname = \"{KEY_NAME}\"\nsecret = \"{KEY_SECRET}\"\n\
             [api]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"{TOKEN}\"\n\
             [store]\nurl = \"sqlite://{}/acme-srv.sqlite\"\n",
            notify.join(", "),
            dir.display()
        ),
    )?;
    let config = config.to_string_lossy().into_owned();
    AcmeSrv::start(acme_srv_bin(), &["serve", "--config", &config])
        .await
        .context("starting acme-srv serve")
}

/// The serial `server` gives for the zone, if it answers.
async fn serial(server: SocketAddr) -> Option<u32> {
    let answer = dig::short(server, ZONE, "SOA", &[]).await.ok()?;
    answer.first()?.split_whitespace().nth(2)?.parse().ok()
}

/// Waits (up to `within`) until `server` serves `serial` or a later one.
async fn wait_for_serial(server: SocketAddr, wanted: u32, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if serial(server)
            .await
            .is_some_and(|s| !dns_server::serial_before(s, wanted))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{server} did not reach serial {wanted} within {within:?} (it has {:?})",
                serial(server).await
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `server` answers `value` for TXT `name`; how long that took.
async fn wait_for_txt(
    server: SocketAddr,
    name: &str,
    value: &str,
    within: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let answer = dig::short(server, name, "TXT", &[])
            .await
            .unwrap_or_default();
        if answer.iter().any(|line| line.trim_matches('"') == value) {
            return Ok(started.elapsed());
        }
        if started.elapsed() > within {
            bail!("{server} did not answer TXT {name} = {value:?} within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn require_programs() -> anyhow::Result<bool> {
    if programs::interop_opted_out() {
        return Ok(false);
    }
    programs::require("named")?;
    programs::require("knotd")?;
    programs::require("dig")?;
    Ok(true)
}

#[tokio::test]
async fn bind_and_knot_secondaries_follow_every_write() -> anyhow::Result<()> {
    if !require_programs()? {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let (bind_port, knot_port) = (programs::free_tcp_port(), programs::free_tcp_port());
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let primary = start_primary(dir.path(), &[local(bind_port), local(knot_port)], None).await?;
    let primary_dns = primary.addr("dns-udp");
    let bind = Bind::start_secondary(ZONE, bind_port, primary_dns, Some(KEY)).await?;
    let knot = Knot::start_secondary(ZONE, knot_port, primary_dns, Some(KEY)).await?;
    let first = serial(primary_dns).await.context("the primary's serial")?;
    let context = |e: anyhow::Error| {
        e.context(format!(
            "--- acme-srv ---\n{}\n--- bind ---\n{}\n--- knot ---\n{}",
            primary.log_text(),
            bind.output(),
            knot.output()
        ))
    };
    for server in [bind.addr(), knot.addr()] {
        wait_for_serial(server, first, Duration::from_secs(20))
            .await
            .map_err(context)?;
    }

    // Three writes through the API; each is answered by both secondaries.
    for round in 0..3 {
        let value = format!("token-{round}");
        let owner = format!("_acme-challenge.w{round}.{ZONE}");
        let written = Instant::now();
        add_record(
            &primary,
            json!({"owner": owner, "type": "TXT", "value": value, "ttl": 60}),
        )
        .await?;
        let (to_bind, to_knot) = tokio::join!(
            wait_for_txt(bind.addr(), &owner, &value, Duration::from_secs(10)),
            wait_for_txt(knot.addr(), &owner, &value, Duration::from_secs(10)),
        );
        let (to_bind, to_knot) = (to_bind.map_err(context)?, to_knot.map_err(context)?);
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "write {round} to answer: bind {} ms, knot {} ms (API write acknowledged in {} ms)",
                to_bind.as_millis(),
                to_knot.as_millis(),
                (written.elapsed() - to_bind.max(to_knot)).as_millis()
            );
        }
        ensure!(to_bind < Duration::from_secs(5) && to_knot < Duration::from_secs(5));
    }
    // They were told (NOTIFY) and fetched the changes by IXFR, signed.
    let log = primary.log_text();
    ensure!(log.matches("NOTIFY acknowledged").count() >= 6, "{log}");
    ensure!(
        log.contains("kind=ixfr-incremental"),
        "no incremental transfer: {log}"
    );
    Ok(())
}

#[tokio::test]
async fn one_change_in_a_100k_record_zone_goes_by_ixfr() -> anyhow::Result<()> {
    if !require_programs()? {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let zone_file = dir.path().join("big.zone");
    let mut text = String::with_capacity(100_000 * 40);
    text.push_str(&format!(
        "$ORIGIN {ZONE}.\n@ 3600 IN SOA ns1 hostmaster 1 3600 600 604800 1\n@ 3600 IN NS ns1\n"
    ));
    for i in 0..100_000u32 {
        let [_, b, c, d] = i.to_be_bytes();
        text.push_str(&format!("host{i} 300 IN A 10.{b}.{c}.{d}\n"));
    }
    std::fs::write(&zone_file, text)?;
    let knot_port = programs::free_tcp_port();
    let primary = start_primary(
        dir.path(),
        &[SocketAddr::from(([127, 0, 0, 1], knot_port))],
        Some(&zone_file),
    )
    .await?;
    let primary_dns = primary.addr("dns-udp");
    let knot = Knot::start_secondary(ZONE, knot_port, primary_dns, Some(KEY)).await?;
    let first = serial(primary_dns).await.context("the primary's serial")?;
    let context = |e: anyhow::Error| {
        e.context(format!(
            "--- acme-srv ---\n{}\n--- knot ---\n{}",
            primary.log_text(),
            knot.output()
        ))
    };
    wait_for_serial(knot.addr(), first, Duration::from_secs(60))
        .await
        .map_err(context)?;

    add_record(&primary, json!({"owner": format!("_acme-challenge.big.{ZONE}"), "type": "TXT", "value": "one-change", "ttl": 60})).await?;
    wait_for_txt(
        knot.addr(),
        &format!("_acme-challenge.big.{ZONE}"),
        "one-change",
        Duration::from_secs(10),
    )
    .await
    .map_err(context)?;
    let line = primary
        .wait_for_log("kind=ixfr-incremental", Duration::from_secs(5))
        .await
        .map_err(context)?;
    let full = primary
        .log_lines()
        .into_iter()
        .find(|l| {
            l.contains("zone transfer") && (l.contains("kind=axfr") || l.contains("kind=ixfr-full"))
        })
        .context("the first, full transfer")?;
    let bytes = |line: &str| -> anyhow::Result<u64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("bytes="))
            .context("no bytes= in the line")?
            .parse()
            .context("bytes")
    };
    let (incremental, whole) = (bytes(&line)?, bytes(&full)?);
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "100,000-record zone: full transfer {whole} bytes, one-record IXFR {incremental} bytes"
        );
    }
    ensure!(whole > 1_000_000, "{full}");
    ensure!(incremental < 2_000, "{line}");
    Ok(())
}

#[tokio::test]
async fn transfers_are_refused_without_a_valid_key() -> anyhow::Result<()> {
    if !require_programs()? {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let primary = start_primary(dir.path(), &[], None).await?;
    let server = primary.addr("dns-udp");
    let axfr = |extra: Vec<String>| async move {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        dig::run(server, ZONE, "AXFR", &extra)
            .await
            .unwrap_or_else(|e| e.to_string())
    };
    let signed = axfr(vec![
        "-y".into(),
        format!("hmac-sha256:{KEY_NAME}:{KEY_SECRET}"),
    ])
    .await;
    ensure!(
        signed.contains("XFR size:") && !signed.contains("failed"),
        "{signed}"
    );
    let unsigned = axfr(vec![]).await;
    ensure!(unsigned.contains("Transfer failed"), "unsigned: {unsigned}");
    let wrong = axfr(vec![
        "-y".into(),
        format!("hmac-sha256:{KEY_NAME}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ])
    .await;
    ensure!(wrong.contains("BADSIG"), "wrong secret: {wrong}");
    let unknown = axfr(vec![
        "-y".into(),
        format!("hmac-sha256:other.acme.test:{KEY_SECRET}"),
    ])
    .await;
    ensure!(unknown.contains("BADKEY"), "unknown key: {unknown}");
    let log = primary.log_text();
    ensure!(
        log.contains("not an allowed network or key")
            && log.contains("BADSIG")
            && log.contains("BADKEY"),
        "{log}"
    );
    Ok(())
}
