//! Throwaway PostgreSQL clusters for the store's tests: Debian's binaries
//! (`/usr/lib/postgresql/*/bin`, package `postgresql`), a cluster in a temporary
//! directory owned by an unprivileged user, on a free 127.0.0.1 port, Unix sockets in
//! that directory, `fsync` on, no system service.
//!
//! - [`test_database`]: a fresh, empty database (`t_<random>`) for one test, on the
//!   cluster shared by the test process. When `ACME_SRV_TEST_POSTGRES_URL` is set
//!   (`tests/run` starts one cluster for the whole run with `tests/postgres-cluster.sh`
//!   and exports it), that cluster is used; otherwise the first call starts one, which a
//!   watchdog stops and removes once the test process has ended. Each test has its own
//!   database, so tests run in parallel. `Ok(None)` only when the operator opted out of
//!   interop tests ([`super::interop_opted_out`]) and no cluster was given.
//! - [`Cluster::start`]: a cluster of the test's own, which it can stop and start again
//!   (connection loss); stopped and removed when dropped.
//!
//! A missing PostgreSQL is an error naming the package (`apt-get install postgresql`).
//! Readiness is `pg_isready` polled in a bounded loop, never a fixed sleep. The clusters
//! trust connections from 127.0.0.1 without a password (they are throwaway, on
//! loopback); the superuser is `acme`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use super::{POLL_INTERVAL, STARTUP_DEADLINE, free_tcp_port, interop_opted_out, require};

/// The variable naming a running cluster's maintenance database
/// (`postgres://acme@127.0.0.1:PORT/postgres`) for the tests to create theirs in.
pub const URL_VAR: &str = "ACME_SRV_TEST_POSTGRES_URL";

/// The cluster's superuser.
pub const SUPERUSER: &str = "acme";

/// The user the server runs as when the tests run as root (initdb and postgres refuse
/// to run as root).
const UNPRIVILEGED_USER: &str = "nobody";

/// A fresh database on the test process's shared cluster, or `None` when interop tests
/// are skipped (see the module documentation). Dropped with the returned value.
///
/// # Errors
///
/// When PostgreSQL is not installed (naming the package), or the cluster cannot be
/// started or the database created; the errors carry the programs' output.
pub async fn test_database() -> anyhow::Result<Option<TestDatabase>> {
    tokio::task::spawn_blocking(|| {
        let admin_url = match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ if interop_opted_out() => return Ok(None),
            _ => shared_cluster()?.admin_url(),
        };
        TestDatabase::create(&admin_url).map(Some)
    })
    .await
    .context("creating a test database")?
}

/// The cluster the first [`test_database`] call of this process started.
fn shared_cluster() -> anyhow::Result<&'static Cluster> {
    static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let cluster = Cluster::start().map_err(|e| format!("{e:#}"))?;
            cluster
                .stop_when_process_ends()
                .map_err(|e| format!("{e:#}"))?;
            Ok(cluster)
        })
        .as_ref()
        .map_err(|e| anyhow::anyhow!("starting the shared PostgreSQL test cluster: {e}"))
}

/// A database created for one test; dropped (with `--force`) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a database named `t_<random>` through the maintenance database at
    /// `admin_url`.
    fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("t_{:016x}", random_u64());
        run_client(
            "createdb",
            &[&format!("--maintenance-db={admin_url}"), &name],
        )?;
        Ok(Self {
            url: with_database(admin_url, &name)?,
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// The database's URL, `postgres://acme@127.0.0.1:PORT/t_…`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort: the cluster is thrown away anyway.
        let _ = run_client(
            "dropdb",
            &[
                &format!("--maintenance-db={}", self.admin_url),
                "--force",
                &self.name,
            ],
        );
    }
}

/// A throwaway cluster: data and sockets in a temporary directory, owned by an
/// unprivileged user when the tests run as root, on a free loopback port. Stopped
/// (immediately) and removed when dropped.
#[derive(Debug)]
pub struct Cluster {
    dir: TempDir,
    port: u16,
    bin: PathBuf,
    /// The user the server runs as, when not the current one.
    run_as: Option<&'static str>,
}

