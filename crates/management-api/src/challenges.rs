//! `/v1/challenges/…`: the records of the newer DNS validation methods, built here from
//! their parameters, so a client needs to know neither the owner name nor the value
//! format.
//!
//! - **dns-persist-01** (draft-ietf-acme-dns-persist): one long-lived TXT record at
//!   `_validation-persist.<domain>` that names the CA and the ACME account. Its value is
//!   an RFC 8659 issue-value, parameters in the draft's order ([`persist_value`]):
//!   `<issuer-domain-name>; accounturi=<URL>[; policy=wildcard][; persistUntil=<unix
//!   seconds>]`. `PUT` replaces the TXT RRset there with that one value; `DELETE`
//!   removes it.
//! - **dns-account-01** (draft-ietf-acme-dns-account-label): the dns-01 digest at
//!   `_<label>._acme-challenge.<domain>`, where the label is the lowercase base32 (RFC
//!   4648 alphabet, no padding) of the first 10 bytes of SHA-256 of the account URL, 16
//!   characters ([`account_label`]). `PUT` publishes a value there, keeping the newest
//!   two (a name and its wildcard are validated at the same owner, possibly at once, as
//!   with dns-01); `DELETE ?account_uri=` removes them.
//!
//! Every check happens before anything is written, in this order: the domain (a name in
//! a served zone, no wildcard, short enough that the owner fits in 253 characters: 422
//! `invalid-value` or `owner-outside-zones`), the fields of the body or query (422
//! `invalid-value`, the detail starting with the field's name), then the caller, who must
//! cover the owner written (403, as for `/v1/records`: a key with the subtree of
//! `www.example.com` covers the owners of both methods for `www.example.com`). The write
//! goes through the store's normal path with the caller as author, so the record rules
//! and quotas hold as for `/v1/records` ([`record_store::rules`]).
//!
//! The patterns of the fields are published in the OpenAPI document ([`schemas`]), the
//! same ones the handlers check with. `persist_until` must be in the future, which a
//! document cannot say: it publishes as minimum a whole hour one to two hours after the
//! API first started in this process ([`persist_until_floor`]), and values below it are
//! refused too, so a client that follows the document is refused only for a value that
//! has meanwhile passed.

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use record_store::model::{Record, RecordData, RecordType};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::auth::Caller;
use crate::extract::{self, ApiJson, ApiPath, ApiQuery};
use crate::openapi::AcmeDnsTxt;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::validation;

/// The label dns-persist-01 records are under.
pub(crate) const PERSIST_LABEL: &str = "_validation-persist";
/// The label dns-01 and dns-account-01 records are under.
const ACME_CHALLENGE_LABEL: &str = "_acme-challenge";
/// Bytes of the account URL's SHA-256 that make the dns-account-01 label.
const ACCOUNT_LABEL_BYTES: usize = 10;
/// Characters of a dns-account-01 label (base32 of 10 bytes, unpadded).
const ACCOUNT_LABEL_LEN: usize = 16;
/// dns-account-01 values kept at an owner: a name and its wildcard may be validated at
/// once, each with its own value at the same owner.
const ACCOUNT_TXT_KEEP: usize = 2;

/// Longest domain for dns-persist-01, as sent: `_validation-persist.` and the domain
/// stay within a name's 253 characters.
pub(crate) const MAX_PERSIST_DOMAIN_LEN: usize = validation::MAX_NAME_LEN - PERSIST_LABEL.len() - 1;
/// Longest domain for dns-account-01, as sent: `_<label>._acme-challenge.` and the
/// domain stay within a name's 253 characters.
pub(crate) const MAX_ACCOUNT_DOMAIN_LEN: usize =
    validation::MAX_NAME_LEN - (1 + ACCOUNT_LABEL_LEN + 1) - ACME_CHALLENGE_LABEL.len() - 1;

/// Longest issuer domain name.
pub(crate) const MAX_ISSUER_LEN: usize = 253;
/// Longest account URL accepted (the whole dns-persist-01 value stays well within a TXT
/// value's 2048 characters).
pub(crate) const MAX_ACCOUNT_URI_LEN: usize = 1024;
/// `persist_until` must be below 2^31: a signed 32-bit time, as CAs may read it.
pub(crate) const PERSIST_UNTIL_LIMIT: u64 = 1 << 31;
/// How far after the API first started the document's minimum of `persist_until` is at
/// least (see [`persist_until_floor`]).
const PERSIST_UNTIL_LEAD_SECS: u64 = 3600;

