//! Who is calling, and what they may change.
//!
//! `/v1` requests carry `Authorization: Bearer <token>`:
//! - the **admin token** (from the configuration) may do everything; it is compared in
//!   constant time and never logged;
//! - an **API key** token `<key-id>.<secret>` names a stored key; the secret is checked
//!   against the key's argon2 hash. The key must not be revoked, the client address
//!   (from the connection) must be inside one of the key's source networks when it has
//!   any, and every owner name the request touches must be covered by one of the key's
//!   scopes ([`record_store::KeyScope::covers`]).
//!
//! No or unusable credentials are refused with 401; a valid key used for a name or from
//! an address it does not allow, or for an admin-only operation, with 403. Both are
//! decided before the request changes anything.
//!
//! Secrets (key secrets, acme-dns passwords) are random values of 200+ bits, so
//! guessing them is infeasible whatever the hash costs: they are hashed with argon2id
//! at a light cost ([`ARGON2_M_COST_KIB`], one pass) that keeps per-request
//! verification cheap. The PHC string records the parameters, so hashes made with other
//! parameters (by the CLI, or later with higher costs) verify unchanged.

use std::net::{IpAddr, SocketAddr};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use record_store::{ApiKeyInfo, Author, KeyScope};
use subtle::ConstantTimeEq as _;

use crate::problem::ApiError;
use crate::state::ApiState;
use crate::validation;

/// argon2id memory cost, in KiB, for hashes this crate makes.
pub const ARGON2_M_COST_KIB: u32 = 1024;
/// argon2id passes for hashes this crate makes.
pub const ARGON2_T_COST: u32 = 1;

/// Longest key id looked up in the store; longer ones cannot exist.
const MAX_KEY_ID_LEN: usize = 64;
/// Shortest secret worth verifying (generated ones are 43 characters).
const MIN_SECRET_LEN: usize = 32;
/// Longest secret worth verifying.
const MAX_SECRET_LEN: usize = 128;

/// The configured admin token, kept only to compare against.
pub(crate) struct AdminToken(Vec<u8>);

impl AdminToken {
    pub(crate) fn new(token: &str) -> Self {
        Self(token.as_bytes().to_vec())
    }

    /// Whether `presented` is the admin token, in time independent of where they differ.
    fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_slice().ct_eq(presented.as_bytes()))
    }
}

/// The argon2id hasher with this crate's parameters.
fn hasher() -> Argon2<'static> {
    let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, 1, None)
        .unwrap_or_else(|_| Params::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a secret (an API key secret or an acme-dns password) to the argon2id PHC string
/// the store keeps.
pub fn hash_secret(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    match hasher().hash_password(secret.as_bytes(), &salt) {
        Ok(hash) => hash.to_string(),
        // Only reachable with invalid parameters, which are constants; an empty hash
        // verifies nothing.
        Err(_) => String::new(),
    }
}

/// Whether `secret` matches the PHC string `phc` (any argon2 variant and parameters).
pub(crate) fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok()
    })
}

/// [`verify_secret`] on a blocking thread (argon2 is deliberately CPU-heavy), at most
/// `quotas.concurrent_verifications` at a time: a flood of bogus credentials queues
/// here instead of filling the blocking pool.
pub(crate) async fn verify_secret_blocking(state: &ApiState, secret: String, phc: String) -> bool {
    let Ok(_permit) = state.guards.verifications.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_secret(&secret, &phc))
        .await
        .unwrap_or(false)
}

/// Whether `secret` could be a secret this crate made (base64url, of a sane length):
/// anything else is refused without spending a hash on it.
pub(crate) fn is_secret_shaped(secret: &str) -> bool {
    (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `len` random bytes from the thread-local CSPRNG, base64url without padding.
pub(crate) fn random_base64url(len: usize) -> String {
    let mut bytes = vec![0_u8; len];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The client address of the connection, when the router is served with connection
/// info.
pub(crate) fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical())
}

/// An authenticated caller of the `/v1` API.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// The admin token: everything is allowed.
    Admin,
    /// A valid, unrevoked API key used from an allowed address.
    Key(ApiKeyInfo),
}

