//! The probes' HTTP/1.1 client: one `GET` of a challenge path on a fresh connection,
//! `Connection: close`, the answer read whole up to a small cap and parsed with
//! httparse. Small and explicit, so that a probe's failure says which phase failed.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The most of an answer read: a relay's or an ACME client's answer is far smaller.
const MAX_ANSWER: usize = 16 * 1024;

/// The User-Agent of the probes.
pub(crate) const USER_AGENT: &str = "acme-srv-check (like an ACME CA's http-01 request)";

/// An HTTP answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// Header names lowercase.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (de-chunked when chunked), lossily decoded.
    pub(crate) body: String,
}

impl Answer {
    /// The first value of `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first line of the body, trimmed and shortened for a report.
    pub(crate) fn body_line(&self) -> String {
        let line = self.body.lines().next().unwrap_or("").trim();
        let mut short: String = line.chars().take(100).collect();
        if short.len() < line.len() {
            short.push('…');
        }
        short
    }
}

/// Why no answer came.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The TCP connect failed (refused, unreachable) or timed out.
    Connect(String),
    /// Connected, but no complete answer head in time.
    Timeout,
    /// Connected, but what came back is not HTTP.
    NotHttp(String),
    /// The connection broke.
    Io(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect failed: {e}"),
            Self::Timeout => f.write_str("connected, but no answer in time"),
            Self::NotHttp(e) => write!(f, "connected, but the answer is not HTTP: {e}"),
            Self::Io(e) => write!(f, "the connection broke: {e}"),
        }
    }
}

/// `GET <path>` with `Host: <host>` to `addr`.
pub(crate) async fn get(
    addr: SocketAddr,
    host: &str,
    path: &str,
    timeout: Duration,
) -> Result<Answer, Failure> {
    let mut stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(Failure::Connect(e.to_string())),
        Err(_) => return Err(Failure::Connect(format!("timed out after {timeout:?}"))),
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    let exchange = async {
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| Failure::Io(e.to_string()))?;
        let mut bytes = Vec::with_capacity(1024);
        let mut buf = [0u8; 4096];
        loop {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| Failure::Io(e.to_string()))?;
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
            if bytes.len() >= MAX_ANSWER || complete(&bytes) {
                break;
            }
        }
        Ok(bytes)
    };
    let bytes = match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result?,
        Err(_) => return Err(Failure::Timeout),
    };
    parse(&bytes)
}

/// Whether `bytes` hold a whole answer with a Content-Length body.
pub(crate) fn complete(bytes: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head)) = response.parse(bytes) else {
        return false;
    };
    response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .is_some_and(|len| bytes.len() >= head.saturating_add(len))
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Answer, Failure> {
    if bytes.is_empty() {
        return Err(Failure::NotHttp(
            "the connection closed without an answer".into(),
        ));
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => {
            return Err(Failure::NotHttp("the answer head is incomplete".into()));
        }
        Err(e) => return Err(Failure::NotHttp(e.to_string())),
    };
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let raw = &bytes[head..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Ok(Answer {
        status: response.code.unwrap_or(0),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The data of a chunked body, as far as it is whole.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size.filter(|s| *s > 0) else {
            break;
        };
        let start = end + 2;
        let stop = start.saturating_add(size).min(raw.len());
        out.extend_from_slice(&raw[start..stop]);
        raw = raw.get(stop + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_lengths_do_not_overflow() {
        let huge = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\nx", usize::MAX);
        assert!(!complete(huge.as_bytes()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc";
        assert_eq!(parse(chunked).map(|a| a.body).ok().as_deref(), Some("abc"));
        let fine =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let answer = parse(fine).ok().map(|a| (a.status, a.body));
        assert_eq!(answer, Some((404, "abc".to_owned())));
    }
}
