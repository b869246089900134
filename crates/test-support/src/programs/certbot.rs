//! certbot, the EFF's ACME client, obtaining a certificate from a [`Pebble`] on loopback.
//!
//! certbot runs `certonly --standalone`: it serves http-01 itself on
//! `127.0.0.1:PORT` (`--http-01-address` matters: without it certbot binds every
//! interface). Its configuration, work and log directories are in a temporary directory,
//! so it needs no root and touches nothing in `/etc` or `/var`. It trusts pebble through
//! `REQUESTS_CA_BUNDLE`.
//!
//! Every run has a fresh account, is bounded by [`CLIENT_TIMEOUT`] and is killed when that
//! runs out. A successful run takes about 2.5 s.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{Context as _, bail};

use super::pebble::Pebble;
use super::{CLIENT_TIMEOUT, IssuedCertificate, loopback_command, require, run_to_completion};

/// How many lines of certbot's debug log go into an error message.
const LOG_TAIL_LINES: usize = 80;

/// Obtains a certificate for `domain` with http-01, certbot listening on
/// `127.0.0.1:listen_port`.
///
/// # Errors
///
/// When certbot is not installed, fails, times out, or leaves no certificate; the error
/// carries certbot's whole output and the end of its debug log.
pub async fn obtain_http01(
    pebble: &Pebble,
    domain: &str,
    listen_port: u16,
) -> anyhow::Result<IssuedCertificate> {
    let flags = vec![
        "--standalone".to_owned(),
        "--http-01-address".to_owned(),
        Ipv4Addr::LOCALHOST.to_string(),
        "--http-01-port".to_owned(),
        listen_port.to_string(),
    ];
    obtain(
        pebble,
        domain,
        flags,
        &format!("http-01 on 127.0.0.1:{listen_port}"),
    )
    .await
}

/// Obtains a certificate for `domain` with dns-01 through the `certbot-dns-acmedns`
/// plugin (an unmodified acme-dns client, from PyPI): `api_base` is the acme-dns API,
/// `registrations` the plugin's JSON file mapping the domain to its acme-dns account.
pub async fn obtain_dns01_acme_dns(
    pebble: &Pebble,
    domain: &str,
    api_base: &str,
    registrations: &Path,
) -> anyhow::Result<IssuedCertificate> {
    let credentials = tempfile::Builder::new()
        .suffix(".ini")
        .tempfile()
        .context("credentials file")?;
    std::fs::write(
        credentials.path(),
        format!(
            "dns_acmedns_api_url = {api_base}\ndns_acmedns_registration_file = {}\n",
            registrations.display()
        ),
    )?;
    let flags = vec![
        "--authenticator".to_owned(),
        "dns-acmedns".to_owned(),
        "--dns-acmedns-credentials".to_owned(),
        credentials.path().display().to_string(),
        "--dns-acmedns-propagation-seconds".to_owned(),
        "1".to_owned(),
    ];
    obtain(
        pebble,
        domain,
        flags,
        &format!("dns-01 via acme-dns at {api_base}"),
    )
    .await
}

/// Obtains a certificate for `domain` with dns-01 through the `certbot-dns-rfc2136`
/// plugin (Debian's `python3-certbot-dns-rfc2136`): the TXT record goes to `server` by
/// RFC 2136 UPDATE signed with the TSIG `key` (`(name, algorithm, base64 secret)`).
pub async fn obtain_dns01_rfc2136(
    pebble: &Pebble,
    domain: &str,
    server: std::net::SocketAddr,
    key: (&str, &str, &str),
) -> anyhow::Result<IssuedCertificate> {
    let (name, algorithm, secret) = key;
    let credentials = tempfile::Builder::new()
        .suffix(".ini")
        .tempfile()
        .context("credentials file")?;
    std::fs::write(
        credentials.path(),
        format!(
            "dns_rfc2136_server = {}\ndns_rfc2136_port = {}\ndns_rfc2136_name = {name}\n\
             dns_rfc2136_secret = {secret}\ndns_rfc2136_algorithm = {}\n",
            server.ip(),
            server.port(),
            algorithm.to_ascii_uppercase()
        ),
    )?;
    let flags = vec![
        "--authenticator".to_owned(),
        "dns-rfc2136".to_owned(),
        "--dns-rfc2136-credentials".to_owned(),
        credentials.path().display().to_string(),
        "--dns-rfc2136-propagation-seconds".to_owned(),
        "1".to_owned(),
    ];
    obtain(
        pebble,
        domain,
        flags,
        &format!("dns-01 via RFC 2136 at {server}"),
    )
    .await
}

/// Runs `certbot certonly` with the authenticator `flags`; `what` names the attempt in
/// errors.
async fn obtain(
    pebble: &Pebble,
    domain: &str,
    flags: Vec<String>,
    what: &str,
) -> anyhow::Result<IssuedCertificate> {
    let program_path = require("certbot")?;
    let state_dir = tempfile::tempdir().context("creating certbot's state directory")?;
    let config_dir = state_dir.path().join("config");
    let logs_dir = state_dir.path().join("logs");

    let mut command = loopback_command(&program_path);
    command
        .env("REQUESTS_CA_BUNDLE", pebble.ca_cert_path())
        .args([
            "certonly",
            "--non-interactive",
            "--agree-tos",
            "--no-eff-email",
        ])
        .args(flags)
        .arg("--server")
        .arg(pebble.directory_url())
        .arg("--config-dir")
        .arg(&config_dir)
        .arg("--work-dir")
        .arg(state_dir.path().join("work"))
        .arg("--logs-dir")
        .arg(&logs_dir)
        .arg("-m")
        .arg(format!("acme-srv-test@{domain}"))
        .arg("-d")
        .arg(domain);
    let finished = run_to_completion("certbot", command, CLIENT_TIMEOUT).await?;

    let cert_path = config_dir.join("live").join(domain).join("fullchain.pem");
    if !finished.status.success() {
        bail!(
            "certbot ({domain}, {what}) exited with {}; its output:\n{}\n{}",
            finished.status,
            finished.output,
            debug_log_tail(&logs_dir)
        );
    }
    if !cert_path.is_file() {
        bail!(
            "certbot ({domain}) succeeded but wrote no {}; its output:\n{}",
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

/// The last lines of certbot's debug log, which has the detail its terminal output
/// leaves out.
fn debug_log_tail(logs_dir: &Path) -> String {
    let log_path = logs_dir.join("letsencrypt.log");
    match std::fs::read_to_string(&log_path) {
        Ok(log) => {
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            format!(
                "--- last {} lines of {} ---\n{}",
                tail.len(),
                log_path.display(),
                tail.join("\n")
            )
        }
        Err(error) => format!("(no debug log at {}: {error})", log_path.display()),
    }
}