/// Default TTL of a dns-persist-01 record: it is meant to stay.
const DEFAULT_PERSIST_TTL: u32 = 3600;
/// Default TTL of a dns-account-01 record, as `records set-txt`.
const DEFAULT_ACCOUNT_TTL: u32 = 60;

/// One DNS label of an issuer domain name (RFC 8659 §4), lowercase: letters and digits,
/// inner hyphens, at most 63 characters.
const ISSUER_LABEL: &str = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
/// An issuer domain name: lowercase labels separated by dots, no trailing dot.
pub(crate) static ISSUER_PATTERN: LazyLock<String> =
    LazyLock::new(|| format!("^{ISSUER_LABEL}(?:\\.{ISSUER_LABEL})*$"));
/// An account URL: `https://`, a host (and port), an optional path of printable ASCII
/// without `;` (which would end the value of an RFC 8659 parameter).
pub(crate) const ACCOUNT_URI_PATTERN: &str =
    "^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!-:<-~]*)?$";

static ISSUER_RE: LazyLock<Regex> = LazyLock::new(|| compile(&ISSUER_PATTERN));
static ACCOUNT_URI_RE: LazyLock<Regex> = LazyLock::new(|| compile(ACCOUNT_URI_PATTERN));

#[allow(clippy::expect_used)] // The patterns are constants; a unit test compiles each.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

static PERSIST_UNTIL_FLOOR: LazyLock<u64> = LazyLock::new(|| {
    let lead = PERSIST_UNTIL_LEAD_SECS;
    (unix_now() / lead + 2) * lead
});

/// The smallest `persist_until` accepted, and published as the document's minimum: the
/// second full hour after the API first started in this process, so between one and
/// two hours ahead then (whole hours, so that the document stays the same for every
/// start within an hour). A value must also still be in the future when it is sent.
pub(crate) fn persist_until_floor() -> u64 {
    *PERSIST_UNTIL_FLOOR
}

// ---- the values ----

/// The dns-persist-01 TXT value: `<issuer>; accounturi=<account_uri>`, then `;
/// policy=wildcard` when `wildcard`, then `; persistUntil=<persist_until>` when given, in
/// the draft's order. The inputs are assumed checked ([`PersistBody::check`]).
pub(crate) fn persist_value(
    issuer: &str,
    account_uri: &str,
    wildcard: bool,
    persist_until: Option<u64>,
) -> String {
    let mut value = format!("{issuer}; accounturi={account_uri}");
    if wildcard {
        value.push_str("; policy=wildcard");
    }
    if let Some(until) = persist_until {
        let _ = write!(value, "; persistUntil={until}");
    }
    value
}

/// The dns-account-01 label of an account URL: the lowercase base32 (RFC 4648, no
/// padding) of the first 10 bytes of SHA-256 of the URL, 16 characters.
pub(crate) fn account_label(account_uri: &str) -> String {
    let digest = Sha256::digest(account_uri.as_bytes());
    base32_lower(&digest[..ACCOUNT_LABEL_BYTES])
}

