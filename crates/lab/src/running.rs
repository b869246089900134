//! The running lab: started in order (directory, `acme-srv serve`, the demo records,
//! pebble), stopped in reverse (pebble, then acme-srv), and watched for a child that
//! stops on its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand::RngCore as _;

use crate::acme_client::{AcmeClient, Challenge, ClientRun};
use crate::certificate::IssuedCertificate;
use crate::config_file::acme_srv_config;
use crate::demo::{self, ClientPorts, DemoRecord};
use crate::dir::{LabDir, write_file};
use crate::pebble::{self, Pebble, PebbleInfo, PebbleTargets};
use crate::ports::{free_tcp_port, free_udp_and_tcp_port};
use crate::serve::{self, Addresses, Serve};
use crate::{LabError, programs};

/// How many times a start is tried again when a port chosen beforehand was taken in
/// the meantime (acme-srv's DNS port, pebble's ports).
const PORT_ATTEMPTS: usize = 3;

/// How to start the lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// The lab's directory; a temporary one when `None`.
    pub dir: Option<PathBuf>,
    /// The `acme-srv` executable that runs `serve` (normally the current one).
    pub acme_srv: PathBuf,
    /// The client that will be run with [`Lab::issue`]: pebble and that client are
    /// then required, and checked before anything starts. Without it, pebble runs when
    /// it is installed.
    pub issue_with: Option<AcmeClient>,
}

/// A running lab; dropping it kills every child process (prefer [`Lab::stop`]).
#[derive(Debug)]
pub struct Lab {
    dir: LabDir,
    serve: Serve,
    pebble: Option<Pebble>,
    admin_token: String,
    api_key: String,
    ports: ClientPorts,
    records: Vec<DemoRecord>,
}

impl Lab {
    /// Brings the lab up and returns once every part is ready.
    ///
    /// # Errors
    ///
    /// When a required program is missing (before anything starts), a file cannot be
    /// written, a part does not start in time, or the demo records cannot be written.
    /// Whatever was started is stopped again.
    pub async fn start(options: LabOptions) -> Result<Self, LabError> {
        let pebble_program = match options.issue_with {
            Some(client) => {
                let pebble = programs::require("pebble")?;
                programs::require(client.program())?;
                Some(pebble)
            }
            None => programs::find("pebble"),
        };
        let dir = match &options.dir {
            Some(path) => LabDir::at(path)?,
            None => LabDir::temporary()?,
        };
        let admin_token = random_token();
        let serve = start_serve(&options.acme_srv, &dir, &admin_token).await?;
        let ports = ClientPorts {
            http01: free_tcp_port()?,
            tls_alpn01: free_tcp_port()?,
        };
        let records = demo::records(ports);
        let api_key = demo::publish(serve.addresses.api, &admin_token, &records).await?;
        let pebble = match pebble_program {
            Some(program) => Some(start_pebble(&program, &dir, &serve.addresses).await?),
            None => None,
        };
        Ok(Self {
            dir,
            serve,
            pebble,
            admin_token,
            api_key,
            ports,
            records,
        })
    }

    /// The lab's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the directory is removed when the lab stops.
    pub fn dir_is_temporary(&self) -> bool {
        self.dir.is_temporary()
    }

    /// Keeps a temporary directory after the lab stops.
    pub fn keep_dir(&mut self) {
        self.dir.keep();
    }

    /// What acme-srv bound.
    pub fn addresses(&self) -> Addresses {
        self.serve.addresses
    }

    /// pebble's endpoints, when pebble runs.
    pub fn pebble(&self) -> Option<&PebbleInfo> {
        self.pebble.as_ref().map(|p| &p.info)
    }

    /// The admin token of the lab's management API.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// An API key that may change the demo domain's records.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Where the ACME client listens (the demo SRV records' ports).
    pub fn client_ports(&self) -> ClientPorts {
        self.ports
    }

    /// The demo records written at start.
    pub fn records(&self) -> &[DemoRecord] {
        &self.records
    }

