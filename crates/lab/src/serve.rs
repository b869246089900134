//! `acme-srv serve` as a child process of the lab, running the configuration from
//! [`crate::config_file`], and the addresses it bound.
//!
//! acme-srv logs `listening for <kind> on <addr>` for every listener and `acme-srv
//! ready` once all are bound; the lab polls its log file for that line within
//! [`STARTUP_DEADLINE`] (and fails at once if the process exits), then reads the
//! addresses back.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use crate::LabError;
use crate::child::{POLL_INTERVAL, RunningChild, loopback_command, output_to_file};
use crate::dir::LabDir;

/// The line acme-srv logs once every listener is bound.
const READY_LINE: &str = "acme-srv ready";

/// How long acme-srv may take to be ready.
pub(crate) const STARTUP_DEADLINE: Duration = Duration::from_secs(30);

/// How long acme-srv may take to stop after SIGTERM (it drains connections).
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(15);

/// The addresses acme-srv bound in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The DNS server, UDP and TCP.
    pub dns: SocketAddr,
    /// The management API (plain HTTP).
    pub api: SocketAddr,
    /// The http-01 relay (plain HTTP; pebble's `httpPort`).
    pub relay: SocketAddr,
    /// The tls-alpn-01 router (pebble's `tlsPort`).
    pub router: SocketAddr,
    /// The admin listener (`/metrics`, `/healthz`).
    pub admin: SocketAddr,
}

/// A running `acme-srv serve`.
#[derive(Debug)]
pub(crate) struct Serve {
    pub(crate) child: RunningChild,
    pub(crate) addresses: Addresses,
}

impl Serve {
    /// Runs `acme_srv serve --config <dir>/acme-srv.toml` with the admin token, and
    /// waits until it is ready.
    pub(crate) async fn start(
        acme_srv: &Path,
        dir: &LabDir,
        admin_token: &str,
    ) -> Result<Self, LabError> {
        let log = dir.acme_srv_log();
        let mut command = loopback_command(acme_srv);
        command
            .arg("serve")
            .arg("--config")
            .arg(dir.config_file())
            .env("ACME_SRV_ADMIN_TOKEN", admin_token)
            // acme-srv's default filter logs the listening lines the lab reads.
            .env_remove("RUST_LOG")
            .current_dir(dir.path());
        output_to_file(&mut command, &log)?;
        let mut child = RunningChild::spawn("acme-srv serve", command, log)?;

        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            child.check_running()?;
            let text = std::fs::read(child.log())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            if text.contains(READY_LINE) {
                let addresses =
                    addresses_from_log(&text).ok_or_else(|| child.not_ready(STARTUP_DEADLINE))?;
                return Ok(Self { child, addresses });
            }
            if Instant::now() >= deadline {
                return Err(child.not_ready(STARTUP_DEADLINE));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// The lab's addresses from acme-srv's log; `None` when one is missing.
fn addresses_from_log(log: &str) -> Option<Addresses> {
    let listeners: Vec<(&str, SocketAddr)> = log.lines().filter_map(parse_listening).collect();
    let first = |kind: &str| {
        listeners
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, addr)| *addr)
    };
    Some(Addresses {
        dns: first("dns-udp")?,
        api: first("api")?,
        relay: first("http")?,
        router: first("router")?,
        admin: first("admin")?,
    })
}

/// Parses `... listening for <kind> on <addr>` into `(kind, addr)`.
fn parse_listening(line: &str) -> Option<(&str, SocketAddr)> {
    const MARK: &str = "listening for ";
    let rest = &line[line.find(MARK)? + MARK.len()..];
    let (kind, rest) = rest.split_once(" on ")?;
    let end = rest
        .find(|c: char| !(c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']')))
        .unwrap_or(rest.len());
    Some((kind, rest[..end].parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_address_from_the_log() {
        let log = "\
2026-12-01T10:00:00Z  INFO acme_srv::serve: listening for dns-udp on 127.0.0.1:10053
2026-12-01T10:00:00Z  INFO acme_srv::serve: listening for dns-tcp on 127.0.0.1:10053
2026-12-01T10:00:00Z  INFO acme_srv::serve: listening for api on 127.0.0.1:41001
2026-12-01T10:00:00Z  INFO acme_srv::serve: listening for http on 127.0.0.1:41002
2026-12-01T10:00:00Z  INFO acme_srv::serve: listening for router on 127.0.0.1:41003
2026-12-01T10:00:00Z  INFO acme_srv::serve: listening for admin on 127.0.0.1:41004
2026-12-01T10:00:00Z  INFO acme_srv::serve: acme-srv ready relay=true
";
        let addresses = addresses_from_log(log).unwrap();
        assert_eq!(addresses.dns, "127.0.0.1:10053".parse().unwrap());
        assert_eq!(addresses.api, "127.0.0.1:41001".parse().unwrap());
        assert_eq!(addresses.relay, "127.0.0.1:41002".parse().unwrap());
        assert_eq!(addresses.router, "127.0.0.1:41003".parse().unwrap());
        assert_eq!(addresses.admin, "127.0.0.1:41004".parse().unwrap());
        assert_eq!(addresses_from_log(&log.replace("router on", "x on")), None);
    }
}
