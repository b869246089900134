//! The real programs used for interop tests: pebble (the test CA), lego and certbot (ACME
//! clients) and nginx (a reference HTTP server), run on loopback only.
//!
//! These programs come from Debian packages. They are never assumed to be present:
//! [`require`] finds one or fails with a message naming the package to install (the
//! project's `tests/run` script installs all of them on a fresh machine). A test must not
//! quietly pass without them; the one way to skip interop tests is to set
//! `ACME_SRV_SKIP_INTEROP=1`, which [`interop_opted_out`] reports loudly. CI never sets it.
//!
//! Every process is started through `tokio::process` with `kill_on_drop(true)`, so a
//! failing test never leaves a program running. Long-running programs ([`pebble::Pebble`],
//! [`nginx::Nginx`]) are ready when their port accepts connections, found by a bounded poll
//! loop, never by a fixed sleep. One-shot clients ([`lego`], [`certbot`]) run under
//! [`CLIENT_TIMEOUT`] and are killed when it runs out. Every error carries the program's
//! whole output so a failure can be understood from the test log alone.
//!
//! PostgreSQL, for the store's tests, is [`postgres`]: throwaway clusters and a fresh
//! database per test.
//!
//! The verified commands and their gotchas are in `shared/interop-notes.md`.

pub mod bind;
pub mod certbot;
pub mod dig;
pub mod knot;
pub mod lego;
pub mod nginx;
pub mod nsupdate;
pub mod pebble;
pub mod postgres;
pub mod unbound;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The environment variable that, set to `1`, skips the interop tests (see
/// [`interop_opted_out`]).
pub const SKIP_INTEROP_VAR: &str = "ACME_SRV_SKIP_INTEROP";

/// How long a one-shot ACME client ([`lego`], [`certbot`]) may run before it is killed.
///
/// A successful lego run takes about 6 s and certbot about 2.5 s on loopback; the margin
/// is for a loaded 2-core machine.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a long-running program ([`pebble::Pebble`], [`nginx::Nginx`]) may take to
/// accept connections after it was started.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// The interval between two readiness checks of a starting program.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Directories searched after `PATH`: Debian puts daemons such as nginx in `/usr/sbin`,
/// which is not on a normal user's `PATH`.
const EXTRA_SEARCH_DIRS: [&str; 2] = ["/usr/sbin", "/usr/bin"];

/// Proxy variables removed from every program's environment, so that no request leaves
/// loopback through a proxy configured on the machine.
const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// Finds `program` on `PATH`, then in `/usr/sbin` and `/usr/bin`.
///
/// # Errors
///
/// When no executable file of that name exists, with a message naming the Debian package
/// that provides it and saying that `tests/run` installs it.
pub fn require(program: &str) -> anyhow::Result<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| {
            let package = debian_package_for(program);
            anyhow::anyhow!(
                "the interop tests need the program `{program}`, which is not on PATH, in \
                 /usr/sbin or in /usr/bin: install the Debian package `{package}` \
                 (`apt-get install -y {package}`); `tests/run` installs it on a fresh machine. \
                 To skip the interop tests deliberately, set {SKIP_INTEROP_VAR}=1."
            )
        })
}

/// True only when `ACME_SRV_SKIP_INTEROP=1` is set: the operator chose to skip the tests
/// that run real programs. CI never sets it.
///
/// When it returns true it also says so on the process's standard error, written directly
/// so that the test harness's output capture does not hide it: a skipped test must be
/// visible. Tests use it as
/// `if programs::interop_opted_out() { return Ok(()); }`.
pub fn interop_opted_out() -> bool {
    let opted_out = std::env::var(SKIP_INTEROP_VAR).is_ok_and(|value| value == "1");
    if opted_out {
        // Best effort: a closed stderr must not turn a skip into a failure.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: interop test not run because {SKIP_INTEROP_VAR}=1 is set; \
             it runs real programs (pebble, lego, certbot, nginx)"
        );
    }
    opted_out
}

