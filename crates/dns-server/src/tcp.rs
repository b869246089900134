//! DNS over TCP (RFC 7766) on `bounded-listener`'s accept loop, in place of hickory's
//! (which retries a failing `accept(2)` without pause and has no connection caps).
//!
//! Each admitted connection reads one length-prefixed message at a time, answers it
//! through the general path, and writes the answer with its length prefix in one write.
//! A connection ends when the client closes, sends nothing for the first-byte or idle
//! timeout, takes longer than the request timeout to send a message it has begun,
//! announces a message shorter than a DNS header, or reaches its lifetime.

use std::sync::Arc;
use std::time::Duration;

use bounded_listener::Accepted;
use hickory_server::net::xfer::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::authority::Authority;
use crate::encoded::HEADER_LEN;
use crate::services::ZoneServices;

/// Serves one admitted TCP connection until it ends.
pub(crate) async fn serve_connection(
    accepted: Accepted,
    authority: Arc<Authority>,
    services: Arc<ZoneServices>,
    request_timeout: Duration,
) {
    let Accepted {
        mut io,
        peer,
        close_at,
        activity,
    } = accepted;
    let mut query = Vec::new();
    let mut response = Vec::new();
    let mut framed = Vec::new();
    loop {
        let mut length = [0u8; 2];
        if let Err(error) = io.read_exact(&mut length).await {
            if let Some(expiry) = io.expired() {
                tracing::debug!(%peer, timeout = expiry.label(), "DNS TCP connection timed out");
            } else if error.kind() != std::io::ErrorKind::UnexpectedEof {
                tracing::debug!(%peer, %error, "DNS TCP connection ended");
            }
            return;
        }
        let length = usize::from(u16::from_be_bytes(length));
        if length < HEADER_LEN {
            tracing::debug!(%peer, length, "DNS TCP message shorter than a header; closing");
            return;
        }
        query.resize(length, 0);
        match tokio::time::timeout(request_timeout, io.read_exact(&mut query)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "DNS TCP message cut short");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, ?request_timeout, "DNS TCP message not received in time");
                return;
            }
        }
        if crate::transfer::is_transfer(&query) {
            // A transfer may take a while: the connection is busy, not idle.
            let _busy = activity.begin();
            if let Err(error) =
                crate::transfer::serve(&mut io, &query, peer, &authority, &services).await
            {
                tracing::debug!(%peer, %error, "zone transfer cut short");
                return;
            }
            continue;
        }
        if crate::transfer::opcode(&query) == crate::update::OPCODE_UPDATE {
            let _busy = activity.begin();
            if let Some(answer) = crate::update::respond(&query, peer, &authority, &services).await
                && write_framed(&mut io, &answer, &mut framed).await.is_err()
            {
                return;
            }
            continue;
        }
        if crate::signed_query::is_signed(&query) {
            if let Some(answer) =
                crate::signed_query::respond(&query, peer, Protocol::Tcp, &authority, &services)
                    .await
                && write_framed(&mut io, &answer, &mut framed).await.is_err()
            {
                return;
            }
            continue;
        }
        if authority.respond_message(&query, peer, Protocol::Tcp, &mut response) {
            let Ok(len) = u16::try_from(response.len()) else {
                return;
            };
            framed.clear();
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&response);
            if io.write_all(&framed).await.is_err() {
                return;
            }
        }
        if tokio::time::Instant::now() >= close_at {
            return;
        }
    }
}

/// Writes `message` with its length prefix in one write.
async fn write_framed<W: tokio::io::AsyncWrite + Unpin>(
    io: &mut W,
    message: &[u8],
    framed: &mut Vec<u8>,
) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| std::io::Error::other("over 64 KiB"))?;
    framed.clear();
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    io.write_all(framed).await
}
