//! What every interop test sets up: the test DNS zone with the domain's A record and its
//! SRV record, the real relay process, pebble, and the checks that prove the certificate
//! came through the relay. Also a small HAProxy runner (test-support has none).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use test_support::binary::AcmeSrv;
use test_support::dns_server::TestDns;
use test_support::programs::pebble::{Pebble, PebbleOptions};
use test_support::programs::{self, IssuedCertificate, STARTUP_DEADLINE};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// The zone every test's names live in.
pub const ZONE: &str = "test.";

/// TTL of every record the tests publish.
const TTL: u32 = 60;

/// The ports the relay may connect to: every unprivileged port, so the clients' free
/// ports and the dead port of the failover test are all allowed by the target policy.
pub const ALLOW_PORTS: &str = "1024-65535";

/// How long the relay's log may lag behind what the client already saw.
const LOG_DEADLINE: Duration = Duration::from_secs(10);

/// The address a front-end proxy (nginx, HAProxy) connects to the relay from.
///
/// Not 127.0.0.1, which is where pebble's requests come from: the relay then logs
/// `client=127.0.0.1` only if it believed the proxy's `X-Forwarded-For`, and
/// `client=127.0.0.2` if it did not. (Linux routes all of 127.0.0.0/8 to loopback.)
pub const PROXY_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The address pebble's validation requests come from (and every A record points to).
pub const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The http-01 SRV owner name for `domain`.
pub fn owner(domain: &str) -> String {
    format!("_acme-challenge._tcp.{domain}")
}

/// The name of the host where the ACME client runs: the SRV target for `domain`.
pub fn client_host(domain: &str) -> String {
    format!("acme-client.{domain}")
}

/// The path of the real `acme-srv` binary built for this test.
pub fn acme_srv_bin() -> &'static str {
    env!("CARGO_BIN_EXE_acme-srv")
}

/// A file shipped in the repository (`deploy/...`), read as text.
pub fn shipped_file(relative: &str) -> anyhow::Result<String> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", relative]
        .iter()
        .collect();
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// Starts a test DNS server for [`ZONE`] with `domain` → 127.0.0.1 (what pebble asks),
/// `_acme-challenge._tcp.<domain>` → `srv` records, and 127.0.0.1 for every SRV target.
pub async fn dns_for(domain: &str, srv: &[(u16, u16, u16, &str)]) -> TestDns {
    let dns = TestDns::start(ZONE, 1).await;
    dns.set_a(domain, &[LOOPBACK], TTL).await;
    for &(_, _, _, target) in srv {
        dns.set_a(target, &[LOOPBACK], TTL).await;
    }
    dns.set_srv(&owner(domain), srv, TTL).await;
    dns
}

/// Starts the real relay on `127.0.0.1:0`, resolving through `dns`, relaying `domain`
/// to loopback targets on [`ALLOW_PORTS`]; `extra` is appended (`--config FILE`, say).
pub async fn start_relay(dns: &TestDns, domain: &str, extra: &[&str]) -> anyhow::Result<AcmeSrv> {
    let dns_server = dns.addr().to_string();
    let mut args = vec![
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns_server,
        "--allow-domain",
        domain,
        "--allow-target",
        "127.0.0.0/8",
        "--allow-port",
        ALLOW_PORTS,
        "--other-requests",
        "not-found",
    ];
    args.extend_from_slice(extra);
    AcmeSrv::start(acme_srv_bin(), &args)
        .await
        .context("starting the relay")
}

/// The tls-alpn-01 SRV owner name for `domain`.
pub fn tls_owner(domain: &str) -> String {
    format!("_acme-tls-alpn._tcp.{domain}")
}

