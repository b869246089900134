//! `/v1/records`: list, add, replace and delete resource records.
//!
//! Before the store sees a write, the request itself is checked: the owner is normalised
//! and must be inside a served zone (422 `owner-outside-zones`), values follow the
//! patterns published in the OpenAPI document (422), and the caller must cover the owner
//! (403).
//!
//! The record rules that depend on what is stored are the store's, checked inside the
//! write's transaction so that concurrent writers cannot both pass them
//! ([`record_store::rules`]; the same rules hold for acme-dns `/update` and RFC 2136
//! UPDATE): a CNAME stands alone, is single and never at a zone apex (RFC 1034 §3.6.2,
//! RFC 2181 §10.1: 409), an RRset holds at most 64 records and a TTL is 1–604800 (422),
//! and the records quotas hold (403). The handlers pass the store who writes
//! ([`crate::state::ApiState::write_context`]) and map its refusal (`problem.rs`).
//!
//! The wire format of a record is this module's own (`NewRecord` in, `StoredRecord`
//! out): `owner`, `ttl`, `type` and the type's fields side by side. It is not the
//! store's stored form, so either can change without the other.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use record_store::model::{Record, RecordData, RecordType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Discriminator, OneOfBuilder, Ref, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::auth::Caller;
use crate::extract::{self, ApiJson, ApiPath, ApiQuery};
use crate::openapi::{HostName, OwnerName, SrvTarget, TxtValue};
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::validation;

// ---- request bodies ----

macro_rules! type_tag {
    ($(#[$doc:meta])* $name:ident, $variant:ident, $text:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
        pub(crate) enum $name {
            #[doc = concat!("`", $text, "`")]
            #[serde(rename = $text)]
            $variant,
        }
    };
}

type_tag!(
    /// The type `A`.
    TypeA, A, "A"
);
type_tag!(
    /// The type `AAAA`.
    TypeAaaa, Aaaa, "AAAA"
);
type_tag!(
    /// The type `CNAME`.
    TypeCname, Cname, "CNAME"
);
type_tag!(
    /// The type `SRV`.
    TypeSrv, Srv, "SRV"
);
type_tag!(
    /// The type `TXT`.
    TypeTxt, Txt, "TXT"
);

/// The data of an `A` record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"type": "A", "address": "192.0.2.10"}))]
pub(crate) struct AData {
    #[serde(rename = "type")]
    #[schema(inline)]
    #[allow(
        dead_code,
        reason = "checked by deserialisation, which dispatches on `type`"
    )]
    record_type: TypeA,
    /// An IPv4 address.
    #[schema(value_type = String, format = Ipv4)]
    address: Ipv4Addr,
}

/// The data of an `AAAA` record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"type": "AAAA", "address": "2001:db8::10"}))]
pub(crate) struct AaaaData {
    #[serde(rename = "type")]
    #[schema(inline)]
    #[allow(
        dead_code,
        reason = "checked by deserialisation, which dispatches on `type`"
    )]
    record_type: TypeAaaa,
    /// An IPv6 address.
    #[schema(value_type = String, format = Ipv6)]
    address: Ipv6Addr,
}

/// The data of a `CNAME` record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"type": "CNAME", "target": "abc.acme-dns.example.com"}))]
pub(crate) struct CnameData {
    #[serde(rename = "type")]
    #[schema(inline)]
    #[allow(
        dead_code,
        reason = "checked by deserialisation, which dispatches on `type`"
    )]
    record_type: TypeCname,
    /// The canonical name.
    #[schema(value_type = HostName)]
    target: String,
}

/// The data of an `SRV` record: where validation for the owner's domain goes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"type": "SRV", "priority": 10, "weight": 5, "port": 8080, "target": "client.example.com"}))]
pub(crate) struct SrvData {
    #[serde(rename = "type")]
    #[schema(inline)]
    #[allow(
        dead_code,
        reason = "checked by deserialisation, which dispatches on `type`"
    )]
    record_type: TypeSrv,
    /// Lower is tried first.
    #[serde(deserialize_with = "extract::integer")]
    #[schema(minimum = 0, maximum = 65535)]
    priority: u16,
    /// Relative weight among targets of equal priority.
    #[serde(deserialize_with = "extract::integer")]
    #[schema(minimum = 0, maximum = 65535)]
    weight: u16,
    /// TCP port, 1-65535.
    #[serde(deserialize_with = "extract::integer")]
    #[schema(minimum = 1, maximum = 65535)]
    port: u16,
    /// Target host, or `.` for "no service here".
    #[schema(value_type = SrvTarget)]
    target: String,
}

