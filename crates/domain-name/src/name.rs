//! [`DomainName`]: parsing into the normal form, containment, and the walk up to the
//! ancestors.

use std::borrow::Borrow;
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::NameError;

/// Longest name, in characters of the normal form (no trailing dot).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label.
pub const MAX_LABEL_LEN: usize = 63;

/// A domain name in the normal form (see the crate docs): ASCII, lowercase, no trailing
/// dot, labels of `[a-z0-9_-]`; a `*` first label or an all-digit last label only when it
/// was parsed with [`DomainName::parse_dns`].
///
/// Equality, ordering and hashing are those of the text, so a `HashMap<DomainName, _>`
/// can be looked up with a `&str` already in the normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

/// The one switch between the two parse functions (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No `*` label, not an IP address.
    Host,
    /// A `*` first label allowed, digits are labels.
    Dns,
}

impl DomainName {
    /// A host name: no `*` label, not an IP address (the last label is not all digits).
    /// What the relay's `Host`, the router's SNI and configured names are parsed with.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        parse(text, Kind::Host)
    }

    /// A name as DNS data holds it: a `*` first label is accepted (`*.example.com`), and
    /// a name of digits is labels (`192.0.2.1`). What owners (the store's, UPDATE's, the
    /// API's), CNAME and SRV targets and names off the wire are parsed with.
    pub fn parse_dns(text: &str) -> Result<Self, NameError> {
        parse(text, Kind::Dns)
    }

    /// The normal form: `www.example.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normal form, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The absolute form, with the root's trailing dot: `www.example.com.` (what
    /// hickory's `Name::from_ascii` and zone files take).
    pub fn to_fqdn_string(&self) -> String {
        format!("{}.", self.0)
    }

    /// The labels, leftmost first: `www`, `example`, `com`.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.split('.')
    }

    /// How many labels the name has (`www.example.com`: 3).
    pub fn label_count(&self) -> usize {
        self.0.bytes().filter(|&b| b == b'.').count() + 1
    }

    /// Whether the first label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }

    /// The name one label up (`example.com` for `www.example.com`); `None` for a name
    /// of one label.
    pub fn parent(&self) -> Option<Self> {
        self.ancestors().next()
    }

    /// The proper ancestors, nearest first: `a.example.com`, `example.com`, `com` for
    /// `www.a.example.com`. The caller decides where to stop (a walk never knows where a
    /// public suffix is).
    pub fn ancestors(&self) -> Ancestors<'_> {
        Ancestors { rest: &self.0 }
    }

    /// Whether this name is `zone` or below it, label by label: `www.example.com` and
    /// `example.com` are at or below `example.com`, `xexample.com` is not.
    pub fn is_at_or_below(&self, zone: &Self) -> bool {
        is_at_or_below(&self.0, &zone.0)
    }

    /// Whether this name is strictly below `zone` (at or below it, and not it).
    pub fn is_below(&self, zone: &Self) -> bool {
        self != zone && self.is_at_or_below(zone)
    }
}

/// The containment rule of [`DomainName::is_at_or_below`] for text already in the normal
/// form (as the store keeps owner names): `name` is `zone`, or ends in `.` + `zone`.
/// Text that is not in the normal form is compared as it is (`WWW.example.com` is not
/// below `example.com`); parse it first.
pub fn is_at_or_below(name: &str, zone: &str) -> bool {
    name == zone
        || name
            .strip_suffix(zone)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
}

/// The proper ancestors of a name, nearest first ([`DomainName::ancestors`]).
#[derive(Debug, Clone)]
pub struct Ancestors<'a> {
    rest: &'a str,
}

impl Iterator for Ancestors<'_> {
    type Item = DomainName;

    fn next(&mut self) -> Option<DomainName> {
        let (_, parent) = self.rest.split_once('.')?;
        self.rest = parent;
        // A suffix of a name in the normal form is in the normal form: whole labels,
        // none of them `*` (only the first may be), shorter, and the same last label
        // (so a host name's is not an address either).
        Some(DomainName(parent.to_owned()))
    }
}

/// The one normaliser: see the crate docs.
fn parse(text: &str, kind: Kind) -> Result<DomainName, NameError> {
    let mut name = if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(text).map_err(|_| NameError::Idna)?
    };
    if name.ends_with('.') {
        name.pop();
    }
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if kind == Kind::Host && is_ip_literal(&name) {
        return Err(NameError::IpLiteral);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    for (i, label) in name.split('.').enumerate() {
        if i == 0 && label == "*" {
            match kind {
                Kind::Host => return Err(NameError::Wildcard),
                Kind::Dns if name.len() == 1 => return Err(NameError::BareWildcard),
                Kind::Dns => continue,
            }
        }
        if !is_label(label) {
            return Err(NameError::BadLabel(label.to_owned()));
        }
    }
    Ok(DomainName(name))
}

/// 1–63 characters of `[a-z0-9_-]` (the text is lowercase already).
fn is_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// An IPv6 literal (bracketed or not), or a name whose last label is all digits (every
/// dotted IPv4 form: `127.0.0.1`, `127.1`, `2130706433`).
fn is_ip_literal(name: &str) -> bool {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if bare.contains(':') {
        return bare.parse::<Ipv6Addr>().is_ok();
    }
    name.rsplit('.')
        .next()
        .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

impl FromStr for DomainName {
    type Err = NameError;

    /// [`DomainName::parse`]: a host name, no wildcard.
    fn from_str(text: &str) -> Result<Self, NameError> {
        Self::parse(text)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for DomainName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<DomainName> for String {
    fn from(name: DomainName) -> Self {
        name.0
    }
}

impl PartialEq<str> for DomainName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for DomainName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for DomainName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}
