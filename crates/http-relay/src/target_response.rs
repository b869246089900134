//! Reading a target's answer to a challenge: an HTTP/1.x response parsed with
//! `httparse` (hyper's own parser), under hard bounds.
//!
//! - The head is at most [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`] fields; it is parsed
//!   only once a blank line has arrived, so a target dripping bytes costs linear time.
//!   Informational (1xx) heads are skipped; `101 Switching Protocols` is refused.
//! - The body framing follows RFC 9112 §6.3: none for `HEAD` and 1xx/204/304; chunked
//!   when `Transfer-Encoding` ends in `chunked`, else until the target closes;
//!   `Content-Length` otherwise (a declared length over the cap is refused before
//!   reading). Both `Transfer-Encoding` and `Content-Length`, or differing lengths,
//!   are refused as ambiguous.
//! - The body is at most `max_body` bytes after de-chunking; chunk framing and trailers
//!   may add at most [`MAX_FRAMING_BYTES`]. Trailers are read and dropped.
//! - Hop-by-hop headers (and those named in `Connection`) are dropped from the head.
//!
//! One buffer holds the whole answer; header values and (when not chunked) the body are
//! slices of it, not copies. The caller owns the timeouts: [`read_head`] and
//! [`Head::read_body`] are the two phases it times separately.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use hyper::StatusCode;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::forwarded_headers::is_hop_by_hop;

/// Largest response head accepted (status line and fields).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields accepted in a response head.
pub const MAX_HEADERS: usize = 100;
/// Chunk-size lines, chunk delimiters and trailers allowed beyond the body cap.
pub const MAX_FRAMING_BYTES: usize = 8 * 1024;
/// Bytes asked for per read, at least.
const READ_CHUNK: usize = 4096;

