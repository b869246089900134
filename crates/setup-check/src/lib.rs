//! `acme-srv check DOMAIN`: walks what a CA and acme-srv will do for one domain, step
//! by step, and says for each step **ok**, **warning** or **error**, with the fix for
//! every problem in one sentence. Like Let's Debug, for the SRV scheme
//! (`docs/srv-scheme.md`); `docs/check.md` explains the output.
//!
//! [`run`] takes a [`CheckInput`] and returns a [`Report`]; nothing is printed.
//! [`Report::to_text`] and [`Report::to_json`] render it, [`Report::exit_code`] gives
//! the process status (0 ok, 1 warnings, 2 errors). The steps, each in its own file:
//!
//! 1. `addresses.rs` ([`StepId::Addresses`]): the domain's A and AAAA records (with
//!    their CNAME chain and TTL), refused if a CA would refuse them (reserved ranges),
//!    and whether they lead to the relay (`[relay] listen`) and the router (`[router]
//!    listen`). A wildcard listener cannot be compared: an address of this host is then
//!    ok, any other a warning saying what to verify.
//! 2. `caa.rs` ([`StepId::Caa`]): the CAA record set that applies (RFC 8659, climbing to
//!    the parents), whether it lets Let's Encrypt issue and allows http-01 and
//!    tls-alpn-01 (`validationmethods`, RFC 8657).
//! 3. `srv_records.rs` ([`StepId::SrvHttp01`], [`StepId::SrvTlsAlpn01`]): the SRV record
//!    at each label, with TTL and CNAME chain (a loop named), NXDOMAIN or NODATA, the
//!    `.` opt-out, walking up to allowed parents and the fallback target as the relay
//!    does, and the RFC 2782 order with each target's share.
//! 4. `configuration.rs` ([`StepId::Configuration`]): whether the domain is on
//!    `[challenge] allow_domains`, and each target's addresses against the `[targets]`
//!    policy (`target_resolver::TargetPolicy::check`, the relay's own check).
//! 5. `targets.rs` ([`StepId::TargetsHttp01`], [`StepId::TargetsTlsAlpn01`]): each
//!    allowed target address, contacted as the relay or the router would: an HTTP `GET`
//!    of a made-up token with the domain as `Host` (any answer proves an HTTP server;
//!    404 is the expected one), or a TLS handshake offering only `acme-tls/1` with the
//!    domain as SNI (`tls.rs` holds the client, which accepts any certificate).
//! 6. `relay_probe.rs` ([`StepId::Relay`], [`StepId::Router`]): the CA's request sent to
//!    the relay's address, and the CA's handshake to the router's, with the answer
//!    explained: from the target (the path works) or the relay's own (which one, why).
//! 7. `ca.rs` ([`StepId::Ca`]): the validator crate validates a made-up http-01 token by
//!    Let's Encrypt's rules at the domain's own addresses: any HTTP answer shows that a
//!    CA gets through to port 80.
//!
//! `report.rs` holds the types, `render.rs` the text form, `http.rs` the small HTTP/1.1
//! client the probes share, `dns.rs` the raw DNS lookups (CNAMEs walked hop by hop).
//!
//! Every probe carries a fresh random token starting with `acmesrvcheck`, so its lines
//! in the relay's and the ACME client's logs are easy to find; it never sends anything
//! but a `GET` of that token and a TLS ClientHello.
#![forbid(unsafe_code)]

mod addresses;
mod ca;
mod caa;
mod configuration;
mod dns;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod http;
mod relay_probe;
pub mod render;
mod report;
mod srv_records;
mod targets;
mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use config::Config;
use domain_name::DomainName;
use ipnet::IpNet;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use srv_scheme::Labels;
use target_resolver::TargetPolicy;

pub use report::{
    EXIT_CANNOT_CHECK, EXIT_ERRORS, EXIT_OK, EXIT_WARNINGS, Finding, Report, Status, Step, StepId,
};

