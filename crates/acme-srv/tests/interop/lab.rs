//! `acme-srv lab`, the real binary as a user runs it.
//!
//! - `acme-srv lab --issue lego` (http-01 through the relay, and `--challenge
//!   tls-alpn-01` through the router) and `acme-srv lab --issue certbot` exit 0 and print
//!   a certificate path; the file there is a certificate for the demo domain (its only
//!   SAN) issued by pebble's intermediate, read here with x509-parser, independently of
//!   the lab's own reading; and acme-srv's log in the lab's directory shows the
//!   validation went through the relay (or the router) to the SRV target.
//! - `acme-srv lab` without `--issue` comes up: the printed DNS server answers the demo
//!   SRV records (asked with dig), the printed API holds them (asked with the printed
//!   admin token), pebble's directory accepts connections; SIGINT stops it with status
//!   0, closes every port, and removes its temporary directory.
//!
//! pebble, lego, certbot and dig are required; a missing one fails the test with the
//! package to install (`ACME_SRV_SKIP_INTEROP=1` is the only way to skip).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use test_support::api_client::call_with_token;
use test_support::programs::{self, dig};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;
use x509_parser::extensions::GeneralName;

use crate::harness::acme_srv_bin;

/// How long `acme-srv lab --issue` may take (about 6 s for lego, 3 s for certbot).
const ISSUE_TIMEOUT: Duration = Duration::from_secs(180);

/// How long the lab may take to come up, and to stop after SIGINT.
const UP_TIMEOUT: Duration = Duration::from_secs(60);

/// What `acme-srv lab --issue` printed, and how it ended.
struct IssueRun {
    success: bool,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl IssueRun {
    /// The value of the stdout line `<key>: <value>`.
    fn field(&self, key: &str) -> anyhow::Result<&str> {
        let prefix = format!("{key}:");
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map(str::trim)
            .with_context(|| format!("no `{prefix}` line in the output:\n{self}"))
    }

    /// The lab's directory, from the stderr line saying it is kept.
    fn kept_dir(&self) -> anyhow::Result<PathBuf> {
        const MARK: &str = "its files are kept in ";
        self.stderr
            .lines()
            .find_map(|line| Some(line[line.find(MARK)? + MARK.len()..].trim()))
            .map(PathBuf::from)
            .with_context(|| format!("no `{MARK}` line:\n{self}"))
    }
}

impl std::fmt::Display for IssueRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

async fn run_issue(args: &[&str]) -> anyhow::Result<IssueRun> {
    let started = Instant::now();
    let output = tokio::time::timeout(
        ISSUE_TIMEOUT,
        Command::new(acme_srv_bin())
            .arg("lab")
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .with_context(|| format!("acme-srv lab {args:?} did not finish within {ISSUE_TIMEOUT:?}"))?
    .context("running acme-srv lab")?;
    let run = IssueRun {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    };
    // Shows in the test's output with --nocapture: how long an issuance took.
    #[allow(
        clippy::print_stderr,
        reason = "the timing is for the reader of the test log"
    )]
    {
        eprintln!("acme-srv lab {args:?}: {:.1} s", run.took.as_secs_f64());
    }
    Ok(run)
}

/// Checks the certificate file at `path` independently: a leaf for the demo domain
/// alone, issued by pebble's intermediate. Returns the issuer.
fn check_certificate(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not PEM: {e}", path.display()))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| anyhow::anyhow!("{} is not a certificate: {e}", path.display()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| anyhow::anyhow!("bad SAN: {e}"))?
        .context("the certificate has no subjectAltName")?;
    let names: Vec<&GeneralName<'_>> = san.value.general_names.iter().collect();
    ensure!(
        matches!(names.as_slice(), [GeneralName::DNSName(name)] if *name == lab::DEMO_DOMAIN),
        "the certificate's SAN is {names:?}, not [{}]",
        lab::DEMO_DOMAIN
    );
    let issuer = cert.issuer().to_string();
    ensure!(
        issuer.contains("Pebble Intermediate CA"),
        "the certificate's issuer is {issuer:?}, not pebble's intermediate"
    );
    Ok(issuer)
}

