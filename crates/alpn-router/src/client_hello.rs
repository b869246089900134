//! Reads a TLS ClientHello from the first bytes of a connection, without terminating TLS:
//! the server name (SNI, RFC 6066) and the ALPN protocols (RFC 7301) the router routes by.
//!
//! [`peek`] is called with every byte received so far, after each read, and says
//! [`Peek::NeedMore`], [`Peek::NotTls`] or [`Peek::Found`]. It re-reads from the first
//! byte each time: the record headers are walked without copying or allocating, and the
//! hello itself is parsed once, when its last byte has arrived; only [`Peek::Found`]
//! allocates (the name and the protocols it returns).
//!
//! Decisions (what the router can rely on):
//!
//! - **Records.** The handshake message is reassembled from consecutive handshake records
//!   (content type 22) of any size from 1 byte of payload to 2^14 (RFC 8446 §5.1); a
//!   record of length 0 or over 2^14 is not TLS, nor is a record of another content type
//!   before the hello is complete. The record version must be 3.0 to 3.3 (`0x0300` to
//!   `0x0303`): TLS clients send `0x0301` or `0x0303`, and `0x0300` (SSL 3.0's record
//!   layer) is accepted so that the backend, not the router, refuses an old client.
//! - **At once.** Every byte is checked as soon as it arrives: a first byte that is not
//!   22 (the `G` of an HTTP `GET`, an SSL 2.0 header) is [`NotTls`] with one byte read.
//!   [`Peek::NeedMore`] means the bytes so far are a valid prefix of a hello that fits
//!   the bound.
//! - **Bounded.** The records the hello needs may not end beyond
//!   [`MAX_CLIENT_HELLO_BYTES`]: this is decided from the headers alone, as soon as a
//!   record length or the handshake length says so ([`NotTls::TooLarge`]), without waiting
//!   for the bytes. So `NeedMore` is only ever returned for fewer than
//!   `MAX_CLIENT_HELLO_BYTES` bytes, and a caller that has read that many gets a verdict.
//! - **Nothing after the hello in its records.** The ClientHello is the client's only
//!   handshake message before the server answers, and RFC 8446 §5.1 requires the message
//!   before a key change to end its record: handshake bytes after the hello, in the
//!   record that ends it, are [`NotTls::DataAfterHello`]. Bytes after that record (early
//!   data, a client that does not wait) are not looked at.
//! - **Strict structure, lenient content.** Every length in the hello must be consistent
//!   (session id at most 32 bytes, cipher suites an even non-zero length, at least one
//!   compression method, the extensions block exactly filling the rest of the message,
//!   no extension type twice (RFC 8446 §4.2)), else [`NotTls`]: a backend would refuse
//!   the hello too. The `legacy_version` must have major byte 3 (any minor, the version
//!   tolerance of RFC 8446 Appendix D). Extensions other than SNI and ALPN are not
//!   looked into. A hello without extensions (very old clients) has no name and no ALPN.
//! - **server_name.** The list must be well formed and non-empty; the `host_name`
//!   (type 0) entry must be non-empty and appear once; entries of other name types are
//!   skipped (as a 16-bit length-prefixed name). A host name that is not a DNS name
//!   (letters, digits, `-` and `_` in dot-separated labels of 1 to 63 bytes, at most 253
//!   bytes without the one trailing dot allowed) or an IPv6 address gives
//!   `server_name: None` rather than [`NotTls`]: the hello is still TLS, and routing
//!   treats it as a hello without a name. An IPv4 literal is a valid name here and is
//!   returned as is (routing decides). The name is returned lowercased, without the
//!   trailing dot. With ECH (encrypted_client_hello), this is the outer, public name.
//! - **ALPN.** The protocol list must be well formed and non-empty, each name 1 to 255
//!   bytes, else [`NotTls`].

use std::net::Ipv6Addr;

/// Most bytes the router reads before deciding: the ClientHello in all its TLS records,
/// record headers included.
///
/// 16 KiB: HAProxy's default buffer (`tune.bufsize`), which the hellos of every client
/// in use fit, and one maximal TLS record. Typical hellos are 250 to 600 bytes; those
/// with a post-quantum key share (X25519MLKEM768, 1216 bytes) are about 1.8 to 2 KiB;
/// a large session ticket or several PSK identities add a few KiB at most.
pub const MAX_CLIENT_HELLO_BYTES: usize = 16 * 1024;

