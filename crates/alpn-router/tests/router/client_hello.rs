//! The ClientHello reader (`alpn_router::client_hello`) on real ClientHellos captured from
//! curl, OpenSSL, Python and Go (testdata/README.md), split into TCP segments and TLS
//! records every which way, and on hellos that are not TLS or are malformed.

use alpn_router::client_hello::{ClientHello, MAX_CLIENT_HELLO_BYTES, NotTls, Peek, peek};

/// A captured hello and what it offers.
struct Capture {
    name: &'static str,
    bytes: &'static [u8],
    server_name: Option<&'static str>,
    alpn: &'static [&'static [u8]],
    records: usize,
}

const CAPTURES: [Capture; 8] = [
    Capture {
        name: "curl-h2",
        bytes: include_bytes!("../../testdata/curl-h2.bin"),
        server_name: Some("curl.example.test"),
        alpn: &[b"h2", b"http/1.1"],
        records: 1,
    },
    Capture {
        name: "curl-http11",
        bytes: include_bytes!("../../testdata/curl-http11.bin"),
        server_name: Some("curl.example.test"),
        alpn: &[b"http/1.1"],
        records: 1,
    },
    Capture {
        name: "openssl-acme-tls",
        bytes: include_bytes!("../../testdata/openssl-acme-tls.bin"),
        server_name: Some("openssl.example.test"),
        alpn: &[b"acme-tls/1"],
        records: 1,
    },
    Capture {
        name: "openssl-no-sni",
        bytes: include_bytes!("../../testdata/openssl-no-sni.bin"),
        server_name: None,
        alpn: &[],
        records: 1,
    },
    Capture {
        name: "python",
        bytes: include_bytes!("../../testdata/python.bin"),
        server_name: Some("python.example.test"),
        alpn: &[b"h2", b"http/1.1"],
        records: 1,
    },
    Capture {
        name: "go-lego",
        bytes: include_bytes!("../../testdata/go-lego.bin"),
        server_name: Some("localhost"),
        alpn: &[],
        records: 1,
    },
    Capture {
        name: "go-pebble-validation",
        bytes: include_bytes!("../../testdata/go-pebble-validation.bin"),
        server_name: Some("pebble.example.test"),
        alpn: &[b"acme-tls/1"],
        records: 1,
    },
    Capture {
        name: "pq-two-records",
        bytes: include_bytes!("../../testdata/pq-two-records.bin"),
        server_name: Some("curl.example.test"),
        alpn: &[b"h2", b"http/1.1"],
        records: 2,
    },
];

impl Capture {
    fn expected(&self) -> ClientHello {
        ClientHello {
            server_name: self.server_name.map(str::to_owned),
            alpn: self.alpn.iter().map(|name| name.to_vec()).collect(),
            record_bytes: self.bytes.len(),
        }
    }
}

/// A small fixed-seed PRNG (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `low..=high`.
    fn range(&mut self, low: usize, high: usize) -> usize {
        let span = u64::try_from(high - low + 1).expect("a small span");
        low + usize::try_from(self.next() % span).expect("fits")
    }
}

fn found(buf: &[u8]) -> ClientHello {
    match peek(buf) {
        Peek::Found(hello) => hello,
        other => panic!("expected a ClientHello, got {other:?}"),
    }
}

fn not_tls(buf: &[u8]) -> NotTls {
    match peek(buf) {
        Peek::NotTls(reason) => reason,
        other => panic!("expected NotTls, got {other:?}"),
    }
}

/// The handshake message of a capture: its records' payloads.
fn handshake(records: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = records;
    while let [22, 3, _, high, low, tail @ ..] = rest {
        let (payload, next) = tail.split_at(usize::from(u16::from_be_bytes([*high, *low])));
        out.extend_from_slice(payload);
        rest = next;
    }
    assert!(rest.is_empty(), "only handshake records");
    out
}