/// `acme-srv lab --issue <client> [args]`: exit 0, the certificate at the printed path,
/// and the printed fields agreeing with it; `log_needle` must be in acme-srv's log.
async fn issue_and_check(
    args: &[&str],
    dir: Option<&Path>,
    log_needle: &str,
) -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    for program in ["pebble", "lego", "certbot"] {
        programs::require(program)?;
    }
    let mut all_args = args.to_vec();
    let dir_arg = dir.map(|d| d.display().to_string());
    if let Some(dir) = &dir_arg {
        all_args.extend(["--dir", dir]);
    }
    let run = run_issue(&all_args).await?;
    ensure!(run.success, "acme-srv lab {all_args:?} failed:\n{run}");
    let kept = run.kept_dir()?;
    let result = async {
        if let Some(dir) = dir {
            ensure!(
                kept == std::fs::canonicalize(dir)?,
                "kept {} instead of --dir {}",
                kept.display(),
                dir.display()
            );
        }
        let path = PathBuf::from(run.field("certificate")?);
        ensure!(
            path.is_file() && path.starts_with(&kept),
            "the printed certificate path {} is not a file in the lab's directory\n{run}",
            path.display()
        );
        let issuer = check_certificate(&path).with_context(|| run.to_string())?;
        ensure!(
            run.field("issuer")? == issuer,
            "printed issuer differs\n{run}"
        );
        ensure!(
            run.field("subject")?.contains(lab::DEMO_DOMAIN),
            "printed subject\n{run}"
        );
        ensure!(
            run.field("names")? == lab::DEMO_DOMAIN,
            "printed names\n{run}"
        );
        let log = std::fs::read_to_string(kept.join("acme-srv.log"))?;
        ensure!(
            log.lines().any(|line| line.contains(log_needle)),
            "acme-srv's log has no line with {log_needle:?}:\n{log}"
        );
        Ok(())
    }
    .await;
    if dir.is_none() {
        // The lab keeps its temporary directory after --issue; this test is done with it.
        std::fs::remove_dir_all(&kept)?;
    }
    result
}

#[tokio::test]
async fn lab_issue_lego_gets_a_certificate_through_the_relay() -> anyhow::Result<()> {
    let needle = format!("relayed challenge domain={} ", lab::DEMO_DOMAIN);
    issue_and_check(&["--issue", "lego"], None, &needle).await
}

#[tokio::test]
async fn lab_issue_lego_tls_alpn01_gets_a_certificate_through_the_router() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let needle = format!("sni={} route=challenge", lab::DEMO_DOMAIN);
    issue_and_check(
        &["--issue", "lego", "--challenge", "tls-alpn-01"],
        Some(dir.path()),
        &needle,
    )
    .await
}

#[tokio::test]
async fn lab_issue_certbot_gets_a_certificate_through_the_relay() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let needle = format!("relayed challenge domain={} ", lab::DEMO_DOMAIN);
    issue_and_check(&["--issue", "certbot"], Some(dir.path()), &needle).await
}

/// The address on the summary line that starts with `word`.
fn summary_addr(summary: &str, word: &str) -> anyhow::Result<SocketAddr> {
    let line = summary
        .lines()
        .find(|line| line.split_whitespace().next() == Some(word))
        .with_context(|| format!("no `{word}` line in:\n{summary}"))?;
    let value = line
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("nothing after `{word}`: {line}"))?;
    let authority = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .unwrap_or(value);
    let authority = authority.split('/').next().unwrap_or(authority);
    authority
        .parse()
        .with_context(|| format!("`{word}` line: {line}"))
}

/// The text after `label` on the summary line that starts with it.
fn summary_value<'s>(summary: &'s str, label: &str) -> anyhow::Result<&'s str> {
    summary
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("no `{label}` line in:\n{summary}"))
}

