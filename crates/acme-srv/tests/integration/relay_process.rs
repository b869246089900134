//! The relay as a process: listeners on port 0 read back from the log, a challenge
//! relayed end to end, the log line, metrics and health, JSON logs, SIGTERM.

use std::net::Ipv4Addr;
use std::time::Duration;

use test_support::binary::AcmeSrv;
use test_support::dns_server::TestDns;
use test_support::recording_target::{RecordingTarget, key_authorization};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");
const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";

/// One HTTP/1.1 request with `Connection: close`; the raw answer.
async fn http(addr: std::net::SocketAddr, host: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

async fn dns_with_target() -> (TestDns, RecordingTarget) {
    let dns = TestDns::start("test.", 1).await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        "_acme-challenge._tcp.www.proc.test",
        &[(10, 5, target.port(), "client.proc.test")],
        60,
    )
    .await;
    dns.set_a("client.proc.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    (dns, target)
}

fn relay_args(dns: &TestDns, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--listen",
        "[::1]:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--allow-domain",
        "*.proc.test",
        "--allow-target",
        "127.0.0.0/8",
        "--allow-port",
        "1024-65535",
        "--other-requests",
        "redirect-https",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push("--dns-server".into());
    args.push(dns.addr().to_string());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

async fn start(args: &[String]) -> AcmeSrv {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    AcmeSrv::start(BIN, &args).await.unwrap()
}

#[tokio::test]
async fn relays_logs_counts_and_stops_on_sigterm() {
    let (dns, target) = dns_with_target().await;
    let mut srv = start(&relay_args(&dns, &[])).await;
    assert_eq!(
        srv.addrs("http").len(),
        2,
        "both listeners reported: {}",
        srv.log_text()
    );
    assert!(srv.addrs("http").iter().any(|a| a.is_ipv6()));

    for addr in srv.addrs("http") {
        let answer = http(
            addr,
            "www.proc.test",
            &format!("/.well-known/acme-challenge/{TOKEN}"),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&key_authorization(TOKEN)), "{answer}");
    }
    // The second request for the same token got the first one's kept answer
    // (`relay.timeouts.answer_reuse`): the target was asked once.
    assert_eq!(target.requests().len(), 1);

    let line = srv
        .wait_for_log("relayed challenge", Duration::from_secs(5))
        .await
        .unwrap();
    for field in [
        "domain=www.proc.test",
        "token=evaGxfAD",
        "target=client.proc.test.",
        "status=200",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "log line lacks {field}: {line}");
    }
    assert!(
        line.contains(&format!("address=127.0.0.1:{}", target.port())),
        "{line}"
    );

    let redirect = http(srv.addr("http"), "app.proc.test", "/login?next=1").await;
    assert!(
        redirect.contains("location: https://app.proc.test/login?next=1"),
        "{redirect}"
    );

    let metrics = http(srv.addr("admin"), "localhost", "/metrics").await;
    assert!(
        metrics.contains("acme_srv_http_requests_total{kind=\"challenge\",status=\"200\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("acme_srv_http_requests_total{kind=\"other\",status=\"301\"} 1"),
        "{metrics}"
    );
    let health = http(srv.addr("admin"), "localhost", "/healthz").await;
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
        "{health}"
    );

    let status = srv.terminate(Duration::from_secs(15)).await.unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(srv.log_text().contains("stopped"));
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let (dns, _target) = dns_with_target().await;
    let srv = start(&relay_args(&dns, &["--log-format", "json"])).await;
    let answer = http(
        srv.addr("http"),
        "www.proc.test",
        &format!("/.well-known/acme-challenge/{TOKEN}"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let line = srv
        .wait_for_log("relayed challenge", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    assert!(
        line.contains("\"domain\":\"www.proc.test\"") && line.contains("\"status\":200"),
        "{line}"
    );
}

#[tokio::test]
async fn the_example_config_runs() {
    let example = format!(
        "{}/../../deploy/acme-srv.example.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let srv = AcmeSrv::start(
        BIN,
        &[
            "relay",
            "--config",
            &example,
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
    )
    .await
    .unwrap();
    let health = http(srv.addr("admin"), "localhost", "/healthz").await;
    assert!(health.ends_with("ok\n"), "{health}");
    // A domain outside the example allow-list is refused without relaying.
    let answer = http(
        srv.addr("http"),
        "not-listed.org",
        "/.well-known/acme-challenge/abc",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}
