//! `/v1/keys`: create, list and revoke API keys (admin token only).
//!
//! A key is an id and a secret, both random: the id is 12 bytes and the secret 32 bytes
//! from the CSPRNG, base64url. The secret is shown once, in the creation response, as
//! part of the bearer token `<id>.<secret>`; the store keeps only its argon2 hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ipnet::IpNet;
use record_store::{ApiKeyInfo, KeyScope, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{self, Admin};
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::{Cidr, OwnerName};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::validation;

/// Random bytes in a key id.
const KEY_ID_BYTES: usize = 12;
/// Random bytes in a key secret.
const KEY_SECRET_BYTES: usize = 32;

/// A freshly generated key: what `POST /v1/keys` stores and shows.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// Public identifier (16 base64url characters).
    pub id: String,
    /// The secret (43 base64url characters); shown once, never stored.
    pub secret: String,
    /// argon2id PHC string of the secret, for the store.
    pub secret_hash: String,
}

impl GeneratedKey {
    /// The bearer token: `<id>.<secret>`.
    pub fn token(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }
}

/// Generates a key id and secret from the CSPRNG and hashes the secret (for the API and
/// for the CLI, which creates keys the same way).
pub fn generate_key() -> GeneratedKey {
    let secret = auth::random_base64url(KEY_SECRET_BYTES);
    GeneratedKey {
        id: auth::random_base64url(KEY_ID_BYTES),
        secret_hash: auth::hash_secret(&secret),
        secret,
    }
}

/// Whether a scope names one owner or a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ScopeKind {
    /// Exactly this owner name.
    Exact,
    /// This owner name and every name below it.
    Subtree,
}

/// A name a key may change.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "subtree", "name": "example.com"}))]
pub(crate) struct NewScope {
    /// `exact` or `subtree`.
    kind: ScopeKind,
    /// A name inside a served zone.
    #[schema(value_type = OwnerName)]
    name: String,
}

/// A key to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({
    "description": "lego on www",
    "scopes": [{"kind": "subtree", "name": "www.example.com"}],
    "source_cidrs": ["10.0.0.0/8"]
}))]
pub(crate) struct NewKey {
    /// What the key is for.
    #[serde(default)]
    #[schema(max_length = 200)]
    description: String,
    /// The names the key may change (at least one).
    #[schema(min_items = 1, max_items = 32)]
    scopes: Vec<NewScope>,
    /// Networks the key may be used from; from anywhere when empty.
    #[serde(default)]
    #[schema(value_type = Vec<Cidr>, max_items = 32)]
    source_cidrs: Vec<String>,
}

/// A scope as stored and shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ScopeView {
    /// `exact` or `subtree`.
    kind: ScopeKind,
    /// The owner name (normalised).
    name: String,
}

/// A key, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct KeyView {
    /// Public identifier.
    id: String,
    /// What the key is for.
    description: String,
    /// The names the key may change.
    scopes: Vec<ScopeView>,
    /// Networks the key may be used from; any when empty.
    #[schema(value_type = Vec<String>)]
    source_cidrs: Vec<IpNet>,
    /// Creation time, seconds since the Unix epoch.
    created_at: i64,
    /// Whether the key was revoked.
    revoked: bool,
}

/// Scopes as shown.
pub(crate) fn scope_views(scopes: Vec<KeyScope>) -> Vec<ScopeView> {
    scopes
        .into_iter()
        .map(|scope| match scope {
            KeyScope::Exact(name) => ScopeView {
                kind: ScopeKind::Exact,
                name,
            },
            KeyScope::Subtree(name) => ScopeView {
                kind: ScopeKind::Subtree,
                name,
            },
        })
        .collect()
}