/// The content type of handshake records.
const HANDSHAKE: u8 = 22;
/// The handshake message type of a ClientHello.
const CLIENT_HELLO: u8 = 1;
/// Bytes of a record header: content type, version (2), length (2).
const RECORD_HEADER: usize = 5;
/// Bytes of a handshake message header: type, length (3).
const HANDSHAKE_HEADER: usize = 4;
/// Most payload bytes of a plaintext record (RFC 8446 §5.1).
const MAX_RECORD_PAYLOAD: usize = 1 << 14;
/// Longest legacy_session_id.
const MAX_SESSION_ID: usize = 32;
/// Bytes of the ClientHello's random.
const RANDOM: usize = 32;
/// The server_name extension (RFC 6066).
const EXT_SERVER_NAME: u16 = 0;
/// The application_layer_protocol_negotiation extension (RFC 7301).
const EXT_ALPN: u16 = 16;
/// The host_name name type in a server_name list.
const HOST_NAME: u8 = 0;
/// Longest host name, without a trailing dot.
const MAX_HOST_NAME: usize = 253;
/// Longest label of a host name.
const MAX_LABEL: usize = 63;

/// What the bytes read so far say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peek {
    /// Not enough bytes yet: read more (the caller bounds time and
    /// [`MAX_CLIENT_HELLO_BYTES`]; this is never the answer for that many bytes).
    NeedMore,
    /// Not a TLS ClientHello (or a malformed one): the reason, for a log line.
    NotTls(NotTls),
    /// A complete ClientHello.
    Found(ClientHello),
}

