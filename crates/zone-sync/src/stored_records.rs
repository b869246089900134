//! Stored records ([`record_store::Record`]) as DNS records for the server's snapshot.

use domain_name::DomainName;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record};
use record_store::RecordData;

use crate::names;

/// The DNS record for a stored one (`owner`, `ttl`, `data`, the parts of a
/// [`record_store::Record`]); `None` if a stored name (the owner, a CNAME or SRV target)
/// does not parse. A TXT value longer than 255 bytes is split into character-strings.
pub fn to_dns_record(owner: &str, ttl: u32, data: &RecordData) -> Option<Record> {
    let name = |text: &str| names::to_dns(&DomainName::parse_dns(text).ok()?).ok();
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
    let owner = names::from_dns(&record.name)
        .map_err(|reason| format!("owner {}: {reason}", record.name))?
        .into_string();
    let what = || format!("{owner} {}", record.record_type());
    let target = |name: &Name| {
        names::from_dns(name)
            .map(DomainName::into_string)
            .map_err(|reason| format!("{}: target {name}: {reason}", what()))
    };
    let data = match &record.data {
        RData::A(a) => RecordData::A { address: a.0 },
        RData::AAAA(aaaa) => RecordData::Aaaa { address: aaaa.0 },
        RData::CNAME(cname) => RecordData::Cname {
            target: target(&cname.0)?,
        },
        RData::SRV(srv) => RecordData::Srv {
            priority: srv.priority,
            weight: srv.weight,
            port: srv.port,
            target: if srv.target.is_root() {
                ".".to_owned()
            } else {
                target(&srv.target)?
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
    data.validate()
        .map_err(|reason| format!("{}: {reason}", what()))?;
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

    /// An owner may be a wildcard (the store may hold one; the store decides whether it
    /// is written), a target never: it names a host. A CNAME to `*.example.test` used to
    /// be taken from an UPDATE although the API refused it.
    #[test]
    fn owners_may_be_wildcards_targets_may_not() {
        let cname = |owner: &str, target: &str| {
            let name = |text: &str| Name::from_ascii(text).unwrap();
            Record::from_rdata(name(owner), 60, RData::CNAME(CNAME(name(target))))
        };
        let stored = from_dns_record(&cname("*.Example.TEST.", "Target.example.test.")).unwrap();
        assert_eq!(stored.owner, "*.example.test");
        assert_eq!(
            stored.data,
            RecordData::Cname {
                target: "target.example.test".into()
            }
        );
        let refused = from_dns_record(&cname("www.example.test.", "*.example.test.")).unwrap_err();
        assert!(refused.contains("www.example.test CNAME"), "{refused}");
        let back = to_dns_record(&stored.owner, stored.ttl, &stored.data).unwrap();
        assert_eq!(back.name.to_ascii(), "*.example.test.");
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
