//! 0x20: the question is echoed byte for byte, whatever its letter case, and lookups
//! ignore case.

use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use rand::{Rng, SeedableRng};

use crate::harness::{TestServer, dig, udp_exchange};

/// A query with the question written by hand (so its case is exactly `qname`'s).
fn raw_query(id: u16, qname: &str, qtype: u16, edns: bool) -> (Vec<u8>, std::ops::Range<usize>) {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&[0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]);
    bytes.extend_from_slice(&[0x00, u8::from(edns)]);
    let start = bytes.len();
    for label in qname.trim_end_matches('.').split('.') {
        bytes.push(u8::try_from(label.len()).unwrap());
        bytes.extend_from_slice(label.as_bytes());
    }
    bytes.push(0);
    bytes.extend_from_slice(&qtype.to_be_bytes());
    bytes.extend_from_slice(&1u16.to_be_bytes());
    let question = start..bytes.len();
    if edns {
        bytes.extend_from_slice(&[0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    }
    (bytes, question)
}

async fn assert_echoed(server: &TestServer, qname: &str, qtype: u16, edns: bool) -> Message {
    let (bytes, question) = raw_query(0x2020, qname, qtype, edns);
    let reply = udp_exchange(server.addr, &bytes, Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(
        &reply[question.clone()],
        &bytes[question],
        "question of {qname} echoed byte for byte"
    );
    Message::from_vec(&reply).unwrap()
}

#[tokio::test]
async fn the_question_is_echoed_byte_for_byte() {
    let server = TestServer::start().await;
    let reply = assert_echoed(&server, "WwW.ExAmPlE.TeSt", 1, true).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 1);
    assert!(reply.answers[0].name.eq_ignore_root(&reply.queries[0].name));

    // Negative, refused, truncated and error answers keep it too.
    let reply = assert_echoed(&server, "NoPe.EXAMPLE.test", 1, false).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    let reply = assert_echoed(&server, "Www.ElseWhere.Invalid", 1, true).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    let reply = assert_echoed(&server, "BIG.example.TEST", 16, false).await;
    assert!(reply.metadata.truncation);
    let reply = assert_echoed(&server, "wWw.eXaMpLe.tEsT", 252, false).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NotImp);
}

#[tokio::test]
async fn random_case_names_are_found_and_echoed() {
    let server = TestServer::start().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x2020);
    for (qname, qtype) in [
        ("_acme-challenge._tcp.www.example.test", RecordType::SRV),
        ("_acme-challenge.www.example.test", RecordType::TXT),
        ("host.sub.example.test", RecordType::A),
        ("c1.example.test", RecordType::A),
    ] {
        for _ in 0..8 {
            let mixed: String = qname
                .chars()
                .map(|c| {
                    if rng.random::<bool>() {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            let reply = assert_echoed(&server, &mixed, u16::from(qtype), true).await;
            assert_eq!(
                reply.metadata.response_code,
                ResponseCode::NoError,
                "{mixed}"
            );
            assert!(
                reply.answers.iter().any(|r| r.record_type() == qtype),
                "{mixed}: {reply:?}"
            );
        }
    }
}

#[tokio::test]
async fn dig_sees_its_own_case_in_the_question() {
    let server = TestServer::start().await;
    let out = dig(&server, &["wWw.ExAmple.TEST", "A"]).await;
    assert_eq!(out.status, "NOERROR", "{}", out.raw);
    assert_eq!(out.question.len(), 1, "{}", out.raw);
    assert!(
        out.question[0].starts_with("wWw.ExAmple.TEST.\t"),
        "{:?}",
        out.question
    );
    assert_eq!(out.answer_data("A"), ["192.0.2.1"]);
}
