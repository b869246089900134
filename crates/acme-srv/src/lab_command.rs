//! `acme-srv lab [--dir DIR] [--issue lego|certbot [--challenge http-01|tls-alpn-01]]`:
//! the glue between the command line and the [`lab`] crate, which does the work. This
//! file prints (the library returns text) and handles Ctrl-C (SIGINT) and SIGTERM.
//!
//! Without `--issue` the lab prints what runs and what to run next, then waits for a
//! signal (or for one of its programs to stop on its own, an error) and stops
//! everything. With `--issue` it runs the client, prints the certificate's subject,
//! issuer and path, and stops; the lab's directory is then kept, so the certificate is
//! still there.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use lab::{AcmeClient, Challenge, Lab, LabOptions};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// `acme-srv lab`'s flags.
#[derive(Debug, clap::Args)]
pub(crate) struct LabArgs {
    /// Keep the lab's files (configuration, store, logs, certificates) in DIR, created if
    /// missing, instead of a temporary directory removed when the lab stops.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Run this ACME client end to end (lego or certbot), print the certificate's
    /// subject, issuer and path, and stop. Needs pebble and the client installed.
    #[arg(long, value_name = "CLIENT")]
    issue: Option<AcmeClient>,
    /// The challenge the client answers with --issue: http-01 (through the relay) or
    /// tls-alpn-01 (through the router; lego only).
    #[arg(
        long,
        value_name = "CHALLENGE",
        default_value = "http-01",
        requires = "issue"
    )]
    challenge: Challenge,
}

/// Runs `acme-srv lab`.
pub(crate) fn run(args: &LabArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run_lab(args))
}

async fn run_lab(args: &LabArgs) -> anyhow::Result<()> {
    if let Some(client) = args.issue
        && !client.challenges().contains(&args.challenge)
    {
        anyhow::bail!("{client} cannot answer {} in the lab", args.challenge);
    }
    let mut signals = Signals::new()?;
    let options = LabOptions {
        dir: args.dir.clone(),
        acme_srv: std::env::current_exe().context("finding the acme-srv executable")?,
        issue_with: args.issue,
    };
    progress("starting the lab on 127.0.0.1 (acme-srv serve, then pebble) ...");
    // Dropping a half-started lab kills what it started (and removes a temporary dir).
    let mut lab = tokio::select! {
        biased;
        () = signals.recv() => anyhow::bail!("interrupted while the lab was starting"),
        lab = Lab::start(options) => lab?,
    };
    match args.issue {
        None => wait_for_the_user(lab, &mut signals).await,
        Some(client) => {
            // The certificate (or the logs of a failure) must outlive the lab.
            lab.keep_dir();
            let outcome = issue(&lab, client, args.challenge, &mut signals).await;
            progress(&format!(
                "stopping the lab; its files are kept in {}",
                lab.dir().display()
            ));
            let stopped = lab.stop().await;
            outcome?;
            stopped.context("stopping the lab")
        }
    }
}

/// Prints the summary and waits for Ctrl-C or SIGTERM, or for a program to stop.
async fn wait_for_the_user(mut lab: Lab, signals: &mut Signals) -> anyhow::Result<()> {
    print_stdout(&lab.summary());
    let outcome = tokio::select! {
        biased;
        () = signals.recv() => Ok(()),
        error = lab.unexpected_exit() => {
            lab.keep_dir();
            Err(anyhow::Error::new(error).context(format!(
                "the lab stopped; its files are kept in {}",
                lab.dir().display()
            )))
        }
    };
    progress("stopping the lab ...");
    let stopped = lab.stop().await;
    outcome?;
    stopped.context("stopping the lab")?;
    progress("stopped");
    Ok(())
}

/// Runs `client` and prints the certificate.
async fn issue(
    lab: &Lab,
    client: AcmeClient,
    challenge: Challenge,
    signals: &mut Signals,
) -> anyhow::Result<()> {
    if let Ok(Some(run)) = lab.client_run(client, challenge) {
        progress(&format!(
            "lab up (acme-srv log: {}); running {client} ({challenge}):\n  {}",
            lab.acme_srv_log().display(),
            run.shell_line()
        ));
    }
    let started = Instant::now();
    let certificate = tokio::select! {
        biased;
        () = signals.recv() => anyhow::bail!("interrupted while {client} was running"),
        certificate = lab.issue(client, challenge) => certificate.with_context(|| {
            format!("acme-srv's log: {}", lab.acme_srv_log().display())
        })?,
    };
    progress(&format!(
        "{client} got a certificate for {} in {:.1} s",
        lab::DEMO_DOMAIN,
        started.elapsed().as_secs_f64()
    ));
    print_stdout(&format!("{certificate}\n"));
    Ok(())
}

/// SIGINT (Ctrl-C) and SIGTERM.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("handling SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("handling SIGTERM")?,
        })
    }

    /// Waits for either signal.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// The lab's results, on standard output.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader left) must not stop the lab.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Progress notes, on standard error.
fn progress(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "acme-srv lab: {text}");
}
