//! [`DomainPattern`]: one entry of an allow-list or of the router's server names, an
//! exact name or `*.suffix`.

use std::fmt;
use std::str::FromStr;

use crate::{DomainName, NameError};

/// One allow-list entry: `example.com` (that name only) or `*.example.com` (any name
/// below it, at any depth, but not `example.com` itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DomainPattern {
    /// Exactly this name.
    Exact(DomainName),
    /// Any name strictly below this one.
    Below(DomainName),
}

impl DomainPattern {
    /// Parses `www.example.com` or `*.example.com` (any letter case, IDNA, an optional
    /// trailing dot): a host name ([`DomainName::parse`]), or `*.` and one, meaning
    /// every name below it.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        match text.strip_prefix("*.") {
            Some(base) => Ok(Self::Below(DomainName::parse(base)?)),
            None => Ok(Self::Exact(DomainName::parse(text)?)),
        }
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &DomainName) -> bool {
        match self {
            Self::Exact(exact) => name == exact,
            Self::Below(base) => name.is_below(base),
        }
    }

    /// The name this pattern is anchored at (`example.com` for `*.example.com`).
    pub fn base(&self) -> &DomainName {
        match self {
            Self::Exact(name) | Self::Below(name) => name,
        }
    }
}

impl FromStr for DomainPattern {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        Self::parse(text)
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => write!(f, "{name}"),
            Self::Below(base) => write!(f, "*.{base}"),
        }
    }
}
