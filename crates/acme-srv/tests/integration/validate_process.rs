//! `acme-srv validate` against the relay and the router as processes: a CA applying
//! Boulder's rules, from several perspectives at once, validates through them; and the
//! redirect pebble would follow but Let's Encrypt refuses is named.

use std::net::Ipv4Addr;
use std::time::Duration;

use test_support::binary::{AcmeSrv, run_to_end};
use test_support::dns_server::TestDns;
use test_support::recording_target::{Behaviour, RecordingTarget, key_authorization};
use test_support::tls_alpn_responder::TlsAlpnResponder;

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");
const DOMAIN: &str = "www.check.test";
const TOKEN: &str = "n0WqUpS0YlbQ5gJl8bC1rFq3S2HkH-AzTsvYhxq5lxE";

/// The zone: the domain at 127.0.0.1 (where the relay and the router listen) and an
/// SRV record per label to `client.check.test` on the given ports.
async fn zone(http_port: u16, tls_port: u16) -> TestDns {
    let dns = TestDns::start("test.", 1).await;
    dns.set_a(DOMAIN, &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("client.check.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    dns.set_srv(
        &format!("_acme-challenge._tcp.{DOMAIN}"),
        &[(10, 0, http_port, "client.check.test.")],
        60,
    )
    .await;
    dns.set_srv(
        &format!("_acme-tls-alpn._tcp.{DOMAIN}"),
        &[(10, 0, tls_port, "client.check.test.")],
        60,
    )
    .await;
    dns
}

async fn start(part: &str, dns: &TestDns) -> AcmeSrv {
    let dns_server = dns.addr().to_string();
    AcmeSrv::start(
        BIN,
        &[
            part,
            "--listen",
            "127.0.0.1:0",
            "--dns-server",
            &dns_server,
            "--allow-domain",
            "*.check.test",
            "--allow-target",
            "127.0.0.0/8",
            "--allow-port",
            "1024-65535",
        ],
    )
    .await
    .expect("acme-srv starts")
}

/// Runs `acme-srv validate` as a CA on loopback would: loopback allowed, five
/// perspectives from five source addresses.
async fn validate(challenge: &str, dns: &TestDns, port: u16, extra: &[&str]) -> (bool, String) {
    let dns_server = dns.addr().to_string();
    let port = port.to_string();
    let ka = key_authorization(TOKEN);
    let mut args = vec![
        "validate",
        challenge,
        DOMAIN,
        "--token",
        TOKEN,
        "--key-authorization",
        &ka,
        "--dns-server",
        &dns_server,
        "--port",
        &port,
        "--allow-restricted",
        "127.0.0.0/8",
        "--perspectives",
        "5",
    ];
    let sources = [
        "127.0.0.11",
        "127.0.0.12",
        "127.0.0.13",
        "127.0.0.14",
        "127.0.0.15",
    ];
    for source in &sources {
        args.extend(["--perspective-source", source]);
    }
    args.extend(extra);
    tokio::time::timeout(Duration::from_secs(60), run_to_end(BIN, &args))
        .await
        .expect("validate finishes")
        .expect("validate runs")
}

#[tokio::test]
async fn five_perspectives_validate_http01_through_the_relay() {
    let target = RecordingTarget::start().await;
    let dns = zone(target.port(), 1).await;
    let relay = start("relay", &dns).await;
    let (ok, output) = validate("http-01", &dns, relay.addr("http").port(), &[]).await;
    assert!(ok, "{output}");
    assert!(
        output.contains(&format!("http-01 for {DOMAIN}: valid")),
        "{output}"
    );
    assert!(
        output.contains("quorum: 4 of 4 remote perspectives passed (3 required)"),
        "{output}"
    );
    // The primary's request reached the target through the relay, with the Host; the
    // four remote perspectives that followed got its kept answer (answer reuse).
    let requests = target.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].header("host"), Some(DOMAIN));
    relay
        .wait_for_nth_log("relayed challenge", 4, Duration::from_secs(5))
        .await
        .expect("five challenge lines");
    assert_eq!(
        relay.count_log("reuse=kept") + relay.count_log("reuse=coalesced"),
        4
    );

    let (ok, json) = validate("http-01", &dns, relay.addr("http").port(), &["--json"]).await;
    assert!(ok, "{json}");
    let json_start = json.find('{').expect("a JSON object");
    let outcome: serde_json::Value =
        serde_json::from_str(json[json_start..].trim()).expect("the outcome is JSON");
    assert_eq!(outcome["valid"], true);
    assert_eq!(outcome["perspectives"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn a_target_redirecting_to_port_8080_fails_as_at_lets_encrypt() {
    // The target answers with a redirect to another port, which pebble follows and
    // Boulder refuses: the validator says so, naming the rule.
    let target = RecordingTarget::start_on(
        "127.0.0.1:0",
        Behaviour::Redirect(
            302,
            "http://www.check.test:8080/.well-known/acme-challenge/x",
        ),
    )
    .await;
    let dns = zone(target.port(), 1).await;
    let relay = start("relay", &dns).await;
    let (ok, output) = validate("http-01", &dns, relay.addr("http").port(), &[]).await;
    assert!(!ok, "{output}");
    assert!(
        output.contains("http-01 for www.check.test: invalid"),
        "{output}"
    );
    assert!(
        output.contains("Invalid port in redirect target. Only ports"),
        "{output}"
    );
    assert!(output.contains("not 8080"), "{output}");
}

#[tokio::test]
async fn five_perspectives_validate_tls_alpn01_through_the_router() {
    let responder = TlsAlpnResponder::start("127.0.0.1:0", DOMAIN, &key_authorization(TOKEN))
        .await
        .expect("responder");
    let dns = zone(1, responder.addr().port()).await;
    let router = start("router", &dns).await;
    let (ok, output) = validate("tls-alpn-01", &dns, router.addr("router").port(), &[]).await;
    assert!(ok, "{output}");
    assert!(
        output.contains(&format!("tls-alpn-01 for {DOMAIN}: valid")),
        "{output}"
    );
    assert_eq!(
        responder
            .handshakes_at_least(5, Duration::from_secs(5))
            .await,
        5,
        "one handshake per perspective"
    );

    // The wrong key authorization: the certificate's digest no longer matches.
    let dns_server = dns.addr().to_string();
    let port = router.addr("router").port().to_string();
    let (ok, output) = run_to_end(
        BIN,
        &[
            "validate",
            "tls-alpn-01",
            DOMAIN,
            "--key-authorization",
            "other.authorization",
            "--dns-server",
            &dns_server,
            "--port",
            &port,
            "--allow-restricted",
            "127.0.0.0/8",
        ],
    )
    .await
    .expect("validate runs");
    assert!(!ok, "{output}");
    assert!(
        output.contains("Received certificate with acmeValidationV1 extension value"),
        "{output}"
    );
}
