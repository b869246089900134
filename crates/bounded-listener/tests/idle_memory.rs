//! What an idle kept-alive connection costs: after one request, a connection waiting for
//! its next holds no HTTP state (hyper's buffers of about 9 KiB are released until the
//! next request arrives). Measured as the growth of this process's resident memory over
//! many such connections, so this binary runs alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bounded_listener::http1::{Http1Options, RELEASE_AFTER_QUIET, serve};
use bounded_listener::{ClientPrefixes, ConnectionLimits, ListenerBounds, raise_nofile_limit};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Connections held open at once.
const CONNECTIONS: usize = 2000;
/// The most an idle connection may cost, in bytes: hyper's connection alone is over
/// 9 KiB, so keeping it while idle fails this by far.
const MAX_BYTES_PER_CONNECTION: usize = 3 * 1024;

fn resident_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Opens `n` connections to `addr`, sends one request on each and reads its answer;
/// returns them open. Blocking sockets on this thread, so the clients cost this
/// process no memory of their own beyond the kernel's.
fn open_idle_connections(addr: SocketAddr, n: usize) -> Vec<std::net::TcpStream> {
    let mut buf = [0; 1024];
    (0..n)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
                .unwrap();
            let mut got = Vec::new();
            while !got.ends_with(b"idle") {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "connection closed before its answer");
                got.extend_from_slice(&buf[..n]);
            }
            stream
        })
        .collect()
}

#[test]
fn an_idle_kept_alive_connection_costs_little_memory() {
    raise_nofile_limit().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = CancellationToken::new();
    let addr = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = ConnectionLimits {
            max_connections: CONNECTIONS * 2,
            max_per_client: 0,
            client_prefixes: ClientPrefixes::default(),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_duration: Duration::from_secs(600),
        };
        let bounds = Arc::new(ListenerBounds::new("test", &limits, Vec::new()));
        let options = Http1Options::new(Duration::from_secs(60), 8192);
        let shutdown = stop.clone();
        tokio::spawn(serve(
            vec![listener],
            bounds,
            options,
            |_peer: SocketAddr| {
                hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"idle"))))
                })
            },
            async move { shutdown.cancelled().await },
        ));
        addr
    });
    // Warm up: the runtime, the allocator's arenas and the first pages of every kind
    // of allocation, then let those connections go.
    drop(open_idle_connections(addr, 200));
    std::thread::sleep(Duration::from_millis(200));

    let before = resident_kib();
    let connections = open_idle_connections(addr, CONNECTIONS);
    // Let every connection finish its exchange and go back to waiting.
    std::thread::sleep(RELEASE_AFTER_QUIET + Duration::from_millis(500));
    let after = resident_kib();
    let per_connection = (after.saturating_sub(before)) * 1024 / CONNECTIONS;
    eprintln!(
        "{CONNECTIONS} idle connections: resident {before} KiB -> {after} KiB, {per_connection} bytes each"
    );
    assert!(
        per_connection <= MAX_BYTES_PER_CONNECTION,
        "an idle kept-alive connection costs {per_connection} bytes (at most {MAX_BYTES_PER_CONNECTION})"
    );
    drop(connections);
    stop.cancel();
}
