//! acme-dns compatibility at the root paths, so existing acme-dns clients work
//! unmodified against acme-srv: certbot's `certbot-dns-acmedns` plugin is tested end to
//! end (the `acme_dns_client` interop test); lego's provider (through
//! `github.com/cpu/goacmedns`, whose capitalised field names are accepted) and acme.sh's
//! `dns_acmedns` use the same calls but are not tested here.
//!
//! - `POST /register`: body optional, `{"allowfrom": ["10.0.0.0/8", …]}`; answers 201
//!   `{"username", "password", "fulldomain", "subdomain", "allowfrom"}`. User name and
//!   subdomain are random UUIDs (v4), the password 40 random base64url characters,
//!   stored argon2-hashed. As in acme-dns, registration needs no credentials: anyone who
//!   can reach the API may register, and a registration controls only the TXT values of
//!   its own random name. 404 when no acme-dns zone is configured.
//! - `POST /update`: headers `X-Api-User` and `X-Api-Key`, body `{"subdomain", "txt"}`
//!   (`txt` exactly 43 base64url characters); answers 200 `{"txt": …}`. The newest
//!   `txt_keep` values (acme-dns keeps 2; never more than an RRset may hold, 64) stay
//!   published at `<subdomain>.<zone>`. The store's record rules hold here as on every
//!   write: a zone past its records quota is `403 quota_exceeded`, a `fulldomain` the
//!   operator made a CNAME `409 record_conflict` (acme-srv additions).
//! - `DELETE /register`: the same headers (and optionally `{"subdomain"}`) delete the
//!   registration and its TXT records (an acme-srv extension); 204.
//! - `GET /health`: 200 while the store answers.
//!
//! As in acme-dns, JSON field names match case-insensitively (goacmedns sends
//! `SubDomain`, `Txt`, `AllowFrom`), errors are `{"error": "<code>"}` with
//! `application/json`, and every authentication failure — unknown user, wrong key,
//! source address outside `allowfrom`, another user's subdomain — is the same 401
//! `{"error": "forbidden"}`. A failed request changes nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest as _, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::RngCore as _;
use record_store::Registration;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::auth;
use crate::openapi::{AcmeDnsTxt, Cidr, Uuid};
use crate::state::ApiState;
use crate::validation;

/// TTL of the TXT records `/update` publishes (acme-dns answers with 1 s).
pub(crate) const ACME_DNS_TXT_TTL: u32 = 1;
/// Length of a generated password.
const PASSWORD_LEN: usize = 40;
/// The characters of a password (64, so a random byte masked to 6 bits picks one
/// uniformly).
const PASSWORD_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The header carrying the user name.
const USER_HEADER: &str = "x-api-user";
/// The header carrying the password.
const KEY_HEADER: &str = "x-api-key";

/// An acme-dns error: a status and `{"error": "<code>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("acme-dns error {code} ({status})")]
pub(crate) struct AcmeDnsFailure {
    status: StatusCode,
    code: &'static str,
}

impl AcmeDnsFailure {
    const fn new(status: StatusCode, code: &'static str) -> Self {
        Self { status, code }
    }

    const FORBIDDEN: Self = Self::new(StatusCode::UNAUTHORIZED, "forbidden");
    const MALFORMED: Self = Self::new(StatusCode::BAD_REQUEST, "malformed_json_payload");
    const BAD_TXT: Self = Self::new(StatusCode::BAD_REQUEST, "bad_txt");
    const BAD_CIDR: Self = Self::new(StatusCode::BAD_REQUEST, "invalid_allowfrom_cidr");
    const TOO_LARGE: Self = Self::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    const DB_ERROR: Self = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "db_error");
    const DISABLED: Self = Self::new(StatusCode::NOT_FOUND, "registration_disabled");
    const NOT_FOUND: Self = Self::new(StatusCode::NOT_FOUND, "not_found");
    const TOO_MANY: Self = Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    const NOT_ALLOWED: Self = Self::new(StatusCode::FORBIDDEN, "registration_not_allowed");
    const QUOTA: Self = Self::new(StatusCode::FORBIDDEN, "quota_exceeded");
    const RECORD_CONFLICT: Self = Self::new(StatusCode::CONFLICT, "record_conflict");
}

