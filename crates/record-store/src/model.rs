//! The stored data: records, API keys, acme-dns registrations, and their validation.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The record types the DNS side publishes dynamically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    #[serde(rename = "AAAA")]
    Aaaa,
    /// Alias.
    #[serde(rename = "CNAME")]
    Cname,
    /// Service location (the challenge targets).
    #[serde(rename = "SRV")]
    Srv,
    /// Text (dns-01, dns-account-01, dns-persist-01).
    #[serde(rename = "TXT")]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "UPPERCASE")]
pub enum RecordData {
    /// An IPv4 address.
    A {
        /// The address.
        address: Ipv4Addr,
    },
    /// An IPv6 address.
    #[serde(rename = "AAAA")]
    Aaaa {
        /// The address.
        address: Ipv6Addr,
    },
    /// An alias to `target`.
    #[serde(rename = "CNAME")]
    Cname {
        /// The canonical name (normalised, no trailing dot).
        target: String,
    },
    /// A service location.
    #[serde(rename = "SRV")]
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
    #[serde(rename = "TXT")]
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
            Self::Cname { target } => normalize_owner(target).map(|_| ()),
            Self::Srv { port, target, .. } => {
                if target == "." {
                    return Ok(());
                }
                if *port == 0 {
                    return Err("SRV port must be 1-65535".into());
                }
                normalize_owner(target)
                    .map(|_| ())
                    .map_err(|e| format!("SRV target: {e}"))
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

/// Longest TXT value accepted.
pub const MAX_TXT_BYTES: usize = 2048;
/// Smallest and largest TTL accepted.
pub const TTL_RANGE: std::ops::RangeInclusive<u32> = 1..=604_800;

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Record {
    /// Owner name, normalised (lowercase ASCII, no trailing dot).
    pub owner: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The data (its type is the record's type).
    #[serde(flatten)]
    pub data: RecordData,
}

impl Record {
    /// This record's type.
    pub fn record_type(&self) -> RecordType {
        self.data.record_type()
    }
}

/// Normalises an owner or target name: trims a trailing dot, lowercases ASCII; labels
/// of 1–63 characters from `[a-z0-9_-]` (or `*` as the first label), at most 253 in
/// all. The reason on failure.
pub fn normalize_owner(name: &str) -> Result<String, String> {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return Err(format!("{name:?} is not a domain name (1-253 characters)"));
    }
    for (i, label) in name.split('.').enumerate() {
        let ok = !label.is_empty()
            && label.len() <= 63
            && (label == "*" && i == 0
                || label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        if !ok {
            return Err(format!("{name:?} has an invalid label {label:?}"));
        }
    }
    Ok(name)
}

/// What a key may change: one name exactly, or a name and everything below it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
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
            Self::Subtree(name) => {
                owner == name
                    || owner
                        .strip_suffix(name.as_str())
                        .is_some_and(|head| head.ends_with('.'))
            }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        for bad in ["", ".", "a..b", "a b", "a.*.b", &"a".repeat(64)] {
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
        assert!(
            RecordData::Txt {
                value: "x".repeat(2049)
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn json_shape() {
        let record = Record {
            owner: "_acme-challenge._tcp.a.example".into(),
            ttl: 60,
            data: RecordData::Srv {
                priority: 10,
                weight: 5,
                port: 8080,
                target: "client.example".into(),
            },
        };
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"owner":"_acme-challenge._tcp.a.example","ttl":60,"type":"SRV","priority":10,"weight":5,"port":8080,"target":"client.example"}"#
        );
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
    }
}
