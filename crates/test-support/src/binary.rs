//! Starts the real `acme-srv` binary and reads back what it bound.
//!
//! The binary logs `listening for <kind> on <addr>` for every listener it binds (port 0
//! allowed) and `acme-srv ready` once all are bound. [`AcmeSrv::start`] waits for that
//! line, with a deadline, and keeps collecting the log afterwards so tests can assert on
//! it ([`AcmeSrv::wait_for_log`]). The process is killed when the handle is dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// The line the binary logs when every listener is bound.
pub const READY_LINE: &str = "acme-srv ready";

/// A running `acme-srv` process.
pub struct AcmeSrv {
    child: Child,
    listeners: Vec<(String, SocketAddr)>,
    log: Arc<Mutex<Vec<String>>>,
    log_grew: Arc<Notify>,
    /// The tasks reading stdout and stderr; they end at EOF, after the process exits.
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl AcmeSrv {
    /// Runs `bin` with `args` and waits (up to 30 s) for the ready line.
    pub async fn start(bin: impl AsRef<Path>, args: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(bin.as_ref())
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {}", bin.as_ref().display()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_grew = Arc::new(Notify::new());
        let stdout = child.stdout.take().context("stdout")?;
        let stderr = child.stderr.take().context("stderr")?;
        let mut readers = Vec::new();
        for reader in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(stderr),
        ] {
            let log = log.clone();
            let log_grew = log_grew.clone();
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(reader).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock().unwrap().push(line);
                    log_grew.notify_waiters();
                }
            }));
        }
        let mut srv = Self {
            child,
            listeners: Vec::new(),
            log,
            log_grew,
            readers,
        };
        if let Err(e) = srv.wait_for_log(READY_LINE, Duration::from_secs(30)).await {
            let status = srv.child.try_wait().ok().flatten();
            bail!("{e}; exit status {status:?}; log:\n{}", srv.log_text());
        }
        srv.listeners = srv
            .log_lines()
            .iter()
            .filter_map(|l| parse_listening(l))
            .collect();
        Ok(srv)
    }

    /// The first address logged for listener `kind` (`http`, `admin`, …).
    pub fn addr(&self, kind: &str) -> SocketAddr {
        self.addrs(kind)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no `{kind}` listener in log:\n{}", self.log_text()))
    }

    /// Every address logged for listener `kind`.
    pub fn addrs(&self, kind: &str) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, a)| *a)
            .collect()
    }

    /// The log lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The log so far, one string.
    pub fn log_text(&self) -> String {
        self.log_lines().join("\n")
    }

    /// Waits until a log line contains `needle`; returns that line.
    pub async fn wait_for_log(&self, needle: &str, within: Duration) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let grew = self.log_grew.notified();
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return Ok(line.clone());
            }
            if tokio::time::timeout_at(deadline, grew).await.is_err() {
                bail!("no log line containing {needle:?} within {within:?}");
            }
        }
    }

    /// Sends SIGHUP: the process reloads its configuration.
    pub async fn hangup(&self) -> anyhow::Result<()> {
        let pid = self.child.id().context("process already exited")?;
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(pid.to_string())
            .status()
            .await?;
        if !status.success() {
            bail!("kill -HUP {pid} failed");
        }
        Ok(())
    }

    /// How many log lines contain `needle` so far.
    pub fn count_log(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits until more than `seen` log lines contain `needle` (a line logged again, such
    /// as a second reload); returns the newest.
    pub async fn wait_for_nth_log(
        &self,
        needle: &str,
        seen: usize,
        within: Duration,
    ) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let grew = self.log_grew.notified();
            {
                let log = self.log.lock().unwrap();
                let mut matching = log.iter().filter(|l| l.contains(needle));
                if let Some(line) = matching.nth(seen) {
                    return Ok(line.clone());
                }
            }
            if tokio::time::timeout_at(deadline, grew).await.is_err() {
                bail!("no new log line containing {needle:?} within {within:?}");
            }
        }
    }

    /// Sends SIGTERM and waits (up to `within`) for the process to exit and for its last
    /// log lines to be read.
    pub async fn terminate(&mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        let pid = self.child.id().context("process already exited")?;
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await?;
        if !status.success() {
            bail!("kill -TERM {pid} failed");
        }
        let exit = tokio::time::timeout(within, self.child.wait())
            .await
            .context("process did not exit after SIGTERM")?
            .context("waiting for process")?;
        // The exit closes the pipes: the readers reach EOF once they have every line.
        for reader in self.readers.drain(..) {
            tokio::time::timeout(within, reader)
                .await
                .context("the log was not read to its end after the process exited")?
                .context("log reader")?;
        }
        Ok(exit)
    }

    /// Sends SIGKILL (no chance to flush or finish anything) and waits for the exit.
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        self.child.start_kill().context("sending SIGKILL")?;
        self.child.wait().await.context("waiting for process")
    }
}

/// Parses `... listening for <kind> on <addr>` into `(kind, addr)`.
fn parse_listening(line: &str) -> Option<(String, SocketAddr)> {
    let rest = &line[line.find("listening for ")? + "listening for ".len()..];
    let (kind, rest) = rest.split_once(" on ")?;
    let end = rest
        .find(|c: char| !(c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']')))
        .unwrap_or(rest.len());
    Some((kind.to_owned(), rest[..end].parse().ok()?))
}

/// Runs `bin` with `args` to completion (bounded by 60 s) and returns status and
/// combined output: for CLI commands such as `config check`.
pub async fn run_to_end(bin: impl AsRef<Path>, args: &[&str]) -> anyhow::Result<(bool, String)> {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(bin.as_ref())
            .args(args)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .context("command did not finish within 60 s")??;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok((output.status.success(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listening_lines() {
        let line = "2026-11-23T08:00:00Z  INFO acme_srv: listening for http on 127.0.0.1:4321";
        assert_eq!(
            parse_listening(line),
            Some(("http".to_owned(), "127.0.0.1:4321".parse().unwrap()))
        );
        let json = r#"{"fields":{"message":"listening for admin on [::1]:80"}}"#;
        assert_eq!(
            parse_listening(json),
            Some(("admin".to_owned(), "[::1]:80".parse().unwrap()))
        );
    }
}
