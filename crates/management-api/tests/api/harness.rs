//! The API served on 127.0.0.1:0 over a real SQLite store in a temporary directory, and
//! a plain HTTP/1 client (hyper-util's legacy client) to call it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use management_api::{ApiSettings, ServeOptions};
use record_store::{ApiKeyInfo, Record, RecordStore, SqliteStore};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The admin token every test server is configured with.
pub const ADMIN: &str = "test-admin-token-0123456789";
/// The zone every test server serves.
pub const ZONE: &str = "example.com";
/// A second served zone.
pub const OTHER_ZONE: &str = "example.net";
/// The acme-dns zone (inside [`ZONE`]).
pub const ACME_DNS_ZONE: &str = "acme-dns.example.com";

/// The settings of a test server.
pub fn settings() -> ApiSettings {
    ApiSettings {
        zones: vec![ZONE.to_owned(), OTHER_ZONE.to_owned()],
        admin_token: Some(ADMIN.to_owned()),
        acme_dns_zone: Some(ACME_DNS_ZONE.to_owned()),
        ..ApiSettings::default()
    }
}

/// A running API with its store.
pub struct Api {
    pub addr: SocketAddr,
    pub store: Arc<SqliteStore>,
    client: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: TempDir,
}

/// An HTTP response, body read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "{} body is not JSON ({error}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .map_or("", |value| value.to_str().unwrap())
    }

    /// Asserts an RFC 9457 problem with `status`; returns its `detail`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["status"], json!(status), "{problem}");
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:acme-srv:problem:"),
            "{problem}"
        );
        assert!(!problem["title"].as_str().unwrap().is_empty(), "{problem}");
        problem["detail"].as_str().unwrap().to_owned()
    }

    /// Asserts an acme-dns error with `status` and `code`.
    #[track_caller]
    pub fn assert_acme_dns_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), "application/json");
        assert_eq!(self.json(), json!({ "error": code }));
    }
}

/// What the store holds that a refused request must not change.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    records: Vec<Record>,
    keys: Vec<ApiKeyInfo>,
    serial: u32,
}

impl Api {
    /// Starts a server with [`settings`].
    pub async fn start() -> Self {
        Self::start_with(settings()).await
    }

    /// Starts a server with `settings`.
    pub async fn start_with(settings: ApiSettings) -> Self {
        Self::start_with_options(settings, ServeOptions::default()).await
    }

    /// Starts a server with `settings`, its listener bounded by `options`.
    pub async fn start_with_options(settings: ApiSettings, options: ServeOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("store.db"))
                .await
                .unwrap(),
        );
        let dyn_store: Arc<dyn RecordStore> = store.clone();
        let router = management_api::router(dyn_store, settings);
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(management_api::serve(
            vec![listener],
            router,
            options,
            async move {
                let _ = stop.await;
            },
        ));
        Self {
            addr,
            store,
            client: Client::builder(TokioExecutor::new()).build_http(),
            shutdown: Some(shutdown),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `request` (its URI a path) and reads the whole response.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Reply {
        let (mut parts, body) = request.into_parts();
        parts.uri = self.url(&parts.uri.to_string()).parse().unwrap();
        let response = self
            .client
            .request(Request::from_parts(parts, body))
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request with an optional bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(body.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        self.send(builder.body(body).unwrap()).await
    }

    /// [`Self::call`] with the admin token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(ADMIN), body).await
    }

    /// Adds a record as the admin, asserting 201.
    pub async fn add(&self, record: Value) -> Value {
        let reply = self.admin(Method::POST, "/v1/records", Some(record)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json());
        reply.json()
    }

    /// Creates a key as the admin, asserting 201; returns the creation response.
    pub async fn create_key(&self, scopes: Value, source_cidrs: Value) -> Value {
        let reply = self
            .admin(
                Method::POST,
                "/v1/keys",
                Some(json!({"description": "test key", "scopes": scopes, "source_cidrs": source_cidrs})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json());
        reply.json()
    }

    /// Creates a key with one subtree scope, usable from anywhere; returns its token.
    pub async fn subtree_key(&self, name: &str) -> String {
        let key = self
            .create_key(json!([{"kind": "subtree", "name": name}]), json!([]))
            .await;
        key["token"].as_str().unwrap().to_owned()
    }

    /// Everything a refused request must leave unchanged.
    pub async fn snapshot(&self) -> Snapshot {
        Snapshot {
            records: self.store.all_records().await.unwrap(),
            keys: self.store.list_keys().await.unwrap(),
            serial: self.store.serial().await.unwrap(),
        }
    }

    /// The records stored at exactly `owner`.
    pub async fn records_at(&self, owner: &str) -> Vec<Record> {
        self.store
            .records_under(owner)
            .await
            .unwrap()
            .into_iter()
            .filter(|record| record.owner == owner)
            .collect()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// An SRV record for `owner` as JSON.
pub fn srv(owner: &str, port: u16) -> Value {
    json!({
        "owner": owner, "ttl": 60, "type": "SRV",
        "priority": 10, "weight": 5, "port": port, "target": "client.example.com"
    })
}

// ---- a metrics recorder that remembers counters ----

type Labels = Vec<(String, String)>;

/// Counter values by name and labels, for every test in this binary.
#[derive(Default)]
pub struct Counters(Mutex<BTreeMap<(String, Labels), Arc<Counter>>>);

#[derive(Default)]
pub struct Counter(std::sync::atomic::AtomicU64);

impl metrics::CounterFn for Counter {
    fn increment(&self, value: u64) {
        self.0
            .fetch_add(value, std::sync::atomic::Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.0
            .fetch_max(value, std::sync::atomic::Ordering::Relaxed);
    }
}

struct Recorder(&'static Counters);

impl metrics::Recorder for Recorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let labels = key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        let counter = self
            .0
            .0
            .lock()
            .unwrap()
            .entry((key.name().to_owned(), labels))
            .or_default()
            .clone();
        metrics::Counter::from_arc(counter)
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// The process-wide counters (installed as the global recorder on first use).
pub fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<&'static Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| {
        let counters: &'static Counters = Box::leak(Box::default());
        metrics::set_global_recorder(Recorder(counters)).expect("no other recorder");
        counters
    })
}

impl Counters {
    /// The value of counter `name` with exactly `labels`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let labels: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0
            .lock()
            .unwrap()
            .get(&(name.to_owned(), labels))
            .map_or(0, |counter| {
                counter.0.load(std::sync::atomic::Ordering::Relaxed)
            })
    }

    /// Every label set counter `name` was recorded with.
    pub fn label_sets(&self, name: &str) -> Vec<Labels> {
        self.0
            .lock()
            .unwrap()
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, labels)| labels.clone())
            .collect()
    }
}