/// Why the bytes are not a TLS ClientHello the router can route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotTls {
    /// The first byte is not a handshake record's content type (22).
    #[error("the first byte {0:#04x} is not a TLS handshake record")]
    NotHandshake(u8),
    /// The first byte has its high bit set: an SSL 2.0 record header, not TLS.
    #[error("the first byte {0:#04x} is an SSL 2.0 record header")]
    Sslv2(u8),
    /// A record's major version byte is not 3.
    #[error("record major version {0} is not TLS (3)")]
    RecordMajorVersion(u8),
    /// A record's minor version byte is over 3 (TLS 1.2's record version `0x0303`).
    #[error("record version 3.{0} is not SSL 3.0 to TLS 1.2")]
    RecordMinorVersion(u8),
    /// A handshake record with no payload (RFC 8446 §5.1).
    #[error("an empty handshake record")]
    EmptyRecord,
    /// A record longer than 2^14 bytes (RFC 8446 §5.1).
    #[error("a record of {0} bytes, over 2^14")]
    RecordOverflow(usize),
    /// A record of another content type before the ClientHello was complete.
    #[error("a record of content type {0} before the ClientHello was complete")]
    Interleaved(u8),
    /// The handshake message is not a ClientHello.
    #[error("handshake message type {0} is not a ClientHello (1)")]
    NotClientHello(u8),
    /// The hello's records would end beyond [`MAX_CLIENT_HELLO_BYTES`].
    #[error("the ClientHello needs more than {MAX_CLIENT_HELLO_BYTES} bytes of records")]
    TooLarge,
    /// Handshake bytes follow the ClientHello in the record that ends it.
    #[error("handshake data after the ClientHello in its last record")]
    DataAfterHello,
    /// The ClientHello's legacy_version is not 3.x.
    #[error("ClientHello version {0:#06x} is not TLS")]
    BadVersion(u16),
    /// A field of the ClientHello has a wrong or inconsistent length.
    #[error("malformed ClientHello: bad {0}")]
    Malformed(&'static str),
    /// An extension type appears twice (RFC 8446 §4.2).
    #[error("extension {0} appears twice")]
    DuplicateExtension(u16),
    /// The server_name extension is malformed.
    #[error("malformed server_name extension: {0}")]
    BadServerName(&'static str),
    /// The ALPN extension is malformed.
    #[error("malformed ALPN extension: {0}")]
    BadAlpn(&'static str),
}

/// What the router needs from a complete ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The host_name from server_name (RFC 6066), lowercased ASCII, without a trailing
    /// dot; `None` if absent or not a DNS name (nor an IPv6 address).
    pub server_name: Option<String>,
    /// Protocols offered in ALPN (RFC 7301), in the client's order; empty if no extension.
    pub alpn: Vec<Vec<u8>>,
    /// Bytes of TLS records that the ClientHello occupied, from the connection's first
    /// byte (the caller replays everything it read anyway).
    pub record_bytes: usize,
}

impl ClientHello {
    /// Whether ALPN offers `protocol` and nothing else (as a tls-alpn-01 validation
    /// does, RFC 8737 §3): every name in the list is `protocol`. False without ALPN.
    pub fn offers_only(&self, protocol: &[u8]) -> bool {
        !self.alpn.is_empty() && self.alpn.iter().all(|offered| offered == protocol)
    }
}

/// Reads what `buf` (every byte received so far, from the connection's first byte) says.
pub fn peek(buf: &[u8]) -> Peek {
    match frame(buf) {
        Ok(None) => Peek::NeedMore,
        Ok(Some(framing)) => match parse(buf, framing) {
            Ok(hello) => Peek::Found(hello),
            Err(reason) => Peek::NotTls(reason),
        },
        Err(reason) => Peek::NotTls(reason),
    }
}

/// Where a complete ClientHello lies in the buffer.
#[derive(Debug, Clone, Copy)]
struct Framing {
    /// Bytes of the records it occupies, from the first byte.
    record_bytes: usize,
    /// Bytes of the handshake message, its header included.
    message_len: usize,
}

/// Walks the record headers: the framing of a complete hello, `None` while the bytes so
/// far are a valid prefix, or why they are not TLS.
///
/// Each turn of the loop consumes a record of at least 6 bytes, all below the bound.
fn frame(buf: &[u8]) -> Result<Option<Framing>, NotTls> {
    // Where the current record starts.
    let mut pos = 0;
    // Handshake bytes in the records before the current one.
    let mut have = 0;
    // The handshake header, as far as it has arrived.
    let mut header = [0u8; HANDSHAKE_HEADER];
    // The whole message's length, once its header is complete.
    let mut total: Option<usize> = None;
    loop {
        let rest = match total {
            Some(total) if have >= total => {
                return Ok(Some(Framing {
                    record_bytes: pos,
                    message_len: total,
                }));
            }
            Some(total) => total - have,
            None => HANDSHAKE_HEADER.saturating_sub(have),
        };
        // The rest needs one more record at least.
        if pos + RECORD_HEADER + rest > MAX_CLIENT_HELLO_BYTES {
            return Err(NotTls::TooLarge);
        }

        let Some(&content_type) = buf.get(pos) else {
            return Ok(None);
        };
        if content_type != HANDSHAKE {
            return Err(if pos > 0 {
                NotTls::Interleaved(content_type)
            } else if content_type & 0x80 != 0 {
                NotTls::Sslv2(content_type)
            } else {
                NotTls::NotHandshake(content_type)
            });
        }
        let Some(&major) = buf.get(pos + 1) else {
            return Ok(None);
        };
        if major != 3 {
            return Err(NotTls::RecordMajorVersion(major));
        }
        let Some(&minor) = buf.get(pos + 2) else {
            return Ok(None);
        };
        if minor > 3 {
            return Err(NotTls::RecordMinorVersion(minor));
        }
        let (Some(&high), Some(&low)) = (buf.get(pos + 3), buf.get(pos + 4)) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([high, low]));
        if len == 0 {
            return Err(NotTls::EmptyRecord);
        }
        if len > MAX_RECORD_PAYLOAD {
            return Err(NotTls::RecordOverflow(len));
        }
        if total.is_some() && len > rest {
            return Err(NotTls::DataAfterHello);
        }
        let start = pos + RECORD_HEADER;
        let end = start + len;
        // A hello cannot end inside a record: it ends at `end` or later.
        if end > MAX_CLIENT_HELLO_BYTES {
            return Err(NotTls::TooLarge);
        }
        let payload = buf.get(start..end.min(buf.len())).unwrap_or_default();

        if total.is_none() {
            let mut filled = have;
            for &byte in payload {
                let Some(slot) = header.get_mut(filled) else {
                    break;
                };
                *slot = byte;
                filled += 1;
                if filled == 1 && byte != CLIENT_HELLO {
                    return Err(NotTls::NotClientHello(byte));
                }
            }
            if filled == HANDSHAKE_HEADER {
                let [_, a, b, c] = header;
                let message_len = HANDSHAKE_HEADER
                    + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
                let rest = message_len.saturating_sub(have);
                if len > rest {
                    return Err(NotTls::DataAfterHello);
                }
                if pos + RECORD_HEADER + rest > MAX_CLIENT_HELLO_BYTES {
                    return Err(NotTls::TooLarge);
                }
                total = Some(message_len);
            }
        }

        if payload.len() < len {
            return Ok(None);
        }
        have += len;
        pos = end;
    }
}