/// A free TCP port on 127.0.0.1, for programs that cannot report the port they bound
/// (pebble's listeners and its `httpPort`/`tlsPort`, lego's and certbot's challenge
/// servers, nginx). Everything the project starts itself binds port 0 and reports the
/// address instead.
///
/// The port is taken below the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), so no outgoing connection and no bind to
/// port 0 can take it between this call and the program's own bind: with ports from
/// that range, lego once found its port taken by a connection of a test running beside
/// it. Successive calls in one process walk through the ports (from a start that depends
/// on the process id), so parallel tests get different ones; a port is returned only if
/// it can be bound now. Without room below the range, the kernel's choice for port 0 is
/// used.
///
/// # Panics
///
/// When no socket can be bound on 127.0.0.1, which means the machine has no usable
/// loopback and no interop test can run.
pub fn free_tcp_port() -> u16 {
    /// The lowest port handed out: above the well-known and common service ports.
    const FIRST: u32 = 10_000;
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    if ephemeral_low > FIRST + 1_000 {
        let span = ephemeral_low - FIRST;
        let start = std::process::id().wrapping_mul(7_919) % span;
        for _ in 0..span {
            let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let port = FIRST + (start + call) % span;
            let port = u16::try_from(port).expect("ports below the ephemeral range fit in u16");
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return port;
            }
        }
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("binding 127.0.0.1:0 to find a free TCP port");
    listener
        .local_addr()
        .expect("reading the local address of a socket bound to 127.0.0.1:0")
        .port()
}

/// A certificate an ACME client obtained, with the client's state directory that holds it.
///
/// The files live as long as this value: the directory is removed when it is dropped.
#[derive(Debug)]
pub struct IssuedCertificate {
    cert_path: PathBuf,
    client_output: String,
    _state_dir: TempDir,
}

impl IssuedCertificate {
    /// The issued certificate chain (leaf first), PEM-encoded.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// Everything the client wrote to stdout and stderr, interleaved.
    pub fn client_output(&self) -> &str {
        &self.client_output
    }

    /// Reads and decodes the PEM certificates in [`Self::cert_path`], leaf first.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, is not PEM, or holds no certificate.
    pub fn read_chain(&self) -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let path = &self.cert_path;
        let chain = CertificateDer::pem_file_iter(path)
            .with_context(|| format!("opening {}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("decoding the PEM certificates in {}", path.display()))?;
        if chain.is_empty() {
            bail!("{} holds no PEM certificate", path.display());
        }
        Ok(chain)
    }
}

fn search_dirs() -> Vec<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(EXTRA_SEARCH_DIRS.iter().map(PathBuf::from))
        .collect()
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// The Debian package that ships `program`, for the programs the project's tests use.
fn debian_package_for(program: &str) -> &str {
    match program {
        "pebble" | "pebble-challtestsrv" => "pebble",
        "dig" | "nsupdate" => "bind9-dnsutils",
        "named" | "named-checkconf" | "named-checkzone" => "bind9",
        "kdig" | "knsupdate" => "knot-dnsutils",
        "knotd" | "knotc" => "knot",
        "nsd" | "nsd-control" => "nsd",
        "psql" | "postgres" | "pg_ctl" | "initdb" => "postgresql",
        // lego, certbot, nginx, haproxy, dnsperf, wrk: the package has the program's name.
        other => other,
    }
}

/// Builds a command for a real program: loopback-only environment (no proxies), output
/// piped for capture, killed when the handle is dropped.
pub(crate) fn loopback_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for var in PROXY_VARS {
        command.env_remove(var);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Quotes `text` as a JSON string, for the few configuration files written by hand.
pub(crate) fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            control if u32::from(control) < 0x20 => {
                quoted.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// The stdout and stderr of a child process, read in the background into one buffer,
/// line by line in arrival order, so that failure messages can show them.
#[derive(Debug)]
pub(crate) struct CapturedOutput {
    text: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl CapturedOutput {
    /// Takes the child's piped stdout and stderr and starts reading them.
    pub(crate) fn attach(child: &mut Child) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::with_capacity(2);
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(append_lines(stdout, Arc::clone(&text))));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(append_lines(stderr, Arc::clone(&text))));
        }
        Self { text, readers }
    }

    /// What has been read so far.
    pub(crate) fn snapshot(&self) -> String {
        self.text
            .lock()
            .expect("captured output lock poisoned")
            .clone()
    }

