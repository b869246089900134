//! The stored data: records, API keys, TSIG keys, acme-dns registrations, and their
//! validation.
//!
//! These are the store's interface types, not its storage format: none of them is
//! serialised as it is. The SQLite store keeps its own row and JSON forms private
//! (`sqlite/stored_form.rs`), and the management API its own JSON, so either can change
//! without the other (and the API's JSON without a data migration).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use domain_name::{DomainName, NameError};
use ipnet::IpNet;

/// The record types the DNS side publishes dynamically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Alias.
    Cname,
    /// Service location (the challenge targets).
    Srv,
    /// Text (dns-01, dns-account-01, dns-persist-01).
    Txt,
}

impl RecordType {
    /// The type's mnemonic, as stored and as in DNS (`A`, `AAAA`, `CNAME`, `SRV`, `TXT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Cname => "CNAME",
            Self::Srv => "SRV",
            Self::Txt => "TXT",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "A" => Ok(Self::A),
            "AAAA" => Ok(Self::Aaaa),
            "CNAME" => Ok(Self::Cname),
            "SRV" => Ok(Self::Srv),
            "TXT" => Ok(Self::Txt),
            other => Err(format!(
                "unsupported record type {other:?}: expected A, AAAA, CNAME, SRV or TXT"
            )),
        }
    }
}

/// The data of one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordData {
    /// An IPv4 address.
    A {
        /// The address.
        address: Ipv4Addr,
    },
    /// An IPv6 address.
    Aaaa {
        /// The address.
        address: Ipv6Addr,
    },
    /// An alias to `target`.
    Cname {
        /// The canonical name (normalised, no trailing dot).
        target: String,
    },
    /// A service location.
    Srv {
        /// Lower is tried first.
        priority: u16,
        /// Relative weight within a priority.
        weight: u16,
        /// TCP port, 1–65535 (0 only with target `.`).
        port: u16,
        /// Target host name (normalised, no trailing dot), or `.` for "no service".
        target: String,
    },
    /// A text value (one character-string or more, joined here; at most 2048 bytes).
    Txt {
        /// The text.
        value: String,
    },
}

impl RecordData {
    /// This data's record type.
    pub fn record_type(&self) -> RecordType {
        match self {
            Self::A { .. } => RecordType::A,
            Self::Aaaa { .. } => RecordType::Aaaa,
            Self::Cname { .. } => RecordType::Cname,
            Self::Srv { .. } => RecordType::Srv,
            Self::Txt { .. } => RecordType::Txt,
        }
    }

    /// Checks the data; the reason on failure.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::A { .. } | Self::Aaaa { .. } => Ok(()),
            Self::Cname { target } => check_target("CNAME target", target),
            Self::Srv { port, target, .. } => {
                if target == "." {
                    return Ok(());
                }
                if *port == 0 {
                    return Err("SRV port must be 1-65535".into());
                }
                check_target("SRV target", target)
            }
            Self::Txt { value } => {
                if value.len() > MAX_TXT_BYTES {
                    Err(format!("TXT value longer than {MAX_TXT_BYTES} bytes"))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Checks a CNAME or SRV target: a name as DNS holds it ([`DomainName::parse_dns`]) that
/// names a host, so not a wildcard.
fn check_target(what: &str, target: &str) -> Result<(), String> {
    match DomainName::parse_dns(target) {
        Ok(name) if name.is_wildcard() => {
            Err(format!("{what} {target:?}: a wildcard names no host"))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{what} {target:?}: {e}")),
    }
}

/// Longest TXT value accepted.
pub const MAX_TXT_BYTES: usize = 2048;
/// Smallest and largest TTL accepted (the store's rule; see [`crate::rules`]).
pub const TTL_RANGE: std::ops::RangeInclusive<u32> = crate::rules::TTL_RANGE;

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Owner name, normalised (lowercase ASCII, no trailing dot).
    pub owner: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The data (its type is the record's type).
    pub data: RecordData,
}

impl Record {
    /// This record's type.
    pub fn record_type(&self) -> RecordType {
        self.data.record_type()
    }
}

/// Normalises an owner name into the form the store keeps: [`DomainName::parse_dns`]
/// (IDNA to ASCII, lowercase, no trailing dot, labels of `[a-z0-9_-]`, a `*` first label
/// allowed), as text.
pub fn normalize_owner(name: &str) -> Result<String, NameError> {
    DomainName::parse_dns(name).map(DomainName::into_string)
}

/// What a key may change: one name exactly, or a name and everything below it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyScope {
    /// Only this owner name.
    Exact(String),
    /// This owner name and every name below it.
    Subtree(String),
}

impl KeyScope {
    /// Whether the normalised `owner` is inside this scope.
    pub fn covers(&self, owner: &str) -> bool {
        match self {
            Self::Exact(name) => owner == name,
            Self::Subtree(name) => domain_name::is_at_or_below(owner, name),
        }
    }
}

/// A key as the API creates it (the secret already hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Public identifier (shown, used in `Authorization`).
    pub id: String,
    /// argon2 PHC string of the secret.
    pub secret_hash: String,
    /// Human description.
    pub description: String,
    /// Names the key may change.
    pub scopes: Vec<KeyScope>,
    /// Source networks the key may be used from; any when empty.
    pub source_cidrs: Vec<IpNet>,
}

/// A stored key, with its hash: for authentication only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public part.
    pub info: ApiKeyInfo,
    /// argon2 PHC string of the secret.
    pub secret_hash: String,
}

/// A key without its secret: what listings show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// Public identifier.
    pub id: String,
    /// Human description.
    pub description: String,
    /// Names the key may change.
    pub scopes: Vec<KeyScope>,
    /// Source networks the key may be used from; any when empty.
    pub source_cidrs: Vec<IpNet>,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: i64,
    /// Whether the key was revoked.
    pub revoked: bool,
}

