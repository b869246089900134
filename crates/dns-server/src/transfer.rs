//! Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, from the current
//! snapshot and the change journal.
//!
//! Who may transfer: a source inside `transfer_networks`, or a request signed with a TSIG
//! key allowed to transfer; anyone else gets REFUSED, and a failed signature NOTAUTH with
//! its TSIG error. A zone this server does not serve gets NOTAUTH.
//!
//! AXFR: the SOA, every other RRset, the SOA again, in messages of up to
//! [`MESSAGE_BUDGET`] bytes; the question is in the first message only. IXFR: when the
//! client's serial is current (or newer, RFC 1982), the SOA alone; when the journal
//! reaches back to it, the differences step by step (old SOA, deleted records, new SOA,
//! added records); otherwise the whole zone, as AXFR sends it. With TSIG every message is
//! signed, the first with the request's MAC, the next ones chained (RFC 8945 §5.3.1).

use std::net::SocketAddr;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::authority::Authority;
use crate::journal::serial_before;
use crate::services::{Sender, ZoneServices, finish_response};
use crate::tsig::ResponseSigner;

/// Bytes of records per transfer message, at most (before compression); a message holds
/// at least one record whatever its size.
pub const MESSAGE_BUDGET: usize = 16 * 1024;

/// Whether `raw` asks for a zone transfer: a QUERY for AXFR or IXFR.
pub(crate) fn is_transfer(raw: &[u8]) -> bool {
    let Some(qtype) = first_question_type(raw) else {
        return false;
    };
    opcode(raw) == 0 && (qtype == 252 || qtype == 251)
}

/// The opcode of a message.
pub(crate) fn opcode(raw: &[u8]) -> u8 {
    raw.get(2).map_or(0, |b| (b >> 3) & 0x0f)
}

fn first_question_type(raw: &[u8]) -> Option<u16> {
    if raw.get(4..6)? == [0, 0] {
        return None;
    }
    let mut at = 12;
    loop {
        let len = usize::from(*raw.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        at += 1 + len;
    }
    Some(u16::from_be_bytes([*raw.get(at)?, *raw.get(at + 1)?]))
}

/// Answers the transfer request `raw` from `peer`, writing every response message
/// (length-prefixed) to `out`.
pub(crate) async fn serve<W: AsyncWrite + Unpin>(
    out: &mut W,
    raw: &[u8],
    peer: SocketAddr,
    authority: &Authority,
    services: &ZoneServices,
) -> std::io::Result<()> {
    let Ok(request) = Message::from_vec(raw) else {
        return Ok(());
    };
    let Some(query) = request.queries.first().cloned() else {
        return Ok(());
    };
    let sender = services.authenticate(raw).await;
    let refuse = |rcode: ResponseCode| {
        let mut response = Message::response(request.metadata.id, OpCode::Query);
        response.metadata.response_code = rcode;
        response.add_query(query.clone());
        response
    };
    let allowed = match &sender {
        Sender::Signed(grant, _) => grant.transfer,
        Sender::Unsigned => services
            .transfer_networks
            .iter()
            .any(|net| net.contains(&peer.ip().to_canonical())),
        Sender::Refused(_) => false,
    };
    let mut metrics_kind = if query.query_type() == RecordType::IXFR {
        "ixfr"
    } else {
        "axfr"
    };
    if let Sender::Refused(refusal) = &sender {
        tracing::warn!(%peer, zone = %query.name(), %refusal, "zone transfer refused: TSIG");
        return write_one(out, &refuse(ResponseCode::NotAuth), &sender).await;
    }
    if !allowed {
        tracing::warn!(%peer, zone = %query.name(), "zone transfer refused: not an allowed network or key");
        return write_one(out, &refuse(ResponseCode::Refused), &sender).await;
    }
    let snapshot = authority.snapshot();
    let origin = query.name().clone();
    let served = snapshot
        .origins()
        .any(|o| o.to_lowercase() == origin.to_lowercase());
    let Some(soa) = snapshot.soa(&origin).filter(|_| served) else {
        return write_one(out, &refuse(ResponseCode::NotAuth), &sender).await;
    };
    let current = snapshot.serial();
    let mut records: Vec<Record> = Vec::new();
    if query.query_type() == RecordType::IXFR {
        let client_serial = request.authorities.iter().find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        });
        match client_serial {
            Some(serial) if !serial_before(serial, current) => {
                // Up to date (or ahead): the current SOA alone.
                records.push(soa.clone());
                metrics_kind = "ixfr-current";
            }
            Some(serial) => match authority.changes_since(&origin, serial) {
                Some(steps) => {
                    records.push(soa.clone());
                    for step in steps {
                        records.push(with_serial(&soa, step.from));
                        records.extend(step.deleted);
                        records.push(with_serial(&soa, step.to));
                        records.extend(step.added);
                    }
                    records.push(soa.clone());
                    metrics_kind = "ixfr-incremental";
                }
                None => metrics_kind = "ixfr-full",
            },
            None => {
                return write_one(out, &refuse(ResponseCode::FormErr), &sender).await;
            }
        }
    }
    let full = records.is_empty();
    let sent = if full {
        let Some(rrsets) = snapshot.zone_rrsets(&origin) else {
            return write_one(out, &refuse(ResponseCode::NotAuth), &sender).await;
        };
        let all = rrsets.flatten().chain(std::iter::once(soa.clone()));
        write_stream(out, &request, &query, all, &sender).await?
    } else {
        write_stream(out, &request, &query, records.into_iter(), &sender).await?
    };
    metrics::counter!("acme_srv_dns_transfers_total", "kind" => metrics_kind).increment(1);
    tracing::info!(%peer, zone = %origin, kind = %metrics_kind, serial = current, records = sent.0, messages = sent.1, bytes = sent.2, "zone transfer");
    Ok(())
}

