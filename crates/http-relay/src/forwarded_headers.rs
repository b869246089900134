//! Header hygiene for everything the relay sends on: what a target or an app sees.
//!
//! The client's end-to-end headers go on with the original `Host`, minus hop-by-hop
//! headers (RFC 9110 §7.6.1, including those named in `Connection`) and proxy
//! credentials, plus `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` and
//! `Via`. Two forms of the same rules:
//!
//! - [`write_challenge_head`] writes the request head of a challenge straight into
//!   bytes: only what a CA sends (`Host`, `User-Agent`, `Accept`) and the forwarding
//!   headers; no body; `Connection: close` when target connections are not kept;
//! - [`forward_headers`] rewrites the request's [`HeaderMap`] in place for the
//!   `upstream` mode, which forwards bodies and keeps their framing headers.
//!
//! [`strip_hop_by_hop`] cleans what comes back.

use std::io::Write as _;
use std::net::IpAddr;

use bytes::BufMut;
use hyper::Method;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};

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

/// The same names as [`HOP_BY_HOP`], parsed once, for removing them from a map.
const HOP_BY_HOP_NAMES: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Whether `name` (lowercase) is a hop-by-hop header or proxy credentials.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
}

/// The header names listed in `headers`' `Connection` values, as raw tokens.
pub(crate) fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Removes hop-by-hop headers, including those named in `Connection`. A map without
/// any (most requests) is left alone after one pass over its names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(|name| is_hop_by_hop(name.as_str())) {
        return;
    }
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = connection_tokens(headers)
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP_NAMES {
        headers.remove(name);
    }
}

/// Turns the client's request headers into those of the forwarded request, in place;
/// `keep_body` keeps body-framing headers (for the upstream mode, which forwards bodies).
pub fn forward_headers(
    headers: &mut HeaderMap,
    inbound: &Inbound,
    via_name: &str,
    keep_body: bool,
) {
    // The new values are read from the client's headers before they are cleaned.
    let mut value = Vec::with_capacity(64);
    write_forwarded_for(&mut value, headers, inbound);
    let forwarded_for = HeaderValue::from_bytes(&value);
    let proto = HeaderValue::from_str(forwarded_proto(headers, inbound))
        .unwrap_or(HeaderValue::from_static("http"));
    value.clear();
    write_via(&mut value, headers, via_name);
    let via = HeaderValue::from_bytes(&value);

    strip_hop_by_hop(headers);
    if !keep_body {
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::EXPECT);
        headers.remove(header::CONTENT_TYPE);
    }
    headers.insert(header::HOST, inbound.host_header.clone());
    set(headers, X_FORWARDED_FOR, forwarded_for);
    headers.insert(X_FORWARDED_PROTO, proto);
    headers.insert(X_FORWARDED_HOST, inbound.host_header.clone());
    set(headers, header::VIA, via);
}

/// Appends this relay's hop to `Via`.
pub fn add_via(headers: &mut HeaderMap, via_name: &str) {
    let mut value = Vec::with_capacity(32);
    write_via(&mut value, headers, via_name);
    set(headers, header::VIA, HeaderValue::from_bytes(&value));
}

/// The client headers a challenge carries on to its target: what a CA sends, no more.
/// Anything else a requester adds (`Authorization`, `Cookie`, `X-Real-IP`, …) stays
/// with the relay.
const CHALLENGE_HEADERS: [HeaderName; 2] = [header::USER_AGENT, header::ACCEPT];

