//! `RecordStore::apply_update`, one RFC 2136 UPDATE: every prerequisite kind holding and
//! failing (with its rcode), every operation, the CNAME rule of section 3.4.2.2, one TTL
//! per RRset, and all or nothing: a refusal at any step leaves records, serial and change
//! journal as they were.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[macro_use]
mod support;

use record_store::rules::MAX_RRSET_RECORDS;
use record_store::{
    Author, KeyScope, Prerequisite, RecordData, RecordQuotas, RecordType, RuleViolation,
    StoreError, Update, UpdateOperation, UpdateOutcome, UpdatePermissions, UpdateRcode,
    UpdateRefusal, WriteContext,
};
use support::{Backend, Snapshot, TestStore, a, cname, context, new_store, snapshot, txt};

const ZONE: &str = "example.com";

/// Everything in the zone, of every type.
fn everything() -> UpdatePermissions {
    UpdatePermissions {
        scopes: vec![KeyScope::Subtree(ZONE.into())],
        record_types: vec![],
    }
}

fn served() -> WriteContext {
    context(
        Some(Author::TsigKey("u.example.com".into())),
        RecordQuotas::default(),
    )
}

fn update(prerequisites: Vec<Prerequisite>, operations: Vec<UpdateOperation>) -> Update {
    Update {
        zone: ZONE.into(),
        prerequisites,
        operations,
    }
}

async fn apply(store: &TestStore, update: &Update) -> Result<UpdateOutcome, StoreError> {
    store.apply_update(update, &everything(), &served()).await
}

/// The refusal `result` carries; panics on anything else.
#[track_caller]
fn refusal(result: Result<UpdateOutcome, StoreError>) -> UpdateRefusal {
    match result {
        Err(StoreError::UpdateRefused(refusal)) => refusal,
        other => panic!("expected a refused update, got {other:?}"),
    }
}

/// A store serving [`support::ZONES`] holding `www` A 192.0.2.1 and .2 (TTL 60) and
/// `alias` CNAME.
async fn seeded(backend: Backend) -> TestStore {
    let store = new_store(backend).await;
    for record in [
        a("www.example.com", 1, 60),
        a("www.example.com", 2, 60),
        cname("alias.example.com", "target.example.net"),
        txt("deep.below.example.com", "t", 60),
    ] {
        store.add_record_with(&record, &served()).await.unwrap();
    }
    store
}

async fn at(store: &TestStore, owner: &str) -> Vec<record_store::Record> {
    store.records_at(&[owner.to_owned()]).await.unwrap()
}

fn address(last: u8) -> RecordData {
    RecordData::A {
        address: std::net::Ipv4Addr::new(192, 0, 2, last),
    }
}