impl Caller {
    /// Refuses unless the caller is the admin.
    pub(crate) fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Self::Admin => Ok(()),
            Self::Key(key) => Err(ApiError::Forbidden(format!(
                "key {:?} may not manage keys: that needs the admin token",
                key.id
            ))),
        }
    }

    /// The author of the records the caller adds: its key (`None` for the admin token).
    pub(crate) fn author(&self) -> Option<Author> {
        match self {
            Self::Admin => None,
            Self::Key(key) => Some(Author::ApiKey(key.id.clone())),
        }
    }

    /// Whether the caller may change the normalised `owner`.
    pub(crate) fn covers(&self, owner: &str) -> bool {
        match self {
            Self::Admin => true,
            Self::Key(key) => key.scopes.iter().any(|scope| scope.covers(owner)),
        }
    }

    /// Refuses unless the caller may change the normalised `owner`.
    pub(crate) fn authorize_name(&self, owner: &str) -> Result<(), ApiError> {
        match self {
            Self::Key(key) if !self.covers(owner) => Err(ApiError::Forbidden(format!(
                "key {:?} may not change {owner:?}: none of its scopes covers it",
                key.id
            ))),
            _ => Ok(()),
        }
    }

    /// Whether any name at or below `name` is covered for the caller (a listing of
    /// `name` would show something).
    pub(crate) fn overlaps(&self, name: &str) -> bool {
        match self {
            Self::Admin => true,
            Self::Key(key) => {
                let below = KeyScope::Subtree(name.to_owned());
                key.scopes.iter().any(|scope| {
                    let scope_name = match scope {
                        KeyScope::Exact(n) | KeyScope::Subtree(n) => n,
                    };
                    scope.covers(name) || below.covers(scope_name)
                })
            }
        }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let ip = client_ip(parts);
        if !state.guards.may_authenticate(ip) {
            return Err(ApiError::TooManyRequests(
                "too many failed authentications from this client; try again later".to_owned(),
            ));
        }
        let caller = authenticate(parts, state, ip).await;
        if matches!(caller, Err(ApiError::Unauthenticated(_))) {
            state.guards.authentication_failed(ip);
        }
        caller
    }
}

/// The caller that `parts`' credentials name, from `ip`.
async fn authenticate(
    parts: &Parts,
    state: &ApiState,
    ip: Option<IpAddr>,
) -> Result<Caller, ApiError> {
    let token = bearer_token(parts)?;
    if state
        .admin_token
        .as_ref()
        .is_some_and(|admin| admin.matches(token))
    {
        return Ok(Caller::Admin);
    }
    let invalid = || ApiError::Unauthenticated("invalid credentials".to_owned());
    let Some((id, secret)) = token.split_once('.').filter(|(id, secret)| {
        !id.is_empty() && id.len() <= MAX_KEY_ID_LEN && is_secret_shaped(secret)
    }) else {
        return Err(invalid());
    };
    let secret = secret.to_owned();
    let Some(key) = state.store.find_key(id).await? else {
        // Spend the time a wrong secret would cost: the answer does not tell
        // whether the key exists.
        verify_secret_blocking(state, secret, state.dummy_hash.clone()).await;
        return Err(invalid());
    };
    if !verify_secret_blocking(state, secret, key.secret_hash.clone()).await {
        return Err(invalid());
    }
    if key.info.revoked {
        return Err(ApiError::Unauthenticated(format!(
            "key {:?} was revoked",
            key.info.id
        )));
    }
    if !validation::ip_allowed(&key.info.source_cidrs, ip) {
        let from = ip.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
        return Err(ApiError::Forbidden(format!(
            "key {:?} may not be used from {from}: it is limited to its source networks",
            key.info.id
        )));
    }
    Ok(Caller::Key(key.info))
}