/// `bytes` in the RFC 4648 base32 alphabet, lowercase, without padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0_u32, 0_u32);
    for &byte in bytes {
        buffer = (buffer << 8 | u32::from(byte)) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The dns-account-01 owner for `domain` (normalised) and an account URL.
pub(crate) fn account_owner(domain: &str, account_uri: &str) -> String {
    format!(
        "_{}.{ACME_CHALLENGE_LABEL}.{domain}",
        account_label(account_uri)
    )
}

// ---- checks ----

/// The domain of a request path, normalised: a name inside a served zone, no wildcard, at
/// most `max_len` characters as sent. The name rules are those of every owner
/// ([`validation::owner_in_zones`]); a refusal names the domain.
fn domain(state: &ApiState, raw: &str, max_len: usize) -> Result<String, ApiError> {
    if raw.len() > max_len {
        return Err(ApiError::Invalid(format!(
            "domain is longer than {max_len} characters: the record's owner name would be \
             longer than {} characters",
            validation::MAX_NAME_LEN
        )));
    }
    if raw.starts_with('*') {
        return Err(ApiError::Invalid(format!(
            "domain {raw:?}: give the name without `*.`; the record for a wildcard is at its \
             base name"
        )));
    }
    validation::owner_in_zones(&state.zones, raw).map_err(|error| match error {
        ApiError::Invalid(reason) => ApiError::Invalid(format!("domain {raw:?}: {reason}")),
        other => other,
    })
}

/// An account URL: see [`ACCOUNT_URI_PATTERN`].
fn check_account_uri(account_uri: &str) -> Result<(), ApiError> {
    if account_uri.len() > MAX_ACCOUNT_URI_LEN {
        return Err(ApiError::Invalid(format!(
            "account_uri is longer than {MAX_ACCOUNT_URI_LEN} characters"
        )));
    }
    if !ACCOUNT_URI_RE.is_match(account_uri) {
        return Err(ApiError::Invalid(format!(
            "account_uri {account_uri:?} is not an absolute https URL of printable ASCII \
             without `;` (such as https://acme-v02.api.letsencrypt.org/acme/acct/123456789)"
        )));
    }
    Ok(())
}

/// A TTL within the store's range, named as the field.
fn check_ttl(owner: &str, ttl: u32) -> Result<(), ApiError> {
    record_store::rules::check_ttl(owner, ttl)
        .map_err(|violation| ApiError::Invalid(format!("ttl: {violation}")))
}

// ---- documentation types ----

/// A domain for dns-persist-01; its pattern is set at start-up from the zones.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the handlers check with `domain`.
pub(crate) struct PersistDomain(String);

/// A domain for dns-account-01; its pattern is set at start-up from the zones.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct AccountDomain(String);

/// An issuer domain name.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct IssuerDomainName(String);

/// An ACME account URL.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct AccountUri(String);

/// A `persist_until` time; its minimum is set at start-up.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct PersistUntil(u64);

/// The schemas of the documentation types above, for a server serving `zones`
/// (normalised), with the patterns and bounds the handlers check.
pub(crate) fn schemas(zones: &[String]) -> Vec<(String, RefOr<Schema>)> {
    let zones_text = if zones.is_empty() {
        "none is configured".to_owned()
    } else {
        zones.join(", ")
    };
    let domain = |max_len: usize, owner: &str| -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "The domain being validated, without `*.` (the record for a wildcard is at \
                 its base name): a name inside a served zone ({zones_text}), any letter \
                 case, an optional trailing dot; at most {max_len} characters, so that \
                 {owner} fits in 253."
            )))
            .pattern(Some(validation::owner_pattern(zones)))
            .max_length(Some(max_len))
            .into()
    };
    vec![
        (
            "PersistDomain".to_owned(),
            domain(MAX_PERSIST_DOMAIN_LEN, "`_validation-persist.<domain>`"),
        ),
        (
            "AccountDomain".to_owned(),
            domain(
                MAX_ACCOUNT_DOMAIN_LEN,
                "`_<label>._acme-challenge.<domain>`",
            ),
        ),
        (
            "IssuerDomainName".to_owned(),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "The CA's issuer domain name (RFC 8659), as its challenge object gives \
                     it: lowercase labels of letters, digits and inner hyphens, separated \
                     by dots, no trailing dot.",
                ))
                .pattern(Some(ISSUER_PATTERN.as_str()))
                .max_length(Some(MAX_ISSUER_LEN))
                .examples(["letsencrypt.org"])
                .into(),
        ),
        (
            "AccountUri".to_owned(),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "The ACME account URL, exactly as the CA gave it: `https://`, a host \
                     (and port), a path of printable ASCII without `;`.",
                ))
                .pattern(Some(ACCOUNT_URI_PATTERN))
                .max_length(Some(MAX_ACCOUNT_URI_LEN))
                .examples(["https://acme-v02.api.letsencrypt.org/acme/acct/123456789"])
                .into(),
        ),
        (
            "PersistUntil".to_owned(),
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some(
                    "Unix seconds after which the CA must not use the record for new \
                     validations: in the future and below 2^31. The minimum is one to two \
                     hours after the API started, so that a value the document allows is \
                     in the future while the document is current.",
                ))
                .minimum(Some(persist_until_floor()))
                .maximum(Some(PERSIST_UNTIL_LIMIT - 1))
                .into(),
        ),
    ]
}

// ---- bodies and answers ----