/// `message` framed in handshake records with version 3.`minor`, of the sizes `size`
/// returns in turn (the last record takes what is left).
fn reframe(message: &[u8], minor: u8, mut size: impl FnMut() -> usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let (fragment, tail) = rest.split_at(size().clamp(1, 1 << 14).min(rest.len()));
        out.extend_from_slice(&[22, 3, minor]);
        out.extend_from_slice(&u16::try_from(fragment.len()).expect("short").to_be_bytes());
        out.extend_from_slice(fragment);
        rest = tail;
    }
    out
}

/// Feeds `buf` in the given segments into a growing buffer, as reads would: NeedMore
/// until the last segment, then the hello.
fn feed(buf: &[u8], cuts: &[usize]) -> ClientHello {
    let mut received = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([&buf.len()]) {
        if cut <= start {
            continue;
        }
        assert_eq!(
            peek(&received),
            Peek::NeedMore,
            "{} bytes so far",
            received.len()
        );
        received.extend_from_slice(&buf[start..cut]);
        start = cut;
    }
    found(&received)
}

/// A ClientHello message (handshake header included) from its parts.
fn hello_message(
    version: u16,
    session_id: &[u8],
    suites: &[u8],
    compression: &[u8],
    extensions: Option<&[(u16, Vec<u8>)]>,
) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[7; 32]);
    body.push(u8::try_from(session_id.len()).expect("short"));
    body.extend_from_slice(session_id);
    body.extend_from_slice(&u16::try_from(suites.len()).expect("short").to_be_bytes());
    body.extend_from_slice(suites);
    body.push(u8::try_from(compression.len()).expect("short"));
    body.extend_from_slice(compression);
    if let Some(extensions) = extensions {
        let mut block = Vec::new();
        for (kind, data) in extensions {
            block.extend_from_slice(&kind.to_be_bytes());
            block.extend_from_slice(&u16::try_from(data.len()).expect("short").to_be_bytes());
            block.extend_from_slice(data);
        }
        body.extend_from_slice(&u16::try_from(block.len()).expect("short").to_be_bytes());
        body.extend_from_slice(&block);
    }
    let len = u32::try_from(body.len()).expect("short").to_be_bytes();
    let mut message = vec![1, len[1], len[2], len[3]];
    message.extend_from_slice(&body);
    message
}

/// A hello with these extensions, in one record.
fn hello_with(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let message = hello_message(0x0303, &[], &[0x13, 0x01], &[0], Some(extensions));
    reframe(&message, 1, || usize::MAX)
}

/// A server_name extension's data with one host_name.
fn sni(name: &[u8]) -> Vec<u8> {
    let entry_len = u16::try_from(name.len()).expect("short");
    let mut data = (entry_len + 3).to_be_bytes().to_vec();
    data.push(0);
    data.extend_from_slice(&entry_len.to_be_bytes());
    data.extend_from_slice(name);
    data
}

/// An ALPN extension's data.
fn alpn(names: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for name in names {
        list.push(u8::try_from(name.len()).expect("short"));
        list.extend_from_slice(name);
    }
    let mut data = u16::try_from(list.len())
        .expect("short")
        .to_be_bytes()
        .to_vec();
    data.extend_from_slice(&list);
    data
}

#[test]
fn client_hello_captures_are_found() {
    for capture in &CAPTURES {
        let hello = found(capture.bytes);
        assert_eq!(hello, capture.expected(), "{}", capture.name);
        let mut records = 0;
        let mut rest = capture.bytes;
        while let [_, _, _, high, low, tail @ ..] = rest {
            rest = &tail[usize::from(u16::from_be_bytes([*high, *low]))..];
            records += 1;
        }
        assert_eq!(records, capture.records, "{}", capture.name);
    }
}

#[test]
fn client_hello_every_prefix_needs_more() {
    for capture in &CAPTURES {
        for len in 0..capture.bytes.len() {
            assert_eq!(
                peek(&capture.bytes[..len]),
                Peek::NeedMore,
                "{}: {len} bytes",
                capture.name
            );
        }
    }
}

