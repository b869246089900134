//! Concurrent lookups of one name that miss the cache make one upstream query (the
//! relay relies on hickory-resolver's deduplication of queries in flight for this).
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::Ipv4Addr;
use std::time::Duration;

use target_resolver::{ResolverOptions, SrvAnswer, TargetResolver};
use test_support::dns_server::TestDns;

fn resolver(dns: &TestDns) -> TargetResolver {
    TargetResolver::new(ResolverOptions {
        servers: vec![dns.addr()],
        timeout: Duration::from_millis(300),
        attempts: 1,
        max_ttl: Duration::from_secs(3600),
        negative_ttl_without_soa: Duration::from_secs(30),
        serve_stale_for: Duration::from_secs(3600),
        cache_entries: 1000,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_lookups_share_one_query() {
    let dns = TestDns::start("test.", 1).await;
    dns.set_srv(
        "_acme-challenge._tcp.www.a.test",
        &[(0, 0, 8080, "h.a.test")],
        60,
    )
    .await;
    dns.set_a("h.a.test", &[Ipv4Addr::LOCALHOST], 60).await;
    // Not an SRV target: its addresses are not in an SRV answer's additional section.
    dns.set_a("other.a.test", &[Ipv4Addr::LOCALHOST], 60).await;
    dns.clear_questions();
    let resolver = resolver(&dns);

    let srv = (0..32).map(|_| resolver.srv("_acme-challenge._tcp.www.a.test."));
    for answer in futures_join_all(srv).await {
        assert!(matches!(answer.unwrap(), SrvAnswer::Records(r) if r.len() == 1));
    }
    let addrs = (0..32).map(|_| resolver.addresses("other.a.test"));
    for found in futures_join_all(addrs).await {
        assert_eq!(
            found.unwrap().iter().collect::<Vec<_>>(),
            [Ipv4Addr::LOCALHOST]
        );
    }
    assert_eq!(dns.questions_for("_acme-challenge._tcp.www.a.test"), 1);
    // One AAAA (empty) and one A.
    assert_eq!(dns.questions_for("other.a.test"), 2);
}

/// Polls all `futures` concurrently in this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}
