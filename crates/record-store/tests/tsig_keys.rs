//! TSIG keys: stored with their secret (the server computes HMACs with it), listed
//! without, revoked by wiping the secret, a name taken over only from a revoked key.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[macro_use]
mod support;

use record_store::{
    KeyScope, NewTsigKey, RecordType, StoreError, TsigAlgorithm, UpdatePermissions,
};
use support::{Backend, new_store};

fn new_key(name: &str, algorithm: TsigAlgorithm) -> NewTsigKey {
    NewTsigKey {
        name: name.into(),
        algorithm,
        secret: (0..algorithm.secret_len()).map(|n| n as u8).collect(),
        description: format!("key {name}"),
        scopes: vec![
            KeyScope::Subtree("www.example.com".into()),
            KeyScope::Exact("_acme-challenge.example.com".into()),
        ],
        record_types: vec![RecordType::Txt],
        transfer: algorithm == TsigAlgorithm::HmacSha512,
    }
}

async fn create_find_list_revoke_and_reopen(backend: Backend) {
    let first = new_store(backend).await;
    let store = &first;
    assert!(store.list_tsig_keys().await.unwrap().is_empty());
    assert!(
        store
            .find_tsig_key("u.example.com")
            .await
            .unwrap()
            .is_none()
    );

    let sha256 = new_key("u.example.com", TsigAlgorithm::HmacSha256);
    let info = store.create_tsig_key(&sha256).await.unwrap();
    assert_eq!(info.name, "u.example.com");
    assert_eq!(info.algorithm, TsigAlgorithm::HmacSha256);
    assert_eq!(info.scopes, sha256.scopes);
    assert_eq!(info.record_types, [RecordType::Txt]);
    assert!(!info.transfer && !info.revoked);
    assert_eq!(
        info.permissions(),
        UpdatePermissions {
            scopes: sha256.scopes.clone(),
            record_types: vec![RecordType::Txt],
        }
    );
    let found = store.find_tsig_key("u.example.com").await.unwrap().unwrap();
    assert_eq!(found.info, info);
    assert_eq!(found.secret, sha256.secret, "the secret is stored as it is");

    let sha512 = new_key("a.example.com", TsigAlgorithm::HmacSha512);
    store.create_tsig_key(&sha512).await.unwrap();
    let listed = store.list_tsig_keys().await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["a.example.com", "u.example.com"]
    );
    assert!(listed[0].transfer);
    assert_eq!(listed[0].algorithm, TsigAlgorithm::HmacSha512);

    // A name in use is not taken over.
    let err = store.create_tsig_key(&sha256).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(what) if what.contains("u.example.com")),
        "{err:?}"
    );

    // Revoking wipes the secret; the key stays listed.
    assert!(store.revoke_tsig_key("u.example.com").await.unwrap());
    assert!(store.revoke_tsig_key("u.example.com").await.unwrap());
    assert!(!store.revoke_tsig_key("nope.example.com").await.unwrap());
    let revoked = store.find_tsig_key("u.example.com").await.unwrap().unwrap();
    assert!(revoked.info.revoked);
    assert!(revoked.secret.is_empty(), "a revoked key keeps its secret");
    assert_eq!(store.list_tsig_keys().await.unwrap().len(), 2);

    // The keys survive reopening; a revoked key's name can be taken by a new key.
    let store = first.reopen().await;
    assert_eq!(
        store
            .find_tsig_key("a.example.com")
            .await
            .unwrap()
            .unwrap()
            .secret,
        sha512.secret
    );
    let mut rotated = new_key("u.example.com", TsigAlgorithm::HmacSha512);
    rotated.secret = vec![7; 64];
    let info = store.create_tsig_key(&rotated).await.unwrap();
    assert!(!info.revoked);
    let found = store.find_tsig_key("u.example.com").await.unwrap().unwrap();
    assert_eq!(found.secret, vec![7; 64]);
    assert_eq!(found.info.algorithm, TsigAlgorithm::HmacSha512);
    assert!(!found.info.revoked);
}

on_both_backends!(create_find_list_revoke_and_reopen,);