#[test]
fn client_hello_split_into_segments() {
    let mut rng = Rng(0x5eed_0001);
    for capture in &CAPTURES {
        let whole = found(capture.bytes);
        let len = capture.bytes.len();
        for cut in 1..len {
            assert_eq!(
                feed(capture.bytes, &[cut]),
                whole,
                "{}: cut at {cut}",
                capture.name
            );
        }
        let every_byte: Vec<usize> = (1..len).collect();
        assert_eq!(feed(capture.bytes, &every_byte), whole, "{}", capture.name);
        for _ in 0..200 {
            let mut cuts: Vec<usize> = (0..rng.range(2, 12))
                .map(|_| rng.range(1, len - 1))
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            assert_eq!(
                feed(capture.bytes, &cuts),
                whole,
                "{}: cuts {cuts:?}",
                capture.name
            );
        }
    }
}

#[test]
fn client_hello_split_into_records() {
    let mut rng = Rng(0x5eed_0002);
    for capture in &CAPTURES {
        let message = handshake(capture.bytes);
        let expected = capture.expected();
        let mut framings: Vec<Vec<u8>> = Vec::new();
        for size in [1, 2, 7, 100, message.len() - 1, message.len()] {
            framings.push(reframe(&message, 3, || size));
        }
        for minor in [0, 1, 2] {
            framings.push(reframe(&message, minor, || 64));
        }
        for _ in 0..50 {
            let high = rng.range(1, 300);
            framings.push(reframe(&message, 1, || rng.range(1, high)));
        }
        for records in framings {
            let hello = found(&records);
            assert_eq!(hello.server_name, expected.server_name, "{}", capture.name);
            assert_eq!(hello.alpn, expected.alpn, "{}", capture.name);
            assert_eq!(hello.record_bytes, records.len(), "{}", capture.name);
            let cuts: Vec<usize> = (0..5).map(|_| rng.range(1, records.len() - 1)).collect();
            let mut cuts = cuts;
            cuts.sort_unstable();
            assert_eq!(feed(&records, &cuts), hello, "{}", capture.name);
        }
        // One byte per record, read one byte at a time.
        let tiny = reframe(&message, 1, || 1);
        for len in 0..tiny.len() {
            assert_eq!(
                peek(&tiny[..len]),
                Peek::NeedMore,
                "{}: {len} bytes",
                capture.name
            );
        }
        assert_eq!(found(&tiny).record_bytes, tiny.len());
    }
}

#[test]
fn client_hello_extra_bytes_after_the_hello() {
    let change_cipher_spec = [20, 3, 3, 0, 1, 1];
    let early_data = [23, 3, 3, 0, 3, 1, 2, 3];
    let get = b"GET / HTTP/1.1\r\n\r\n";
    for capture in &CAPTURES {
        let expected = capture.expected();
        for extra in [
            &change_cipher_spec[..],
            &early_data,
            get,
            &[22],
            &[0; 20000],
        ] {
            let buf = [capture.bytes, extra].concat();
            assert_eq!(found(&buf), expected, "{}", capture.name);
        }
    }
}

#[test]
fn client_hello_offers_only() {
    let acme = found(CAPTURES[2].bytes);
    assert!(acme.offers_only(b"acme-tls/1"));
    let ca = found(include_bytes!("../../testdata/go-pebble-validation.bin"));
    assert!(ca.offers_only(b"acme-tls/1"), "a CA's validation hello");
    assert!(!acme.offers_only(b"h2"));
    let curl = found(CAPTURES[0].bytes);
    assert!(!curl.offers_only(b"acme-tls/1"));
    assert!(!curl.offers_only(b"h2"));
    let no_alpn = found(CAPTURES[3].bytes);
    assert!(!no_alpn.offers_only(b"acme-tls/1"));
    let twice = found(&hello_with(&[(16, alpn(&[b"acme-tls/1", b"acme-tls/1"]))]));
    assert!(twice.offers_only(b"acme-tls/1"));
    let also_h2 = found(&hello_with(&[(16, alpn(&[b"acme-tls/1", b"h2"]))]));
    assert!(!also_h2.offers_only(b"acme-tls/1"));
}

