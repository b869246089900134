//! What a failed validation reports: Boulder's problem types and detail texts.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

/// The kind of a problem, as the RFC 8555 `urn:ietf:params:acme:error:` types Boulder
/// returns for validation failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ProblemKind {
    /// The server could not be reached, or a redirect was refused (`connection`).
    Connection,
    /// The server answered, but not with what proves control (`unauthorized`).
    Unauthorized,
    /// A DNS lookup failed or found nothing usable (`dns`).
    Dns,
    /// The request or the answer was malformed (`malformed`).
    Malformed,
    /// The TLS handshake failed (`tls`).
    Tls,
    /// Something on the validator's side went wrong (`serverInternal`).
    ServerInternal,
}

impl ProblemKind {
    /// The ACME error type URN.
    pub fn urn(self) -> &'static str {
        match self {
            Self::Connection => "urn:ietf:params:acme:error:connection",
            Self::Unauthorized => "urn:ietf:params:acme:error:unauthorized",
            Self::Dns => "urn:ietf:params:acme:error:dns",
            Self::Malformed => "urn:ietf:params:acme:error:malformed",
            Self::Tls => "urn:ietf:params:acme:error:tls",
            Self::ServerInternal => "urn:ietf:params:acme:error:serverInternal",
        }
    }
}

/// Why a validation failed: a kind and Boulder's detail text (prefixed, as Boulder does,
/// with the address that was being talked to, and for HTTP with `Fetching URL:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The ACME error type.
    pub kind: ProblemKind,
    /// The detail a CA would show the subscriber.
    pub detail: String,
}

impl Problem {
    pub(crate) fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn connection(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Connection, detail)
    }

    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unauthorized, detail)
    }

    pub(crate) fn dns(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Dns, detail)
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Malformed, detail)
    }

    /// Prefixes the detail with `Fetching URL: ` (Go's `url.Error`, unwrapped by Boulder).
    pub(crate) fn fetching(mut self, url: &str) -> Self {
        self.detail = format!("Fetching {url}: {}", self.detail);
        self
    }

    /// Prefixes the detail with the address talked to (Boulder's `ipError`).
    pub(crate) fn at(mut self, addr: Option<IpAddr>) -> Self {
        if let Some(addr) = addr {
            self.detail = format!("{addr}: {}", self.detail);
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.kind.urn())
    }
}

/// One step of a validation, as Boulder records it: which host and port, the addresses
/// DNS gave, the address used, and for HTTP the URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationRecord {
    /// The host name contacted.
    pub hostname: String,
    /// The port contacted.
    pub port: u16,
    /// The URL fetched (http-01 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Every usable address DNS gave for the host, IPv6 first.
    pub addresses_resolved: Vec<IpAddr>,
    /// The address connected to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_used: Option<IpAddr>,
    /// Addresses tried before `address_used` (an IPv6 address that could not be
    /// reached before the IPv4 fallback).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses_tried: Vec<IpAddr>,
}

impl ValidationRecord {
    pub(crate) fn new(hostname: &str, port: u16) -> Self {
        Self {
            hostname: hostname.to_owned(),
            port,
            url: None,
            addresses_resolved: Vec::new(),
            address_used: None,
            addresses_tried: Vec::new(),
        }
    }
}
