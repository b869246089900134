//! RFC 2782 order as the relay applies it: priority first, weights within a priority,
//! and the same seed giving the same choices.

use std::net::Ipv4Addr;

use test_support::dns_server::TestDns;
use test_support::recording_target::RecordingTarget;

use crate::harness::*;

async fn two_targets(
    dns: &TestDns,
    domain: &str,
    a: (u16, u16),
    b: (u16, u16),
) -> (RecordingTarget, RecordingTarget) {
    let ta = RecordingTarget::start().await;
    let tb = RecordingTarget::start().await;
    dns.set_srv(
        &owner(domain),
        &[
            (a.0, a.1, ta.port(), "ta.o.test"),
            (b.0, b.1, tb.port(), "tb.o.test"),
        ],
        300,
    )
    .await;
    dns.set_a("ta.o.test", &[Ipv4Addr::LOCALHOST], 300).await;
    dns.set_a("tb.o.test", &[Ipv4Addr::LOCALHOST], 300).await;
    (ta, tb)
}

#[tokio::test]
async fn lower_priority_always_wins_while_it_answers() {
    let dns = dns().await;
    let (backup, primary) = two_targets(&dns, "p.test", (20, 1000), (10, 1)).await;
    let relay = start_with(&dns, |_| {}).await;
    for _ in 0..20 {
        assert_eq!(challenge(relay.addr, "p.test", "tok").await.status, 200);
    }
    assert_eq!(primary.requests().len(), 20);
    assert_eq!(backup.connections(), 0);
}

#[tokio::test]
async fn weights_share_the_load() {
    let dns = dns().await;
    let (heavy, light) = two_targets(&dns, "w.test", (5, 75), (5, 25)).await;
    let relay = start_with(&dns, |_| {}).await;
    for _ in 0..200 {
        assert_eq!(challenge(relay.addr, "w.test", "tok").await.status, 200);
    }
    // Expected 150/50; the standard deviation is about 6, so ±30 is five sigma.
    let (h, l) = (heavy.requests().len(), light.requests().len());
    assert_eq!(h + l, 200);
    assert!((120..=180).contains(&h), "heavy got {h}, light got {l}");
}

/// Which target served each of `n` requests, as a string of `a`/`b`.
async fn sequence(seed: u64, n: usize) -> String {
    let dns = dns().await;
    let (a, b) = two_targets(&dns, "s.test", (1, 50), (1, 50)).await;
    let relay = start(&base_config(&dns), seed).await;
    let mut seq = String::new();
    for _ in 0..n {
        let (ca, cb) = (a.connections(), b.connections());
        assert_eq!(challenge(relay.addr, "s.test", "tok").await.status, 200);
        seq.push(if a.connections() > ca {
            'a'
        } else if b.connections() > cb {
            'b'
        } else {
            '?'
        });
    }
    seq
}

#[tokio::test]
async fn the_same_seed_gives_the_same_choices() {
    let first = sequence(42, 24).await;
    let again = sequence(42, 24).await;
    let other = sequence(43, 24).await;
    assert_eq!(first, again, "seed 42 must repeat exactly");
    assert!(
        first.contains('a') && first.contains('b'),
        "equal weights use both: {first}"
    );
    assert_ne!(first, other, "another seed should give another sequence");
}
