//! The ACME clients the lab runs (lego, certbot): their command lines, shown to the user
//! as "what to run next" and run by `acme-srv lab --issue`, and where each leaves the
//! certificate.
//!
//! The client listens on the loopback port the demo's SRV record names; pebble's
//! validation reaches it only through the relay (http-01) or the router (tls-alpn-01).
//! lego does both challenges (`--http --http.port`, `--tls --tls.port`); certbot
//! (`certonly --standalone`) does http-01, with `--http-01-address 127.0.0.1` so that it
//! binds loopback only. Both trust pebble's HTTPS endpoint through the lab's CA file and
//! keep their state in the lab's directory, so neither needs root.

use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use crate::LabError;
use crate::child::loopback_command;
use crate::demo::ClientPorts;
use crate::dir::{LabDir, create_dir, tail};
use crate::names::{CONTACT_EMAIL, DEMO_DOMAIN};
use crate::pebble::PebbleInfo;
use crate::programs;

/// How long one client run may take (a run takes about 3 to 6 s on loopback).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// How many lines of a client's output a failure shows.
const OUTPUT_LINES: usize = 120;

/// An ACME client the lab knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeClient {
    /// lego, the Go client.
    Lego,
    /// certbot, the EFF's client (`certonly --standalone`).
    Certbot,
}

impl AcmeClient {
    /// The program's (and its Debian package's) name.
    pub fn program(self) -> &'static str {
        match self {
            Self::Lego => "lego",
            Self::Certbot => "certbot",
        }
    }

    /// The challenges this client can answer in the lab.
    pub fn challenges(self) -> &'static [Challenge] {
        match self {
            Self::Lego => &[Challenge::Http01, Challenge::TlsAlpn01],
            Self::Certbot => &[Challenge::Http01],
        }
    }
}

impl fmt::Display for AcmeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

impl FromStr for AcmeClient {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "lego" => Ok(Self::Lego),
            "certbot" => Ok(Self::Certbot),
            other => Err(format!(
                "unknown ACME client {other:?}: expected lego or certbot"
            )),
        }
    }
}

/// The challenge the client answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// http-01, through the relay.
    Http01,
    /// tls-alpn-01, through the router.
    TlsAlpn01,
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http01 => "http-01",
            Self::TlsAlpn01 => "tls-alpn-01",
        })
    }
}

impl FromStr for Challenge {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "http-01" => Ok(Self::Http01),
            "tls-alpn-01" => Ok(Self::TlsAlpn01),
            other => Err(format!(
                "unknown challenge {other:?}: expected http-01 or tls-alpn-01"
            )),
        }
    }
}

/// One run of an ACME client against the lab: the program, its environment and
/// arguments, and where the certificate will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRun {
    /// The client.
    pub client: AcmeClient,
    /// The challenge it answers.
    pub challenge: Challenge,
    /// Environment variables set for it.
    pub env: Vec<(String, String)>,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its state directory in the lab's directory.
    pub state_dir: PathBuf,
    /// Where the issued certificate chain (leaf first) will be.
    pub cert_path: PathBuf,
}