impl From<record_store::StoreError> for AcmeDnsFailure {
    /// The store's record rules hold for `/update` too: a zone quota reached is
    /// `403 quota_exceeded`, and a name the operator made something the TXT values
    /// cannot join (a CNAME) is `409 record_conflict`.
    fn from(error: record_store::StoreError) -> Self {
        use record_store::{RuleViolation, StoreError};
        match error {
            StoreError::Rule(RuleViolation::QuotaExceeded { .. }) => {
                tracing::warn!(%error, "acme-dns API: update refused");
                Self::QUOTA
            }
            StoreError::Rule(_) => {
                tracing::warn!(%error, "acme-dns API: update refused");
                Self::RECORD_CONFLICT
            }
            error => {
                tracing::error!(%error, "acme-dns API: store operation failed");
                if error.storage_fault().is_some() {
                    Self::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
                } else {
                    Self::DB_ERROR
                }
            }
        }
    }
}

impl IntoResponse for AcmeDnsFailure {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(AcmeDnsError {
                error: self.code.to_owned(),
            }),
        )
            .into_response()
    }
}

/// An acme-dns error body.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"error": "forbidden"}))]
pub(crate) struct AcmeDnsError {
    /// `forbidden`, `malformed_json_payload`, `bad_txt`, `invalid_allowfrom_cidr`,
    /// `body_too_large`, `registration_disabled`, `registration_not_allowed`,
    /// `quota_exceeded`, `record_conflict`, `too_many_requests`, `not_found` or
    /// `db_error`.
    error: String,
}

/// A registration request.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(example = json!({"allowfrom": ["192.0.2.0/24"]}))]
pub(crate) struct RegisterRequest {
    /// Networks allowed to call `/update` for this registration; any when empty.
    #[serde(default)]
    #[schema(value_type = Vec<Cidr>, max_items = 32)]
    pub(crate) allowfrom: Vec<String>,
}

/// A new registration's credentials (the password is shown only now).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RegisterResponse {
    /// The user name (a UUID), for `X-Api-User`.
    username: String,
    /// The password, for `X-Api-Key`.
    password: String,
    /// The name to CNAME `_acme-challenge.<domain>` to.
    fulldomain: String,
    /// The label under the acme-dns zone (a UUID).
    subdomain: String,
    /// Networks allowed to call `/update`.
    allowfrom: Vec<String>,
}

/// A TXT update.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"subdomain": "8e5700ea-a4bf-41c7-8a77-e990661dcc6a", "txt": "___validation_token_received_from_the_ca___"}))]
pub(crate) struct UpdateRequest {
    /// The registration's subdomain.
    #[schema(value_type = Uuid)]
    pub(crate) subdomain: String,
    /// The TXT value: 43 base64url characters.
    #[schema(value_type = AcmeDnsTxt)]
    pub(crate) txt: String,
}

/// The value now published.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct UpdateResponse {
    /// The TXT value.
    txt: String,
}

/// A registration deletion (the body is optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub(crate) struct UnregisterRequest {
    /// The registration's subdomain; when given it must be the user's.
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    subdomain: Option<String>,
}

