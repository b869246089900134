//! Command-line definitions, and how flags override the configuration file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Config, DomainPattern, LogFormat, OtherRequests, PortRange};
use ipnet::IpNet;

/// ACME http-01 validation relayed to the target a domain's SRV record names.
#[derive(Debug, Parser)]
#[command(name = "acme-srv", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the port-80 relay.
    Relay(RelayArgs),
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Load and validate FILE; print a summary or the first error (file, key, reason).
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

/// `acme-srv relay`: each flag overrides the file key of the same name; a repeated
/// flag replaces the whole list from the file.
#[derive(Debug, clap::Args)]
pub(crate) struct RelayArgs {
    /// Configuration file (TOML); defaults apply without one.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to accept HTTP on (relay.listen); port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Admin listener for /metrics and /healthz (relay.admin_listen).
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// Name server for SRV and address lookups (resolver.servers).
    #[arg(long, value_name = "IP:PORT")]
    dns_server: Vec<SocketAddr>,
    /// Domain to relay challenges for: `example.com` or `*.example.com`
    /// (challenge.allow_domains).
    #[arg(long, value_name = "PATTERN")]
    allow_domain: Vec<String>,
    /// Network targets may be in (targets.allow_networks).
    #[arg(long, value_name = "CIDR")]
    allow_target: Vec<IpNet>,
    /// Port or range targets may use (targets.allow_ports).
    #[arg(long, value_name = "N")]
    allow_port: Vec<PortRange>,
    /// What to do with other requests (relay.other_requests).
    #[arg(long, value_name = "MODE")]
    other_requests: Option<OtherRequests>,
    /// Default app for `upstream` mode, `http://host:port` (relay.upstream.default).
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// Log format (log.format): text or json.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

impl RelayArgs {
    /// The file's configuration (or the defaults) with the flags applied, validated.
    pub(crate) fn load_config(&self) -> anyhow::Result<Config> {
        let (mut config, source) = match &self.config {
            Some(path) => (config::load(path)?, path.display().to_string()),
            None => (Config::default(), "defaults".to_owned()),
        };
        self.apply_flags(&mut config)?;
        config.validate(&format!("{source} with command-line flags"))?;
        Ok(config)
    }

    /// Overrides keys of `config` with the flags given.
    fn apply_flags(&self, config: &mut Config) -> anyhow::Result<()> {
        if !self.listen.is_empty() {
            config.relay.listen.clone_from(&self.listen);
        }
        if self.admin_listen.is_some() {
            config.relay.admin_listen = self.admin_listen;
        }
        if !self.dns_server.is_empty() {
            config.resolver.servers.clone_from(&self.dns_server);
        }
        if !self.allow_domain.is_empty() {
            config.challenge.allow_domains = self
                .allow_domain
                .iter()
                .map(|d| {
                    d.parse::<DomainPattern>()
                        .with_context(|| format!("--allow-domain {d:?}"))
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if !self.allow_target.is_empty() {
            config.targets.allow_networks.clone_from(&self.allow_target);
        }
        if !self.allow_port.is_empty() {
            config.targets.allow_ports.clone_from(&self.allow_port);
        }
        if let Some(mode) = self.other_requests {
            config.relay.other_requests = mode;
        }
        if self.upstream.is_some() {
            config.relay.upstream.default.clone_from(&self.upstream);
        }
        if let Some(format) = self.log_format {
            config.log.format = format;
        }
        Ok(())
    }
}
