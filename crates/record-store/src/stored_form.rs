//! The stored form: how the SQL stores (SQLite and PostgreSQL alike) write the model's
//! values into their columns, and
//! reads them back. Private to the store, so the model types carry no serialisation and
//! the API's JSON can change without a data migration.
//!
//! - `records.data`: the record data as canonical JSON, `{"type": "SRV", "priority": …,
//!   "weight": …, "port": …, "target": …}`, the type tag first, then the fields in a fixed
//!   order. The text is part of the unique key `(owner, type, data)` that deduplicates
//!   records, so it must never change for a given value: it is byte for byte what
//!   schema versions 1 and 2 wrote (the unit tests pin it).
//! - `api_keys.scopes`, `tsig_keys.scopes`: `[{"kind": "exact"|"subtree", "name": N}]`.
//! - `api_keys.source_cidrs`, `registrations.allow_from`: `["10.0.0.0/8", …]`.
//! - `records.author`: `api-key:<id>` or `tsig-key:<name>`.
//! - `tsig_keys.algorithm`: `hmac-sha256` or `hmac-sha512`; `tsig_keys.record_types`:
//!   `["TXT", …]`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::model::{Author, KeyScope, RecordData, RecordType};

/// [`RecordData`] as the `records.data` column holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum StoredData {
    #[serde(rename = "A")]
    A { address: Ipv4Addr },
    #[serde(rename = "AAAA")]
    Aaaa { address: Ipv6Addr },
    #[serde(rename = "CNAME")]
    Cname { target: String },
    #[serde(rename = "SRV")]
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    #[serde(rename = "TXT")]
    Txt { value: String },
}

impl From<&RecordData> for StoredData {
    fn from(data: &RecordData) -> Self {
        match data.clone() {
            RecordData::A { address } => Self::A { address },
            RecordData::Aaaa { address } => Self::Aaaa { address },
            RecordData::Cname { target } => Self::Cname { target },
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => Self::Srv {
                priority,
                weight,
                port,
                target,
            },
            RecordData::Txt { value } => Self::Txt { value },
        }
    }
}

impl From<StoredData> for RecordData {
    fn from(data: StoredData) -> Self {
        match data {
            StoredData::A { address } => Self::A { address },
            StoredData::Aaaa { address } => Self::Aaaa { address },
            StoredData::Cname { target } => Self::Cname { target },
            StoredData::Srv {
                priority,
                weight,
                port,
                target,
            } => Self::Srv {
                priority,
                weight,
                port,
                target,
            },
            StoredData::Txt { value } => Self::Txt { value },
        }
    }
}