/// The data of a `TXT` record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"type": "TXT", "value": "gfj9Xq-Rg85nM_aGixU4EM-dbp5e9jXsuQhnqF5zOjI"}))]
pub(crate) struct TxtData {
    #[serde(rename = "type")]
    #[schema(inline)]
    #[allow(
        dead_code,
        reason = "checked by deserialisation, which dispatches on `type`"
    )]
    record_type: TypeTxt,
    /// The text: printable ASCII, at most 2048 characters.
    #[schema(value_type = TxtValue)]
    value: String,
}

/// The data of one record: `type` and that type's fields.
#[derive(Debug, Clone)]
pub(crate) enum NewRecordData {
    /// IPv4 address.
    A(AData),
    /// IPv6 address.
    Aaaa(AaaaData),
    /// Alias.
    Cname(CnameData),
    /// Service location.
    Srv(SrvData),
    /// Text.
    Txt(TxtData),
}

impl PartialSchema for NewRecordData {
    /// One of the data schemas, chosen by `type`.
    fn schema() -> RefOr<Schema> {
        let variants = [
            ("A", AData::name()),
            ("AAAA", AaaaData::name()),
            ("CNAME", CnameData::name()),
            ("SRV", SrvData::name()),
            ("TXT", TxtData::name()),
        ];
        let mut discriminator = Discriminator::new("type");
        let mut one_of = OneOfBuilder::new().description(Some(
            "The data of one record: `type` and that type's fields.",
        ));
        for (record_type, name) in variants {
            let reference = format!("#/components/schemas/{name}");
            discriminator
                .mapping
                .insert(record_type.to_owned(), reference.clone());
            one_of = one_of.item(Ref::new(reference));
        }
        one_of.discriminator(Some(discriminator)).into()
    }
}

impl ToSchema for NewRecordData {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((AData::name().into(), AData::schema()));
        schemas.push((AaaaData::name().into(), AaaaData::schema()));
        schemas.push((CnameData::name().into(), CnameData::schema()));
        schemas.push((SrvData::name().into(), SrvData::schema()));
        schemas.push((TxtData::name().into(), TxtData::schema()));
        <AData as ToSchema>::schemas(schemas);
        <AaaaData as ToSchema>::schemas(schemas);
        <CnameData as ToSchema>::schemas(schemas);
        <SrvData as ToSchema>::schemas(schemas);
        <TxtData as ToSchema>::schemas(schemas);
    }
}

impl<'de> Deserialize<'de> for NewRecordData {
    /// Reads `type` first, then the fields of that type, so that errors name the field
    /// that is wrong rather than "no variant matched".
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        let record_type = value
            .get("type")
            .ok_or_else(|| D::Error::missing_field("type"))?
            .as_str()
            .ok_or_else(|| D::Error::custom("`type` must be a string"))?;
        let data = match record_type {
            "A" => serde_json::from_value(value).map(Self::A),
            "AAAA" => serde_json::from_value(value).map(Self::Aaaa),
            "CNAME" => serde_json::from_value(value).map(Self::Cname),
            "SRV" => serde_json::from_value(value).map(Self::Srv),
            "TXT" => serde_json::from_value(value).map(Self::Txt),
            other => {
                return Err(D::Error::custom(format!(
                    "unsupported record type {other:?}: expected A, AAAA, CNAME, SRV or TXT"
                )));
            }
        };
        data.map_err(D::Error::custom)
    }
}

