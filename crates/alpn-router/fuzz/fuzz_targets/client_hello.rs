//! Fuzz target `client_hello`: arbitrary bytes as the first bytes of a connection on the
//! router's port, read by `alpn_router::client_hello::peek` as they would arrive: the
//! whole input and many of its prefixes (every length up to 128 bytes, the bytes around
//! each record boundary, evenly spread lengths, the last bytes).
//!
//! Asserts: no panic; verdicts are monotone: once a prefix is `Found` or `NotTls`, every
//! longer prefix gets exactly the same verdict (the same hello, the same reason);
//! `NeedMore` only below `MAX_CLIENT_HELLO_BYTES`; a hello found ends exactly at
//! `record_bytes` (at most the input, at most the bound; one byte less is `NeedMore`);
//! its name is lowercase without a trailing dot and its ALPN names are 1 to 255 bytes;
//! and the same handshake message, framed again in records of other sizes (chosen from
//! the input), is found with the same name and protocols.
#![no_main]

use alpn_router::client_hello::{ClientHello, MAX_CLIENT_HELLO_BYTES, NotTls, Peek, peek};
use libfuzzer_sys::fuzz_target;

/// Every prefix up to this length is read.
const SMALL: usize = 128;
/// Records whose boundaries are read around.
const BOUNDARIES: usize = 64;
/// Evenly spread prefix lengths.
const SPREAD: usize = 32;

fuzz_target!(|data: &[u8]| {
    let mut lengths: Vec<usize> = (0..=data.len().min(SMALL)).collect();
    let mut pos = 0;
    for _ in 0..BOUNDARIES {
        let Some(&[_, _, _, high, low]) = data.get(pos..pos + 5) else {
            break;
        };
        for at in [pos + 1, pos + 5, pos + 6, pos + 9] {
            lengths.push(at);
        }
        pos += 5 + usize::from(u16::from_be_bytes([high, low]));
        lengths.extend([pos - 1, pos, pos + 1]);
    }
    lengths.extend((1..SPREAD).map(|i| data.len() * i / SPREAD));
    lengths.extend([data.len().saturating_sub(1), data.len()]);
    lengths.retain(|&len| len <= data.len());
    lengths.sort_unstable();
    lengths.dedup();

    let mut decided: Option<(usize, Peek)> = None;
    for len in lengths {
        let verdict = peek(&data[..len]);
        check(&data[..len], &verdict);
        match &decided {
            None if verdict == Peek::NeedMore => {}
            None => decided = Some((len, verdict)),
            Some((first_len, first)) => assert_eq!(
                &verdict, first,
                "{len} bytes disagree with the verdict at {first_len} bytes"
            ),
        }
    }
    if let Some((_, Peek::Found(hello))) = &decided {
        reframed(data, hello);
    }
});

/// What holds for any one verdict on `buf`.
fn check(buf: &[u8], verdict: &Peek) {
    match verdict {
        Peek::NeedMore => assert!(
            buf.len() < MAX_CLIENT_HELLO_BYTES,
            "NeedMore at {} bytes",
            buf.len()
        ),
        Peek::NotTls(reason) => assert!(!reason.to_string().is_empty()),
        Peek::Found(hello) => {
            let end = hello.record_bytes;
            assert!(
                end <= buf.len() && end <= MAX_CLIENT_HELLO_BYTES,
                "record_bytes {end}"
            );
            assert!(end > 0);
            assert_eq!(peek(&buf[..end]), *verdict, "found at its own end");
            assert_eq!(
                peek(&buf[..end - 1]),
                Peek::NeedMore,
                "incomplete a byte earlier"
            );
            if let Some(name) = &hello.server_name {
                assert!(!name.is_empty() && name.len() <= 253, "{name:?}");
                assert!(!name.ends_with('.'), "{name:?}");
                assert_eq!(*name, name.to_ascii_lowercase());
            }
            for protocol in &hello.alpn {
                assert!((1..=255).contains(&protocol.len()));
            }
            if let Some(first) = hello.alpn.first() {
                assert_eq!(
                    hello.offers_only(first),
                    hello.alpn.iter().all(|p| p == first)
                );
            }
        }
    }
}

/// The hello's handshake message framed again in records of sizes chosen from the
/// input: the same name and protocols, or too large once the headers do not fit.
fn reframed(data: &[u8], hello: &ClientHello) {
    let mut message = Vec::new();
    let mut rest = &data[..hello.record_bytes];
    while let [_, _, _, high, low, tail @ ..] = rest {
        let (payload, next) = tail.split_at(usize::from(u16::from_be_bytes([*high, *low])));
        message.extend_from_slice(payload);
        rest = next;
    }
    assert!(rest.is_empty());

    // A small xorshift seeded from the input.
    let mut state = data.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    }) | 1;
    let biggest = 1 + usize::from(data[0] % 64);
    let mut records = Vec::new();
    let mut rest = &message[..];
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let size = (1 + (state % biggest as u64) as usize).min(rest.len());
        let (fragment, tail) = rest.split_at(size);
        records.extend_from_slice(&[22, 3, 3]);
        records.extend_from_slice(&(size as u16).to_be_bytes());
        records.extend_from_slice(fragment);
        rest = tail;
    }
    match peek(&records) {
        Peek::Found(again) => {
            assert_eq!(again.server_name, hello.server_name);
            assert_eq!(again.alpn, hello.alpn);
            assert_eq!(again.record_bytes, records.len());
        }
        Peek::NotTls(NotTls::TooLarge) => assert!(records.len() > MAX_CLIENT_HELLO_BYTES),
        other => panic!("the same hello in other records: {other:?}"),
    }
}
