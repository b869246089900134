//! The record rules as a contract of the store: every write method enforces each rule
//! inside its own transaction, refuses with the typed violation, and changes nothing
//! when it refuses; concurrent writers cannot both pass a rule only one may pass.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[macro_use]
mod support;

use std::sync::Arc;

use record_store::rules::MAX_RRSET_RECORDS;
use record_store::{
    Author, QuotaScope, RecordQuotas, RecordType, RuleViolation, StoreError, WriteContext,
};
use support::{Backend, a, cname, context, key, new_store, snapshot, txt, violation};

const NO_QUOTAS: RecordQuotas = RecordQuotas {
    records_per_zone: 0,
    records_per_author: 0,
};

async fn a_cname_shares_its_name_with_nothing(backend: Backend) {
    let store = new_store(backend).await;
    store
        .add_record(&a("host.example.com", 1, 60))
        .await
        .unwrap();
    store
        .add_record(&cname("alias.example.com", "one.example.net"))
        .await
        .unwrap();
    let before = snapshot(&store).await;

    // A CNAME where other data is, by every write method.
    assert_eq!(
        violation(
            store
                .add_record(&cname("host.example.com", "x.example.net"))
                .await
        ),
        RuleViolation::CnameNotAlone {
            owner: "host.example.com".into(),
            existing: RecordType::A,
            written: RecordType::Cname,
        }
    );
    let replaced = store
        .replace_rrset(
            "host.example.com",
            RecordType::Cname,
            &[cname("host.example.com", "x.example.net")],
        )
        .await;
    assert!(matches!(
        violation(replaced),
        RuleViolation::CnameNotAlone {
            written: RecordType::Cname,
            ..
        }
    ));

    // Other data where a CNAME is.
    for refused in [
        store
            .add_record(&a("alias.example.com", 2, 60))
            .await
            .map(drop),
        store
            .replace_rrset(
                "alias.example.com",
                RecordType::Txt,
                &[txt("alias.example.com", "t", 60)],
            )
            .await,
        store.push_txt("alias.example.com", "t", 60, 2).await,
    ] {
        assert!(matches!(
            violation(refused),
            RuleViolation::CnameNotAlone {
                existing: RecordType::Cname,
                ..
            }
        ));
    }

    // A second CNAME at the name.
    assert_eq!(
        violation(
            store
                .add_record(&cname("alias.example.com", "two.example.net"))
                .await
        ),
        RuleViolation::CnameNotAlone {
            owner: "alias.example.com".into(),
            existing: RecordType::Cname,
            written: RecordType::Cname,
        }
    );
    let two = store
        .replace_rrset(
            "alias.example.com",
            RecordType::Cname,
            &[
                cname("alias.example.com", "two.example.net"),
                cname("alias.example.com", "three.example.net"),
            ],
        )
        .await;
    assert!(matches!(
        violation(two),
        RuleViolation::CnameNotAlone { .. }
    ));
    assert_eq!(
        snapshot(&store).await,
        before,
        "a refused write changed something"
    );

    // The same CNAME again, and replacing the CNAME RRset, are fine.
    store
        .add_record(&cname("alias.example.com", "one.example.net"))
        .await
        .unwrap();
    store
        .replace_rrset(
            "alias.example.com",
            RecordType::Cname,
            &[cname("alias.example.com", "two.example.net")],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .records_at(&["alias.example.com".into()])
            .await
            .unwrap(),
        [cname("alias.example.com", "two.example.net")]
    );
}

async fn no_cname_at_a_zone_apex_once_the_zones_are_known(backend: Backend) {
    let store = new_store(backend).await;
    let served = context(None, NO_QUOTAS);
    let before = snapshot(&store).await;
    for apex in ["example.com", "sub.example.com"] {
        assert_eq!(
            violation(
                store
                    .add_record_with(&cname(apex, "elsewhere.example.net"), &served)
                    .await
            ),
            RuleViolation::CnameAtApex { owner: apex.into() }
        );
    }
    assert_eq!(snapshot(&store).await, before);
    // Below an apex, a CNAME is fine.
    store
        .add_record_with(&cname("www.example.com", "elsewhere.example.net"), &served)
        .await
        .unwrap();
    // The zones that committed write named stay in force for writes that name none.
    let before = snapshot(&store).await;
    assert!(matches!(
        violation(
            store
                .add_record(&cname("example.com", "elsewhere.example.net"))
                .await
        ),
        RuleViolation::CnameAtApex { .. }
    ));
    // Zones are compared normalised, however a caller spells them.
    let spelled_otherwise = WriteContext {
        zones: Arc::from(vec!["Example.COM.".to_owned()]),
        ..WriteContext::default()
    };
    assert!(matches!(
        violation(
            store
                .add_record_with(&cname("example.com", "x.example.net"), &spelled_otherwise)
                .await
        ),
        RuleViolation::CnameAtApex { .. }
    ));
    assert_eq!(snapshot(&store).await, before);
}

