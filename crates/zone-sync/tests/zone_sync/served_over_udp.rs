//! The follower's authority served by `dns_server::run`: a write to the store is
//! answered over UDP, and a delete is NXDOMAIN; a change to an SRV target's addresses
//! reaches the additional section of the SRV answer.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use record_store::RecordData;

use crate::harness::{ACME_ZONE, Following, dns_name, txt};

/// Asks `server` for `name`/`record_type` once over UDP.
async fn ask(server: SocketAddr, name: &str, record_type: RecordType) -> Message {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut query = Message::new(4242, MessageType::Query, OpCode::Query);
    query.add_query(Query::query(dns_name(name), record_type));
    socket
        .send_to(&query.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buffer = vec![0; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
        .await
        .expect("the server answers within 5 s")
        .unwrap();
    Message::from_vec(&buffer[..len]).unwrap()
}

#[tokio::test]
async fn a_stored_record_is_answered_and_a_deleted_one_is_nxdomain() {
    let following = Following::start(ACME_ZONE).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = socket.local_addr().unwrap();
    let stop = CancellationToken::new();
    let serving = tokio::spawn(dns_server::run(
        following.authority.clone(),
        vec![socket],
        Vec::new(),
        stop.clone().cancelled_owned(),
    ));

    following
        .store
        .add_record(&txt("_acme-challenge.www.acme.test", "token"))
        .await
        .unwrap();
    following.caught_up().await;
    let answer = ask(server, "_acme-challenge.www.acme.test.", RecordType::TXT).await;
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
    assert!(answer.metadata.authoritative);
    let [record] = answer.answers.as_slice() else {
        panic!("{answer:?}")
    };
    let RData::TXT(value) = &record.data else {
        panic!("{record:?}")
    };
    assert_eq!(value.txt_data[0].as_ref(), b"token");

    following
        .store
        .delete_records("_acme-challenge.www.acme.test", None)
        .await
        .unwrap();
    following.caught_up().await;
    let answer = ask(server, "_acme-challenge.www.acme.test.", RecordType::TXT).await;
    assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);

    stop.cancel();
    serving.await.unwrap().unwrap();
    following.stop().await;
}

/// The addresses in the additional section of the SRV answer at `owner`.
async fn additional_addresses(server: SocketAddr, owner: &str) -> Vec<String> {
    let answer = ask(server, owner, RecordType::SRV).await;
    assert_eq!(answer.answers.len(), 1, "{answer:?}");
    answer
        .additionals
        .iter()
        .map(|record| format!("{} {}", record.name, record.data))
        .collect()
}

#[tokio::test]
async fn a_changed_address_of_an_srv_target_is_in_the_srv_answer_at_once() {
    let following = Following::start(ACME_ZONE).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = socket.local_addr().unwrap();
    let stop = CancellationToken::new();
    let serving = tokio::spawn(dns_server::run(
        following.authority.clone(),
        vec![socket],
        Vec::new(),
        stop.clone().cancelled_owned(),
    ));
    let record = |owner: &str, data| record_store::Record {
        owner: owner.to_owned(),
        ttl: 60,
        data,
    };
    let a = |last: u8| RecordData::A {
        address: Ipv4Addr::new(192, 0, 2, last),
    };
    let owner = "_acme-challenge._tcp.www.acme.test";
    let store = &following.store;
    store
        .add_record(&record(
            owner,
            RecordData::Srv {
                priority: 0,
                weight: 0,
                port: 8080,
                target: "h.acme.test".to_owned(),
            },
        ))
        .await
        .unwrap();
    store
        .add_record(&record("h.acme.test", a(1)))
        .await
        .unwrap();
    following.caught_up().await;
    assert_eq!(
        additional_addresses(server, owner).await,
        ["h.acme.test. 192.0.2.1"]
    );

    // Only the target's owner changes: the SRV RRset is encoded again with it.
    store
        .replace_rrset(
            "h.acme.test",
            record_store::RecordType::A,
            &[record("h.acme.test", a(2))],
        )
        .await
        .unwrap();
    store
        .add_record(&record(
            "h.acme.test",
            RecordData::Aaaa {
                address: "2001:db8::2".parse().unwrap(),
            },
        ))
        .await
        .unwrap();
    following.caught_up().await;
    assert_eq!(
        additional_addresses(server, owner).await,
        ["h.acme.test. 192.0.2.2", "h.acme.test. 2001:db8::2"]
    );

    store.delete_records("h.acme.test", None).await.unwrap();
    following.caught_up().await;
    assert!(additional_addresses(server, owner).await.is_empty());

    stop.cancel();
    serving.await.unwrap().unwrap();
    following.stop().await;
}
