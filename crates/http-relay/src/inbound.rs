//! What an incoming request is, and whether it may go further.
//!
//! Every request passes [`handle`]: rate limit, smuggling and loop checks, host
//! extraction and normalisation, then either the challenge relay or the
//! non-challenge mode. Nothing here looks anything up in DNS: a domain outside the
//! allow-list is answered before any query is made.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bounded_listener::{forwarded_client, is_trusted};
use domain_name::DomainName;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, HOST, HeaderMap, HeaderValue, TRANSFER_ENCODING, VIA};
use hyper::{Method, Request, Response, StatusCode};

use crate::relay_metrics::Kind;
use crate::reply::{Body, text};
use crate::{Relay, challenge, other_requests};

/// The path prefix of ACME http-01 challenges (RFC 8555 §8.3).
pub const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// Longest token accepted; real tokens are 43 characters.
pub const MAX_TOKEN_LEN: usize = 256;

/// Who sent a request and under which name.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The client address: the TCP peer, or from `X-Forwarded-For` when the peer is a
    /// trusted proxy.
    pub client: IpAddr,
    /// The TCP peer.
    pub peer: SocketAddr,
    /// Whether the peer is a trusted proxy.
    pub via_trusted_proxy: bool,
    /// The host, normalised.
    pub host: DomainName,
    /// The `Host` value as the client sent it (what the target sees).
    pub host_header: HeaderValue,
}

/// Serves one request. Never fails: every problem is an HTTP answer.
pub async fn handle(
    relay: Arc<Relay>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, std::convert::Infallible> {
    let started = Instant::now();
    let is_challenge = req.uri().path().starts_with(CHALLENGE_PREFIX);
    let response = route(&relay, req, peer, is_challenge).await;
    let kind = if is_challenge {
        Kind::Challenge
    } else {
        Kind::Other
    };
    relay
        .metrics
        .request(kind, response.status(), started.elapsed());
    Ok(response)
}

async fn route(
    relay: &Relay,
    req: Request<Incoming>,
    peer: SocketAddr,
    is_challenge: bool,
) -> Response<Body> {
    let trusted = is_trusted(&relay.trusted_proxies, peer.ip());
    let client = if trusted {
        forwarded_client(req.headers(), &relay.trusted_proxies)
    } else {
        None
    }
    .unwrap_or(peer.ip());
    if !relay.admit(client) {
        // The connection is closed after this answer: a client over its rate keeps no
        // connection slot.
        return closing(text(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this client",
        ));
    }
    if req.method() == Method::CONNECT {
        return method_not_allowed("CONNECT is not supported: this is not a forward proxy");
    }
    if let Err(reason) = check_framing(req.headers()) {
        return closing(text(StatusCode::BAD_REQUEST, reason));
    }
    if has_own_via(req.headers(), &relay.via_name) {
        return text(StatusCode::LOOP_DETECTED, crate::reply::reasons::LOOP);
    }
    let (host, host_header) = match request_host(&req) {
        Ok(found) => found,
        Err(reason) => return text(StatusCode::BAD_REQUEST, reason),
    };
    let inbound = Inbound {
        client,
        peer,
        via_trusted_proxy: trusted,
        host,
        host_header,
    };

    // Both paths are boxed: hyper keeps this future (at its largest state's size) for
    // every connection, idle or not, so the big states live on the heap only while a
    // request is under way.
    if !is_challenge {
        return Box::pin(other_requests::handle(relay, req, inbound)).await;
    }
    let token = &req.uri().path()[CHALLENGE_PREFIX.len()..];
    if !is_valid_token(token) {
        return text(StatusCode::NOT_FOUND, "not a valid ACME challenge token");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed("only GET and HEAD are allowed for ACME challenges");
    }
    if req.uri().query().is_some() {
        // RFC 8555 §8.3: the challenge URL has no query; CAs never send one.
        return text(
            StatusCode::BAD_REQUEST,
            "an ACME challenge request has no query string",
        );
    }
    if !relay.is_allowed(&inbound.host) {
        tracing::debug!(host = %inbound.host, "challenge for a domain not in the allow-list");
        return text(
            StatusCode::NOT_FOUND,
            crate::reply::reasons::DOMAIN_NOT_ALLOWED,
        );
    }
    Box::pin(challenge::relay(relay, &req, &inbound, token)).await
}

/// `response` with `Connection: close`: hyper closes the connection after sending it.
fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn method_not_allowed(reason: &str) -> Response<Body> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, reason);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// A token is base64url without padding, 1 to 256 characters.
pub fn is_valid_token(token: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Refuses ambiguous message framing that a parser behind us might read differently.
fn check_framing(headers: &HeaderMap) -> Result<(), &'static str> {
    let te = headers.get_all(TRANSFER_ENCODING).iter().count();
    let cl: Vec<_> = headers.get_all(CONTENT_LENGTH).iter().collect();
    if te > 0 && !cl.is_empty() {
        return Err("both Content-Length and Transfer-Encoding: refused");
    }
    if cl.windows(2).any(|w| w[0] != w[1]) {
        return Err("conflicting Content-Length values: refused");
    }
    Ok(())
}

