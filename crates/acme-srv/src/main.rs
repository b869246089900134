//! `acme-srv`: the command-line program. It wires the library crates together; the
//! behaviour lives in them (see `docs/architecture.md`).
//!
//! - `acme-srv relay`: the port-80 relay ([`http_relay`]).
//! - `acme-srv router`: the port-443 router ([`alpn_router`]).
//! - `acme-srv dns`: the authoritative DNS server ([`dns_server`]) over the record
//!   store ([`record_store`]), with the management API ([`management_api`]) when
//!   configured.
//! - `acme-srv serve --config FILE`: every part the file enables, in one process.
//! - `acme-srv records …`, `acme-srv keys …`, `acme-srv tsig-keys …`: a client of the
//!   management API.
//! - `acme-srv config check FILE`: loads and validates a configuration file.
//! - `acme-srv lab`: DNS, API, relay, router and pebble on loopback with a demo domain
//!   ([`lab`]); `--issue lego|certbot` gets a certificate end to end.
//! - `acme-srv validate http-01|tls-alpn-01 DOMAIN …`: one validation by Boulder's rules
//!   ([`validator`]).
//! - `acme-srv check DOMAIN …`: what a CA and acme-srv will do for a domain, step by
//!   step, each problem with its fix ([`setup_check`]).
//!
//! Layout: [`cli`] holds the clap definitions and how flags override the file;
//! [`serve`] runs the parts with one runtime, one metrics registry and one shutdown (the
//! DNS side's zone specs, and its snapshot kept equal to the store, come from
//! [`zone_sync`]); [`reload`] applies a new configuration on SIGHUP; [`client`] talks to
//! the API; [`listen`] binds sockets, [`admin`] serves metrics and health, [`logging`]
//! sets up tracing. `anyhow` is used here and only here.
#![forbid(unsafe_code)]

mod admin;
mod check_command;
mod cli;
mod client;
mod lab_command;
mod listen;
mod logging;
mod reload;
mod serve;
mod validate_command;

use clap::Parser;

use cli::{Cli, Command, ConfigCommand};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Relay(args) => args.load_config().and_then(|config| {
            let parts = serve::Parts {
                relay: true,
                router: false,
                dns: false,
                api: false,
            };
            serve::run(config, parts, Some(Box::new(move || args.load_config())))
        }),
        Command::Router(args) => args.load_config().and_then(|config| {
            let parts = serve::Parts {
                relay: false,
                router: true,
                dns: false,
                api: false,
            };
            serve::run(config, parts, Some(Box::new(move || args.load_config())))
        }),
        Command::Dns(args) => args.load_config().and_then(|(config, api)| {
            let parts = serve::Parts {
                relay: false,
                router: false,
                dns: true,
                api,
            };
            serve::run(config, parts, None)
        }),
        Command::Serve { config: path } => config::load(&path)
            .map_err(anyhow::Error::from)
            .and_then(|config| {
                let parts = serve::Parts::enabled_in(&config);
                let reload = move || config::load(&path).map_err(anyhow::Error::from);
                serve::run(config, parts, Some(Box::new(reload)))
            }),
        Command::Records { api, command } => client::records(api, command),
        Command::Keys { api, command } => client::keys(api, command),
        Command::TsigKeys { api, command } => client::tsig_keys(&api, command),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => check_config(&file),
        Command::Lab(args) => lab_command::run(&args),
        Command::Validate(args) => validate_command::run(args),
        Command::Check(args) => return check_command::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("acme-srv: {}", error_chain(&e));
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// `e` and its causes, joined by `: `; a cause already spelled out by the message
/// before it (library errors often show their source in their own text) is left out.
fn error_chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

fn check_config(file: &std::path::Path) -> anyhow::Result<()> {
    let config = config::load(file)?;
    #[allow(clippy::print_stdout)]
    {
        println!("{}: ok ({})", file.display(), config_summary(&config));
    }
    Ok(())
}

/// One line on what `serve` would run from `config`, part by part (the store by its
/// kind only: its URL may hold a password).
fn config_summary(config: &config::Config) -> String {
    let parts = serve::Parts::enabled_in(config);
    let mut runs = Vec::new();
    if parts.relay {
        runs.push(format!(
            "relay: {} listener(s), other requests: {:?}",
            config.relay.listen.len(),
            config.relay.other_requests
        ));
    }
    if let Some(router) = config.router.as_ref().filter(|_| parts.router) {
        runs.push(format!(
            "router: {} listener(s), {} named backend(s), default backend: {}",
            router.listen.len(),
            router.backends.len(),
            if router.default_backend.is_some() {
                "yes"
            } else {
                "none"
            }
        ));
    }
    if let Some(dns) = config.dns.as_ref().filter(|_| parts.dns) {
        runs.push(format!(
            "dns: {} zone(s), {} listener(s)",
            dns.zones.len(),
            dns.listen.len()
        ));
    }
    if parts.api {
        runs.push("api".to_owned());
    }
    if parts.dns || parts.api {
        let kind = config.store.url.split("://").next().unwrap_or_default();
        runs.push(format!("store: {kind}"));
    }
    let runs = if runs.is_empty() {
        "serve runs nothing: no [relay], [router], [dns] or [api] table".to_owned()
    } else {
        runs.join("; ")
    };
    format!(
        "{} domain pattern(s); {runs}",
        config.challenge.allow_domains.len()
    )
}
