//! What only the PostgreSQL store promises: several instances (stores, each with its own
//! pool, standing for acme-srv processes) on one database see each other's changes
//! through LISTEN/NOTIFY, catch up after a dropped listening connection, cannot break a
//! rule by racing, migrate the schema once when they start together, and ride out a
//! database server that goes away and comes back.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use record_store::{PostgresStore, RecordQuotas, RecordStore, RuleViolation, StoreError};
use support::{a, cname, context, key, test_database, txt};
use test_support::programs::postgres::Cluster;

/// How long a change may take to reach another instance.
const PROPAGATION: Duration = Duration::from_secs(15);

/// Waits until `store`'s change feed shows `serial` or later.
async fn wait_for_serial(store: &dyn RecordStore, serial: u32) {
    let mut feed = store.subscribe();
    tokio::time::timeout(PROPAGATION, feed.wait_for(|seen| *seen >= serial))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "serial {serial} did not reach the other instance within {PROPAGATION:?} \
                 (it saw {})",
                *store.subscribe().borrow()
            )
        })
        .unwrap();
}

async fn two_instances(url: &str) -> (PostgresStore, PostgresStore) {
    let first = PostgresStore::connect(url).await.unwrap();
    let second = PostgresStore::connect(url).await.unwrap();
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_by_another_instance_reaches_subscribe_and_the_journal() {
    if support::postgres_skipped() {
        return;
    }
    let database = test_database().await;
    let (first, second) = two_instances(database.url()).await;
    let before = first.serial().await.unwrap();
    second
        .add_record(&a("other.example.com", 1, 60))
        .await
        .unwrap();
    let serial = second.serial().await.unwrap();
    assert!(serial > before);
    wait_for_serial(&first, serial).await;
    let changes = first.changes_since(before).await.unwrap().unwrap();
    assert_eq!(changes.serial, serial);
    assert_eq!(changes.owners, ["other.example.com"]);
    assert_eq!(
        first.records_at(&changes.owners).await.unwrap(),
        [a("other.example.com", 1, 60)]
    );
}

/// The backends LISTENing on the database.
async fn listeners(admin: &sqlx::PgPool) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_all(admin)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_listening_connection_is_re_established_and_catches_up() {
    if support::postgres_skipped() {
        return;
    }
    let database = test_database().await;
    let admin = sqlx::PgPool::connect(database.url()).await.unwrap();
    let follower = PostgresStore::connect(database.url()).await.unwrap();
    let deadline = Instant::now() + PROPAGATION;
    let old = loop {
        let pids = listeners(&admin).await;
        if let [pid] = pids[..] {
            break pid;
        }
        assert!(Instant::now() < deadline, "listeners: {pids:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(old)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(terminated);
    // A change committed right in the gap, by another instance.
    let writer = PostgresStore::connect(database.url()).await.unwrap();
    let before = follower.serial().await.unwrap();
    writer
        .push_txt("gap.example.com", "v", 60, 2)
        .await
        .unwrap();
    let serial = writer.serial().await.unwrap();
    wait_for_serial(&follower, serial).await;
    assert_eq!(
        follower
            .changes_since(before)
            .await
            .unwrap()
            .unwrap()
            .owners,
        ["gap.example.com"]
    );
    // Listening again on a new connection: the next change arrives as a notification.
    let deadline = Instant::now() + PROPAGATION;
    loop {
        let pids = listeners(&admin).await;
        // The writer listens too.
        if pids.len() == 2 && !pids.contains(&old) {
            break;
        }
        assert!(Instant::now() < deadline, "listeners: {pids:?} (old {old})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writer
        .push_txt("after.example.com", "v", 60, 2)
        .await
        .unwrap();
    wait_for_serial(&follower, writer.serial().await.unwrap()).await;
}

/// Two instances race for one name, one with a CNAME and one with an A record, and by
/// one key at its quota's edge: the rules hold across instances as within one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_instances_cannot_break_the_cname_rule_or_a_quota() {
    if support::postgres_skipped() {
        return;
    }
    let database = test_database().await;
    let (first, second) = two_instances(database.url()).await;
    let (first, second) = (Arc::new(first), Arc::new(second));
    for round in 0..20u8 {
        let owner = format!("race{round}.example.com");
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let cname_write = {
            let (store, owner, start) = (first.clone(), owner.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.add_record(&cname(&owner, "target.example.net")).await
            })
        };
        let a_write = {
            let (store, owner, start) = (second.clone(), owner.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.add_record(&a(&owner, round, 60)).await
            })
        };
        let results = [cname_write.await.unwrap(), a_write.await.unwrap()];
        assert_eq!(
            results.iter().filter(|result| result.is_ok()).count(),
            1,
            "round {round}: {results:?}"
        );
        for result in &results {
            if let Err(error) = result {
                assert!(
                    matches!(error, StoreError::Rule(RuleViolation::CnameNotAlone { .. })),
                    "round {round}: {error:?}"
                );
            }
        }
        assert_eq!(first.records_at(&[owner]).await.unwrap().len(), 1);
    }

    let by_k1 = context(
        key("k1"),
        RecordQuotas {
            records_per_zone: 0,
            records_per_author: 5,
        },
    );
    let writers: Vec<_> = (0..20u8)
        .map(|n| {
            let store = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let by_k1 = by_k1.clone();
            tokio::spawn(async move {
                store
                    .add_record_with(&txt(&format!("q{n}.example.com"), "v", 60), &by_k1)
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
}

/// Three instances starting together on an empty database: each migration is applied
/// once (sqlx's migrator holds `pg_advisory_lock`), and all three work.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_starting_together_migrate_once() {
    if support::postgres_skipped() {
        return;
    }
    let database = test_database().await;
    let url = database.url();
    let (one, two, three) = tokio::join!(
        PostgresStore::connect(url),
        PostgresStore::connect(url),
        PostgresStore::connect(url)
    );
    let stores = [one.unwrap(), two.unwrap(), three.unwrap()];
    let admin = sqlx::PgPool::connect(url).await.unwrap();
    let applied: Vec<(i64, i64, bool)> = sqlx::query_as(
        "SELECT version, count(*), bool_and(success) FROM _sqlx_migrations \
         GROUP BY version ORDER BY version",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!applied.is_empty());
    for (version, count, success) in &applied {
        assert_eq!((*count, *success), (1, true), "migration {version}");
    }
    for (n, store) in (1u8..).zip(&stores) {
        store
            .add_record(&a(&format!("i{n}.example.com"), n, 60))
            .await
            .unwrap();
    }
    assert_eq!(stores[0].all_records().await.unwrap().len(), 3);
}

/// The server goes away: writes fail within a bounded time with an error naming the
/// cause, which the API shows (503); once the server is back, the same store writes
/// again and hears another instance's changes, without being reopened.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_server_fails_writes_clearly_and_the_store_recovers() {
    if support::postgres_skipped() {
        return;
    }
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let database = cluster.create_database().unwrap();
    let store = PostgresStore::connect(database.url()).await.unwrap();
    store
        .add_record(&a("before.example.com", 1, 60))
        .await
        .unwrap();

    let cluster = Arc::new(cluster);
    let stopping = cluster.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap()
        .unwrap();
    let started = Instant::now();
    let error = store
        .add_record(&a("during.example.com", 1, 60))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let fault = error.storage_fault().unwrap();
    assert!(
        fault.starts_with("the database is unreachable: "),
        "{fault}"
    );
    assert!(
        took < Duration::from_secs(15),
        "the write failed after {took:?}"
    );
    println!("a write with the server down failed after {took:?}: {fault}");
    assert!(matches!(
        store.serial().await,
        Err(StoreError::Unavailable(_))
    ));

    let starting = cluster.clone();
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap()
        .unwrap();
    store
        .add_record(&a("after.example.com", 1, 60))
        .await
        .unwrap();
    let other = PostgresStore::connect(database.url()).await.unwrap();
    other
        .push_txt("other.example.com", "v", 60, 2)
        .await
        .unwrap();
    wait_for_serial(&store, other.serial().await.unwrap()).await;
    let owners: Vec<String> = store
        .all_records()
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.owner)
        .collect();
    assert_eq!(
        owners,
        [
            "after.example.com",
            "before.example.com",
            "other.example.com"
        ]
    );
    drop((store, other, database));
}
