//! The OpenAPI 3.1 document served at `GET /v1/openapi.json`.
//!
//! It is derived with utoipa from the handlers and body types, then completed at start-up
//! with what only the configuration knows: the pattern of an owner name is built from the
//! served zones, so the document promises exactly what the server accepts (schemathesis
//! checks both directions). The string rules (names, networks, TXT values) are named
//! components whose patterns come from [`crate::validation`], the same code the server
//! checks requests with.
//!
//! `PUT` and `DELETE` of an RRset are documented once per record type
//! (`/v1/records/{owner}/SRV`, …): the server route is `/v1/records/{owner}/{type}`, but
//! per-type paths let the document say that the records of the body are of the path's
//! type, which a single `{type}` parameter cannot express.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::problem::Problem;
use crate::records::{ARrset, AaaaRrset, CnameRrset, SrvRrset, StoredRecord, TxtRrset};
use crate::state::ApiState;
use crate::validation;
use crate::{acme_dns, challenges, keys, records, tsig_keys, zone_text};

/// An owner name inside a served zone; its pattern is set at start-up from the zones.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the server checks names in `validation`.
pub(crate) struct OwnerName(String);

/// A host name: a CNAME or SRV target.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct HostName(String);

/// An SRV target: a host name, or `.`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SrvTarget(String);

/// A TXT value.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct TxtValue(String);

/// A network in CIDR notation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Cidr(String);

/// A UUID.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Uuid(String);

/// An acme-dns TXT value.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct AcmeDnsTxt(String);

/// Documents `PUT` and `DELETE` of one record type's RRset; the server's handlers are
/// [`records::replace`] and [`records::delete_rrset`] on `/v1/records/{owner}/{type}`.
macro_rules! rrset_paths {
    ($put:ident, $delete:ident, $path:tt, $body:ident, $put_id:tt, $delete_id:tt, $type:tt) => {
        #[doc = concat!("Replaces the ", $type, " RRset of an owner (an empty list deletes it).")]
        #[utoipa::path(
            put, path = $path, tag = "records", operation_id = $put_id,
            params(("owner" = OwnerName, Path, description = "The owner name.")),
            request_body(content = $body, content_type = "application/json"),
            responses(
                (status = 200, description = "The RRset as now stored.", body = Vec<StoredRecord>),
                (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
                (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "The key does not cover the owner, is used from an address it does not allow, or a records quota is reached.", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "A CNAME would share its owner with other data, or sit at a zone apex.", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Body not declared as JSON.", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "A value breaks a rule (owner outside served zones, bad target, TTL out of range), or a record's type is not the path's.", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        #[allow(dead_code)]
        fn $put() {}

        #[doc = concat!("Deletes the ", $type, " RRset of an owner.")]
        #[utoipa::path(
            delete, path = $path, tag = "records", operation_id = $delete_id,
            params(("owner" = OwnerName, Path, description = "The owner name.")),
            responses(
                (status = 204, description = "Deleted."),
                (status = 400, description = "Malformed path.", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
                (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "The key does not cover the owner.", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such RRset.", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "The owner is not a name in a served zone.", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        #[allow(dead_code)]
        fn $delete() {}
    };
}

rrset_paths!(
    put_a,
    delete_a,
    "/v1/records/{owner}/A",
    ARrset,
    "replaceARrset",
    "deleteARrset",
    "A"
);
rrset_paths!(
    put_aaaa,
    delete_aaaa,
    "/v1/records/{owner}/AAAA",
    AaaaRrset,
    "replaceAaaaRrset",
    "deleteAaaaRrset",
    "AAAA"
);
rrset_paths!(
    put_cname,
    delete_cname,
    "/v1/records/{owner}/CNAME",
    CnameRrset,
    "replaceCnameRrset",
    "deleteCnameRrset",
    "CNAME"
);
rrset_paths!(
    put_srv,
    delete_srv,
    "/v1/records/{owner}/SRV",
    SrvRrset,
    "replaceSrvRrset",
    "deleteSrvRrset",
    "SRV"
);
rrset_paths!(
    put_txt,
    delete_txt,
    "/v1/records/{owner}/TXT",
    TxtRrset,
    "replaceTxtRrset",
    "deleteTxtRrset",
    "TXT"
);

/// The document, as derived.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "acme-srv management API",
        description = "Records (SRV targets for ACME challenges, TXT for dns-01 and friends), API keys with per-name scopes, TSIG keys for RFC 2136 UPDATE, and acme-dns compatibility.\n\n`/v1` requests authenticate with `Authorization: Bearer <token>`: the admin token, or an API key token `<key-id>.<secret>`. Errors of `/v1` are RFC 9457 problem details; errors of the acme-dns paths are acme-dns's `{\"error\": ...}`."
    ),
    paths(
        records::list, records::create, records::delete_owner,
        put_a, delete_a, put_aaaa, delete_aaaa, put_cname, delete_cname,
        put_srv, delete_srv, put_txt, delete_txt, zone_text::serve,
        challenges::put_persist, challenges::delete_persist,
        challenges::put_account, challenges::delete_account,
        keys::create, keys::list, keys::revoke,
        tsig_keys::create, tsig_keys::list, tsig_keys::revoke,
        acme_dns::register, acme_dns::unregister, acme_dns::update, acme_dns::health,
    ),
    components(schemas(OwnerName, HostName, SrvTarget, TxtValue, Cidr, Uuid, AcmeDnsTxt, Problem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "records", description = "Resource records in the served zones."),
        (name = "challenges", description = "The records of dns-persist-01 and dns-account-01, built from their parameters."),
        (name = "keys", description = "API keys (admin token only)."),
        (name = "tsig-keys", description = "TSIG keys for RFC 2136 UPDATE (admin token only)."),
        (name = "acme-dns", description = "acme-dns compatible registration and TXT updates."),
    )
)]
struct ApiDoc;

/// Adds the security schemes the operations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token, or an API key token `<key-id>.<secret>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "acmeDnsUser",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-User",
                "The acme-dns user name.",
            ))),
        );
        components.add_security_scheme(
            "acmeDnsKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "The acme-dns password.",
            ))),
        );
    }
}