async fn an_rrset_holds_at_most_the_limit(backend: Backend) {
    let store = new_store(backend).await;
    let owner = "big.example.com";
    for n in 0..MAX_RRSET_RECORDS {
        store
            .add_record(&txt(owner, &format!("v{n}"), 60))
            .await
            .unwrap();
    }
    let before = snapshot(&store).await;
    assert_eq!(
        violation(store.add_record(&txt(owner, "one too many", 60)).await),
        RuleViolation::RrsetTooLarge {
            owner: owner.into(),
            record_type: RecordType::Txt,
            records: MAX_RRSET_RECORDS + 1,
            limit: MAX_RRSET_RECORDS,
        }
    );
    let too_many: Vec<_> = (0..=MAX_RRSET_RECORDS)
        .map(|n| a("many.example.com", u8::try_from(n).unwrap(), 60))
        .collect();
    assert!(matches!(
        violation(
            store
                .replace_rrset("many.example.com", RecordType::A, &too_many)
                .await
        ),
        RuleViolation::RrsetTooLarge { .. }
    ));
    assert_eq!(snapshot(&store).await, before);
    // An identical record only changes the TTL: still allowed at the limit.
    store.add_record(&txt(owner, "v0", 120)).await.unwrap();
    // push_txt keeps the newest values, never more than the limit.
    for n in 0..3 {
        store
            .push_txt("pushed.example.com", &format!("p{n}"), 60, 1000)
            .await
            .unwrap();
    }
    for n in 3..(MAX_RRSET_RECORDS + 5) {
        store
            .push_txt("pushed.example.com", &format!("p{n}"), 60, 1000)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .records_at(&["pushed.example.com".into()])
            .await
            .unwrap()
            .len(),
        MAX_RRSET_RECORDS
    );
}

async fn ttls_are_within_range_on_every_write(backend: Backend) {
    let store = new_store(backend).await;
    store.add_record(&a("h.example.com", 1, 1)).await.unwrap();
    store
        .add_record(&a("h.example.com", 2, 604_800))
        .await
        .unwrap();
    let before = snapshot(&store).await;
    for ttl in [0, 604_801, u32::MAX] {
        let expected = RuleViolation::TtlOutOfRange {
            owner: "h.example.com".into(),
            ttl,
        };
        assert_eq!(
            violation(store.add_record(&a("h.example.com", 3, ttl)).await),
            expected
        );
        assert_eq!(
            violation(
                store
                    .replace_rrset(
                        "h.example.com",
                        RecordType::A,
                        &[a("h.example.com", 3, ttl)]
                    )
                    .await
            ),
            expected
        );
        assert_eq!(
            violation(store.push_txt("h.example.com", "t", ttl, 2).await),
            expected
        );
    }
    assert_eq!(snapshot(&store).await, before);
}

async fn quotas_count_records_per_author(backend: Backend) {
    let store = new_store(backend).await;
    let quotas = RecordQuotas {
        records_per_zone: 0,
        records_per_author: 2,
    };
    let by_k1 = context(key("k1"), quotas);
    let by_k2 = context(key("k2"), quotas);
    // Records the operator added before count for no key.
    store.add_record(&a("w.example.com", 9, 60)).await.unwrap();
    store
        .add_record_with(&a("w.example.com", 1, 60), &by_k1)
        .await
        .unwrap();
    store
        .add_record_with(&a("w.example.com", 2, 60), &by_k1)
        .await
        .unwrap();
    // An identical record adds nothing.
    store
        .add_record_with(&a("w.example.com", 2, 120), &by_k1)
        .await
        .unwrap();
    let before = snapshot(&store).await;
    assert_eq!(
        violation(
            store
                .add_record_with(&a("w.example.com", 3, 60), &by_k1)
                .await
        ),
        RuleViolation::QuotaExceeded {
            counted: QuotaScope::Author(Author::ApiKey("k1".into())),
            records: 3,
            limit: 2,
        }
    );
    assert!(matches!(
        violation(
            store
                .push_txt_with("t.example.com", "t", 60, 2, &by_k1)
                .await
        ),
        RuleViolation::QuotaExceeded { .. }
    ));
    assert_eq!(snapshot(&store).await, before);
    // Another key has its own count.
    store
        .add_record_with(&a("w.example.com", 4, 60), &by_k2)
        .await
        .unwrap();
    // Deleting a key's record frees its quota.
    store
        .delete_records("w.example.com", Some(RecordType::A))
        .await
        .unwrap();
    store
        .add_record_with(&a("x.example.com", 5, 60), &by_k1)
        .await
        .unwrap();
    store
        .add_record_with(&a("x.example.com", 6, 60), &by_k1)
        .await
        .unwrap();
    // A replacement that does not grow the count passes at the quota.
    store
        .replace_rrset_with(
            "x.example.com",
            RecordType::A,
            &[a("x.example.com", 7, 60), a("x.example.com", 8, 60)],
            &by_k1,
        )
        .await
        .unwrap();
    // ... and a lowered quota does not block writes that add nothing.
    let lowered = context(
        key("k1"),
        RecordQuotas {
            records_per_zone: 0,
            records_per_author: 1,
        },
    );
    store
        .replace_rrset_with(
            "x.example.com",
            RecordType::A,
            &[a("x.example.com", 7, 60)],
            &lowered,
        )
        .await
        .unwrap();
}