/// Creates a registration.
#[utoipa::path(
    post, path = "/register", tag = "acme-dns", operation_id = "acmeDnsRegister",
    request_body(content = Option<RegisterRequest>, content_type = "application/json", description = "Optional."),
    responses(
        (status = 201, description = "The new registration.", body = RegisterResponse),
        (status = 400, description = "`malformed_json_payload` or `invalid_allowfrom_cidr`.", body = AcmeDnsError),
        (status = 403, description = "`registration_not_allowed` (the client's network may not register) or `quota_exceeded` (the registrations quota is reached).", body = AcmeDnsError),
        (status = 404, description = "`registration_disabled`: registration is closed, or no acme-dns zone is configured.", body = AcmeDnsError),
        (status = 429, description = "`too_many_requests`: this client registered too often lately.", body = AcmeDnsError),
        (status = 413, description = "Body too large.", body = AcmeDnsError),
    )
)]
pub(crate) async fn register(
    State(state): State<ApiState>,
    request: Request,
) -> Result<(StatusCode, Json<RegisterResponse>), AcmeDnsFailure> {
    let Some(zone) = state.acme_dns_zone.clone() else {
        return Err(AcmeDnsFailure::DISABLED);
    };
    let policy = &state.guards.registration;
    if !policy.enabled {
        return Err(AcmeDnsFailure::DISABLED);
    }
    let (parts, body) = request.into_parts();
    let ip = auth::client_ip(&parts);
    if !policy.allow_from.is_empty() && !validation::ip_allowed(&policy.allow_from, ip) {
        tracing::info!(client = ?ip, "acme-dns API: registration from a network not allowed");
        return Err(AcmeDnsFailure::NOT_ALLOWED);
    }
    if !state.guards.may_register(ip) {
        return Err(AcmeDnsFailure::TOO_MANY);
    }
    let quota = state.guards.quotas.registrations;
    if quota > 0 && state.store.count_registrations().await? >= u64::from(quota) {
        tracing::warn!(quota, "acme-dns API: registration quota reached");
        return Err(AcmeDnsFailure::QUOTA);
    }
    let body = read_body(Request::from_parts(parts, body), &state).await?;
    let request: RegisterRequest = parse_optional(&body, &["allowfrom"])?;
    if request.allowfrom.len() > validation::MAX_CIDRS {
        return Err(AcmeDnsFailure::BAD_CIDR);
    }
    let mut allow_from = Vec::with_capacity(request.allowfrom.len());
    for raw in &request.allowfrom {
        let net = validation::cidr(raw).map_err(|_| AcmeDnsFailure::BAD_CIDR)?;
        if !allow_from.contains(&net) {
            allow_from.push(net);
        }
    }
    let (password, password_hash) = tokio::task::spawn_blocking(|| {
        let password = random_password();
        let hash = auth::hash_secret(&password);
        (password, hash)
    })
    .await
    .map_err(|_| AcmeDnsFailure::DB_ERROR)?;
    let subdomain = random_uuid();
    let registration = Registration {
        username: random_uuid(),
        password_hash,
        fulldomain: format!("{subdomain}.{zone}"),
        subdomain,
        allow_from,
    };
    state.store.create_registration(&registration).await?;
    tracing::info!(user = %registration.username, fulldomain = %registration.fulldomain,
        "acme-dns API: registration created");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            allowfrom: registration
                .allow_from
                .iter()
                .map(ToString::to_string)
                .collect(),
            username: registration.username,
            password,
            fulldomain: registration.fulldomain,
            subdomain: registration.subdomain,
        }),
    ))
}

/// Publishes a TXT value for the caller's subdomain.
#[utoipa::path(
    post, path = "/update", tag = "acme-dns", operation_id = "acmeDnsUpdate",
    request_body(content = UpdateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Published.", body = UpdateResponse),
        (status = 400, description = "`malformed_json_payload` or `bad_txt`.", body = AcmeDnsError),
        (status = 401, description = "`forbidden`: unknown user, wrong key, address outside `allowfrom`, or another subdomain.", body = AcmeDnsError),
        (status = 403, description = "`quota_exceeded`: the zone's records quota is reached.", body = AcmeDnsError),
        (status = 409, description = "`record_conflict`: the name holds a CNAME, which TXT values cannot join.", body = AcmeDnsError),
        (status = 429, description = "`too_many_requests`: too many failed authentications from this client lately.", body = AcmeDnsError),
        (status = 413, description = "Body too large.", body = AcmeDnsError),
    ),
    security(("acmeDnsUser" = [], "acmeDnsKey" = []))
)]
pub(crate) async fn update(
    State(state): State<ApiState>,
    request: Request,
) -> Result<Json<UpdateResponse>, AcmeDnsFailure> {
    let (parts, body) = request.into_parts();
    let registration = authenticate(&state, &parts).await?;
    let body = read_body(Request::from_parts(parts, body), &state).await?;
    let update: UpdateRequest = parse_object(&body, &["subdomain", "txt"])?;
    if !update
        .subdomain
        .eq_ignore_ascii_case(&registration.subdomain)
    {
        tracing::info!(user = %registration.username, "acme-dns API: update for another subdomain refused");
        return Err(AcmeDnsFailure::FORBIDDEN);
    }
    if !validation::is_acme_dns_txt(&update.txt) {
        return Err(AcmeDnsFailure::BAD_TXT);
    }
    state
        .store
        .push_txt_with(
            &registration.fulldomain,
            &update.txt,
            ACME_DNS_TXT_TTL,
            state.txt_keep,
            &state.write_context(None),
        )
        .await?;
    tracing::debug!(fulldomain = %registration.fulldomain, "acme-dns API: TXT updated");
    Ok(Json(UpdateResponse { txt: update.txt }))
}