#[tokio::test]
async fn lab_comes_up_answers_and_stops_on_sigint() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("pebble")?;
    programs::require("dig")?;

    let mut child = Command::new(acme_srv_bin())
        .arg("lab")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting acme-srv lab")?;
    let stdout = child.stdout.take().context("stdout")?;
    let stderr = child.stderr.take().context("stderr")?;
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut summary = String::new();
    let read_summary = async {
        while let Some(line) = lines.next_line().await? {
            summary.push_str(&line);
            summary.push('\n');
            if line.contains("Ctrl-C stops the lab") {
                return Ok::<_, anyhow::Error>(());
            }
        }
        bail!("acme-srv lab's output ended before the summary was complete")
    };
    if let Err(error) = tokio::time::timeout(UP_TIMEOUT, read_summary).await {
        let _ = child.kill().await;
        bail!(
            "no complete summary within {UP_TIMEOUT:?} ({error}):\n{summary}\n--- stderr ---\n{}",
            stderr_text.await.unwrap_or_default()
        );
    }

    let dns = summary_addr(&summary, "dns")?;
    let api = summary_addr(&summary, "api")?;
    let relay = summary_addr(&summary, "relay")?;
    let router = summary_addr(&summary, "router")?;
    let pebble = summary_addr(&summary, "pebble")?;
    let files = PathBuf::from(summary_value(&summary, "  files")?);
    let admin_token = summary_value(&summary, "Admin token:")?;
    ensure!(
        files.is_dir(),
        "the lab's directory {} is missing",
        files.display()
    );
    for addr in [dns, api, relay, router, pebble] {
        ensure!(
            addr.ip().is_loopback(),
            "{addr} is not loopback:\n{summary}"
        );
        tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}\n{summary}"))?;
    }

    // The demo's SRV records, from the DNS server (dig, UDP)...
    let http_srv = dig::short(dns, &lab::http01_owner(), "SRV", &[]).await?;
    let tls_srv = dig::short(dns, &lab::tls_alpn01_owner(), "SRV", &[]).await?;
    let demo_a = dig::short(dns, lab::DEMO_DOMAIN, "A", &[]).await?;
    ensure!(
        demo_a == ["127.0.0.1"],
        "A {}: {demo_a:?}",
        lab::DEMO_DOMAIN
    );
    for (srv, label) in [(&http_srv, "http-01"), (&tls_srv, "tls-alpn-01")] {
        ensure!(
            srv.len() == 1 && srv[0].ends_with(&format!(" {}.", lab::CLIENT_HOST)),
            "{label} SRV: {srv:?}"
        );
        ensure!(
            summary.contains(&format!("SRV {}", srv[0])),
            "the summary does not show the SRV record {:?}:\n{summary}",
            srv[0]
        );
    }
    // ...and from the API, with the printed admin token.
    let answer = call_with_token(
        api,
        "GET",
        &format!("/v1/records?under={}", lab::DEMO_DOMAIN),
        admin_token,
        None,
    )
    .await;
    ensure!(answer.status == 200, "GET /v1/records: {answer:?}");
    ensure!(
        answer.body.contains(&lab::http01_owner())
            && answer.body.contains(&lab::tls_alpn01_owner()),
        "the API does not list the demo's SRV records: {}",
        answer.body
    );

    // Ctrl-C.
    let pid = child.id().context("the lab already exited")?;
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await?;
    ensure!(killed.success(), "kill -INT {pid} failed");
    let status = tokio::time::timeout(UP_TIMEOUT, child.wait())
        .await
        .context("acme-srv lab did not stop within a minute of SIGINT")??;
    let stderr_text = stderr_text.await?;
    ensure!(
        status.success(),
        "acme-srv lab exited with {status} after SIGINT; stderr:\n{stderr_text}"
    );
    ensure!(
        stderr_text.contains("stopped"),
        "no `stopped` line:\n{stderr_text}"
    );
    for addr in [dns, api, relay, router, pebble] {
        ensure!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "{addr} still accepts connections after the lab stopped"
        );
    }
    ensure!(
        !files.exists(),
        "the temporary directory {} was not removed",
        files.display()
    );
    Ok(())
}
