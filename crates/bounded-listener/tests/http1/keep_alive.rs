//! Requests on one connection, however they are spaced, split or pipelined, are all
//! answered in order, whether the connection went back to waiting in between or not.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Client, Server, Timeouts, get};

/// Long enough for the server to finish an exchange and go back to waiting
/// ([`crate::RELEASE`] and then some).
pub(crate) const PAUSE: Duration = Duration::from_millis(80);

/// Five GETs, a pause after each, on one connection to a server with `timeouts`.
async fn spaced_out_requests(timeouts: Timeouts) {
    let server = Server::start(timeouts).await;
    let mut client = Client::connect(&server).await;
    for i in 0..5 {
        client.get(&format!("/r{i}")).await;
        tokio::time::sleep(PAUSE).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn requests_spaced_out_on_one_connection_are_all_answered() {
    spaced_out_requests(Timeouts::default()).await;
}

/// With a release time longer than the test, one hyper connection serves them all.
#[tokio::test]
async fn requests_spaced_out_within_the_release_time_are_all_answered() {
    spaced_out_requests(Timeouts {
        release_after_quiet: Duration::from_secs(3600),
        ..Timeouts::default()
    })
    .await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(Timeouts::default()).await;
    let mut client = Client::connect(&server).await;
    // Once at the start, and again after the connection has gone back to waiting.
    for round in 0..2 {
        let mut three = Vec::new();
        for i in 0..3 {
            three.extend(get(&format!("/p{round}-{i}")));
        }
        client.send(&three).await;
        for i in 0..3 {
            client.expect(&format!("GET /p{round}-{i} body=0")).await;
        }
        tokio::time::sleep(PAUSE).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_request_head_sent_in_pieces_is_read_whole() {
    let server = Server::start(Timeouts::default()).await;
    let mut client = Client::connect(&server).await;
    for i in 0..3 {
        let request = get(&format!("/split{i}"));
        // Pieces: the first bytes alone, the rest of the request line, the headers.
        for piece in [&request[..3], &request[3..12], &request[12..]] {
            client.send(piece).await;
            tokio::time::sleep(PAUSE).await;
        }
        client.expect(&format!("GET /split{i} body=0")).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_pipelined_request_cut_in_two_is_read_whole() {
    let server = Server::start(Timeouts::default()).await;
    let mut client = Client::connect(&server).await;
    let mut bytes = get("/first");
    let second = get("/second");
    bytes.extend_from_slice(&second[..10]);
    client.send(&bytes).await;
    client.expect("GET /first body=0").await;
    tokio::time::sleep(PAUSE).await;
    client.send(&second[10..]).await;
    client.expect("GET /second body=0").await;
    server.stop().await;
}

#[tokio::test]
async fn requests_with_bodies_and_without_alternate() {
    let server = Server::start(Timeouts::default()).await;
    let mut client = Client::connect(&server).await;
    for i in 0..3 {
        client
            .send(b"POST /post HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world")
            .await;
        client.expect("POST /post body=11").await;
        client
            .send(b"POST /chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            .await;
        client.expect("POST /chunked body=3").await;
        client.get(&format!("/after{i}")).await;
        tokio::time::sleep(PAUSE).await;
    }
    server.stop().await;
}

/// 36 bytes that would parse as a request of their own.
const SMUGGLED: &[u8; 36] = b"GET /smuggled HTTP/1.1\r\nHost: tt\r\n\r\n";

/// The head of a request whose 36-byte body the server answers without reading.
const UNREAD_BODY_HEAD: &[u8] =
    b"POST /ignore-body HTTP/1.1\r\nHost: test\r\nContent-Length: 36\r\n\r\n";

/// The service answers without reading the body: the server skips it and reads the
/// next request after it.
#[tokio::test]
async fn an_unread_body_is_skipped() {
    let server = Server::start(Timeouts::default()).await;
    let mut client = Client::connect(&server).await;
    let mut bytes = UNREAD_BODY_HEAD.to_vec();
    bytes.extend_from_slice(SMUGGLED);
    client.send(&bytes).await;
    client.expect("POST /ignore-body body=0").await;
    tokio::time::sleep(PAUSE).await;
    client.get("/next").await;
    server.stop().await;
}

/// The service answers before the body has arrived: the body that comes later is never
/// taken for a request (hyper closes such a connection, or skips the body).
#[tokio::test]
async fn a_body_sent_after_its_answer_is_not_taken_for_a_request() {
    let server = Server::start(Timeouts::default()).await;
    let mut client = Client::connect(&server).await;
    client.send(UNREAD_BODY_HEAD).await;
    client.expect("POST /ignore-body body=0").await;
    tokio::time::sleep(PAUSE).await;
    let mut rest = SMUGGLED.to_vec();
    rest.extend(get("/next"));
    // The server may have closed the connection already: then the write fails or the
    // read below sees the end.
    let _ = client.stream.write_all(&rest).await;
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    let got = String::from_utf8_lossy(&got);
    assert!(
        !got.contains("/smuggled"),
        "the body was served as a request: {got}"
    );
    server.stop().await;
}

#[tokio::test]
async fn http_1_0_without_keep_alive_is_answered_and_closed() {
    let server = Server::start(Timeouts::default()).await;
    let mut client = Client::connect(&server).await;
    client.send(b"GET /old HTTP/1.0\r\n\r\n").await;
    client.expect("GET /old body=0").await;
    client.closed_within(Duration::from_secs(5)).await;
    server.stop().await;
}

/// A small deterministic generator (xorshift64*), so a failing case can be replayed from
/// its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Many requests of every kind, their bytes cut at random places and sent with random
/// pauses (some longer than the release time, so the connection goes back to waiting
/// between pieces, in the middle of a head or of a body): every request is answered once,
/// in order, on the one connection.
#[tokio::test]
async fn requests_cut_anywhere_and_paused_anywhere_are_all_answered_in_order() {
    let server = Server::start(Timeouts::default()).await;
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let client = Client::connect(&server).await;
        let port = client.port;
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for i in 0..8 {
            match rng.below(3) {
                0 => {
                    bytes.extend(get(&format!("/g{i}")));
                    expected.push(format!("GET /g{i} body=0 port={port}"));
                }
                1 => {
                    let len = rng.below(40) as usize;
                    bytes.extend(
                        format!(
                            "POST /p{i} HTTP/1.1\r\nHost: test\r\nContent-Length: {len}\r\n\r\n"
                        )
                        .into_bytes(),
                    );
                    bytes.extend(std::iter::repeat_n(b'x', len));
                    expected.push(format!("POST /p{i} body={len} port={port}"));
                }
                _ => {
                    bytes.extend(
                        format!("POST /c{i} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n")
                            .into_bytes(),
                    );
                    expected.push(format!("POST /c{i} body=6 port={port}"));
                }
            }
        }
        let (mut reader, mut writer) = client.stream.into_split();
        let sending = tokio::spawn(async move {
            let mut at = 0;
            while at < bytes.len() {
                let piece = (1 + rng.below(60) as usize).min(bytes.len() - at);
                writer.write_all(&bytes[at..at + piece]).await.unwrap();
                at += piece;
                let pause = [0, 0, 2, PAUSE.as_millis() as u64][rng.below(4) as usize];
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            writer
        });
        let mut pending = Vec::new();
        let mut answers = Vec::new();
        for _ in 0..expected.len() {
            answers.push(
                crate::read_answer_from(&mut reader, &mut pending)
                    .await
                    .body,
            );
        }
        drop(sending.await.unwrap());
        assert_eq!(answers, expected, "seed {seed}");
    }
    server.stop().await;
}