    /// acme-srv's log file.
    pub fn acme_srv_log(&self) -> PathBuf {
        self.dir.acme_srv_log()
    }

    /// The run of `client` answering `challenge`; `None` when pebble does not run.
    ///
    /// # Errors
    ///
    /// When the client cannot answer that challenge.
    pub fn client_run(
        &self,
        client: AcmeClient,
        challenge: Challenge,
    ) -> Result<Option<ClientRun>, LabError> {
        self.pebble()
            .map(|pebble| ClientRun::new(client, challenge, &self.dir, pebble, self.ports))
            .transpose()
    }

    /// Runs `client` for the demo domain, answering `challenge`, and reads the
    /// certificate it obtained.
    ///
    /// # Errors
    ///
    /// When pebble or the client is not installed, the client fails (the error holds
    /// its output), or the certificate cannot be read.
    pub async fn issue(
        &self,
        client: AcmeClient,
        challenge: Challenge,
    ) -> Result<IssuedCertificate, LabError> {
        let run = self
            .client_run(client, challenge)?
            .ok_or(LabError::MissingProgram {
                program: "pebble",
                package: "pebble",
            })?;
        let path = run.run(&self.dir).await?;
        IssuedCertificate::read(&path)
    }

    /// Waits until a child process stops on its own, and says which and why. Never
    /// returns while all run; cancel-safe.
    pub async fn unexpected_exit(&mut self) -> LabError {
        match &mut self.pebble {
            Some(pebble) => tokio::select! {
                error = self.serve.child.exited() => error,
                error = pebble.child.exited() => error,
            },
            None => self.serve.child.exited().await,
        }
    }

    /// Stops pebble, then acme-srv (SIGTERM, then SIGKILL after a grace period), and
    /// removes a temporary directory unless it is kept.
    ///
    /// # Errors
    ///
    /// When a process cannot be signalled or waited for.
    pub async fn stop(self) -> Result<(), LabError> {
        let pebble_stopped = match self.pebble {
            Some(pebble) => pebble.child.stop(pebble::STOP_GRACE).await.map(drop),
            None => Ok(()),
        };
        let serve_stopped = self.serve.child.stop(serve::STOP_GRACE).await.map(drop);
        pebble_stopped.and(serve_stopped)
    }
}

/// Writes the configuration and starts `acme-srv serve`, with a new DNS port when the
/// one chosen was taken in the meantime.
async fn start_serve(acme_srv: &Path, dir: &LabDir, admin_token: &str) -> Result<Serve, LabError> {
    let mut attempt = 1;
    loop {
        let dns_port = free_udp_and_tcp_port()?;
        write_file(
            &dir.config_file(),
            &acme_srv_config(dns_port, &dir.store_file())?,
        )?;
        match Serve::start(acme_srv, dir, admin_token).await {
            Err(error) if attempt < PORT_ATTEMPTS && is_port_taken(&error) => attempt += 1,
            other => return other,
        }
    }
}

/// Starts pebble validating through the relay and the router, with new ports when one
/// chosen was taken in the meantime.
async fn start_pebble(
    program: &Path,
    dir: &LabDir,
    addresses: &Addresses,
) -> Result<Pebble, LabError> {
    let targets = PebbleTargets {
        http_port: addresses.relay.port(),
        tls_port: addresses.router.port(),
        dns: addresses.dns,
    };
    let mut attempt = 1;
    loop {
        match Pebble::start(program, &dir.pebble_dir(), targets).await {
            Err(error) if attempt < PORT_ATTEMPTS && is_port_taken(&error) => attempt += 1,
            other => return other,
        }
    }
}

/// Whether a program exited because an address it was to bind was in use.
fn is_port_taken(error: &LabError) -> bool {
    matches!(error, LabError::ExitedEarly { log_tail, .. }
        if log_tail.contains("ddress already in use"))
}

/// A fresh admin token: 32 random bytes, hex.
fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The base URL of an HTTP listener.
pub(crate) fn http_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_fresh() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