/// An acme-dns registration: a user that may set the TXT values of one subdomain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// acme-dns `username` (a UUID).
    pub username: String,
    /// argon2 PHC string of the password.
    pub password_hash: String,
    /// The label under the acme-dns zone (a UUID); the full name is
    /// `<subdomain>.<zone>`.
    pub subdomain: String,
    /// The full owner name whose TXT values this user sets.
    pub fulldomain: String,
    /// Source networks allowed to update; any when empty.
    pub allow_from: Vec<IpNet>,
}

/// The credential a change was made with: records it adds are attributed to it, and
/// counted against the quota of records one credential may hold
/// ([`crate::RecordQuotas::records_per_author`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Author {
    /// An API key, by its id.
    ApiKey(String),
    /// A TSIG key, by its (normalised) name.
    TsigKey(String),
}

impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey(id) => write!(f, "key {id:?}"),
            Self::TsigKey(name) => write!(f, "TSIG key {name:?}"),
        }
    }
}

/// The HMAC algorithm of a TSIG key (RFC 8945 section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsigAlgorithm {
    /// `hmac-sha256`.
    HmacSha256,
    /// `hmac-sha512`.
    HmacSha512,
}

impl TsigAlgorithm {
    /// The algorithm's name as TSIG, BIND and `nsupdate` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha512 => "hmac-sha512",
        }
    }

    /// Bytes of a secret generated for this algorithm: the hash's output length, the
    /// length RFC 8945 section 6 recommends at least (32 for SHA-256, 64 for SHA-512).
    pub fn secret_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha512 => 64,
        }
    }
}

impl fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TsigAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().trim_end_matches('.') {
            "hmac-sha256" => Ok(Self::HmacSha256),
            "hmac-sha512" => Ok(Self::HmacSha512),
            other => Err(format!(
                "unsupported TSIG algorithm {other:?}: expected hmac-sha256 or hmac-sha512"
            )),
        }
    }
}

/// A TSIG key as the API creates it, with its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct NewTsigKey {
    /// The key's name, a domain name (normalised: lowercase, no trailing dot).
    pub name: String,
    /// The HMAC algorithm.
    pub algorithm: TsigAlgorithm,
    /// The secret, generated by the caller from a CSPRNG
    /// ([`TsigAlgorithm::secret_len`] bytes). Stored as it is: the server must compute
    /// the HMAC with it.
    pub secret: Vec<u8>,
    /// Human description.
    pub description: String,
    /// Names the key may change with UPDATE.
    pub scopes: Vec<KeyScope>,
    /// Record types the key may change; every type when empty.
    pub record_types: Vec<RecordType>,
    /// Whether the key may transfer the zones its scopes touch (AXFR/IXFR).
    pub transfer: bool,
}

impl fmt::Debug for NewTsigKey {
    /// Never shows the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .field("description", &self.description)
            .field("scopes", &self.scopes)
            .field("record_types", &self.record_types)
            .field("transfer", &self.transfer)
            .finish()
    }
}

