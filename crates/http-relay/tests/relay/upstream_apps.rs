//! `upstream` mode's exchange with apps: kept connections, bodies streamed both ways,
//! and what makes a connection unfit to keep. The apps here are scripted on raw
//! sockets, so each test controls exactly what the app sends and when.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use config::OtherRequests;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::harness::*;

/// How a scripted app answers every request.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// 200 "app" with a length, and the connection stays open.
    Plain,
    /// 200 "app" with a length and no `Connection: close`, then the app closes the
    /// connection (as an app's own idle timeout would).
    CloseAfterAnswer,
    /// 200 "app" with `Connection: close`, then the app closes.
    AnnouncedClose,
    /// 204, no body.
    NoContent,
    /// 200 with this many chunks of this many bytes, chunked; byte `i` of the body is
    /// `i % 251`.
    Chunked(usize, usize),
    /// 200 whose body is the number of request body bytes received (length or chunked).
    BodyLength,
    /// A chunked 200 with one chunk, then nothing: the app waits for the relay to close.
    StallAfterFirstChunk,
    /// Reads the request and never answers; waits for the relay to close.
    Hang,
    /// `101` to `Upgrade: echo` with "hello" right behind it, then every byte back until
    /// the relay half-closes, then "bye" and close. Without `Upgrade`, 426.
    UpgradeToEcho,
}

/// A scripted app on loopback that counts what it saw.
struct App {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// (method, path, body bytes) of every request, in order.
    requests: Arc<Mutex<Vec<(String, String, usize)>>>,
    /// Connections that ended from the relay's side (the app read end of stream).
    closed_by_relay: Arc<AtomicUsize>,
    /// Notified whenever a connection ends, from either side.
    ended: Arc<Notify>,
    ended_count: Arc<AtomicUsize>,
}

impl App {
    async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = Self {
            addr: listener.local_addr().unwrap(),
            connections: Arc::default(),
            requests: Arc::default(),
            closed_by_relay: Arc::default(),
            ended: Arc::default(),
            ended_count: Arc::default(),
        };
        let (connections, requests, closed_by_relay, ended, ended_count) = (
            app.connections.clone(),
            app.requests.clone(),
            app.closed_by_relay.clone(),
            app.ended.clone(),
            app.ended_count.clone(),
        );
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                connections.fetch_add(1, Ordering::SeqCst);
                let (requests, closed_by_relay, ended, ended_count) = (
                    requests.clone(),
                    closed_by_relay.clone(),
                    ended.clone(),
                    ended_count.clone(),
                );
                tokio::spawn(async move {
                    if serve(stream, script, &requests).await {
                        closed_by_relay.fetch_add(1, Ordering::SeqCst);
                    }
                    ended_count.fetch_add(1, Ordering::SeqCst);
                    ended.notify_waiters();
                });
            }
        });
        app
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<(String, String, usize)> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `count` connections have ended.
    async fn until_ended(&self, count: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.ended.notified();
                if self.ended_count.load(Ordering::SeqCst) >= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{count} app connections did not end"));
    }
}

