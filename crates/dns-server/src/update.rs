//! RFC 2136 UPDATE: the message is checked (zone section, TSIG, the form of every
//! prerequisite and change, names inside the zone) and turned into an
//! [`UpdateRequest`]; the [`UpdateHandler`] given by the server's owner applies it to the
//! store, all or nothing, and the response carries its code.
//!
//! Answers, as RFC 2136 §3 and RFC 8945 say: a zone section that is not one SOA
//! question: FORMERR; a zone not served: NOTAUTH; a failed TSIG: NOTAUTH with BADKEY,
//! BADSIG or BADTIME; an unsigned update, a key not allowed to update, or no handler:
//! REFUSED; a record outside the zone: NOTZONE; a malformed prerequisite or change:
//! FORMERR; otherwise the handler's code (NOERROR, a failed prerequisite's YXDOMAIN,
//! YXRRSET, NXDOMAIN or NXRRSET, REFUSED for what the key's scope or the record rules
//! do not allow). Signed requests get signed responses.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::authority::Authority;
use crate::services::{
    Prerequisite, Sender, UpdateOperation, UpdateRequest, ZoneServices, finish_response,
};

/// The UPDATE opcode.
pub(crate) const OPCODE_UPDATE: u8 = 5;

/// Answers the UPDATE message `raw` from `peer`; `None` when nothing should be sent
/// (a message that does not parse at all, or a response).
pub(crate) async fn respond(
    raw: &[u8],
    peer: SocketAddr,
    authority: &Authority,
    services: &ZoneServices,
) -> Option<Vec<u8>> {
    let request = Message::from_vec(raw).ok()?;
    if request.metadata.message_type == hickory_proto::op::MessageType::Response {
        return None;
    }
    let sender = services.authenticate(raw).await;
    let (rcode, zone, detail) = decide(&request, &sender, authority, services).await;
    let mut response = Message::response(request.metadata.id, OpCode::Update);
    response.metadata.response_code = rcode;
    if let Some(zone) = request.queries.first() {
        response.add_query(zone.clone());
    }
    let key = match &sender {
        Sender::Signed(grant, _) => grant.key.name.to_string(),
        Sender::Refused(refusal) => refusal.to_string(),
        Sender::Unsigned => "-".to_owned(),
    };
    metrics::counter!("acme_srv_dns_updates_total", "rcode" => crate::services::rcode_text(rcode))
        .increment(1);
    tracing::info!(%peer, zone = %zone.as_ref().map_or("-".to_owned(), Name::to_string), key, rcode = %rcode, detail = detail.as_deref().unwrap_or("-"), "dns update");
    let mut wire = response.to_vec().ok()?;
    finish_response(&mut wire, &sender);
    Some(wire)
}

/// The response code for `request`, the zone it named, and a reason for the log.
async fn decide(
    request: &Message,
    sender: &Sender,
    authority: &Authority,
    services: &ZoneServices,
) -> (ResponseCode, Option<Name>, Option<String>) {
    let [zone_question] = request.queries.as_slice() else {
        return (
            ResponseCode::FormErr,
            None,
            Some("the zone section must hold one zone".into()),
        );
    };
    if zone_question.query_type() != RecordType::SOA {
        return (
            ResponseCode::FormErr,
            None,
            Some("the zone's type must be SOA".into()),
        );
    }
    let zone = zone_question.name().to_lowercase();
    let snapshot = authority.snapshot();
    if !snapshot
        .origins()
        .any(|origin| origin.to_lowercase() == zone)
    {
        return (
            ResponseCode::NotAuth,
            Some(zone),
            Some("not a zone this server serves".into()),
        );
    }
    let key = match sender {
        Sender::Refused(refusal) => {
            return (ResponseCode::NotAuth, Some(zone), Some(refusal.to_string()));
        }
        Sender::Unsigned => {
            return (
                ResponseCode::Refused,
                Some(zone),
                Some("updates must be signed with a TSIG key".into()),
            );
        }
        Sender::Signed(grant, _) if !grant.update => {
            return (
                ResponseCode::Refused,
                Some(zone),
                Some("this key may not update".into()),
            );
        }
        Sender::Signed(grant, _) => grant.key.name.clone(),
    };
    let Some(handler) = &services.updates else {
        return (
            ResponseCode::Refused,
            Some(zone),
            Some("updates are not enabled".into()),
        );
    };
    let prerequisites = match prerequisites(&request.answers, &zone) {
        Ok(p) => p,
        Err((rcode, reason)) => return (rcode, Some(zone), Some(reason)),
    };
    let operations = match operations(&request.authorities, &zone) {
        Ok(o) => o,
        Err((rcode, reason)) => return (rcode, Some(zone), Some(reason)),
    };
    let (rcode, reason) = handler
        .apply(UpdateRequest {
            zone: zone.clone(),
            key,
            prerequisites,
            operations,
        })
        .await;
    (rcode, Some(zone), reason)
}