/// Writes the request head of a challenge for `inbound` to `out`: `method path
/// HTTP/1.1`, the original `Host`, the client's `User-Agent` and `Accept` (and no other
/// header of the client's), then `X-Forwarded-For`, `X-Forwarded-Proto`,
/// `X-Forwarded-Host`, `Via`, `Connection: close` unless `keep_alive`, and the empty
/// line. Allocates nothing beyond `out`.
pub fn write_challenge_head(
    out: &mut Vec<u8>,
    method: &Method,
    path: &str,
    src: &HeaderMap,
    inbound: &Inbound,
    via_name: &str,
    keep_alive: bool,
) {
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(path.as_bytes());
    out.put_slice(b" HTTP/1.1\r\nhost: ");
    out.put_slice(inbound.host_header.as_bytes());
    out.put_slice(b"\r\n");
    for name in &CHALLENGE_HEADERS {
        for value in src.get_all(name) {
            out.put_slice(name.as_str().as_bytes());
            out.put_slice(b": ");
            out.put_slice(value.as_bytes());
            out.put_slice(b"\r\n");
        }
    }
    out.put_slice(b"x-forwarded-for: ");
    write_forwarded_for(out, src, inbound);
    out.put_slice(b"\r\nx-forwarded-proto: ");
    out.put_slice(forwarded_proto(src, inbound).as_bytes());
    out.put_slice(b"\r\nx-forwarded-host: ");
    out.put_slice(inbound.host_header.as_bytes());
    out.put_slice(b"\r\nvia: ");
    write_via(out, src, via_name);
    if keep_alive {
        out.put_slice(b"\r\n\r\n");
    } else {
        out.put_slice(b"\r\nconnection: close\r\n\r\n");
    }
}

/// `X-Forwarded-For`: the chain is believed only from a trusted proxy; the peer last.
fn write_forwarded_for(out: &mut Vec<u8>, src: &HeaderMap, inbound: &Inbound) {
    if inbound.via_trusted_proxy {
        for prior in src
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            out.put_slice(prior.as_bytes());
            out.put_slice(b", ");
        }
    }
    write_ip(out, target_resolver::policy::canonical(inbound.peer.ip()));
}

/// Writes `ip` in its usual text form; IPv4 without the formatting machinery.
fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.put_u8(b'.');
                }
                if octet >= 100 {
                    out.put_u8(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.put_u8(b'0' + octet / 10 % 10);
                }
                out.put_u8(b'0' + octet % 10);
            }
        }
        // Writing to a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// `X-Forwarded-Proto`: the trusted proxy's word, else `http`.
fn forwarded_proto<'a>(src: &'a HeaderMap, inbound: &Inbound) -> &'a str {
    inbound
        .via_trusted_proxy
        .then(|| src.get(X_FORWARDED_PROTO).and_then(|v| v.to_str().ok()))
        .flatten()
        .unwrap_or("http")
}

/// `Via`: the earlier hops, then `1.1 <via_name>`.
fn write_via(out: &mut Vec<u8>, src: &HeaderMap, via_name: &str) {
    for prior in src
        .get_all(header::VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        out.put_slice(prior.as_bytes());
        out.put_slice(b", ");
    }
    out.put_slice(b"1.1 ");
    out.put_slice(via_name.as_bytes());
}