/// A [`KeyScope`] as the `scopes` columns hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
enum StoredScope {
    Exact(String),
    Subtree(String),
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    // Serialising these types cannot fail (no maps with non-string keys, no fallible
    // Serialize impls); keep the error anyway rather than panic.
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// The `records.data` text of `data`: its canonical JSON, the deduplication key.
pub(crate) fn data_json(data: &RecordData) -> Result<String, StoreError> {
    to_json(&StoredData::from(data))
}

/// Reads a `records.data` text (`what` names the row in errors).
pub(crate) fn data_from_json(what: &str, json: &str) -> Result<RecordData, StoreError> {
    from_json::<StoredData>(what, json).map(RecordData::from)
}

/// The `scopes` text of `scopes`.
pub(crate) fn scopes_json(scopes: &[KeyScope]) -> Result<String, StoreError> {
    let stored: Vec<StoredScope> = scopes
        .iter()
        .map(|scope| match scope.clone() {
            KeyScope::Exact(name) => StoredScope::Exact(name),
            KeyScope::Subtree(name) => StoredScope::Subtree(name),
        })
        .collect();
    to_json(&stored)
}

/// Reads a `scopes` text.
pub(crate) fn scopes_from_json(what: &str, json: &str) -> Result<Vec<KeyScope>, StoreError> {
    Ok(from_json::<Vec<StoredScope>>(what, json)?
        .into_iter()
        .map(|scope| match scope {
            StoredScope::Exact(name) => KeyScope::Exact(name),
            StoredScope::Subtree(name) => KeyScope::Subtree(name),
        })
        .collect())
}

/// The text of a list of networks.
pub(crate) fn networks_json(networks: &[IpNet]) -> Result<String, StoreError> {
    let shown: Vec<String> = networks.iter().map(ToString::to_string).collect();
    to_json(&shown)
}

/// Reads a list of networks.
pub(crate) fn networks_from_json(what: &str, json: &str) -> Result<Vec<IpNet>, StoreError> {
    from_json::<Vec<String>>(what, json)?
        .iter()
        .map(|net| {
            net.parse()
                .map_err(|e| StoreError::Corrupt(format!("{what}: {net:?}: {e}")))
        })
        .collect()
}

/// The text of a list of record types.
pub(crate) fn record_types_json(types: &[RecordType]) -> Result<String, StoreError> {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    to_json(&names)
}

/// Reads a list of record types.
pub(crate) fn record_types_from_json(
    what: &str,
    json: &str,
) -> Result<Vec<RecordType>, StoreError> {
    from_json::<Vec<String>>(what, json)?
        .iter()
        .map(|name| {
            RecordType::from_str(name).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
        })
        .collect()
}

/// The `records.author` text of `author`.
pub(crate) fn author_text(author: &Author) -> String {
    match author {
        Author::ApiKey(id) => format!("api-key:{id}"),
        Author::TsigKey(name) => format!("tsig-key:{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts schema versions 1 and 2 wrote (serde_json of the model types as they
    /// derived it): existing rows must read back, and equal values must encode to the
    /// same text, or the unique key stops deduplicating.
    #[test]
    fn the_data_text_is_what_earlier_versions_wrote() {
        let cases = [
            (
                RecordData::A {
                    address: Ipv4Addr::new(192, 0, 2, 1),
                },
                r#"{"type":"A","address":"192.0.2.1"}"#,
            ),
            (
                RecordData::Aaaa {
                    address: "2001:db8::1".parse().unwrap(),
                },
                r#"{"type":"AAAA","address":"2001:db8::1"}"#,
            ),
            (
                RecordData::Cname {
                    target: "t.example.com".into(),
                },
                r#"{"type":"CNAME","target":"t.example.com"}"#,
            ),
            (
                RecordData::Srv {
                    priority: 10,
                    weight: 5,
                    port: 8080,
                    target: "client.example".into(),
                },
                r#"{"type":"SRV","priority":10,"weight":5,"port":8080,"target":"client.example"}"#,
            ),
            (
                RecordData::Txt {
                    value: "v=\"q\"".into(),
                },
                r#"{"type":"TXT","value":"v=\"q\""}"#,
            ),
        ];
        for (data, text) in cases {
            assert_eq!(data_json(&data).unwrap(), text);
            assert_eq!(data_from_json("test", text).unwrap(), data);
        }
        assert!(data_from_json("test", r#"{"type":"MX","x":1}"#).is_err());
    }

    #[test]
    fn scopes_networks_and_types_keep_their_texts() {
        let scopes = vec![
            KeyScope::Exact("a.example.com".into()),
            KeyScope::Subtree("example.org".into()),
        ];
        let text =
            r#"[{"kind":"exact","name":"a.example.com"},{"kind":"subtree","name":"example.org"}]"#;
        assert_eq!(scopes_json(&scopes).unwrap(), text);
        assert_eq!(scopes_from_json("test", text).unwrap(), scopes);

        let networks: Vec<IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        let text = r#"["10.0.0.0/8","2001:db8::/32"]"#;
        assert_eq!(networks_json(&networks).unwrap(), text);
        assert_eq!(networks_from_json("test", text).unwrap(), networks);
        assert!(networks_from_json("test", r#"["nonsense"]"#).is_err());

        let types = vec![RecordType::Txt, RecordType::Aaaa];
        assert_eq!(record_types_json(&types).unwrap(), r#"["TXT","AAAA"]"#);
        assert_eq!(
            record_types_from_json("test", r#"["TXT","AAAA"]"#).unwrap(),
            types
        );
        assert_eq!(author_text(&Author::ApiKey("k1".into())), "api-key:k1");
        assert_eq!(
            author_text(&Author::TsigKey("u.example.com".into())),
            "tsig-key:u.example.com"
        );
    }
}
