//! Who may do what: no credentials, wrong credentials, keys limited by scope, by source
//! network, revoked keys. Every refusal is a clear 401 or 403 and leaves the store as it
//! was.

use hyper::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use record_store::RecordStore as _;

use crate::harness::{ADMIN, Api, srv};

const WWW: &str = "_acme-challenge._tcp.www.example.com";
const MAIL: &str = "_acme-challenge._tcp.mail.example.com";

/// Every `/v1` operation, with a body where it takes one.
fn operations() -> Vec<(Method, String, Option<serde_json::Value>)> {
    vec![
        (Method::GET, "/v1/records".into(), None),
        (Method::GET, "/v1/records?under=example.com".into(), None),
        (Method::POST, "/v1/records".into(), Some(srv(WWW, 80))),
        (
            Method::PUT,
            format!("/v1/records/{WWW}/SRV"),
            Some(json!({"ttl": 60, "records": []})),
        ),
        (Method::DELETE, format!("/v1/records/{WWW}/SRV"), None),
        (Method::DELETE, format!("/v1/records/{WWW}"), None),
        (Method::GET, "/v1/keys".into(), None),
        (
            Method::POST,
            "/v1/keys".into(),
            Some(json!({"scopes": [{"kind": "subtree", "name": "example.com"}]})),
        ),
        (Method::DELETE, "/v1/keys/some-id".into(), None),
        (Method::GET, "/v1/tsig-keys".into(), None),
        (
            Method::POST,
            "/v1/tsig-keys".into(),
            Some(
                json!({"name": "u.example.com", "scopes": [{"kind": "subtree", "name": "example.com"}]}),
            ),
        ),
        (Method::DELETE, "/v1/tsig-keys/u.example.com".into(), None),
    ]
}