fn default_persist_ttl() -> u32 {
    DEFAULT_PERSIST_TTL
}

fn default_account_ttl() -> u32 {
    DEFAULT_ACCOUNT_TTL
}

/// An optional JSON integer (see [`extract::integer`]).
fn optional_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    extract::integer(deserializer).map(Some)
}

/// The dns-persist-01 record to publish.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({
    "issuer": "letsencrypt.org",
    "account_uri": "https://acme-v02.api.letsencrypt.org/acme/acct/123456789",
    "wildcard": false, "persist_until": 2_000_000_000_u64, "ttl": 3600
}))]
pub(crate) struct PersistBody {
    /// The CA's issuer domain name, from its challenge object.
    #[schema(value_type = IssuerDomainName)]
    issuer: String,
    /// The ACME account URL.
    #[schema(value_type = AccountUri)]
    account_uri: String,
    /// Whether the record also validates the names below the domain and its wildcard
    /// (`policy=wildcard`); `false` when left out.
    #[serde(default)]
    wildcard: bool,
    /// Until when (Unix seconds) the CA may use the record for new validations
    /// (`persistUntil`); no end when left out.
    #[serde(default, deserialize_with = "optional_integer")]
    #[schema(value_type = PersistUntil)]
    persist_until: Option<u64>,
    /// Time to live, seconds; 3600 when left out. (A CA may reuse the validation for no
    /// longer than the TTL.)
    #[serde(default = "default_persist_ttl", deserialize_with = "extract::integer")]
    #[schema(minimum = 1, maximum = 604_800, default = 3600)]
    ttl: u32,
}

impl PersistBody {
    /// Checks the fields, `now` being the current Unix time; the TXT value.
    fn check(&self, now: u64) -> Result<String, ApiError> {
        if self.issuer.len() > MAX_ISSUER_LEN || !ISSUER_RE.is_match(&self.issuer) {
            return Err(ApiError::Invalid(format!(
                "issuer {:?} is not an issuer domain name: lowercase labels of letters, \
                 digits and inner hyphens separated by dots, no trailing dot, at most \
                 {MAX_ISSUER_LEN} characters (such as letsencrypt.org)",
                self.issuer
            )));
        }
        check_account_uri(&self.account_uri)?;
        if let Some(until) = self.persist_until {
            if until >= PERSIST_UNTIL_LIMIT {
                return Err(ApiError::Invalid(format!(
                    "persist_until {until} is not below 2^31 ({PERSIST_UNTIL_LIMIT})"
                )));
            }
            if until <= now {
                return Err(ApiError::Invalid(format!(
                    "persist_until {until} is not in the future (it is now {now})"
                )));
            }
            let floor = persist_until_floor();
            if until < floor {
                return Err(ApiError::Invalid(format!(
                    "persist_until {until} is before {floor}, one to two hours after this \
                     server started (the minimum its OpenAPI document gives)"
                )));
            }
        }
        Ok(persist_value(
            &self.issuer,
            &self.account_uri,
            self.wildcard,
            self.persist_until,
        ))
    }
}

/// The dns-account-01 value to publish.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({
    "account_uri": "https://acme-v02.api.letsencrypt.org/acme/acct/123456789",
    "value": "gfj9Xq-Rg85nM_aGixU4EM-dbp5e9jXsuQhnqF5zOjI", "ttl": 60
}))]
pub(crate) struct AccountBody {
    /// The ACME account URL: the owner's label is computed from it.
    #[schema(value_type = AccountUri)]
    account_uri: String,
    /// The key authorization digest: 43 base64url characters, as for dns-01.
    #[schema(value_type = AcmeDnsTxt)]
    value: String,
    /// Time to live, seconds; 60 when left out.
    #[serde(default = "default_account_ttl", deserialize_with = "extract::integer")]
    #[schema(minimum = 1, maximum = 604_800, default = 60)]
    ttl: u32,
}

/// The query of a dns-account-01 deletion.
#[derive(Debug, Deserialize)]
pub(crate) struct AccountQuery {
    account_uri: String,
}

/// A record as written.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "owner": "_validation-persist.www.example.com", "ttl": 3600,
    "value": "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/123456789; persistUntil=2000000000"
}))]
pub(crate) struct ChallengeRecord {
    /// The owner name written (normalised: lowercase, no trailing dot).
    owner: String,
    /// Time to live, seconds.
    #[schema(minimum = 1, maximum = 604_800)]
    ttl: u32,
    /// The TXT value written.
    value: String,
}

