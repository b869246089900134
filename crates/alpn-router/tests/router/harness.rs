//! Starting the router in-process on `127.0.0.1:0` against a test DNS server, recording
//! backends, and ClientHellos built to order.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alpn_router::{Router, RouterHandle};
use config::{BackendConfig, Config, NamedBackendConfig, PortRange, ProxyProtocol, RouterConfig};
use target_resolver::TargetResolver;
use test_support::dns_server::TestDns;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The zone every test's names live in.
pub const ZONE: &str = "test.";

/// A test DNS server for `test.` with a 1 s negative TTL.
pub async fn dns() -> TestDns {
    TestDns::start(ZONE, 1).await
}

/// The configuration tests start from: validations allowed for everything under
/// `test.`, loopback targets allowed, short timeouts, no backends.
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
    let mut router = RouterConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        ..RouterConfig::default()
    };
    router.timeouts.connect = Duration::from_secs(1);
    router.timeouts.challenge = Duration::from_secs(5);
    config.router = Some(router);
    config
}

/// Adds a backend for `names` at `addr`.
pub fn add_backend(config: &mut Config, names: &[&str], addr: SocketAddr, pp: ProxyProtocol) {
    let router = config.router.as_mut().unwrap();
    router.backends.push(NamedBackendConfig {
        server_names: names.iter().map(|n| (*n).to_owned()).collect(),
        address: addr.to_string(),
        proxy_protocol: pp,
    });
}

/// Sets the default backend.
pub fn set_default(config: &mut Config, addr: SocketAddr) {
    config.router.as_mut().unwrap().default_backend = Some(BackendConfig {
        address: addr.to_string(),
        proxy_protocol: ProxyProtocol::Off,
    });
}

/// A running router; stops when dropped.
pub struct TestRouter {
    pub addr: SocketAddr,
    pub handle: Arc<RouterHandle>,
    resolver: Arc<TargetResolver>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl TestRouter {
    /// Puts the router of `config` in place, as a reload does.
    pub fn reload(&self, config: &Config) {
        config.validate("test reload").unwrap();
        self.handle
            .replace(Router::from_config(config, self.resolver.clone()).with_rng_seed(7));
    }

    /// Stops accepting and waits for open tunnels (up to the drain timeout).
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), self.task.take().unwrap())
            .await
            .unwrap()
            .unwrap();
    }
}

/// Starts the router of `config` on its first listen address.
pub async fn start(config: &Config) -> TestRouter {
    config.validate("test").unwrap();
    let resolver = Arc::new(TargetResolver::new((&config.resolver).into()).unwrap());
    let router = Router::from_config(config, resolver.clone()).with_rng_seed(7);
    let handle = Arc::new(RouterHandle::new(router));
    let bounds = Arc::new(alpn_router::listener_bounds(config));
    let listener = TcpListener::bind(config.router.as_ref().unwrap().listen[0])
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(alpn_router::run(
        handle.clone(),
        bounds,
        vec![listener],
        async {
            let _ = stopped.await;
        },
    ));
    TestRouter {
        addr,
        handle,
        resolver,
        stop: Some(stop),
        task: Some(task),
    }
}

/// A backend (or challenge target) that records the bytes of each connection until the
/// client's EOF, then answers `<name>:<bytes received>` and closes.
pub struct Backend {
    pub addr: SocketAddr,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    pub async fn start(name: &'static str) -> Self {
        Self::start_on("127.0.0.1:0", name).await
    }

    pub async fn start_on(bind: &str, name: &'static str) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = received.clone();
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut bytes = Vec::new();
                    let _ = stream.read_to_end(&mut bytes).await;
                    let answer = format!("{name}:{}", bytes.len());
                    seen.lock().unwrap().push(bytes);
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self {
            addr,
            accepted,
            received,
            task,
        }
    }

    /// Waits (up to 10 s) until `n` connections have reached this backend.
    pub async fn wait_for_connections(&self, n: usize) {
        let reached = tokio::time::timeout(Duration::from_secs(10), async {
            while self.accepted.load(std::sync::atomic::Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            reached.is_ok(),
            "{n} connection(s) never reached the backend"
        );
    }

    /// The bytes of each finished connection, in order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }
}

/// Sends `bytes`, ends the sending half, and returns everything the router sent back
/// until it closed (within 10 s).
pub async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.shutdown().await.unwrap();
    read_all(&mut stream).await
}

/// Everything until EOF or a reset, within 10 s.
pub async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the router did not close within 10 s");
    out
}

/// The fatal `unrecognized_name` alert the router sends when no backend serves a name.
pub const UNRECOGNIZED_NAME: &[u8] = &[21, 3, 3, 0, 2, 2, 112];
/// The fatal `internal_error` alert: the backend or target could not be reached.
pub const INTERNAL_ERROR: &[u8] = &[21, 3, 3, 0, 2, 2, 80];

/// A ClientHello with `sni` and the ALPN `protocols`.
pub fn hello(sni: Option<&str>, protocols: &[&str]) -> Vec<u8> {
    test_support::tls::client_hello(sni, protocols)
}

/// A port nothing listens on.
pub async fn refused_port() -> u16 {
    test_support::recording_target::refused_port().await
}
