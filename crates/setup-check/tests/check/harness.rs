//! A test DNS server for `test.`, a relay in-process on `127.0.0.1:0`, recording
//! targets, and the check's input pointing at them.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use config::{Config, OtherRequests, PortRange};
use http_relay::Relay;
use setup_check::{CheckInput, Report, Status, StepId};
use test_support::dns_server::TestDns;
use test_support::recording_target::{Behaviour, RecordingTarget};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The domain every test checks.
pub const DOMAIN: &str = "www.test";
/// Its http-01 SRV owner name.
pub const OWNER: &str = "_acme-challenge._tcp.www.test";
/// The SRV target host.
pub const TARGET_HOST: &str = "acme-client.test";

/// A running relay; stops when dropped.
pub struct TestRelay {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Everything a check runs against.
pub struct Setup {
    pub dns: TestDns,
    pub config: Config,
    pub relay: Option<TestRelay>,
}

/// The configuration: `*.test` allowed, loopback targets on any port, the test DNS.
pub fn base_config(dns: &TestDns) -> Config {
    let mut config = Config::default();
    config.challenge.allow_domains = vec!["*.test".parse().unwrap()];
    config.resolver.servers = vec![dns.addr()];
    config.resolver.timeout = Duration::from_millis(500);
    config.resolver.attempts = 1;
    config.targets.allow_networks = vec!["127.0.0.0/8".parse().unwrap()];
    config.targets.allow_ports = vec![PortRange {
        first: 1,
        last: 65535,
    }];
    config.relay.other_requests = OtherRequests::NotFound;
    config.relay.limits.requests_per_second_per_client = 0;
    config.relay.timeouts.connect = Duration::from_secs(1);
    config.relay.timeouts.total = Duration::from_secs(3);
    config
}

/// A healthy setup: `www.test` A 127.0.0.1 (where the relay listens), its SRV record
/// pointing at a target answering like an ACME client. `tweak` changes the
/// configuration before the relay starts.
pub async fn healthy(tweak: impl FnOnce(&mut Config)) -> (Setup, RecordingTarget) {
    let dns = TestDns::start("test.", 1).await;
    let target = RecordingTarget::start_on("127.0.0.1:0", Behaviour::Answer).await;
    dns.set_a(DOMAIN, &[Ipv4Addr::LOCALHOST], 300).await;
    dns.set_srv(OWNER, &[(0, 0, target.port(), TARGET_HOST)], 300)
        .await;
    dns.set_a(TARGET_HOST, &[Ipv4Addr::LOCALHOST], 300).await;
    let mut config = base_config(&dns);
    tweak(&mut config);
    let relay = start_relay(&mut config).await;
    (
        Setup {
            dns,
            config,
            relay: Some(relay),
        },
        target,
    )
}

/// Starts the relay for `config` on `127.0.0.1:0` and writes that address into
/// `[relay] listen`.
pub async fn start_relay(config: &mut Config) -> TestRelay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.relay.listen = vec![addr];
    config.validate("test").unwrap();
    let relay = Arc::new(Relay::from_config(config).unwrap().with_rng_seed(7));
    let task = tokio::spawn(http_relay::run(
        relay,
        vec![listener],
        std::future::pending(),
    ));
    TestRelay { addr, task }
}

/// The check's input for `setup`: its configuration and DNS server, loopback treated as
/// reachable by a CA, the CA's port 80 standing at the relay's port.
pub fn input(setup: &Setup) -> CheckInput {
    let mut input = CheckInput::new(DOMAIN.parse().unwrap());
    input.config = Some(setup.config.clone());
    input.dns_server = Some(setup.dns.addr());
    input.allow_restricted = vec!["127.0.0.0/8".parse().unwrap()];
    input.timeout = Duration::from_secs(2);
    if let Some(relay) = &setup.relay {
        input.ca_http_port = relay.addr.port();
    }
    input
}

/// Runs the check for `setup` and shows its text (for `--nocapture`).
pub async fn check(setup: &Setup) -> Report {
    let report = setup_check::run(input(setup)).await;
    eprintln!("{}", report.to_text());
    report
}

/// Asserts that step `id` has `status` and a fix containing `fix`.
pub fn assert_step(report: &Report, id: StepId, status: Status, fix: &str) {
    let step = report
        .step(id)
        .unwrap_or_else(|| panic!("no step {id:?} in {}", report.to_text()));
    assert_eq!(step.status, status, "step {id:?}:\n{}", report.to_text());
    assert!(
        step.fixes().any(|f| f.contains(fix)),
        "step {id:?} has no fix containing {fix:?}:\n{}",
        report.to_text()
    );
}

/// The message of every finding of step `id`, joined.
pub fn messages(report: &Report, id: StepId) -> String {
    report
        .step(id)
        .map(|s| {
            s.findings
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