/// A TSIG key without its secret: what listings show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigKeyInfo {
    /// The key's name (normalised).
    pub name: String,
    /// The HMAC algorithm.
    pub algorithm: TsigAlgorithm,
    /// Human description.
    pub description: String,
    /// Names the key may change with UPDATE.
    pub scopes: Vec<KeyScope>,
    /// Record types the key may change; every type when empty.
    pub record_types: Vec<RecordType>,
    /// Whether the key may transfer zones.
    pub transfer: bool,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: i64,
    /// Whether the key was revoked (its secret is then gone).
    pub revoked: bool,
}

impl TsigKeyInfo {
    /// What an UPDATE signed with this key may change.
    pub fn permissions(&self) -> crate::UpdatePermissions {
        crate::UpdatePermissions {
            scopes: self.scopes.clone(),
            record_types: self.record_types.clone(),
        }
    }

    /// The author of the records this key adds.
    pub fn author(&self) -> Author {
        Author::TsigKey(self.name.clone())
    }
}

/// A stored TSIG key with its secret: for verifying and signing messages only.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// Everything but the secret.
    pub info: TsigKeyInfo,
    /// The secret; empty once the key is revoked.
    pub secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    /// Never shows the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("info", &self.info)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_names_are_normalised_and_checked() {
        assert_eq!(
            normalize_owner("_Acme-Challenge._TCP.Example.COM.").unwrap(),
            "_acme-challenge._tcp.example.com"
        );
        assert_eq!(normalize_owner("*.example.com").unwrap(), "*.example.com");
        assert_eq!(
            normalize_owner("Bücher.example.").unwrap(),
            "xn--bcher-kva.example"
        );
        // Digits are labels in DNS (the API's published pattern takes them).
        assert_eq!(normalize_owner("192.0.2.1").unwrap(), "192.0.2.1");
        for bad in ["", ".", "a..b", "a b", "a.*.b", "*", &"a".repeat(64)] {
            assert!(normalize_owner(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scopes() {
        let subtree = KeyScope::Subtree("example.com".into());
        assert!(subtree.covers("example.com"));
        assert!(subtree.covers("_acme-challenge._tcp.www.example.com"));
        assert!(!subtree.covers("badexample.com"));
        let exact = KeyScope::Exact("a.example.com".into());
        assert!(exact.covers("a.example.com"));
        assert!(!exact.covers("b.a.example.com"));
    }

    #[test]
    fn record_data_validation() {
        let srv = |port, target: &str| RecordData::Srv {
            priority: 0,
            weight: 0,
            port,
            target: target.into(),
        };
        assert!(srv(8080, "client.example.com").validate().is_ok());
        assert!(srv(0, ".").validate().is_ok());
        assert!(srv(0, "client.example.com").validate().is_err());
        assert!(srv(80, "bad name").validate().is_err());
        // A target is a host name: a wildcard never names one.
        assert!(srv(80, "*.example.com").validate().is_err());
        let cname = |target: &str| RecordData::Cname {
            target: target.into(),
        };
        assert!(cname("Target.Example.com.").validate().is_ok());
        assert!(cname("*.example.com").validate().is_err());
        assert!(
            RecordData::Txt {
                value: "x".repeat(2049)
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn tsig_algorithms_and_secrets() {
        for algorithm in [TsigAlgorithm::HmacSha256, TsigAlgorithm::HmacSha512] {
            assert_eq!(algorithm.as_str().parse::<TsigAlgorithm>(), Ok(algorithm));
        }
        assert_eq!(
            "HMAC-SHA512.".parse::<TsigAlgorithm>(),
            Ok(TsigAlgorithm::HmacSha512)
        );
        assert!("hmac-md5".parse::<TsigAlgorithm>().is_err());
        assert_eq!(TsigAlgorithm::HmacSha256.secret_len(), 32);
        assert_eq!(TsigAlgorithm::HmacSha512.secret_len(), 64);
        let key = TsigKey {
            info: TsigKeyInfo {
                name: "k.example.com".into(),
                algorithm: TsigAlgorithm::HmacSha256,
                description: String::new(),
                scopes: vec![],
                record_types: vec![],
                transfer: false,
                created_at: 0,
                revoked: false,
            },
            secret: b"very secret bytes".to_vec(),
        };
        assert!(!format!("{key:?}").contains("very secret"));
    }
}
