//! `dig` (bind9-dnsutils) as an independent DNS client for tests.

use std::net::SocketAddr;

use anyhow::{Context as _, bail};

use super::{CLIENT_TIMEOUT, loopback_command, require, run_to_completion};

/// `dig +short` for `name`/`record_type` at `server` (UDP unless `extra` says `+tcp`);
/// one answer line per record.
pub async fn short(
    server: SocketAddr,
    name: &str,
    record_type: &str,
    extra: &[&str],
) -> anyhow::Result<Vec<String>> {
    let out = run(server, name, record_type, &[&["+short"], extra].concat()).await?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// `dig` for `name`/`record_type` at `server` with `extra` options; its whole output.
pub async fn run(
    server: SocketAddr,
    name: &str,
    record_type: &str,
    extra: &[&str],
) -> anyhow::Result<String> {
    let dig = require("dig")?;
    let mut command = loopback_command(&dig);
    command
        .arg(format!("@{}", server.ip()))
        .arg("-p")
        .arg(server.port().to_string())
        .args(["+norecurse", "+time=2", "+tries=2"])
        .args(extra)
        .arg(name)
        .arg(record_type);
    let finished = run_to_completion("dig", command, CLIENT_TIMEOUT)
        .await
        .context("running dig")?;
    if !finished.status.success() {
        bail!(
            "dig {name} {record_type} @{server} failed ({}): {}",
            finished.status,
            finished.output
        );
    }
    Ok(finished.output)
}