/// A string schema with a pattern.
fn string(description: &str, pattern: &str, max_length: Option<usize>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .max_length(max_length)
        .into()
}

/// The document for a server serving `zones` (normalised), as JSON.
pub(crate) fn document(zones: &[String]) -> OpenApiDoc {
    let mut doc = ApiDoc::openapi();
    let owner_description = format!(
        "An owner name inside a served zone ({}): labels of 1-63 letters, digits, `-` or `_`, \
         optionally a leading `*.`, any letter case, an optional trailing dot; at most {} \
         characters.",
        if zones.is_empty() {
            "none is configured".to_owned()
        } else {
            zones.join(", ")
        },
        validation::MAX_NAME_LEN
    );
    let schemas = [
        (
            "OwnerName",
            string(
                &owner_description,
                &validation::owner_pattern(zones),
                Some(validation::MAX_NAME_LEN),
            ),
        ),
        (
            "HostName",
            string(
                "A host name: labels of 1-63 letters, digits, `-` or `_`, an optional trailing dot.",
                &validation::TARGET_PATTERN,
                Some(validation::MAX_NAME_LEN),
            ),
        ),
        (
            "SrvTarget",
            string(
                "A host name, or `.` for \"no service here\".",
                &validation::SRV_TARGET_PATTERN,
                Some(validation::MAX_NAME_LEN),
            ),
        ),
        (
            "TxtValue",
            string(
                "Printable ASCII text.",
                validation::TXT_PATTERN,
                Some(validation::MAX_TXT_LEN),
            ),
        ),
        (
            "Cidr",
            string(
                "A network in CIDR notation, such as `10.0.0.0/8` or `2001:db8::/32`.",
                &validation::CIDR_PATTERN,
                None,
            ),
        ),
        ("Uuid", string("A UUID.", validation::UUID_PATTERN, None)),
        (
            "AcmeDnsTxt",
            string(
                "43 base64url characters (a key authorization digest).",
                validation::ACME_DNS_TXT_PATTERN,
                None,
            ),
        ),
    ];
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        components.schemas.insert(name.to_owned(), schema);
    }
    components.schemas.extend(challenges::schemas(zones));
    doc
}

/// [`document`] as JSON.
pub(crate) fn render(zones: &[String]) -> String {
    document(zones).to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "management API: rendering the OpenAPI document failed");
        String::from("{}")
    })
}

/// `GET /v1/openapi.json`.
pub(crate) async fn serve(State(state): State<ApiState>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        state.openapi_json.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_carries_the_configured_rules() {
        let doc: serde_json::Value =
            serde_json::from_str(&render(&["example.com".to_owned()])).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["OwnerName"]["pattern"],
            validation::owner_pattern(&["example.com".to_owned()])
        );
        assert_eq!(
            schemas["Cidr"]["pattern"],
            validation::CIDR_PATTERN.as_str()
        );
        assert_eq!(
            schemas["CnameRrset"]["properties"]["records"]["maxItems"],
            1
        );
        for record_type in ["A", "AAAA", "CNAME", "SRV", "TXT"] {
            let item = &doc["paths"][format!("/v1/records/{{owner}}/{record_type}")];
            assert!(
                item["put"].is_object() && item["delete"].is_object(),
                "{record_type}"
            );
        }
        // The type tags are the DNS mnemonics.
        assert_eq!(schemas["AaaaData"]["properties"]["type"]["enum"][0], "AAAA");
    }
}
