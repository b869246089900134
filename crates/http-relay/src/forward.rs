//! The request sent to a target, and the reading of its answer.
//!
//! [`forwarded_headers`] builds what the target sees: the client's end-to-end headers
//! with the original `Host`, minus hop-by-hop headers and anything describing a body,
//! plus `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `Via`.
//! [`send`] makes one fresh connection to an address the policy approved, sends the
//! request with no body, and reads the answer within the timeouts and the body cap.
//! Redirects are returned as they are, never followed.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::inbound::Inbound;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus
/// proxy credentials.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// The headers for the forwarded request; `keep_body` keeps body-framing headers (for
/// the upstream mode, which forwards bodies).
pub fn forwarded_headers(
    src: &HeaderMap,
    inbound: &Inbound,
    via_name: &str,
    keep_body: bool,
) -> HeaderMap {
    let mut headers = src.clone();
    strip_hop_by_hop(&mut headers);
    if !keep_body {
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::EXPECT);
        headers.remove(header::CONTENT_TYPE);
    }
    headers.insert(header::HOST, inbound.host_header.clone());

    // X-Forwarded-For: the chain is believed only from a trusted proxy.
    let peer = target_resolver::policy::canonical(inbound.peer.ip()).to_string();
    let prior: Vec<String> = if inbound.via_trusted_proxy {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    let mut chain = prior.join(", ");
    if !chain.is_empty() {
        chain.push_str(", ");
    }
    chain.push_str(&peer);
    set(&mut headers, "x-forwarded-for", &chain);
    let proto = inbound
        .via_trusted_proxy
        .then(|| {
            headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .flatten()
        .unwrap_or_else(|| "http".to_owned());
    set(&mut headers, "x-forwarded-proto", &proto);
    headers.insert("x-forwarded-host", inbound.host_header.clone());
    add_via(&mut headers, via_name);
    headers
}

/// Appends this relay's hop to `Via`.
pub fn add_via(headers: &mut HeaderMap, via_name: &str) {
    let prior: Vec<&str> = headers
        .get_all(header::VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let mut via = prior.join(", ");
    if !via.is_empty() {
        via.push_str(", ");
    }
    via.push_str("1.1 ");
    via.push_str(via_name);
    set(headers, "via", &via);
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Why one attempt at one address failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// TCP connect failed.
    #[error("connect failed: {0}")]
    Connect(#[source] std::io::Error),
    /// TCP connect took too long.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The HTTP exchange failed before a response head arrived.
    #[error("no response: {0}")]
    NoResponse(#[source] hyper::Error),
    /// No response head within the timeout.
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
    /// The body did not arrive within the timeout.
    #[error("response body not complete within {0:?}")]
    BodyTimeout(Duration),
    /// The body was larger than the cap.
    #[error("response body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// The body broke off.
    #[error("response body failed: {0}")]
    Body(#[source] hyper::Error),
}

impl AttemptError {
    /// Whether the next address may be tried: nothing came back from this one yet.
    pub fn try_next(&self) -> bool {
        matches!(
            self,
            Self::Connect(_)
                | Self::ConnectTimeout(_)
                | Self::NoResponse(_)
                | Self::ResponseTimeout(_)
        )
    }

    /// Whether this was a timeout (a 504 rather than a 502 when it is the last word).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::ConnectTimeout(_) | Self::ResponseTimeout(_) | Self::BodyTimeout(_)
        )
    }
}

/// The limits one attempt runs under.
#[derive(Debug, Clone, Copy)]
pub struct AttemptLimits {
    /// TCP connect.
    pub connect: Duration,
    /// From request sent to response head.
    pub response_header: Duration,
    /// From response head to end of body.
    pub response_body: Duration,
    /// Largest body accepted.
    pub max_body: usize,
}

/// Sends `method path_and_query` with `headers` and no body to `addr` on a fresh
/// connection, and reads the whole answer.
pub async fn send(
    addr: SocketAddr,
    method: Method,
    path_and_query: &str,
    headers: HeaderMap,
    limits: AttemptLimits,
) -> Result<Response<Bytes>, AttemptError> {
    let stream = timeout(limits.connect, TcpStream::connect(addr))
        .await
        .map_err(|_| AttemptError::ConnectTimeout(limits.connect))?
        .map_err(AttemptError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(AttemptError::NoResponse)?;
    let connection = tokio::spawn(connection);

    let mut request = Request::new(Empty::new());
    *request.method_mut() = method;
    *request.uri_mut() = path_and_query
        .parse()
        .unwrap_or_else(|_| hyper::Uri::from_static("/"));
    *request.headers_mut() = headers;
    let result = async {
        let response = timeout(limits.response_header, sender.send_request(request))
            .await
            .map_err(|_| AttemptError::ResponseTimeout(limits.response_header))?
            .map_err(AttemptError::NoResponse)?;
        let (mut parts, mut body) = response.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limits.max_body) {
            return Err(AttemptError::BodyTooLarge(limits.max_body));
        }
        let collected = timeout(limits.response_body, async {
            let mut buf = BytesMut::new();
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.map_err(AttemptError::Body)?.into_data() {
                    if buf.len() + data.len() > limits.max_body {
                        return Err(AttemptError::BodyTooLarge(limits.max_body));
                    }
                    buf.extend_from_slice(&data);
                }
            }
            Ok(buf.freeze())
        })
        .await
        .map_err(|_| AttemptError::BodyTimeout(limits.response_body))??;
        strip_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, collected))
    }
    .await;
    connection.abort();
    result
}
