//! The request handler: checks a message, answers it from the current snapshot, and fits
//! the answer to the transport.

use std::iter;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Record, RecordType};
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use crate::snapshot::{Answer, Snapshot};

/// The UDP payload size this server advertises in its OPT record (the DNS Flag Day 2020
/// value, which avoids IP fragmentation), unless the client's own size is larger (see
/// [`Authority`]).
pub const ADVERTISED_UDP_PAYLOAD: u16 = 1232;

/// The largest UDP response sent, whatever the client advertises.
pub const MAX_UDP_PAYLOAD: u16 = 4096;

/// Size of a DNS header.
const HEADER_LEN: usize = 12;
/// Size of our OPT record: root name, type, class, TTL, empty RDATA.
const OPT_LEN: usize = 11;

/// The authoritative server's state: the snapshot it answers from, replaceable while it
/// serves.
///
/// Answer rules, per message (messages hickory could not parse, and responses, never get
/// here):
///
/// - Opcode other than QUERY (NOTIFY and UPDATE included): NOTIMP. EDNS version above 0:
///   BADVERS. Not exactly one question: FORMERR. Class other than IN: REFUSED. QTYPE OPT:
///   FORMERR; AXFR/IXFR: NOTIMP.
/// - A name outside every zone: REFUSED, no AA.
/// - Otherwise AA is set (RA never): the RRset; or the CNAME chain (see
///   [`crate::MAX_CNAME_HOPS`]); NODATA or NXDOMAIN with the zone's SOA in the authority
///   section; for ANY, one RRset (RFC 8482).
/// - The question is echoed as received, byte for byte.
/// - EDNS(0): when the query has an OPT record, the response has one too (DO bit copied).
///   Over UDP the response must fit the client's payload size, clamped to
///   512..=[`MAX_UDP_PAYLOAD`], or 512 without EDNS; an answer that does not fit is replaced
///   by header + question with TC set, never a partial RRset. The OPT advertises
///   [`ADVERTISED_UDP_PAYLOAD`], or the client's clamped size when that is larger, because
///   hickory caps a UDP response at the size our OPT advertises. Over TCP the full answer
///   is sent.
///
/// Every message that reaches this handler increments
/// `acme_srv_dns_queries_total{type, rcode}` (`type` is the QTYPE mnemonic, `other` for
/// unknown types, `none` without a single question). Messages hickory rejects before the
/// handler (FORMERR for unparseable ones, silence for short ones and responses) are not
/// counted.
///
/// Of RFC 8482's options for ANY, the answer is the first RRset at the name by type code
/// (a CNAME when there is one); the synthesized HINFO is not used. Answer owner names
/// are spelled as stored, not as asked (only the question section carries the client's
/// case).
#[derive(Debug)]
pub struct Authority {
    snapshot: ArcSwap<Snapshot>,
}

