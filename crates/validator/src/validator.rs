//! [`Validator`]: one challenge, validated from the primary perspective and then, when
//! it passed and more perspectives are configured, from the remote ones at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain_name::DomainName;
use serde::Serialize;
use target_resolver::{ResolverOptions, TargetPolicy, TargetResolver};

use crate::addresses::AddressRules;
use crate::http01::{self, Failure, FirstHop};
use crate::options::{ACME_TLS_1, RIRS, ValidatorOptions};
use crate::perspective::{Perspective, Shared};
use crate::problem::{Problem, ValidationRecord};
use crate::quorum::{self, MIN_REMOTE_PERSPECTIVES, QuorumSummary};
use crate::srv_targets::{self, SrvReport};
use crate::tls_alpn01;
use crate::tls_client::client_config;

/// A challenge to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// http-01: the token and the key authorization the target must serve.
    Http01 {
        /// The identifier.
        domain: DomainName,
        /// The challenge token (base64url).
        token: String,
        /// `token.thumbprint`.
        key_authorization: String,
    },
    /// tls-alpn-01: the key authorization whose SHA-256 the certificate must carry.
    TlsAlpn01 {
        /// The identifier.
        domain: DomainName,
        /// `token.thumbprint`.
        key_authorization: String,
    },
}

impl Challenge {
    /// An http-01 challenge; the token must be base64url (RFC 8555 §8.3).
    pub fn http01(
        domain: DomainName,
        token: &str,
        key_authorization: &str,
    ) -> Result<Self, ValidatorError> {
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if token.is_empty() || token.len() > 256 || !token.chars().all(base64url) {
            return Err(ValidatorError::BadToken(token.to_owned()));
        }
        Ok(Self::Http01 {
            domain,
            token: token.to_owned(),
            key_authorization: key_authorization.to_owned(),
        })
    }

    /// The challenge's type name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http01 { .. } => "http-01",
            Self::TlsAlpn01 { .. } => "tls-alpn-01",
        }
    }

    /// The identifier validated.
    pub fn domain(&self) -> &DomainName {
        match self {
            Self::Http01 { domain, .. } | Self::TlsAlpn01 { domain, .. } => domain,
        }
    }
}

/// Why a validator cannot be built or a challenge given.
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    /// Boulder works with the primary alone or with at least 3 remote perspectives.
    #[error(
        "{0} perspectives: Boulder validates from the primary alone (1) or from the primary \
         and at least {MIN_REMOTE_PERSPECTIVES} remote perspectives (4 or more)"
    )]
    Perspectives(usize),
    /// The token is not base64url.
    #[error("token {0:?} is not base64url (letters, digits, '-' and '_')")]
    BadToken(String),
    /// The DNS resolver could not be set up.
    #[error("cannot set up the DNS resolver")]
    Resolver(#[source] target_resolver::ResolveError),
}

/// One perspective's result.
#[derive(Debug, Clone, Serialize)]
pub struct PerspectiveReport {
    /// `primary`, or `remote-N`.
    pub name: String,
    /// The RIR this perspective stands for.
    pub rir: &'static str,
    /// The source address it connects from, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<std::net::IpAddr>,
    /// Why it failed; `None` when it passed.
    pub problem: Option<Problem>,
    /// What it contacted.
    pub records: Vec<ValidationRecord>,
    /// The SRV lookup, when SRV records are honoured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srv: Option<SrvReport>,
}

/// The verdict on one challenge.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `http-01` or `tls-alpn-01`.
    pub challenge: &'static str,
    /// The identifier.
    pub domain: String,
    /// Whether a CA applying these rules would accept it.
    pub valid: bool,
    /// Why not, as the CA would say it.
    pub problem: Option<Problem>,
    /// Each perspective that ran, the primary first.
    pub perspectives: Vec<PerspectiveReport>,
    /// The remote perspectives' quorum, when they ran.
    pub quorum: Option<QuorumSummary>,
}

/// Validates challenges by Boulder's rules (see the crate docs).
#[derive(Clone)]
pub struct Validator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("options", &self.shared.options)
            .finish()
    }
}

