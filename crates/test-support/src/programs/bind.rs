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
        let named = require("named")?;
        let dir = tempfile::tempdir().context("creating named's directory")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()));
        let d = dir.path().display();
        let zone_file = dir.path().join("zone.db");
        std::fs::write(&zone_file, zone_text).context("writing the zone file")?;
        let config = format!(
            "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
             listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  \
             dnssec-validation no;\n  allow-query {{ any; }};\n  check-integrity no;\n}};\n\
             controls {{ }};\n\
             zone \"{zone}\" {{ type primary; file \"{file}\"; }};\n",
            port = addr.port(),
            file = zone_file.display(),
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

    /// Serves `zone` as a primary from `zone_text`, like [`Bind::start`], and accepts
    /// RFC 2136 updates signed with `key` (`(name, algorithm, base64 secret)`).
    pub async fn start_primary_with_updates(
        zone: &str,
        zone_text: &str,
        key: (&str, &str, &str),
    ) -> anyhow::Result<Self> {
        let named = require("named")?;
        let dir = tempfile::tempdir().context("creating named's directory")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()));
        let d = dir.path().display();
        let zone_file = dir.path().join("zone.db");
        std::fs::write(&zone_file, zone_text).context("writing the zone file")?;
        let (name, algorithm, secret) = key;
        let config = format!(
            "key \"{name}\" {{ algorithm {algorithm}; secret \"{secret}\"; }};\n\
             options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
             listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  \
             dnssec-validation no;\n  allow-query {{ any; }};\n  check-integrity no;\n  notify no;\n}};\n\
             controls {{ }};\n\
             zone \"{zone}\" {{ type primary; file \"{file}\"; allow-update {{ key \"{name}\"; }}; }};\n",
            port = addr.port(),
            file = zone_file.display(),
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

    /// A secondary for `zone` (origin without trailing dot) on `127.0.0.1:port`, that
    /// transfers the zone from `primary`, signed with `key` when given (`(name,
    /// algorithm, base64 secret)`), and accepts NOTIFY from the primary's address.
    pub async fn start_secondary(
        zone: &str,
        port: u16,
        primary: SocketAddr,
        key: Option<(&str, &str, &str)>,
    ) -> anyhow::Result<Self> {
        let named = require("named")?;
        let dir = tempfile::tempdir().context("creating named's directory")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let d = dir.path().display();
        let (key_statement, key_clause) = match key {
            Some((name, algorithm, secret)) => (
                format!("key \"{name}\" {{ algorithm {algorithm}; secret \"{secret}\"; }};\n"),
                format!(" key \"{name}\""),
            ),
            None => (String::new(), String::new()),
        };
        let config = format!(
            "{key_statement}options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  \
             listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  \
             dnssec-validation no;\n  allow-query {{ any; }};\n  check-integrity no;\n  notify no;\n}};\n\
             controls {{ }};\n\
             zone \"{zone}\" {{ type secondary; primaries port {pport} {{ {pip}{key_clause}; }}; file \"{d}/secondary.db\"; }};\n",
            pport = primary.port(),
            pip = primary.ip(),
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