/// What was wrong with an answer.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// Reading from the target failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// The target closed the connection before a complete response head.
    #[error("connection closed before a complete response head")]
    ClosedBeforeHead,
    /// The response head is not HTTP/1.x.
    #[error("malformed response head: {0}")]
    MalformedHead(httparse::Error),
    /// The head is larger than [`MAX_HEAD_BYTES`].
    #[error("response head larger than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    /// The head's framing cannot be trusted.
    #[error("ambiguous response framing: {0}")]
    Framing(&'static str),
    /// The body was larger than the cap.
    #[error("response body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// The body broke off or its chunked framing is broken.
    #[error("response body failed: {0}")]
    Body(&'static str),
}

impl ResponseError {
    /// Whether the failure happened before any usable response head: the relay may
    /// then try the next address.
    pub fn before_head(&self) -> bool {
        matches!(
            self,
            Self::Io(_)
                | Self::ClosedBeforeHead
                | Self::MalformedHead(_)
                | Self::HeadTooLarge
                | Self::Framing(_)
        )
    }
}

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed response head, with the bytes read so far.
#[derive(Debug)]
pub struct Head {
    /// The status code.
    pub status: StatusCode,
    /// Header fields as (name, value) byte ranges into `buf`, hop-by-hop ones dropped.
    fields: Vec<(HeaderName, Range<usize>)>,
    framing: Framing,
    /// The target lets the connection be used again (HTTP/1.1, no `Connection: close`)
    /// and the body's end is known without the target closing.
    keep_alive: bool,
    /// Everything read so far; the head ends at `head_len`.
    buf: BytesMut,
    head_len: usize,
}

/// A complete answer.
#[derive(Debug)]
pub struct TargetResponse {
    /// The status code.
    pub status: StatusCode,
    /// End-to-end header fields.
    pub headers: HeaderMap,
    /// The body (de-chunked).
    pub body: Bytes,
    /// The connection may carry another request: the target allows it and the answer
    /// ended exactly where the bytes read end.
    pub reusable: bool,
}

/// Reads and parses the response head from `io` into `buf` (which may already hold
/// bytes). `head_only` is true when the request was `HEAD`.
pub async fn read_head<R: AsyncRead + Unpin>(
    io: &mut R,
    mut buf: BytesMut,
    head_only: bool,
    max_body: usize,
) -> Result<Head, ResponseError> {
    // The first look is a plain parse (a head usually arrives in one read); after that
    // the head is parsed again only once a blank line has arrived, so a target
    // dripping bytes costs linear time, not quadratic.
    let mut first_look = true;
    // Where to resume looking for the blank line that ends the head.
    let mut scanned = 0;
    loop {
        let worth_parsing =
            !buf.is_empty() && (first_look || find_head_end(&buf, scanned).is_some());
        if worth_parsing {
            first_look = false;
            match parse_head(&buf, head_only, max_body)? {
                None => {}
                Some((end, Parsed::Informational)) => {
                    let _ = buf.split_to(end);
                    first_look = true;
                    scanned = 0;
                    continue;
                }
                Some((
                    head_len,
                    Parsed::Final {
                        status,
                        fields,
                        framing,
                        keep_alive,
                    },
                )) => {
                    return Ok(Head {
                        status,
                        fields,
                        framing,
                        keep_alive,
                        buf,
                        head_len,
                    });
                }
            }
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(ResponseError::HeadTooLarge);
        }
        scanned = buf.len().saturating_sub(3);
        buf.reserve(READ_CHUNK);
        if io.read_buf(&mut buf).await? == 0 {
            return Err(ResponseError::ClosedBeforeHead);
        }
    }
}

/// The end of the head (just past the blank line), looking from `from` on.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let limit = buf.len().min(MAX_HEAD_BYTES);
    let mut i = from;
    while i < limit {
        let nl = i + buf[i..limit].iter().position(|&b| b == b'\n')?;
        // "\n\n" or "\n\r\n" ends the head.
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

enum Parsed {
    Informational,
    Final {
        status: StatusCode,
        fields: Vec<(HeaderName, Range<usize>)>,
        framing: Framing,
        keep_alive: bool,
    },
}

/// Parses the head at the start of `buf`: its length and what it says, or `None`
/// while it is incomplete. Field ranges are offsets into `buf`.
fn parse_head(
    buf: &[u8],
    head_only: bool,
    max_body: usize,
) -> Result<Option<(usize, Parsed)>, ResponseError> {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut storage);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD_BYTES => len,
        Ok(httparse::Status::Complete(_)) => return Err(ResponseError::HeadTooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ResponseError::MalformedHead(e)),
    };
    let head = &buf[..head_len];
    let code = response.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .map_err(|_| ResponseError::MalformedHead(httparse::Error::Status))?;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(ResponseError::Framing("101 Switching Protocols"));
    }
    if status.is_informational() {
        return Ok(Some((head_len, Parsed::Informational)));
    }
    let headers = &*response.headers;
    let has_connection = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("connection"));
    let connection_names = |name: &str| {
        has_connection
            && headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("connection"))
                .filter_map(|h| std::str::from_utf8(h.value).ok())
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(name))
    };

    let mut length: Option<usize> = None;
    let mut chunked = None;
    let mut fields = Vec::with_capacity(headers.len());
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| ResponseError::MalformedHead(httparse::Error::HeaderName))?;
        if name == hyper::header::CONTENT_LENGTH {
            for part in h.value.split(|&b| b == b',') {
                let n = parse_length(part)
                    .ok_or(ResponseError::MalformedHead(httparse::Error::HeaderValue))?;
                if length.is_some_and(|l| l != n) {
                    return Err(ResponseError::Framing("differing Content-Length values"));
                }
                length = Some(n);
            }
        } else if name == hyper::header::TRANSFER_ENCODING {
            // The last coding of the last field decides.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
        if is_hop_by_hop(name.as_str()) || connection_names(name.as_str()) {
            continue;
        }
        let start = h.value.as_ptr() as usize - head.as_ptr() as usize;
        fields.push((name, start..start + h.value.len()));
    }

    let no_body =
        head_only || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let framing = match (chunked, length) {
        (Some(_), Some(_)) => {
            return Err(ResponseError::Framing(
                "both Transfer-Encoding and Content-Length",
            ));
        }
        _ if no_body => Framing::None,
        (Some(true), None) => Framing::Chunked,
        (Some(false), None) | (None, None) => Framing::UntilClose,
        (None, Some(n)) if n > max_body => return Err(ResponseError::BodyTooLarge(max_body)),
        (None, Some(n)) => Framing::Length(n),
    };
    // HTTP/1.1 is persistent unless `Connection: close` (RFC 9112 §9.3); an HTTP/1.0
    // target is not kept, even with `keep-alive`.
    let keep_alive =
        response.version == Some(1) && !connection_names("close") && framing != Framing::UntilClose;
    Ok(Some((
        head_len,
        Parsed::Final {
            status,
            fields,
            framing,
            keep_alive,
        },
    )))
}