// ---- handlers ----

/// Publishes the dns-persist-01 record of a domain.
///
/// Replaces the TXT RRset at `_validation-persist.<domain>` with one value built from the
/// body, an RFC 8659 issue-value with the parameters in the draft's order:
///
/// `<issuer>; accounturi=<account_uri>[; policy=wildcard][; persistUntil=<persist_until>]`
///
/// `policy=wildcard` is there when `wildcard` is true, `persistUntil` when
/// `persist_until` is given. For example, `{"issuer": "letsencrypt.org", "account_uri":
/// "https://acme-v02.api.letsencrypt.org/acme/acct/123456789", "wildcard": true,
/// "persist_until": 2000000000}` for `www.example.com` writes at
/// `_validation-persist.www.example.com`:
///
/// `letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/123456789; policy=wildcard; persistUntil=2000000000`
#[utoipa::path(
    put, path = "/v1/challenges/dns-persist-01/{domain}", tag = "challenges",
    operation_id = "putDnsPersist01",
    params(("domain" = PersistDomain, Path, description = "The domain being validated.")),
    request_body(content = PersistBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The record as written.", body = ChallengeRecord),
        (status = 400, description = "Malformed JSON, a missing or mistyped field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key does not cover the owner, is used from an address it does not allow, or a records quota is reached.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner holds a CNAME.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not declared as JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The domain is not in a served zone, or a field breaks its rule (the detail names it); `persist_until` also when it has passed.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn put_persist(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(raw_domain): ApiPath<String>,
    ApiJson(body): ApiJson<PersistBody>,
) -> Result<Json<ChallengeRecord>, ApiError> {
    let domain = domain(&state, &raw_domain, MAX_PERSIST_DOMAIN_LEN)?;
    let owner = format!("{PERSIST_LABEL}.{domain}");
    let value = body.check(unix_now())?;
    check_ttl(&owner, body.ttl)?;
    caller.authorize_name(&owner)?;
    let record = Record {
        owner: owner.clone(),
        ttl: body.ttl,
        data: RecordData::Txt {
            value: value.clone(),
        },
    };
    state
        .store
        .replace_rrset_with(
            &owner,
            RecordType::Txt,
            &[record],
            &state.write_context(caller.author()),
        )
        .await?;
    Ok(Json(ChallengeRecord {
        owner,
        ttl: body.ttl,
        value,
    }))
}

/// Removes the dns-persist-01 record of a domain: the TXT RRset at
/// `_validation-persist.<domain>`.
#[utoipa::path(
    delete, path = "/v1/challenges/dns-persist-01/{domain}", tag = "challenges",
    operation_id = "deleteDnsPersist01",
    params(("domain" = PersistDomain, Path, description = "The domain being validated.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Malformed path.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key does not cover the owner.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No TXT record there.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The domain is not a name in a served zone.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_persist(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(raw_domain): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let domain = domain(&state, &raw_domain, MAX_PERSIST_DOMAIN_LEN)?;
    delete_txt(&state, &caller, &format!("{PERSIST_LABEL}.{domain}")).await
}

/// Publishes a dns-account-01 value for a domain and an account.
///
/// Writes `value` as a TXT record at `_<label>._acme-challenge.<domain>`, where `<label>`
/// is the lowercase base32 (RFC 4648 alphabet, no padding) of the first 10 bytes of the
/// SHA-256 of `account_uri`: 16 characters. The answer names the owner. The newest two
/// values stay there (a name and its wildcard are validated at the same owner); sending
/// a value again makes it the newest. For example, the account
/// `https://example.com/acme/acct/ExampleAccount` and `example.org` give
/// `_ujmmovf2vn55tgye._acme-challenge.example.org`.
#[utoipa::path(
    put, path = "/v1/challenges/dns-account-01/{domain}", tag = "challenges",
    operation_id = "putDnsAccount01",
    params(("domain" = AccountDomain, Path, description = "The domain being validated.")),
    request_body(content = AccountBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The record as written.", body = ChallengeRecord),
        (status = 400, description = "Malformed JSON, a missing or mistyped field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key does not cover the owner, is used from an address it does not allow, or a records quota is reached.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner holds a CNAME.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not declared as JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The domain is not in a served zone, or a field breaks its rule (the detail names it).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn put_account(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(raw_domain): ApiPath<String>,
    ApiJson(body): ApiJson<AccountBody>,
) -> Result<Json<ChallengeRecord>, ApiError> {
    let domain = domain(&state, &raw_domain, MAX_ACCOUNT_DOMAIN_LEN)?;
    check_account_uri(&body.account_uri)?;
    let owner = account_owner(&domain, &body.account_uri);
    if !validation::is_acme_dns_txt(&body.value) {
        return Err(ApiError::Invalid(format!(
            "value {:?} is not a key authorization digest: 43 base64url characters without \
             padding",
            body.value
        )));
    }
    check_ttl(&owner, body.ttl)?;
    caller.authorize_name(&owner)?;
    state
        .store
        .push_txt_with(
            &owner,
            &body.value,
            body.ttl,
            ACCOUNT_TXT_KEEP,
            &state.write_context(caller.author()),
        )
        .await?;
    Ok(Json(ChallengeRecord {
        owner,
        ttl: body.ttl,
        value: body.value,
    }))
}

/// Removes the dns-account-01 values of a domain and an account: the TXT RRset at
/// `_<label>._acme-challenge.<domain>`.
#[utoipa::path(
    delete, path = "/v1/challenges/dns-account-01/{domain}", tag = "challenges",
    operation_id = "deleteDnsAccount01",
    params(
        ("domain" = AccountDomain, Path, description = "The domain being validated."),
        ("account_uri" = AccountUri, Query, description = "The ACME account URL (percent-encoded)."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Malformed path or query (`account_uri` missing).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key does not cover the owner.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No TXT record there.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The domain is not a name in a served zone, or `account_uri` is not an account URL.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_account(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(raw_domain): ApiPath<String>,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> Result<StatusCode, ApiError> {
    let domain = domain(&state, &raw_domain, MAX_ACCOUNT_DOMAIN_LEN)?;
    check_account_uri(&query.account_uri)?;
    delete_txt(&state, &caller, &account_owner(&domain, &query.account_uri)).await
}

/// Deletes the TXT RRset at `owner` if the caller covers it: 204, or 404 when there was
/// none.
async fn delete_txt(
    state: &ApiState,
    caller: &Caller,
    owner: &str,
) -> Result<StatusCode, ApiError> {
    caller.authorize_name(owner)?;
    match state
        .store
        .delete_records(owner, Some(RecordType::Txt))
        .await?
    {
        0 => Err(ApiError::NotFound(format!("no TXT records at {owner:?}"))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/1234";

    #[test]
    fn persist_values_follow_the_drafts_order() {
        assert_eq!(
            persist_value("letsencrypt.org", ACCOUNT, false, None),
            "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1234"
        );
        assert_eq!(
            persist_value("letsencrypt.org", ACCOUNT, true, None),
            "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1234; \
             policy=wildcard"
        );
        assert_eq!(
            persist_value(
                "authority.example",
                "https://ca.example/acct/123",
                false,
                Some(1_721_952_000)
            ),
            "authority.example; accounturi=https://ca.example/acct/123; persistUntil=1721952000"
        );
        assert_eq!(
            persist_value(
                "authority.example",
                "https://ca.example/acct/123",
                true,
                Some(2_000_000_000)
            ),
            "authority.example; accounturi=https://ca.example/acct/123; policy=wildcard; \
             persistUntil=2000000000"
        );
    }

    #[test]
    fn base32_matches_rfc_4648_test_vectors() {
        // RFC 4648 §10, lowercased and without padding.
        for (input, encoded) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32_lower(input.as_bytes()), encoded, "{input:?}");
        }
        assert_eq!(base32_lower(&[0xff; 10]), "7".repeat(16));
        assert_eq!(base32_lower(&[0; 10]), "a".repeat(16));
    }

    #[test]
    fn sha256_is_sha256() {
        // FIPS 180-2, appendix B.1.
        let digest = Sha256::digest(b"abc");
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// The expected labels were computed independently, with coreutils:
    /// `printf %s "$URL" | sha256sum | cut -c1-20 | xxd -r -p | base32 | tr A-Z a-z`;
    /// the first is also the example of draft-ietf-acme-dns-account-label.
    #[test]
    fn account_labels_match_an_independent_computation() {
        for (url, label) in [
            (
                "https://example.com/acme/acct/ExampleAccount",
                "ujmmovf2vn55tgye",
            ),
            (ACCOUNT, "yqttpgavd4pwo3hp"),
        ] {
            assert_eq!(account_label(url), label, "{url}");
            assert_eq!(label.len(), ACCOUNT_LABEL_LEN);
        }
        assert_eq!(
            account_owner(
                "example.org",
                "https://example.com/acme/acct/ExampleAccount"
            ),
            "_ujmmovf2vn55tgye._acme-challenge.example.org"
        );
    }

    #[test]
    fn domain_limits_keep_owners_within_253_characters() {
        assert_eq!(MAX_PERSIST_DOMAIN_LEN, 233);
        assert_eq!(MAX_ACCOUNT_DOMAIN_LEN, 219);
        let longest = "a".repeat(MAX_ACCOUNT_DOMAIN_LEN);
        assert_eq!(account_owner(&longest, ACCOUNT).len(), 253);
        assert_eq!(
            format!("{PERSIST_LABEL}.{}", "a".repeat(MAX_PERSIST_DOMAIN_LEN)).len(),
            253
        );
    }

    #[test]
    fn issuers_and_account_urls() {
        for good in [
            "letsencrypt.org",
            "ca.example",
            "a",
            "x-1.y2.example",
            "123.example",
        ] {
            assert!(ISSUER_RE.is_match(good), "{good}");
        }
        for bad in [
            "LetsEncrypt.org",
            "letsencrypt.org.",
            ".letsencrypt.org",
            "-ca.example",
            "ca-.example",
            "ca..example",
            "ca_example.org",
            "ca.example; accounturi=x",
            "",
            &format!("{}.example", "a".repeat(64)),
        ] {
            assert!(!ISSUER_RE.is_match(bad), "{bad}");
        }
        for good in [
            ACCOUNT,
            "https://ca.example/acct/123",
            "https://ca.example:8443/acme/acct/1?x=y&z",
            "https://ca.example",
        ] {
            assert!(check_account_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "http://ca.example/acct/1",
            "HTTPS://ca.example/acct/1",
            "https://ca.example/acct/1; policy=wildcard",
            "https://ca.example/acct/1;x",
            "https://ca.example/acct 1",
            "https://ca.example/acct/\u{e9}",
            "https://ca.example/acct/1\n",
            "https:///acct/1",
            "ca.example/acct/1",
            "",
        ] {
            assert!(check_account_uri(bad).is_err(), "{bad}");
        }
        let long = format!("https://ca.example/{}", "a".repeat(MAX_ACCOUNT_URI_LEN));
        assert!(check_account_uri(&long).is_err());
    }

    fn body(persist_until: Option<u64>) -> PersistBody {
        PersistBody {
            issuer: "letsencrypt.org".into(),
            account_uri: ACCOUNT.into(),
            wildcard: true,
            persist_until,
            ttl: 3600,
        }
    }

    #[test]
    fn persist_until_must_be_ahead_and_below_2_to_the_31() {
        let now = unix_now();
        let floor = persist_until_floor();
        assert!(floor > now && floor <= now + 2 * PERSIST_UNTIL_LEAD_SECS);
        assert_eq!(floor % PERSIST_UNTIL_LEAD_SECS, 0);
        assert_eq!(
            body(Some(floor)).check(now).unwrap(),
            format!("letsencrypt.org; accounturi={ACCOUNT}; policy=wildcard; persistUntil={floor}")
        );
        assert!(body(None).check(now).is_ok());
        assert!(body(Some(PERSIST_UNTIL_LIMIT - 1)).check(now).is_ok());
        for bad in [0, now, floor - 1, PERSIST_UNTIL_LIMIT, u64::MAX] {
            let error = body(Some(bad)).check(now).unwrap_err().to_string();
            assert!(error.starts_with("persist_until "), "{bad}: {error}");
        }
        // Once the floor has passed, only the future counts.
        let error = body(Some(floor + 10)).check(floor + 10).unwrap_err();
        assert!(error.to_string().contains("not in the future"), "{error}");
    }

    #[test]
    fn patterns_compile() {
        Regex::new(&ISSUER_PATTERN).unwrap();
        Regex::new(ACCOUNT_URI_PATTERN).unwrap();
    }
}