async fn every_prerequisite_kind_holds_or_fails_with_its_rcode(backend: Backend) {
    let store = seeded(backend).await;
    let www = || "www.example.com".to_owned();
    let nothing = || "nothing.example.com".to_owned();
    // (prerequisite, holds)
    let cases = vec![
        (
            Prerequisite::RrsetExists {
                owner: www(),
                record_type: RecordType::A,
            },
            true,
        ),
        (
            Prerequisite::RrsetExists {
                owner: www(),
                record_type: RecordType::Txt,
            },
            false,
        ),
        (
            // Value dependent: the whole RRset, TTLs and order ignored.
            Prerequisite::RrsetEquals {
                owner: www(),
                record_type: RecordType::A,
                records: vec![address(2), address(1)],
            },
            true,
        ),
        (
            Prerequisite::RrsetEquals {
                owner: www(),
                record_type: RecordType::A,
                records: vec![address(1)],
            },
            false,
        ),
        (
            Prerequisite::RrsetEquals {
                owner: www(),
                record_type: RecordType::A,
                records: vec![address(1), address(2), address(3)],
            },
            false,
        ),
        (
            Prerequisite::RrsetDoesNotExist {
                owner: www(),
                record_type: RecordType::Txt,
            },
            true,
        ),
        (
            Prerequisite::RrsetDoesNotExist {
                owner: www(),
                record_type: RecordType::A,
            },
            false,
        ),
        (Prerequisite::NameInUse { owner: www() }, true),
        (Prerequisite::NameInUse { owner: nothing() }, false),
        // An empty non-terminal is not in use (RFC 2136 section 2.4.4).
        (
            Prerequisite::NameInUse {
                owner: "below.example.com".into(),
            },
            false,
        ),
        (Prerequisite::NameNotInUse { owner: nothing() }, true),
        (Prerequisite::NameNotInUse { owner: www() }, false),
    ];
    let marker = txt("marker.example.com", "applied", 60);
    for (prerequisite, holds) in cases {
        let before = snapshot(&store).await;
        let result = apply(
            &store,
            &update(
                vec![prerequisite.clone()],
                vec![UpdateOperation::Add(marker.clone())],
            ),
        )
        .await;
        if holds {
            let outcome = result.unwrap_or_else(|e| panic!("{prerequisite:?}: {e}"));
            assert!(outcome.changed);
            assert!(outcome.serial > before.serial);
            assert_eq!(
                at(&store, "marker.example.com").await,
                std::slice::from_ref(&marker)
            );
            store
                .delete_records("marker.example.com", None)
                .await
                .unwrap();
        } else {
            let refused = refusal(result);
            assert_eq!(
                refused,
                UpdateRefusal::PrerequisiteFailed {
                    index: 0,
                    prerequisite: prerequisite.clone()
                }
            );
            assert_eq!(refused.rcode(), prerequisite.failure_rcode());
            assert_eq!(snapshot(&store).await, before, "{prerequisite:?}");
        }
    }
    // The rcodes of section 3.2.5.
    let rcode = |prerequisite| {
        let store = &store;
        async move { refusal(apply(store, &update(vec![prerequisite], vec![])).await).rcode() }
    };
    assert_eq!(
        rcode(Prerequisite::RrsetExists {
            owner: nothing(),
            record_type: RecordType::A
        })
        .await,
        UpdateRcode::NxRrset
    );
    assert_eq!(
        rcode(Prerequisite::RrsetDoesNotExist {
            owner: www(),
            record_type: RecordType::A
        })
        .await,
        UpdateRcode::YxRrset
    );
    assert_eq!(
        rcode(Prerequisite::NameInUse { owner: nothing() }).await,
        UpdateRcode::NxDomain
    );
    assert_eq!(
        rcode(Prerequisite::NameNotInUse { owner: www() }).await,
        UpdateRcode::YxDomain
    );
}

async fn prerequisites_see_the_data_before_the_operations(backend: Backend) {
    let store = seeded(backend).await;
    let before = snapshot(&store).await;
    // The operation would put the name in use, but the prerequisite is checked first.
    let refused = refusal(
        apply(
            &store,
            &update(
                vec![Prerequisite::NameInUse {
                    owner: "new.example.com".into(),
                }],
                vec![UpdateOperation::Add(a("new.example.com", 9, 60))],
            ),
        )
        .await,
    );
    assert_eq!(refused.rcode(), UpdateRcode::NxDomain);
    assert_eq!(snapshot(&store).await, before);
    // And the other way: the RRset exists before it is deleted.
    apply(
        &store,
        &update(
            vec![Prerequisite::RrsetExists {
                owner: "www.example.com".into(),
                record_type: RecordType::A,
            }],
            vec![UpdateOperation::DeleteRrset {
                owner: "www.example.com".into(),
                record_type: RecordType::A,
            }],
        ),
    )
    .await
    .unwrap();
    assert!(at(&store, "www.example.com").await.is_empty());
}

async fn adding_a_record_and_one_ttl_per_rrset(backend: Backend) {
    let store = seeded(backend).await;
    let www = "www.example.com";
    // A new record: the whole RRset takes its TTL.
    let outcome = apply(
        &store,
        &update(vec![], vec![UpdateOperation::Add(a(www, 3, 300))]),
    )
    .await
    .unwrap();
    assert!(outcome.changed);
    assert_eq!(
        at(&store, www).await,
        [a(www, 1, 300), a(www, 2, 300), a(www, 3, 300)]
    );
    // An identical record only changes the TTL, of the whole RRset.
    let serial = store.serial().await.unwrap();
    let outcome = apply(
        &store,
        &update(vec![], vec![UpdateOperation::Add(a(www, 2, 120))]),
    )
    .await
    .unwrap();
    assert!(outcome.changed && outcome.serial > serial);
    assert_eq!(
        at(&store, www).await,
        [a(www, 1, 120), a(www, 2, 120), a(www, 3, 120)]
    );
    // The same again changes nothing: the serial stays.
    let serial = store.serial().await.unwrap();
    let outcome = apply(
        &store,
        &update(vec![], vec![UpdateOperation::Add(a(www, 2, 120))]),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        UpdateOutcome {
            serial,
            changed: false,
            ignored: vec![]
        }
    );
}