/// A caller that is the admin: refused with 403 (a valid key) or 401 before the body is
/// read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin;

impl FromRequestParts<ApiState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Caller::from_request_parts(parts, state)
            .await?
            .require_admin()
            .map(|()| Self)
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let missing =
        || ApiError::Unauthenticated("missing `Authorization: Bearer <token>` header".to_owned());
    let value = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| {
        ApiError::Unauthenticated("the Authorization header is not ASCII".to_owned())
    })?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| {
        ApiError::Unauthenticated("expected `Authorization: Bearer <token>`".to_owned())
    })?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::Unauthenticated(
            "expected `Authorization: Bearer <token>`".to_owned(),
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let first = hash_secret("s3cret");
        let second = hash_secret("s3cret");
        assert_ne!(first, second);
        assert!(first.starts_with("$argon2id$"));
        assert!(verify_secret("s3cret", &first));
        assert!(!verify_secret("other", &first));
        assert!(!verify_secret("s3cret", "not a phc string"));
    }

    /// A flood of credentials queues for a verification permit instead of filling the
    /// blocking pool: with every permit taken, a verification waits.
    #[tokio::test]
    async fn verifications_wait_for_a_permit() {
        let dir = tempfile::tempdir().unwrap();
        let store = record_store::SqliteStore::open(&dir.path().join("s.db"))
            .await
            .unwrap();
        let settings = crate::ApiSettings {
            quotas: crate::Quotas {
                concurrent_verifications: 1,
                ..crate::Quotas::default()
            },
            ..crate::ApiSettings::default()
        };
        let state = ApiState::new(std::sync::Arc::new(store), settings);
        let phc = hash_secret("right");
        let held = state.guards.verifications.acquire().await.unwrap();
        let waiting = {
            let (state, phc) = (state.clone(), phc.clone());
            tokio::spawn(async move { verify_secret_blocking(&state, "right".into(), phc).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "verified without a permit");
        drop(held);
        assert!(waiting.await.unwrap());
    }

    #[test]
    fn only_secret_shaped_values_are_worth_a_hash() {
        assert!(is_secret_shaped(&random_base64url(32)));
        assert!(!is_secret_shaped("short"));
        assert!(!is_secret_shaped(&"a".repeat(129)));
        assert!(!is_secret_shaped(&format!("{}!", "a".repeat(40))));
        assert!(!is_secret_shaped(&"é".repeat(20)));
    }

    #[test]
    fn admin_token_comparison() {
        let token = AdminToken::new("abc");
        assert!(token.matches("abc"));
        assert!(!token.matches("abd"));
        assert!(!token.matches("ab"));
        assert!(!token.matches(""));
    }

    fn key(scopes: Vec<KeyScope>) -> Caller {
        Caller::Key(ApiKeyInfo {
            id: "k".into(),
            description: String::new(),
            scopes,
            source_cidrs: Vec::new(),
            created_at: 0,
            revoked: false,
        })
    }

    #[test]
    fn scopes_cover_and_overlap() {
        let caller = key(vec![KeyScope::Subtree("www.example.com".into())]);
        assert!(caller.covers("_acme-challenge._tcp.www.example.com"));
        assert!(!caller.covers("example.com"));
        assert!(caller.authorize_name("example.com").is_err());
        assert!(caller.overlaps("example.com"));
        assert!(caller.overlaps("_tcp.www.example.com"));
        assert!(!caller.overlaps("mail.example.com"));
        assert!(Caller::Admin.overlaps("anything.test"));
        assert!(caller.require_admin().is_err());
        assert!(Caller::Admin.require_admin().is_ok());
    }

    #[test]
    fn random_tokens_are_base64url() {
        let token = random_base64url(32);
        assert_eq!(token.len(), 43);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(token, random_base64url(32));
    }
}
