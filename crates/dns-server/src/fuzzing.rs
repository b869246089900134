//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`, never in a
//! release build): the crate-private answer paths of a UDP datagram, as the server's UDP
//! loop calls them (`server.rs`). Not an API: nothing here is stable.

use std::net::SocketAddr;

use crate::Authority;

/// The fast path's answer to the datagram `query` (see `fast_path.rs`): `true` with the
/// response in `out`, or `false` when the query is left to the general path (`out` is
/// then unspecified).
pub fn fast_path(authority: &Authority, query: &[u8], out: &mut Vec<u8>) -> bool {
    crate::fast_path::answer(&authority.current(), query, out).is_some()
}

/// The general path's answer to the datagram `query` from `src`: `true` with the
/// response in `out`, or `false` when nothing is sent (a message shorter than a header,
/// or a response).
pub fn general_path(
    authority: &Authority,
    query: &[u8],
    src: SocketAddr,
    out: &mut Vec<u8>,
) -> bool {
    authority.respond_datagram(query, src, out)
}

/// What the UDP loop sends for the datagram `query` from `src`: the fast path's answer,
/// else the general path's; `None` when nothing is sent.
pub fn udp_answer(authority: &Authority, query: &[u8], src: SocketAddr) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    (fast_path(authority, query, &mut out) || general_path(authority, query, src, &mut out))
        .then_some(out)
}

/// What the server makes of a message that may be an UPDATE or be TSIG-signed, without
/// the store: the TSIG check against a fixed key (any verdict; it must not panic), the
/// key a TSIG record claims, and the prerequisite and update sections parsed for the
/// zone the message names. Returns how many prerequisites and operations parsed.
pub fn update_and_tsig(raw: &[u8]) -> Option<(usize, usize)> {
    let key = crate::tsig::TsigKey::new(
        &hickory_proto::rr::Name::from_ascii("fuzz.example.test.").ok()?,
        "hmac-sha256",
        vec![7; 32],
    )
    .ok()?;
    let _ = crate::tsig::verify(raw, Some(&key), 1_800_000_000);
    let _ = crate::tsig::claimed_key(raw);
    let _ = crate::transfer::is_transfer(raw);
    let message = hickory_proto::op::Message::from_vec(raw).ok()?;
    let zone = message.queries.first()?.name().clone();
    let prerequisites = crate::update::parse_prerequisites(&message.answers, &zone).ok()?;
    let operations = crate::update::parse_operations(&message.authorities, &zone).ok()?;
    Some((prerequisites.len(), operations.len()))
}
