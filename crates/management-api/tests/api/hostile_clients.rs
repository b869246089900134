//! Bounds against hostile clients: failed authentications per client, `/register`
//! controls, quotas, the RRset limit on every write path, connection caps and timeouts,
//! and the forwarded client behind a trusted proxy.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use management_api::{ApiSettings, Quotas, RegistrationPolicy, ServeOptions};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{ADMIN, Api, ZONE, settings, srv};

/// A raw HTTP/1.1 request from local address `local`; the status code, or 0 when the
/// server closed without answering.
async fn status_from(local: &str, api: SocketAddr, request: &str) -> u16 {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(api).await.unwrap();
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0)
}

fn list_with(token: &str) -> String {
    format!(
        "GET /v1/records HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}

fn with_quotas(quotas: Quotas) -> ApiSettings {
    ApiSettings {
        quotas,
        ..settings()
    }
}

#[tokio::test]
async fn a_client_that_keeps_failing_to_authenticate_is_refused_before_hashing() {
    let api = Api::start_with(with_quotas(Quotas {
        failed_auth_per_client_per_minute: 3,
        ..Quotas::default()
    }))
    .await;
    let bogus = format!("someid.{}", "A".repeat(43));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(status_from("127.0.0.1", api.addr, &list_with(&bogus)).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // Even the right token waits: the client is refused as a whole for a while.
    assert_eq!(
        status_from("127.0.0.1", api.addr, &list_with(ADMIN)).await,
        429
    );
    // Another client is not affected.
    assert_eq!(
        status_from("127.0.0.2", api.addr, &list_with(ADMIN)).await,
        200
    );
    // acme-dns credentials count against the same budget.
    let update = "POST /update HTTP/1.1\r\nHost: api\r\nX-Api-User: 3f0f4b7e-1c1e-4c1a-9d6e-1b2c3d4e5f60\r\n\
        X-Api-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_eq!(status_from("127.0.0.3", api.addr, update).await, 401);
    for _ in 0..3 {
        status_from("127.0.0.3", api.addr, update).await;
    }
    assert_eq!(status_from("127.0.0.3", api.addr, update).await, 429);
}

#[tokio::test]
async fn registration_can_be_closed_limited_to_networks_and_rate_limited() {
    let register =
        "POST /register HTTP/1.1\r\nHost: api\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let closed = Api::start_with(ApiSettings {
        registration: RegistrationPolicy {
            enabled: false,
            ..RegistrationPolicy::default()
        },
        ..settings()
    })
    .await;
    assert_eq!(status_from("127.0.0.1", closed.addr, register).await, 404);

    let listed = Api::start_with(ApiSettings {
        registration: RegistrationPolicy {
            allow_from: vec!["127.0.0.2/32".parse().unwrap()],
            per_client_per_hour: 2,
            ..RegistrationPolicy::default()
        },
        ..settings()
    })
    .await;
    assert_eq!(status_from("127.0.0.1", listed.addr, register).await, 403);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(status_from("127.0.0.2", listed.addr, register).await);
    }
    assert_eq!(statuses, [201, 201, 429]);

    let quota = Api::start_with(with_quotas(Quotas {
        registrations: 1,
        ..Quotas::default()
    }))
    .await;
    assert_eq!(status_from("127.0.0.1", quota.addr, register).await, 201);
    assert_eq!(status_from("127.0.0.2", quota.addr, register).await, 403);
}

