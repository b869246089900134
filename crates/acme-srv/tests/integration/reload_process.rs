//! SIGHUP with `acme-srv serve`: the relay and the router take a new configuration while
//! a long transfer goes through the router; the transfer survives, new connections and
//! requests follow the new file, and a bad file is refused with its error while the
//! running configuration stays.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use test_support::binary::AcmeSrv;
use test_support::dns_server::TestDns;
use test_support::recording_target::RecordingTarget;
use test_support::tls::client_hello;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");
const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const CHUNK: usize = 64 * 1024;
const CHUNKS: usize = 100;

fn write_config(path: &Path, dns: SocketAddr, allow: &str, backend: SocketAddr) {
    let text = format!(
        r#"[relay]
listen = ["127.0.0.1:0"]
other_requests = "not-found"

[challenge]
allow_domains = [{allow}]

[resolver]
servers = ["{dns}"]

[targets]
allow_networks = ["127.0.0.0/8"]
allow_ports = ["1024-65535"]

[router]
listen = ["127.0.0.1:0"]

[[router.backends]]
server_names = ["www.proc.test"]
address = "{backend}"
"#
    );
    std::fs::write(path, text).unwrap();
}

/// A backend that streams CHUNKS chunks, 20 ms apart, after the ClientHello.
async fn streaming_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut first = [0u8; 512];
        let _ = stream.read(&mut first).await.unwrap();
        let chunk = vec![b's'; CHUNK];
        for _ in 0..CHUNKS {
            stream.write_all(&chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stream.shutdown().await.unwrap();
    });
    addr
}

/// A backend that answers every connection with `new` and closes.
async fn answering_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut first = [0u8; 512];
                let _ = stream.read(&mut first).await;
                let _ = stream.write_all(b"new").await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

async fn challenge_status(relay: SocketAddr, host: &str) -> String {
    let mut stream = TcpStream::connect(relay).await.unwrap();
    let request = format!(
        "GET /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out.lines().next().unwrap_or_default().to_owned()
}

async fn through_router(router: SocketAddr) -> Vec<u8> {
    let mut stream = TcpStream::connect(router).await.unwrap();
    stream
        .write_all(&client_hello(Some("www.proc.test"), &["h2"]))
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test]
async fn sighup_reloads_the_relay_and_the_router_without_dropping_a_transfer() {
    let dns = TestDns::start("test.", 1).await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        "_acme-challenge._tcp.www.new.test",
        &[(10, 0, target.port(), "client.new.test")],
        60,
    )
    .await;
    dns.set_a("client.new.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    let (old_backend, new_backend) = (streaming_backend().await, answering_backend().await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme-srv.toml");
    write_config(&file, dns.addr(), r#""*.proc.test""#, old_backend);
    let srv = AcmeSrv::start(BIN, &["serve", "--config", file.to_str().unwrap()])
        .await
        .unwrap();
    let (relay, router) = (srv.addr("http"), srv.addr("router"));
    assert!(
        challenge_status(relay, "www.new.test")
            .await
            .contains(" 404 "),
        "not allowed yet"
    );

    // A long transfer through the router, under way.
    let mut long = TcpStream::connect(router).await.unwrap();
    long.write_all(&client_hello(Some("www.proc.test"), &["h2"]))
        .await
        .unwrap();
    let mut got = vec![0u8; CHUNK];
    long.read_exact(&mut got).await.unwrap();

    write_config(
        &file,
        dns.addr(),
        r#""*.proc.test", "*.new.test""#,
        new_backend,
    );
    srv.hangup().await.unwrap();
    srv.wait_for_log("configuration reloaded", Duration::from_secs(10))
        .await
        .unwrap();

    // New connections and requests follow the new file...
    assert_eq!(through_router(router).await, b"new");
    assert!(
        challenge_status(relay, "www.new.test")
            .await
            .contains(" 200 ")
    );
    assert_eq!(target.requests().len(), 1);
    // ...and the transfer that began before goes on to its last byte.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), long.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(CHUNK + rest.len(), CHUNK * CHUNKS);

    // A bad file is refused, naming the file and the key; the running one stays.
    std::fs::write(&file, "[router]\nlisten = 443\n").unwrap();
    srv.hangup().await.unwrap();
    let refused = srv
        .wait_for_log("reload refused", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        refused.contains("acme-srv.toml") && refused.contains("router.listen"),
        "{refused}"
    );
    assert_eq!(through_router(router).await, b"new");
    assert!(
        challenge_status(relay, "www.new.test")
            .await
            .contains(" 200 ")
    );
}
