//! `acme-srv check` as a process against a running relay: the report, and the exit
//! status scripts read (0 ok, 1 warnings, 2 errors, 3 cannot check).

use std::net::Ipv4Addr;
use std::time::Duration;

use test_support::binary::{AcmeSrv, run_to_end};
use test_support::dns_server::TestDns;
use test_support::recording_target::RecordingTarget;

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");
const DOMAIN: &str = "www.probe.test";

async fn check(dns: &TestDns, relay: &AcmeSrv, extra: &[&str]) -> (Option<i32>, String) {
    let dns_server = dns.addr().to_string();
    let relay_addr = relay.addr("http").to_string();
    let ca_port = relay.addr("http").port().to_string();
    let mut args = vec![
        "check",
        DOMAIN,
        "--dns-server",
        &dns_server,
        "--relay",
        &relay_addr,
        "--ca-port",
        &ca_port,
        "--allow-restricted",
        "127.0.0.0/8",
    ];
    args.extend(extra);
    let output = tokio::process::Command::new(BIN)
        .args(&args)
        .output()
        .await
        .expect("check runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code(), text)
}

#[tokio::test]
async fn a_working_path_passes_and_a_missing_srv_record_is_an_error_with_its_fix() {
    let dns = TestDns::start("test.", 1).await;
    let target = RecordingTarget::start().await;
    dns.set_a(DOMAIN, &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("client.probe.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    let owner = format!("_acme-challenge._tcp.{DOMAIN}");
    dns.set_srv(&owner, &[(10, 0, target.port(), "client.probe.test.")], 60)
        .await;
    // The relay and the check read one configuration file.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("acme-srv.toml");
    std::fs::write(
        &file,
        format!(
            "[relay]\nlisten = [\"127.0.0.1:0\"]\nother_requests = \"not-found\"\n\n\
             [challenge]\nallow_domains = [\"*.probe.test\"]\n\n\
             [targets]\nallow_networks = [\"127.0.0.0/8\"]\nallow_ports = [\"1024-65535\"]\n\n\
             [resolver]\nservers = [\"{}\"]\n",
            dns.addr()
        ),
    )
    .expect("config written");
    let file = file.to_str().expect("utf-8 path").to_owned();
    let relay = AcmeSrv::start(BIN, &["relay", "--config", &file])
        .await
        .expect("relay starts");

    let (code, report) = check(&dns, &relay, &["--config", &file]).await;
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report.contains("[ok]      What acme-srv's configuration decides"),
        "{report}"
    );
    assert!(
        target
            .requests()
            .iter()
            .any(|r| r.uri.contains("acmesrvcheck")),
        "the probe reached the target through the relay"
    );

    dns.remove(&owner, hickory_proto::rr::RecordType::SRV).await;
    let (code, report) = check(&dns, &relay, &["--json"]).await;
    assert_eq!(code, Some(2), "{report}");
    let json: serde_json::Value = serde_json::from_str(&report).expect("JSON report");
    let steps = json["steps"].as_array().expect("steps");
    let srv = steps
        .iter()
        .find(|s| s["id"] == "srv-http-01")
        .expect("the SRV step");
    assert_eq!(srv["status"], "error", "{srv}");
    assert!(
        srv["findings"].as_array().is_some_and(|f| f
            .iter()
            .any(|f| f["fix"].as_str().is_some_and(|t| !t.is_empty()))),
        "the error carries its fix: {srv}"
    );

    let (ok, text) = run_to_end(BIN, &["check", "not a name"])
        .await
        .expect("runs");
    assert!(!ok && text.contains("is not a domain name"), "{text}");
    let (code, _) = check(&dns, &relay, &["--config", "/nonexistent/acme-srv.toml"]).await;
    assert_eq!(code, Some(3), "a configuration that cannot be read");
}

#[tokio::test]
async fn the_tls_alpn01_path_through_the_router_is_checked() {
    let dns = TestDns::start("test.", 1).await;
    let responder = test_support::tls_alpn_responder::TlsAlpnResponder::start(
        "127.0.0.1:0",
        DOMAIN,
        "any.authorization",
    )
    .await
    .expect("responder");
    dns.set_a(DOMAIN, &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("client.probe.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    dns.set_srv(
        &format!("_acme-tls-alpn._tcp.{DOMAIN}"),
        &[(10, 0, responder.addr().port(), "client.probe.test.")],
        60,
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("acme-srv.toml");
    std::fs::write(
        &file,
        format!(
            "[router]\nlisten = [\"127.0.0.1:0\"]\n\n\
             [challenge]\nallow_domains = [\"*.probe.test\"]\n\n\
             [targets]\nallow_networks = [\"127.0.0.0/8\"]\nallow_ports = [\"1024-65535\"]\n\n\
             [resolver]\nservers = [\"{}\"]\n",
            dns.addr()
        ),
    )
    .expect("config written");
    let file = file.to_str().expect("utf-8 path").to_owned();
    let router = AcmeSrv::start(BIN, &["router", "--config", &file])
        .await
        .expect("router starts");
    let dns_server = dns.addr().to_string();
    let router_addr = router.addr("router").to_string();
    let output = tokio::process::Command::new(BIN)
        .args([
            "check",
            DOMAIN,
            "--config",
            &file,
            "--dns-server",
            &dns_server,
            "--router",
            &router_addr,
            "--skip-ca",
            "--allow-restricted",
            "127.0.0.0/8",
            "--json",
        ])
        .output()
        .await
        .expect("check runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    let status = |id: &str| {
        json["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["id"] == id))
            .map(|s| s["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(status("srv-tls-alpn-01"), "ok", "{text}");
    assert_eq!(status("targets-tls-alpn-01"), "ok", "{text}");
    assert_eq!(status("router"), "ok", "{text}");
    assert!(
        responder
            .handshakes_at_least(2, Duration::from_secs(5))
            .await
            >= 2,
        "the target and the router probe both reached it"
    );
}
