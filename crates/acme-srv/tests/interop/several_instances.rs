//! Several `acme-srv serve` instances on one PostgreSQL database (issue 13): a write
//! through either instance's API is answered by the other's DNS; the database stopped
//! mid-traffic leaves DNS answering and writes refused with 503, then both take writes
//! again without a restart; SIGKILL loses no acknowledged write; instances started at
//! once migrate an empty database once.
//!
//! The database is a throwaway one on the test run's PostgreSQL cluster
//! (`test_support::programs::postgres`; `tests/run` starts it), or a cluster of the
//! test's own where the test stops the server.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use serde_json::json;
use test_support::api_client::call_with_token;
use test_support::binary::AcmeSrv;
use test_support::programs::dig;
use test_support::programs::postgres::{Cluster, test_database};

use crate::harness::acme_srv_bin;

const ZONE: &str = "multi.test";
const TOKEN: &str = "several-instances-admin-token";

/// Starts `acme-srv serve` with DNS for [`ZONE`] and the API, storing in `url`.
async fn instance(dir: &std::path::Path, name: &str, url: &str) -> anyhow::Result<AcmeSrv> {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[dns.zones]]\norigin = \"{ZONE}\"\n\
             records = [\"ns1 300 IN A 127.0.0.1\"]\nsoa = {{ minimum = 1, ttl = 5 }}\n\
             [api]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"{TOKEN}\"\n\
             [store]\nurl = \"{url}\"\n"
        ),
    )?;
    let config = config.to_string_lossy().into_owned();
    AcmeSrv::start(acme_srv_bin(), &["serve", "--config", &config])
        .await
        .with_context(|| format!("starting instance {name}"))
}

/// `POST /v1/records` of a TXT record at `owner`; the status and body.
async fn write_txt(srv: &AcmeSrv, owner: &str, value: &str) -> (u16, String) {
    write_txt_at(srv.addr("api"), owner, value).await
}

/// [`write_txt`] to the API at `api`.
async fn write_txt_at(api: std::net::SocketAddr, owner: &str, value: &str) -> (u16, String) {
    let record = json!({"owner": owner, "ttl": 5, "type": "TXT", "value": value});
    let answer =
        call_with_token(api, "POST", "/v1/records", TOKEN, Some(&record.to_string())).await;
    (answer.status, answer.body.clone())
}