#[tokio::test]
async fn records_quotas_hold_per_key_scope_and_per_zone() {
    let api = Api::start_with(with_quotas(Quotas {
        records_per_key: 2,
        records_per_zone: 5,
        ..Quotas::default()
    }))
    .await;
    let token = api.subtree_key(&format!("w.{ZONE}")).await;
    let owner = format!("_acme-challenge._tcp.w.{ZONE}");
    for port in [8001, 8002] {
        let reply = api
            .call(
                Method::POST,
                "/v1/records",
                Some(&token),
                Some(srv(&owner, port)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    // The same record again adds nothing, so it passes the quota.
    let again = api
        .call(
            Method::POST,
            "/v1/records",
            Some(&token),
            Some(srv(&owner, 8002)),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    let over = api
        .call(
            Method::POST,
            "/v1/records",
            Some(&token),
            Some(srv(&owner, 8003)),
        )
        .await;
    assert!(over.assert_problem(403).contains("quota"));
    // The zone's quota binds the admin too.
    for n in 0..3 {
        api.add(srv(&format!("_acme-challenge._tcp.z{n}.{ZONE}"), 8000))
            .await;
    }
    let reply = api
        .admin(
            Method::POST,
            "/v1/records",
            Some(srv(&format!("_acme-challenge._tcp.z9.{ZONE}"), 8000)),
        )
        .await;
    assert!(reply.assert_problem(403).contains("quota"));
}

#[tokio::test]
async fn the_rrset_limit_holds_when_records_are_added_one_by_one() {
    let api = Api::start().await;
    let owner = format!("_acme-challenge._tcp.big.{ZONE}");
    for port in 0..64u16 {
        api.add(srv(&owner, 10_000 + port)).await;
    }
    let before = api.snapshot().await;
    let reply = api
        .admin(Method::POST, "/v1/records", Some(srv(&owner, 20_000)))
        .await;
    assert!(reply.assert_problem(422).contains("64"), "{:?}", reply.body);
    // A replacement of more than 64 records, too.
    let records: Vec<_> = (0..65u16)
        .map(|port| json!({"type": "SRV", "priority": 0, "weight": 0, "port": 30_000 + port, "target": "t.example.com"}))
        .collect();
    let reply = api
        .admin(
            Method::PUT,
            &format!("/v1/records/{owner}/SRV"),
            Some(json!({"ttl": 60, "records": records})),
        )
        .await;
    assert!(reply.assert_problem(422).contains("64"), "{:?}", reply.body);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn a_key_limited_to_a_network_sees_the_client_behind_a_trusted_proxy() {
    let api = Api::start_with(ApiSettings {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..settings()
    })
    .await;
    let key = api
        .create_key(
            json!([{"kind": "subtree", "name": ZONE}]),
            json!(["198.51.100.0/24"]),
        )
        .await;
    let token = key["token"].as_str().unwrap();
    let request = |xff: &str| {
        format!(
            "GET /v1/records HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer {token}\r\n\
             X-Forwarded-For: {xff}\r\nConnection: close\r\n\r\n"
        )
    };
    // From the proxy: the forwarded client decides.
    assert_eq!(
        status_from("127.0.0.1", api.addr, &request("198.51.100.7")).await,
        200
    );
    assert_eq!(
        status_from("127.0.0.1", api.addr, &request("203.0.113.7")).await,
        403
    );
    // From anyone else, the header is ignored.
    assert_eq!(
        status_from("127.0.0.2", api.addr, &request("198.51.100.7")).await,
        403
    );
}

#[tokio::test]
async fn idle_floods_are_capped_per_client_and_silent_connections_closed() {
    let mut options = ServeOptions::default();
    options.connections.max_per_client = 4;
    options.connections.first_byte_timeout = Duration::from_millis(300);
    let api = Api::start_with_options(settings(), options).await;
    // Four silent connections from one client: each is closed after the first-byte
    // timeout, and a fifth is refused at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(api.addr).await.unwrap());
    }
    let started = Instant::now();
    assert_eq!(
        status_from("127.0.0.1", api.addr, &list_with(ADMIN)).await,
        0
    );
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    // Meanwhile another client is served.
    assert_eq!(
        status_from("127.0.0.2", api.addr, &list_with(ADMIN)).await,
        200
    );
    for mut silent in held {
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(3), silent.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a silent connection was left open");
    }
}
