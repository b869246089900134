//! `acme-srv validate http-01|tls-alpn-01 DOMAIN …`: one validation by Boulder's rules
//! through the [`validator`] crate. Exits 0 when a CA applying those rules would accept
//! it; otherwise prints why and exits 1.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context as _, bail};
use config::PortRange;
use domain_name::DomainName;
use ipnet::IpNet;
use validator::{Challenge, SrvPolicy, Validator, ValidatorOptions};

/// The challenge type to validate.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ChallengeType {
    /// GET http://DOMAIN/.well-known/acme-challenge/TOKEN on port 80.
    #[value(name = "http-01")]
    Http01,
    /// A TLS handshake with ALPN acme-tls/1 on port 443.
    #[value(name = "tls-alpn-01")]
    TlsAlpn01,
}

/// `acme-srv validate`'s flags.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// The challenge type.
    #[arg(value_enum)]
    challenge: ChallengeType,
    /// The domain validated.
    domain: String,
    /// The challenge token (http-01).
    #[arg(long)]
    token: Option<String>,
    /// The key authorization expected (TOKEN.THUMBPRINT).
    #[arg(long, value_name = "KA")]
    key_authorization: String,
    /// The DNS server to ask (A, AAAA, SRV); the system's resolvers when absent.
    #[arg(long, value_name = "IP:PORT")]
    dns_server: Option<SocketAddr>,
    /// The port standing for 80 (http-01, and http redirects) or 443 (tls-alpn-01).
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// The port standing for 443 in https redirects of http-01.
    #[arg(long, value_name = "N", default_value_t = 443)]
    https_port: u16,
    /// Perspectives validating, the primary included: 1, or 4 and more (Boulder needs
    /// at least 3 remote ones).
    #[arg(long, value_name = "N", default_value_t = 1)]
    perspectives: usize,
    /// A source address for the perspectives, used in turn (repeat the flag).
    #[arg(long, value_name = "IP")]
    perspective_source: Vec<IpAddr>,
    /// Reserved networks that may be contacted anyway, e.g. 127.0.0.0/8 for a lab on
    /// loopback (repeat the flag). Boulder refuses every reserved address.
    #[arg(long, value_name = "CIDR")]
    allow_restricted: Vec<IpNet>,
    /// Validate at the targets of the domain's SRV record (the proposal, as a CA would
    /// implement it).
    #[arg(long)]
    honour_srv: bool,
    /// With --honour-srv: the networks a target address must lie in (repeat the flag;
    /// default every public address).
    #[arg(long, value_name = "CIDR", requires = "honour_srv")]
    srv_allow_network: Vec<IpNet>,
    /// With --honour-srv: the ports a target may name ("N" or "N-M", repeat the flag;
    /// default 80, 443 and 1024-65535).
    #[arg(long, value_name = "RANGE", requires = "honour_srv")]
    srv_allow_port: Vec<PortRange>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `acme-srv validate`.
pub(crate) fn run(args: ValidateArgs) -> anyhow::Result<()> {
    let domain = DomainName::parse(&args.domain)
        .with_context(|| format!("{:?} is not a domain name", args.domain))?;
    let challenge = match args.challenge {
        ChallengeType::Http01 => {
            let Some(token) = args.token.as_deref() else {
                bail!("http-01 needs --token");
            };
            Challenge::http01(domain, token, &args.key_authorization)?
        }
        ChallengeType::TlsAlpn01 => Challenge::TlsAlpn01 {
            domain,
            key_authorization: args.key_authorization.clone(),
        },
    };
    let mut options = ValidatorOptions {
        dns_server: args.dns_server,
        https_port: args.https_port,
        perspectives: args.perspectives,
        perspective_sources: args.perspective_source.clone(),
        allow_restricted: args.allow_restricted.clone(),
        ..ValidatorOptions::default()
    };
    if let Some(port) = args.port {
        match args.challenge {
            ChallengeType::Http01 => options.http_port = port,
            ChallengeType::TlsAlpn01 => options.tls_port = port,
        }
    }
    if args.honour_srv {
        let mut policy = SrvPolicy::default();
        if !args.srv_allow_network.is_empty() {
            policy.networks.clone_from(&args.srv_allow_network);
        }
        if !args.srv_allow_port.is_empty() {
            policy.ports = args
                .srv_allow_port
                .iter()
                .map(|r| r.first..=r.last)
                .collect();
        }
        options.honour_srv = Some(policy);
    }
    let validator = Validator::new(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let outcome = runtime.block_on(validator.validate(&challenge));
    #[allow(clippy::print_stdout)]
    {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&outcome)?);
        } else {
            print!("{}", outcome.render_text());
        }
    }
    match outcome.problem {
        None => Ok(()),
        Some(problem) => bail!("{} would fail: {}", outcome.challenge, problem.detail),
    }
}
