//! Hostile input: truncated headers, bad labels, compression loops, wrong counts, and
//! 1000 random or mutated packets from a seeded RNG. Each is answered FORMERR (small, no
//! amplification) or dropped; nothing panics; the server answers normally afterwards.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::UdpSocket;

use crate::harness::{TestServer, dig, query, tcp_exchange, udp_exchange, udp_query};

/// Panics outside the test files themselves (in the server, hickory, or a task they
/// spawn), counted by a panic hook.
static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_server_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_tests = info
                .location()
                .is_some_and(|l| l.file().contains("tests/dns/"));
            if !in_tests {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    FormErr,
    Dropped,
    FormErrOrDropped,
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&flags.to_be_bytes());
    for count in counts {
        bytes.extend_from_slice(&count.to_be_bytes());
    }
    bytes
}

fn with(mut bytes: Vec<u8>, tail: &[u8]) -> Vec<u8> {
    bytes.extend_from_slice(tail);
    bytes
}

/// `www.example.test. A IN` in wire form.
const QUESTION: &[u8] = b"\x03www\x07example\x04test\x00\x00\x01\x00\x01";
/// An OPT record (1232 bytes).
const OPT: &[u8] = &[0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0];

fn battery() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let q = |counts| header(0x1234, 0x0000, counts);
    let mut long_name = Vec::new();
    for _ in 0..5 {
        long_name.push(63);
        long_name.extend_from_slice(&[b'a'; 63]);
    }
    long_name.extend_from_slice(&[0, 0, 1, 0, 1]);
    vec![
        ("empty packet", Vec::new(), Expect::Dropped),
        ("one byte", vec![0x12], Expect::Dropped),
        (
            "truncated header",
            q([1, 0, 0, 0])[..11].to_vec(),
            Expect::Dropped,
        ),
        ("header only, QDCOUNT=1", q([1, 0, 0, 0]), Expect::FormErr),
        ("QDCOUNT=0", q([0, 0, 0, 0]), Expect::FormErr),
        (
            "QDCOUNT=2",
            with(with(q([2, 0, 0, 0]), QUESTION), QUESTION),
            Expect::FormErr,
        ),
        (
            "QDCOUNT=2 with one question",
            with(q([2, 0, 0, 0]), QUESTION),
            Expect::FormErr,
        ),
        (
            "QDCOUNT=65535",
            with(q([65535, 0, 0, 0]), QUESTION),
            Expect::FormErr,
        ),
        (
            "label longer than the packet",
            with(q([1, 0, 0, 0]), b"\x05ab"),
            Expect::FormErr,
        ),
        (
            "question without type and class",
            with(q([1, 0, 0, 0]), b"\x03www\x00"),
            Expect::FormErr,
        ),
        (
            "extended label type 01",
            with(q([1, 0, 0, 0]), b"\x41abc\x00\x00\x01\x00\x01"),
            Expect::FormErr,
        ),
        (
            "reserved label type 10",
            with(q([1, 0, 0, 0]), b"\x81abc\x00\x00\x01\x00\x01"),
            Expect::FormErr,
        ),
        (
            "pointer to itself",
            with(q([1, 0, 0, 0]), b"\xc0\x0c\x00\x01\x00\x01"),
            Expect::FormErr,
        ),
        (
            "two pointers in a loop",
            with(q([1, 0, 0, 0]), b"\x01a\xc0\x0e\x00\x01\x00\x01"),
            Expect::FormErr,
        ),
        (
            "pointer past the end",
            with(q([1, 0, 0, 0]), b"\xc0\xff\x00\x01\x00\x01"),
            Expect::FormErr,
        ),
        (
            // Read literally, the flags' zero byte is the root name; but the question
            // is echoed, and the pointer would then point into the response's header.
            "pointer into the header",
            with(q([1, 0, 0, 0]), b"\xc0\x02\x00\x01\x00\x01"),
            Expect::FormErr,
        ),
        (
            "name over 255 bytes",
            with(q([1, 0, 0, 0]), &long_name),
            Expect::FormErr,
        ),
        (
            "ANCOUNT=1 without a record",
            with(q([1, 1, 0, 0]), QUESTION),
            Expect::FormErr,
        ),
        (
            "two OPT records",
            with(with(with(q([1, 0, 0, 2]), QUESTION), OPT), OPT),
            Expect::FormErr,
        ),
        (
            "OPT in the answer section",
            with(with(q([1, 1, 0, 0]), QUESTION), OPT),
            Expect::FormErr,
        ),
        (
            "RDLENGTH past the end",
            with(
                with(q([1, 0, 0, 1]), QUESTION),
                &[0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0x01, 0x00, 1, 2],
            ),
            Expect::FormErr,
        ),
        (
            "a response (QR=1)",
            with(header(0x1234, 0x8400, [1, 0, 0, 0]), QUESTION),
            Expect::Dropped,
        ),
        (
            "a broken response (QR=1)",
            with(header(0x1234, 0x8400, [1, 0, 0, 0]), b"\xc0\x0c"),
            Expect::FormErrOrDropped,
        ),
    ]
}