/// Starts the real router on `127.0.0.1:0`, resolving through `dns`, routing
/// validations for `domain` to loopback targets on [`ALLOW_PORTS`]; `extra` is appended
/// (`--default-backend ADDR`, say).
pub async fn start_router(dns: &TestDns, domain: &str, extra: &[&str]) -> anyhow::Result<AcmeSrv> {
    let dns_server = dns.addr().to_string();
    let mut args = vec![
        "router",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns_server,
        "--allow-domain",
        domain,
        "--allow-target",
        "127.0.0.0/8",
        "--allow-port",
        ALLOW_PORTS,
    ];
    args.extend_from_slice(extra);
    AcmeSrv::start(acme_srv_bin(), &args)
        .await
        .context("starting the router")
}

/// Starts pebble sending http-01 requests to `http_port`, resolving through `dns`.
pub async fn start_pebble(dns: &TestDns, http_port: u16) -> anyhow::Result<Pebble> {
    Pebble::start(PebbleOptions {
        http_port,
        tls_port: programs::free_tcp_port(),
        dns_server: dns.addr(),
    })
    .await
}

/// What to attach to a client's failure: the relay's log and pebble's output.
pub fn diagnostics(relay: &AcmeSrv, pebble: &Pebble) -> String {
    format!(
        "--- relay log ---\n{}\n--- pebble output ---\n{}",
        relay.log_text(),
        pebble.output()
    )
}

/// Checks the issued chain: a leaf and an issuer, and the leaf names `domain` (its SAN
/// holds the name's bytes as they are).
pub fn assert_certificate_for(cert: &IssuedCertificate, domain: &str) -> anyhow::Result<()> {
    let chain = cert.read_chain()?;
    let leaf = chain.first().context("empty chain")?;
    ensure!(
        !leaf.as_ref().is_empty(),
        "the leaf certificate in {} is empty",
        cert.cert_path().display()
    );
    ensure!(
        contains(leaf.as_ref(), domain.as_bytes()),
        "the leaf certificate in {} does not name {domain}",
        cert.cert_path().display()
    );
    Ok(())
}

