//! `/v1/tsig-keys`: create, list and revoke the TSIG keys (RFC 8945) that sign RFC 2136
//! UPDATE messages (admin token only), as `/v1/keys` does for API keys.
//!
//! A TSIG key is a name (a domain name, such as `acme-update.example.com`), an algorithm
//! (`hmac-sha256`, the default, or `hmac-sha512`) and a secret of the hash's output length
//! (32 or 64 bytes) from the CSPRNG. It may change the names its scopes cover (exact
//! names or subtrees inside the served zones), of the record types listed (every type
//! when none is), and transfer zones when `transfer` is set.
//!
//! Unlike an API key's secret, the secret is stored as it is: the server computes the
//! HMAC of every signed message with it, which a hash would not allow. It is shown once,
//! base64 as BIND, `nsupdate` and `dig` take it, in the creation response. Revoking a key
//! wipes its secret; the key stays listed, and a new key may take its name.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use record_store::{NewTsigKey, RecordType, TsigAlgorithm, TsigKeyInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::extract::{ApiJson, ApiPath};
use crate::keys::{self, NewScope, ScopeView};
use crate::openapi::HostName;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::validation;

/// A TSIG algorithm, as BIND and `nsupdate` name it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) enum AlgorithmName {
    /// HMAC-SHA256, with a 32-byte secret.
    #[default]
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    /// HMAC-SHA512, with a 64-byte secret.
    #[serde(rename = "hmac-sha512")]
    HmacSha512,
}

impl From<AlgorithmName> for TsigAlgorithm {
    fn from(name: AlgorithmName) -> Self {
        match name {
            AlgorithmName::HmacSha256 => Self::HmacSha256,
            AlgorithmName::HmacSha512 => Self::HmacSha512,
        }
    }
}

impl From<TsigAlgorithm> for AlgorithmName {
    fn from(algorithm: TsigAlgorithm) -> Self {
        match algorithm {
            TsigAlgorithm::HmacSha256 => Self::HmacSha256,
            TsigAlgorithm::HmacSha512 => Self::HmacSha512,
        }
    }
}

/// A record type a TSIG key may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub(crate) enum RecordTypeName {
    /// `A`
    #[serde(rename = "A")]
    A,
    /// `AAAA`
    #[serde(rename = "AAAA")]
    Aaaa,
    /// `CNAME`
    #[serde(rename = "CNAME")]
    Cname,
    /// `SRV`
    #[serde(rename = "SRV")]
    Srv,
    /// `TXT`
    #[serde(rename = "TXT")]
    Txt,
}

impl From<RecordTypeName> for RecordType {
    fn from(name: RecordTypeName) -> Self {
        match name {
            RecordTypeName::A => Self::A,
            RecordTypeName::Aaaa => Self::Aaaa,
            RecordTypeName::Cname => Self::Cname,
            RecordTypeName::Srv => Self::Srv,
            RecordTypeName::Txt => Self::Txt,
        }
    }
}

impl From<RecordType> for RecordTypeName {
    fn from(record_type: RecordType) -> Self {
        match record_type {
            RecordType::A => Self::A,
            RecordType::Aaaa => Self::Aaaa,
            RecordType::Cname => Self::Cname,
            RecordType::Srv => Self::Srv,
            RecordType::Txt => Self::Txt,
        }
    }
}

/// A TSIG key to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "acme-update.example.com",
    "algorithm": "hmac-sha256",
    "description": "certbot on www",
    "scopes": [{"kind": "exact", "name": "_acme-challenge.www.example.com"}],
    "record_types": ["TXT"]
}))]
pub(crate) struct NewTsigKeyBody {
    /// The key's name: a domain name (any letter case, an optional trailing dot), which
    /// signed messages carry.
    #[schema(value_type = HostName)]
    name: String,
    /// The HMAC algorithm; `hmac-sha256` when left out.
    #[serde(default)]
    algorithm: AlgorithmName,
    /// What the key is for.
    #[serde(default)]
    #[schema(max_length = 200)]
    description: String,
    /// The names the key may change (at least one).
    #[schema(min_items = 1, max_items = 32)]
    scopes: Vec<NewScope>,
    /// The record types the key may change; every type when empty or left out.
    #[serde(default)]
    #[schema(max_items = 5)]
    record_types: Vec<RecordTypeName>,
    /// Whether the key may transfer zones (AXFR, IXFR).
    #[serde(default)]
    transfer: bool,
}

/// A TSIG key, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct TsigKeyView {
    /// The key's name (normalised: lowercase, no trailing dot).
    name: String,
    /// The HMAC algorithm.
    algorithm: AlgorithmName,
    /// What the key is for.
    description: String,
    /// The names the key may change.
    scopes: Vec<ScopeView>,
    /// The record types the key may change; every type when empty.
    record_types: Vec<RecordTypeName>,
    /// Whether the key may transfer zones.
    transfer: bool,
    /// Creation time, seconds since the Unix epoch.
    created_at: i64,
    /// Whether the key was revoked (its secret is then gone).
    revoked: bool,
}

