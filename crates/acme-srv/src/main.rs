//! `acme-srv`: the command-line program. It wires the library crates together; the
//! behaviour lives in them (see `docs/architecture.md`).
//!
//! - `acme-srv relay`: the port-80 relay ([`http_relay`]), with the admin listener
//!   (`/metrics`, `/healthz`) when configured.
//! - `acme-srv config check FILE`: loads and validates a configuration file.
//!
//! Layout: [`cli`] holds the clap definitions and how flags override the file,
//! [`listen`] binds sockets, [`admin`] serves metrics and health, [`logging`] sets up
//! tracing. `anyhow` is used here and only here.
#![forbid(unsafe_code)]

mod admin;
mod cli;
mod listen;
mod logging;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command, ConfigCommand};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Relay(args) => run_relay(args),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => check_config(&file),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("acme-srv: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn check_config(file: &std::path::Path) -> anyhow::Result<()> {
    let config = config::load(file)?;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{}: ok ({} domain pattern(s), {} listener(s), other requests: {:?})",
            file.display(),
            config.challenge.allow_domains.len(),
            config.relay.listen.len(),
            config.relay.other_requests
        );
    }
    Ok(())
}

fn run_relay(args: cli::RelayArgs) -> anyhow::Result<()> {
    let config = args.load_config()?;
    logging::init(config.log.format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let metrics = admin::install_metrics()?;
        let relay =
            Arc::new(http_relay::Relay::from_config(&config).context("building the relay")?);
        let mut listeners = Vec::new();
        for addr in &config.relay.listen {
            let listener =
                listen::bind(*addr).with_context(|| format!("binding http listener {addr}"))?;
            tracing::info!("listening for http on {}", listener.local_addr()?);
            listeners.push(listener);
        }
        let shutdown = tokio_util::sync::CancellationToken::new();
        let admin_task = match config.relay.admin_listen {
            Some(addr) => {
                let listener =
                    listen::bind(addr).with_context(|| format!("binding admin listener {addr}"))?;
                tracing::info!("listening for admin on {}", listener.local_addr()?);
                Some(tokio::spawn(admin::serve(
                    listener,
                    metrics,
                    shutdown.clone(),
                )))
            }
            None => None,
        };
        tracing::info!(
            domains = config.challenge.allow_domains.len(),
            other_requests = ?config.relay.other_requests,
            "acme-srv ready"
        );
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signal.cancel();
        });
        http_relay::run(relay, listeners, shutdown.clone().cancelled_owned()).await;
        shutdown.cancel();
        if let Some(task) = admin_task {
            let _ = task.await;
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on SIGTERM or SIGINT.
async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the process");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}
