//! The store contract (`RecordStore`), on SQLite (temporary database files) and on
//! PostgreSQL (a fresh database of the test cluster each) alike: every test body runs on
//! both (`sqlite::NAME`, `postgres::NAME`). What only one backend promises is at the end:
//! SQLite's durability across `SIGKILL` of the writing process, and PostgreSQL's
//! instances sharing one database (tests/postgres.rs).
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[macro_use]
mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use record_store::model::{KeyScope, NewApiKey, Record, RecordData, RecordType, Registration};
use record_store::{RecordStore, SqliteStore, StoreError};
use support::{Backend, a, new_store, new_store_with_journal_rows, txt};

fn srv(owner: &str, port: u16) -> Record {
    Record {
        owner: owner.into(),
        ttl: 300,
        data: RecordData::Srv {
            priority: 10,
            weight: 5,
            port,
            target: "client.example.com".into(),
        },
    }
}

fn txt_values(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RecordData::Txt { value } => Some(value.clone()),
            _ => None,
        })
        .collect()
}

fn key(id: &str) -> NewApiKey {
    NewApiKey {
        id: id.into(),
        secret_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt$hash-{id}"),
        description: format!("key {id}"),
        scopes: vec![
            KeyScope::Exact("_acme-challenge._tcp.www.example.com".into()),
            KeyScope::Subtree("example.org".into()),
        ],
        source_cidrs: vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ],
    }
}

fn registration(username: &str, subdomain: &str) -> Registration {
    Registration {
        username: username.into(),
        password_hash: format!("$argon2id$hash-{username}"),
        subdomain: subdomain.into(),
        fulldomain: format!("{subdomain}.auth.example.com"),
        allow_from: vec!["192.0.2.0/24".parse().unwrap()],
    }
}

async fn open_by_url(backend: Backend) {
    let fresh = new_store(backend).await;
    let store = record_store::open(&fresh.url()).await.unwrap();
    store.add_record(&a("example.com", 1, 60)).await.unwrap();
    assert_eq!(store.all_records().await.unwrap().len(), 1);
    assert_eq!(fresh.all_records().await.unwrap().len(), 1);
    if backend == Backend::Postgres {
        // postgresql:// is the other spelling libpq accepts.
        let other = fresh.url().replacen("postgres://", "postgresql://", 1);
        let store = record_store::open(&other).await.unwrap();
        assert_eq!(store.all_records().await.unwrap().len(), 1);
    }
    assert!(matches!(
        record_store::open("mysql://localhost/acme").await,
        Err(StoreError::UnsupportedUrl(_))
    ));
}