impl From<TsigKeyInfo> for TsigKeyView {
    fn from(info: TsigKeyInfo) -> Self {
        Self {
            name: info.name,
            algorithm: info.algorithm.into(),
            description: info.description,
            scopes: keys::scope_views(info.scopes),
            record_types: info.record_types.into_iter().map(Into::into).collect(),
            transfer: info.transfer,
            created_at: info.created_at,
            revoked: info.revoked,
        }
    }
}

/// A TSIG key just created, with its secret (shown this once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CreatedTsigKey {
    /// The secret, base64 (with padding), as BIND's `secret "…";`, `nsupdate -y` and
    /// `dig -y` take it. Not retrievable later.
    secret: String,
    /// The key.
    #[serde(flatten)]
    key: TsigKeyView,
}

/// `len` random bytes from the thread-local CSPRNG.
fn random_secret(len: usize) -> Vec<u8> {
    let mut secret = vec![0_u8; len];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// Creates a TSIG key.
#[utoipa::path(
    post, path = "/v1/tsig-keys", tag = "tsig-keys", operation_id = "createTsigKey",
    request_body(content = NewTsigKeyBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The key, with its secret (shown only now).", body = CreatedTsigKey),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the admin token.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A key in use has this name (revoke it first).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not declared as JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A scope outside the served zones, a bad name, no scope.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<ApiState>,
    _admin: Admin,
    ApiJson(body): ApiJson<NewTsigKeyBody>,
) -> Result<(StatusCode, Json<CreatedTsigKey>), ApiError> {
    let name = validation::target(&body.name, "TSIG key name")?;
    if body.description.chars().count() > validation::MAX_DESCRIPTION_CHARS {
        return Err(ApiError::Invalid(format!(
            "description longer than {} characters",
            validation::MAX_DESCRIPTION_CHARS
        )));
    }
    let scopes = keys::checked_scopes(&state, body.scopes)?;
    let mut record_types: Vec<RecordType> = Vec::new();
    for record_type in body.record_types.into_iter().map(RecordType::from) {
        if !record_types.contains(&record_type) {
            record_types.push(record_type);
        }
    }
    let algorithm = TsigAlgorithm::from(body.algorithm);
    let secret = random_secret(algorithm.secret_len());
    let info = state
        .store
        .create_tsig_key(&NewTsigKey {
            name,
            algorithm,
            secret: secret.clone(),
            description: body.description,
            scopes,
            record_types,
            transfer: body.transfer,
        })
        .await?;
    tracing::info!(key = %info.name, algorithm = %info.algorithm, "management API: TSIG key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedTsigKey {
            secret: STANDARD.encode(&secret),
            key: info.into(),
        }),
    ))
}

/// Lists every TSIG key, revoked ones included, without secrets.
#[utoipa::path(
    get, path = "/v1/tsig-keys", tag = "tsig-keys", operation_id = "listTsigKeys",
    responses(
        (status = 200, description = "The keys, by name.", body = Vec<TsigKeyView>),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the admin token.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    _admin: Admin,
) -> Result<Json<Vec<TsigKeyView>>, ApiError> {
    let keys = state.store.list_tsig_keys().await?;
    Ok(Json(keys.into_iter().map(TsigKeyView::from).collect()))
}

/// Revokes a TSIG key: its secret is wiped and it signs nothing from now on.
#[utoipa::path(
    delete, path = "/v1/tsig-keys/{name}", tag = "tsig-keys", operation_id = "revokeTsigKey",
    params(("name" = String, Path, description = "The key's name (any letter case, an optional trailing dot).")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = "Malformed path.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the admin token.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn revoke(
    State(state): State<ApiState>,
    _admin: Admin,
    ApiPath(raw_name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let no_such_key = || ApiError::NotFound(format!("no TSIG key {raw_name:?}"));
    // A name that is not a domain name names no key.
    let name = validation::target(&raw_name, "TSIG key name").map_err(|_| no_such_key())?;
    if state.store.revoke_tsig_key(&name).await? {
        tracing::info!(key = %name, "management API: TSIG key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_algorithm_length_and_differ() {
        for algorithm in [TsigAlgorithm::HmacSha256, TsigAlgorithm::HmacSha512] {
            let secret = random_secret(algorithm.secret_len());
            assert_eq!(secret.len(), algorithm.secret_len());
            assert_ne!(secret, random_secret(algorithm.secret_len()));
        }
        assert_eq!(AlgorithmName::default(), AlgorithmName::HmacSha256);
    }
}
