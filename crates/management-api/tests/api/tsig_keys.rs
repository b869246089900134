//! `/v1/tsig-keys`: creation (the secret shown once, base64, of the algorithm's length,
//! stored as it is), listing without secrets, revocation wiping the secret, and refused
//! key definitions.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::{Method, StatusCode};
use record_store::{KeyScope, RecordStore as _, RecordType, TsigAlgorithm};
use serde_json::{Value, json};

use crate::harness::Api;

#[tokio::test]
async fn create_list_and_revoke() {
    let api = Api::start().await;
    let created = api
        .admin(
            Method::POST,
            "/v1/tsig-keys",
            Some(json!({
                "name": "ACME-Update.Example.COM.",
                "description": "certbot on www",
                "scopes": [
                    {"kind": "exact", "name": "_acme-challenge.WWW.example.com"},
                    {"kind": "subtree", "name": "example.net"}
                ],
                "record_types": ["TXT", "TXT", "CNAME"]
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json());
    let created = created.json();
    assert_eq!(created["name"], "acme-update.example.com");
    assert_eq!(created["algorithm"], "hmac-sha256", "the default");
    assert_eq!(
        created["scopes"],
        json!([
            {"kind": "exact", "name": "_acme-challenge.www.example.com"},
            {"kind": "subtree", "name": "example.net"}
        ])
    );
    assert_eq!(created["record_types"], json!(["TXT", "CNAME"]));
    assert_eq!(created["transfer"], false);
    assert_eq!(created["revoked"], false);
    let secret = STANDARD
        .decode(created["secret"].as_str().unwrap())
        .unwrap();
    assert_eq!(secret.len(), 32, "an HMAC-SHA256 key of the hash's length");

    // The store holds the secret itself: the DNS side signs and verifies with it.
    let stored = api
        .store
        .find_tsig_key("acme-update.example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.secret, secret);
    assert_eq!(
        stored.info.scopes,
        [
            KeyScope::Exact("_acme-challenge.www.example.com".into()),
            KeyScope::Subtree("example.net".into())
        ]
    );
    assert_eq!(
        stored.info.record_types,
        [RecordType::Txt, RecordType::Cname]
    );

    let sha512 = api
        .admin(
            Method::POST,
            "/v1/tsig-keys",
            Some(json!({
                "name": "transfer.example.com",
                "algorithm": "hmac-sha512",
                "scopes": [{"kind": "subtree", "name": "example.com"}],
                "transfer": true
            })),
        )
        .await
        .json();
    assert_eq!(sha512["algorithm"], "hmac-sha512");
    assert_eq!(sha512["transfer"], true);
    assert_eq!(sha512["record_types"], json!([]));
    assert_eq!(
        STANDARD
            .decode(sha512["secret"].as_str().unwrap())
            .unwrap()
            .len(),
        64
    );
    assert_ne!(sha512["secret"], created["secret"]);

    // A name in use is a conflict.
    api.admin(
        Method::POST,
        "/v1/tsig-keys",
        Some(json!({"name": "acme-update.example.com", "scopes": [{"kind": "subtree", "name": "example.com"}]})),
    )
    .await
    .assert_problem(409);

    let listed = api.admin(Method::GET, "/v1/tsig-keys", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed = listed.json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme-update.example.com", "transfer.example.com"]);
    for key in listed.as_array().unwrap() {
        assert!(key.get("secret").is_none(), "listing shows a secret: {key}");
    }

    // Revoking (by the name in any form) wipes the secret; the key stays listed.
    let revoked = api
        .admin(
            Method::DELETE,
            "/v1/tsig-keys/ACME-update.example.com.",
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let stored = api
        .store
        .find_tsig_key("acme-update.example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.info.revoked && stored.secret.is_empty());
    let listed = api.admin(Method::GET, "/v1/tsig-keys", None).await.json();
    assert_eq!(listed[0]["revoked"], true);
    api.admin(Method::DELETE, "/v1/tsig-keys/nothing.example.com", None)
        .await
        .assert_problem(404);
    api.admin(Method::DELETE, "/v1/tsig-keys/not%20a%20name", None)
        .await
        .assert_problem(404);

    // A revoked key's name can be given to a new key, with a new secret.
    let again = api
        .admin(
            Method::POST,
            "/v1/tsig-keys",
            Some(
                json!({"name": "acme-update.example.com", "algorithm": "hmac-sha512",
                        "scopes": [{"kind": "subtree", "name": "example.com"}]}),
            ),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.json());
    let stored = api
        .store
        .find_tsig_key("acme-update.example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.info.algorithm, TsigAlgorithm::HmacSha512);
    assert_eq!(stored.secret.len(), 64);
    assert!(!stored.info.revoked);
}

#[tokio::test]
async fn invalid_tsig_key_definitions_are_refused() {
    let api = Api::start().await;
    let scope = json!([{"kind": "subtree", "name": "example.com"}]);
    let cases: Vec<(&str, Value, u16)> = vec![
        ("no name", json!({"scopes": scope}), 400),
        (
            "a name that is no domain name",
            json!({"name": "not a name", "scopes": scope}),
            422,
        ),
        (
            "a wildcard name",
            json!({"name": "*.example.com", "scopes": scope}),
            422,
        ),
        (
            "no scopes",
            json!({"name": "u.example.com", "scopes": []}),
            422,
        ),
        (
            "a scope outside the zones",
            json!({"name": "u.example.com", "scopes": [{"kind": "subtree", "name": "example.org"}]}),
            422,
        ),
        (
            "an unknown algorithm",
            json!({"name": "u.example.com", "algorithm": "hmac-md5", "scopes": scope}),
            400,
        ),
        (
            "an unknown record type",
            json!({"name": "u.example.com", "record_types": ["MX"], "scopes": scope}),
            400,
        ),
        (
            "a description too long",
            json!({"name": "u.example.com", "description": "d".repeat(201), "scopes": scope}),
            422,
        ),
    ];
    for (what, body, status) in cases {
        let reply = api.admin(Method::POST, "/v1/tsig-keys", Some(body)).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {:?}", reply.json());
        reply.assert_problem(status);
    }
    assert!(api.store.list_tsig_keys().await.unwrap().is_empty());
}
