//! Command-line definitions, and how flags override the configuration file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{
    BackendConfig, Config, DomainPattern, LogFormat, NamedBackendConfig, OtherRequests, PortRange,
    ProxyProtocol,
};
use ipnet::IpNet;

/// ACME validation relayed to the target a domain's SRV record names: http-01 on port
/// 80, tls-alpn-01 on 443; and the DNS side that publishes those records.
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
    /// Run the port-443 router (tls-alpn-01 to the SRV target, the rest by SNI).
    Router(RouterArgs),
    /// Run the authoritative DNS server (and the management API when configured).
    Dns(DnsArgs),
    /// Run every part the configuration file enables: [relay], [router], [dns], [api].
    Serve {
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Change or list records through the management API.
    Records {
        #[command(flatten)]
        api: ApiClientArgs,
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// Create, list or revoke API keys (needs the admin token).
    Keys {
        #[command(flatten)]
        api: ApiClientArgs,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Create, list or revoke TSIG keys, which sign RFC 2136 UPDATE messages (needs the
    /// admin token).
    TsigKeys {
        #[command(flatten)]
        api: ApiClientArgs,
        #[command(subcommand)]
        command: TsigKeysCommand,
    },
    /// Work with configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Bring up a lab on loopback: DNS with a demo domain, the API, the relay, the
    /// router and pebble; `--issue lego|certbot` gets a certificate end to end.
    Lab(crate::lab_command::LabArgs),
    /// Validate one http-01 or tls-alpn-01 challenge by Let's Encrypt's rules (Boulder):
    /// exit 0 when a CA would accept it, else say why.
    Validate(crate::validate_command::ValidateArgs),
    /// Walk what a CA and acme-srv will do for DOMAIN, step by step (DNS, CAA, SRV,
    /// configuration, targets, relay, router, CA): ok / warning / error, each problem with
    /// its fix. Exit 0 ok, 1 warnings, 2 errors, 3 cannot check.
    Check(crate::check_command::CheckArgs),
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
    pub(crate) config: Option<PathBuf>,
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
        apply_challenge_flags(
            config,
            &self.dns_server,
            &self.allow_domain,
            &self.allow_target,
            &self.allow_port,
        )?;
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

/// `acme-srv router`: each flag overrides the file key of the same name; a repeated
/// flag replaces the whole list from the file.
#[derive(Debug, clap::Args)]
pub(crate) struct RouterArgs {
    /// Configuration file (TOML); defaults apply without one.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to accept TLS on (router.listen); port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Admin listener for /metrics and /healthz (admin.listen).
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// Name server for SRV and address lookups (resolver.servers).
    #[arg(long, value_name = "IP:PORT")]
    dns_server: Vec<SocketAddr>,
    /// Domain to route tls-alpn-01 validations for: `example.com` or `*.example.com`
    /// (challenge.allow_domains).
    #[arg(long, value_name = "PATTERN")]
    allow_domain: Vec<String>,
    /// Network targets may be in (targets.allow_networks).
    #[arg(long, value_name = "CIDR")]
    allow_target: Vec<IpNet>,
    /// Port or range targets may use (targets.allow_ports).
    #[arg(long, value_name = "N")]
    allow_port: Vec<PortRange>,
    /// Backend for names no `--backend` lists, `host:port` (router.default_backend).
    #[arg(long, value_name = "HOST:PORT")]
    default_backend: Option<String>,
    /// Backend by server name: `NAME[,NAME…]=HOST:PORT`, names exact or `*.domain`
    /// (router.backends).
    #[arg(long, value_name = "NAMES=HOST:PORT")]
    backend: Vec<String>,
    /// PROXY protocol towards every backend given by flags: off, v1 or v2.
    #[arg(long, value_name = "VERSION", default_value = "off")]
    proxy_protocol: String,
    /// Log format (log.format): text or json.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

impl RouterArgs {
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

    fn apply_flags(&self, config: &mut Config) -> anyhow::Result<()> {
        let proxy_protocol = match self.proxy_protocol.as_str() {
            "off" => ProxyProtocol::Off,
            "v1" => ProxyProtocol::V1,
            "v2" => ProxyProtocol::V2,
            other => anyhow::bail!("--proxy-protocol {other:?}: expected off, v1 or v2"),
        };
        let router = config.router.get_or_insert_with(Default::default);
        if !self.listen.is_empty() {
            router.listen.clone_from(&self.listen);
        }
        if let Some(address) = &self.default_backend {
            router.default_backend = Some(BackendConfig {
                address: address.clone(),
                proxy_protocol,
            });
        }
        if !self.backend.is_empty() {
            router.backends = self
                .backend
                .iter()
                .map(|flag| {
                    let (names, address) = flag.split_once('=').with_context(|| {
                        format!("--backend {flag:?}: expected NAME[,NAME…]=HOST:PORT")
                    })?;
                    Ok(NamedBackendConfig {
                        server_names: names.split(',').map(str::to_owned).collect(),
                        address: address.to_owned(),
                        proxy_protocol,
                    })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if self.admin_listen.is_some() {
            config.admin.listen = self.admin_listen;
        }
        apply_challenge_flags(
            config,
            &self.dns_server,
            &self.allow_domain,
            &self.allow_target,
            &self.allow_port,
        )?;
        if let Some(format) = self.log_format {
            config.log.format = format;
        }
        Ok(())
    }
}

/// The flags `relay` and `router` share: where names are looked up, which domains are
/// served, where targets may be.
fn apply_challenge_flags(
    config: &mut Config,
    dns_server: &[SocketAddr],
    allow_domain: &[String],
    allow_target: &[IpNet],
    allow_port: &[PortRange],
) -> anyhow::Result<()> {
    if !dns_server.is_empty() {
        config.resolver.servers = dns_server.to_vec();
    }
    if !allow_domain.is_empty() {
        config.challenge.allow_domains = allow_domain
            .iter()
            .map(|d| {
                d.parse::<DomainPattern>()
                    .with_context(|| format!("--allow-domain {d:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
    }
    if !allow_target.is_empty() {
        config.targets.allow_networks = allow_target.to_vec();
    }
    if !allow_port.is_empty() {
        config.targets.allow_ports = allow_port.to_vec();
    }
    Ok(())
}

/// `acme-srv dns`: each flag overrides the file key of the same name.
#[derive(Debug, clap::Args)]
pub(crate) struct DnsArgs {
    /// Configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to answer DNS on, UDP and TCP (dns.listen); port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Address of the management API (api.listen); enables the API.
    #[arg(long, value_name = "ADDR")]
    api_listen: Option<SocketAddr>,
    /// Store URL, `sqlite://PATH` (store.url).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Admin listener for /metrics and /healthz (admin.listen).
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// Log format (log.format): text or json.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

impl DnsArgs {
    /// The configuration with the flags applied, validated; and whether to run the API.
    pub(crate) fn load_config(&self) -> anyhow::Result<(Config, bool)> {
        let (mut config, source) = match &self.config {
            Some(path) => (config::load(path)?, path.display().to_string()),
            None => (Config::default(), "defaults".to_owned()),
        };
        let dns = config.dns.get_or_insert_with(Default::default);
        if !self.listen.is_empty() {
            dns.listen.clone_from(&self.listen);
        }
        if let Some(addr) = self.api_listen {
            config.api.get_or_insert_with(Default::default).listen = addr;
        }
        if let Some(url) = &self.store {
            config.store.url.clone_from(url);
        }
        if self.admin_listen.is_some() {
            config.admin.listen = self.admin_listen;
        }
        if let Some(format) = self.log_format {
            config.log.format = format;
        }
        config.validate(&format!("{source} with command-line flags"))?;
        let api = config.api.is_some();
        Ok((config, api))
    }
}

/// Where the management API is and how to authenticate.
#[derive(Debug, clap::Args)]
pub(crate) struct ApiClientArgs {
    /// Base URL of the management API.
    #[arg(
        long,
        env = "ACME_SRV_API",
        default_value = "http://127.0.0.1:8053",
        global = true
    )]
    pub(crate) api: String,
    /// Admin token or API key (`<id>.<secret>`).
    #[arg(long, env = "ACME_SRV_TOKEN", hide_env_values = true, global = true)]
    pub(crate) token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RecordsCommand {
    /// Set the SRV record at OWNER (replacing the RRset, or adding with --add).
    SetSrv {
        /// Owner, e.g. `_acme-challenge._tcp.www.example.com`.
        owner: String,
        /// Target host name, or `.` to opt out.
        #[arg(long)]
        target: String,
        /// Target port.
        #[arg(long, default_value_t = 80)]
        port: u16,
        /// Priority (lower first).
        #[arg(long, default_value_t = 10)]
        priority: u16,
        /// Weight within the priority.
        #[arg(long, default_value_t = 0)]
        weight: u16,
        /// TTL in seconds.
        #[arg(long, default_value_t = 60)]
        ttl: u32,
        /// Add to the RRset instead of replacing it.
        #[arg(long)]
        add: bool,
    },
    /// Set the TXT values at OWNER (replacing the RRset).
    SetTxt {
        /// Owner, e.g. `_acme-challenge.www.example.com`.
        owner: String,
        /// The values.
        #[arg(required = true)]
        values: Vec<String>,
        /// TTL in seconds.
        #[arg(long, default_value_t = 60)]
        ttl: u32,
    },
    /// Publish the dns-persist-01 record of DOMAIN: the TXT RRset at
    /// `_validation-persist.DOMAIN` is replaced with `ISSUER; accounturi=URL[;
    /// policy=wildcard][; persistUntil=UNIX]`.
    SetPersist {
        /// The domain being validated, e.g. `www.example.com` (for `*.example.com`, give
        /// `example.com` and `--wildcard`).
        domain: String,
        /// The CA's issuer domain name, from its challenge, e.g. `letsencrypt.org`.
        #[arg(long)]
        issuer: String,
        /// The ACME account URL, exactly as the CA gave it.
        #[arg(long, value_name = "URL")]
        account_uri: String,
        /// Let the record also validate the names below DOMAIN and its wildcard
        /// (`policy=wildcard`).
        #[arg(long)]
        wildcard: bool,
        /// Unix time after which the CA must not use the record for new validations
        /// (`persistUntil`); none by default.
        #[arg(long, value_name = "UNIX")]
        persist_until: Option<u64>,
        /// TTL in seconds (the API's default, 3600, when left out).
        #[arg(long)]
        ttl: Option<u32>,
    },
    /// Publish a dns-account-01 value for DOMAIN and an ACME account, at
    /// `_LABEL._acme-challenge.DOMAIN` (LABEL computed from the account URL); prints that
    /// owner name. The newest two values there stay.
    SetAccountLabel {
        /// The domain being validated, e.g. `www.example.com` (for `*.example.com`, give
        /// `example.com`).
        domain: String,
        /// The ACME account URL, exactly as the CA gave it.
        #[arg(long, value_name = "URL")]
        account_uri: String,
        /// The key authorization digest (43 base64url characters).
        #[arg(long)]
        value: String,
        /// TTL in seconds (the API's default, 60, when left out).
        #[arg(long)]
        ttl: Option<u32>,
    },
    /// Print the records at and below ZONE as RFC 1035 zone-file lines (`owner. TTL IN
    /// TYPE data`, names absolute), ready to load into another server.
    Export {
        /// A served zone, or any name in one.
        zone: String,
    },
    /// List records, all or under a name.
    List {
        /// Only records at or below this name.
        #[arg(long)]
        under: Option<String>,
    },
    /// Remove the records at OWNER (of one type, or all).
    Rm {
        /// Owner name.
        owner: String,
        /// Only this type (A, AAAA, CNAME, SRV, TXT).
        #[arg(long = "type")]
        record_type: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key; its secret is printed once.
    Create {
        /// A name the key may change (exactly that name).
        #[arg(long)]
        exact: Vec<String>,
        /// A name the key may change, with everything below it.
        #[arg(long)]
        subtree: Vec<String>,
        /// A network the key may be used from (default: any).
        #[arg(long)]
        source_cidr: Vec<String>,
        /// What the key is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List keys (without secrets).
    List,
    /// Revoke a key.
    Revoke {
        /// The key id.
        id: String,
    },
}

/// `tsig-keys …`: TSIG keys through the management API (admin token only).
#[derive(Debug, Subcommand)]
pub(crate) enum TsigKeysCommand {
    /// Create a TSIG key. Its secret is printed once: as a BIND `key` statement (a file
    /// for `nsupdate -k` or named.conf) and as `ALGORITHM:NAME:SECRET` for `nsupdate -y`
    /// and `dig -y`.
    Create {
        /// The key's name, a domain name (e.g. `acme-update.example.com`).
        #[arg(long)]
        name: String,
        /// The HMAC algorithm.
        #[arg(long, default_value = "hmac-sha256", value_parser = ["hmac-sha256", "hmac-sha512"])]
        algorithm: String,
        /// A name the key may change (exactly that name).
        #[arg(long)]
        exact: Vec<String>,
        /// A name the key may change, with everything below it.
        #[arg(long)]
        subtree: Vec<String>,
        /// A record type the key may change (A, AAAA, CNAME, SRV, TXT; default: every
        /// type).
        #[arg(long = "type", value_name = "TYPE")]
        record_types: Vec<String>,
        /// Allow zone transfers (AXFR, IXFR) with this key.
        #[arg(long)]
        transfer: bool,
        /// What the key is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List TSIG keys (without secrets).
    List,
    /// Revoke a TSIG key: its secret is wiped and it signs nothing from then on.
    Revoke {
        /// The key's name.
        name: String,
    },
}