/// Parses the complete ClientHello that `framing` locates in `buf`.
///
/// Validates everything first, keeping only where the host name and the ALPN list are,
/// then allocates the answer.
fn parse(buf: &[u8], framing: Framing) -> Result<ClientHello, NotTls> {
    let records = buf
        .get(..framing.record_bytes)
        .ok_or(NotTls::Malformed("framing"))?;
    let mut hello = Reader::new(records, framing.message_len);
    hello
        .skip(HANDSHAKE_HEADER)
        .ok_or(NotTls::Malformed("handshake header"))?;

    let version = hello.u16().ok_or(NotTls::Malformed("legacy_version"))?;
    if version >> 8 != 3 {
        return Err(NotTls::BadVersion(version));
    }
    hello.skip(RANDOM).ok_or(NotTls::Malformed("random"))?;
    let session_id = hello
        .u8_prefixed()
        .ok_or(NotTls::Malformed("legacy_session_id"))?;
    if session_id.len() > MAX_SESSION_ID {
        return Err(NotTls::Malformed("legacy_session_id"));
    }
    let suites = hello
        .u16_prefixed()
        .ok_or(NotTls::Malformed("cipher_suites"))?;
    if suites.is_empty() || suites.len() % 2 != 0 {
        return Err(NotTls::Malformed("cipher_suites"));
    }
    let compression = hello
        .u8_prefixed()
        .ok_or(NotTls::Malformed("legacy_compression_methods"))?;
    if compression.is_empty() {
        return Err(NotTls::Malformed("legacy_compression_methods"));
    }

    let mut host_name = None;
    let mut alpn = None;
    if !hello.is_empty() {
        let mut extensions = hello
            .u16_prefixed()
            .ok_or(NotTls::Malformed("extensions length"))?;
        if !hello.is_empty() {
            return Err(NotTls::Malformed("extensions length"));
        }
        // One bit per extension type.
        let mut seen = [0u64; 1 << 10];
        while !extensions.is_empty() {
            let kind = extensions.u16().ok_or(NotTls::Malformed("extension"))?;
            let data = extensions
                .u16_prefixed()
                .ok_or(NotTls::Malformed("extension"))?;
            let bit = 1u64 << (kind & 63);
            if let Some(word) = seen.get_mut(usize::from(kind >> 6)) {
                if *word & bit != 0 {
                    return Err(NotTls::DuplicateExtension(kind));
                }
                *word |= bit;
            }
            match kind {
                EXT_SERVER_NAME => host_name = server_name(data)?,
                EXT_ALPN => alpn = Some(protocols(data)?),
                _ => {}
            }
        }
    }

    Ok(ClientHello {
        server_name: host_name.and_then(dns_name),
        alpn: alpn.map(collect_protocols).unwrap_or_default(),
        record_bytes: framing.record_bytes,
    })
}