impl Authority {
    /// Serves `snapshot` until it is replaced.
    pub fn new(snapshot: Snapshot) -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(snapshot),
        }
    }

    /// Swaps in a new snapshot. Queries being answered finish with the old one; the next
    /// query sees the new one.
    pub fn replace(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
    }

    /// The snapshot currently served.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Answers one request (see the type's documentation for the rules).
    pub(crate) async fn respond<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        if request.metadata.message_type == MessageType::Response {
            // hickory drops these before they reach a handler; never answer one.
            return info(metadata);
        }

        let udp = request.protocol() == Protocol::Udp;
        let limit = match (&request.edns, udp) {
            (_, false) => usize::from(u16::MAX),
            (None, true) => 512,
            (Some(edns), true) => usize::from(edns.max_payload().clamp(512, MAX_UDP_PAYLOAD)),
        };
        let response_edns = request.edns.as_ref().map(|query_edns| {
            let mut edns = Edns::new();
            let advertised = if udp {
                u16::try_from(limit).unwrap_or(MAX_UDP_PAYLOAD)
            } else {
                0
            };
            edns.set_max_payload(advertised.max(ADVERTISED_UDP_PAYLOAD))
                .set_version(0)
                .set_dnssec_ok(query_edns.flags().dnssec_ok);
            edns
        });

        let snapshot = self.snapshot.load_full();
        let mut answer = match decide(&snapshot, request) {
            Ok(answer) => {
                metadata.authoritative = true;
                metadata.response_code = answer.rcode;
                answer
            }
            Err(rcode) => {
                metadata.response_code = rcode;
                Answer::default()
            }
        };

        let fixed = HEADER_LEN
            + request.queries.as_bytes().len()
            + response_edns.as_ref().map_or(0, |_| OPT_LEN);
        if fixed + answer.wire_len > limit
            && encoded_len(request, response_edns.as_ref(), metadata, &answer) > limit
        {
            tracing::debug!(
                id = metadata.id,
                limit,
                records = answer.answer_count(),
                "answer does not fit, sending TC"
            );
            metadata.truncation = true;
            answer = Answer::default();
        }

        count_query(request, metadata.response_code);
        let response = MessageResponseBuilder::new(&request.queries, response_edns.as_ref()).build(
            metadata,
            answer.records(),
            answer.authority,
            iter::empty::<&Record>(),
            iter::empty::<&Record>(),
        );
        match response_handle.send_response(response).await {
            Ok(sent) => sent,
            Err(error) => {
                tracing::debug!(id = metadata.id, %error, "could not send DNS response");
                info(metadata)
            }
        }
    }
}

#[async_trait::async_trait]
impl RequestHandler for Authority {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        self.respond(request, response_handle).await
    }
}

/// The checks on the message, then the answer from the snapshot; `Err` is an error
/// response code (sent without records).
fn decide<'s>(snapshot: &'s Snapshot, request: &Request) -> Result<Answer<'s>, ResponseCode> {
    if request.metadata.op_code != OpCode::Query {
        return Err(ResponseCode::NotImp);
    }
    if request.edns.as_ref().is_some_and(|edns| edns.version() > 0) {
        return Err(ResponseCode::BADVERS);
    }
    let [query] = request.queries.queries() else {
        return Err(ResponseCode::FormErr);
    };
    if query.query_class() != DNSClass::IN {
        return Err(ResponseCode::Refused);
    }
    match query.query_type() {
        RecordType::OPT => Err(ResponseCode::FormErr),
        RecordType::AXFR | RecordType::IXFR => Err(ResponseCode::NotImp),
        qtype => snapshot
            .answer(query.name(), qtype)
            .ok_or(ResponseCode::Refused),
    }
}

/// The exact encoded size of the response (with name compression), for answers whose
/// upper bound exceeds the limit.
fn encoded_len(
    request: &Request,
    edns: Option<&Edns>,
    metadata: Metadata,
    answer: &Answer<'_>,
) -> usize {
    let mut buffer = Vec::with_capacity(answer.wire_len + 512);
    let mut encoder = BinEncoder::new(&mut buffer);
    let emitted = MessageResponseBuilder::new(&request.queries, edns)
        .build(
            metadata,
            answer.records(),
            answer.authority,
            iter::empty::<&Record>(),
            iter::empty::<&Record>(),
        )
        .destructive_emit(&mut encoder);
    match emitted {
        // hickory truncates at 64 KiB rather than failing; a truncated encoding is too big.
        Ok(header) if !header.truncation => buffer.len(),
        _ => usize::MAX,
    }
}

fn info(metadata: Metadata) -> ResponseInfo {
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

/// Increments `acme_srv_dns_queries_total{type, rcode}`. Both labels come from fixed
/// sets, so a hostile client cannot grow the number of series.
fn count_query(request: &Request, rcode: ResponseCode) {
    let record_type = match request.queries.queries() {
        [query] => match query.query_type() {
            RecordType::Unknown(_) => "other",
            known => known.into(),
        },
        _ => "none",
    };
    let rcode = match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::BADVERS => "BADVERS",
        _ => "other",
    };
    metrics::counter!("acme_srv_dns_queries_total", "type" => record_type, "rcode" => rcode)
        .increment(1);
}