    /// Waits (briefly, bounded) until both streams are at end of file, then returns
    /// everything. Call it after the child exited.
    pub(crate) async fn finish(self) -> String {
        let readers_done = async {
            for reader in self.readers {
                // A reader task only ends at end of file or on a read error; either way
                // the text it read is already in the buffer.
                let _ = reader.await;
            }
        };
        // A grandchild could keep a pipe open: do not wait for it forever.
        let _ = tokio::time::timeout(Duration::from_secs(5), readers_done).await;
        self.text
            .lock()
            .expect("captured output lock poisoned")
            .clone()
    }
}

async fn append_lines(stream: impl AsyncRead + Unpin, text: Arc<Mutex<String>>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => text
                .lock()
                .expect("captured output lock poisoned")
                .push_str(&String::from_utf8_lossy(&line)),
        }
    }
}

/// A program that runs until the test is done with it; killed when dropped.
#[derive(Debug)]
pub(crate) struct RunningProgram {
    name: &'static str,
    child: Child,
    output: CapturedOutput,
}

impl RunningProgram {
    /// Spawns `command` (built with [`loopback_command`]).
    pub(crate) fn spawn(name: &'static str, mut command: Command) -> anyhow::Result<Self> {
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        let output = CapturedOutput::attach(&mut child);
        Ok(Self {
            name,
            child,
            output,
        })
    }

    /// What the program wrote to stdout and stderr so far.
    pub(crate) fn output(&self) -> String {
        self.output.snapshot()
    }

    /// Polls until every address in `addrs` accepts a TCP connection, within
    /// [`STARTUP_DEADLINE`].
    ///
    /// Fails early if the program exits. Errors carry the program's output; `more_context`
    /// adds whatever else explains a failure (a log file, say).
    pub(crate) async fn wait_until_listening(
        &mut self,
        addrs: &[SocketAddr],
        more_context: impl Fn() -> String,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        for addr in addrs {
            loop {
                if let Some(status) = self.child.try_wait().context("checking the child")? {
                    bail!(
                        "{} exited with {status} before listening on {addr}\n{}{}",
                        self.name,
                        self.describe_output(),
                        more_context()
                    );
                }
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                if Instant::now() >= deadline {
                    bail!(
                        "{} did not listen on {addr} within {STARTUP_DEADLINE:?}\n{}{}",
                        self.name,
                        self.describe_output(),
                        more_context()
                    );
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
        Ok(())
    }

    /// Kills the program and waits until it has exited, so that its ports are free when
    /// this returns. Dropping the value kills it too, without waiting.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .await
            .with_context(|| format!("killing {}", self.name))
    }

    fn describe_output(&self) -> String {
        format!("--- {} output ---\n{}", self.name, self.output())
    }
}

/// How a one-shot program ended: its exit status and its whole output.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) output: String,
}

/// Runs `command` (built with [`loopback_command`]) to completion within `timeout`.
///
/// A non-zero exit is returned as `Ok`: the caller decides what it means.
///
/// # Errors
///
/// When the program cannot be started, or does not finish within `timeout`, in which
/// case it is killed and the error carries what it wrote until then.
pub(crate) async fn run_to_completion(
    name: &str,
    mut command: Command,
    timeout: Duration,
) -> anyhow::Result<Finished> {
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {name} ({command:?})"))?;
    let output = CapturedOutput::attach(&mut child);
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => {
            let status = status.with_context(|| format!("waiting for {name}"))?;
            let output = output.finish().await;
            Ok(Finished { status, output })
        }
        Err(_elapsed) => {
            let killed = child.kill().await;
            let output = output.finish().await;
            bail!(
                "{name} did not finish within {timeout:?} and was killed (kill: {killed:?}); \
                 its output until then:\n{output}"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_differ_and_stay_out_of_the_ephemeral_range() {
        let ephemeral_low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let ports: Vec<u16> = (0..20).map(|_| free_tcp_port()).collect();
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        for port in ports {
            if ephemeral_low > 11_000 {
                assert!((10_000..ephemeral_low).contains(&port), "{port}");
            }
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("the port is free");
        }
    }
}
