//! The follower's authority served by `dns_server::run`: a write to the store is
//! answered over UDP, and a delete is NXDOMAIN.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

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
