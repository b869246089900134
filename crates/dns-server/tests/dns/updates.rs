//! Replacing the snapshot while serving: the new serial and records are visible at once.

use dns_server::Snapshot;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::harness::{SERIAL, TestServer, dig, dynamic_records, txt, udp_query, zones};

fn serial_of(reply: &hickory_proto::op::Message) -> u32 {
    let soa = reply
        .answers
        .iter()
        .chain(&reply.authorities)
        .find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        });
    soa.expect("a SOA in the answer")
}

#[tokio::test]
async fn replace_bumps_the_serial_and_serves_the_new_records() {
    let server = TestServer::start().await;
    let reply = udp_query(server.addr, "example.test.", RecordType::SOA).await;
    assert_eq!(serial_of(&reply), SERIAL);
    let reply = udp_query(server.addr, "new.example.test.", RecordType::TXT).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);

    let mut records = dynamic_records();
    records.push(txt("new.example.test.", "fresh"));
    let (snapshot, skipped) = Snapshot::build(&zones(), records, SERIAL + 1);
    assert!(skipped.is_empty());
    server.authority.replace(snapshot);
    assert_eq!(server.authority.snapshot().serial(), SERIAL + 1);

    for zone in ["example.test.", "sub.example.test.", "other.test."] {
        let reply = udp_query(server.addr, zone, RecordType::SOA).await;
        assert_eq!(serial_of(&reply), SERIAL + 1, "{zone}");
    }
    let reply = udp_query(server.addr, "new.example.test.", RecordType::TXT).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 1);
    // Negative answers carry the new serial too.
    let reply = udp_query(server.addr, "gone.example.test.", RecordType::TXT).await;
    assert_eq!(serial_of(&reply), SERIAL + 1);

    let out = dig(&server, &["example.test", "SOA"]).await;
    assert!(
        out.answer[0].data.contains(" 8 3600 600 86400 60"),
        "{}",
        out.raw
    );

    // Removing the record: the next snapshot does not have it.
    let (snapshot, _) = Snapshot::build(&zones(), dynamic_records(), SERIAL + 2);
    server.authority.replace(snapshot);
    let reply = udp_query(server.addr, "new.example.test.", RecordType::TXT).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(serial_of(&reply), SERIAL + 2);
}

#[tokio::test]
async fn replacing_while_queries_run_never_fails_a_query() {
    let server = TestServer::start().await;
    let addr = server.addr;
    let queries = tokio::spawn(async move {
        for _ in 0..200 {
            let reply = udp_query(addr, "www.example.test.", RecordType::A).await;
            assert_eq!(reply.answers.len(), 1);
        }
    });
    for serial in 100..150 {
        let (snapshot, _) = Snapshot::build(&zones(), dynamic_records(), serial);
        server.authority.replace(snapshot);
        tokio::task::yield_now().await;
    }
    queries.await.unwrap();
}