async fn deleting_an_rrset_a_name_and_one_record(backend: Backend) {
    let store = seeded(backend).await;
    store
        .add_record_with(&txt("www.example.com", "keep?", 60), &served())
        .await
        .unwrap();
    // One record; the last one removes the RRset.
    let delete_one = |last| UpdateOperation::DeleteRecord {
        owner: "www.example.com".into(),
        data: address(last),
    };
    apply(&store, &update(vec![], vec![delete_one(1)]))
        .await
        .unwrap();
    assert_eq!(
        at(&store, "www.example.com").await,
        [
            a("www.example.com", 2, 60),
            txt("www.example.com", "keep?", 60)
        ]
    );
    apply(&store, &update(vec![], vec![delete_one(2)]))
        .await
        .unwrap();
    let gone = apply(
        &store,
        &update(
            vec![Prerequisite::RrsetExists {
                owner: "www.example.com".into(),
                record_type: RecordType::A,
            }],
            vec![],
        ),
    )
    .await;
    assert_eq!(refusal(gone).rcode(), UpdateRcode::NxRrset);

    // An RRset.
    apply(
        &store,
        &update(
            vec![],
            vec![UpdateOperation::DeleteRrset {
                owner: "www.example.com".into(),
                record_type: RecordType::Txt,
            }],
        ),
    )
    .await
    .unwrap();
    assert!(at(&store, "www.example.com").await.is_empty());

    // A name, every type at it; names below stay.
    store
        .add_record_with(&a("deep.below.example.com", 4, 60), &served())
        .await
        .unwrap();
    store
        .add_record_with(&a("x.deep.below.example.com", 5, 60), &served())
        .await
        .unwrap();
    apply(
        &store,
        &update(
            vec![],
            vec![UpdateOperation::DeleteName {
                owner: "deep.below.example.com".into(),
            }],
        ),
    )
    .await
    .unwrap();
    assert!(at(&store, "deep.below.example.com").await.is_empty());
    assert_eq!(at(&store, "x.deep.below.example.com").await.len(), 1);

    // Deleting what is not there is no error and no change.
    let serial = store.serial().await.unwrap();
    let outcome = apply(
        &store,
        &update(
            vec![],
            vec![
                delete_one(7),
                UpdateOperation::DeleteRrset {
                    owner: "nothing.example.com".into(),
                    record_type: RecordType::Srv,
                },
                UpdateOperation::DeleteName {
                    owner: "nothing.example.com".into(),
                },
            ],
        ),
    )
    .await
    .unwrap();
    assert!(!outcome.changed);
    assert_eq!(outcome.serial, serial);
}

