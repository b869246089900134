//! The `acme_srv_dns_queries_total{type, rcode}` counter, read through a small in-test
//! recorder installed as the global one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once};

use hickory_proto::rr::RecordType;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use crate::harness::{TestServer, udp_query};

static COUNTERS: LazyLock<Mutex<HashMap<String, Arc<AtomicU64>>>> = LazyLock::new(Mutex::default);

/// Keeps counters by `name{label=value,…}` (labels in the order given).
struct TestRecorder;

fn key_string(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let counter = COUNTERS
            .lock()
            .unwrap()
            .entry(key_string(key))
            .or_default()
            .clone();
        Counter::from_arc(counter)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        metrics::set_global_recorder(TestRecorder).expect("no other recorder in this binary");
    });
}

fn value(key: &str) -> u64 {
    COUNTERS
        .lock()
        .unwrap()
        .get(key)
        .map_or(0, |c| c.load(Ordering::SeqCst))
}

#[tokio::test]
async fn queries_are_counted_by_type_and_rcode() {
    install();
    // Types no other test asks, so the counts are exact.
    let nodata = "acme_srv_dns_queries_total{type=NAPTR,rcode=NOERROR}";
    let refused = "acme_srv_dns_queries_total{type=CAA,rcode=REFUSED}";
    let nxdomain = "acme_srv_dns_queries_total{type=SSHFP,rcode=NXDOMAIN}";
    let (before_nodata, before_refused, before_nxdomain) =
        (value(nodata), value(refused), value(nxdomain));

    let server = TestServer::start().await;
    for _ in 0..3 {
        udp_query(server.addr, "www.example.test.", RecordType::NAPTR).await;
    }
    for _ in 0..2 {
        udp_query(server.addr, "www.elsewhere.invalid.", RecordType::CAA).await;
    }
    udp_query(server.addr, "nope.example.test.", RecordType::SSHFP).await;

    assert_eq!(value(nodata) - before_nodata, 3);
    assert_eq!(value(refused) - before_refused, 2);
    assert_eq!(value(nxdomain) - before_nxdomain, 1);
}