async fn records_are_listed_in_order_and_by_subtree(backend: Backend) {
    let store = new_store(backend).await;
    assert!(store.all_records().await.unwrap().is_empty());
    let records = [
        txt("www.example.com", "second", 60),
        srv("_acme-challenge._tcp.www.example.com", 8080),
        a("www.example.com", 2, 300),
        txt("www.example.com", "first-inserted-later", 60),
        a("example.com", 1, 300),
        a("badexample.com", 3, 300),
        // Would match a LIKE '%._acme...' pattern, `_` being a LIKE wildcard.
        a("x.xacme-challenge._tcp.www.example.com", 4, 300),
        srv("_acme-tls-alpn._tcp.www.example.com", 8443),
    ];
    for record in &records {
        let stored = store.add_record(record).await.unwrap();
        assert_eq!(&stored, record);
    }

    let all = store.all_records().await.unwrap();
    let keys: Vec<(&str, RecordType)> = all
        .iter()
        .map(|r| (r.owner.as_str(), r.record_type()))
        .collect();
    assert_eq!(
        keys,
        [
            ("_acme-challenge._tcp.www.example.com", RecordType::Srv),
            ("_acme-tls-alpn._tcp.www.example.com", RecordType::Srv),
            ("badexample.com", RecordType::A),
            ("example.com", RecordType::A),
            ("www.example.com", RecordType::A),
            ("www.example.com", RecordType::Txt),
            ("www.example.com", RecordType::Txt),
            ("x.xacme-challenge._tcp.www.example.com", RecordType::A),
        ]
    );
    // Same type at one owner: insertion order.
    assert_eq!(txt_values(&all), ["second", "first-inserted-later"]);
    // Round trip of every field.
    assert!(all.contains(&srv("_acme-challenge._tcp.www.example.com", 8080)));

    let under = store.records_under("example.com").await.unwrap();
    assert_eq!(under.len(), 7, "{under:?}");
    assert!(under.iter().all(|r| r.owner != "badexample.com"));

    let under = store
        .records_under("_acme-challenge._tcp.www.example.com")
        .await
        .unwrap();
    assert_eq!(under, [srv("_acme-challenge._tcp.www.example.com", 8080)]);

    let under = store.records_under("www.example.com").await.unwrap();
    assert_eq!(under.len(), 6);
    assert!(
        store
            .records_under("nothing.example.net")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn add_record_dedups_and_updates_ttl(backend: Backend) {
    let store = new_store(backend).await;
    store
        .add_record(&txt("a.example.com", "token", 60))
        .await
        .unwrap();
    let serial = store.serial().await.unwrap();

    // Identical: no new row, no change, the serial stays.
    store
        .add_record(&txt("a.example.com", "token", 60))
        .await
        .unwrap();
    assert_eq!(store.all_records().await.unwrap().len(), 1);
    assert_eq!(store.serial().await.unwrap(), serial);

    // Same data, new TTL: still one row, with the new TTL, and a new serial.
    let stored = store
        .add_record(&txt("a.example.com", "token", 120))
        .await
        .unwrap();
    assert_eq!(stored.ttl, 120);
    assert_eq!(
        store.all_records().await.unwrap(),
        [txt("a.example.com", "token", 120)]
    );
    assert!(store.serial().await.unwrap() > serial);

    // Different data, owner or type: new rows.
    store
        .add_record(&txt("a.example.com", "other", 120))
        .await
        .unwrap();
    store
        .add_record(&txt("b.example.com", "token", 120))
        .await
        .unwrap();
    store.add_record(&a("a.example.com", 1, 120)).await.unwrap();
    assert_eq!(store.all_records().await.unwrap().len(), 4);
}

async fn replace_rrset_replaces_only_that_rrset(backend: Backend) {
    let store = new_store(backend).await;
    let owner = "_acme-challenge._tcp.www.example.com";
    store.add_record(&srv(owner, 1)).await.unwrap();
    store.add_record(&srv(owner, 2)).await.unwrap();
    store.add_record(&txt(owner, "keep me", 60)).await.unwrap();
    store
        .add_record(&srv("_acme-challenge._tcp.other.example.com", 3))
        .await
        .unwrap();

    let before = store.serial().await.unwrap();
    // Duplicates in the input are stored once.
    store
        .replace_rrset(
            owner,
            RecordType::Srv,
            &[srv(owner, 9), srv(owner, 8), srv(owner, 9)],
        )
        .await
        .unwrap();
    let after = store.serial().await.unwrap();
    assert!(after > before);
    let at_owner = store.records_under(owner).await.unwrap();
    assert_eq!(
        at_owner,
        [srv(owner, 9), srv(owner, 8), txt(owner, "keep me", 60)]
    );
    assert_eq!(
        store
            .records_under("other.example.com")
            .await
            .unwrap()
            .len(),
        1
    );

    // The same set again (in another order): no change, the serial stays.
    store
        .replace_rrset(owner, RecordType::Srv, &[srv(owner, 8), srv(owner, 9)])
        .await
        .unwrap();
    assert_eq!(store.serial().await.unwrap(), after);

    // An empty set deletes the RRset.
    store
        .replace_rrset(owner, RecordType::Srv, &[])
        .await
        .unwrap();
    assert!(store.serial().await.unwrap() > after);
    assert_eq!(
        store.records_under(owner).await.unwrap(),
        [txt(owner, "keep me", 60)]
    );
}

async fn delete_records_by_type_or_all(backend: Backend) {
    let store = new_store(backend).await;
    store
        .add_record(&a("www.example.com", 1, 60))
        .await
        .unwrap();
    store
        .add_record(&a("www.example.com", 2, 60))
        .await
        .unwrap();
    store
        .add_record(&txt("www.example.com", "t", 60))
        .await
        .unwrap();
    store
        .add_record(&txt("sub.www.example.com", "t", 60))
        .await
        .unwrap();

    let serial = store.serial().await.unwrap();
    assert_eq!(
        store
            .delete_records("www.example.com", Some(RecordType::Cname))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_records("nothing.example.com", None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.serial().await.unwrap(),
        serial,
        "deleting nothing is no change"
    );

    assert_eq!(
        store
            .delete_records("www.example.com", Some(RecordType::A))
            .await
            .unwrap(),
        2
    );
    let serial2 = store.serial().await.unwrap();
    assert!(serial2 > serial);
    assert_eq!(
        store.records_under("www.example.com").await.unwrap().len(),
        2
    );

    assert_eq!(
        store.delete_records("www.example.com", None).await.unwrap(),
        1
    );
    assert!(store.serial().await.unwrap() > serial2);
    // Names below are not the owner.
    assert_eq!(
        store.all_records().await.unwrap(),
        [txt("sub.www.example.com", "t", 60)]
    );
}

async fn push_txt_keeps_the_newest_values(backend: Backend) {
    let store = new_store(backend).await;
    let owner = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.com";
    store.add_record(&a(owner, 1, 60)).await.unwrap();
    store
        .add_record(&txt("other.example.com", "untouched", 60))
        .await
        .unwrap();

    let mut serial = store.serial().await.unwrap();
    for value in ["v1", "v2", "v3", "v4"] {
        store.push_txt(owner, value, 120, 2).await.unwrap();
        let now = store.serial().await.unwrap();
        assert!(now > serial);
        serial = now;
    }
    let at_owner = store.records_under(owner).await.unwrap();
    assert_eq!(txt_values(&at_owner), ["v3", "v4"]);
    assert!(
        at_owner
            .iter()
            .filter(|r| r.record_type() == RecordType::Txt)
            .all(|r| r.ttl == 120)
    );
    // Other types at the owner and TXT elsewhere stay.
    assert!(at_owner.contains(&a(owner, 1, 60)));
    assert!(store.all_records().await.unwrap().contains(&txt(
        "other.example.com",
        "untouched",
        60
    )));

    // Pushing a value that is there makes it the newest, not a duplicate.
    store.push_txt(owner, "v3", 120, 2).await.unwrap();
    assert_eq!(
        txt_values(&store.records_under(owner).await.unwrap()),
        ["v4", "v3"]
    );
    store.push_txt(owner, "v5", 120, 2).await.unwrap();
    assert_eq!(
        txt_values(&store.records_under(owner).await.unwrap()),
        ["v3", "v5"]
    );

    // A larger window keeps more.
    store.push_txt(owner, "v6", 120, 3).await.unwrap();
    assert_eq!(
        txt_values(&store.records_under(owner).await.unwrap()),
        ["v3", "v5", "v6"]
    );
    store.push_txt(owner, "v7", 120, 1).await.unwrap();
    assert_eq!(
        txt_values(&store.records_under(owner).await.unwrap()),
        ["v7"]
    );
}

async fn serial_strictly_increases_and_the_watch_fires(backend: Backend) {
    let store = new_store(backend).await;
    let first = store.serial().await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        u64::from(first) + 5 >= now && u64::from(first) <= now + 5,
        "time-based start: {first}"
    );

    let mut rx = store.subscribe();
    assert_eq!(*rx.borrow_and_update(), first);

    let mut last = first;
    let owner = "w.example.com";
    for step in 0..6u8 {
        match step {
            0 => drop(store.add_record(&a(owner, 1, 60)).await.unwrap()),
            1 => store
                .replace_rrset(owner, RecordType::A, &[a(owner, 2, 60)])
                .await
                .unwrap(),
            2 => store.push_txt(owner, "x", 60, 2).await.unwrap(),
            3 => assert_eq!(
                store
                    .delete_records(owner, Some(RecordType::Txt))
                    .await
                    .unwrap(),
                1
            ),
            4 => drop(store.add_record(&a(owner, 2, 90)).await.unwrap()),
            _ => assert_eq!(store.delete_records(owner, None).await.unwrap(), 1),
        }
        assert!(rx.has_changed().unwrap(), "step {step}: the watch fired");
        let seen = *rx.borrow_and_update();
        let serial = store.serial().await.unwrap();
        assert_eq!(seen, serial, "step {step}");
        assert!(serial > last, "step {step}: {serial} > {last}");
        last = serial;
    }

    // Key and registration changes are not record changes.
    store.create_key(&key("k1")).await.unwrap();
    store
        .create_registration(&registration("u1", "s1"))
        .await
        .unwrap();
    assert!(!rx.has_changed().unwrap());
    assert_eq!(store.serial().await.unwrap(), last);

    // A waiting subscriber is woken.
    let waiter = tokio::spawn(async move {
        rx.changed().await.unwrap();
        *rx.borrow()
    });
    tokio::task::yield_now().await;
    store.add_record(&a(owner, 3, 60)).await.unwrap();
    let woken = tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(woken, store.serial().await.unwrap());
    assert!(woken > last);
}

async fn the_change_journal_names_the_owners_changed_since_a_serial(backend: Backend) {
    let store = new_store(backend).await;
    let start = store.serial().await.unwrap();
    let changes = |since| {
        let store = &store;
        async move { store.changes_since(since).await.unwrap() }
    };
    // Nothing changed yet; a serial from before the journal existed cannot be answered.
    assert_eq!(
        changes(start).await.unwrap(),
        record_store::Changes {
            serial: start,
            owners: vec![]
        }
    );
    assert_eq!(changes(start - 1).await, None);

    store.add_record(&a("a.example.com", 1, 60)).await.unwrap();
    let after_a = store.serial().await.unwrap();
    store
        .replace_rrset("b.example.com", RecordType::A, &[a("b.example.com", 2, 60)])
        .await
        .unwrap();
    store.push_txt("c.example.com", "x", 60, 2).await.unwrap();
    store.add_record(&a("a.example.com", 3, 60)).await.unwrap();
    // No-ops change nothing and are not journaled.
    store.add_record(&a("a.example.com", 3, 60)).await.unwrap();
    store
        .delete_records("nothing.example.com", None)
        .await
        .unwrap();
    let now = store.serial().await.unwrap();

    let all = changes(start).await.unwrap();
    assert_eq!(all.serial, now);
    assert_eq!(
        all.owners,
        ["a.example.com", "b.example.com", "c.example.com"]
    );
    let later = changes(after_a).await.unwrap();
    assert_eq!(
        later.owners,
        ["a.example.com", "b.example.com", "c.example.com"],
        "a changed again after {after_a}"
    );
    assert_eq!(changes(now).await.unwrap().owners, Vec::<String>::new());

    store.delete_records("b.example.com", None).await.unwrap();
    assert_eq!(changes(now).await.unwrap().owners, ["b.example.com"]);
}

async fn a_pruned_journal_sends_the_reader_to_read_everything(backend: Backend) {
    let store = new_store_with_journal_rows(backend, 3).await;
    let mut serials = vec![store.serial().await.unwrap()];
    for i in 1..=5u8 {
        store
            .add_record(&a(&format!("h{i}.example.com"), i, 60))
            .await
            .unwrap();
        serials.push(store.serial().await.unwrap());
    }
    // Three rows kept: the changes at serials[3..=5]; since serials[2] is complete.
    assert_eq!(
        store
            .changes_since(serials[2])
            .await
            .unwrap()
            .unwrap()
            .owners,
        ["h3.example.com", "h4.example.com", "h5.example.com"]
    );
    assert_eq!(
        store
            .changes_since(serials[4])
            .await
            .unwrap()
            .unwrap()
            .owners,
        ["h5.example.com"]
    );
    for since in &serials[..2] {
        assert_eq!(
            store.changes_since(*since).await.unwrap(),
            None,
            "since {since}"
        );
    }
}

async fn records_at_reads_exact_owners(backend: Backend) {
    let store = new_store(backend).await;
    for record in [
        a("a.example.com", 1, 60),
        txt("a.example.com", "t", 60),
        a("sub.a.example.com", 2, 60),
        srv("_acme-challenge._tcp.b.example.com", 8080),
        a("c.example.com", 3, 60),
    ] {
        store.add_record(&record).await.unwrap();
    }
    let found = store
        .records_at(&[
            "a.example.com".to_owned(),
            "_acme-challenge._tcp.b.example.com".to_owned(),
            "missing.example.com".to_owned(),
        ])
        .await
        .unwrap();
    let owners: Vec<(&str, RecordType)> = found
        .iter()
        .map(|r| (r.owner.as_str(), r.record_type()))
        .collect();
    assert_eq!(
        owners,
        [
            ("_acme-challenge._tcp.b.example.com", RecordType::Srv),
            ("a.example.com", RecordType::A),
            ("a.example.com", RecordType::Txt),
        ]
    );
    assert!(store.records_at(&[]).await.unwrap().is_empty());
}

async fn api_keys(backend: Backend) {
    let store = new_store(backend).await;
    assert!(store.list_keys().await.unwrap().is_empty());
    assert!(store.find_key("k1").await.unwrap().is_none());

    let info = store.create_key(&key("k1")).await.unwrap();
    assert_eq!(info.id, "k1");
    assert!(!info.revoked);
    assert_eq!(info.scopes, key("k1").scopes);
    assert_eq!(info.source_cidrs, key("k1").source_cidrs);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((info.created_at - i64::try_from(now).unwrap()).abs() < 10);

    let found = store.find_key("k1").await.unwrap().unwrap();
    assert_eq!(found.info, info);
    assert_eq!(found.secret_hash, key("k1").secret_hash);

    let err = store.create_key(&key("k1")).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what.contains("k1")),
        "{err:?}"
    );

    let mut unrestricted = key("k2");
    unrestricted.source_cidrs.clear();
    unrestricted.scopes = vec![KeyScope::Subtree("example.net".into())];
    store.create_key(&unrestricted).await.unwrap();
    let listed = store.list_keys().await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        ["k1", "k2"]
    );
    assert_eq!(listed[1].scopes, unrestricted.scopes);
    assert!(listed[1].source_cidrs.is_empty());

    assert!(store.revoke_key("k1").await.unwrap());
    assert!(
        store.revoke_key("k1").await.unwrap(),
        "revoking twice still finds the key"
    );
    assert!(!store.revoke_key("nope").await.unwrap());
    assert!(store.find_key("k1").await.unwrap().unwrap().info.revoked);
    assert!(!store.find_key("k2").await.unwrap().unwrap().info.revoked);
    assert_eq!(
        store.list_keys().await.unwrap().len(),
        2,
        "revoked keys are still listed"
    );
}