/// Checks a server_name extension: the host_name it holds, if any.
fn server_name(mut data: Reader<'_>) -> Result<Option<Reader<'_>>, NotTls> {
    let mut list = data
        .u16_prefixed()
        .ok_or(NotTls::BadServerName("list length"))?;
    if !data.is_empty() {
        return Err(NotTls::BadServerName("list length"));
    }
    if list.is_empty() {
        return Err(NotTls::BadServerName("empty list"));
    }
    let mut host_name = None;
    while !list.is_empty() {
        let name_type = list.u8().ok_or(NotTls::BadServerName("entry"))?;
        let name = list
            .u16_prefixed()
            .ok_or(NotTls::BadServerName("entry length"))?;
        if name_type == HOST_NAME {
            if name.is_empty() {
                return Err(NotTls::BadServerName("empty host_name"));
            }
            if host_name.is_some() {
                return Err(NotTls::BadServerName("two host_name entries"));
            }
            host_name = Some(name);
        }
    }
    Ok(host_name)
}

/// The host name as returned: lowercased, without its trailing dot; `None` unless it is
/// a DNS name or an IPv6 address.
fn dns_name(name: Reader<'_>) -> Option<String> {
    let mut bytes = [0u8; MAX_HOST_NAME + 1];
    let len = name.len();
    if len > bytes.len() {
        return None;
    }
    for (slot, byte) in bytes.iter_mut().zip(name.bytes()) {
        *slot = byte;
    }
    let name = bytes.get(..len)?;
    let name = name.strip_suffix(b".").unwrap_or(name);
    if !is_dns_name(name) && !is_ipv6(name) {
        return None;
    }
    Some(
        name.iter()
            .map(|byte| char::from(byte.to_ascii_lowercase()))
            .collect(),
    )
}

/// Letters, digits, `-` and `_` in dot-separated labels of 1 to 63 bytes, 253 in all.
fn is_dns_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HOST_NAME
        && name.split(|&byte| byte == b'.').all(|label| {
            (1..=MAX_LABEL).contains(&label.len())
                && label
                    .iter()
                    .all(|&byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
}

/// An IPv6 address literal (not allowed in SNI, but some clients send one).
fn is_ipv6(name: &[u8]) -> bool {
    std::str::from_utf8(name).is_ok_and(|text| text.parse::<Ipv6Addr>().is_ok())
}

/// Checks an ALPN extension: its protocol name list.
fn protocols(mut data: Reader<'_>) -> Result<Reader<'_>, NotTls> {
    let mut list = data.u16_prefixed().ok_or(NotTls::BadAlpn("list length"))?;
    if !data.is_empty() {
        return Err(NotTls::BadAlpn("list length"));
    }
    if list.is_empty() {
        return Err(NotTls::BadAlpn("empty list"));
    }
    let names = list.clone();
    while !list.is_empty() {
        let name = list.u8_prefixed().ok_or(NotTls::BadAlpn("name length"))?;
        if name.is_empty() {
            return Err(NotTls::BadAlpn("empty name"));
        }
    }
    Ok(names)
}

/// The names of a checked protocol name list.
fn collect_protocols(mut list: Reader<'_>) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    while let Some(name) = list.u8_prefixed() {
        let mut bytes = Vec::with_capacity(name.len());
        bytes.extend(name.bytes());
        names.push(bytes);
    }
    names
}

/// Reads a handshake message in place, across the records it spans: a window of `left`
/// bytes starting `in_record` bytes before the end of the current record's payload (at
/// `pos`); past it, the next record's header is skipped. The records have been checked
/// by [`frame`]; every access is checked anyway, and a read past the window or the
/// buffer is `None`.
#[derive(Debug, Clone)]
struct Reader<'a> {
    /// The records.
    buf: &'a [u8],
    /// The next byte to read (or the next record's header, when `in_record` is 0).
    pos: usize,
    /// Payload bytes left in the current record.
    in_record: usize,
    /// Bytes left in this window.
    left: usize,
}

impl<'a> Reader<'a> {
    /// A window of `len` bytes over the payloads of the records in `records`.
    fn new(records: &'a [u8], len: usize) -> Self {
        Reader {
            buf: records,
            pos: 0,
            in_record: 0,
            left: len,
        }
    }

    /// Bytes left in the window.
    fn len(&self) -> usize {
        self.left
    }

    /// Whether the window is read to its end.
    fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// Moves past record headers until a payload byte is next.
    fn next_record(&mut self) -> Option<()> {
        // Each turn moves past a header: at most one per 5 bytes of the buffer.
        while self.in_record == 0 {
            let header = self
                .buf
                .get(self.pos..self.pos.checked_add(RECORD_HEADER)?)?;
            let &[_, _, _, high, low] = header else {
                return None;
            };
            self.in_record = usize::from(u16::from_be_bytes([high, low]));
            self.pos += RECORD_HEADER;
        }
        Some(())
    }

    /// Skips `n` bytes.
    fn skip(&mut self, n: usize) -> Option<()> {
        if n > self.left {
            return None;
        }
        let mut n = n;
        while n > 0 {
            self.next_record()?;
            let step = n.min(self.in_record);
            let next = self.pos.checked_add(step)?;
            if next > self.buf.len() {
                return None;
            }
            self.pos = next;
            self.in_record -= step;
            self.left -= step;
            n -= step;
        }
        Some(())
    }

    /// Reads a byte.
    fn u8(&mut self) -> Option<u8> {
        if self.left == 0 {
            return None;
        }
        self.next_record()?;
        let byte = *self.buf.get(self.pos)?;
        self.pos += 1;
        self.in_record -= 1;
        self.left -= 1;
        Some(byte)
    }

    /// Reads a big-endian 16-bit number.
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    /// The next `n` bytes as a window of their own, skipped here.
    fn take(&mut self, n: usize) -> Option<Reader<'a>> {
        let mut part = self.clone();
        self.skip(n)?;
        part.left = n;
        Some(part)
    }

    /// A vector with an 8-bit length.
    fn u8_prefixed(&mut self) -> Option<Reader<'a>> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    /// A vector with a 16-bit length.
    fn u16_prefixed(&mut self) -> Option<Reader<'a>> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// The window's bytes.
    fn bytes(mut self) -> impl Iterator<Item = u8> + 'a {
        std::iter::from_fn(move || self.u8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `payload` framed in handshake records of the given sizes (the last takes the rest).
    fn records(payload: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = payload;
        let mut sizes = sizes.iter();
        while !rest.is_empty() {
            let size = sizes.next().copied().unwrap_or(rest.len()).min(rest.len());
            let (fragment, tail) = rest.split_at(size);
            out.extend_from_slice(&[22, 3, 3]);
            out.extend_from_slice(&u16::try_from(size).expect("small").to_be_bytes());
            out.extend_from_slice(fragment);
            rest = tail;
        }
        out
    }

    #[test]
    fn client_hello_reader_reads_across_records() {
        let payload: Vec<u8> = (0..20).collect();
        for sizes in [&[20][..], &[1; 20], &[3, 1, 7, 2, 5, 2], &[19, 1]] {
            let buf = records(&payload, sizes);
            let mut reader = Reader::new(&buf, payload.len());
            assert_eq!(reader.u8(), Some(0));
            assert_eq!(reader.u16(), Some(0x0102));
            assert_eq!(reader.skip(2), Some(()));
            let part = reader.take(4).expect("4 bytes");
            assert_eq!(part.len(), 4);
            assert_eq!(part.bytes().collect::<Vec<_>>(), [5, 6, 7, 8]);
            // Byte 9 is a length: 9 bytes follow.
            let prefixed = reader.u8_prefixed().expect("a vector");
            assert_eq!(
                prefixed.bytes().collect::<Vec<_>>(),
                (10..19).collect::<Vec<_>>()
            );
            assert_eq!(reader.len(), 1);
            assert_eq!(reader.skip(2), None, "past the window");
            assert_eq!(reader.skip(1), Some(()));
            assert!(reader.is_empty());
            assert_eq!(reader.u8(), None);
        }
    }

    #[test]
    fn client_hello_reader_stops_at_the_buffer_end() {
        let payload: Vec<u8> = (0..10).collect();
        let buf = records(&payload, &[4, 6]);
        // A window longer than the records: reads end where the buffer does.
        let mut reader = Reader::new(&buf, 100);
        assert_eq!(reader.skip(10), Some(()));
        assert_eq!(reader.u8(), None);
        let mut reader = Reader::new(&buf, 100);
        assert_eq!(reader.skip(11), None);
        let mut reader = Reader::new(buf.get(..7).expect("7 bytes"), 100);
        assert_eq!(reader.u16(), Some(0x0001));
        assert_eq!(reader.skip(3), None);
    }

    #[test]
    fn client_hello_host_names() {
        let check = |name: &[u8]| {
            let mut data = u16::try_from(name.len())
                .expect("short")
                .to_be_bytes()
                .to_vec();
            data.extend_from_slice(name);
            let buf = records(&data, &[]);
            let mut reader = Reader::new(&buf, data.len());
            let name = reader.u16_prefixed().expect("the name");
            dns_name(name)
        };
        assert_eq!(check(b"Example.COM."), Some("example.com".to_owned()));
        assert_eq!(
            check(b"_acme-challenge.a-b.test"),
            Some("_acme-challenge.a-b.test".to_owned())
        );
        assert_eq!(check(b"192.0.2.1"), Some("192.0.2.1".to_owned()));
        assert_eq!(check(b"2001:DB8::1"), Some("2001:db8::1".to_owned()));
        assert_eq!(check(&[b'a'; 63]), Some("a".repeat(63)));
        assert_eq!(check(&[b'a'; 64]), None);
        assert_eq!(check(b"."), None);
        assert_eq!(check(b"a..b"), None);
        assert_eq!(check(b"a.b.."), None);
        assert_eq!(check(b".a"), None);
        assert_eq!(check(b"a b"), None);
        assert_eq!(check(b"*.example.com"), None);
        assert_eq!(check("bücher.example".as_bytes()), None);
        let long = [&b"a".repeat(63)[..], b"."].concat().repeat(4);
        // 256 bytes with the trailing dot: too long.
        assert_eq!(check(&long), None);
        let fits = [&b"abcde."[..]; 42].concat();
        assert_eq!(fits.len(), 252);
        let fits = [&fits[..], b"a"].concat();
        assert_eq!(check(&fits).map(|name| name.len()), Some(253));
        let over = [&fits[..], b"a"].concat();
        assert_eq!(check(&over), None);
    }
}