/// Sets `name` to `value`; a value that is not a valid header value (bytes a client
/// put in an earlier hop's header) leaves the header out rather than the request.
fn set<E>(headers: &mut HeaderMap, name: HeaderName, value: Result<HeaderValue, E>) {
    match value {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(trusted: bool) -> Inbound {
        Inbound {
            client: "192.0.2.1".parse().unwrap(),
            peer: "[::ffff:10.0.0.2]:4711".parse().unwrap(),
            via_trusted_proxy: trusted,
            host: "www.a.test".parse().unwrap(),
            host_header: HeaderValue::from_static("WWW.a.test"),
        }
    }

    fn head(src: &HeaderMap, trusted: bool) -> String {
        head_with(src, trusted, false)
    }

    fn head_with(src: &HeaderMap, trusted: bool, keep_alive: bool) -> String {
        let mut out = Vec::new();
        write_challenge_head(
            &mut out,
            &Method::GET,
            "/.well-known/acme-challenge/t?x=1",
            src,
            &inbound(trusted),
            "acme-srv",
            keep_alive,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn challenge_head_asks_to_close_only_when_connections_are_not_kept() {
        let src = HeaderMap::new();
        assert!(head_with(&src, false, false).ends_with("\r\nconnection: close\r\n\r\n"));
        let kept = head_with(&src, false, true);
        assert!(kept.ends_with("via: 1.1 acme-srv\r\n\r\n"), "{kept}");
        assert!(!kept.to_ascii_lowercase().contains("connection"), "{kept}");
    }

    #[test]
    fn challenge_head_keeps_end_to_end_headers_only() {
        let mut src = HeaderMap::new();
        for (n, v) in [
            ("host", "ignored.test"),
            ("user-agent", "ca"),
            ("connection", "close, X-Hop"),
            ("x-hop", "dropped"),
            ("keep-alive", "5"),
            ("proxy-authorization", "secret"),
            ("content-length", "0"),
            ("content-type", "text/plain"),
            ("expect", "100-continue"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.test"),
            ("via", "1.0 front"),
            ("accept", "*/*"),
        ] {
            src.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        assert_eq!(
            head(&src, false),
            "GET /.well-known/acme-challenge/t?x=1 HTTP/1.1\r\n\
             host: WWW.a.test\r\n\
             user-agent: ca\r\n\
             accept: */*\r\n\
             x-forwarded-for: 10.0.0.2\r\n\
             x-forwarded-proto: http\r\n\
             x-forwarded-host: WWW.a.test\r\n\
             via: 1.0 front, 1.1 acme-srv\r\n\
             connection: close\r\n\r\n"
        );
        let trusted = head(&src, true);
        assert!(
            trusted.contains("x-forwarded-for: 1.2.3.4, 10.0.0.2\r\n"),
            "{trusted}"
        );
        assert!(
            trusted.contains("x-forwarded-proto: https\r\n"),
            "{trusted}"
        );
    }

    #[test]
    fn addresses_are_written_as_text() {
        for ip in [
            "0.0.0.0",
            "10.200.3.45",
            "255.255.255.255",
            "2001:db8::1",
            "::1",
        ] {
            let mut out = Vec::new();
            write_ip(&mut out, ip.parse().unwrap());
            assert_eq!(out, ip.as_bytes());
        }
    }

    #[test]
    fn upstream_headers_follow_the_same_rules() {
        let mut src = HeaderMap::new();
        src.append("connection", HeaderValue::from_static("X-Hop"));
        src.append("x-hop", HeaderValue::from_static("dropped"));
        src.append("content-length", HeaderValue::from_static("3"));
        src.append("via", HeaderValue::from_static("1.0 front"));
        src.append("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        src.append("x-forwarded-proto", HeaderValue::from_static("https"));
        let mut h = src.clone();
        forward_headers(&mut h, &inbound(false), "acme-srv", true);
        assert!(!h.contains_key("x-hop") && !h.contains_key("connection"));
        assert_eq!(h["content-length"], "3");
        assert_eq!(h["host"], "WWW.a.test");
        // An untrusted client's forwarding headers are replaced, not extended.
        assert_eq!(h["x-forwarded-for"], "10.0.0.2");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "WWW.a.test");
        assert_eq!(h["via"], "1.0 front, 1.1 acme-srv");

        // From a trusted proxy the chain is kept, the peer appended.
        let mut h = src.clone();
        forward_headers(&mut h, &inbound(true), "acme-srv", false);
        assert_eq!(h["x-forwarded-for"], "203.0.113.9, 10.0.0.2");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert!(!h.contains_key("content-length"));
    }

    #[test]
    fn a_map_without_hop_by_hop_headers_is_left_as_it_was() {
        let mut headers = HeaderMap::new();
        headers.append("accept", HeaderValue::from_static("*/*"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let before = headers.clone();
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers, before);

        headers.append("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.append("proxy-authorization", HeaderValue::from_static("Basic x"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers, before);
    }
}