impl Cluster {
    /// Creates a cluster with `initdb` and starts it; returns once it accepts
    /// connections.
    ///
    /// # Errors
    ///
    /// When PostgreSQL is not installed (naming the package), or `initdb` or the server
    /// fail; the errors carry their output and the server log.
    pub fn start() -> anyhow::Result<Self> {
        let bin = binaries()?;
        let dir = tempfile::Builder::new()
            .prefix("acme-srv-pg-")
            .tempdir()
            .context("creating the cluster directory")?;
        let run_as = is_root().then_some(UNPRIVILEGED_USER);
        if let Some(user) = run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .context("running chown")?;
            if !status.success() {
                bail!("chown {user} {} failed: {status}", dir.path().display());
            }
        }
        let cluster = Self {
            port: free_tcp_port(),
            dir,
            bin,
            run_as,
        };
        cluster.run(
            "initdb",
            &[
                "--pgdata",
                &cluster.data_dir(),
                "--username",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
        )?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// The maintenance database's URL, `postgres://acme@127.0.0.1:PORT/postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// A fresh database on this cluster.
    ///
    /// # Errors
    ///
    /// When `createdb` fails.
    pub fn create_database(&self) -> anyhow::Result<TestDatabase> {
        TestDatabase::create(&self.admin_url())
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are disconnected), keeping
    /// the data; [`start_again`](Self::start_again) starts it on the same port.
    ///
    /// # Errors
    ///
    /// When `pg_ctl` fails.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &["stop", "--pgdata", &self.data_dir(), "-m", "fast", "-w"],
        )
        .map(drop)
    }

    /// Starts the stopped server again; returns once it accepts connections.
    ///
    /// # Errors
    ///
    /// When the server does not start (its log is in the error).
    pub fn start_again(&self) -> anyhow::Result<()> {
        self.start_server()
    }

    fn start_server(&self) -> anyhow::Result<()> {
        let socket_dir = self.dir.path().display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={socket_dir} \
             -c fsync=on -c max_connections=300 -c shared_buffers=16MB",
            self.port
        );
        let log = self.log_path();
        let started = self.run(
            "pg_ctl",
            &[
                "start",
                "--pgdata",
                &self.data_dir(),
                "--log",
                &log.display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                &STARTUP_DEADLINE.as_secs().to_string(),
            ],
        );
        if let Err(error) = started {
            bail!("{error:#}\n--- server log ---\n{}", self.log());
        }
        // pg_ctl -w waited for the server; check the TCP listener the tests use.
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .context("running pg_isready")?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "PostgreSQL did not accept connections on 127.0.0.1:{} within \
                     {STARTUP_DEADLINE:?}\n--- server log ---\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Leaves a watchdog that stops the server and removes its directory once this
    /// process has ended (for a cluster in a `static`, which is never dropped).
    fn stop_when_process_ends(&self) -> anyhow::Result<()> {
        let pg_ctl = self.command_line("pg_ctl");
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {pg_ctl} stop --pgdata '{data}' -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data_dir(),
            dir = self.dir.path().display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the cluster's watchdog")?;
        Ok(())
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `program` of the cluster's version, as the cluster's user, as a shell command.
    fn command_line(&self, program: &str) -> String {
        let path = self.bin.join(program).display().to_string();
        match self.run_as {
            Some(user) => format!(
                "setpriv --reuid={user} --regid={} --clear-groups '{path}'",
                group_of(user)
            ),
            None => format!("'{path}'"),
        }
    }

    /// Runs `program` of the cluster's version as the cluster's user; its output.
    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<String> {
        let path = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("setpriv");
                command
                    .arg(format!("--reuid={user}"))
                    .arg(format!("--regid={}", group_of(user)))
                    .arg("--clear-groups")
                    .arg(&path);
                command
            }
            None => Command::new(&path),
        };
        command.args(args).current_dir(self.dir.path());
        finish(program, &mut command)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort: the directory goes with the TempDir either way.
        let _ = self.run(
            "pg_ctl",
            &[
                "stop",
                "--pgdata",
                &self.data_dir(),
                "-m",
                "immediate",
                "-w",
            ],
        );
    }
}

/// The directory of the newest PostgreSQL's server programs.
fn binaries() -> anyhow::Result<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| {
                    let version = entry.file_name().to_str()?.parse().ok()?;
                    let bin = entry.path().join("bin");
                    bin.join("initdb").is_file().then_some((version, bin))
                })
                .collect();
            versions.sort();
            versions
                .pop()
                .map(|(_, bin)| bin)
                .or_else(|| require("initdb").ok()?.parent().map(Path::to_path_buf))
        })
        .clone()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the PostgreSQL store tests need PostgreSQL's server programs (initdb, \
                 pg_ctl, postgres), found neither in /usr/lib/postgresql/*/bin nor on PATH: \
                 install the Debian package `postgresql` (`apt-get install -y postgresql`); \
                 `tests/run` installs it on a fresh machine. To skip the interop tests \
                 deliberately, set {}=1.",
                super::SKIP_INTEROP_VAR
            )
        })
}

/// Runs a client program (`createdb`, `dropdb`) of the installed version.
fn run_client(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let path = binaries()?.join(program);
    let path = if path.is_file() {
        path
    } else {
        require(program)?
    };
    let mut command = Command::new(path);
    command.args(args);
    finish(program, &mut command)
}

/// Runs `command` to its end; its output, or an error with it.
fn finish(program: &str, command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {program}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        bail!("{program} failed ({}):\n{text}", output.status);
    }
    Ok(text)
}

/// `admin_url` with its database replaced by `name` (query parameters kept).
fn with_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base
        .find("://")
        .with_context(|| format!("{URL_VAR} is not a postgres:// URL"))?
        + 3;
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |slash| scheme_end + slash);
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

/// The primary group of `user` (Debian's `nobody` is in `nogroup`).
fn group_of(user: &str) -> String {
    Command::new("id")
        .args(["-gn", user])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map_or_else(|| user.to_owned(), |group| group.trim().to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// A random number for database names: the clock and the process id, hashed.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_in_the_url() {
        assert_eq!(
            with_database("postgres://acme@127.0.0.1:5/postgres", "t_1").unwrap(),
            "postgres://acme@127.0.0.1:5/t_1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h:5/db?sslmode=disable", "t_2").unwrap(),
            "postgresql://u:p@h:5/t_2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "t_3").unwrap(),
            "postgres://h/t_3"
        );
        assert!(with_database("h:5/db", "t").is_err());
    }
}
