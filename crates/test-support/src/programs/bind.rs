//! BIND (`named`) on a free loopback port, in the foreground: as a customer's own
//! authoritative server (one primary zone from a zone text the test writes), or as a
//! secondary of acme-srv (zone transfers and NOTIFY).

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use tempfile::TempDir;

use super::{RunningProgram, free_tcp_port, loopback_command, require};

/// A running `named`; killed when dropped.
#[derive(Debug)]
pub struct Bind {
    program: RunningProgram,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Bind {
    /// Serves `zone` (origin without trailing dot) from `zone_text` (an RFC 1035 zone
    /// file, `$ORIGIN` set by the caller or implied) on `127.0.0.1`, UDP and TCP.
    pub async fn start(zone: &str, zone_text: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating named's directory")?;
        let file = write_zone(&dir, zone_text)?;
        let zone = format!("zone \"{zone}\" {{ type primary; file \"{file}\"; }};\n");
        Self::run(dir, free_tcp_port(), "", &zone).await
    }

    /// Serves `zone` as a primary from `zone_text`, like [`Bind::start`], and accepts
    /// RFC 2136 updates signed with `key` (`(name, algorithm, base64 secret)`).
    pub async fn start_primary_with_updates(
        zone: &str,
        zone_text: &str,
        key: (&str, &str, &str),
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating named's directory")?;
        let file = write_zone(&dir, zone_text)?;
        let name = key.0;
        let zone = format!(
            "zone \"{zone}\" {{ type primary; file \"{file}\"; allow-update {{ key \"{name}\"; }}; }};\n"
        );
        Self::run(dir, free_tcp_port(), &key_statement(key), &zone).await
    }

    /// A secondary for `zone` (origin without trailing dot) on `127.0.0.1:port`, that
    /// transfers the zone from `primary`, signed with `key` when given (`(name,
    /// algorithm, base64 secret)`), and accepts NOTIFY from the primary's address.
    pub async fn start_secondary(
        zone: &str,
        port: u16,
        primary: SocketAddr,
        key: Option<(&str, &str, &str)>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating named's directory")?;
        let d = dir.path().display().to_string();
        let (statement, clause) = match key {
            Some(key) => (key_statement(key), format!(" key \"{}\"", key.0)),
            None => (String::new(), String::new()),
        };
        let zone = format!(
            "zone \"{zone}\" {{ type secondary; primaries port {pport} {{ {pip}{clause}; }}; file \"{d}/secondary.db\"; }};\n",
            pport = primary.port(),
            pip = primary.ip(),
        );
        Self::run(dir, port, &statement, &zone).await
    }

    /// Writes named.conf (`head`, the options every instance shares, `zone`) into `dir`
    /// and runs named in the foreground on `127.0.0.1:port` until it listens.
    async fn run(dir: TempDir, port: u16, head: &str, zone: &str) -> anyhow::Result<Self> {
        let named = require("named")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let d = dir.path().display();
        let config = format!(
            "{head}options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
             listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  \
             dnssec-validation no;\n  allow-query {{ any; }};\n  check-integrity no;\n  notify no;\n}};\n\
             controls {{ }};\n{zone}"
        );
        let config_path = dir.path().join("named.conf");
        std::fs::write(&config_path, config).context("writing named.conf")?;
        let mut command = loopback_command(&named);
        command
            .arg("-g")
            .arg("-4")
            .arg("-c")
            .arg(&config_path)
            .current_dir(dir.path());
        let mut program = RunningProgram::spawn("named", command)?;
        program.wait_until_listening(&[addr], String::new).await?;
        Ok(Self {
            program,
            addr,
            _dir: dir,
        })
    }

    /// Where it answers.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything named printed so far.
    pub fn output(&self) -> String {
        self.program.output()
    }
}

/// A `key` statement for `(name, algorithm, base64 secret)`.
fn key_statement((name, algorithm, secret): (&str, &str, &str)) -> String {
    format!("key \"{name}\" {{ algorithm {algorithm}; secret \"{secret}\"; }};\n")
}

/// Writes the zone file into `dir`; its path, for named.conf.
fn write_zone(dir: &TempDir, zone_text: &str) -> anyhow::Result<String> {
    let zone_file = dir.path().join("zone.db");
    std::fs::write(&zone_file, zone_text).context("writing the zone file")?;
    Ok(zone_file.display().to_string())
}