type Refusal = (ResponseCode, String);

/// The prerequisite section, for the fuzz target.
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_prerequisites(
    records: &[Record],
    zone: &Name,
) -> Result<Vec<Prerequisite>, Refusal> {
    prerequisites(records, zone)
}

/// The update section, for the fuzz target.
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_operations(
    records: &[Record],
    zone: &Name,
) -> Result<Vec<UpdateOperation>, Refusal> {
    operations(records, zone)
}

fn in_zone(name: &Name, zone: &Name) -> Result<(), Refusal> {
    if zone.zone_of(name) {
        Ok(())
    } else {
        Err((
            ResponseCode::NotZone,
            format!("{name} is outside the zone {zone}"),
        ))
    }
}

/// The prerequisite section (RFC 2136 §3.2).
fn prerequisites(records: &[Record], zone: &Name) -> Result<Vec<Prerequisite>, Refusal> {
    let form = |reason: &str| Err((ResponseCode::FormErr, reason.to_owned()));
    let mut out = Vec::new();
    let mut value_dependent: BTreeMap<(Name, RecordType), Vec<Record>> = BTreeMap::new();
    for record in records {
        if record.ttl != 0 {
            return form("a prerequisite's TTL must be 0");
        }
        in_zone(&record.name, zone)?;
        let name = record.name.to_lowercase();
        let record_type = record.record_type();
        let empty = matches!(record.data, RData::Update0(_));
        match record.dns_class {
            DNSClass::ANY if empty => out.push(if record_type == RecordType::ANY {
                Prerequisite::NameInUse(name)
            } else {
                Prerequisite::RrsetExists(name, record_type)
            }),
            DNSClass::NONE if empty => out.push(if record_type == RecordType::ANY {
                Prerequisite::NameNotInUse(name)
            } else {
                Prerequisite::RrsetDoesNotExist(name, record_type)
            }),
            DNSClass::IN if !empty && record_type != RecordType::ANY => {
                value_dependent
                    .entry((name, record_type))
                    .or_default()
                    .push(record.clone());
            }
            _ => return form("a prerequisite has a class or data it may not have"),
        }
    }
    out.extend(
        value_dependent
            .into_iter()
            .map(|((name, record_type), records)| {
                Prerequisite::RrsetEquals(name, record_type, records)
            }),
    );
    Ok(out)
}