/// Checks a reply to `request`: a FORMERR header with the request's ID, no bigger than
/// the request plus an OPT record.
fn assert_formerr(what: &str, request: &[u8], reply: &[u8]) {
    assert!(reply.len() >= 12, "{what}: reply shorter than a header");
    assert_eq!(reply[..2], request[..2], "{what}: ID");
    assert!(reply[2] & 0x80 != 0, "{what}: QR set");
    assert_eq!(reply[3] & 0x0f, 1, "{what}: FORMERR");
    assert!(
        reply.len() <= request.len().max(12) + 11,
        "{what}: {} bytes in reply to {} (amplification)",
        reply.len(),
        request.len()
    );
}

async fn assert_still_answering(server: &TestServer) {
    let reply = udp_query(server.addr, "www.example.test.", RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 1);
    let out = dig(server, &["www.example.test", "A"]).await;
    assert_eq!(out.answer_data("A"), ["192.0.2.1"], "{}", out.raw);
}

#[tokio::test]
async fn malformed_packets_get_formerr_or_nothing() {
    count_server_panics();
    let server = TestServer::start().await;
    for (what, bytes, expect) in battery() {
        let reply = udp_exchange(server.addr, &bytes, Duration::from_millis(400)).await;
        match (expect, reply) {
            (Expect::Dropped, None) | (Expect::FormErrOrDropped, None) => {}
            (Expect::FormErr | Expect::FormErrOrDropped, Some(reply)) => {
                assert_formerr(what, &bytes, &reply);
            }
            (expect, reply) => panic!("{what}: expected {expect:?}, got {reply:?}"),
        }
    }
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "the server panicked"
    );
    assert_still_answering(&server).await;
}

#[tokio::test]
async fn malformed_packets_over_tcp_do_not_break_the_server() {
    count_server_panics();
    let server = TestServer::start().await;
    for (what, bytes, _) in battery() {
        if bytes.len() < 12 {
            continue;
        }
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let len = u16::try_from(bytes.len()).unwrap().to_be_bytes();
        stream.write_all(&len).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        let mut prefix = [0u8; 2];
        let read = tokio::time::timeout(Duration::from_millis(400), stream.read_exact(&mut prefix));
        if let Ok(Ok(_)) = read.await {
            let mut reply = vec![0; usize::from(u16::from_be_bytes(prefix))];
            stream.read_exact(&mut reply).await.unwrap();
            assert_formerr(what, &bytes, &reply);
        }
    }
    // A length prefix promising more than is sent, then a close.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, &[0xff, 0xff, 1, 2, 3])
        .await
        .unwrap();
    drop(stream);
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "the server panicked"
    );
    assert_still_answering(&server).await;
}

/// 1000 packets: a third pure random bytes, a third a random body behind a query
/// header, a third valid queries with a few bytes flipped or cut short. Each packet of
/// 2 bytes or more carries its index as ID, so replies can be matched.
fn random_packets() -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(0x00dd_5eed);
    let valid: Vec<Vec<u8>> = [
        ("www.example.test.", RecordType::A, Some(1232)),
        (
            "_acme-challenge._tcp.www.example.test.",
            RecordType::SRV,
            None,
        ),
        ("big.example.test.", RecordType::TXT, Some(4096)),
        ("c1.example.test.", RecordType::A, Some(512)),
    ]
    .into_iter()
    .map(|(qname, qtype, edns)| query(qname, qtype, edns).to_vec().unwrap())
    .collect();

    (0..1000u16)
        .map(|i| {
            let mut packet = match i % 3 {
                0 => {
                    let len = rng.random_range(0..600);
                    (0..len).map(|_| rng.random()).collect::<Vec<u8>>()
                }
                1 => {
                    let counts = [
                        rng.random_range(0..4),
                        rng.random_range(0..3),
                        rng.random_range(0..3),
                        rng.random_range(0..3),
                    ];
                    let len = rng.random_range(0..300);
                    let body: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                    with(header(0, 0x0000, counts), &body)
                }
                _ => {
                    let mut packet = valid[rng.random_range(0..valid.len())].clone();
                    for _ in 0..rng.random_range(1..=4) {
                        let at = rng.random_range(2..packet.len());
                        packet[at] = rng.random();
                    }
                    if rng.random_bool(0.3) {
                        packet.truncate(rng.random_range(0..packet.len()));
                    }
                    packet
                }
            };
            if packet.len() >= 2 {
                packet[..2].copy_from_slice(&i.to_be_bytes());
            }
            packet
        })
        .collect()
}