/// What to check, and how.
#[derive(Debug, Clone)]
pub struct CheckInput {
    /// The domain a certificate is wanted for.
    pub domain: DomainName,
    /// The configuration acme-srv runs with (`--config`); without it, what acme-srv
    /// decides is not checked and the default `[targets]` policy judges the targets.
    pub config: Option<Config>,
    /// The DNS server to ask (`--dns-server`); else the configuration's
    /// `[resolver] servers`, else the system's.
    pub dns_server: Option<SocketAddr>,
    /// Where to send the relay probe; else derived from `[relay] listen` (a wildcard
    /// address becomes the loopback address of its family, same port).
    pub relay_addr: Option<SocketAddr>,
    /// Where to send the router probe; else derived from `[router] listen` the same
    /// way; no router probe when neither is there.
    pub router_addr: Option<SocketAddr>,
    /// The port the CA probe (`ca` step) sends http-01 to: 80, as every CA.
    pub ca_http_port: u16,
    /// Reserved networks the `addresses` and `ca` steps treat as reachable by a CA:
    /// for a lab or a test on loopback. Empty in production.
    pub allow_restricted: Vec<IpNet>,
    /// Time limit for each DNS query, connect and answer.
    pub timeout: Duration,
    /// Skip the `ca` step (the validator's view from this host).
    pub skip_ca: bool,
}

impl CheckInput {
    /// Defaults for `domain`: no configuration, the system's DNS, CA port 80, 5 s.
    pub fn new(domain: DomainName) -> Self {
        Self {
            domain,
            config: None,
            dns_server: None,
            relay_addr: None,
            router_addr: None,
            ca_http_port: 80,
            allow_restricted: Vec::new(),
            timeout: Duration::from_secs(5),
            skip_ca: false,
        }
    }
}

/// What every step reads.
pub(crate) struct Context {
    pub(crate) domain: DomainName,
    /// The configuration given, if any.
    pub(crate) config: Option<Config>,
    /// The configuration given, or the defaults.
    pub(crate) effective: Config,
    pub(crate) labels: Labels,
    pub(crate) policy: TargetPolicy,
    pub(crate) dns: dns::Dns,
    pub(crate) dns_servers: Vec<SocketAddr>,
    pub(crate) input: CheckInput,
    /// The made-up token every probe asks for.
    pub(crate) token: String,
}

/// Runs every step for `input` and returns what each found. Never fails: a step that
/// cannot run says so in the report.
pub async fn run(input: CheckInput) -> Report {
    let effective = input.config.clone().unwrap_or_default();
    let dns_servers: Vec<SocketAddr> = match input.dns_server {
        Some(server) => vec![server],
        None => effective.resolver.servers.clone(),
    };
    let domain_text = input.domain.to_string();
    let dns = match dns::Dns::new(&dns_servers, input.timeout) {
        Ok(dns) => dns,
        Err(reason) => {
            let step = Step::new(
                StepId::Addresses,
                format!("A/AAAA of {domain_text}"),
                vec![Finding::error(
                    reason,
                    "Pass --dns-server IP:PORT, or set [resolver] servers, or fix /etc/resolv.conf.",
                )],
            );
            return Report::new(domain_text, vec![step]);
        }
    };
    let labels = Labels {
        http01: effective.challenge.http01_label.clone(),
        tls_alpn01: effective.challenge.tls_alpn01_label.clone(),
    };
    let policy = TargetPolicy::new(
        effective.targets.allow_networks.clone(),
        effective
            .targets
            .allow_ports
            .iter()
            .map(|p| p.first..=p.last)
            .collect(),
    );
    let suffix: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let ctx = Context {
        domain: input.domain.clone(),
        config: input.config.clone(),
        effective,
        labels,
        policy,
        dns,
        dns_servers,
        input,
        token: format!("acmesrvcheck{suffix}"),
    };

    let mut steps = Vec::new();
    let (step, domain_addresses) = addresses::check(&ctx).await;
    steps.push(step);
    steps.push(caa::check(&ctx).await);
    let (step, http01) = srv_records::check(&ctx, srv_scheme::Challenge::Http01).await;
    steps.push(step);
    let (step, tls_alpn01) = srv_records::check(&ctx, srv_scheme::Challenge::TlsAlpn01).await;
    steps.push(step);
    let (step, plans) = configuration::check(&ctx, &[&http01, &tls_alpn01]).await;
    steps.push(step);
    steps.push(targets::http(&ctx, &plans).await);
    steps.push(targets::tls(&ctx, &plans).await);
    steps.push(relay_probe::relay(&ctx).await);
    if let Some(step) = relay_probe::router(&ctx).await {
        steps.push(step);
    }
    if !ctx.input.skip_ca {
        steps.push(ca::check(&ctx, &domain_addresses).await);
    }
    Report::new(domain_text, steps)
}