async fn registrations(backend: Backend) {
    let store = new_store(backend).await;
    assert!(store.find_registration("u1").await.unwrap().is_none());
    let r1 = registration("u1", "s1");
    store.create_registration(&r1).await.unwrap();
    assert_eq!(store.find_registration("u1").await.unwrap().unwrap(), r1);

    let err = store
        .create_registration(&registration("u1", "s2"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what.contains("u1")),
        "{err:?}"
    );
    let err = store
        .create_registration(&registration("u2", "s1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what.contains("s1")),
        "{err:?}"
    );
    let mut same_subdomain = registration("u2", "s1");
    same_subdomain.fulldomain = "s1.other-zone.example.com".into();
    let err = store
        .create_registration(&same_subdomain)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what.contains("subdomain")),
        "{err:?}"
    );
    let mut same_fulldomain = registration("u2", "s9");
    same_fulldomain.fulldomain = r1.fulldomain.clone();
    let err = store
        .create_registration(&same_fulldomain)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what.contains("fulldomain")),
        "{err:?}"
    );

    let mut open = registration("u2", "s2");
    open.allow_from.clear();
    store.create_registration(&open).await.unwrap();
    assert_eq!(store.find_registration("u2").await.unwrap().unwrap(), open);

    // Deleting u1 removes the TXT values at its fulldomain, nothing else.
    store.push_txt(&r1.fulldomain, "a", 60, 2).await.unwrap();
    store.push_txt(&r1.fulldomain, "b", 60, 2).await.unwrap();
    store.add_record(&a(&r1.fulldomain, 1, 60)).await.unwrap();
    store
        .add_record(&txt(&format!("sub.{}", r1.fulldomain), "below", 60))
        .await
        .unwrap();
    store.push_txt(&open.fulldomain, "c", 60, 2).await.unwrap();
    let serial = store.serial().await.unwrap();
    let mut rx = store.subscribe();
    rx.borrow_and_update();

    assert!(store.delete_registration("u1").await.unwrap());
    assert!(store.find_registration("u1").await.unwrap().is_none());
    assert!(store.serial().await.unwrap() > serial);
    assert!(rx.has_changed().unwrap());
    let left = store.all_records().await.unwrap();
    assert_eq!(
        left.iter()
            .filter(|r| r.owner == r1.fulldomain)
            .cloned()
            .collect::<Vec<_>>(),
        [a(&r1.fulldomain, 1, 60)]
    );
    assert!(left.contains(&txt(&format!("sub.{}", r1.fulldomain), "below", 60)));
    assert!(left.contains(&txt(&open.fulldomain, "c", 60)));

    assert!(!store.delete_registration("u1").await.unwrap());
    assert!(store.find_registration("u2").await.unwrap().is_some());
    // The subdomain is free again.
    store
        .create_registration(&registration("u3", "s1"))
        .await
        .unwrap();
}

