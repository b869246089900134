//! Unbound as the recursive resolver of a test: it answers for the zones it is given
//! as stub zones (each pointing at one loopback server) and for nothing else.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use tempfile::TempDir;

use super::{RunningProgram, free_tcp_port, loopback_command, require};

/// A running `unbound`; killed when dropped.
#[derive(Debug)]
pub struct Unbound {
    program: RunningProgram,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Unbound {
    /// Recurses into `stubs`: (zone without trailing dot, the server for it). Answers on
    /// `127.0.0.1`, UDP and TCP. Nothing is cached for long (max TTL 5 s), so a test
    /// sees changes quickly.
    pub async fn start(stubs: &[(&str, SocketAddr)]) -> anyhow::Result<Self> {
        let unbound = require("unbound")?;
        let dir = tempfile::tempdir().context("creating unbound's directory")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()));
        let d = dir.path().display();
        let mut config = format!(
            "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  do-daemonize: no\n  username: \"\"\n  \
             chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  \
             verbosity: 1\n  do-ip6: no\n  do-not-query-localhost: no\n  access-control: 127.0.0.0/8 allow\n  \
             module-config: \"iterator\"\n  qname-minimisation: no\n  cache-max-ttl: 5\n  cache-max-negative-ttl: 1\n  \
             local-zone: \"test.\" nodefault\n  domain-insecure: \"test.\"\n\
             remote-control:\n  control-enable: no\n",
            port = addr.port()
        );
        for (zone, server) in stubs {
            config.push_str(&format!(
                "stub-zone:\n  name: \"{zone}.\"\n  stub-addr: {}@{}\n",
                server.ip(),
                server.port()
            ));
        }
        let config_path = dir.path().join("unbound.conf");
        std::fs::write(&config_path, config).context("writing unbound.conf")?;
        let mut command = loopback_command(&unbound);
        command
            .arg("-d")
            .arg("-c")
            .arg(&config_path)
            .current_dir(dir.path());
        let mut program = RunningProgram::spawn("unbound", command)?;
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

    /// Everything unbound printed so far.
    pub fn output(&self) -> String {
        self.program.output()
    }
}