async fn quotas_count_records_per_zone_by_the_longest_origin(backend: Backend) {
    let store = new_store(backend).await;
    // Written before any zone was known: counted once the zones are.
    store
        .add_record(&a("old.example.com", 1, 60))
        .await
        .unwrap();
    let quotas = RecordQuotas {
        records_per_zone: 3,
        records_per_author: 0,
    };
    let operator = context(None, quotas);
    store
        .add_record_with(&a("h.example.com", 2, 60), &operator)
        .await
        .unwrap();
    // sub.example.com is a zone of its own: not counted in example.com.
    for n in 0..3 {
        store
            .add_record_with(&a("x.sub.example.com", n, 60), &operator)
            .await
            .unwrap();
    }
    store
        .push_txt_with("t.example.com", "t", 60, 2, &operator)
        .await
        .unwrap();
    let before = snapshot(&store).await;
    assert_eq!(
        violation(
            store
                .add_record_with(&a("h.example.com", 3, 60), &operator)
                .await
        ),
        RuleViolation::QuotaExceeded {
            counted: QuotaScope::Zone("example.com".into()),
            records: 4,
            limit: 3,
        }
    );
    assert!(matches!(
        violation(
            store
                .add_record_with(&a("y.sub.example.com", 9, 60), &operator)
                .await
        ),
        RuleViolation::QuotaExceeded {
            counted: QuotaScope::Zone(zone),
            ..
        } if zone == "sub.example.com"
    ));
    assert_eq!(snapshot(&store).await, before);

    // When sub.example.com is no longer served, its records count in example.com.
    let one_zone = WriteContext {
        zones: Arc::from(vec!["example.com".to_owned()]),
        ..operator.clone()
    };
    store.delete_records("old.example.com", None).await.unwrap();
    assert!(matches!(
        violation(
            store
                .add_record_with(&a("z.example.com", 1, 60), &one_zone)
                .await
        ),
        RuleViolation::QuotaExceeded { records: 6, .. }
    ));
    // Served again: counted apart again.
    store
        .add_record_with(&a("z.example.com", 1, 60), &operator)
        .await
        .unwrap();
}

/// Two writers race for one name, one with a CNAME and one with an A record: exactly one
/// wins, and the store never holds both.
async fn racing_cname_and_other_data_one_wins(backend: Backend) {
    let store = new_store(backend).await;
    let store = Arc::new(store);
    for round in 0..40u8 {
        let owner = format!("race{round}.example.com");
        let (cname_store, a_store) = (Arc::clone(&store), Arc::clone(&store));
        let (cname_owner, a_owner) = (owner.clone(), owner.clone());
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let (cname_start, a_start) = (Arc::clone(&start), Arc::clone(&start));
        let cname_write = tokio::spawn(async move {
            cname_start.wait().await;
            cname_store
                .add_record(&cname(&cname_owner, "target.example.net"))
                .await
        });
        let a_write = tokio::spawn(async move {
            a_start.wait().await;
            a_store.add_record(&a(&a_owner, round, 60)).await
        });
        let results = [cname_write.await.unwrap(), a_write.await.unwrap()];
        let won = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        for result in &results {
            if let Err(error) = result {
                assert!(
                    matches!(error, StoreError::Rule(RuleViolation::CnameNotAlone { .. })),
                    "round {round}: {error:?}"
                );
            }
        }
        let held = store.records_at(&[owner]).await.unwrap();
        assert_eq!(held.len(), 1, "round {round}: {held:?}");
    }
}

/// Concurrent writers by one key at its quota's edge: exactly the quota is stored.
async fn racing_writers_cannot_slip_past_a_quota(backend: Backend) {
    let store = new_store(backend).await;
    let store = Arc::new(store);
    let by_k1 = context(
        key("k1"),
        RecordQuotas {
            records_per_zone: 0,
            records_per_author: 5,
        },
    );
    let writers: Vec<_> = (0..20u8)
        .map(|n| {
            let (store, by_k1) = (Arc::clone(&store), by_k1.clone());
            tokio::spawn(async move {
                store
                    .add_record_with(&a(&format!("q{n}.example.com"), n, 60), &by_k1)
                    .await
            })
        })
        .collect();
    let mut stored = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(_) => stored += 1,
            Err(error) => assert!(
                matches!(error, StoreError::Rule(RuleViolation::QuotaExceeded { .. })),
                "{error:?}"
            ),
        }
    }
    assert_eq!(stored, 5);
    assert_eq!(store.all_records().await.unwrap().len(), 5);
}

on_both_backends!(
    a_cname_shares_its_name_with_nothing,
    no_cname_at_a_zone_apex_once_the_zones_are_known,
    an_rrset_holds_at_most_the_limit,
    ttls_are_within_range_on_every_write,
    quotas_count_records_per_author,
    quotas_count_records_per_zone_by_the_longest_origin,
    racing_cname_and_other_data_one_wins,
    racing_writers_cannot_slip_past_a_quota,
);
