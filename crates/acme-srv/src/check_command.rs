//! `acme-srv check DOMAIN [--config FILE] [--dns-server IP:PORT] [--json]`: what a CA
//! and acme-srv will do for DOMAIN, step by step, through the [`setup_check`] crate.
//! Exit status: 0 all ok, 1 warnings, 2 errors, 3 the check itself could not run (a
//! configuration file that does not load, a bad name).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use domain_name::DomainName;
use ipnet::IpNet;
use setup_check::{CheckInput, EXIT_CANNOT_CHECK};

/// `acme-srv check`'s flags.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The domain a certificate is wanted for.
    domain: String,
    /// The configuration acme-srv runs with: what it decides (allowed domains, target
    /// policy) is checked, and its listeners are probed.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The DNS server to ask; else the configuration's resolvers, else the system's.
    #[arg(long, value_name = "IP:PORT")]
    dns_server: Option<SocketAddr>,
    /// Where to probe the relay (default: from [relay] listen).
    #[arg(long, value_name = "IP:PORT")]
    relay: Option<SocketAddr>,
    /// Where to probe the router (default: from [router] listen).
    #[arg(long, value_name = "IP:PORT")]
    router: Option<SocketAddr>,
    /// The port the CA step sends http-01 to (80 everywhere but in a lab).
    #[arg(long, value_name = "N", default_value_t = 80)]
    ca_port: u16,
    /// Reserved networks treated as reachable by a CA, for a lab on loopback
    /// (repeat the flag).
    #[arg(long, value_name = "CIDR")]
    allow_restricted: Vec<IpNet>,
    /// Leave out the CA step (a validation from this host by Let's Encrypt's rules).
    #[arg(long)]
    skip_ca: bool,
    /// Time limit for each query, connect and answer.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `acme-srv check` and returns its exit status.
pub(crate) fn run(args: CheckArgs) -> ExitCode {
    match check(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("acme-srv check: {}", crate::error_chain(&e));
            }
            ExitCode::from(EXIT_CANNOT_CHECK)
        }
    }
}

fn check(args: CheckArgs) -> anyhow::Result<u8> {
    let domain = DomainName::parse(&args.domain)
        .map_err(|e| anyhow::anyhow!("{:?} is not a domain name: {e}", args.domain))?;
    let mut input = CheckInput::new(domain);
    input.config = args.config.as_deref().map(config::load).transpose()?;
    input.dns_server = args.dns_server;
    input.relay_addr = args.relay;
    input.router_addr = args.router;
    input.ca_http_port = args.ca_port;
    input.allow_restricted = args.allow_restricted;
    input.skip_ca = args.skip_ca;
    input.timeout = args.timeout;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(setup_check::run(input));
    #[allow(clippy::print_stdout)]
    {
        if args.json {
            println!("{}", report.to_json());
        } else {
            print!("{}", report.to_text());
        }
    }
    Ok(report.exit_code())
}
