//! Pebble, Let's Encrypt's test CA, started on loopback for one test.
//!
//! Pebble ships no certificate for its own HTTPS endpoint, so [`Pebble::start`] makes a
//! throwaway CA and a `localhost`/`127.0.0.1` server certificate with rcgen. Clients trust
//! that CA through [`Pebble::ca_cert_path`] (`LEGO_CA_CERTIFICATES`, `REQUESTS_CA_BUNDLE`).
//!
//! Pebble resolves every domain it validates through the DNS server given in
//! [`PebbleOptions::dns_server`] and then connects to the answer on
//! [`PebbleOptions::http_port`] (http-01) or [`PebbleOptions::tls_port`] (tls-alpn-01),
//! both fixed for the life of the instance. It runs with `PEBBLE_VA_NOSLEEP=1` (no random
//! validation delay), `PEBBLE_WFE_NONCEREJECT=0` (no deliberately rejected nonces) and
//! `PEBBLE_AUTHZREUSE=0` (every order is validated, never satisfied by an earlier one).
//!
//! Note that pebble's issuing root and intermediate are new at every start (served on
//! the management listener at `/roots/0` and `/intermediates/0`); they are not the CA
//! returned by [`Pebble::ca_cert_path`].

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tempfile::TempDir;

use super::{RunningProgram, free_tcp_port, json_string, loopback_command, require};
use crate::tls::{self, CertificateFiles};

/// Where pebble sends validation traffic, chosen by the test.
#[derive(Debug, Clone, Copy)]
pub struct PebbleOptions {
    /// The port pebble connects to for http-01 (`httpPort`), on whatever address the
    /// domain resolves to.
    pub http_port: u16,
    /// The port pebble connects to for tls-alpn-01 (`tlsPort`).
    pub tls_port: u16,
    /// The DNS server pebble asks for the domains' A and AAAA records (`-dnsserver`).
    pub dns_server: SocketAddr,
}

/// A running pebble; killed when dropped.
#[derive(Debug)]
pub struct Pebble {
    program: RunningProgram,
    options: PebbleOptions,
    listen_addr: SocketAddr,
    management_addr: SocketAddr,
    ca_cert_path: PathBuf,
    _dir: TempDir,
}

impl Pebble {
    /// Writes pebble's certificate and configuration into a temporary directory, starts
    /// pebble, and returns once its ACME and management listeners accept connections.
    ///
    /// # Errors
    ///
    /// When pebble is not installed (see [`super::require`]), the files cannot be
    /// written, or pebble exits or does not listen in time; the error carries pebble's
    /// output.
    pub async fn start(options: PebbleOptions) -> anyhow::Result<Self> {
        let program_path = require("pebble")?;
        let dir = tempfile::tempdir().context("creating pebble's temporary directory")?;
        let listen_addr = loopback_addr(free_tcp_port());
        let management_addr = loopback_addr(free_tcp_port());

        let certs = tls::write_certificates(
            dir.path(),
            "acme-srv test CA for pebble's HTTPS endpoint",
            &["localhost", "127.0.0.1"],
        )?;
        let config_path = dir.path().join("pebble-config.json");
        let config = config_json(&options, listen_addr, management_addr, &certs);
        std::fs::write(&config_path, config)
            .with_context(|| format!("writing {}", config_path.display()))?;

        let mut command = loopback_command(&program_path);
        command
            .arg("-config")
            .arg(&config_path)
            .arg("-dnsserver")
            .arg(options.dns_server.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .current_dir(dir.path());
        let mut program = RunningProgram::spawn("pebble", command)?;
        program
            .wait_until_listening(&[listen_addr, management_addr], String::new)
            .await?;

        Ok(Self {
            program,
            options,
            listen_addr,
            management_addr,
            ca_cert_path: certs.ca_cert,
            _dir: dir,
        })
    }

    /// The ACME directory URL, `https://127.0.0.1:PORT/dir`.
    pub fn directory_url(&self) -> String {
        format!("https://{}/dir", self.listen_addr)
    }

    /// The PEM file of the CA that signed the certificate of pebble's own HTTPS endpoints
    /// (ACME and management); give it to clients as `LEGO_CA_CERTIFICATES` or
    /// `REQUESTS_CA_BUNDLE`.
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert_path
    }

    /// The address of the ACME endpoint.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    /// The address of the management endpoint (`/roots/0`, `/intermediates/0`, ...).
    pub fn management_addr(&self) -> SocketAddr {
        self.management_addr
    }

    /// The options pebble was started with (its validation ports and DNS server).
    pub fn options(&self) -> PebbleOptions {
        self.options
    }

    /// Everything pebble wrote to stdout and stderr so far; include it in failure
    /// messages.
    pub fn output(&self) -> String {
        self.program.output()
    }

    /// Kills pebble and waits until it has exited. Dropping it kills it too.
    ///
    /// # Errors
    ///
    /// When the kill fails.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.program.stop().await
    }
}

fn loopback_addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn config_json(
    options: &PebbleOptions,
    listen_addr: SocketAddr,
    management_addr: SocketAddr,
    certs: &CertificateFiles,
) -> String {
    let listen = json_string(&listen_addr.to_string());
    let management = json_string(&management_addr.to_string());
    let certificate = json_string(&certs.server_cert.to_string_lossy());
    let private_key = json_string(&certs.server_key.to_string_lossy());
    let http_port = options.http_port;
    let tls_port = options.tls_port;
    format!(
        r#"{{
  "pebble": {{
    "listenAddress": {listen},
    "managementListenAddress": {management},
    "certificate": {certificate},
    "privateKey": {private_key},
    "httpPort": {http_port},
    "tlsPort": {tls_port},
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }}
}}
"#
    )
}
