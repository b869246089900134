//! What the server does besides answering queries, and what it needs for that from its
//! owner: TSIG keys ([`Keyring`]), who may transfer zones ([`ZoneServices`]), and where
//! RFC 2136 updates go ([`UpdateHandler`]).
//!
//! Everything here is refused until it is configured: without a keyring no signed
//! message is accepted; without transfer networks or a key allowed to transfer, every
//! AXFR and IXFR gets REFUSED; without an update handler every UPDATE gets REFUSED, and
//! an unsigned UPDATE always does.

use std::sync::Arc;

use async_trait::async_trait;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use ipnet::IpNet;

use crate::tsig::TsigKey;

/// A TSIG key and what it may do.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    /// The key.
    pub key: TsigKey,
    /// May transfer (AXFR, IXFR) every served zone.
    pub transfer: bool,
    /// May send UPDATE messages (the update handler checks the key's scope).
    pub update: bool,
}

/// Where the server finds TSIG keys by name (configured ones, and the store's).
#[async_trait]
pub trait Keyring: Send + Sync + 'static {
    /// The key named `name` (lowercase, fully qualified), if it exists and is not
    /// revoked.
    async fn key(&self, name: &Name) -> Option<KeyGrant>;
}

/// A keyring of fixed keys (from the configuration file, or tests).
#[derive(Debug, Clone, Default)]
pub struct StaticKeyring(pub Vec<KeyGrant>);

#[async_trait]
impl Keyring for StaticKeyring {
    async fn key(&self, name: &Name) -> Option<KeyGrant> {
        self.0.iter().find(|grant| grant.key.name == *name).cloned()
    }
}

/// One prerequisite of an UPDATE (RFC 2136 §2.4), for the zone's records.
#[derive(Debug, Clone, PartialEq)]
pub enum Prerequisite {
    /// An RRset of this type exists at the name (value independent).
    RrsetExists(Name, RecordType),
    /// The RRset exists with exactly these records (value dependent).
    RrsetEquals(Name, RecordType, Vec<Record>),
    /// No RRset of this type exists at the name.
    RrsetDoesNotExist(Name, RecordType),
    /// The name owns at least one record.
    NameInUse(Name),
    /// The name owns no record.
    NameNotInUse(Name),
}

/// One change of an UPDATE (RFC 2136 §2.5).
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOperation {
    /// Add the record to its RRset.
    Add(Record),
    /// Delete the RRset of this type at the name.
    DeleteRrset(Name, RecordType),
    /// Delete every RRset at the name.
    DeleteName(Name),
    /// Delete this record (type and data; the TTL is ignored).
    DeleteRecord(Record),
}

/// An UPDATE message that passed the format and TSIG checks.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    /// The zone (its origin).
    pub zone: Name,
    /// The key that signed it.
    pub key: Name,
    /// The prerequisites, all of which must hold.
    pub prerequisites: Vec<Prerequisite>,
    /// The changes, applied all or none.
    pub operations: Vec<UpdateOperation>,
}

/// Applies RFC 2136 updates to the zone data: all or nothing, durable before it
/// returns.
#[async_trait]
pub trait UpdateHandler: Send + Sync + 'static {
    /// Applies `request`; the response code to answer with (NOERROR when applied, or
    /// the prerequisite's or refusal's code), and a reason for the log.
    async fn apply(&self, request: UpdateRequest) -> (ResponseCode, Option<String>);
}

/// What the server does besides queries; the default does none of it.
#[derive(Clone, Default)]
pub struct ZoneServices {
    /// TSIG keys.
    pub keyring: Option<Arc<dyn Keyring>>,
    /// Sources allowed to transfer zones without a key.
    pub transfer_networks: Vec<IpNet>,
    /// Where updates go.
    pub updates: Option<Arc<dyn UpdateHandler>>,
}

impl std::fmt::Debug for ZoneServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneServices")
            .field("keyring", &self.keyring.is_some())
            .field("transfer_networks", &self.transfer_networks)
            .field("updates", &self.updates.is_some())
            .finish()
    }
}

impl ZoneServices {
    /// The grant for `name`, if the keyring has it.
    pub(crate) async fn grant(&self, name: &Name) -> Option<KeyGrant> {
        match &self.keyring {
            Some(keyring) => keyring.key(name).await,
            None => None,
        }
    }
}

/// The response code a refused update answers with, as a number for logs.
pub(crate) fn rcode_text(rcode: ResponseCode) -> String {
    rcode.to_str().to_owned()
}

/// Who sent a message, as far as TSIG says.
#[derive(Debug)]
pub(crate) enum Sender {
    /// No TSIG record.
    Unsigned,
    /// A valid signature by a known key.
    Signed(KeyGrant, crate::tsig::Signed),
    /// A TSIG record that failed (answered NOTAUTH with a TSIG error).
    Refused(crate::tsig::Refusal),
}

impl ZoneServices {
    /// Checks the TSIG of `raw` against the keyring.
    pub(crate) async fn authenticate(&self, raw: &[u8]) -> Sender {
        let Some(name) = crate::tsig::claimed_key(raw) else {
            return Sender::Unsigned;
        };
        let grant = self.grant(&name).await;
        match crate::tsig::verify(raw, grant.as_ref().map(|g| &g.key), crate::tsig::unix_now()) {
            crate::tsig::Verdict::Valid(signed) => match grant {
                Some(grant) => Sender::Signed(grant, signed),
                None => Sender::Refused(crate::tsig::Refusal::BadKey { key_name: name }),
            },
            crate::tsig::Verdict::Refused(refusal) => Sender::Refused(refusal),
            // A TSIG record was found above, so it parses: not reached in practice.
            crate::tsig::Verdict::NotSigned => {
                Sender::Refused(crate::tsig::Refusal::BadKey { key_name: name })
            }
        }
    }
}

/// Finishes a response to a message from `sender`: signs it when the request was
/// signed, adds the TSIG error record when the signature failed.
pub(crate) fn finish_response(response: &mut Vec<u8>, sender: &Sender) {
    let now = crate::tsig::unix_now();
    match sender {
        Sender::Unsigned => {}
        Sender::Signed(_, signed) => {
            crate::tsig::ResponseSigner::new(signed).sign(response, now, None, &[]);
        }
        Sender::Refused(refusal @ crate::tsig::Refusal::BadTime { signed, .. }) => {
            let other = crate::tsig::time_other_data(now);
            crate::tsig::ResponseSigner::new(signed).sign(
                response,
                now,
                Some(refusal.error()),
                &other,
            );
        }
        Sender::Refused(refusal) => crate::tsig::append_unsigned_error(response, refusal, now),
    }
}
