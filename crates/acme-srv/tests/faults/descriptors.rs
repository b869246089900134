//! The finding this hardening started from: an idle-connection flood on the management
//! API used to take every file descriptor of the process, so the relay stopped accepting
//! and DNS over TCP stopped. Under a low open-file limit, each part now gets a share.

use std::time::Duration;

use test_support::programs::dig;

use crate::harness::{Bench, ca_round, connect_from};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_flood_cannot_take_the_descriptors_the_relay_and_dns_need() {
    let _alone = crate::harness::one_at_a_time().await;
    // An API allowed far more connections than there are descriptors, as an operator
    // might configure it.
    let bench = Bench::start_under(
        &["prlimit", "--nofile=1024:1024"],
        "[api.connections]\nmax = 5000\nmax_per_client = 0\n",
    )
    .await;
    // 1,200 idle connections to the API from 80 addresses, more than the process has
    // descriptors.
    let api = bench.api();
    let mut held = Vec::new();
    let mut failed = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..1200 {
        let local = format!("127.0.8.{}", i % 80 + 1);
        match connect_from(&local, api).await {
            Ok(stream) => held.push(stream),
            Err(error) => *failed.entry(error.kind().to_string()).or_default() += 1,
        }
    }
    // Let the process accept (and refuse) what it can.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let round = ca_round(bench.relay(), 10, "fd-flood").await;
    println!(
        "faults: relay under an API flood at 1024 descriptors: {}/{} ok (flood: {} connected, failed {failed:?})",
        round.succeeded,
        round.requests,
        held.len()
    );
    assert_eq!(round.succeeded, round.requests, "{}", bench.srv.log_text());
    let answer = dig::short(bench.srv.addr("dns-tcp"), "ns1.store.test", "A", &["+tcp"])
        .await
        .unwrap();
    assert_eq!(answer, ["127.0.0.1"], "DNS over TCP under the flood");
    let log = bench.srv.log_text();
    assert!(
        !log.contains("Too many open files"),
        "the process ran out of descriptors:\n{log}"
    );
    assert!(
        log.contains("connection caps lowered to fit the open-file limit")
            && log.contains("open_file_limit=1024"),
        "{log}"
    );
}

/// A store on a read-only file system: the process refuses to start, and says which
/// store and why, once.
#[tokio::test]
async fn a_store_on_a_read_only_file_system_is_a_clear_error_at_start() {
    let _alone = crate::harness::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let store = crate::harness::Tmpfs::mount_read_only(dir.path());
    let config = dir.path().join("acme-srv.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[dns.zones]]\norigin = \"ro.test\"\n\
             [store]\nurl = \"sqlite://{}/acme-srv.sqlite\"\n",
            store.path.display()
        ),
    )
    .unwrap();
    let (ok, output) = test_support::binary::run_to_end(
        env!("CARGO_BIN_EXE_acme-srv"),
        &["serve", "--config", &config.to_string_lossy()],
    )
    .await
    .unwrap();
    assert!(!ok, "{output}");
    let expected = format!(
        "opening store sqlite://{}/acme-srv.sqlite",
        store.path.display()
    );
    assert!(output.contains(&expected), "{output}");
    assert!(output.contains("unable to open database file"), "{output}");
    assert_eq!(
        output.matches("unable to open database file").count(),
        1,
        "{output}"
    );
}