/// Checks 1-[`validation::MAX_SCOPES`] scopes (names inside served zones), normalised,
/// without duplicates.
pub(crate) fn checked_scopes(
    state: &ApiState,
    scopes: Vec<NewScope>,
) -> Result<Vec<KeyScope>, ApiError> {
    if scopes.is_empty() || scopes.len() > validation::MAX_SCOPES {
        return Err(ApiError::Invalid(format!(
            "a key needs 1-{} scopes",
            validation::MAX_SCOPES
        )));
    }
    let mut checked = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let name = validation::owner_in_zones(&state.zones, &scope.name)?;
        let scope = match scope.kind {
            ScopeKind::Exact => KeyScope::Exact(name),
            ScopeKind::Subtree => KeyScope::Subtree(name),
        };
        if !checked.contains(&scope) {
            checked.push(scope);
        }
    }
    Ok(checked)
}

impl From<ApiKeyInfo> for KeyView {
    fn from(info: ApiKeyInfo) -> Self {
        Self {
            id: info.id,
            description: info.description,
            scopes: scope_views(info.scopes),
            source_cidrs: info.source_cidrs,
            created_at: info.created_at,
            revoked: info.revoked,
        }
    }
}

/// A key just created, with its secret (shown this once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CreatedKey {
    /// The secret; not retrievable later.
    secret: String,
    /// The bearer token to use: `<id>.<secret>`.
    token: String,
    /// The key.
    #[serde(flatten)]
    key: KeyView,
}

/// Creates a key.
#[utoipa::path(
    post, path = "/v1/keys", tag = "keys", operation_id = "createKey",
    request_body(content = NewKey, content_type = "application/json"),
    responses(
        (status = 201, description = "The key, with its secret and bearer token (shown only now).", body = CreatedKey),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the admin token.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not declared as JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A scope outside the served zones, a bad network, no scope.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<ApiState>,
    _admin: Admin,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let key = validate(&state, body)?;
    let generated = tokio::task::spawn_blocking(generate_key)
        .await
        .map_err(|error| ApiError::Internal(format!("key generation failed: {error}")))?;
    let info = state
        .store
        .create_key(&NewApiKey {
            id: generated.id.clone(),
            secret_hash: generated.secret_hash.clone(),
            description: key.description,
            scopes: key.scopes,
            source_cidrs: key.source_cidrs,
        })
        .await?;
    tracing::info!(key = %info.id, "management API: key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            token: generated.token(),
            secret: generated.secret,
            key: info.into(),
        }),
    ))
}

/// The parts of a new key, checked.
pub(crate) struct ValidKey {
    pub(crate) description: String,
    pub(crate) scopes: Vec<KeyScope>,
    pub(crate) source_cidrs: Vec<IpNet>,
}

pub(crate) fn validate(state: &ApiState, body: NewKey) -> Result<ValidKey, ApiError> {
    if body.description.chars().count() > validation::MAX_DESCRIPTION_CHARS {
        return Err(ApiError::Invalid(format!(
            "description longer than {} characters",
            validation::MAX_DESCRIPTION_CHARS
        )));
    }
    if body.source_cidrs.len() > validation::MAX_CIDRS {
        return Err(ApiError::Invalid(format!(
            "a key lists at most {} source networks",
            validation::MAX_CIDRS
        )));
    }
    let scopes = checked_scopes(state, body.scopes)?;
    let mut source_cidrs = Vec::with_capacity(body.source_cidrs.len());
    for raw in &body.source_cidrs {
        let net = validation::cidr(raw).map_err(ApiError::Invalid)?;
        if !source_cidrs.contains(&net) {
            source_cidrs.push(net);
        }
    }
    Ok(ValidKey {
        description: body.description,
        scopes,
        source_cidrs,
    })
}

/// Lists every key, revoked ones included, without secrets.
#[utoipa::path(
    get, path = "/v1/keys", tag = "keys", operation_id = "listKeys",
    responses(
        (status = 200, description = "The keys.", body = Vec<KeyView>),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the admin token.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    _admin: Admin,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = state.store.list_keys().await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// Revokes a key: it authenticates nothing from now on.
#[utoipa::path(
    delete, path = "/v1/keys/{id}", tag = "keys", operation_id = "revokeKey",
    params(("id" = String, Path, description = "The key id.")),
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
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.revoke_key(&id).await? {
        tracing::info!(key = %id, "management API: key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no key {id:?}")))
    }
}