impl ClientRun {
    /// The run of `client` answering `challenge` for the demo domain in this lab.
    ///
    /// # Errors
    ///
    /// [`LabError::UnsupportedChallenge`] when the client cannot answer `challenge`.
    pub fn new(
        client: AcmeClient,
        challenge: Challenge,
        dir: &LabDir,
        pebble: &PebbleInfo,
        ports: ClientPorts,
    ) -> Result<Self, LabError> {
        if !client.challenges().contains(&challenge) {
            return Err(LabError::UnsupportedChallenge {
                client: client.program(),
                challenge: challenge.to_string(),
            });
        }
        let state_dir = dir.client_dir(client.program());
        let path = |p: &PathBuf| p.display().to_string();
        let owned = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        let ca = path(&pebble.ca_cert);
        let (env, args, cert_path) = match client {
            AcmeClient::Lego => {
                let listen = |port: u16| format!("127.0.0.1:{port}");
                let challenge_args = match challenge {
                    Challenge::Http01 => owned(&["--http", "--http.port"])
                        .into_iter()
                        .chain([listen(ports.http01)])
                        .collect::<Vec<_>>(),
                    Challenge::TlsAlpn01 => owned(&["--tls", "--tls.port"])
                        .into_iter()
                        .chain([listen(ports.tls_alpn01)])
                        .collect(),
                };
                let mut args = vec![
                    "--path".to_owned(),
                    path(&state_dir),
                    "--server".to_owned(),
                    pebble.directory_url.clone(),
                    "--email".to_owned(),
                    CONTACT_EMAIL.to_owned(),
                    "--domains".to_owned(),
                    DEMO_DOMAIN.to_owned(),
                ];
                args.extend(challenge_args);
                args.extend(owned(&["--accept-tos", "run"]));
                let cert_path = state_dir
                    .join("certificates")
                    .join(format!("{DEMO_DOMAIN}.crt"));
                (
                    vec![("LEGO_CA_CERTIFICATES".to_owned(), ca)],
                    args,
                    cert_path,
                )
            }
            AcmeClient::Certbot => {
                let config_dir = state_dir.join("config");
                let mut args = owned(&[
                    "certonly",
                    "--non-interactive",
                    "--agree-tos",
                    "--no-eff-email",
                    "--standalone",
                    "--http-01-address",
                    "127.0.0.1",
                    "--http-01-port",
                ]);
                args.extend([
                    ports.http01.to_string(),
                    "--server".to_owned(),
                    pebble.directory_url.clone(),
                    "--config-dir".to_owned(),
                    path(&config_dir),
                    "--work-dir".to_owned(),
                    path(&state_dir.join("work")),
                    "--logs-dir".to_owned(),
                    path(&state_dir.join("logs")),
                    "-m".to_owned(),
                    CONTACT_EMAIL.to_owned(),
                    "-d".to_owned(),
                    DEMO_DOMAIN.to_owned(),
                ]);
                let cert_path = config_dir
                    .join("live")
                    .join(DEMO_DOMAIN)
                    .join("fullchain.pem");
                (vec![("REQUESTS_CA_BUNDLE".to_owned(), ca)], args, cert_path)
            }
        };
        Ok(Self {
            client,
            challenge,
            env,
            args,
            state_dir,
            cert_path,
        })
    }

