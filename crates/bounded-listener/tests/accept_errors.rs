//! When `accept(2)` fails for want of descriptors (EMFILE), the accept loop pauses with
//! a growing back-off instead of retrying at once (hickory's loop spun a core here), and
//! accepts again by itself once descriptors are free. This binary lowers its own
//! open-file limit, so it runs alone.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use bounded_listener::{ClientPrefixes, ConnectionLimits, ListenerBounds, accept_loop};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Descriptors open now (the listing's own is not counted).
fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 - 1
}

fn set_soft_limit(soft: u64) {
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: hard,
        },
    )
    .unwrap();
}

fn accept_errors(handle: &metrics_exporter_prometheus::PrometheusHandle) -> u64 {
    handle
        .render()
        .lines()
        .find(|line| line.starts_with("acme_srv_accept_errors_total"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "current_thread")]
async fn accept_errors_back_off_and_accepting_resumes() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Twelve clients wait in the backlog before the accept loop runs.
    let clients: Vec<_> = (0..12)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let limits = ConnectionLimits {
        max_connections: 100,
        max_per_client: 0,
        client_prefixes: ClientPrefixes::default(),
        first_byte_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        max_duration: Duration::from_secs(60),
    };
    let bounds = Arc::new(ListenerBounds::new("test", &limits, Vec::new()));
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::unbounded_channel();
    // Room for two accepted sockets, no more.
    set_soft_limit(open_descriptors() + 2);
    tracker.spawn(accept_loop(
        listener,
        bounds,
        stop.clone(),
        tracker.clone(),
        move |accepted| {
            let accepted_tx = accepted_tx.clone();
            async move {
                let _ = accepted_tx.send(());
                // Hold the connection (and its descriptor).
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(accepted);
            }
        },
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let errors = accept_errors(&handle);
    // 5, 10, 20, 40, 80, 160, 320 ms: about seven failed attempts in 700 ms, where a
    // loop without back-off makes thousands.
    assert!(
        (3..=12).contains(&errors),
        "{errors} failed accepts in 700 ms"
    );
    let mut accepted = 0;
    while accepted_rx.try_recv().is_ok() {
        accepted += 1;
    }
    assert!(
        accepted < clients.len() / 2,
        "{accepted} of {} accepted",
        clients.len()
    );

    // Descriptors come back: the waiting clients are accepted without any help.
    set_soft_limit(getrlimit(Resource::Nofile).maximum.unwrap_or(65536));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while accepted < clients.len() {
        tokio::time::timeout_at(deadline, accepted_rx.recv())
            .await
            .expect("every waiting client accepted within 5 s once descriptors are free")
            .unwrap();
        accepted += 1;
    }
    stop.cancel();
}