impl NewRecordData {
    /// Checks the values and converts to the store's form.
    pub(crate) fn into_data(self) -> Result<RecordData, ApiError> {
        let data = match self {
            Self::A(AData { address, .. }) => RecordData::A { address },
            Self::Aaaa(AaaaData { address, .. }) => RecordData::Aaaa { address },
            Self::Cname(CnameData { target, .. }) => RecordData::Cname {
                target: validation::target(&target, "CNAME target")?,
            },
            Self::Srv(SrvData {
                priority,
                weight,
                port,
                target,
                ..
            }) => {
                if port == 0 {
                    return Err(ApiError::Invalid("SRV port must be 1-65535".to_owned()));
                }
                let target = if target == "." {
                    target
                } else {
                    validation::target(&target, "SRV target")?
                };
                RecordData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                }
            }
            Self::Txt(TxtData { value, .. }) => {
                validation::txt_value(&value)?;
                RecordData::Txt { value }
            }
        };
        data.validate().map_err(ApiError::Invalid)?;
        Ok(data)
    }
}

/// A record to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({
    "owner": "_acme-challenge._tcp.www.example.com", "ttl": 60,
    "type": "SRV", "priority": 10, "weight": 5, "port": 8080, "target": "client.example.com"
}))]
pub(crate) struct NewRecord {
    /// Owner name, inside a served zone (a trailing dot and any letter case are fine).
    #[schema(value_type = OwnerName)]
    pub(crate) owner: String,
    /// Time to live, seconds.
    #[serde(deserialize_with = "extract::integer")]
    #[schema(minimum = 1, maximum = 604_800)]
    pub(crate) ttl: u32,
    /// The type and its data.
    #[serde(flatten)]
    pub(crate) data: NewRecordData,
}

macro_rules! rrset_body {
    ($(#[$doc:meta])* $name:ident, $item:ty, $max:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize, ToSchema)]
        pub(crate) struct $name {
            /// Time to live of every record of the set, seconds.
            #[serde(deserialize_with = "extract::integer")]
            #[schema(minimum = 1, maximum = 604_800)]
            ttl: u32,
            /// The new records (all of the path's type); empty deletes the set.
            #[schema(max_items = $max)]
            records: Vec<$item>,
        }

        impl $name {
            pub(crate) fn into_parts(self) -> (u32, Vec<NewRecordData>) {
                (self.ttl, self.records.into_iter().map(Into::into).collect())
            }
        }
    };
}

// The document's `maxItems` of the RRset bodies below is the store's limit; a literal
// because attributes take no constants, so the build fails if the two ever differ.
const _: () = assert!(
    validation::MAX_RRSET_RECORDS == 64,
    "update `maxItems` of the RRset bodies to the store's MAX_RRSET_RECORDS"
);

rrset_body!(
    /// The new `A` RRset of an owner.
    ARrset, AData, 64
);
rrset_body!(
    /// The new `AAAA` RRset of an owner.
    AaaaRrset, AaaaData, 64
);
rrset_body!(
    /// The new `CNAME` RRset of an owner: at most one record.
    CnameRrset, CnameData, 1
);
rrset_body!(
    /// The new `SRV` RRset of an owner.
    SrvRrset, SrvData, 64
);
rrset_body!(
    /// The new `TXT` RRset of an owner.
    TxtRrset, TxtData, 64
);

impl From<AData> for NewRecordData {
    fn from(data: AData) -> Self {
        Self::A(data)
    }
}
impl From<AaaaData> for NewRecordData {
    fn from(data: AaaaData) -> Self {
        Self::Aaaa(data)
    }
}
impl From<CnameData> for NewRecordData {
    fn from(data: CnameData) -> Self {
        Self::Cname(data)
    }
}
impl From<SrvData> for NewRecordData {
    fn from(data: SrvData) -> Self {
        Self::Srv(data)
    }
}
impl From<TxtData> for NewRecordData {
    fn from(data: TxtData) -> Self {
        Self::Txt(data)
    }
}

// ---- responses ----

/// The data of a stored record.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type")]
pub(crate) enum StoredRecordData {
    /// IPv4 address.
    A {
        /// The address.
        #[schema(value_type = String, format = Ipv4)]
        address: Ipv4Addr,
    },
    /// IPv6 address.
    #[serde(rename = "AAAA")]
    Aaaa {
        /// The address.
        #[schema(value_type = String, format = Ipv6)]
        address: Ipv6Addr,
    },
    /// Alias.
    #[serde(rename = "CNAME")]
    Cname {
        /// The canonical name (normalised).
        target: String,
    },
    /// Service location.
    #[serde(rename = "SRV")]
    Srv {
        /// Lower is tried first.
        #[schema(minimum = 0, maximum = 65535)]
        priority: u16,
        /// Relative weight among equal priorities.
        #[schema(minimum = 0, maximum = 65535)]
        weight: u16,
        /// TCP port (0 only with target `.`).
        #[schema(minimum = 0, maximum = 65535)]
        port: u16,
        /// Target host (normalised), or `.`.
        target: String,
    },
    /// Text.
    #[serde(rename = "TXT")]
    Txt {
        /// The text.
        value: String,
    },
}

/// A stored resource record.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "owner": "_acme-challenge._tcp.www.example.com", "ttl": 60,
    "type": "SRV", "priority": 10, "weight": 5, "port": 8080, "target": "client.example.com"
}))]
pub(crate) struct StoredRecord {
    /// Owner name, normalised (lowercase, no trailing dot).
    owner: String,
    /// Time to live, seconds.
    #[schema(minimum = 0)]
    ttl: u32,
    /// The type and its data.
    #[serde(flatten)]
    data: StoredRecordData,
}