/// A write that may be cut off by the process dying: the status, or `None` when no
/// complete answer came back.
async fn try_write_txt(api: std::net::SocketAddr, owner: &str, value: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let body = json!({"owner": owner, "ttl": 5, "type": "TXT", "value": value}).to_string();
    let mut stream = tokio::net::TcpStream::connect(api).await.ok()?;
    let request = format!(
        "POST /v1/records HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// The TXT values `srv`'s DNS server answers for `owner`.
async fn txt(srv: &AcmeSrv, owner: &str) -> Vec<String> {
    dig::short(srv.addr("dns-udp"), owner, "TXT", &[])
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.trim_matches('"').to_owned())
        .collect()
}

/// Waits (at most `within`) until `srv` answers `value` for `owner`; how long it took.
async fn until_answered(
    srv: &AcmeSrv,
    owner: &str,
    value: &str,
    within: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        if txt(srv, owner).await.iter().any(|v| v == value) {
            return Ok(started.elapsed());
        }
        ensure!(
            started.elapsed() < within,
            "{owner} TXT {value:?} not answered within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_write_through_either_instance_is_answered_by_the_other() -> anyhow::Result<()> {
    let Some(db) = test_database().await? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let a = instance(dir.path(), "a", db.url()).await?;
    let b = instance(dir.path(), "b", db.url()).await?;
    for (from, to, owner) in [
        (&a, &b, "_acme-challenge.one.multi.test"),
        (&b, &a, "_acme-challenge.two.multi.test"),
    ] {
        let (status, body) = write_txt(from, owner, "token-value").await;
        ensure!(status == 201, "write: {status} {body}");
        let delay = until_answered(to, owner, "token-value", Duration::from_secs(10)).await?;
        println!("several instances: written through one, answered by the other after {delay:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_database_stopped_mid_traffic_then_back() -> anyhow::Result<()> {
    if test_support::programs::interop_opted_out() {
        return Ok(());
    }
    let cluster = tokio::task::spawn_blocking(Cluster::start).await??;
    let db = cluster.create_database()?;
    let dir = tempfile::tempdir()?;
    let a = instance(dir.path(), "a", db.url()).await?;
    let b = instance(dir.path(), "b", db.url()).await?;
    let before = "_acme-challenge.before.multi.test";
    let (status, body) = write_txt(&a, before, "v1").await;
    ensure!(status == 201, "write: {status} {body}");
    until_answered(&b, before, "v1", Duration::from_secs(10)).await?;

    let cluster = tokio::task::spawn_blocking(move || cluster.stop().map(|()| cluster)).await??;
    // DNS keeps answering from the last snapshot on both.
    for srv in [&a, &b] {
        ensure!(
            txt(srv, before).await == ["v1"],
            "DNS lost {before} with the database down"
        );
    }
    // Writes are refused with 503, naming the cause.
    let (status, body) = write_txt(&a, "_acme-challenge.down.multi.test", "v2").await;
    ensure!(
        status == 503,
        "a write with the database down: {status} {body}"
    );
    ensure!(body.contains("database is unreachable"), "{body}");

    let cluster =
        tokio::task::spawn_blocking(move || cluster.start_again().map(|()| cluster)).await??;
    // Both take writes again without a restart, and converge.
    let deadline = Instant::now() + Duration::from_secs(30);
    for (srv, owner) in [
        (&a, "_acme-challenge.after-a.multi.test"),
        (&b, "_acme-challenge.after-b.multi.test"),
    ] {
        loop {
            let (status, body) = write_txt(srv, owner, "v3").await;
            if status == 201 {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "no write accepted after the database came back: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for srv in [&a, &b] {
        for owner in [
            "_acme-challenge.after-a.multi.test",
            "_acme-challenge.after-b.multi.test",
        ] {
            until_answered(srv, owner, "v3", Duration::from_secs(15)).await?;
        }
    }
    drop(cluster);
    Ok(())
}

#[tokio::test]
async fn sigkill_loses_no_acknowledged_write() -> anyhow::Result<()> {
    let Some(db) = test_database().await? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let mut a = instance(dir.path(), "a", db.url()).await?;
    let b = instance(dir.path(), "b", db.url()).await?;
    // A stream of writes to A; A is killed after the 25th acknowledgement, while the
    // 26th may be in flight.
    let mut acknowledged = Vec::new();
    for i in 0..25 {
        let owner = format!("_acme-challenge.w{i}.multi.test");
        let (status, body) = write_txt(&a, &owner, "kept").await;
        ensure!(status == 201, "write {i}: {status} {body}");
        acknowledged.push(owner);
    }
    let in_flight = try_write_txt(a.addr("api"), "_acme-challenge.last.multi.test", "maybe");
    let kill = a.kill();
    let (status, killed) = tokio::join!(in_flight, kill);
    killed?;
    if status == Some(201) {
        acknowledged.push("_acme-challenge.last.multi.test".into());
    }
    // Every acknowledged write is in the database: B's API lists it and B's DNS answers it.
    let listed = call_with_token(b.addr("api"), "GET", "/v1/records", TOKEN, None).await;
    ensure!(listed.status == 200, "list: {listed:?}");
    for owner in &acknowledged {
        ensure!(
            listed.body.contains(owner.as_str()),
            "{owner} lost after SIGKILL"
        );
        until_answered(
            &b,
            owner,
            if owner.contains("last") {
                "maybe"
            } else {
                "kept"
            },
            Duration::from_secs(10),
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn three_instances_started_at_once_migrate_an_empty_database_once() -> anyhow::Result<()> {
    let Some(db) = test_database().await? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let (a, b, c) = tokio::join!(
        instance(dir.path(), "a", db.url()),
        instance(dir.path(), "b", db.url()),
        instance(dir.path(), "c", db.url()),
    );
    let (a, _b, c) = (a?, b?, c?);
    let psql = test_support::programs::require("psql")?;
    let out = tokio::process::Command::new(psql)
        .args([
            "--no-psqlrc",
            "--tuples-only",
            "--no-align",
            "--dbname",
            db.url(),
            "--command",
        ])
        .arg(
            "SELECT count(*) || ' ' || count(DISTINCT version) FROM _sqlx_migrations WHERE success",
        )
        .output()
        .await?;
    ensure!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../record-store/migrations/postgres"
    ))?
    .filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
    })
    .count();
    ensure!(
        counts == format!("{files} {files}"),
        "migrations applied: {counts}, files: {files}"
    );
    // And the three work on the one schema.
    let (status, body) = write_txt(&a, "_acme-challenge.three.multi.test", "ok").await;
    ensure!(status == 201, "{status} {body}");
    until_answered(
        &c,
        "_acme-challenge.three.multi.test",
        "ok",
        Duration::from_secs(10),
    )
    .await?;
    Ok(())
}
