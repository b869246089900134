//! A follower over a temporary SQLite store, zones from `[dns]` configuration text, and
//! bounded waits for the snapshot to reach a serial.

use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use config::DnsConfig;
use dns_server::Authority;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use record_store::{RecordData, RecordStore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long the follower may take to serve a committed change before a test fails.
const CONVERGE_WITHIN: Duration = Duration::from_secs(10);

/// One zone, `acme.test`, with nothing but its defaults.
pub const ACME_ZONE: &str = "[[dns.zones]]\norigin = \"acme.test\"\n";

/// A store in a temporary directory, opened as `serve` opens it.
pub async fn temp_store() -> (tempfile::TempDir, Arc<dyn RecordStore>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("records.sqlite").display());
    let store = record_store::open(&url).await.unwrap();
    (dir, store)
}

/// `[dns]` from configuration text holding `[[dns.zones]]` tables.
pub fn dns_config(zones: &str) -> DnsConfig {
    let text = format!("[dns]\nlisten = [\"127.0.0.1:0\"]\n{zones}");
    let config = config::parse("zones.toml", &text).unwrap();
    config.validate("zones.toml").unwrap();
    config.dns.unwrap()
}

/// The follower of a store, started as `serve` starts it.
pub struct Following {
    pub store: Arc<dyn RecordStore>,
    pub authority: Arc<Authority>,
    shutdown: CancellationToken,
    tasks: JoinSet<Result<(), Infallible>>,
    _dir: Option<tempfile::TempDir>,
}

impl Following {
    /// A fresh temporary store, followed with the zones of `zones` (configuration text).
    pub async fn start(zones: &str) -> Self {
        let (dir, store) = temp_store().await;
        let mut following = Self::start_with(store, zones).await;
        following._dir = Some(dir);
        following
    }

    /// `store`, followed with the zones of `zones`.
    pub async fn start_with(store: Arc<dyn RecordStore>, zones: &str) -> Self {
        let specs = zone_sync::zone_specs(&dns_config(zones)).unwrap();
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let authority = zone_sync::start(store.clone(), specs, shutdown.clone(), &mut tasks)
            .await
            .unwrap();
        Self {
            store,
            authority,
            shutdown,
            tasks,
            _dir: None,
        }
    }

    /// Waits (bounded) until the served snapshot is at the store's current serial.
    pub async fn caught_up(&self) {
        let serial = self.store.serial().await.unwrap();
        let deadline = tokio::time::Instant::now() + CONVERGE_WITHIN;
        while self.authority.snapshot().serial() < serial {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the snapshot is still at serial {} {CONVERGE_WITHIN:?} after the store reached {serial}",
                self.authority.snapshot().serial(),
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The RRset served at `name`, if any.
    pub fn served(&self, name: &str, record_type: RecordType) -> Option<Vec<Record>> {
        self.authority
            .snapshot()
            .rrset(&dns_name(name), record_type)
    }

    /// The TXT values served at `name`, sorted; empty when there are none.
    pub fn txt_values(&self, name: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .served(name, RecordType::TXT)
            .unwrap_or_default()
            .iter()
            .map(|record| match &record.data {
                RData::TXT(txt) => txt
                    .txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect(),
                other => panic!("not TXT data: {other:?}"),
            })
            .collect();
        values.sort();
        values
    }

    /// Stops the follower; it must end cleanly and soon.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let joined = tokio::time::timeout(CONVERGE_WITHIN, async {
            while let Some(result) = self.tasks.join_next().await {
                result.unwrap().unwrap();
            }
        })
        .await;
        assert!(joined.is_ok(), "the follower did not stop at shutdown");
    }
}

pub fn dns_name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

pub fn txt(owner: &str, value: &str) -> record_store::Record {
    record_store::Record {
        owner: owner.to_owned(),
        ttl: 60,
        data: RecordData::Txt {
            value: value.to_owned(),
        },
    }
}