impl From<Record> for StoredRecord {
    fn from(record: Record) -> Self {
        let data = match record.data {
            RecordData::A { address } => StoredRecordData::A { address },
            RecordData::Aaaa { address } => StoredRecordData::Aaaa { address },
            RecordData::Cname { target } => StoredRecordData::Cname { target },
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => StoredRecordData::Srv {
                priority,
                weight,
                port,
                target,
            },
            RecordData::Txt { value } => StoredRecordData::Txt { value },
        };
        Self {
            owner: record.owner,
            ttl: record.ttl,
            data,
        }
    }
}

fn view(records: Vec<Record>) -> Json<Vec<StoredRecord>> {
    Json(records.into_iter().map(StoredRecord::from).collect())
}

// ---- handlers ----

/// The query of a listing.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    under: Option<String>,
}

/// Lists records, all or those at and below `under`; a key sees only the names its
/// scopes cover.
#[utoipa::path(
    get, path = "/v1/records", tag = "records", operation_id = "listRecords",
    params(("under" = Option<OwnerName>, Query, description = "List only this name and the names below it.")),
    responses(
        (status = 200, description = "The records, ordered by owner and type.", body = Vec<StoredRecord>),
        (status = 400, description = "Malformed query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key covers no name under `under`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`under` is not a name in a served zone.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<StoredRecord>>, ApiError> {
    let records = match query.under {
        Some(raw) => {
            let under = validation::owner_in_zones(&state.zones, &raw)?;
            if !caller.overlaps(&under) {
                return Err(ApiError::Forbidden(format!(
                    "this key covers no name at or below {under:?}"
                )));
            }
            state.store.records_under(&under).await?
        }
        None => state.store.all_records().await?,
    };
    Ok(view(
        records
            .into_iter()
            .filter(|record| caller.covers(&record.owner))
            .collect(),
    ))
}

/// Adds one record (an identical record only gets the new TTL).
#[utoipa::path(
    post, path = "/v1/records", tag = "records", operation_id = "addRecord",
    request_body(content = NewRecord, content_type = "application/json"),
    responses(
        (status = 201, description = "The stored record.", body = StoredRecord),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key does not cover the owner, is used from an address it does not allow, or a records quota is reached.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A CNAME would share its owner with other data or with a CNAME to another target, or sit at a zone apex.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not declared as JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value breaks a rule (owner outside served zones, bad target, TTL out of range, an RRset already holding 64 records).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewRecord>,
) -> Result<(StatusCode, Json<StoredRecord>), ApiError> {
    let owner = validation::owner_in_zones(&state.zones, &body.owner)?;
    let data = body.data.into_data()?;
    caller.authorize_name(&owner)?;
    let record = Record {
        owner,
        ttl: body.ttl,
        data,
    };
    let stored = state
        .store
        .add_record_with(&record, &state.write_context(caller.author()))
        .await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// Replaces the RRset (`owner`, `type`); the body's records must all be of that type.
pub(crate) async fn replace(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath((raw_owner, raw_type)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Vec<StoredRecord>>, ApiError> {
    let record_type = validation::path_record_type(&raw_type)?;
    let owner = validation::owner_in_zones(&state.zones, &raw_owner)?;
    check_item_types(&body, record_type)?;
    let (ttl, items) = match record_type {
        RecordType::A => extract::parse_value::<ARrset>(body)?.into_parts(),
        RecordType::Aaaa => extract::parse_value::<AaaaRrset>(body)?.into_parts(),
        RecordType::Cname => extract::parse_value::<CnameRrset>(body)?.into_parts(),
        RecordType::Srv => extract::parse_value::<SrvRrset>(body)?.into_parts(),
        RecordType::Txt => extract::parse_value::<TxtRrset>(body)?.into_parts(),
    };
    // The body's TTL by the store's rule even when no record carries it (an empty list
    // deletes the RRset); the body's own shape as the document's `maxItems` says (what the
    // stored RRset may hold is the store's rule).
    record_store::rules::check_ttl(&owner, ttl)?;
    if record_type == RecordType::Cname && items.len() > 1 {
        return Err(ApiError::Invalid(
            "a CNAME RRset holds at most one record (RFC 2181 section 10.1)".to_owned(),
        ));
    }
    let mut records: Vec<Record> = Vec::with_capacity(items.len());
    for item in items {
        let record = Record {
            owner: owner.clone(),
            ttl,
            data: item.into_data()?,
        };
        if !records.contains(&record) {
            records.push(record);
        }
    }
    caller.authorize_name(&owner)?;
    state
        .store
        .replace_rrset_with(
            &owner,
            record_type,
            &records,
            &state.write_context(caller.author()),
        )
        .await?;
    let stored = state
        .store
        .records_at(std::slice::from_ref(&owner))
        .await?
        .into_iter()
        .filter(|record| record.record_type() == record_type)
        .collect();
    Ok(view(stored))
}

/// Refuses a body whose records name a type other than the path's, with a clear reason.
pub(crate) fn check_item_types(body: &Value, record_type: RecordType) -> Result<(), ApiError> {
    let Some(items) = body.get("records").and_then(Value::as_array) else {
        return Ok(()); // The typed parse names what is missing.
    };
    for (index, item) in items.iter().enumerate() {
        if let Some(item_type) = item.get("type").and_then(Value::as_str)
            && item_type != record_type.as_str()
        {
            return Err(ApiError::Invalid(format!(
                "records[{index}] has type {item_type:?} but the path names {record_type}: \
                 the record type in the path and in the body must match"
            )));
        }
    }
    Ok(())
}

/// Deletes the RRset (`owner`, `type`).
pub(crate) async fn delete_rrset(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath((raw_owner, raw_type)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let record_type = validation::path_record_type(&raw_type)?;
    let owner = validation::owner_in_zones(&state.zones, &raw_owner)?;
    caller.authorize_name(&owner)?;
    match state
        .store
        .delete_records(&owner, Some(record_type))
        .await?
    {
        0 => Err(ApiError::NotFound(format!(
            "no {record_type} records at {owner:?}"
        ))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// Deletes every record at `owner`.
#[utoipa::path(
    delete, path = "/v1/records/{owner}", tag = "records", operation_id = "deleteOwner",
    params(("owner" = OwnerName, Path, description = "The owner name.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Malformed path.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key does not cover the owner.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No records at this owner.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The owner is not a name in a served zone.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_owner(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(raw_owner): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let owner = validation::owner_in_zones(&state.zones, &raw_owner)?;
    caller.authorize_name(&owner)?;
    match state.store.delete_records(&owner, None).await? {
        0 => Err(ApiError::NotFound(format!("no records at {owner:?}"))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
