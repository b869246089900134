//! lego, the Go ACME client, obtaining a certificate from a [`Pebble`] on loopback.
//!
//! lego serves the challenge itself, on `127.0.0.1:PORT` chosen by the caller: plain HTTP
//! for http-01 (`--http --http.port`), TLS with ALPN `acme-tls/1` for tls-alpn-01
//! (`--tls --tls.port`). Pebble must reach that port: either it is pebble's own
//! `httpPort`/`tlsPort`, or a relay on that port forwards to it. lego answers an http-01
//! request only when its Host header is the domain, so a relay must keep the original
//! Host.
//!
//! Every run has a fresh account and state directory, is bounded by [`CLIENT_TIMEOUT`]
//! and is killed when that runs out. A successful run takes about 6 s, most of it a fixed
//! 5 s poll inside lego.

use std::net::Ipv4Addr;

use anyhow::{Context as _, bail};

use super::pebble::Pebble;
use super::{CLIENT_TIMEOUT, IssuedCertificate, loopback_command, require, run_to_completion};

/// Obtains a certificate for `domain` with http-01, lego listening on
/// `127.0.0.1:listen_port`.
///
/// # Errors
///
/// When lego is not installed, fails, times out, or leaves no certificate; the error
/// carries lego's whole output.
pub async fn obtain_http01(
    pebble: &Pebble,
    domain: &str,
    listen_port: u16,
) -> anyhow::Result<IssuedCertificate> {
    obtain(pebble, domain, Challenge::Http01(listen_port)).await
}

/// Obtains a certificate for `domain` with tls-alpn-01, lego listening on
/// `127.0.0.1:listen_port`.
///
/// # Errors
///
/// As [`obtain_http01`].
pub async fn obtain_tls_alpn01(
    pebble: &Pebble,
    domain: &str,
    listen_port: u16,
) -> anyhow::Result<IssuedCertificate> {
    obtain(pebble, domain, Challenge::TlsAlpn01(listen_port)).await
}

/// Obtains a certificate for `domain` with dns-01 through lego's `rfc2136` provider:
/// the TXT record goes to `nameserver` by RFC 2136 UPDATE signed with the TSIG `key`
/// (`(name, algorithm, base64 secret)`), and lego checks it there too.
pub async fn obtain_dns01_rfc2136(
    pebble: &Pebble,
    domain: &str,
    nameserver: std::net::SocketAddr,
    key: (&str, &str, &str),
) -> anyhow::Result<IssuedCertificate> {
    let (name, algorithm, secret) = key;
    obtain(
        pebble,
        domain,
        Challenge::Rfc2136 {
            nameserver,
            key_name: name.to_owned(),
            algorithm: algorithm.to_owned(),
            secret: secret.to_owned(),
        },
    )
    .await
}

/// The challenge types lego solves here, each with its own flags.
#[derive(Debug, Clone)]
enum Challenge {
    Http01(u16),
    TlsAlpn01(u16),
    Rfc2136 {
        nameserver: std::net::SocketAddr,
        key_name: String,
        algorithm: String,
        secret: String,
    },
}

impl Challenge {
    fn flags(&self) -> Vec<String> {
        let listen = |port: &u16| format!("{}:{port}", Ipv4Addr::LOCALHOST);
        match self {
            Self::Http01(port) => vec!["--http".into(), "--http.port".into(), listen(port)],
            Self::TlsAlpn01(port) => vec!["--tls".into(), "--tls.port".into(), listen(port)],
            Self::Rfc2136 { nameserver, .. } => vec![
                "--dns".into(),
                "rfc2136".into(),
                "--dns.resolvers".into(),
                nameserver.to_string(),
                "--dns.disable-cp".into(),
            ],
        }
    }

    /// The provider's settings, as lego reads them from the environment.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Rfc2136 {
                nameserver,
                key_name,
                algorithm,
                secret,
            } => vec![
                ("RFC2136_NAMESERVER", nameserver.to_string()),
                // miekg/dns names algorithms as fully qualified names.
                ("RFC2136_TSIG_ALGORITHM", format!("{algorithm}.")),
                ("RFC2136_TSIG_KEY", key_name.clone()),
                ("RFC2136_TSIG_SECRET", secret.clone()),
                ("RFC2136_PROPAGATION_TIMEOUT", "30".into()),
                ("RFC2136_POLLING_INTERVAL", "1".into()),
            ],
            _ => Vec::new(),
        }
    }
}

async fn obtain(
    pebble: &Pebble,
    domain: &str,
    challenge: Challenge,
) -> anyhow::Result<IssuedCertificate> {
    let program_path = require("lego")?;
    let state_dir = tempfile::tempdir().context("creating lego's state directory")?;

    let mut command = loopback_command(&program_path);
    command
        .env("LEGO_CA_CERTIFICATES", pebble.ca_cert_path())
        .arg("--path")
        .arg(state_dir.path())
        .arg("--server")
        .arg(pebble.directory_url())
        .arg("--email")
        .arg(format!("acme-srv-test@{domain}"))
        .arg("--domains")
        .arg(domain)
        .args(challenge.flags())
        .envs(challenge.env())
        .arg("--accept-tos")
        .arg("run");
    let finished = run_to_completion("lego", command, CLIENT_TIMEOUT).await?;

    // lego names the files after the domain (a wildcard's `*` becomes `_`).
    let file_stem = domain.replace('*', "_");
    let cert_path = state_dir
        .path()
        .join("certificates")
        .join(format!("{file_stem}.crt"));
    if !finished.status.success() {
        bail!(
            "lego ({challenge:?}, {domain}) exited with {}; its output:\n{}",
            finished.status,
            finished.output
        );
    }
    if !cert_path.is_file() {
        bail!(
            "lego ({challenge:?}, {domain}) succeeded but wrote no {}; its output:\n{}",
            cert_path.display(),
            finished.output
        );
    }
    Ok(IssuedCertificate {
        cert_path,
        client_output: finished.output,
        _state_dir: state_dir,
    })
}
