//! The request handler: checks a message, answers it from the current snapshot, and fits
//! the answer to the transport.

use std::iter;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageResponse, MessageResponseBuilder, Queries};

use crate::journal::{Journal, ZoneDelta};
use crate::snapshot::{Answer, Snapshot};

/// The UDP payload size this server advertises in its OPT record (the DNS Flag Day 2020
/// value, which avoids IP fragmentation), unless the client's own size is larger (see
/// [`Authority`]).
pub const ADVERTISED_UDP_PAYLOAD: u16 = 1232;

/// The largest UDP response sent, whatever the client advertises.
pub const MAX_UDP_PAYLOAD: u16 = 4096;

use crate::encoded::HEADER_LEN;

/// Size of our OPT record: root name, type, class, TTL, empty RDATA.
pub(crate) const OPT_LEN: usize = 11;

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
/// - An SRV, MX or NS RRset asked for itself (not through a CNAME, not for ANY) carries
///   the A and AAAA RRsets of its targets in the same zone in the additional section
///   (see [`crate::snapshot`]), as many targets' addresses as fit: the ones that do not
///   fit are left out without setting TC (RFC 2181 §9), a target's A and AAAA together.
/// - The question is echoed as received, byte for byte.
/// - EDNS(0): when the query has an OPT record, the response has one too (DO bit copied).
///   Over UDP the response must fit the client's payload size, clamped to
///   512..=[`MAX_UDP_PAYLOAD`], or 512 without EDNS; an answer section that does not fit is
///   replaced by header + question with TC set, never a partial RRset. The OPT advertises
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
    /// What changed between recent snapshots, for IXFR.
    journal: std::sync::Mutex<Journal>,
    /// The serial of each new snapshot, for NOTIFY.
    serials: tokio::sync::watch::Sender<u32>,
}

impl Authority {
    /// Serves `snapshot` until it is replaced.
    pub fn new(snapshot: Snapshot) -> Self {
        let (serials, _) = tokio::sync::watch::channel(snapshot.serial());
        Self {
            snapshot: ArcSwap::from_pointee(snapshot),
            journal: std::sync::Mutex::default(),
            serials,
        }
    }

    /// Swaps in a new snapshot built from scratch. Queries being answered finish with
    /// the old one; the next query sees the new one. The IXFR journal starts again.
    pub fn replace(&self, snapshot: Snapshot) {
        self.lock_journal().clear();
        self.publish(snapshot);
    }

    /// Swaps in a new snapshot that differs from the current one only in the records of
    /// the `changed` owners, and journals the difference for IXFR.
    pub fn replace_after_changes(&self, snapshot: Snapshot, changed: &[Name]) {
        {
            let old = self.snapshot.load();
            self.lock_journal().record(&old, &snapshot, changed);
        }
        self.publish(snapshot);
    }

    fn publish(&self, snapshot: Snapshot) {
        let serial = snapshot.serial();
        self.snapshot.store(Arc::new(snapshot));
        self.serials.send_replace(serial);
    }

    fn lock_journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What zone `origin` lost and gained from `serial` to the current snapshot's, step
    /// by step; `None` when the journal does not reach back that far.
    pub fn changes_since(&self, origin: &Name, serial: u32) -> Option<Vec<ZoneDelta>> {
        let current = self.snapshot.load().serial();
        self.lock_journal()
            .since(&LowerName::from(origin), serial, current)
    }

    /// A receiver that sees the serial of every new snapshot.
    pub fn subscribe_serials(&self) -> tokio::sync::watch::Receiver<u32> {
        self.serials.subscribe()
    }

    /// The snapshot currently served.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The current snapshot, for one query (no reference count taken).
    #[inline]
    pub(crate) fn current(&self) -> Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Answers one request (see the type's documentation for the rules).
    pub(crate) async fn respond<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        if request.metadata.message_type == MessageType::Response {
            // hickory drops these before they reach a handler; never answer one.
            return info(Metadata::response_from_request(&request.metadata));
        }
        let prepared = self.prepare(request);
        let metadata = prepared.metadata;
        match response_handle
            .send_response(prepared.response(request))
            .await
        {
            Ok(sent) => sent,
            Err(error) => {
                tracing::debug!(id = metadata.id, %error, "could not send DNS response");
                info(metadata)
            }
        }
    }

