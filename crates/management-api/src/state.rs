//! [`ApiState`]: what every handler shares, built once from [`ApiSettings`].

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use domain_name::DomainName;
use record_store::{Author, RecordQuotas, RecordStore, WriteContext};

use crate::ApiSettings;
use crate::auth::{self, AdminToken};
use crate::guards::Guards;

/// The state shared by every handler (cheap to clone).
#[derive(Clone)]
pub(crate) struct ApiState(Arc<Inner>);

/// The fields of [`ApiState`].
pub(crate) struct Inner {
    /// Where records, keys and registrations live.
    pub(crate) store: Arc<dyn RecordStore>,
    /// Served zone origins, normalised (lowercase, no trailing dot).
    pub(crate) zones: Arc<[String]>,
    /// The admin token, if one is configured.
    pub(crate) admin_token: Option<AdminToken>,
    /// The zone acme-dns registrations are made under; `None` disables `/register`.
    pub(crate) acme_dns_zone: Option<String>,
    /// TXT values kept per name by acme-dns `/update`.
    pub(crate) txt_keep: usize,
    /// The largest request body accepted, in bytes.
    pub(crate) max_body_bytes: usize,
    /// The OpenAPI document, rendered once.
    pub(crate) openapi_json: String,
    /// An argon2 hash of nothing in particular, verified against when a key or user does
    /// not exist so that the answer takes as long as for a wrong secret.
    pub(crate) dummy_hash: String,
    /// Per-client limits, quotas and the verification bound.
    pub(crate) guards: Guards,
}

impl ApiState {
    /// Builds the state from `settings`, normalising the zone names.
    pub(crate) fn new(store: Arc<dyn RecordStore>, settings: ApiSettings) -> Self {
        let zones = normalise_zones(&settings.zones);
        let acme_dns_zone = settings.acme_dns_zone.as_deref().and_then(|zone| {
            let parsed = DomainName::parse(zone);
            if let Err(error) = &parsed {
                tracing::warn!(
                    acme_dns_zone = zone,
                    %error,
                    "management API: the acme-dns zone is not a domain name; /register is off"
                );
            }
            parsed.ok().map(DomainName::into_string)
        });
        let openapi_json = crate::openapi::render(&zones);
        Self(Arc::new(Inner {
            store,
            zones: zones.into(),
            admin_token: settings
                .admin_token
                .as_deref()
                .filter(|token| !token.is_empty())
                .map(AdminToken::new),
            acme_dns_zone,
            txt_keep: settings.txt_keep.max(1),
            max_body_bytes: settings.max_body_bytes,
            openapi_json,
            dummy_hash: auth::hash_secret("acme-srv timing equaliser"),
            guards: Guards::new(
                settings.client_prefixes,
                settings.trusted_proxies,
                settings.registration,
                settings.quotas,
            ),
        }))
    }
}

impl ApiState {
    /// What a write by `author` (`None`: the admin token, acme-dns) needs for the store's
    /// rules: the served zones (for the apex rule and the per-zone counts) and the
    /// records quotas.
    pub(crate) fn write_context(&self, author: Option<Author>) -> WriteContext {
        let quotas = &self.guards.quotas;
        WriteContext {
            author,
            zones: Arc::clone(&self.zones),
            quotas: RecordQuotas {
                records_per_zone: quotas.records_per_zone,
                records_per_author: quotas.records_per_key,
            },
        }
    }
}

impl Deref for ApiState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl fmt::Debug for ApiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiState")
            .field("zones", &self.zones)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("acme_dns_zone", &self.acme_dns_zone)
            .field("txt_keep", &self.txt_keep)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// Normalised ([`DomainName::parse`]), de-duplicated zone names, sorted. A text that is
/// no domain name could hold no owner: it is left out (the configuration refuses it
/// before), so the OpenAPI document never offers owners the server would refuse.
pub(crate) fn normalise_zones(zones: &[String]) -> Vec<String> {
    let mut zones: Vec<String> = zones
        .iter()
        .filter_map(|zone| DomainName::parse(zone).ok())
        .map(DomainName::into_string)
        .collect();
    zones.sort();
    zones.dedup();
    zones
}