/// Deletes the caller's registration and its TXT records.
#[utoipa::path(
    delete, path = "/register", tag = "acme-dns", operation_id = "acmeDnsUnregister",
    request_body(content = Option<UnregisterRequest>, content_type = "application/json", description = "Optional."),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "`malformed_json_payload`.", body = AcmeDnsError),
        (status = 401, description = "`forbidden`, as for `/update`.", body = AcmeDnsError),
        (status = 429, description = "`too_many_requests`, as for `/update`.", body = AcmeDnsError),
        (status = 404, description = "`not_found`: deleted meanwhile.", body = AcmeDnsError),
        (status = 413, description = "Body too large.", body = AcmeDnsError),
    ),
    security(("acmeDnsUser" = [], "acmeDnsKey" = []))
)]
pub(crate) async fn unregister(
    State(state): State<ApiState>,
    request: Request,
) -> Result<StatusCode, AcmeDnsFailure> {
    let (parts, body) = request.into_parts();
    let registration = authenticate(&state, &parts).await?;
    let body = read_body(Request::from_parts(parts, body), &state).await?;
    let request: UnregisterRequest = parse_optional(&body, &["subdomain"])?;
    if request
        .subdomain
        .is_some_and(|subdomain| !subdomain.eq_ignore_ascii_case(&registration.subdomain))
    {
        return Err(AcmeDnsFailure::FORBIDDEN);
    }
    if state
        .store
        .delete_registration(&registration.username)
        .await?
    {
        tracing::info!(user = %registration.username, "acme-dns API: registration deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AcmeDnsFailure::NOT_FOUND)
    }
}

/// Whether the service is up: 200 while the store answers.
#[utoipa::path(
    get, path = "/health", tag = "acme-dns", operation_id = "health",
    responses(
        (status = 200, description = "The service and its store answer."),
        (status = 503, description = "The store does not answer.", body = AcmeDnsError),
    )
)]
pub(crate) async fn health(State(state): State<ApiState>) -> Response {
    match state.store.serial().await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: the store does not answer");
            AcmeDnsFailure::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
                .into_response()
        }
    }
}

/// The registration named by `X-Api-User`, when `X-Api-Key` is its password and the
/// client address is allowed.
async fn authenticate(state: &ApiState, parts: &Parts) -> Result<Registration, AcmeDnsFailure> {
    let (Some(user), Some(key)) = (
        header(&parts.headers, USER_HEADER),
        header(&parts.headers, KEY_HEADER),
    ) else {
        return Err(AcmeDnsFailure::FORBIDDEN);
    };
    let ip = auth::client_ip(parts);
    if !state.guards.may_authenticate(ip) {
        return Err(AcmeDnsFailure::TOO_MANY);
    }
    let failed = || {
        state.guards.authentication_failed(ip);
        AcmeDnsFailure::FORBIDDEN
    };
    if !validation::is_uuid(user) || !valid_password_shape(key) {
        return Err(failed());
    }
    let registration = state
        .store
        .find_registration(&user.to_ascii_lowercase())
        .await?;
    let Some(registration) = registration else {
        auth::verify_secret_blocking(state, key.to_owned(), state.dummy_hash.clone()).await;
        return Err(failed());
    };
    if !auth::verify_secret_blocking(state, key.to_owned(), registration.password_hash.clone())
        .await
    {
        return Err(failed());
    }
    if !validation::ip_allowed(&registration.allow_from, ip) {
        tracing::info!(user = %registration.username, "acme-dns API: address outside allowfrom refused");
        return Err(AcmeDnsFailure::FORBIDDEN);
    }
    Ok(registration)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// Whether `key` has the shape of an acme-dns password: 40 base64url characters.
fn valid_password_shape(key: &str) -> bool {
    key.len() == PASSWORD_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The body, at most the configured size.
async fn read_body(request: Request, state: &ApiState) -> Result<Bytes, AcmeDnsFailure> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AcmeDnsFailure::TOO_LARGE
            } else {
                AcmeDnsFailure::MALFORMED
            }
        })
}