/// Receives replies until none has come for `quiet`.
async fn drain(socket: &UdpSocket, replies: &mut HashMap<u16, Vec<Vec<u8>>>, quiet: Duration) {
    let mut buffer = vec![0; 65535];
    while let Ok(Ok((len, _))) = tokio::time::timeout(quiet, socket.recv_from(&mut buffer)).await {
        let reply = buffer[..len].to_vec();
        let id = if len >= 2 {
            u16::from_be_bytes([reply[0], reply[1]])
        } else {
            u16::MAX
        };
        replies.entry(id).or_default().push(reply);
    }
}

async fn send_all(addr: SocketAddr, packets: &[Vec<u8>]) -> HashMap<u16, Vec<Vec<u8>>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut replies = HashMap::new();
    for batch in packets.chunks(25) {
        for packet in batch {
            socket.send_to(packet, addr).await.unwrap();
        }
        drain(&socket, &mut replies, Duration::from_millis(50)).await;
    }
    drain(&socket, &mut replies, Duration::from_millis(300)).await;
    replies
}

#[tokio::test]
async fn a_thousand_random_packets() {
    count_server_panics();
    let server = TestServer::start().await;
    let packets = random_packets();
    let replies = send_all(server.addr, &packets).await;

    let mut formerr = 0;
    let mut answered = 0;
    for (id, replies) in &replies {
        let request = packets
            .get(usize::from(*id))
            .unwrap_or_else(|| panic!("a reply with an ID nobody sent: {id}"));
        assert_eq!(
            replies.len(),
            1,
            "packet {id} got {} replies",
            replies.len()
        );
        let reply = &replies[0];
        let what = format!("packet {id} ({request:02x?})");
        assert!(
            reply.len() >= 12 && reply[2] & 0x80 != 0,
            "{what}: not a response"
        );
        assert!(reply.len() <= 4096, "{what}: reply over 4096 bytes");
        match Message::from_vec(request) {
            // Not a message: FORMERR, from hickory's parser.
            Err(_) => {
                assert_formerr(&what, request, reply);
                formerr += 1;
            }
            Ok(parsed) => {
                assert!(
                    !parsed
                        .metadata
                        .message_type
                        .eq(&hickory_proto::op::MessageType::Response),
                    "{what}: a response was answered"
                );
                let reply = Message::from_vec(reply)
                    .unwrap_or_else(|e| panic!("{what}: undecodable reply: {e}"));
                assert_eq!(reply.metadata.op_code, parsed.metadata.op_code, "{what}");
                answered += 1;
            }
        }
    }
    eprintln!(
        "{} packets: {formerr} FORMERR, {answered} answered, {} dropped",
        packets.len(),
        packets.len() - formerr - answered
    );
    assert!(formerr > 100, "the fuzz should reach the parser: {formerr}");
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "the server panicked"
    );
    assert_still_answering(&server).await;
}

/// Found by fuzzing (`dns_general_path`): the question is echoed byte for byte, so a name
/// that is a compression pointer into the header (`c0 00`, which hickory accepts in the
/// query: offset 0 reads as the label `\000`, then the zero flags byte as the root)
/// pointed at the response's header, whose QR bit makes it an invalid label type: the
/// response did not decode ("unrecognized label code: 10000000"). A question with a
/// pointer is now FORMERR without the question.
#[tokio::test]
async fn a_question_pointing_into_the_header_gets_a_decodable_answer() {
    let server = TestServer::start().await;
    let query = [
        0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00,
        0x01, 0x00, 0x01,
    ];
    let udp = udp_exchange(server.addr, &query, Duration::from_secs(5))
        .await
        .expect("an answer");
    let tcp = tcp_exchange(server.addr, &query).await;
    for (transport, reply) in [("TCP", tcp), ("UDP", udp)] {
        assert_eq!(reply[..2], query[..2], "{transport}");
        let decoded = Message::from_vec(&reply);
        assert!(decoded.is_ok(), "{transport}: {decoded:?}: {reply:02x?}");
    }
}