/// The SOA `soa` with `serial`.
fn with_serial(soa: &Record, serial: u32) -> Record {
    let mut record = soa.clone();
    if let RData::SOA(data) = &soa.data {
        record.data = RData::SOA(SOA::new(
            data.mname.clone(),
            data.rname.clone(),
            serial,
            data.refresh,
            data.retry,
            data.expire,
            data.minimum,
        ));
    }
    record
}

/// Writes `records` in messages of at most [`MESSAGE_BUDGET`] record bytes; returns
/// (records, messages, bytes).
async fn write_stream<W: AsyncWrite + Unpin>(
    out: &mut W,
    request: &Message,
    query: &Query,
    records: impl Iterator<Item = Record>,
    sender: &Sender,
) -> std::io::Result<(usize, usize, usize)> {
    let mut signer = match sender {
        Sender::Signed(_, signed) => Some(ResponseSigner::new(signed)),
        _ => None,
    };
    let new_message = |first: bool| {
        let mut message = Message::response(request.metadata.id, OpCode::Query);
        message.metadata.message_type = MessageType::Response;
        message.metadata.authoritative = true;
        if first {
            message.add_query(query.clone());
        }
        message
    };
    let mut message = new_message(true);
    let mut budget = 0usize;
    let (mut count, mut messages, mut bytes) = (0usize, 0usize, 0usize);
    for record in records {
        let size = record.to_bytes().map_or(512, |b| b.len());
        if !message.answers.is_empty() && budget + size > MESSAGE_BUDGET {
            bytes += send(out, &message, signer.as_mut()).await?;
            messages += 1;
            message = new_message(false);
            budget = 0;
        }
        budget += size;
        count += 1;
        message.add_answer(record);
    }
    bytes += send(out, &message, signer.as_mut()).await?;
    messages += 1;
    Ok((count, messages, bytes))
}

/// Encodes, signs (when a signer is given) and writes one message; its length.
async fn send<W: AsyncWrite + Unpin>(
    out: &mut W,
    message: &Message,
    signer: Option<&mut ResponseSigner>,
) -> std::io::Result<usize> {
    let mut wire = message.to_vec().map_err(std::io::Error::other)?;
    if let Some(signer) = signer {
        signer.sign(&mut wire, crate::tsig::unix_now(), None, &[]);
    }
    write_framed(out, &wire).await?;
    Ok(wire.len())
}

/// One response, finished for `sender` (signed, or with its TSIG error).
async fn write_one<W: AsyncWrite + Unpin>(
    out: &mut W,
    message: &Message,
    sender: &Sender,
) -> std::io::Result<()> {
    let mut wire = message.to_vec().map_err(std::io::Error::other)?;
    finish_response(&mut wire, sender);
    write_framed(out, &wire).await
}

async fn write_framed<W: AsyncWrite + Unpin>(out: &mut W, wire: &[u8]) -> std::io::Result<()> {
    let len =
        u16::try_from(wire.len()).map_err(|_| std::io::Error::other("message over 64 KiB"))?;
    let mut framed = Vec::with_capacity(wire.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(wire);
    out.write_all(&framed).await
}