/// `1*DIGIT`, optionally surrounded by whitespace; `None` if invalid or absurd.
fn parse_length(bytes: &[u8]) -> Option<usize> {
    let digits = bytes.trim_ascii();
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0usize, |n, d| {
        n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}

impl Head {
    /// Reads the body from `io` (the rest of the answer) and returns the whole answer.
    pub async fn read_body<R: AsyncRead + Unpin>(
        self,
        io: &mut R,
        max_body: usize,
    ) -> Result<TargetResponse, ResponseError> {
        let Head {
            status,
            fields,
            framing,
            keep_alive,
            mut buf,
            head_len,
        } = self;
        // Where the answer ends in `buf`; bytes after it (a target that sent more than
        // it framed) make the connection unusable.
        let end;
        let (all, body) = match framing {
            Framing::None => {
                end = head_len;
                (buf.freeze(), Bytes::new())
            }
            Framing::Length(n) => {
                while buf.len() - head_len < n {
                    buf.reserve((n - (buf.len() - head_len)).min(READ_CHUNK));
                    if io.read_buf(&mut buf).await? == 0 {
                        return Err(ResponseError::Body(
                            "connection closed before the end of the body",
                        ));
                    }
                }
                end = head_len + n;
                let all = buf.freeze();
                let body = all.slice(head_len..head_len + n);
                (all, body)
            }
            Framing::UntilClose => {
                loop {
                    if buf.len() - head_len > max_body {
                        return Err(ResponseError::BodyTooLarge(max_body));
                    }
                    buf.reserve(READ_CHUNK);
                    if io.read_buf(&mut buf).await? == 0 {
                        break;
                    }
                }
                end = buf.len();
                let all = buf.freeze();
                let body = all.slice(head_len..);
                (all, body)
            }
            Framing::Chunked => {
                let (body, chunked_end) = read_chunked(io, &mut buf, head_len, max_body).await?;
                end = chunked_end;
                (buf.freeze(), body)
            }
        };
        let reusable = keep_alive && end == all.len();
        let mut headers = HeaderMap::with_capacity(fields.len());
        for (name, range) in fields {
            let value = HeaderValue::from_maybe_shared(all.slice(range))
                .map_err(|_| ResponseError::MalformedHead(httparse::Error::HeaderValue))?;
            headers.append(name, value);
        }
        Ok(TargetResponse {
            status,
            headers,
            body,
            reusable,
        })
    }
}

/// Decodes a chunked body that starts at `start` in `buf`, reading more as needed.
/// Returns the body and where the chunked message (with its trailers) ends in `buf`.
async fn read_chunked<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    start: usize,
    max_body: usize,
) -> Result<(Bytes, usize), ResponseError> {
    let mut body = BytesMut::new();
    let mut pos = start;
    let raw_limit = start + max_body + MAX_FRAMING_BYTES;
    // Reads more into `buf`, within the raw limit.
    macro_rules! read_more {
        () => {{
            if buf.len() >= raw_limit {
                return Err(ResponseError::BodyTooLarge(max_body));
            }
            buf.reserve(READ_CHUNK);
            if io.read_buf(buf).await? == 0 {
                return Err(ResponseError::Body(
                    "connection closed inside the chunked body",
                ));
            }
        }};
    }
    loop {
        let (consumed, size) = match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => {
                read_more!();
                continue;
            }
            Err(_) => return Err(ResponseError::Body("bad chunk size")),
        };
        if size == 0 {
            pos += consumed;
            break;
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > max_body - body.len() {
            return Err(ResponseError::BodyTooLarge(max_body));
        }
        let data = pos + consumed;
        while buf.len() < data + size + 2 {
            read_more!();
        }
        if &buf[data + size..data + size + 2] != b"\r\n" {
            return Err(ResponseError::Body("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&buf[data..data + size]);
        pos = data + size + 2;
    }
    // Trailer fields, then the blank line; read and dropped.
    loop {
        let mut trailers = [httparse::EMPTY_HEADER; 16];
        match httparse::parse_headers(&buf[pos..], &mut trailers) {
            Ok(httparse::Status::Complete((len, _))) => return Ok((body.freeze(), pos + len)),
            Ok(httparse::Status::Partial) => read_more!(),
            Err(_) => return Err(ResponseError::Body("bad trailer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(
        bytes: &[u8],
        head_only: bool,
        max: usize,
    ) -> Result<TargetResponse, ResponseError> {
        let mut io = bytes;
        let head = read_head(&mut io, BytesMut::new(), head_only, max).await?;
        head.read_body(&mut io, max).await
    }

    #[tokio::test]
    async fn content_length_body() {
        let r = read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\nConnection: close, X-Gone\r\nX-Gone: 1\r\nKeep-Alive: 5\r\n\r\nabcEXTRA",
            false,
            1024,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"abc");
        assert_eq!(r.headers["x-a"], "b");
        assert_eq!(r.headers["content-length"], "3");
        for gone in ["connection", "x-gone", "keep-alive"] {
            assert!(!r.headers.contains_key(gone), "{gone}");
        }
    }

    #[tokio::test]
    async fn reuse_only_when_the_target_allows_it_and_the_answer_ends_cleanly() {
        let reusable = |msg: &'static [u8], head_only: bool| async move {
            read(msg, head_only, 1024).await.unwrap().reusable
        };
        // HTTP/1.1 with its end known: kept.
        assert!(reusable(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", false).await);
        assert!(
            reusable(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                false
            )
            .await
        );
        assert!(reusable(b"HTTP/1.1 204 No Content\r\n\r\n", false).await);
        assert!(reusable(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", true).await);
        // The target says close, speaks HTTP/1.0, or ends the body by closing: not kept.
        assert!(
            !reusable(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
                false
            )
            .await
        );
        assert!(
            !reusable(
                b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
                false
            )
            .await
        );
        assert!(!reusable(b"HTTP/1.1 200 OK\r\n\r\nabc", false).await);
        // Bytes after the framed end would be read as the next answer: not kept.
        assert!(
            !reusable(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA",
                false
            )
            .await
        );
        assert!(
            !reusable(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1",
                false
            )
            .await
        );
    }

    #[tokio::test]
    async fn chunked_body_is_decoded_and_trailers_dropped() {
        let r = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
            false,
            1024,
        )
        .await
        .unwrap();
        assert_eq!(&r.body[..], b"abcde");
        assert!(!r.headers.contains_key("transfer-encoding"));
    }

    #[tokio::test]
    async fn chunked_body_over_the_cap_is_refused() {
        let mut msg = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..5 {
            msg.extend_from_slice(b"3\r\nabc\r\n");
        }
        msg.extend_from_slice(b"0\r\n\r\n");
        assert!(read(&msg, false, 15).await.is_ok());
        assert!(matches!(
            read(&msg, false, 14).await,
            Err(ResponseError::BodyTooLarge(14))
        ));
        // Framing alone cannot grow the buffer without bound either.
        let mut ext = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..2000 {
            ext.extend_from_slice(b"1;aaaaaaaa\r\na\r\n");
        }
        assert!(matches!(
            read(&ext, false, 4096).await,
            Err(ResponseError::BodyTooLarge(4096))
        ));
    }

    #[tokio::test]
    async fn broken_chunks_are_errors() {
        for msg in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
        ] {
            assert!(matches!(
                read(msg, false, 1024).await,
                Err(ResponseError::Body(_))
            ));
        }
    }

    #[tokio::test]
    async fn close_delimited_body_and_its_cap() {
        let r = read(b"HTTP/1.0 200 OK\r\n\r\nhello", false, 5)
            .await
            .unwrap();
        assert_eq!(&r.body[..], b"hello");
        assert!(matches!(
            read(b"HTTP/1.0 200 OK\r\n\r\nhello!", false, 5).await,
            Err(ResponseError::BodyTooLarge(5))
        ));
    }

    #[tokio::test]
    async fn declared_length_over_the_cap_is_refused_before_reading() {
        assert!(matches!(
            read(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n",
                false,
                1024
            )
            .await,
            Err(ResponseError::BodyTooLarge(1024))
        ));
    }

    #[tokio::test]
    async fn head_and_no_content_have_no_body() {
        let r = read(b"HTTP/1.1 200 OK\r\nContent-Length: 87\r\n\r\n", true, 1024)
            .await
            .unwrap();
        assert!(r.body.is_empty());
        assert_eq!(r.headers["content-length"], "87");
        let r = read(b"HTTP/1.1 204 No Content\r\n\r\n", false, 1024)
            .await
            .unwrap();
        assert_eq!(r.status, 204);
    }

    #[tokio::test]
    async fn informational_heads_are_skipped_and_101_refused() {
        let r = read(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            false,
            1024,
        )
        .await
        .unwrap();
        assert_eq!((r.status.as_u16(), &r.body[..]), (200, &b"ok"[..]));
        assert!(matches!(
            read(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
                false,
                1024
            )
            .await,
            Err(ResponseError::Framing(_))
        ));
    }

    #[tokio::test]
    async fn ambiguous_or_malformed_heads_are_refused() {
        for (msg, framing) in [
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
                true,
            ),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n", false),
            (b"SSH-2.0-OpenSSH\r\n\r\n", false),
            (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false),
        ] {
            let e = read(msg, false, 1024).await.unwrap_err();
            assert!(e.before_head(), "{e}");
            assert_eq!(matches!(e, ResponseError::Framing(_)), framing, "{e}");
        }
        // Repeated equal lengths are fine.
        let r = read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
            false,
            1024,
        )
        .await
        .unwrap();
        assert_eq!(&r.body[..], b"ok");
    }

    #[tokio::test]
    async fn heads_that_never_end_are_bounded() {
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nX: y\r\n", false, 1024).await,
            Err(ResponseError::ClosedBeforeHead)
        ));
        let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
        while big.len() < MAX_HEAD_BYTES + 10 {
            big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert!(matches!(
            read(&big, false, 1024).await,
            Err(ResponseError::HeadTooLarge)
        ));
    }

    #[tokio::test]
    async fn a_body_cut_short_is_an_error() {
        assert!(matches!(
            read(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
                false,
                1024
            )
            .await,
            Err(ResponseError::Body(_))
        ));
    }

    #[test]
    fn head_end_is_found_across_reads() {
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n\r\nx", 0), Some(19));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\n\nx", 0), Some(17));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n", 0), None);
        let msg = b"HTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(find_head_end(msg, msg.len() - 3 - 1), Some(19));
    }
}