/// Waits for the relay's `relayed challenge` line for `domain` with status 200 that went
/// to `address` (the SRV target's), and returns it.
pub async fn relayed_line(
    relay: &AcmeSrv,
    domain: &str,
    address: SocketAddr,
) -> anyhow::Result<String> {
    let wanted = [
        "relayed challenge".to_owned(),
        format!("domain={domain} "),
        format!("address={address} "),
        "status=200 ".to_owned(),
    ];
    let deadline = Instant::now() + LOG_DEADLINE;
    loop {
        let lines = relay.log_lines();
        if let Some(line) = lines
            .iter()
            .find(|line| wanted.iter().all(|part| line.contains(part.as_str())))
        {
            return Ok(line.clone());
        }
        if Instant::now() >= deadline {
            bail!(
                "the relay logged no line containing all of {wanted:?} within {LOG_DEADLINE:?}; \
                 its log:\n{}",
                lines.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Checks that the relay asked `dns` the SRV question for `domain`.
pub fn assert_srv_asked(dns: &TestDns, domain: &str) -> anyhow::Result<()> {
    let owner = owner(domain);
    let srv_questions = dns
        .questions()
        .into_iter()
        .filter(|q| {
            q.record_type.to_string() == "SRV"
                && q.name.trim_end_matches('.').eq_ignore_ascii_case(&owner)
        })
        .count();
    ensure!(
        dns.questions_for(&owner) > 0 && srv_questions > 0,
        "the DNS server was never asked SRV {owner}; questions: {:?}",
        dns.questions()
    );
    Ok(())
}

/// The socket address `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((IpAddr::V4(LOOPBACK), port))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The text replaced by HAProxy's port in the configuration given to
/// [`Haproxy::start`].
pub const PORT_PLACEHOLDER: &str = "@PORT@";

/// A running HAProxy (`haproxy -f CFG -db`, in the foreground); killed when dropped.
pub struct Haproxy {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Writes `config` (which must `bind 127.0.0.1:@PORT@`) with `@PORT@` replaced by a
    /// free port, starts HAProxy, and returns once that port accepts connections.
    ///
    /// # Errors
    ///
    /// When the text does not bind loopback, HAProxy is not installed, or it exits or does
    /// not listen within [`STARTUP_DEADLINE`]; the error carries HAProxy's output.
    pub async fn start(config: &str) -> anyhow::Result<Self> {
        let bind = format!("bind 127.0.0.1:{PORT_PLACEHOLDER}");
        ensure!(
            config.contains(&bind),
            "the HAProxy configuration must contain `{bind}`; got:\n{config}"
        );
        let program = programs::require("haproxy")?;
        let dir = tempfile::tempdir().context("creating HAProxy's directory")?;
        let addr = loopback(programs::free_tcp_port());
        let config = config.replace(PORT_PLACEHOLDER, &addr.port().to_string());
        let config_path = dir.path().join("haproxy.cfg");
        std::fs::write(&config_path, &config)
            .with_context(|| format!("writing {}", config_path.display()))?;

        let mut child = Command::new(&program)
            .arg("-f")
            .arg(&config_path)
            .arg("-db")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let output = Arc::new(Mutex::new(String::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(append_lines(stdout, Arc::clone(&output)));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(append_lines(stderr, Arc::clone(&output)));
        }
        let mut haproxy = Self {
            child,
            addr,
            output,
            _dir: dir,
        };
        haproxy.wait_until_listening(&config_path, &config).await?;
        Ok(haproxy)
    }

    /// The address HAProxy's frontend binds, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What HAProxy wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        format!(
            "--- haproxy output ---\n{}",
            self.output.lock().unwrap().clone()
        )
    }

    async fn wait_until_listening(
        &mut self,
        config_path: &Path,
        config: &str,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().context("checking haproxy")? {
                // Let the readers drain what it wrote before it exited.
                tokio::time::sleep(Duration::from_millis(100)).await;
                bail!(
                    "haproxy exited with {status} before listening on {}\n{}\n--- {} ---\n{config}",
                    self.addr,
                    self.output(),
                    config_path.display()
                );
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "haproxy did not listen on {} within {STARTUP_DEADLINE:?}\n{}\n--- {} ---\n{config}",
                    self.addr,
                    self.output(),
                    config_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn append_lines(stream: impl AsyncRead + Unpin, text: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut text = text.lock().unwrap();
        text.push_str(&line);
        text.push('\n');
    }
}

/// The relay's address as written in the shipped nginx and HAProxy snippets.
pub const SHIPPED_RELAY_ADDR: &str = "127.0.0.1:8080";

/// A relay behind a front end: DNS for `domain` with lego's SRV target on `lego_port`,
/// and a relay whose config file trusts [`PROXY_SOURCE`]. The temp dir holds the file.
pub async fn relay_behind_proxy(
    domain: &str,
    lego_port: u16,
) -> anyhow::Result<(TestDns, AcmeSrv, tempfile::TempDir)> {
    let target = client_host(domain);
    let dns = dns_for(domain, &[(10, 0, lego_port, &target)]).await;
    let config_dir = tempfile::tempdir()?;
    let config_path = config_dir.path().join("acme-srv.toml");
    std::fs::write(
        &config_path,
        format!("[relay]\ntrusted_proxies = [\"{PROXY_SOURCE}/32\"]\n"),
    )?;
    let config_arg = config_path.to_string_lossy().into_owned();
    let relay = start_relay(&dns, domain, &["--config", &config_arg]).await?;
    Ok((dns, relay, config_dir))
}

/// The shipped snippet at `relative` with the relay's address put in.
pub fn shipped_snippet(relative: &str, relay: &AcmeSrv) -> anyhow::Result<String> {
    let snippet = shipped_file(relative)?;
    anyhow::ensure!(
        snippet.contains(SHIPPED_RELAY_ADDR),
        "{relative} no longer names the relay as {SHIPPED_RELAY_ADDR}"
    );
    Ok(snippet.replace(SHIPPED_RELAY_ADDR, &relay.addr("http").to_string()))
}