async fn data_survives_reopening(backend: Backend) {
    let fresh = new_store(backend).await;
    let (records, serial) = {
        let store = fresh.reopen().await;
        store.add_record(&a("example.com", 1, 60)).await.unwrap();
        store
            .add_record(&srv("_acme-challenge._tcp.example.com", 8080))
            .await
            .unwrap();
        store.push_txt("t.example.com", "v", 60, 2).await.unwrap();
        store.create_key(&key("k1")).await.unwrap();
        store.revoke_key("k1").await.unwrap();
        store
            .create_registration(&registration("u1", "s1"))
            .await
            .unwrap();
        let records = store.all_records().await.unwrap();
        let serial = store.serial().await.unwrap();
        (records, serial)
    };
    // Reopening runs the migrator again on an up-to-date database: a no-op.
    for _ in 0..2 {
        let store = fresh.reopen().await;
        assert_eq!(store.all_records().await.unwrap(), records);
        assert_eq!(store.serial().await.unwrap(), serial);
        assert_eq!(*store.subscribe().borrow(), serial);
        let k1 = store.find_key("k1").await.unwrap().unwrap();
        assert!(k1.info.revoked);
        assert_eq!(k1.secret_hash, key("k1").secret_hash);
        assert_eq!(
            store.find_registration("u1").await.unwrap().unwrap(),
            registration("u1", "s1")
        );
    }
    // The serial goes on increasing after a reopen.
    let store = fresh.reopen().await;
    store.add_record(&a("example.com", 2, 60)).await.unwrap();
    assert!(store.serial().await.unwrap() > serial);
}

