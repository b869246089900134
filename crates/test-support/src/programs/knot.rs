//! Knot DNS (`knotd`) on a free loopback port, in the foreground, with every file in a
//! temporary directory: as a secondary of acme-srv (one zone transferred from it, signed
//! with a TSIG key when given, NOTIFY accepted from its address), or as an existing
//! primary that acme-srv pushes its records into (RFC 2136 updates signed with a key).

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use tempfile::TempDir;

use super::{RunningProgram, loopback_command, require};

/// A running `knotd`; killed when dropped.
#[derive(Debug)]
pub struct Knot {
    program: RunningProgram,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Knot {
    /// A secondary for `zone` (origin without trailing dot) on `127.0.0.1:port`,
    /// transferring from `primary`, with `key` (`(name, algorithm, base64 secret)`) for
    /// transfers and NOTIFY when given.
    pub async fn start_secondary(
        zone: &str,
        port: u16,
        primary: SocketAddr,
        key: Option<(&str, &str, &str)>,
    ) -> anyhow::Result<Self> {
        let knotd = require("knotd")?;
        let dir = tempfile::tempdir().context("creating knotd's directory")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let d = dir.path().display();
        let (key_section, key_ref) = match key {
            Some((name, algorithm, secret)) => (
                format!("key:\n  - id: {name}\n    algorithm: {algorithm}\n    secret: {secret}\n"),
                format!("    key: {name}\n"),
            ),
            None => (String::new(), String::new()),
        };
        let config = format!(
            "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n\n\
             log:\n  - target: stderr\n    any: info\n\n\
             database:\n  storage: \"{d}\"\n\n\
             {key_section}\n\
             remote:\n  - id: primary\n    address: {pip}@{pport}\n{key_ref}\n\
             acl:\n  - id: notify_from_primary\n    address: {pip}\n    action: notify\n{key_ref}\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    journal-content: changes\n\n\
             zone:\n  - domain: {zone}\n    master: primary\n    acl: notify_from_primary\n",
            pip = primary.ip(),
            pport = primary.port(),
        );
        let config_path = dir.path().join("knot.conf");
        std::fs::write(&config_path, config).context("writing knot.conf")?;
        let mut command = loopback_command(&knotd);
        command.arg("-c").arg(&config_path).current_dir(dir.path());
        let mut program = RunningProgram::spawn("knotd", command)?;
        program.wait_until_listening(&[addr], String::new).await?;
        Ok(Self {
            program,
            addr,
            _dir: dir,
        })
    }

    /// Serves `zone` as a primary from `zone_text` (an RFC 1035 zone file) on a free
    /// loopback port, accepting RFC 2136 updates signed with `key`.
    pub async fn start_primary_with_updates(
        zone: &str,
        zone_text: &str,
        key: (&str, &str, &str),
    ) -> anyhow::Result<Self> {
        let knotd = require("knotd")?;
        let dir = tempfile::tempdir().context("creating knotd's directory")?;
        let port = super::free_tcp_port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let d = dir.path().display();
        std::fs::write(dir.path().join(format!("{zone}.zone")), zone_text)
            .context("writing the zone file")?;
        let (name, algorithm, secret) = key;
        let config = format!(
            "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n\n\
             log:\n  - target: stderr\n    any: info\n\n\
             database:\n  storage: \"{d}\"\n\n\
             key:\n  - id: {name}\n    algorithm: {algorithm}\n    secret: {secret}\n\n\
             acl:\n  - id: updates\n    key: {name}\n    action: update\n\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    file: \"%s.zone\"\n\n\
             zone:\n  - domain: {zone}\n    acl: updates\n",
        );
        let config_path = dir.path().join("knot.conf");
        std::fs::write(&config_path, config).context("writing knot.conf")?;
        let mut command = loopback_command(&knotd);
        command.arg("-c").arg(&config_path).current_dir(dir.path());
        let mut program = RunningProgram::spawn("knotd", command)?;
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

    /// Everything knotd printed so far.
    pub fn output(&self) -> String {
        self.program.output()
    }
}
