//! `nsupdate` (bind9-dnsutils), the reference RFC 2136 client, run with a script.

use anyhow::{Context as _, bail};

use super::{CLIENT_TIMEOUT, loopback_command, require, run_to_completion};

/// What one `nsupdate` run printed, and whether it succeeded.
#[derive(Debug)]
pub struct Outcome {
    /// Whether nsupdate exited 0.
    pub success: bool,
    /// Everything it printed.
    pub output: String,
}

/// Runs `nsupdate -y ALGORITHM:NAME:SECRET` (when `key` is given) with `script` on
/// standard input (its `server`, `zone`, `update`, `prereq` and `send` lines).
pub async fn run(key: Option<(&str, &str, &str)>, script: &str) -> anyhow::Result<Outcome> {
    let nsupdate = require("nsupdate")?;
    let dir = tempfile::tempdir().context("creating a directory for the script")?;
    let path = dir.path().join("script");
    std::fs::write(&path, script).context("writing the nsupdate script")?;
    let mut command = loopback_command(&nsupdate);
    command.arg("-v");
    if let Some((name, algorithm, secret)) = key {
        command
            .arg("-y")
            .arg(format!("{algorithm}:{name}:{secret}"));
    }
    command.arg(&path);
    let finished = run_to_completion("nsupdate", command, CLIENT_TIMEOUT).await?;
    Ok(Outcome {
        success: finished.status.success(),
        output: finished.output,
    })
}

/// [`run`], failing with nsupdate's output unless it succeeds.
pub async fn run_ok(key: Option<(&str, &str, &str)>, script: &str) -> anyhow::Result<String> {
    let outcome = run(key, script).await?;
    if !outcome.success {
        bail!(
            "nsupdate failed:\n{script}\n--- output ---\n{}",
            outcome.output
        );
    }
    Ok(outcome.output)
}