/// Serves one connection by `script`; true when the relay ended it.
async fn serve(
    stream: TcpStream,
    script: Script,
    requests: &Mutex<Vec<(String, String, usize)>>,
) -> bool {
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match stream.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let (mut length, mut chunked, mut upgrade) = (0usize, false, false);
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            upgrade |= line == "upgrade: echo";
            if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "transfer-encoding: chunked" {
                chunked = true;
            }
        }
        let body = if chunked {
            read_chunked(&mut stream).await
        } else {
            let mut body = vec![0; length];
            stream.read_exact(&mut body).await.unwrap();
            body.len()
        };
        requests.lock().unwrap().push((method, path, body));
        let out = stream.get_mut();
        match script {
            Script::Plain => write(out, "200 OK", "", b"app").await,
            Script::CloseAfterAnswer => {
                write(out, "200 OK", "", b"app").await;
                return false;
            }
            Script::AnnouncedClose => {
                write(out, "200 OK", "Connection: close\r\n", b"app").await;
                return false;
            }
            Script::NoContent => {
                out.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .unwrap();
            }
            Script::Chunked(count, size) => {
                out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .await
                    .unwrap();
                for c in 0..count {
                    let chunk: Vec<u8> = (c * size..(c + 1) * size)
                        .map(|i| (i % 251) as u8)
                        .collect();
                    out.write_all(format!("{size:x}\r\n").as_bytes())
                        .await
                        .unwrap();
                    out.write_all(&chunk).await.unwrap();
                    out.write_all(b"\r\n").await.unwrap();
                }
                out.write_all(b"0\r\n\r\n").await.unwrap();
            }
            Script::BodyLength => {
                let answer = body.to_string();
                write(out, "200 OK", "", answer.as_bytes()).await;
            }
            Script::Hang => {
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
                return true;
            }
            Script::UpgradeToEcho if !upgrade => {
                write(out, "426 Upgrade Required", "", b"").await;
            }
            Script::UpgradeToEcho => {
                out.write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nhello",
                )
                .await
                .unwrap();
                let mut buf = [0u8; 4096];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => stream.get_mut().write_all(&buf[..n]).await.unwrap(),
                    }
                }
                stream.get_mut().write_all(b"bye").await.unwrap();
                return true;
            }
            Script::StallAfterFirstChunk => {
                out.write_all(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n",
                )
                .await
                .unwrap();
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
                return true;
            }
        }
    }
}

async fn write(out: &mut TcpStream, status: &str, extra: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    );
    out.write_all(&[head.as_bytes(), body].concat())
        .await
        .unwrap();
}

/// Reads a chunked body to its end; returns its length.
async fn read_chunked(stream: &mut BufReader<TcpStream>) -> usize {
    let mut total = 0;
    loop {
        let mut size = String::new();
        stream.read_line(&mut size).await.unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        stream.read_exact(&mut chunk).await.unwrap();
        if size == 0 {
            return total;
        }
        total += size;
    }
}

/// A relay in `upstream` mode with `app` as the default app.
async fn relay_for(app: &App) -> TestRelay {
    relay_with_timeout(app, config::UpstreamConfig::default().response_timeout).await
}

/// [`relay_for`] with this `response_timeout`.
async fn relay_with_timeout(app: &App, response_timeout: Duration) -> TestRelay {
    let dns = dns().await;
    let addr = app.addr;
    start_with(&dns, move |c| {
        c.relay.other_requests = OtherRequests::Upstream;
        c.relay.upstream.default = Some(format!("http://{addr}"));
        c.relay.upstream.response_timeout = response_timeout;
    })
    .await
}

/// A client connection to the relay that reads whole responses (length or chunked).
struct Client(BufReader<TcpStream>);

impl Client {
    async fn connect(relay: &TestRelay) -> Self {
        Self(BufReader::new(
            TcpStream::connect(relay.addr).await.unwrap(),
        ))
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.0.get_mut().write_all(bytes).await.unwrap();
    }

    /// Reads one response: (status, body).
    async fn response(&mut self, head_only: bool) -> (u16, Vec<u8>) {
        let mut status_line = String::new();
        self.0.read_line(&mut status_line).await.unwrap();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("no status line: {status_line:?}"))
            .parse()
            .unwrap();
        let (mut length, mut chunked) = (None, false);
        loop {
            let mut line = String::new();
            self.0.read_line(&mut line).await.unwrap();
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("content-length:") {
                length = Some(v.trim().parse().unwrap());
            }
            if line == "transfer-encoding: chunked" {
                chunked = true;
            }
        }
        if head_only || status == 204 {
            return (status, Vec::new());
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                self.0.read_line(&mut size).await.unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                self.0.read_exact(&mut chunk).await.unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length.unwrap_or(0), 0);
            self.0.read_exact(&mut body).await.unwrap();
        }
        (status, body)
    }

    async fn get(&mut self, path: &str) -> (u16, Vec<u8>) {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: app.test\r\n\r\n").as_bytes())
            .await;
        self.response(false).await
    }
}

