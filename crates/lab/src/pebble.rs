//! pebble, Let's Encrypt's test CA, run for the lab: its configuration and its start.
//!
//! pebble resolves the names it validates through acme-srv's DNS server
//! (`-dnsserver`), then connects to the address found (127.0.0.1) on its `httpPort`
//! for http-01, which is the lab relay's port, and on its `tlsPort` for tls-alpn-01,
//! the lab router's port. It runs with `PEBBLE_VA_NOSLEEP=1` (no random delay before
//! validating), `PEBBLE_WFE_NONCEREJECT=0` (no deliberately rejected nonces) and
//! `PEBBLE_AUTHZREUSE=0` (every order is validated afresh).
//!
//! Its ACME and management listeners use free ports chosen beforehand
//! ([`crate::ports`]); it is ready when both accept connections.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use crate::LabError;
use crate::child::{POLL_INTERVAL, RunningChild, loopback_command, output_to_file};
use crate::dir::{create_dir, write_file};
use crate::pebble_tls;
use crate::ports::free_tcp_port;

/// How long pebble may take to listen.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// How long pebble may take to stop after SIGTERM.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);

/// Where pebble listens and what its clients must trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PebbleInfo {
    /// The ACME directory URL, `https://127.0.0.1:PORT/dir`.
    pub directory_url: String,
    /// The management endpoint (`/roots/0`, `/intermediates/0`).
    pub management: SocketAddr,
    /// The CA certificate of pebble's HTTPS endpoint, for `LEGO_CA_CERTIFICATES` and
    /// `REQUESTS_CA_BUNDLE`.
    pub ca_cert: PathBuf,
}

/// Where pebble sends its validations and asks for addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PebbleTargets {
    /// pebble's `httpPort`: the relay's port.
    pub(crate) http_port: u16,
    /// pebble's `tlsPort`: the router's port.
    pub(crate) tls_port: u16,
    /// acme-srv's DNS server.
    pub(crate) dns: SocketAddr,
}

/// A running pebble.
#[derive(Debug)]
pub(crate) struct Pebble {
    pub(crate) child: RunningChild,
    pub(crate) info: PebbleInfo,
}

impl Pebble {
    /// Writes pebble's certificate and configuration into `dir` and starts `program`,
    /// returning once its listeners accept connections.
    pub(crate) async fn start(
        program: &Path,
        dir: &Path,
        targets: PebbleTargets,
    ) -> Result<Self, LabError> {
        create_dir(dir)?;
        let tls = pebble_tls::write(dir)?;
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()?));
        let management = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()?));
        let config_path = dir.join("pebble-config.json");
        let config = config_json(targets, listen, management, &tls);
        write_file(&config_path, &config)?;

        let log = dir.join("pebble.log");
        let mut command = loopback_command(program);
        command
            .arg("-config")
            .arg(&config_path)
            .arg("-dnsserver")
            .arg(targets.dns.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .current_dir(dir);
        output_to_file(&mut command, &log)?;
        let mut child = RunningChild::spawn("pebble", command, log)?;

        let deadline = Instant::now() + STARTUP_DEADLINE;
        for addr in [listen, management] {
            loop {
                child.check_running()?;
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(child.not_ready(STARTUP_DEADLINE));
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
        Ok(Self {
            child,
            info: PebbleInfo {
                directory_url: format!("https://{listen}/dir"),
                management,
                ca_cert: tls.ca_cert,
            },
        })
    }
}

/// pebble's JSON configuration.
fn config_json(
    targets: PebbleTargets,
    listen: SocketAddr,
    management: SocketAddr,
    tls: &pebble_tls::PebbleTlsFiles,
) -> String {
    let config = serde_json::json!({
        "pebble": {
            "listenAddress": listen.to_string(),
            "managementListenAddress": management.to_string(),
            "certificate": tls.server_cert,
            "privateKey": tls.server_key,
            "httpPort": targets.http_port,
            "tlsPort": targets.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }
    });
    format!("{config:#}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pebble_validates_through_the_relay_and_the_router() {
        let tls = pebble_tls::PebbleTlsFiles {
            ca_cert: "/lab/pebble/ca.pem".into(),
            server_cert: "/lab/pebble/localhost.pem".into(),
            server_key: "/lab/pebble/localhost.key".into(),
        };
        let text = config_json(
            PebbleTargets {
                http_port: 41002,
                tls_port: 41003,
                dns: "127.0.0.1:10053".parse().unwrap(),
            },
            "127.0.0.1:10100".parse().unwrap(),
            "127.0.0.1:10101".parse().unwrap(),
            &tls,
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let pebble = &json["pebble"];
        assert_eq!(pebble["httpPort"], 41002);
        assert_eq!(pebble["tlsPort"], 41003);
        assert_eq!(pebble["listenAddress"], "127.0.0.1:10100");
        assert_eq!(pebble["managementListenAddress"], "127.0.0.1:10101");
        assert_eq!(pebble["certificate"], "/lab/pebble/localhost.pem");
        assert_eq!(pebble["privateKey"], "/lab/pebble/localhost.key");
    }
}