impl Validator {
    /// A validator with `options`.
    pub fn new(options: ValidatorOptions) -> Result<Self, ValidatorError> {
        let n = options.perspectives;
        if n == 0 || (n > 1 && n - 1 < MIN_REMOTE_PERSPECTIVES) {
            return Err(ValidatorError::Perspectives(n));
        }
        let resolver = TargetResolver::new(ResolverOptions {
            servers: options.dns_server.into_iter().collect(),
            timeout: Duration::from_secs(5),
            attempts: 2,
            // Each validation asks afresh, as every perspective of a CA does.
            max_ttl: Duration::ZERO,
            negative_ttl_without_soa: Duration::ZERO,
            serve_stale_for: Duration::ZERO,
            cache_entries: 1024,
        })
        .map_err(ValidatorError::Resolver)?;
        let srv_policy = options
            .honour_srv
            .as_ref()
            .map(|p| TargetPolicy::new(p.networks.clone(), p.ports.clone()));
        let shared = Shared {
            rules: AddressRules::new(&options.allow_restricted),
            resolver,
            https_client: client_config(&[]),
            alpn_client: client_config(&[ACME_TLS_1]),
            srv_policy,
            options,
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    /// Validates `challenge`: the primary perspective, then (if it passed) the remote
    /// ones concurrently, judged by Boulder's quorum.
    pub async fn validate(&self, challenge: &Challenge) -> Outcome {
        let primary = self.perspective(0, challenge).await;
        let mut outcome = Outcome {
            challenge: challenge.kind(),
            domain: challenge.domain().to_string(),
            valid: primary.problem.is_none(),
            problem: primary.problem.clone(),
            perspectives: vec![primary],
            quorum: None,
        };
        let remote = self.shared.options.perspectives.saturating_sub(1);
        if !outcome.valid || remote == 0 {
            return outcome;
        }
        let runs = (1..=remote).map(|i| {
            let this = self.clone();
            let challenge = challenge.clone();
            tokio::spawn(async move { this.perspective(i, &challenge).await })
        });
        let mut reports = Vec::with_capacity(remote);
        for (i, run) in runs.collect::<Vec<_>>().into_iter().enumerate() {
            reports.push(run.await.unwrap_or_else(|e| PerspectiveReport {
                name: format!("remote-{}", i + 1),
                rir: RIRS[i % RIRS.len()],
                source: None,
                problem: Some(Problem::new(
                    crate::problem::ProblemKind::ServerInternal,
                    format!("Secondary validation RPC failed: {e}"),
                )),
                records: Vec::new(),
                srv: None,
            }));
        }
        let summary = quorum::decide(
            reports
                .iter()
                .map(|r| (r.name.as_str(), r.rir, r.problem.is_none())),
        );
        if !summary.met {
            outcome.valid = false;
            let first = reports
                .iter()
                .find_map(|r| r.problem.clone())
                .unwrap_or_else(|| {
                    Problem::new(
                        crate::problem::ProblemKind::ServerInternal,
                        "the passing perspectives span fewer than 2 RIRs",
                    )
                });
            outcome.problem = Some(Problem {
                kind: first.kind,
                detail: format!("During secondary validation: {}", first.detail),
            });
        }
        outcome.perspectives.extend(reports);
        outcome.quorum = Some(summary);
        outcome
    }

    /// One perspective's validation, within the perspective time limit.
    async fn perspective(&self, index: usize, challenge: &Challenge) -> PerspectiveReport {
        let perspective = Perspective::new(&self.shared, index);
        let (name, rir) = if index == 0 {
            ("primary".to_owned(), RIRS[0])
        } else {
            (format!("remote-{index}"), RIRS[(index - 1) % RIRS.len()])
        };
        let limit = self.shared.options.perspective_timeout;
        let run = run_one(&perspective, challenge);
        let (result, records, srv) = tokio::time::timeout(limit, run).await.unwrap_or_else(|_| {
            (
                Err(Problem::connection(format!(
                    "Timeout after connect (your server may be slow or overloaded): no \
                     answer within {limit:?}"
                ))),
                Vec::new(),
                None,
            )
        });
        let sources = &self.shared.options.perspective_sources;
        PerspectiveReport {
            name,
            rir,
            source: (!sources.is_empty()).then(|| sources[index % sources.len()]),
            problem: result.err(),
            records,
            srv,
        }
    }
}

type Run = (
    Result<(), Problem>,
    Vec<ValidationRecord>,
    Option<SrvReport>,
);

/// Validates at the SRV targets when they are honoured (failing over on connect
/// errors), else as Boulder does.
async fn run_one(perspective: &Perspective<'_>, challenge: &Challenge) -> Run {
    let srv_challenge = match challenge {
        Challenge::Http01 { .. } => srv_scheme::Challenge::Http01,
        Challenge::TlsAlpn01 { .. } => srv_scheme::Challenge::TlsAlpn01,
    };
    let mut srv = None;
    let mut hops: Vec<FirstHop> = vec![FirstHop::Domain];
    if perspective.srv_policy().is_some() {
        match srv_targets::targets(perspective, srv_challenge, challenge.domain()).await {
            Err(problem) => return (Err(problem), Vec::new(), None),
            Ok(report) => {
                if report.fallback.is_none() {
                    hops = report
                        .allowed
                        .iter()
                        .map(|a: &SocketAddr| FirstHop::Pinned(*a))
                        .collect();
                }
                srv = Some(report);
            }
        }
    }
    let mut all_records = Vec::new();
    let mut last = Err(Problem::connection("no target to validate at"));
    for hop in hops {
        let (result, records) = match challenge {
            Challenge::Http01 {
                domain,
                token,
                key_authorization,
            } => {
                http01::validate(perspective, hop, domain.as_str(), token, key_authorization).await
            }
            Challenge::TlsAlpn01 {
                domain,
                key_authorization,
            } => tls_alpn01::validate(perspective, hop, domain.as_str(), key_authorization).await,
        };
        all_records.extend(records);
        match result {
            Ok(()) => return (Ok(()), all_records, srv),
            Err(Failure::Dial(problem)) => last = Err(problem),
            Err(Failure::Other(problem)) => return (Err(problem), all_records, srv),
        }
    }
    (last, all_records, srv)
}
