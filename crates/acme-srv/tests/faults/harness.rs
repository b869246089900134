//! The process under test and the load that measures it: a `serve` process with every
//! part, an upstream DNS server and targets in-process, the CA-style challenge load,
//! a writer that remembers what the API acknowledged, and a small tmpfs for the store.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use test_support::api_client::call_with_token;
use test_support::binary::AcmeSrv;
use test_support::dns_server::TestDns;
use test_support::recording_target::{Behaviour, RecordingTarget, key_authorization};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");
pub const TOKEN: &str = "faults-admin-token";
/// The domain whose challenges the CA load asks for.
pub const DOMAIN: &str = "ok.fault.test";
/// A domain whose target accepts and never answers.
pub const HANGING: &str = "hang.fault.test";
/// Bursts per phase, 5 requests each.
pub const BURSTS: usize = 30;

/// Held by each test for its whole run: the tests of this binary measure latencies and
/// exhaust resources, so they run one at a time.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// A tmpfs mounted for the store, unmounted on drop.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `"4m"`) at a new folder under `parent`.
    pub fn mount(parent: &Path, size: &str) -> Self {
        let path = parent.join("store");
        std::fs::create_dir_all(&path).unwrap();
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&path)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "the disk-full fault needs a small tmpfs: `mount -t tmpfs` failed ({status}); \
             run the tests as root (tests/run does, in CI)"
        );
        Self { path }
    }
}

