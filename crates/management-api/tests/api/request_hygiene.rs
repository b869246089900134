//! Malformed, oversized and mistyped requests: clear 4xx problem details (acme-dns's
//! error shape on its paths), and nothing changed.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use management_api::ApiSettings;
use serde_json::json;

use crate::harness::{ADMIN, Api, settings, srv};

fn request(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(AUTHORIZATION, format!("Bearer {ADMIN}"));
    if let Some(content_type) = content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    builder.body(Full::new(body.into())).unwrap()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let api = Api::start().await;
    let before = api.snapshot().await;
    let bodies: [&[u8]; 9] = [
        b"",
        b"{",
        b"[]",
        b"null",
        br#"{"owner": 5, "ttl": 60, "type": "A", "address": "192.0.2.1"}"#,
        br#"{"owner": "a.example.com", "ttl": 60, "type": "A", "address": "192.0.2.1"} trailing"#,
        br#"{"owner": "a.example.com", "ttl": 60, "type": "MX", "exchange": "x"}"#,
        br#"{"owner": "a.example.com", "ttl": 60, "type": "A", "address": "300.0.0.1"}"#,
        b"\xff\xfe",
    ];
    for body in bodies {
        let reply = api
            .send(request(
                Method::POST,
                "/v1/records",
                Some("application/json"),
                body.to_vec(),
            ))
            .await;
        let detail = reply.assert_problem(400);
        assert!(detail.contains("JSON"), "{detail}");
    }
    let reply = api
        .send(request(
            Method::PUT,
            "/v1/records/a.example.com/SRV",
            Some("application/json"),
            r#"{"ttl": "sixty", "records": []}"#,
        ))
        .await;
    let detail = reply.assert_problem(400);
    assert!(
        detail.contains("ttl"),
        "the detail names the field: {detail}"
    );
    api.send(request(
        Method::PUT,
        "/v1/records/a.example.com/SRV",
        Some("application/json"),
        r#"{"ttl": 60}"#,
    ))
    .await
    .assert_problem(400);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn a_body_not_declared_json_is_415() {
    let api = Api::start().await;
    let before = api.snapshot().await;
    let body = srv("www.example.com", 80).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        api.send(request(
            Method::POST,
            "/v1/records",
            content_type,
            body.clone(),
        ))
        .await
        .assert_problem(415);
    }
    // `application/json; charset=utf-8` is JSON.
    let reply = api
        .send(request(
            Method::POST,
            "/v1/records",
            Some("application/json; charset=utf-8"),
            body,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let after_one = api.snapshot().await;
    assert_ne!(after_one, before);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let api = Api::start_with(ApiSettings {
        max_body_bytes: 1024,
        ..settings()
    })
    .await;
    let before = api.snapshot().await;
    let big =
        json!({"owner": "t.example.com", "ttl": 60, "type": "TXT", "value": "x".repeat(2000)})
            .to_string();
    let detail = api
        .send(request(
            Method::POST,
            "/v1/records",
            Some("application/json"),
            big.clone(),
        ))
        .await
        .assert_problem(413);
    assert!(detail.contains("1024"), "{detail}");
    api.send(request(
        Method::POST,
        "/v1/keys",
        Some("application/json"),
        big.clone(),
    ))
    .await
    .assert_problem(413);
    api.send(request(
        Method::POST,
        "/register",
        Some("application/json"),
        big,
    ))
    .await
    .assert_acme_dns_error(413, "body_too_large");
    assert_eq!(api.snapshot().await, before);

    // At the limit is fine.
    let fits =
        json!({"owner": "t.example.com", "ttl": 60, "type": "TXT", "value": "x".repeat(900)})
            .to_string();
    assert!(fits.len() <= 1024);
    let reply = api
        .send(request(
            Method::POST,
            "/v1/records",
            Some("application/json"),
            fits,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let api = Api::start().await;
    api.admin(Method::GET, "/v2/records", None)
        .await
        .assert_problem(404);
    api.admin(Method::GET, "/", None).await.assert_problem(404);
    let reply = api.admin(Method::PATCH, "/v1/records", None).await;
    reply.assert_problem(405);
    assert_eq!(reply.headers["allow"], "GET,HEAD,POST");
    let reply = api.admin(Method::GET, "/update", None).await;
    reply.assert_problem(405);
    assert_eq!(reply.headers["allow"], "POST");
}