#[tokio::test]
async fn no_or_invalid_credentials_are_401_everywhere() {
    let api = Api::start().await;
    api.add(srv(WWW, 8080)).await;
    let key = api.subtree_key("example.com").await;
    let (key_id, _) = key.split_once('.').unwrap();
    let before = api.snapshot().await;

    let wrong_secret = format!("{key_id}.{}", "A".repeat(43));
    let tokens = [
        None,
        Some("wrong-admin-token".to_owned()),
        Some(format!("{ADMIN}x")),
        Some(wrong_secret),
        Some("nosuchkey.secret".to_owned()),
        Some(".".to_owned()),
    ];
    for (method, path, body) in operations() {
        for token in &tokens {
            let reply = api
                .call(method.clone(), &path, token.as_deref(), body.clone())
                .await;
            let detail = reply.assert_problem(401);
            assert!(!detail.contains(ADMIN), "the admin token leaked: {detail}");
            assert!(
                reply.headers.contains_key(WWW_AUTHENTICATE),
                "{method} {path}: 401 without WWW-Authenticate"
            );
        }
        // Another scheme is no bearer token.
        let request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(AUTHORIZATION, format!("Basic {ADMIN}"))
            .body(Default::default())
            .unwrap();
        api.send(request).await.assert_problem(401);
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn a_key_changes_only_the_names_its_scopes_cover() {
    let api = Api::start().await;
    api.add(srv(MAIL, 25)).await;
    let key = api.subtree_key("www.example.com").await;

    // Inside its subtree: every operation works.
    let created = api
        .call(
            Method::POST,
            "/v1/records",
            Some(&key),
            Some(srv(WWW, 8080)),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json());
    let replaced = api
        .call(
            Method::PUT,
            &format!("/v1/records/{WWW}/SRV"),
            Some(&key),
            Some(json!({"ttl": 60, "records": [
                {"type": "SRV", "priority": 0, "weight": 0, "port": 8443, "target": "client.example.com"}
            ]})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.json());

    // Listing shows only what the key covers.
    let listed = api
        .call(Method::GET, "/v1/records", Some(&key), None)
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["owner"], WWW);
    let under_zone = api
        .call(
            Method::GET,
            "/v1/records?under=example.com",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(under_zone, listed);
    api.call(
        Method::GET,
        "/v1/records?under=mail.example.com",
        Some(&key),
        None,
    )
    .await
    .assert_problem(403);

    // Outside it: 403, and nothing changes.
    let before = api.snapshot().await;
    let detail = api
        .call(
            Method::POST,
            "/v1/records",
            Some(&key),
            Some(srv(MAIL, 2525)),
        )
        .await
        .assert_problem(403);
    assert!(detail.contains("scope"), "{detail}");
    api.call(
        Method::POST,
        "/v1/records",
        Some(&key),
        Some(srv("www.example.net", 80)),
    )
    .await
    .assert_problem(403);
    api.call(
        Method::PUT,
        &format!("/v1/records/{MAIL}/SRV"),
        Some(&key),
        Some(json!({"ttl": 60, "records": []})),
    )
    .await
    .assert_problem(403);
    api.call(
        Method::DELETE,
        &format!("/v1/records/{MAIL}/SRV"),
        Some(&key),
        None,
    )
    .await
    .assert_problem(403);
    api.call(
        Method::DELETE,
        &format!("/v1/records/{MAIL}"),
        Some(&key),
        None,
    )
    .await
    .assert_problem(403);
    // The parent of the subtree is not in it.
    api.call(
        Method::POST,
        "/v1/records",
        Some(&key),
        Some(srv("example.com", 80)),
    )
    .await
    .assert_problem(403);
    assert_eq!(api.snapshot().await, before);

    let deleted = api
        .call(
            Method::DELETE,
            &format!("/v1/records/{WWW}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_exact_scope_covers_one_name_only() {
    let api = Api::start().await;
    let key = api
        .create_key(json!([{"kind": "exact", "name": WWW}]), json!([]))
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = api
        .call(Method::POST, "/v1/records", Some(&key), Some(srv(WWW, 80)))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let before = api.snapshot().await;
    api.call(
        Method::POST,
        "/v1/records",
        Some(&key),
        Some(srv(&format!("x.{WWW}"), 80)),
    )
    .await
    .assert_problem(403);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn a_key_from_a_network_it_does_not_allow_is_403() {
    let api = Api::start().await;
    let remote_only = api
        .create_key(
            json!([{"kind": "subtree", "name": "example.com"}]),
            json!(["10.0.0.0/8"]),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = api.snapshot().await;
    let detail = api
        .call(
            Method::POST,
            "/v1/records",
            Some(&remote_only),
            Some(srv(WWW, 80)),
        )
        .await
        .assert_problem(403);
    assert!(detail.contains("127.0.0.1"), "{detail}");
    api.call(Method::GET, "/v1/records", Some(&remote_only), None)
        .await
        .assert_problem(403);
    assert_eq!(api.snapshot().await, before);

    let local = api
        .create_key(
            json!([{"kind": "subtree", "name": "example.com"}]),
            json!(["10.0.0.0/8", "127.0.0.0/8"]),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = api
        .call(
            Method::POST,
            "/v1/records",
            Some(&local),
            Some(srv(WWW, 80)),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_revoked_key_is_401() {
    let api = Api::start().await;
    let created = api
        .create_key(
            json!([{"kind": "subtree", "name": "example.com"}]),
            json!([]),
        )
        .await;
    let token = created["token"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let ok = api
        .call(Method::POST, "/v1/records", Some(token), Some(srv(WWW, 80)))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);

    let revoked = api
        .admin(Method::DELETE, &format!("/v1/keys/{id}"), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let before = api.snapshot().await;
    let detail = api
        .call(Method::POST, "/v1/records", Some(token), Some(srv(WWW, 81)))
        .await
        .assert_problem(401);
    assert!(detail.contains("revoked"), "{detail}");
    api.call(
        Method::DELETE,
        &format!("/v1/records/{WWW}"),
        Some(token),
        None,
    )
    .await
    .assert_problem(401);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn keys_cannot_manage_keys() {
    let api = Api::start().await;
    let key = api.subtree_key("example.com").await;
    let before = api.snapshot().await;
    api.call(Method::GET, "/v1/keys", Some(&key), None)
        .await
        .assert_problem(403);
    api.call(
        Method::POST,
        "/v1/keys",
        Some(&key),
        Some(json!({"scopes": [{"kind": "subtree", "name": "example.com"}]})),
    )
    .await
    .assert_problem(403);
    // Refused before the body is read: a malformed body still gets 403.
    api.send(
        Request::builder()
            .method(Method::POST)
            .uri("/v1/keys")
            .header(AUTHORIZATION, format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{")))
            .unwrap(),
    )
    .await
    .assert_problem(403);
    let (id, _) = key.split_once('.').unwrap();
    api.call(Method::DELETE, &format!("/v1/keys/{id}"), Some(&key), None)
        .await
        .assert_problem(403);
    // Nor TSIG keys.
    api.call(Method::GET, "/v1/tsig-keys", Some(&key), None)
        .await
        .assert_problem(403);
    api.call(
        Method::POST,
        "/v1/tsig-keys",
        Some(&key),
        Some(json!({"name": "u.example.com", "scopes": [{"kind": "subtree", "name": "example.com"}]})),
    )
    .await
    .assert_problem(403);
    api.call(
        Method::DELETE,
        "/v1/tsig-keys/u.example.com",
        Some(&key),
        None,
    )
    .await
    .assert_problem(403);
    assert_eq!(api.snapshot().await, before);
    assert!(api.store.list_tsig_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_an_admin_token_only_keys_work() {
    let api = Api::start_with(management_api::ApiSettings {
        admin_token: None,
        ..crate::harness::settings()
    })
    .await;
    api.call(Method::GET, "/v1/records", Some(ADMIN), None)
        .await
        .assert_problem(401);
    api.call(Method::GET, "/v1/keys", Some(""), None)
        .await
        .assert_problem(401);
}
