//! Queries signed with TSIG (a secondary's SOA check before a transfer, `dig -y`): the
//! signature is checked, the answer is the general path's, and it goes back signed
//! with the same key; a failed signature gets NOTAUTH with its TSIG error (RFC 8945
//! §5.2), and no data.

use std::net::SocketAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_server::net::xfer::Protocol;

use crate::authority::Authority;
use crate::services::{Sender, ZoneServices, finish_response};

/// Whether `raw` ends with a TSIG record. The general path calls this for every query
/// with additional records (any EDNS query), so the message is parsed only when it
/// holds the bytes of a TSIG record's type and class (250, ANY) somewhere.
pub(crate) fn is_signed(raw: &[u8]) -> bool {
    raw.get(10..12).is_some_and(|count| count != [0, 0])
        && raw.windows(4).any(|w| w == [0, 250, 0, 255])
        && crate::tsig::is_signed(raw)
}

/// The answer to the signed query `raw`; `None` when nothing is to be sent.
pub(crate) async fn respond(
    raw: &[u8],
    peer: SocketAddr,
    protocol: Protocol,
    authority: &Authority,
    services: &ZoneServices,
) -> Option<Vec<u8>> {
    let sender = services.authenticate(raw).await;
    let mut out = Vec::new();
    match &sender {
        Sender::Refused(refusal) => {
            tracing::warn!(%peer, %refusal, "signed query refused");
            let request = Message::from_vec(raw).ok()?;
            let mut response = Message::response(request.metadata.id, request.metadata.op_code);
            response.metadata.response_code = ResponseCode::NotAuth;
            response.add_queries(request.queries);
            out = response.to_vec().ok()?;
        }
        Sender::Signed(..) | Sender::Unsigned => {
            if !authority.respond_message(raw, peer, protocol, &mut out) {
                return None;
            }
        }
    }
    finish_response(&mut out, &sender);
    Some(out)
}
