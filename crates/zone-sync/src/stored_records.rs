//! Stored records ([`record_store::Record`]) as DNS records for the server's snapshot.

use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record};
use record_store::RecordData;

/// The DNS record for a stored one (`owner`, `ttl`, `data`, the parts of a
/// [`record_store::Record`]); `None` if a stored name (the owner, a CNAME or SRV target)
/// does not parse. A TXT value longer than 255 bytes is split into character-strings.
pub fn to_dns_record(owner: &str, ttl: u32, data: &RecordData) -> Option<Record> {
    let name = |text: &str| Name::from_str(&format!("{}.", text.trim_end_matches('.'))).ok();
    let owner = name(owner)?;
    let data = match data {
        RecordData::A { address } => RData::A(A(*address)),
        RecordData::Aaaa { address } => RData::AAAA(AAAA(*address)),
        RecordData::Cname { target } => RData::CNAME(CNAME(name(target)?)),
        RecordData::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            let target = if target == "." {
                Name::root()
            } else {
                name(target)?
            };
            RData::SRV(SRV::new(*priority, *weight, *port, target))
        }
        RecordData::Txt { value } => RData::TXT(TXT::new(character_strings(value))),
    };
    Some(Record::from_rdata(owner, ttl, data))
}

/// The stored form of a DNS record (owner and names normalised, TXT character-strings
/// joined); the reason when the store cannot hold it (its type, or a value the store's
/// validation refuses).
pub fn from_dns_record(record: &Record) -> Result<record_store::Record, String> {
    let text = |name: &Name| {
        let text = name.to_ascii().to_ascii_lowercase();
        text.strip_suffix('.').unwrap_or(&text).to_owned()
    };
    let data = match &record.data {
        RData::A(a) => RecordData::A { address: a.0 },
        RData::AAAA(aaaa) => RecordData::Aaaa { address: aaaa.0 },
        RData::CNAME(cname) => RecordData::Cname {
            target: text(&cname.0),
        },
        RData::SRV(srv) => RecordData::Srv {
            priority: srv.priority,
            weight: srv.weight,
            port: srv.port,
            target: if srv.target.is_root() {
                ".".to_owned()
            } else {
                text(&srv.target)
            },
        },
        RData::TXT(txt) => RecordData::Txt {
            value: txt
                .txt_data
                .iter()
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect(),
        },
        other => {
            return Err(format!(
                "{} records are not held here (only A, AAAA, CNAME, SRV and TXT)",
                other.record_type()
            ));
        }
    };
    let owner = text(&record.name);
    record_store::model::normalize_owner(&owner)
        .map_err(|reason| format!("owner {owner:?}: {reason}"))?;
    data.validate()
        .map_err(|reason| format!("{owner} {}: {reason}", data.record_type()))?;
    Ok(record_store::Record {
        owner,
        ttl: record.ttl,
        data,
    })
}

/// Splits a TXT value into character-strings of at most 255 bytes (on char boundaries).
fn character_strings(value: &str) -> Vec<String> {
    if value.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for c in value.chars() {
        if current.len() + c.len_utf8() > 255 {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_txt_values_are_split_into_character_strings() {
        let parts = character_strings(&"x".repeat(600));
        assert_eq!(
            parts.iter().map(String::len).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert_eq!(character_strings(""), [""]);
    }

    #[test]
    fn srv_opt_out_target_is_the_root() {
        let stored = record_store::Record {
            owner: "_acme-challenge._tcp.a.test".into(),
            ttl: 60,
            data: RecordData::Srv {
                priority: 0,
                weight: 0,
                port: 0,
                target: ".".into(),
            },
        };
        let record = to_dns_record(&stored.owner, stored.ttl, &stored.data).unwrap();
        assert_eq!(record.name.to_ascii(), "_acme-challenge._tcp.a.test.");
        match record.data {
            RData::SRV(srv) => assert!(srv.target.is_root()),
            other => panic!("{other:?}"),
        }
    }
}
