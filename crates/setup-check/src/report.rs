//! What a check found: a [`Report`] of [`Step`]s, each a list of [`Finding`]s with a
//! [`Status`] and, for every problem, the fix in one sentence. Serialisable for
//! `--json`; [`Report::exit_code`] for scripts.

use serde::Serialize;

/// Exit status when every step is ok (or skipped).
pub const EXIT_OK: u8 = 0;
/// Exit status when some step warns and none has an error.
pub const EXIT_WARNINGS: u8 = 1;
/// Exit status when some step has an error: validation is expected to fail.
pub const EXIT_ERRORS: u8 = 2;
/// Exit status for "the check could not run" (an unreadable configuration file, a bad
/// argument): not produced by this crate, reserved for the binary (as Nagios' UNKNOWN).
pub const EXIT_CANNOT_CHECK: u8 = 3;

/// How a step or a finding went. Ordered: `Ok < Skipped < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Ok,
    /// Not run, because an earlier step decided it (the finding says why).
    Skipped,
    /// May work, or works now and may not later; read the finding.
    Warning,
    /// Validation will fail (or already fails) because of this.
    Error,
}

impl Status {
    /// `ok`, `skipped`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Skipped => "skipped",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fact a step established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How this fact bears on validation.
    pub status: Status,
    /// What was found, in one or two sentences.
    pub message: String,
    /// For a warning or an error: what to change, in one sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// An ok fact.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            status: Status::Ok,
            message: message.into(),
            fix: None,
        }
    }

    /// Why a step did not run.
    pub fn skipped(message: impl Into<String>) -> Self {
        Self {
            status: Status::Skipped,
            message: message.into(),
            fix: None,
        }
    }

    /// A warning with its fix.
    pub fn warning(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: Status::Warning,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// An error with its fix.
    pub fn error(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: Status::Error,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// The same finding with `status` (used where the same fact weighs differently).
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
}

/// The steps, in the order they run. The `id` in JSON output is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StepId {
    /// The domain's A and AAAA records, and whether they lead to the relay and router.
    #[serde(rename = "addresses")]
    Addresses,
    /// The CAA records that apply to the domain.
    #[serde(rename = "caa")]
    Caa,
    /// The http-01 SRV record (`_acme-challenge._tcp.<domain>`).
    #[serde(rename = "srv-http-01")]
    SrvHttp01,
    /// The tls-alpn-01 SRV record (`_acme-tls-alpn._tcp.<domain>`).
    #[serde(rename = "srv-tls-alpn-01")]
    SrvTlsAlpn01,
    /// What the configuration decides: the allow-list, each target address's policy.
    #[serde(rename = "configuration")]
    Configuration,
    /// Whether each http-01 target address answers HTTP.
    #[serde(rename = "targets-http-01")]
    TargetsHttp01,
    /// Whether each tls-alpn-01 target address answers TLS with `acme-tls/1`.
    #[serde(rename = "targets-tls-alpn-01")]
    TargetsTlsAlpn01,
    /// A CA's http-01 request sent to the relay's address.
    #[serde(rename = "relay")]
    Relay,
    /// A CA's tls-alpn-01 handshake sent to the router's address.
    #[serde(rename = "router")]
    Router,
    /// The validator's http-01 validation of a made-up token, by Let's Encrypt's rules,
    /// at the domain's own addresses.
    #[serde(rename = "ca")]
    Ca,
}

impl StepId {
    /// The id as JSON writes it (`srv-http-01`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Addresses => "addresses",
            Self::Caa => "caa",
            Self::SrvHttp01 => "srv-http-01",
            Self::SrvTlsAlpn01 => "srv-tls-alpn-01",
            Self::Configuration => "configuration",
            Self::TargetsHttp01 => "targets-http-01",
            Self::TargetsTlsAlpn01 => "targets-tls-alpn-01",
            Self::Relay => "relay",
            Self::Router => "router",
            Self::Ca => "ca",
        }
    }
}

/// One step of the walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Which step.
    pub id: StepId,
    /// A one-line title naming what was looked at.
    pub title: String,
    /// The worst status among the findings (`ok` when there are none).
    pub status: Status,
    /// What was found, in order.
    pub findings: Vec<Finding>,
}

impl Step {
    /// A step with its findings; the status is the worst of theirs.
    pub fn new(id: StepId, title: impl Into<String>, findings: Vec<Finding>) -> Self {
        let status = findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Ok);
        // A step whose findings are all "skipped" and "ok" is skipped only when nothing
        // in it was ok.
        let status = if status == Status::Skipped && findings.iter().any(|f| f.status == Status::Ok)
        {
            Status::Ok
        } else {
            status
        };
        Self {
            id,
            title: title.into(),
            status,
            findings,
        }
    }

    /// Every fix sentence in this step.
    pub fn fixes(&self) -> impl Iterator<Item = &str> + '_ {
        self.findings.iter().filter_map(|f| f.fix.as_deref())
    }
}

/// Everything a check found, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The domain checked.
    pub domain: String,
    /// The steps, in the order they ran.
    pub steps: Vec<Step>,
    /// The worst status of all steps.
    pub status: Status,
    /// [`Report::exit_code`], for JSON readers.
    pub exit_code: u8,
}

impl Report {
    /// A report for `domain` of `steps`.
    pub fn new(domain: impl Into<String>, steps: Vec<Step>) -> Self {
        let status = steps.iter().map(|s| s.status).max().unwrap_or(Status::Ok);
        let exit_code = match status {
            Status::Ok | Status::Skipped => EXIT_OK,
            Status::Warning => EXIT_WARNINGS,
            Status::Error => EXIT_ERRORS,
        };
        Self {
            domain: domain.into(),
            steps,
            status,
            exit_code,
        }
    }

    /// The process exit status: [`EXIT_OK`] (0) when nothing warns, [`EXIT_WARNINGS`]
    /// (1) for warnings only, [`EXIT_ERRORS`] (2) when any step has an error.
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }

    /// The step `id`, if it ran.
    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// How many steps have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.steps.iter().filter(|s| s.status == status).count()
    }

    /// The report as pretty-printed JSON (the shape is in `docs/check.md`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// The report as text for a terminal ([`crate::render::text`]).
    pub fn to_text(&self) -> String {
        crate::render::text(self)
    }
}
