//! Fuzz target `relay_request`: arbitrary bytes as what a client sends on one connection
//! to the relay, served by hyper's HTTP/1 parser and `http_relay::inbound::handle` (the
//! request classification: client address, rate limit, CONNECT, framing checks, `Via`
//! loop, Host and absolute-form authority, token, method, query, allow-list), exactly
//! as `server.rs` wires them, over an in-memory connection.
//!
//! The relay allows `*.allowed.test` and resolves through an address where nothing
//! answers, so a challenge that passes every check ends in a failed lookup: the whole
//! classification is exercised without network traffic.
//!
//! Asserts: no panic; the connection ends once the client has closed; every answer is
//! an HTTP/1.1 (or, to an HTTP/1.0 client, 1.0) status line with a 3-digit status; a 5xx
//! answer is only a failed lookup (502, 504) for an allowed domain or a `Via` loop (508),
//! never anything else; every answer has a `Content-Length` framing it exactly; a
//! `Location` is always an `https://` redirect.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use config::{Config, OtherRequests};
use http_relay::Relay;
use hyper_util::rt::TokioIo;
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::{Builder, Runtime};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
});

static RELAY: LazyLock<Arc<Relay>> = LazyLock::new(|| {
    let mut config = Config::default();
    config.challenge.allow_domains = vec!["*.allowed.test".parse().expect("pattern")];
    // Nothing listens on the discard port of loopback: lookups fail at once.
    config.resolver.servers = vec!["127.0.0.1:9".parse().expect("address")];
    config.resolver.timeout = Duration::from_millis(20);
    config.resolver.attempts = 1;
    config.relay.other_requests = OtherRequests::RedirectHttps;
    config.relay.limits.requests_per_second_per_client = 0;
    config.relay.trusted_proxies = vec!["192.0.2.0/24".parse().expect("network")];
    let relay = RUNTIME.block_on(async { Relay::from_config(&config) });
    Arc::new(relay.expect("the relay builds"))
});

fuzz_target!(|data: &[u8]| {
    let relay = RELAY.clone();
    let output = RUNTIME.block_on(async move {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let peer: SocketAddr = "192.0.2.7:40000".parse().expect("address");
        let service = hyper::service::service_fn(move |req| {
            http_relay::inbound::handle(relay.clone(), req, peer)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .max_buf_size(8192)
            .serve_connection(TokioIo::new(server), service);
        let talk = async {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut output = Vec::new();
            let _ = client.read_to_end(&mut output).await;
            output
        };
        let served = tokio::time::timeout(Duration::from_secs(5), async {
            let (_, output) = tokio::join!(connection, talk);
            output
        })
        .await;
        served.expect("the connection ends once the client has closed")
    });
    check(data, &output);
});

/// Reads the answers in `output` one by one (httparse for each head, `Content-Length`
/// for each body) and checks each.
fn check(input: &[u8], output: &[u8]) {
    let lowered = String::from_utf8_lossy(input).to_ascii_lowercase();
    let mut rest = output;
    while !rest.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(rest) {
            Ok(httparse::Status::Complete(len)) => len,
            other => panic!("not an HTTP/1 answer ({other:?}): {:?}", String::from_utf8_lossy(output)),
        };
        let code = response.code.expect("a complete head has a status");
        assert!((100..600).contains(&code), "{code}");
        if code >= 500 {
            // Only a failed lookup for an allowed domain (502, 504), or a request that
            // names this relay in `Via` (508), may end in 5xx.
            let lookup = matches!(code, 502 | 504) && lowered.contains("allowed.test");
            let looped = code == 508 && lowered.contains("via");
            assert!(lookup || looped, "{code} for input {input:?}");
        }
        let mut body_len = 0;
        for header in response.headers.iter() {
            if header.name.eq_ignore_ascii_case("location") {
                assert!(header.value.starts_with(b"https://"), "{header:?}");
            }
            if header.name.eq_ignore_ascii_case("content-length") {
                body_len = std::str::from_utf8(header.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .expect("the relay's Content-Length is a number");
            }
            assert!(
                !header.name.eq_ignore_ascii_case("transfer-encoding"),
                "the relay's own answers have a length"
            );
        }
        // An answer to HEAD has a length but no body: the next answer (or the end)
        // follows at once (the relay's own bodies never start with a status line).
        let after = &rest[head_len..];
        if after.is_empty() || after.starts_with(b"HTTP/1.") {
            body_len = 0;
        }
        let end = head_len + body_len;
        assert!(end <= rest.len(), "an answer cut short: {:?}", String::from_utf8_lossy(output));
        rest = &rest[end..];
    }
}