async fn cnames_follow_section_3_4_2_2(backend: Backend) {
    let store = seeded(backend).await;
    let before = snapshot(&store).await;
    // A CNAME where other data is, other data where a CNAME is, a CNAME at the apex:
    // ignored, nothing changed, the serial stays.
    let outcome = apply(
        &store,
        &update(
            vec![],
            vec![
                UpdateOperation::Add(cname("www.example.com", "x.example.net")),
                UpdateOperation::Add(a("alias.example.com", 9, 60)),
                UpdateOperation::Add(cname(ZONE, "x.example.net")),
            ],
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        UpdateOutcome {
            serial: before.serial,
            changed: false,
            ignored: vec![0, 1, 2]
        }
    );
    assert_eq!(snapshot(&store).await, before);
    // A CNAME where a CNAME is replaces it.
    let outcome = apply(
        &store,
        &update(
            vec![],
            vec![UpdateOperation::Add(cname(
                "alias.example.com",
                "other.example.net",
            ))],
        ),
    )
    .await
    .unwrap();
    assert!(outcome.changed && outcome.ignored.is_empty());
    assert_eq!(
        at(&store, "alias.example.com").await,
        [cname("alias.example.com", "other.example.net")]
    );
    // Ignoring one operation does not stop the others.
    let outcome = apply(
        &store,
        &update(
            vec![],
            vec![
                UpdateOperation::Add(a("alias.example.com", 9, 60)),
                UpdateOperation::Add(a("fresh.example.com", 9, 60)),
            ],
        ),
    )
    .await
    .unwrap();
    assert_eq!(outcome.ignored, [0]);
    assert_eq!(at(&store, "fresh.example.com").await.len(), 1);
}

/// A later operation that breaks a rule refuses the whole update: the earlier ones are
/// undone, the serial and the change journal stay.
async fn all_or_nothing_when_a_later_operation_breaks_a_rule(backend: Backend) {
    let store = seeded(backend).await;
    for n in 0..MAX_RRSET_RECORDS {
        store
            .add_record_with(&txt("full.example.com", &format!("v{n}"), 60), &served())
            .await
            .unwrap();
    }
    let before = snapshot(&store).await;
    let first_change = || UpdateOperation::DeleteName {
        owner: "www.example.com".into(),
    };
    let cases: Vec<(UpdateOperation, RuleViolation)> = vec![
        (
            UpdateOperation::Add(txt("full.example.com", "one too many", 60)),
            RuleViolation::RrsetTooLarge {
                owner: "full.example.com".into(),
                record_type: RecordType::Txt,
                records: MAX_RRSET_RECORDS + 1,
                limit: MAX_RRSET_RECORDS,
            },
        ),
        (
            UpdateOperation::Add(a("ttl.example.com", 1, 0)),
            RuleViolation::TtlOutOfRange {
                owner: "ttl.example.com".into(),
                ttl: 0,
            },
        ),
    ];
    for (breaking, violation) in cases {
        let refused = refusal(
            apply(
                &store,
                &update(
                    vec![],
                    vec![
                        first_change(),
                        UpdateOperation::Add(a("new.example.com", 1, 60)),
                        breaking,
                    ],
                ),
            )
            .await,
        );
        assert_eq!(refused, UpdateRefusal::Rule(violation));
        assert_eq!(refused.rcode(), UpdateRcode::Refused);
        assert_eq!(snapshot(&store).await, before);
        assert_eq!(
            store
                .changes_since(before.serial)
                .await
                .unwrap()
                .unwrap()
                .owners,
            Vec::<String>::new(),
            "a refused update was journaled"
        );
    }

    // A quota, counted for the key that signed the update.
    let by_key = WriteContext {
        author: Some(Author::TsigKey("quota.example.com".into())),
        quotas: RecordQuotas {
            records_per_zone: 0,
            records_per_author: 1,
        },
        ..served()
    };
    let refused = store
        .apply_update(
            &update(
                vec![],
                vec![
                    UpdateOperation::Add(a("q1.example.com", 1, 60)),
                    UpdateOperation::Add(a("q2.example.com", 1, 60)),
                ],
            ),
            &everything(),
            &by_key,
        )
        .await;
    assert!(matches!(
        refusal(refused),
        UpdateRefusal::Rule(RuleViolation::QuotaExceeded {
            records: 2,
            limit: 1,
            ..
        })
    ));
    assert_eq!(snapshot(&store).await, before);
}

async fn a_permission_refusal_leaves_nothing_changed(backend: Backend) {
    let store = seeded(backend).await;
    let txt_under_www = UpdatePermissions {
        scopes: vec![KeyScope::Subtree("www.example.com".into())],
        record_types: vec![RecordType::Txt],
    };
    let before = snapshot(&store).await;
    let allowed = || UpdateOperation::Add(txt("_acme-challenge.www.example.com", "ok", 60));
    let cases = vec![
        (
            UpdateOperation::Add(txt("mail.example.com", "no", 60)),
            UpdateRefusal::NotPermitted {
                owner: "mail.example.com".into(),
                record_type: None,
            },
        ),
        (
            UpdateOperation::Add(a("_acme-challenge.www.example.com", 1, 60)),
            UpdateRefusal::NotPermitted {
                owner: "_acme-challenge.www.example.com".into(),
                record_type: Some(RecordType::A),
            },
        ),
        // Deleting a name is checked on what the name holds: www has A records.
        (
            UpdateOperation::DeleteName {
                owner: "www.example.com".into(),
            },
            UpdateRefusal::NotPermitted {
                owner: "www.example.com".into(),
                record_type: Some(RecordType::A),
            },
        ),
    ];
    for (refused_operation, expected) in cases {
        let refused = refusal(
            store
                .apply_update(
                    &update(vec![], vec![allowed(), refused_operation]),
                    &txt_under_www,
                    &served(),
                )
                .await,
        );
        assert_eq!(refused, expected);
        assert_eq!(refused.rcode(), UpdateRcode::Refused);
        assert_eq!(snapshot(&store).await, before);
    }
    // What the key may do, it does; deleting a name that holds only TXT is allowed.
    store
        .apply_update(
            &update(
                vec![],
                vec![
                    allowed(),
                    UpdateOperation::DeleteName {
                        owner: "_acme-challenge.www.example.com".into(),
                    },
                    allowed(),
                ],
            ),
            &txt_under_www,
            &served(),
        )
        .await
        .unwrap();
    assert_eq!(
        at(&store, "_acme-challenge.www.example.com").await,
        [txt("_acme-challenge.www.example.com", "ok", 60)]
    );
}

async fn zones_names_and_malformed_updates(backend: Backend) {
    let store = seeded(backend).await;
    let before: Snapshot = snapshot(&store).await;
    let add = |owner: &str| UpdateOperation::Add(a(owner, 1, 60));
    let other_zone = Update {
        zone: "example.org".into(),
        prerequisites: vec![],
        operations: vec![add("www.example.org")],
    };
    assert_eq!(
        refusal(apply(&store, &other_zone).await).rcode(),
        UpdateRcode::NotAuth
    );
    for outside in [
        update(vec![], vec![add("www.example.org")]),
        // In a more specific served zone.
        update(vec![], vec![add("x.sub.example.com")]),
        update(
            vec![Prerequisite::NameInUse {
                owner: "elsewhere.test".into(),
            }],
            vec![],
        ),
    ] {
        assert_eq!(
            refusal(apply(&store, &outside).await).rcode(),
            UpdateRcode::NotZone
        );
    }
    for malformed in [
        update(vec![], vec![add("Upper.example.com")]),
        update(
            vec![Prerequisite::RrsetEquals {
                owner: "www.example.com".into(),
                record_type: RecordType::Txt,
                records: vec![address(1)],
            }],
            vec![],
        ),
        update(
            vec![],
            vec![UpdateOperation::Add(record_store::Record {
                owner: "srv.example.com".into(),
                ttl: 60,
                data: RecordData::Srv {
                    priority: 0,
                    weight: 0,
                    port: 0,
                    target: "t.example.com".into(),
                },
            })],
        ),
    ] {
        assert_eq!(
            refusal(apply(&store, &malformed).await).rcode(),
            UpdateRcode::FormErr
        );
    }
    assert_eq!(snapshot(&store).await, before);
}

/// An update that changes several names raises the serial once, journals each name,
/// wakes the change feed, and is on disk when it returns.
async fn an_applied_update_is_one_journaled_durable_change(backend: Backend) {
    let store = new_store(backend).await;
    store
        .add_record_with(&a("www.example.com", 1, 60), &served())
        .await
        .unwrap();
    let mut feed = store.subscribe();
    let before = *feed.borrow_and_update();
    let outcome = apply(
        &store,
        &update(
            vec![],
            vec![
                UpdateOperation::Add(txt("a.example.com", "x", 60)),
                UpdateOperation::Add(txt("b.example.com", "y", 60)),
                UpdateOperation::DeleteName {
                    owner: "www.example.com".into(),
                },
            ],
        ),
    )
    .await
    .unwrap();
    assert!(outcome.changed);
    assert!(feed.has_changed().unwrap());
    assert_eq!(*feed.borrow_and_update(), outcome.serial);
    let changes = store.changes_since(before).await.unwrap().unwrap();
    assert_eq!(changes.serial, outcome.serial);
    assert_eq!(
        changes.owners,
        ["a.example.com", "b.example.com", "www.example.com"]
    );
    let records = store.all_records().await.unwrap();
    let reopened = store.reopen().await;
    assert_eq!(reopened.all_records().await.unwrap(), records);
    assert_eq!(reopened.serial().await.unwrap(), outcome.serial);
}

on_both_backends!(
    every_prerequisite_kind_holds_or_fails_with_its_rcode,
    prerequisites_see_the_data_before_the_operations,
    adding_a_record_and_one_ttl_per_rrset,
    deleting_an_rrset_a_name_and_one_record,
    cnames_follow_section_3_4_2_2,
    all_or_nothing_when_a_later_operation_breaks_a_rule,
    a_permission_refusal_leaves_nothing_changed,
    zones_names_and_malformed_updates,
    an_applied_update_is_one_journaled_durable_change,
);
