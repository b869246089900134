//! `/v1/keys`: creation (secret shown once, stored hashed), listing, revocation, and
//! refused key definitions.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use record_store::RecordStore as _;

use crate::harness::Api;

#[tokio::test]
async fn create_list_and_revoke() {
    let api = Api::start().await;
    let created = api
        .admin(
            Method::POST,
            "/v1/keys",
            Some(json!({
                "description": "lego on www",
                "scopes": [{"kind": "subtree", "name": "WWW.Example.COM."}, {"kind": "exact", "name": "example.net"}],
                "source_cidrs": ["10.1.2.3/8", "2001:db8::/32"]
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json());
    let created = created.json();
    let id = created["id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43, "32 bytes, base64url");
    assert_eq!(created["token"], format!("{id}.{secret}"));
    assert_eq!(created["description"], "lego on www");
    assert_eq!(
        created["scopes"],
        json!([{"kind": "subtree", "name": "www.example.com"}, {"kind": "exact", "name": "example.net"}])
    );
    assert_eq!(
        created["source_cidrs"],
        json!(["10.0.0.0/8", "2001:db8::/32"])
    );
    assert_eq!(created["revoked"], false);

    // The store has a hash, not the secret.
    let stored = api.store.find_key(id).await.unwrap().unwrap();
    assert!(
        stored.secret_hash.starts_with("$argon2id$"),
        "{}",
        stored.secret_hash
    );
    assert!(!stored.secret_hash.contains(secret));

    // A second key gets another id and secret.
    let other = api
        .admin(
            Method::POST,
            "/v1/keys",
            Some(json!({"scopes": [{"kind": "subtree", "name": "example.com"}]})),
        )
        .await
        .json();
    assert_ne!(other["id"], created["id"]);
    assert_ne!(other["secret"], created["secret"]);
    assert_eq!(other["description"], "");
    assert_eq!(other["source_cidrs"], json!([]));

    let listed = api.admin(Method::GET, "/v1/keys", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed = listed.json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let text = listed.to_string();
    assert!(!text.contains(secret), "listing shows a secret");
    assert!(!text.contains("argon2"), "listing shows a hash");
    for key in listed.as_array().unwrap() {
        assert!(
            key.get("secret").is_none() && key.get("token").is_none(),
            "{key}"
        );
    }

    let revoked = api
        .admin(Method::DELETE, &format!("/v1/keys/{id}"), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert!(revoked.body.is_empty());
    let listed = api.admin(Method::GET, "/v1/keys", None).await.json();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(entry["revoked"], true);
    api.admin(Method::DELETE, "/v1/keys/no-such-key", None)
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn invalid_key_definitions_are_refused() {
    let api = Api::start().await;
    let scope = json!([{"kind": "subtree", "name": "example.com"}]);
    let cases: Vec<(&str, Value, u16)> = vec![
        ("no scopes", json!({"scopes": []}), 422),
        ("missing scopes", json!({"description": "x"}), 400),
        (
            "scope outside zones",
            json!({"scopes": [{"kind": "subtree", "name": "example.org"}]}),
            422,
        ),
        (
            "unknown scope kind",
            json!({"scopes": [{"kind": "everything", "name": "example.com"}]}),
            400,
        ),
        (
            "network without prefix",
            json!({"scopes": scope, "source_cidrs": ["10.0.0.1"]}),
            422,
        ),
        (
            "network prefix too long",
            json!({"scopes": scope, "source_cidrs": ["10.0.0.0/33"]}),
            422,
        ),
        (
            "network not a string",
            json!({"scopes": scope, "source_cidrs": [10]}),
            400,
        ),
        (
            "description too long",
            json!({"scopes": scope, "description": "d".repeat(201)}),
            422,
        ),
    ];
    for (what, body, status) in cases {
        let reply = api.admin(Method::POST, "/v1/keys", Some(body)).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {:?}", reply.json());
        reply.assert_problem(status);
    }
    assert!(api.store.list_keys().await.unwrap().is_empty());
}
