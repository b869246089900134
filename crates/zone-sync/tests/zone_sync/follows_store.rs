//! The snapshot follows the store: what is written is served, what is deleted is not.

use std::sync::Arc;

use hickory_proto::rr::{RData, RecordType};
use record_store::{RecordData, RecordStore, SqliteStore};

use crate::harness::{ACME_ZONE, Following, txt};

#[tokio::test]
async fn records_stored_before_the_start_are_served_at_once() {
    let (_dir, store) = crate::harness::temp_store().await;
    store
        .add_record(&txt("early.acme.test", "here"))
        .await
        .unwrap();

    let following = Following::start_with(store.clone(), ACME_ZONE).await;

    assert_eq!(following.txt_values("early.acme.test."), ["here"]);
    assert_eq!(
        following.authority.snapshot().serial(),
        store.serial().await.unwrap()
    );
    following.stop().await;
}

#[tokio::test]
async fn a_write_to_the_store_is_served() {
    let following = Following::start(ACME_ZONE).await;
    assert!(
        following
            .served("_acme-challenge._tcp.www.acme.test.", RecordType::SRV)
            .is_none()
    );

    following
        .store
        .add_record(&record_store::Record {
            owner: "_acme-challenge._tcp.www.acme.test".to_owned(),
            ttl: 30,
            data: RecordData::Srv {
                priority: 10,
                weight: 0,
                port: 8402,
                target: "client.acme.test".to_owned(),
            },
        })
        .await
        .unwrap();
    following.caught_up().await;

    let served = following
        .served("_acme-challenge._tcp.www.acme.test.", RecordType::SRV)
        .expect("the SRV record is served");
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].ttl, 30);
    let RData::SRV(srv) = &served[0].data else {
        panic!("{:?}", served[0].data)
    };
    assert_eq!((srv.priority, srv.port), (10, 8402));
    assert_eq!(srv.target.to_ascii(), "client.acme.test.");
    following.stop().await;
}

#[tokio::test]
async fn a_deleted_record_is_no_longer_served() {
    let following = Following::start(ACME_ZONE).await;
    following
        .store
        .add_record(&txt("gone.acme.test", "1"))
        .await
        .unwrap();
    following
        .store
        .add_record(&txt("kept.acme.test", "1"))
        .await
        .unwrap();
    following.caught_up().await;
    assert_eq!(following.txt_values("gone.acme.test."), ["1"]);

    let deleted = following
        .store
        .delete_records("gone.acme.test", None)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    following.caught_up().await;

    assert!(
        following
            .served("gone.acme.test.", RecordType::TXT)
            .is_none()
    );
    assert_eq!(following.txt_values("kept.acme.test."), ["1"]);
    following.stop().await;
}

#[tokio::test]
async fn a_replaced_rrset_is_served_whole() {
    let following = Following::start(ACME_ZONE).await;
    let owner = "_acme-challenge.www.acme.test";
    following
        .store
        .add_record(&txt(owner, "old"))
        .await
        .unwrap();
    following.caught_up().await;

    let new = [txt(owner, "new-1"), txt(owner, "new-2")];
    following
        .store
        .replace_rrset(owner, record_store::RecordType::Txt, &new)
        .await
        .unwrap();
    following.caught_up().await;

    assert_eq!(
        following.txt_values("_acme-challenge.www.acme.test."),
        ["new-1", "new-2"]
    );
    following.stop().await;
}

#[tokio::test]
async fn a_burst_of_concurrent_writes_is_served_in_full() {
    let following = Following::start(ACME_ZONE).await;
    let writes: Vec<_> = (0..40)
        .map(|i| {
            let store = following.store.clone();
            tokio::spawn(async move {
                store
                    .add_record(&txt(&format!("n{i}.acme.test"), "burst"))
                    .await
                    .unwrap();
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap();
    }
    following.caught_up().await;

    for i in 0..40 {
        assert_eq!(
            following.txt_values(&format!("n{i}.acme.test.")),
            ["burst"],
            "n{i}"
        );
    }
    following.stop().await;
}

#[tokio::test]
async fn a_change_journal_too_short_to_reach_back_still_ends_equal_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn RecordStore> = Arc::new(
        SqliteStore::open(&dir.path().join("records.sqlite"))
            .await
            .unwrap()
            .with_journal_rows(1),
    );
    let following = Following::start_with(store, ACME_ZONE).await;

    for i in 0..20 {
        following
            .store
            .add_record(&txt(&format!("n{i}.acme.test"), "1"))
            .await
            .unwrap();
    }
    following
        .store
        .delete_records("n0.acme.test", None)
        .await
        .unwrap();
    following.caught_up().await;

    assert!(following.served("n0.acme.test.", RecordType::TXT).is_none());
    for i in 1..20 {
        assert_eq!(following.txt_values(&format!("n{i}.acme.test.")), ["1"]);
    }
    following.stop().await;
}

#[tokio::test]
async fn a_stored_record_outside_every_zone_is_left_out_and_the_rest_served() {
    let following = Following::start(ACME_ZONE).await;
    following
        .store
        .add_record(&txt("a.other.test", "outside"))
        .await
        .unwrap();
    following
        .store
        .add_record(&txt("a.acme.test", "inside"))
        .await
        .unwrap();
    following.caught_up().await;

    assert!(following.served("a.other.test.", RecordType::TXT).is_none());
    assert_eq!(following.txt_values("a.acme.test."), ["inside"]);
    following.stop().await;
}