#[tokio::test]
async fn concurrent_requests_share_kept_app_connections() {
    let app = App::start(Script::Plain).await;
    let relay = relay_for(&app).await;
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(Client::connect(&relay).await);
    }
    for round in 0..10 {
        let answers = futures_util::future::join_all(
            clients
                .iter_mut()
                .map(|c| async move { c.get(&format!("/r{round}")).await }),
        )
        .await;
        for (status, body) in answers {
            assert_eq!((status, &body[..]), (200, &b"app"[..]));
        }
    }
    assert_eq!(app.requests().len(), 80);
    assert!(
        app.connections() <= 8,
        "80 requests, at most 8 at once, took {} app connections",
        app.connections()
    );
}

#[tokio::test]
async fn a_kept_connection_the_app_closed_is_replaced_and_the_body_sent_once() {
    let app = App::start(Script::CloseAfterAnswer).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    for round in 1..=3 {
        client
            .send(b"POST /form HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello")
            .await;
        assert_eq!(client.response(false).await, (200, b"app".to_vec()));
        // The app has closed the connection the relay kept.
        app.until_ended(round).await;
    }
    let requests = app.requests();
    assert_eq!(
        requests.len(),
        3,
        "each POST reached the app once: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .all(|(m, _, body)| m == "POST" && *body == 5)
    );
    assert_eq!(app.connections(), 3);
}