    /// The general path for one message received over `protocol`, answered as hickory's
    /// server would: nothing for a message shorter than a header or a response, FORMERR
    /// (no question, no OPT) for one that does not parse, else the answer of
    /// [`Authority::respond`] (over UDP fitted to the client's size, over TCP whole).
    /// Writes the response into `out`; `false` when there is nothing to send.
    pub(crate) fn respond_message(
        &self,
        raw: &[u8],
        src: SocketAddr,
        protocol: Protocol,
        out: &mut Vec<u8>,
    ) -> bool {
        out.clear();
        let mut decoder = BinDecoder::new(raw);
        let Ok(header) = Header::read(&mut decoder) else {
            return false;
        };
        let parsed = if question_has_pointer(raw) {
            // Queries do not compress their questions, and the questions are echoed: a
            // pointer could point into the response's header, and the answer would not
            // decode.
            Err("a compression pointer in the question section".to_owned())
        } else {
            Request::from_bytes(raw.to_vec(), src, protocol).map_err(|e| e.to_string())
        };
        let request = match parsed {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(id = header.metadata.id, %src, %error, "unparseable DNS message: FORMERR");
                let Ok(queries) = Queries::read(&mut BinDecoder::new(&[]), 0) else {
                    return false;
                };
                let response = MessageResponseBuilder::new(&queries, None)
                    .error_msg(&header.metadata, ResponseCode::FormErr);
                encode(response, 512, out);
                return true;
            }
        };
        if request.metadata.message_type == MessageType::Response {
            return false;
        }
        let prepared = self.prepare(&request);
        let max_size = if protocol == Protocol::Udp {
            prepared.edns.as_ref().map_or(512, Edns::max_payload)
        } else {
            u16::MAX
        };
        encode(prepared.response(&request), max_size, out);
        true
    }

    /// [`Authority::respond_message`] for a UDP datagram.
    pub(crate) fn respond_datagram(&self, raw: &[u8], src: SocketAddr, out: &mut Vec<u8>) -> bool {
        self.respond_message(raw, src, Protocol::Udp, out)
    }

    /// The answer to a request that is not a response: header, answer, OPT, TC.
    fn prepare(&self, request: &Request) -> Prepared {
        let mut metadata = Metadata::response_from_request(&request.metadata);
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

        let snapshot = self.snapshot.load();
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
        } else {
            // Additional records that do not fit are left out, without TC (RFC 2181 §9):
            // whole groups, so hickory never reaches the size limit (it would set TC).
            answer.fit_additional(limit.saturating_sub(fixed));
        }

        count_query(request, metadata.response_code);
        Prepared {
            metadata,
            answer,
            edns: response_edns,
        }
    }
}

/// A response ready to be encoded.
struct Prepared {
    metadata: Metadata,
    answer: Answer,
    edns: Option<Edns>,
}

impl Prepared {
    fn response<'q>(
        &'q self,
        request: &'q Request,
    ) -> MessageResponse<
        'q,
        'q,
        impl Iterator<Item = &'q Record> + Send + 'q,
        impl Iterator<Item = &'q Record> + Send + 'q,
        impl Iterator<Item = &'q Record> + Send + 'q,
        impl Iterator<Item = &'q Record> + Send + 'q,
    > {
        MessageResponseBuilder::new(&request.queries, self.edns.as_ref()).build(
            self.metadata,
            self.answer.records(),
            self.answer.authority.as_ref(),
            iter::empty::<&Record>(),
            self.answer.additional.iter(),
        )
    }
}

/// Whether a name in the question section (QDCOUNT names after the header, each
/// followed by type and class) uses a compression pointer.
fn question_has_pointer(raw: &[u8]) -> bool {
    let count = raw
        .get(4..6)
        .map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
    let mut at = HEADER_LEN;
    for _ in 0..count {
        loop {
            let Some(&len) = raw.get(at) else {
                return false;
            };
            if len & 0xc0 != 0 {
                return true;
            }
            at += 1 + usize::from(len);
            if len == 0 {
                break;
            }
        }
        at += 4;
    }
    false
}

/// Encodes a response as hickory's `ResponseHandle` does: at most `max_size` bytes,
/// SERVFAIL (header only) when it cannot be encoded.
fn encode<'a>(
    response: MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    max_size: u16,
    out: &mut Vec<u8>,
) {
    let id = response.metadata().id;
    out.clear();
    let mut encoder = BinEncoder::new(out);
    encoder.set_max_size(max_size);
    let Err(error) = response.destructive_emit(&mut encoder) else {
        return;
    };
    tracing::error!(%error, "error encoding message");
    out.clear();
    let mut metadata = Metadata::new(id, MessageType::Response, OpCode::Query);
    metadata.response_code = ResponseCode::ServFail;
    let header = Header {
        metadata,
        counts: HeaderCounts::default(),
    };
    let mut encoder = BinEncoder::new(out);
    if header.emit(&mut encoder).is_err() {
        out.clear();
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
fn decide(snapshot: &Snapshot, request: &Request) -> Result<Answer, ResponseCode> {
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
    answer: &Answer,
) -> usize {
    let mut buffer = Vec::with_capacity(answer.wire_len + 512);
    let mut encoder = BinEncoder::new(&mut buffer);
    let emitted = MessageResponseBuilder::new(&request.queries, edns)
        .build(
            metadata,
            answer.records(),
            answer.authority.as_ref(),
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
        [query] => type_label(query.query_type()),
        _ => "none",
    };
    metrics::counter!("acme_srv_dns_queries_total", "type" => record_type, "rcode" => rcode_label(rcode))
        .increment(1);
}

/// The `type` label of a QTYPE: its mnemonic, `other` for unknown types.
pub(crate) fn type_label(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::Unknown(_) => "other",
        known => known.into(),
    }
}

/// The `rcode` label of a response code.
pub(crate) fn rcode_label(rcode: ResponseCode) -> &'static str {
    match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::BADVERS => "BADVERS",
        _ => "other",
    }
}