#[test]
fn client_hello_not_tls_at_the_first_bytes() {
    assert_eq!(not_tls(b"G"), NotTls::NotHandshake(b'G'));
    assert_eq!(
        not_tls(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
        NotTls::NotHandshake(b'G')
    );
    // SSL 2.0 ClientHello (2-byte header, message type 1).
    assert_eq!(not_tls(&[0x80]), NotTls::Sslv2(0x80));
    assert_eq!(
        not_tls(&[0x80, 0x2e, 0x01, 0x00, 0x02]),
        NotTls::Sslv2(0x80)
    );
    // An alert record first.
    assert_eq!(not_tls(&[21, 3, 3, 0, 2, 2, 40]), NotTls::NotHandshake(21));
    assert_eq!(not_tls(&[21]), NotTls::NotHandshake(21));
    // Record versions.
    assert_eq!(not_tls(&[22, 2]), NotTls::RecordMajorVersion(2));
    assert_eq!(not_tls(&[22, 3, 4]), NotTls::RecordMinorVersion(4));
    assert_eq!(peek(&[22, 3, 0]), Peek::NeedMore);
    // Record lengths.
    assert_eq!(not_tls(&[22, 3, 1, 0, 0]), NotTls::EmptyRecord);
    assert_eq!(
        not_tls(&[22, 3, 1, 0x40, 0x01]),
        NotTls::RecordOverflow(0x4001)
    );
    // Handshake type.
    assert_eq!(not_tls(&[22, 3, 1, 0, 100, 2]), NotTls::NotClientHello(2));
    assert_eq!(peek(&[22, 3, 1, 0, 100, 1]), Peek::NeedMore);
}

#[test]
fn client_hello_interleaved_record() {
    let message = handshake(CAPTURES[0].bytes);
    let (first, second) = message.split_at(100);
    let mut buf = reframe(first, 1, || usize::MAX);
    let before = buf.len();
    buf.extend_from_slice(&[20, 3, 3, 0, 1, 1]);
    buf.extend_from_slice(&reframe(second, 1, || usize::MAX));
    assert_eq!(peek(&buf[..before]), Peek::NeedMore);
    assert_eq!(not_tls(&buf[..=before]), NotTls::Interleaved(20));
    assert_eq!(not_tls(&buf), NotTls::Interleaved(20));
    // Also inside the handshake header.
    let mut buf = reframe(&message[..2], 3, || 1);
    buf.extend_from_slice(&[23, 3, 3, 0, 1, 0]);
    assert_eq!(not_tls(&buf), NotTls::Interleaved(23));
}

#[test]
fn client_hello_zero_length_record_mid_hello() {
    let message = handshake(CAPTURES[1].bytes);
    let mut buf = reframe(&message[..50], 3, || usize::MAX);
    buf.extend_from_slice(&[22, 3, 3, 0, 0]);
    buf.extend_from_slice(&reframe(&message[50..], 3, || usize::MAX));
    assert_eq!(not_tls(&buf), NotTls::EmptyRecord);
}

#[test]
fn client_hello_too_large_from_the_headers() {
    // The handshake length alone (one record of 100 bytes declared).
    let big = [22, 3, 1, 0, 100, 1, 0x01, 0x00, 0x00];
    assert_eq!(peek(&big[..8]), Peek::NeedMore);
    assert_eq!(not_tls(&big), NotTls::TooLarge);
    // A full-size record ends beyond the bound whatever it holds.
    assert_eq!(not_tls(&[22, 3, 1, 0x40, 0x00]), NotTls::TooLarge);
    // The largest hello in one record that fits: MAX_CLIENT_HELLO_BYTES exactly.
    let fits = |size: usize| {
        let base = hello_message(0x0303, &[], &[0x13, 0x01], &[0], Some(&[]));
        let padding = size - 5 - base.len() - 4;
        hello_message(
            0x0303,
            &[],
            &[0x13, 0x01],
            &[0],
            Some(&[(21, vec![0; padding])]),
        )
    };
    let message = fits(MAX_CLIENT_HELLO_BYTES);
    let records = reframe(&message, 3, || usize::MAX);
    assert_eq!(records.len(), MAX_CLIENT_HELLO_BYTES);
    assert_eq!(found(&records).record_bytes, MAX_CLIENT_HELLO_BYTES);
    for len in [9, 100, MAX_CLIENT_HELLO_BYTES - 1] {
        assert_eq!(peek(&records[..len]), Peek::NeedMore);
    }
    // One byte more: known from the first 9 bytes.
    let message = fits(MAX_CLIENT_HELLO_BYTES + 1);
    let records = reframe(&message, 3, || usize::MAX);
    assert_eq!(not_tls(&records[..9]), NotTls::TooLarge);
    // The same message in two records fits only with one header less.
    let message = fits(MAX_CLIENT_HELLO_BYTES - 5);
    let records = reframe(&message, 3, || 9000);
    assert_eq!(records.len(), MAX_CLIENT_HELLO_BYTES);
    assert_eq!(found(&records).record_bytes, MAX_CLIENT_HELLO_BYTES);
    let message = fits(MAX_CLIENT_HELLO_BYTES - 4);
    let records = reframe(&message, 3, || 9000);
    // Known once the first record is in: the rest needs another header.
    assert_eq!(peek(&records[..9004]), Peek::NeedMore);
    assert_eq!(not_tls(&records[..9005]), NotTls::TooLarge);
    // Tiny records: the headers count too.
    let pq = CAPTURES
        .iter()
        .find(|c| c.name == "pq-two-records")
        .expect("the post-quantum capture");
    let message = handshake(pq.bytes);
    let records = reframe(&message, 3, || 1);
    assert_eq!(found(&records).record_bytes, 6 * message.len());
    let mut big = message.clone();
    big.extend(std::iter::repeat_n(0, 1200));
    let len = u32::try_from(big.len() - 4).expect("short").to_be_bytes();
    big[1..4].copy_from_slice(&len[1..]);
    let records = reframe(&big, 3, || 1);
    assert!(6 * big.len() > MAX_CLIENT_HELLO_BYTES);
    // Known once `done` records are in: the rest, even in one record, would end beyond
    // the bound (6 * done + 5 + (big.len() - done) > MAX_CLIENT_HELLO_BYTES).
    let done = (MAX_CLIENT_HELLO_BYTES - 5 - big.len()) / 5 + 1;
    assert_eq!(peek(&records[..6 * done - 1]), Peek::NeedMore);
    assert_eq!(not_tls(&records[..6 * done]), NotTls::TooLarge);
    assert!(6 * done < MAX_CLIENT_HELLO_BYTES);
}

#[test]
fn client_hello_data_after_the_hello_in_its_record() {
    let mut message = handshake(CAPTURES[0].bytes);
    message.extend_from_slice(&[2, 0, 0, 0]);
    let records = reframe(&message, 1, || usize::MAX);
    // Known from the handshake header.
    assert_eq!(not_tls(&records[..9]), NotTls::DataAfterHello);
}

#[test]
fn client_hello_malformed_body() {
    let one = |message: &[u8]| reframe(message, 1, || usize::MAX);
    assert_eq!(
        not_tls(&one(&hello_message(0x0203, &[], &[0, 1], &[0], None))),
        NotTls::BadVersion(0x0203)
    );
    assert_eq!(
        not_tls(&one(&hello_message(0x0303, &[1; 33], &[0, 1], &[0], None))),
        NotTls::Malformed("legacy_session_id")
    );
    assert_eq!(
        not_tls(&one(&hello_message(0x0303, &[], &[0, 1, 2], &[0], None))),
        NotTls::Malformed("cipher_suites")
    );
    assert_eq!(
        not_tls(&one(&hello_message(0x0303, &[], &[], &[0], None))),
        NotTls::Malformed("cipher_suites")
    );
    assert_eq!(
        not_tls(&one(&hello_message(0x0303, &[], &[0, 1], &[], None))),
        NotTls::Malformed("legacy_compression_methods")
    );
    // Too short for its random.
    assert_eq!(
        not_tls(&one(&[1, 0, 0, 3, 3, 3, 0])),
        NotTls::Malformed("random")
    );
    // Without extensions (an old client): no name, no ALPN.
    let old = found(&one(&hello_message(
        0x0301,
        &[1; 32],
        &[0, 0x2f],
        &[0],
        None,
    )));
    assert_eq!(old.server_name, None);
    assert!(old.alpn.is_empty());
    // An empty extensions block.
    let empty = found(&hello_with(&[]));
    assert_eq!(empty.server_name, None);
}

#[test]
fn client_hello_extensions_length_mismatch() {
    let message = handshake(CAPTURES[0].bytes);
    let session_id = usize::from(message[4 + 34]);
    let suites_at = 4 + 35 + session_id;
    let suites = usize::from(u16::from_be_bytes([
        message[suites_at],
        message[suites_at + 1],
    ]));
    let compression_at = suites_at + 2 + suites;
    let extensions_at = compression_at + 1 + usize::from(message[compression_at]);
    let declared = u16::from_be_bytes([message[extensions_at], message[extensions_at + 1]]);
    assert_eq!(usize::from(declared), message.len() - extensions_at - 2);
    for wrong in [declared - 1, declared + 1, 0] {
        let mut bad = message.clone();
        bad[extensions_at..extensions_at + 2].copy_from_slice(&wrong.to_be_bytes());
        assert_eq!(
            not_tls(&reframe(&bad, 1, || usize::MAX)),
            NotTls::Malformed("extensions length"),
            "declared {wrong}"
        );
    }
    // Truncated: the message (and its record) ends before the last extension does.
    let mut short = message[..message.len() - 1].to_vec();
    let len = u32::try_from(short.len() - 4).expect("short").to_be_bytes();
    short[1..4].copy_from_slice(&len[1..]);
    assert_eq!(
        not_tls(&reframe(&short, 1, || usize::MAX)),
        NotTls::Malformed("extensions length")
    );
    // One byte after the compression methods.
    let mut odd = message[..=extensions_at].to_vec();
    let len = u32::try_from(odd.len() - 4).expect("short").to_be_bytes();
    odd[1..4].copy_from_slice(&len[1..]);
    assert_eq!(
        not_tls(&reframe(&odd, 1, || usize::MAX)),
        NotTls::Malformed("extensions length")
    );
    // An extension overruns the block.
    let mut data = hello_with(&[(0xff00, vec![0; 4])]);
    let at = data.len() - 6;
    data[at..at + 2].copy_from_slice(&5u16.to_be_bytes());
    assert_eq!(not_tls(&data), NotTls::Malformed("extension"));
}

#[test]
fn client_hello_server_name() {
    let name = |data: Vec<u8>| found(&hello_with(&[(0, data)])).server_name;
    assert_eq!(
        name(sni(b"A.Example.TEST.")),
        Some("a.example.test".to_owned())
    );
    assert_eq!(name(sni(b"192.0.2.1")), Some("192.0.2.1".to_owned()));
    assert_eq!(name(sni(b"::1")), Some("::1".to_owned()));
    // Not a DNS name: no name, still TLS.
    assert_eq!(name(sni(b"a..test")), None);
    assert_eq!(name(sni("b\u{fc}cher.test".as_bytes())), None);
    assert_eq!(name(sni(&[b'a'; 300])), None);
    // An entry of another name type is skipped.
    let mut other = vec![0, 12, 7, 0, 2, b'x', b'y'];
    other.extend_from_slice(&[0, 0, 4, b'a', b'.', b'b', b'c']);
    assert_eq!(name(other), Some("a.bc".to_owned()));

    let bad = |data: Vec<u8>| not_tls(&hello_with(&[(0, data)]));
    assert_eq!(bad(vec![]), NotTls::BadServerName("list length"));
    assert_eq!(bad(vec![0, 0]), NotTls::BadServerName("empty list"));
    assert_eq!(
        bad(vec![0, 3, 0, 0, 0]),
        NotTls::BadServerName("empty host_name")
    );
    assert_eq!(
        bad(vec![0, 4, 0, 0, 2, b'a']),
        NotTls::BadServerName("entry length")
    );
    assert_eq!(
        bad(vec![0, 5, 0, 0, 2, b'a', b'b', 0]),
        NotTls::BadServerName("list length")
    );
    assert_eq!(
        bad(vec![0, 8, 0, 0, 1, b'a', 0, 0, 1, b'b']),
        NotTls::BadServerName("two host_name entries")
    );
    // The extension twice.
    assert_eq!(
        not_tls(&hello_with(&[
            (0, sni(b"a.test")),
            (16, alpn(&[b"h2"])),
            (0, sni(b"b.test"))
        ])),
        NotTls::DuplicateExtension(0)
    );
    assert_eq!(
        not_tls(&hello_with(&[(0xff00, vec![]), (0xff00, vec![])])),
        NotTls::DuplicateExtension(0xff00)
    );
}

#[test]
fn client_hello_alpn() {
    let protocols = |data: Vec<u8>| found(&hello_with(&[(16, data)])).alpn;
    assert_eq!(
        protocols(alpn(&[b"h2", b"http/1.1"])),
        [&b"h2"[..], b"http/1.1"]
    );
    assert_eq!(protocols(alpn(&[&[b'x'; 255]])), [vec![b'x'; 255]]);

    let bad = |data: Vec<u8>| not_tls(&hello_with(&[(16, data)]));
    assert_eq!(bad(vec![0, 0]), NotTls::BadAlpn("empty list"));
    assert_eq!(bad(alpn(&[b"h2", b""])), NotTls::BadAlpn("empty name"));
    assert_eq!(bad(vec![0, 1, 0]), NotTls::BadAlpn("empty name"));
    assert_eq!(
        bad(vec![0, 3, 3, b'h', b'2']),
        NotTls::BadAlpn("name length")
    );
    assert_eq!(
        bad(vec![0, 3, 2, b'h', b'2', 0]),
        NotTls::BadAlpn("list length")
    );
    assert_eq!(bad(vec![0]), NotTls::BadAlpn("list length"));
}

#[test]
fn client_hello_mutations_keep_verdicts_monotone() {
    // Corrupted captures: whatever the verdict, a longer prefix keeps it.
    let mut rng = Rng(0x5eed_0003);
    for capture in &CAPTURES {
        for _ in 0..40 {
            let mut bytes = capture.bytes.to_vec();
            for _ in 0..rng.range(1, 3) {
                let at = rng.range(0, bytes.len() - 1);
                bytes[at] = u8::try_from(rng.next() & 0xff).expect("a byte");
            }
            let mut decided: Option<Peek> = None;
            for len in 0..=bytes.len() {
                let verdict = peek(&bytes[..len]);
                match (&decided, &verdict) {
                    (None, Peek::NeedMore) => {}
                    (None, _) => decided = Some(verdict),
                    (Some(first), _) => {
                        assert_eq!(&verdict, first, "{}: {len} bytes", capture.name)
                    }
                }
            }
        }
    }
}