/// The update section (RFC 2136 §3.4.1).
fn operations(records: &[Record], zone: &Name) -> Result<Vec<UpdateOperation>, Refusal> {
    let form = |reason: &str| Err((ResponseCode::FormErr, reason.to_owned()));
    let mut out = Vec::new();
    for record in records {
        in_zone(&record.name, zone)?;
        let record_type = record.record_type();
        if matches!(
            record_type,
            RecordType::AXFR | RecordType::IXFR | RecordType::OPT | RecordType::TSIG
        ) {
            return form("an update may not name a meta type");
        }
        let empty = matches!(record.data, RData::Update0(_));
        let mut record = record.clone();
        record.name = record.name.to_lowercase();
        match record.dns_class {
            DNSClass::IN if !empty && record_type != RecordType::ANY => {
                out.push(UpdateOperation::Add(record));
            }
            DNSClass::ANY if empty && record.ttl == 0 => {
                out.push(if record_type == RecordType::ANY {
                    UpdateOperation::DeleteName(record.name)
                } else {
                    UpdateOperation::DeleteRrset(record.name, record_type)
                })
            }
            DNSClass::NONE if !empty && record.ttl == 0 && record_type != RecordType::ANY => {
                out.push(UpdateOperation::DeleteRecord(record));
            }
            _ => return form("an update has a class, TTL or data it may not have"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).expect("a name")
    }

    fn empty(owner: &str, class: DNSClass, record_type: RecordType) -> Record {
        let mut record = Record::from_rdata(name(owner), 0, RData::Update0(record_type));
        record.dns_class = class;
        record
    }

    #[test]
    fn prerequisites_of_each_kind() {
        let zone = name("example.test.");
        let a = Record::from_rdata(
            name("www.example.test."),
            0,
            RData::A(hickory_proto::rr::rdata::A::new(192, 0, 2, 1)),
        );
        let parsed = prerequisites(
            &[
                empty("a.example.test.", DNSClass::ANY, RecordType::ANY),
                empty("b.example.test.", DNSClass::ANY, RecordType::TXT),
                empty("c.example.test.", DNSClass::NONE, RecordType::ANY),
                empty("d.example.test.", DNSClass::NONE, RecordType::SRV),
                a.clone(),
            ],
            &zone,
        )
        .expect("valid");
        assert_eq!(
            parsed,
            vec![
                Prerequisite::NameInUse(name("a.example.test.")),
                Prerequisite::RrsetExists(name("b.example.test."), RecordType::TXT),
                Prerequisite::NameNotInUse(name("c.example.test.")),
                Prerequisite::RrsetDoesNotExist(name("d.example.test."), RecordType::SRV),
                Prerequisite::RrsetEquals(name("www.example.test."), RecordType::A, vec![a]),
            ]
        );
    }

    #[test]
    fn malformed_and_outside_prerequisites() {
        let zone = name("example.test.");
        let mut ttl = empty("a.example.test.", DNSClass::ANY, RecordType::ANY);
        ttl.ttl = 5;
        assert_eq!(
            prerequisites(&[ttl], &zone).unwrap_err().0,
            ResponseCode::FormErr
        );
        let outside = empty("a.other.test.", DNSClass::ANY, RecordType::ANY);
        assert_eq!(
            prerequisites(&[outside], &zone).unwrap_err().0,
            ResponseCode::NotZone
        );
    }

    #[test]
    fn operations_of_each_kind() {
        let zone = name("example.test.");
        let txt = Record::from_rdata(
            name("_acme-challenge.www.example.test."),
            60,
            RData::TXT(hickory_proto::rr::rdata::TXT::new(vec!["token".into()])),
        );
        let mut delete_one = txt.clone();
        delete_one.dns_class = DNSClass::NONE;
        delete_one.ttl = 0;
        let parsed = operations(
            &[
                txt.clone(),
                empty("x.example.test.", DNSClass::ANY, RecordType::TXT),
                empty("y.example.test.", DNSClass::ANY, RecordType::ANY),
                delete_one.clone(),
            ],
            &zone,
        )
        .expect("valid");
        assert_eq!(
            parsed,
            vec![
                UpdateOperation::Add(txt),
                UpdateOperation::DeleteRrset(name("x.example.test."), RecordType::TXT),
                UpdateOperation::DeleteName(name("y.example.test.")),
                UpdateOperation::DeleteRecord(delete_one),
            ]
        );
        let mut bad = empty("x.example.test.", DNSClass::ANY, RecordType::TXT);
        bad.ttl = 60;
        assert_eq!(
            operations(&[bad], &zone).unwrap_err().0,
            ResponseCode::FormErr
        );
    }
}