/// Whether `Via` already names this relay.
fn has_own_via(headers: &HeaderMap, via_name: &str) -> bool {
    headers
        .get_all(VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|hop| {
            // A hop is "protocol received-by [comment]".
            hop.split_whitespace()
                .nth(1)
                .is_some_and(|by| by.eq_ignore_ascii_case(via_name))
        })
}

/// The host a request is for: the authority of an absolute-form target (RFC 9112
/// §3.2.2: it overrides `Host`), else the single `Host` header; normalised.
fn request_host(req: &Request<Incoming>) -> Result<(DomainName, HeaderValue), String> {
    let raw = if let Some(authority) = req.uri().authority() {
        if authority.as_str().contains('@') {
            return Err("user information in the request target is refused".into());
        }
        HeaderValue::from_str(authority.as_str()).map_err(|_| "bad authority".to_owned())?
    } else {
        let mut hosts = req.headers().get_all(HOST).iter();
        let host = hosts.next().ok_or("missing Host header")?.clone();
        if hosts.next().is_some() {
            return Err("more than one Host header".into());
        }
        host
    };
    let text = raw.to_str().map_err(|_| "Host is not ASCII".to_owned())?;
    let host = srv_scheme::normalize_host(text).map_err(|e| format!("bad Host {text:?}: {e}"))?;
    Ok((host, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_valid_token(
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
        ));
        assert!(!is_valid_token(""));
        assert!(!is_valid_token("a/b"));
        assert!(!is_valid_token("a.b"));
        assert!(!is_valid_token("a=="));
        assert!(!is_valid_token(&"a".repeat(257)));
        assert!(is_valid_token(&"a".repeat(256)));
    }

    #[test]
    fn via_loop_detection() {
        let mut h = HeaderMap::new();
        h.append(VIA, HeaderValue::from_static("1.1 nginx, 1.1 ACME-SRV"));
        assert!(has_own_via(&h, "acme-srv"));
        let mut h = HeaderMap::new();
        h.append(VIA, HeaderValue::from_static("1.1 other"));
        assert!(!has_own_via(&h, "acme-srv"));
    }

    /// hyper keeps one request future per connection, idle or not: its size is memory
    /// per connection.
    #[tokio::test]
    async fn the_request_future_stays_small() {
        fn future_size<F>(_: impl FnOnce(Request<Incoming>) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        let mut config = config::Config::default();
        config.resolver.servers = vec!["127.0.0.1:53".parse().unwrap()];
        let relay = Arc::new(Relay::from_config(&config).unwrap());
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let size = future_size(move |req| handle(relay, req, peer));
        assert!(size <= 1536, "{size} bytes");
    }
}