/// Parses an optional JSON object body (empty or `null` means all defaults).
pub(crate) fn parse_optional<T: DeserializeOwned + Default>(
    body: &[u8],
    fields: &[&str],
) -> Result<T, AcmeDnsFailure> {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    // `null` decodes to the zero value in Go, so acme-dns accepts it too.
    if blank || serde_json::from_slice::<Value>(body).is_ok_and(|value| value.is_null()) {
        return Ok(T::default());
    }
    parse_object(body, fields)
}

/// Parses a JSON object body, matching `fields` case-insensitively as Go's
/// `encoding/json` does (an exact match wins); other members are ignored.
pub(crate) fn parse_object<T: DeserializeOwned>(
    body: &[u8],
    fields: &[&str],
) -> Result<T, AcmeDnsFailure> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err(AcmeDnsFailure::MALFORMED);
    };
    let mut canonical = Map::new();
    for field in fields {
        let value = object.get(*field).or_else(|| {
            object
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(field))
                .map(|(_, value)| value)
        });
        if let Some(value) = value {
            canonical.insert((*field).to_owned(), value.clone());
        }
    }
    serde_json::from_value(Value::Object(canonical)).map_err(|_| AcmeDnsFailure::MALFORMED)
}

/// A random UUID, version 4 (RFC 9562), lowercase.
fn random_uuid() -> String {
    let mut bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A random password of [`PASSWORD_LEN`] characters from [`PASSWORD_ALPHABET`].
fn random_password() -> String {
    let mut bytes = [0_u8; PASSWORD_LEN];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(PASSWORD_ALPHABET[usize::from(b & 0x3f)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let uuid = random_uuid();
        assert!(validation::is_uuid(&uuid), "{uuid}");
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid, random_uuid());
    }

    #[test]
    fn passwords_have_the_acme_dns_shape() {
        let password = random_password();
        assert!(valid_password_shape(&password), "{password}");
        assert_ne!(password, random_password());
    }

    #[test]
    fn fields_match_case_insensitively() {
        let update: UpdateRequest = parse_object(
            br#"{"SubDomain": "a", "Txt": "b", "other": 1}"#,
            &["subdomain", "txt"],
        )
        .unwrap();
        assert_eq!((update.subdomain.as_str(), update.txt.as_str()), ("a", "b"));
        let exact: UpdateRequest = parse_object(
            br#"{"SUBDOMAIN": "x", "subdomain": "a", "txt": "b"}"#,
            &["subdomain", "txt"],
        )
        .unwrap();
        assert_eq!(exact.subdomain, "a");
        let register: RegisterRequest = parse_optional(b"", &["allowfrom"]).unwrap();
        assert!(register.allowfrom.is_empty());
        let register: RegisterRequest =
            parse_optional(br#"{"AllowFrom": ["10.0.0.0/8"]}"#, &["allowfrom"]).unwrap();
        assert_eq!(register.allowfrom, ["10.0.0.0/8"]);
        assert_eq!(
            parse_optional::<RegisterRequest>(b"[1]", &["allowfrom"]).unwrap_err(),
            AcmeDnsFailure::MALFORMED
        );
        assert_eq!(
            parse_optional::<RegisterRequest>(br#"{"allowfrom": null}"#, &["allowfrom"])
                .unwrap_err(),
            AcmeDnsFailure::MALFORMED
        );
    }
}