impl Tmpfs {
    /// An empty tmpfs mounted read-only at a new folder under `parent`.
    pub fn mount_read_only(parent: &Path) -> Self {
        let path = parent.join("read-only");
        std::fs::create_dir_all(&path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,ro", "tmpfs"])
            .arg(&path)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a read-only tmpfs failed ({status}); run as root"
        );
        Self { path }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// Everything one run needs; the process is killed on drop.
pub struct Bench {
    pub srv: AcmeSrv,
    pub dns: TestDns,
    pub _target: RecordingTarget,
    pub _hanging: RecordingTarget,
    pub store: Tmpfs,
    pub _dir: tempfile::TempDir,
    /// Owners whose TXT write the API acknowledged, with the value.
    pub acknowledged: Vec<(String, String)>,
    writes: usize,
}

impl Bench {
    pub async fn start() -> Self {
        Self::start_under(&[], "").await
    }

    /// Starts the process through `wrapper` (e.g. `prlimit --nofile=…`), when not empty,
    /// with `extra` TOML tables appended to the configuration.
    pub async fn start_under(wrapper: &[&str], extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Tmpfs::mount(dir.path(), "4m");
        let dns = TestDns::start("fault.test.", 1).await;
        let target = RecordingTarget::start_on("127.0.0.1:0", Behaviour::Answer).await;
        let hanging = RecordingTarget::start_on("127.0.0.1:0", Behaviour::Hang).await;
        // TTL 1: the relay asks again every second, so "upstream DNS gone" exercises
        // serve-stale rather than a fresh cache.
        for (domain, port) in [(DOMAIN, target.port()), (HANGING, hanging.port())] {
            let host = format!("t.{domain}");
            dns.set_srv(
                &format!("_acme-challenge._tcp.{domain}"),
                &[(0, 0, port, &host)],
                1,
            )
            .await;
            dns.set_a(&host, &[std::net::Ipv4Addr::LOCALHOST], 1).await;
        }
        let config = dir.path().join("acme-srv.toml");
        std::fs::write(
            &config,
            format!(
                r#"[relay]
listen = ["127.0.0.1:0"]
other_requests = "not-found"
[relay.limits]
requests_per_second_per_client = 200
burst_per_client = 200
[challenge]
allow_domains = ["*.fault.test"]
[resolver]
servers = ["{dns}"]
timeout = "300ms"
attempts = 1
[targets]
allow_networks = ["127.0.0.0/8"]
allow_ports = ["1-65535"]
[dns]
listen = ["127.0.0.1:0"]
[[dns.zones]]
origin = "store.test"
records = ["ns1 300 IN A 127.0.0.1"]
[api]
listen = "127.0.0.1:0"
admin_token = "{TOKEN}"
[admin]
listen = "127.0.0.1:0"
[store]
url = "sqlite://{store}/acme-srv.sqlite"
{extra}
"#,
                dns = dns.addr(),
                store = store.path.display(),
            ),
        )
        .unwrap();
        let config = config.to_string_lossy();
        let serve = [BIN, "serve", "--config", &config];
        let srv = match wrapper.split_first() {
            None => AcmeSrv::start(BIN, &serve[1..]).await,
            Some((program, args)) => {
                let args: Vec<&str> = args.iter().copied().chain(serve).collect();
                AcmeSrv::start(program, &args).await
            }
        }
        .unwrap();
        // The DNS server must be able to stop and come back on its address.
        dns.clear_questions();
        Self {
            srv,
            dns,
            _target: target,
            _hanging: hanging,
            store,
            _dir: dir,
            acknowledged: Vec::new(),
            writes: 0,
        }
    }

    pub fn relay(&self) -> SocketAddr {
        self.srv.addr("http")
    }

    pub fn api(&self) -> SocketAddr {
        self.srv.addr("api")
    }

    /// One TXT write through the API; remembered when acknowledged. The status.
    pub async fn write(&mut self) -> u16 {
        self.writes += 1;
        let owner = format!("w{}.store.test", self.writes);
        let value = format!("value-{}", self.writes);
        let body = format!(r#"{{"ttl":60,"records":[{{"type":"TXT","value":"{value}"}}]}}"#);
        let answer = call_with_token(
            self.api(),
            "PUT",
            &format!("/v1/records/{owner}/TXT"),
            TOKEN,
            Some(&body),
        )
        .await;
        if answer.status == 200 {
            self.acknowledged.push((owner, value));
        } else {
            println!("faults: write {owner}: {} {}", answer.status, answer.body);
        }
        answer.status
    }
}

/// What one phase of the CA load saw.
#[derive(Debug)]
pub struct Round {
    pub requests: usize,
    pub succeeded: usize,
    pub latencies: Vec<Duration>,
}

impl Round {
    pub fn p(&self, quantile: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }
}

/// `bursts` CA-style bursts against `relay`: per burst a fresh token, 5 concurrent GETs
/// from 127.0.0.10 to 127.0.0.14, each on a fresh connection. Bounded by count; each
/// request by 20 s.
pub async fn ca_round(relay: SocketAddr, bursts: usize, label: &str) -> Round {
    let mut round = Round {
        requests: 0,
        succeeded: 0,
        latencies: Vec::new(),
    };
    for burst in 0..bursts {
        let token = format!("{label}-{burst}-{}", rand_suffix());
        let requests: Vec<_> = (10..15)
            .map(|host| {
                let token = token.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let ok = challenge_from(&format!("127.0.0.{host}"), relay, &token).await;
                    (ok, started.elapsed())
                })
            })
            .collect();
        for request in requests {
            let (ok, took) = request.await.unwrap();
            round.requests += 1;
            round.latencies.push(took);
            if ok {
                round.succeeded += 1;
            }
        }
    }
    round
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One challenge from `local`; whether the answer was 200 with the key authorization.
async fn challenge_from(local: &str, relay: SocketAddr, token: &str) -> bool {
    let request = format!(
        "GET /.well-known/acme-challenge/{token} HTTP/1.1\r\nHost: {DOMAIN}\r\n\
         User-Agent: faults-ca\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    let exchange = async {
        let mut stream = connect_from(local, relay).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(String::from_utf8_lossy(&answer).into_owned())
    };
    match tokio::time::timeout(Duration::from_secs(20), exchange).await {
        Ok(Some(answer)) => {
            answer.starts_with("HTTP/1.1 200") && answer.ends_with(&key_authorization(token))
        }
        _ => false,
    }
}

/// A TCP connection from `local` (any port) to `to`.
pub async fn connect_from(local: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{local}:0").parse().unwrap())?;
    socket.connect(to).await
}
