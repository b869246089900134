//! Fuzz target `target_response`: arbitrary bytes as a challenge target's HTTP answer,
//! read by `http_relay::target_response` (`read_head`, then `Head::read_body`, as
//! `forward.rs` does) from an in-memory reader inside a current-thread runtime.
//!
//! Input: byte 0 is the most bytes one read returns (0: all at once), byte 1 the body
//! cap in units of 8 bytes (the relay's default cap, 1024, is 128), bit 0 of byte 2 a
//! `HEAD` request; the rest is what the target sends before closing.
//!
//! Asserts: no panic; an accepted body is never larger than the cap; an accepted answer's
//! final head (after skipped 1xx heads, parsed here again with httparse) has neither
//! both `Transfer-Encoding` and `Content-Length` nor differing lengths (ambiguous framing
//! is refused), its status is the one returned, and with a `Content-Length` the body is
//! exactly that long (unless the answer has no body); no hop-by-hop field is handed on;
//! the same bytes read all at once and in small reads give the same answer when both
//! are accepted.
#![no_main]

use std::io;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use bytes::BytesMut;
use http_relay::target_response::{ResponseError, TargetResponse, read_head};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::runtime::{Builder, Runtime};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
});

/// A target that sends `data` in reads of at most `step` bytes, then closes.
struct Dripping<'d> {
    data: &'d [u8],
    step: usize,
}

impl AsyncRead for Dripping<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.data.len().min(self.step).min(buf.remaining());
        let (now, later) = self.data.split_at(n);
        buf.put_slice(now);
        self.data = later;
        Poll::Ready(Ok(()))
    }
}

fn read(
    data: &[u8],
    step: usize,
    head_only: bool,
    max_body: usize,
) -> Result<TargetResponse, ResponseError> {
    RUNTIME.block_on(async {
        let mut io = Dripping { data, step };
        let head = read_head(&mut io, BytesMut::new(), head_only, max_body).await?;
        head.read_body(&mut io, max_body).await
    })
}

/// The final head of `data` as httparse reads it, skipping 1xx heads as the reader does:
/// (status, Content-Length values, has Transfer-Encoding).
fn final_head(mut data: &[u8]) -> (u16, Vec<Vec<u8>>, bool) {
    loop {
        let mut storage = [httparse::EMPTY_HEADER; 100];
        let mut response = httparse::Response::new(&mut storage);
        let Ok(httparse::Status::Complete(len)) = response.parse(data) else {
            panic!("an accepted answer has no complete head");
        };
        let code = response.code.expect("a parsed status");
        if (100..200).contains(&code) {
            data = &data[len..];
            continue;
        }
        let lengths = response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
            .flat_map(|h| h.value.split(|&b| b == b','))
            .map(|v| v.trim_ascii().to_vec())
            .collect();
        let te = response
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
        return (code, lengths, te);
    }
}

fuzz_target!(|data: &[u8]| {
    let [step, cap, flags, ref answer @ ..] = *data else {
        return;
    };
    let step = if step == 0 {
        usize::MAX
    } else {
        usize::from(step)
    };
    let max_body = usize::from(cap) * 8;
    let head_only = flags & 1 == 1;

    let Ok(response) = read(answer, step, head_only, max_body) else {
        return;
    };
    assert!(
        response.body.len() <= max_body,
        "a body of {} bytes was accepted with a cap of {max_body}",
        response.body.len()
    );
    let (code, lengths, transfer_encoding) = final_head(answer);
    assert_eq!(
        response.status.as_u16(),
        code,
        "the status is the final head's"
    );
    assert!(
        !transfer_encoding || lengths.is_empty(),
        "an answer with both Transfer-Encoding and Content-Length was accepted"
    );
    // Values are compared as numbers: "2, 02" is one length.
    let lengths: Vec<u128> = lengths
        .iter()
        .map(|l| {
            std::str::from_utf8(l)
                .ok()
                .and_then(|l| l.parse().ok())
                .expect("an accepted Content-Length is a number")
        })
        .collect();
    assert!(
        lengths.windows(2).all(|w| w[0] == w[1]),
        "an answer with differing Content-Length values was accepted: {lengths:?}"
    );
    let no_body = head_only || code == 204 || code == 304;
    if let (Some(&length), false) = (lengths.first(), no_body) {
        assert_eq!(
            response.body.len() as u128,
            length,
            "the body has the declared length"
        );
    }
    if no_body {
        assert!(response.body.is_empty(), "a body for HEAD, 204 or 304");
    }
    for name in [
        "connection",
        "transfer-encoding",
        "keep-alive",
        "upgrade",
        "trailer",
    ] {
        assert!(
            !response.headers.contains_key(name),
            "hop-by-hop {name} handed on"
        );
    }
    if step != usize::MAX
        && let Ok(whole) = read(answer, usize::MAX, head_only, max_body)
    {
        assert_eq!(whole.status, response.status);
        assert_eq!(whole.headers, response.headers);
        assert_eq!(
            whole.body, response.body,
            "the body depends on how it was read"
        );
    }
});
