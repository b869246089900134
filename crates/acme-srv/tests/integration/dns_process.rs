//! `acme-srv dns` and `acme-srv serve` as processes: listeners read back, records set
//! through the API (and the `records`/`keys` CLI) served over DNS, durability across
//! SIGKILL.

use std::path::Path;
use std::time::Duration;

use test_support::api_client::{Answer, call_with_token};
use test_support::binary::{AcmeSrv, run_to_end};
use test_support::programs::dig;

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");
const TOKEN: &str = "integration-admin-token";

/// A config for zone `dns.test` with the API, storing in `dir`.
fn write_config(dir: &Path) -> String {
    let path = dir.join("acme-srv.toml");
    let text = format!(
        "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[dns.zones]]\norigin = \"dns.test\"\nrecords = [\"ns1 300 IN A 127.0.0.1\"]\nsoa = {{ minimum = 5 }}\n\
         [api]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"{TOKEN}\"\nacme_dns_zone = \"auth.dns.test\"\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n\
         [store]\nurl = \"sqlite://{}/store/acme-srv.sqlite\"\n",
        dir.display()
    );
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Polls `dig +short` until it gives `expected`, sorted (the snapshot follows the store a few
/// milliseconds after the API answered), within 5 s.
async fn wait_for_answer(srv: &AcmeSrv, name: &str, record_type: &str, expected: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut got = dig::short(srv.addr("dns-udp"), name, record_type, &[])
            .await
            .unwrap();
        got.sort();
        if got == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} {record_type}: {got:?}, expected {expected:?}\n{}",
            srv.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn start_serve(config: &str) -> AcmeSrv {
    AcmeSrv::start(BIN, &["serve", "--config", config])
        .await
        .unwrap()
}

async fn put_srv(srv: &AcmeSrv, owner: &str, port: u16) -> Answer {
    let body = format!(
        r#"{{"ttl":60,"records":[{{"type":"SRV","priority":10,"weight":5,"port":{port},"target":"client.dns.test"}}]}}"#
    );
    call_with_token(
        srv.addr("api"),
        "PUT",
        &format!("/v1/records/{owner}/SRV"),
        TOKEN,
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn serve_reports_every_listener_and_serves_what_the_api_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let srv = start_serve(&config).await;
    for kind in ["dns-udp", "dns-tcp", "api", "admin"] {
        assert_eq!(srv.addrs(kind).len(), 1, "{kind}: {}", srv.log_text());
    }
    assert_eq!(srv.addr("dns-udp").port(), srv.addr("dns-tcp").port());
    assert!(srv.addrs("http").is_empty(), "no [relay] table, no relay");

    let answer = put_srv(&srv, "_acme-challenge._tcp.www.dns.test", 8080).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    wait_for_answer(
        &srv,
        "_acme-challenge._tcp.www.dns.test",
        "SRV",
        &["10 5 8080 client.dns.test."],
    )
    .await;
    let over_tcp = dig::short(
        srv.addr("dns-udp"),
        "_acme-challenge._tcp.www.dns.test",
        "SRV",
        &["+tcp"],
    )
    .await
    .unwrap();
    assert_eq!(over_tcp, ["10 5 8080 client.dns.test."]);
}

#[tokio::test]
async fn an_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let srv = start_serve(&config).await;
    let answer = put_srv(&srv, "_acme-challenge._tcp.durable.dns.test", 9443).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    // Killed at once after the acknowledgement: no graceful shutdown, no flush.
    drop(srv);

    let again = start_serve(&config).await;
    let got = dig::short(
        again.addr("dns-udp"),
        "_acme-challenge._tcp.durable.dns.test",
        "SRV",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(got, ["10 5 9443 client.dns.test."], "{}", again.log_text());
}

#[tokio::test]
async fn the_records_and_keys_commands_drive_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let srv = start_serve(&config).await;
    let api = format!("http://{}", srv.addr("api"));
    let cli = |args: &[&str]| {
        let mut all = vec![args[0], "--api", &api, "--token", TOKEN];
        all.extend_from_slice(&args[1..]);
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_to_end(BIN, &refs).await.unwrap()
    };

    let (ok, out) = run(cli(&[
        "records",
        "set-srv",
        "_acme-challenge._tcp.cli.dns.test",
        "--target",
        "client.dns.test",
        "--port",
        "8081",
    ]))
    .await;
    assert!(ok, "{out}");
    let (ok, out) = run(cli(&[
        "records",
        "set-txt",
        "_acme-challenge.cli.dns.test",
        "token-one",
        "token-two",
    ]))
    .await;
    assert!(ok, "{out}");
    let (ok, out) = run(cli(&["records", "list", "--under", "cli.dns.test"])).await;
    assert!(
        ok && out.contains("8081") && out.contains("token-two"),
        "{out}"
    );
    wait_for_answer(
        &srv,
        "_acme-challenge.cli.dns.test",
        "TXT",
        &["\"token-one\"", "\"token-two\""],
    )
    .await;

    // A key scoped to another name cannot change this one.
    let (ok, out) = run(cli(&[
        "keys",
        "create",
        "--subtree",
        "other.dns.test",
        "--description",
        "other",
    ]))
    .await;
    assert!(ok, "{out}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let key = created["token"].as_str().unwrap().to_owned();
    let (ok, out) = run_to_end(
        BIN,
        &[
            "records",
            "--api",
            &api,
            "--token",
            &key,
            "rm",
            "_acme-challenge.cli.dns.test",
        ],
    )
    .await
    .unwrap();
    assert!(!ok && out.contains("403"), "{out}");
    let (ok, out) = run(cli(&["keys", "list"])).await;
    assert!(
        ok && out.contains("other") && !out.contains(&key),
        "secrets never listed: {out}"
    );
    let id = created["id"].as_str().unwrap();
    let (ok, out) = run(cli(&["keys", "revoke", id])).await;
    assert!(ok, "{out}");

    let (ok, out) = run(cli(&[
        "records",
        "rm",
        "_acme-challenge.cli.dns.test",
        "--type",
        "TXT",
    ]))
    .await;
    assert!(ok, "{out}");
    wait_for_answer(&srv, "_acme-challenge.cli.dns.test", "TXT", &[]).await;
}
