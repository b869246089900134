//! Starting a relay in-process on `127.0.0.1:0` against a test DNS server, and a tiny
//! HTTP/1.1 client that can also send malformed bytes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use config::{Config, OtherRequests, PortRange};
use http_relay::Relay;
use test_support::dns_server::TestDns;
use test_support::recording_target::{Behaviour, RecordingTarget};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The zone every test's names live in.
pub const ZONE: &str = "test.";

/// A running relay; stops when dropped.
pub struct TestRelay {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl TestRelay {
    /// Stops the relay gracefully and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), self.task.take().unwrap())
            .await
            .unwrap()
            .unwrap();
    }
}

/// A test DNS server for `test.` with a 1 s negative TTL.
pub async fn dns() -> TestDns {
    TestDns::start(ZONE, 1).await
}

/// The configuration tests start from: everything under `test.` allowed, loopback
/// targets allowed, short timeouts, no rate limit, 404 for other requests.
pub fn base_config(dns: &TestDns) -> Config {
    let mut config = Config::default();
    config.challenge.allow_domains = vec!["*.test".parse().unwrap()];
    config.resolver.servers = vec![dns.addr()];
    config.resolver.timeout = Duration::from_millis(500);
    config.resolver.attempts = 1;
    config.targets.allow_networks =
        vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    config.targets.allow_ports = vec![PortRange {
        first: 1,
        last: 65535,
    }];
    config.relay.other_requests = OtherRequests::NotFound;
    config.relay.limits.requests_per_second_per_client = 0;
    let t = &mut config.relay.timeouts;
    t.connect = Duration::from_secs(1);
    t.response_header = Duration::from_millis(800);
    t.response_body = Duration::from_millis(800);
    t.total = Duration::from_secs(5);
    // Most tests send one token several times and count what reaches the target, each
    // request standing for one validation: answer reuse is off here and tested in
    // `burst.rs` with the default on.
    t.answer_reuse = Duration::ZERO;
    config
}

thread_local! {
    /// What the relay logged on this test's thread (tests run one per thread, on a
    /// current-thread runtime, so the relay's tasks log here too).
    static LOGS: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Starts capturing this thread's log lines (once per thread).
fn capture_logs() {
    LOGS.with(|logs| {
        let mut logs = logs.borrow_mut();
        if logs.is_none() {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let subscriber = tracing_subscriber::fmt()
                .with_writer(Capture(buffer.clone()))
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            // Kept for the thread's life: the test's thread ends with the test.
            std::mem::forget(tracing::subscriber::set_default(subscriber));
            *logs = Some(buffer);
        }
    });
}

/// Everything logged on this thread since the first relay started.
pub fn logs() -> String {
    LOGS.with(|logs| {
        logs.borrow()
            .as_ref()
            .map(|b| String::from_utf8_lossy(&b.lock().unwrap()).into_owned())
            .unwrap_or_default()
    })
}

/// Starts a relay for `config`, seeded with `seed`.
pub async fn start(config: &Config, seed: u64) -> TestRelay {
    capture_logs();
    config.validate("test").unwrap();
    let relay = Arc::new(Relay::from_config(config).unwrap().with_rng_seed(seed));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(http_relay::run(relay, vec![listener], async {
        let _ = stopped.await;
    }));
    TestRelay {
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Starts a relay with [`base_config`] changed by `tweak`.
pub async fn start_with(dns: &TestDns, tweak: impl FnOnce(&mut Config)) -> TestRelay {
    let mut config = base_config(dns);
    tweak(&mut config);
    start(&config, 7).await
}

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The relay's log line for this answer (found by its `x-request-id`), which holds
    /// the details the answer itself leaves out.
    pub fn details(&self) -> String {
        let id = self
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id in {self:?}"));
        let needle = format!("id={id} ");
        logs()
            .lines()
            .find(|line| line.contains(&needle))
            .unwrap_or_else(|| panic!("no log line with {needle}: {}", logs()))
            .to_owned()
    }
}

/// Sends raw bytes, reads until the server closes (or 10 s), returns what came back.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the first response in `text`.
pub fn parse(text: &str) -> Reply {
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// `METHOD path` with `Host: host` and `Connection: close`, plus `extra` header lines.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    extra: &[&str],
) -> Reply {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    parse(&raw(addr, text.as_bytes()).await)
}

/// `GET /.well-known/acme-challenge/<token>` for `host`.
pub async fn challenge(addr: SocketAddr, host: &str, token: &str) -> Reply {
    request(
        addr,
        "GET",
        host,
        &format!("/.well-known/acme-challenge/{token}"),
        &[],
    )
    .await
}

/// The SRV owner name for `domain` (http-01).
pub fn owner(domain: &str) -> String {
    format!("_acme-challenge._tcp.{domain}")
}

/// A target with `behaviour` that `domain`'s SRV record points at (`t.<domain>`, A
/// 127.0.0.1).
pub async fn srv_target(dns: &TestDns, domain: &str, behaviour: Behaviour) -> RecordingTarget {
    let target = RecordingTarget::start_on("127.0.0.1:0", behaviour).await;
    let host = format!("t.{domain}");
    dns.set_srv(&owner(domain), &[(0, 0, target.port(), &host)], 60)
        .await;
    dns.set_a(&host, &[std::net::Ipv4Addr::LOCALHOST], 60).await;
    target
}