#[tokio::test]
async fn an_app_that_announces_close_gets_a_fresh_connection_next_time() {
    let app = App::start(Script::AnnouncedClose).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    for _ in 0..3 {
        assert_eq!(client.get("/").await, (200, b"app".to_vec()));
    }
    assert_eq!(app.connections(), 3);
    assert_eq!(app.closed_by_relay.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn empty_bodies_keep_the_connection() {
    let app = App::start(Script::NoContent).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    for _ in 0..3 {
        assert_eq!(client.get("/").await.0, 204);
    }
    client
        .send(b"HEAD / HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .await;
    assert_eq!(client.response(true).await.0, 204);
    assert_eq!(app.requests().len(), 4);
    assert_eq!(
        app.connections(),
        1,
        "one app connection carried every request"
    );
}

#[tokio::test]
async fn a_large_chunked_answer_streams_through_whole() {
    const CHUNKS: usize = 64;
    const SIZE: usize = 64 * 1024;
    let app = App::start(Script::Chunked(CHUNKS, SIZE)).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    for _ in 0..2 {
        let (status, body) = client.get("/big").await;
        assert_eq!(status, 200);
        assert_eq!(body.len(), CHUNKS * SIZE);
        assert!(
            body.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8),
            "the body arrives byte for byte"
        );
    }
    assert_eq!(
        app.connections(),
        1,
        "the connection is kept after a whole body"
    );
}

#[tokio::test]
async fn request_bodies_stream_to_the_app() {
    let app = App::start(Script::BodyLength).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    // 1 MiB chunked, in pieces the relay must pass on as they come.
    client
        .send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await;
    let piece = vec![b'x'; 16 * 1024];
    for _ in 0..64 {
        client
            .send(format!("{:x}\r\n", piece.len()).as_bytes())
            .await;
        client.send(&piece).await;
        client.send(b"\r\n").await;
    }
    client.send(b"0\r\n\r\n").await;
    assert_eq!(client.response(false).await, (200, b"1048576".to_vec()));
    // And one with a length, on the same connections.
    let body = vec![b'y'; 300_000];
    client
        .send(
            format!(
                "PUT /p HTTP/1.1\r\nHost: app.test\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await;
    client.send(&body).await;
    assert_eq!(client.response(false).await, (200, b"300000".to_vec()));
    assert_eq!(app.connections(), 1);
}

#[tokio::test]
async fn a_client_leaving_mid_body_closes_the_app_connection() {
    let app = App::start(Script::StallAfterFirstChunk).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    client
        .send(b"GET /stream HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .await;
    let mut head = String::new();
    client.0.read_line(&mut head).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head:?}");
    drop(client);
    // The half-sent answer cannot be finished: the relay closes its app connection
    // rather than keeping it.
    app.until_ended(1).await;
    assert_eq!(app.closed_by_relay.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_app_gets_502() {
    let port = test_support::recording_target::refused_port().await;
    let dns = dns().await;
    let relay = start_with(&dns, move |c| {
        c.relay.other_requests = OtherRequests::Upstream;
        c.relay.upstream.default = Some(format!("http://127.0.0.1:{port}"));
    })
    .await;
    let reply = request(relay.addr, "GET", "app.test", "/", &[]).await;
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.body,
        format!("upstream app 127.0.0.1:{port} failed\n")
    );
}

#[tokio::test]
async fn an_upgrade_joins_client_and_app_until_both_close() {
    let app = App::start(Script::UpgradeToEcho).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    // The first bytes of the new protocol ride in the same packet as the request.
    client
        .send(b"GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly")
        .await;
    let mut head = String::new();
    loop {
        let mut line = String::new();
        client.0.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo\r\n"), "{head}");
    assert!(head.contains("connection: upgrade\r\n"), "{head}");
    let mut got = [0u8; 10];
    client.0.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"helloearly");
    client.send(b"ping").await;
    let mut got = [0u8; 4];
    client.0.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"ping");
    // The client's half-close reaches the app, whose last word and close come back.
    client.0.get_mut().shutdown().await.unwrap();
    let mut rest = Vec::new();
    client.0.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"bye");
    app.until_ended(1).await;
    assert_eq!(app.requests().len(), 1);
}

#[tokio::test]
async fn an_upgrade_the_app_declines_leaves_plain_http() {
    let app = App::start(Script::UpgradeToEcho).await;
    let relay = relay_for(&app).await;
    let mut client = Client::connect(&relay).await;
    // HTTP/1.0 cannot upgrade: the app sees no Upgrade and declines.
    client
        .send(b"GET /ws HTTP/1.0\r\nHost: app.test\r\nConnection: upgrade, keep-alive\r\nUpgrade: echo\r\n\r\n")
        .await;
    assert_eq!(client.response(false).await.0, 426);
    // The connection goes on as HTTP/1.1.
    assert_eq!(client.get("/next").await.0, 426);
    assert_eq!(app.requests().len(), 2);

    // An app that ignores an HTTP/1.1 upgrade request answers it plainly, and the
    // connection goes on too.
    let plain = App::start(Script::Plain).await;
    let relay = relay_for(&plain).await;
    let mut client = Client::connect(&relay).await;
    client
        .send(b"GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .await;
    assert_eq!(client.response(false).await, (200, b"app".to_vec()));
    assert_eq!(client.get("/next").await, (200, b"app".to_vec()));
}

#[tokio::test]
async fn an_app_that_never_answers_gets_504_and_its_connection_closed() {
    let app = App::start(Script::Hang).await;
    let relay = relay_with_timeout(&app, Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let reply = request(relay.addr, "GET", "app.test", "/slow", &[]).await;
    assert_eq!(reply.status, 504);
    assert_eq!(
        reply.body,
        format!("upstream app {} did not answer in time\n", app.addr)
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    // The relay gave up on the exchange: the app connection is closed, not kept.
    app.until_ended(1).await;
    assert_eq!(app.closed_by_relay.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_slow_upload_is_not_the_apps_delay() {
    // The response timeout starts once the request has been sent whole: a client
    // taking longer than it to send its body still gets the app's answer.
    let app = App::start(Script::BodyLength).await;
    let relay = relay_with_timeout(&app, Duration::from_millis(200)).await;
    let mut client = Client::connect(&relay).await;
    client
        .send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10\r\n\r\nfirst")
        .await;
    // The client's pace, three times the app's timeout.
    tokio::time::sleep(Duration::from_millis(600)).await;
    client.send(b"-last").await;
    assert_eq!(client.response(false).await, (200, b"10".to_vec()));
}