async fn concurrent_writers_all_succeed(backend: Backend) {
    let store = new_store(backend).await;
    let store = Arc::new(store);
    let start = store.serial().await.unwrap();
    let mut rx = store.subscribe();
    let tasks: Vec<_> = (0..20u8)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..10u8 {
                    let owner = format!("t{task}.example.com");
                    store.add_record(&a(&owner, i, 60)).await.unwrap();
                    if i % 3 == 0 {
                        store
                            .push_txt(&owner, &format!("v{i}"), 60, 2)
                            .await
                            .unwrap();
                    }
                    // Reads alongside the writes.
                    assert!(!store.records_under(&owner).await.unwrap().is_empty());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = store.all_records().await.unwrap();
    assert_eq!(
        all.iter()
            .filter(|r| r.record_type() == RecordType::A)
            .count(),
        200
    );
    for task in 0..20u8 {
        let owner = format!("t{task}.example.com");
        for i in 0..10u8 {
            assert!(all.contains(&a(&owner, i, 60)), "{owner} {i}");
        }
        let values = txt_values(&store.records_under(&owner).await.unwrap());
        assert_eq!(values, ["v6", "v9"], "{owner}");
    }
    // 200 adds and 80 pushes, each at least one step.
    let end = store.serial().await.unwrap();
    assert!(end >= start + 280, "{start} -> {end}");
    assert_eq!(
        *rx.borrow_and_update(),
        end,
        "the feed ends on the last serial"
    );
}

/// Set for the re-executed test binary: the database the crash writer writes to.
const CRASH_DB_ENV: &str = "RECORD_STORE_CRASH_DB";
/// The crash writer's records are below this name, one owner each (an RRset holds at
/// most 64 records).
const CRASH_OWNER: &str = "crash.example.com";

/// The child half of `acknowledged_writes_survive_sigkill`: does nothing unless
/// re-executed by it with `RECORD_STORE_CRASH_DB` set; then writes records and prints
/// `acked N` after each acknowledged write until it is killed.
#[tokio::test]
async fn crash_writer_child() {
    let Some(path) = std::env::var_os(CRASH_DB_ENV) else {
        return;
    };
    let store = SqliteStore::open(Path::new(&path)).await.unwrap();
    println!("ready");
    // Bounded so that an orphaned child stops by itself.
    for n in 0..100_000u32 {
        store
            .add_record(&txt(&format!("w{n}.{CRASH_OWNER}"), &format!("v{n}"), 60))
            .await
            .unwrap();
        println!("acked {n}");
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    use std::os::unix::process::ExitStatusExt;

    const KILL_AFTER: u32 = 150;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DB_ENV, &db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: Option<u32> = None;
    let mut killed = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            let n: u32 = n.parse().unwrap();
            acked = Some(n);
            if n >= KILL_AFTER {
                child.kill().unwrap(); // SIGKILL, in the middle of the next writes
                killed = true;
                break;
            }
        }
    }
    assert!(
        killed,
        "the child stopped before acknowledging {KILL_AFTER} writes"
    );
    // Acknowledgements printed before the kill are still in the pipe.
    for line in lines {
        if let Some(n) = line.unwrap().strip_prefix("acked ") {
            acked = Some(n.parse().unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    let acked = acked.unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let stored: BTreeSet<String> = txt_values(&store.records_under(CRASH_OWNER).await.unwrap())
            .into_iter()
            .collect();
        for n in 0..=acked {
            assert!(
                stored.contains(&format!("v{n}")),
                "acked write {n} is lost ({} stored)",
                stored.len()
            );
        }
        println!(
            "killed after {acked} acknowledged writes; {} stored",
            stored.len()
        );
        // At most the one write in flight at the kill went through unacknowledged.
        assert!(
            stored.len() <= usize::try_from(acked).unwrap() + 2,
            "{} stored, {acked} acked",
            stored.len()
        );
    });
}

/// Polls `future` once.
async fn poll_once<F: std::future::Future + Unpin>(future: &mut F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *future).poll(cx)))
        .await
}

