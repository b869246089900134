//! The router as a process: flags, the listener read back from the log, one log line per
//! connection, metrics by route on the admin listener, SIGTERM.

use std::time::Duration;

use test_support::binary::AcmeSrv;
use test_support::dns_server::TestDns;
use test_support::tls::client_hello;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// Sends `bytes`, half-closes, returns what came back until the router closed.
async fn exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test]
async fn routes_logs_counts_and_stops_on_sigterm() {
    let dns = TestDns::start("test.", 1).await;
    let backend = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend_addr = backend.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = backend.accept().await {
            let mut got = Vec::new();
            let _ = stream.read_to_end(&mut got).await;
            let _ = stream
                .write_all(format!("backend:{}", got.len()).as_bytes())
                .await;
        }
    });
    let named = format!("www.example.com,*.example.net={backend_addr}");
    let dns_server = dns.addr().to_string();
    let mut srv = AcmeSrv::start(
        BIN,
        &[
            "router",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--dns-server",
            &dns_server,
            "--backend",
            &named,
        ],
    )
    .await
    .unwrap();
    let router = srv.addr("router");

    let hello = client_hello(Some("a.example.net"), &["h2"]);
    assert_eq!(
        exchange(router, &hello).await,
        format!("backend:{}", hello.len()).as_bytes()
    );
    assert_eq!(
        exchange(router, &client_hello(Some("other.test"), &["h2"])).await,
        [21, 3, 3, 0, 2, 2, 112],
        "no default backend: unrecognized_name"
    );
    assert_eq!(exchange(router, b"GET / HTTP/1.1\r\n\r\n").await, b"");

    let line = srv
        .wait_for_log("route=backend", Duration::from_secs(5))
        .await
        .unwrap();
    for part in [
        "sni=a.example.net ",
        &format!("backend={backend_addr} "),
        &format!("bytes_up={} ", hello.len()),
        &format!("bytes_down={} ", format!("backend:{}", hello.len()).len()),
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part:?} missing from {line}");
    }
    srv.wait_for_log("route=no-backend", Duration::from_secs(5))
        .await
        .unwrap();
    srv.wait_for_log("route=not-tls", Duration::from_secs(5))
        .await
        .unwrap();

    let metrics = get(srv.addr("admin"), "/metrics").await;
    for expected in [
        "acme_srv_router_connections_total{route=\"backend\"} 1",
        "acme_srv_router_connections_total{route=\"no-backend\"} 1",
        "acme_srv_router_connections_total{route=\"not-tls\"} 1",
        &format!(
            "acme_srv_router_bytes_total{{route=\"backend\",direction=\"up\"}} {}",
            hello.len()
        ),
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from {metrics}"
        );
    }

    let status = srv.terminate(Duration::from_secs(15)).await.unwrap();
    assert!(status.success(), "{status:?}");
}
