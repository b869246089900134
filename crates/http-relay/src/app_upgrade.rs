//! Protocol upgrades in `upstream` mode (WebSocket and any other `Upgrade`).
//!
//! A request asking to upgrade (`Connection: upgrade` with `Upgrade: <protocol>`, over
//! HTTP/1.1) goes to the app with those two headers kept, although they are hop-by-hop
//! everywhere else. If the app answers `101 Switching Protocols`, the client gets that
//! answer with the app's `Upgrade` and, once it is written, the two connections are
//! joined: bytes are copied both ways until both sides have closed, each direction's end
//! passed on as a half-close. The client side stays under the relay's idle timeout and
//! connection lifetime; the request's target-connection slot is held until the end. Any
//! other answer is an ordinary response, and the client connection goes on as HTTP.

use bounded_listener::http1::{OnUpgrade, Upgraded};
use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode, Version};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use crate::app_exchange::AppConnection;
use crate::forwarded_headers;
use crate::reply::{Body, full};

/// The protocol a request asks to upgrade to, if it asks: HTTP/1.1, `Upgrade` present
/// and `upgrade` among the `Connection` tokens.
pub fn requested(version: Version, headers: &HeaderMap) -> Option<HeaderValue> {
    if version != Version::HTTP_11 {
        return None;
    }
    let upgrade = headers.get(header::UPGRADE)?;
    forwarded_headers::connection_tokens(headers)
        .any(|token| token.eq_ignore_ascii_case("upgrade"))
        .then(|| upgrade.clone())
}

/// Puts the upgrade request back on headers that were cleaned of hop-by-hop fields.
pub fn ask(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol);
}

/// The client's `101` answer for the app's, joining the two connections once it is
/// written. `app_headers` are the app's answer headers.
pub async fn switch(
    mut app_headers: HeaderMap,
    connection: AppConnection,
    slot: OwnedSemaphorePermit,
) -> Response<Body> {
    let protocol = app_headers.get(header::UPGRADE).cloned();
    forwarded_headers::strip_hop_by_hop(&mut app_headers);
    if let Some(protocol) = protocol {
        ask(&mut app_headers, protocol);
    }
    let (app, app_read_ahead) = connection.into_upgraded().await;
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *response.headers_mut() = app_headers;
    response
        .extensions_mut()
        .insert(OnUpgrade::new(move |client| {
            join(client, app, app_read_ahead, slot)
        }));
    response
}

/// Copies both ways until both directions have ended.
async fn join(
    mut client: Upgraded,
    mut app: TcpStream,
    app_read_ahead: Bytes,
    _slot: OwnedSemaphorePermit,
) {
    // What the app sent right after its 101 (hyper had read it already) goes first.
    if !app_read_ahead.is_empty()
        && let Err(e) = client.write_all(&app_read_ahead).await
    {
        tracing::debug!(error = %e, "upgraded connection: client write failed");
        return;
    }
    match tokio::io::copy_bidirectional(&mut client, &mut app).await {
        Ok((up, down)) => tracing::debug!(up, down, "upgraded connection ended"),
        Err(e) => tracing::debug!(error = %e, "upgraded connection ended"),
    }
}
