//! Self-test of the real-program harness (`test_support::programs`): pebble issues real
//! certificates to lego (http-01 and tls-alpn-01) and certbot (http-01) on loopback, and
//! nginx serves a caller-supplied server block.
//!
//! Pebble resolves every name through a tiny DNS responder defined here that answers
//! `A 127.0.0.1` for any name, so the clients' challenge servers on 127.0.0.1 are reached
//! directly on pebble's `httpPort`/`tlsPort`.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use test_support::programs::{
    self, IssuedCertificate, certbot, free_tcp_port, lego,
    nginx::Nginx,
    pebble::{Pebble, PebbleOptions},
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// A UDP DNS responder that answers `A 127.0.0.1` for every name and an empty NOERROR
/// answer for every other type; stopped when dropped.
struct LoopbackDns {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl LoopbackDns {
    async fn start() -> anyhow::Result<Self> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the DNS responder")?;
        let addr = socket.local_addr()?;
        let task = tokio::spawn(serve_loopback_answers(socket));
        Ok(Self { addr, task })
    }
}

impl Drop for LoopbackDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_loopback_answers(socket: UdpSocket) {
    let mut buffer = [0_u8; 4096];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
            return;
        };
        let Some(response) = loopback_answer(&buffer[..length]) else {
            continue;
        };
        // A lost answer is retried by the asker, like any UDP answer.
        let _ = socket.send_to(&response, peer).await;
    }
}

/// The response to one DNS query, or `None` for something that is not a query.
fn loopback_answer(query_bytes: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(query_bytes).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(query.metadata.id, query.metadata.op_code);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    if query.metadata.op_code != OpCode::Query {
        response.metadata.response_code = ResponseCode::NotImp;
    }
    for question in &query.queries {
        response.add_query(question.clone());
        if query.metadata.op_code == OpCode::Query && question.query_type() == RecordType::A {
            let loopback = RData::A(A(Ipv4Addr::LOCALHOST));
            response.add_answer(Record::from_rdata(question.name().clone(), 60, loopback));
        }
    }
    response.to_vec().ok()
}

/// Starts the DNS responder and a pebble whose `httpPort` and `tlsPort` are free ports.
async fn start_pebble() -> anyhow::Result<(LoopbackDns, Pebble)> {
    let dns = LoopbackDns::start().await?;
    let pebble = Pebble::start(PebbleOptions {
        http_port: free_tcp_port(),
        tls_port: free_tcp_port(),
        dns_server: dns.addr,
    })
    .await?;
    Ok((dns, pebble))
}

fn assert_issued_pem_chain(issued: &IssuedCertificate) -> anyhow::Result<()> {
    let chain = issued.read_chain().with_context(|| {
        format!(
            "the issued certificate does not parse; client output:\n{}",
            issued.client_output()
        )
    })?;
    assert!(
        chain.iter().all(|certificate| !certificate.is_empty()),
        "empty certificate in {}",
        issued.cert_path().display()
    );
    Ok(())
}

/// Adds pebble's output to a client's error, since the reason is often on pebble's side.
fn with_pebble_output<T>(result: anyhow::Result<T>, pebble: &Pebble) -> anyhow::Result<T> {
    result.with_context(|| format!("--- pebble output ---\n{}", pebble.output()))
}

#[tokio::test]
async fn lego_obtains_a_certificate_over_http01() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    let (_dns, pebble) = start_pebble().await?;
    let http_port = pebble.options().http_port;

    let issued = lego::obtain_http01(&pebble, "selftest-lego.test", http_port).await;

    let issued = with_pebble_output(issued, &pebble)?;
    assert_issued_pem_chain(&issued)
}

#[tokio::test]
async fn lego_obtains_a_certificate_over_tls_alpn01() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    let (_dns, pebble) = start_pebble().await?;
    let tls_port = pebble.options().tls_port;

    let issued = lego::obtain_tls_alpn01(&pebble, "selftest-lego-alpn.test", tls_port).await;

    let issued = with_pebble_output(issued, &pebble)?;
    assert_issued_pem_chain(&issued)
}

#[tokio::test]
async fn certbot_obtains_a_certificate_over_http01() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    let (_dns, pebble) = start_pebble().await?;
    let http_port = pebble.options().http_port;

    let issued = certbot::obtain_http01(&pebble, "selftest-certbot.test", http_port).await;

    let issued = with_pebble_output(issued, &pebble)?;
    assert_issued_pem_chain(&issued)
}

#[tokio::test]
async fn a_client_failure_carries_the_clients_output() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    let (_dns, pebble) = start_pebble().await?;
    // lego listens on a port pebble does not validate on: validation must fail.
    let wrong_port = free_tcp_port();

    let error = lego::obtain_http01(&pebble, "selftest-fail.test", wrong_port)
        .await
        .expect_err("validation on a port pebble never connects to must fail");

    let message = format!("{error:#}");
    assert!(
        message.contains("[INFO]"),
        "lego's own log lines are missing: {message}"
    );
    Ok(())
}

#[tokio::test]
async fn nginx_serves_the_callers_server_block() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    let nginx = Nginx::start(
        "server {
            listen 127.0.0.1:@PORT@;
            location / { return 200 \"hello from nginx\\n\"; }
        }",
    )
    .await?;

    let response = http_get(nginx.addr(), "/").await?;

    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("hello from nginx\n"),
        "unexpected response:\n{response}\n{}",
        nginx.output()
    );
    nginx.stop().await
}

#[tokio::test]
async fn nginx_refuses_a_server_block_off_loopback() {
    let result = Nginx::start("server { listen 8080; }").await;

    let error = result.expect_err("a server block without 127.0.0.1:@PORT@ must be refused");
    assert!(
        format!("{error:#}").contains("127.0.0.1:@PORT@"),
        "{error:#}"
    );
}

async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

#[test]
fn require_names_the_package_and_tests_run_for_a_missing_program() {
    let error = programs::require("acme-srv-no-such-program")
        .expect_err("a program that does not exist must not be found");

    let message = error.to_string();
    assert!(message.contains("apt-get install -y"), "{message}");
    assert!(message.contains("tests/run"), "{message}");
}

#[test]
fn require_finds_nginx_in_usr_sbin() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    let path = programs::require("nginx")?;

    assert!(path.ends_with("nginx"), "{}", path.display());
    Ok(())
}

/// BIND serves a zone and Unbound recurses into it through a stub zone; `dig` through
/// Unbound sees BIND's answer.
#[tokio::test]
async fn unbound_recurses_into_bind() -> anyhow::Result<()> {
    use test_support::programs::{bind::Bind, unbound::Unbound};
    if test_support::programs::interop_opted_out() {
        return Ok(());
    }
    let dig = test_support::programs::require("dig")?;
    let zone = "$ORIGIN customer.test.\n$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A 127.0.0.7\n";
    let bind = Bind::start("customer.test", zone).await?;
    let unbound = Unbound::start(&[("customer.test", bind.addr())]).await?;
    let out = tokio::process::Command::new(dig)
        .args([
            "+short",
            "-p",
            &unbound.addr().port().to_string(),
            "@127.0.0.1",
            "www.customer.test",
            "A",
        ])
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        text.trim() == "127.0.0.7",
        "dig through unbound gave {text:?}\nbind:\n{}\nunbound:\n{}",
        bind.output(),
        unbound.output()
    );
    Ok(())
}