/// An API client that disconnects makes hyper drop the request, and with it the store
/// call. A write that has started still runs to its end.
async fn a_write_whose_caller_stops_waiting_still_completes(backend: Backend) {
    let store = new_store(backend).await;
    let mut changes = store.subscribe();
    let before = *changes.borrow();
    let record = txt("gone.example.com", "v", 60);
    let mut write = store.add_record(&record);
    assert!(poll_once(&mut write).await.is_pending());
    drop(write);
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        changes.wait_for(|serial| *serial > before),
    )
    .await
    .expect("the abandoned write never completed")
    .unwrap();
    let stored = store
        .records_at(&["gone.example.com".into()])
        .await
        .unwrap();
    assert_eq!(stored, vec![record]);
}

/// Writes dropped after any number of polls, with the SQLite worker thread given
/// different amounts of time between them: the next write always works (no transaction
/// is left open on the one writer connection).
async fn abandoned_writes_leave_the_store_writable(backend: Backend) {
    let store = new_store(backend).await;
    let mut abandoned = 0;
    for attempt in 0..400u32 {
        let record = txt(&format!("w{attempt}.example.com"), "v", 60);
        let mut write = store.add_record(&record);
        let polls = 1 + attempt % 8;
        let pause = std::time::Duration::from_micros(u64::from(attempt / 8 % 50) * 10);
        let mut finished = false;
        for _ in 0..polls {
            if poll_once(&mut write).await.is_ready() {
                finished = true;
                break;
            }
            std::thread::sleep(pause);
        }
        if !finished {
            abandoned += 1;
        }
        drop(write);
        let probe = txt(
            &format!("probe{attempt}.example.com"),
            &format!("after {attempt}"),
            60,
        );
        store
            .add_record(&probe)
            .await
            .unwrap_or_else(|e| panic!("write after abandoning attempt {attempt} failed: {e}"));
    }
    assert!(
        abandoned > 0,
        "no write was abandoned; the test exercised nothing"
    );
}

on_both_backends!(
    open_by_url,
    records_are_listed_in_order_and_by_subtree,
    add_record_dedups_and_updates_ttl,
    replace_rrset_replaces_only_that_rrset,
    delete_records_by_type_or_all,
    push_txt_keeps_the_newest_values,
    serial_strictly_increases_and_the_watch_fires,
    the_change_journal_names_the_owners_changed_since_a_serial,
    a_pruned_journal_sends_the_reader_to_read_everything,
    records_at_reads_exact_owners,
    api_keys,
    registrations,
    data_survives_reopening,
    concurrent_writers_all_succeed,
    a_write_whose_caller_stops_waiting_still_completes,
    abandoned_writes_leave_the_store_writable,
);