    /// The run as one shell command line (environment, program, arguments, quoted where
    /// needed).
    pub fn shell_line(&self) -> String {
        self.env
            .iter()
            .map(|(name, value)| format!("{name}={}", shell_quote(value)))
            .chain([self.client.program().to_owned()])
            .chain(self.args.iter().map(|arg| shell_quote(arg)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the client to its end (within [`CLIENT_TIMEOUT`]), its state directory
    /// emptied first (pebble is new at every start, so an earlier run's account and
    /// certificate mean nothing to it), its output in `DIR/<client>.log`. Returns the
    /// certificate's path.
    ///
    /// # Errors
    ///
    /// When the client is not installed, fails, times out, or writes no certificate;
    /// the error carries its output.
    pub async fn run(&self, dir: &LabDir) -> Result<PathBuf, LabError> {
        let program = programs::require(self.client.program())?;
        if self.state_dir.exists() {
            std::fs::remove_dir_all(&self.state_dir).map_err(|source| LabError::File {
                what: "emptying the client's state directory",
                path: self.state_dir.clone(),
                source,
            })?;
        }
        create_dir(&self.state_dir)?;
        let log = dir.client_log(self.client.program());
        let mut command = loopback_command(&program);
        command.envs(self.env.iter().cloned()).args(&self.args);
        crate::child::output_to_file(&mut command, &log)?;
        command.current_dir(&self.state_dir).stdin(Stdio::null());
        let mut child = command.spawn().map_err(|source| LabError::Spawn {
            program: self.client.program().to_owned(),
            command: self.shell_line(),
            source,
        })?;
        let reason = match tokio::time::timeout(CLIENT_TIMEOUT, child.wait()).await {
            Ok(Ok(status)) if status.success() => None,
            Ok(Ok(status)) => Some(format!("it exited with {status}")),
            Ok(Err(error)) => Some(format!("waiting for it failed: {error}")),
            Err(_elapsed) => {
                // kill_on_drop would do it too; kill now so the log is complete.
                let _ = child.kill().await;
                Some(format!(
                    "it did not finish within {CLIENT_TIMEOUT:?} and was killed"
                ))
            }
        };
        let reason = reason.or_else(|| {
            (!self.cert_path.is_file()).then(|| {
                format!(
                    "it exited successfully but wrote no {}",
                    self.cert_path.display()
                )
            })
        });
        match reason {
            None => Ok(self.cert_path.clone()),
            Some(reason) => Err(LabError::Client {
                client: self.client.program(),
                reason,
                output: self.failure_output(&log),
                log,
            }),
        }
    }

    /// The client's output, and for certbot the end of its debug log.
    fn failure_output(&self, log: &std::path::Path) -> String {
        let mut output = tail(log, OUTPUT_LINES);
        if self.client == AcmeClient::Certbot {
            let debug_log = self.state_dir.join("logs").join("letsencrypt.log");
            output.push_str(&format!(
                "\n--- the end of {} ---\n{}",
                debug_log.display(),
                tail(&debug_log, OUTPUT_LINES / 2)
            ));
        }
        output
    }
}

/// `text` quoted for a POSIX shell when it holds anything but safe characters.
fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if safe {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pebble() -> PebbleInfo {
        PebbleInfo {
            directory_url: "https://127.0.0.1:10100/dir".to_owned(),
            management: "127.0.0.1:10101".parse().unwrap(),
            ca_cert: "/lab/pebble/ca.pem".into(),
        }
    }

    const PORTS: ClientPorts = ClientPorts {
        http01: 10_001,
        tls_alpn01: 10_002,
    };

    #[test]
    fn lego_listens_where_the_srv_records_point() {
        let dir = LabDir::at(&std::env::temp_dir()).unwrap();
        let http =
            ClientRun::new(AcmeClient::Lego, Challenge::Http01, &dir, &pebble(), PORTS).unwrap();
        let line = http.shell_line();
        assert!(line.starts_with("LEGO_CA_CERTIFICATES=/lab/pebble/ca.pem lego --path "));
        assert!(line.contains(" --http --http.port 127.0.0.1:10001 --accept-tos run"));
        assert!(line.contains("--server https://127.0.0.1:10100/dir"));
        assert!(line.contains("--domains demo.lab.example.com"));
        assert!(
            http.cert_path
                .ends_with("lego/certificates/demo.lab.example.com.crt")
        );

        let tls = ClientRun::new(
            AcmeClient::Lego,
            Challenge::TlsAlpn01,
            &dir,
            &pebble(),
            PORTS,
        )
        .unwrap();
        assert!(
            tls.shell_line()
                .contains(" --tls --tls.port 127.0.0.1:10002 ")
        );
    }

    #[test]
    fn certbot_binds_loopback_only_and_keeps_its_state_in_the_lab() {
        let dir = LabDir::at(&std::env::temp_dir()).unwrap();
        let run = ClientRun::new(
            AcmeClient::Certbot,
            Challenge::Http01,
            &dir,
            &pebble(),
            PORTS,
        )
        .unwrap();
        let line = run.shell_line();
        assert!(line.starts_with("REQUESTS_CA_BUNDLE=/lab/pebble/ca.pem certbot certonly "));
        assert!(line.contains("--http-01-address 127.0.0.1 --http-01-port 10001 "));
        for dir_flag in ["--config-dir", "--work-dir", "--logs-dir"] {
            assert!(line.contains(dir_flag), "{line}");
        }
        assert!(
            run.cert_path
                .ends_with("certbot/config/live/demo.lab.example.com/fullchain.pem")
        );
        assert!(
            ClientRun::new(
                AcmeClient::Certbot,
                Challenge::TlsAlpn01,
                &dir,
                &pebble(),
                PORTS
            )
            .is_err()
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/tmp/a-b_c.d"), "/tmp/a-b_c.d");
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn names_parse() {
        assert_eq!("lego".parse(), Ok(AcmeClient::Lego));
        assert_eq!("certbot".parse(), Ok(AcmeClient::Certbot));
        assert!("acme.sh".parse::<AcmeClient>().is_err());
        assert_eq!("tls-alpn-01".parse(), Ok(Challenge::TlsAlpn01));
    }
}
