//! TSIG (RFC 8945): checking the signature of a request, and signing responses, over
//! the raw wire bytes.
//!
//! A request is verified against the key its TSIG record names ([`verify`]); the
//! outcome is either a [`Signed`] request, whose key and MAC sign the response(s), or a
//! [`Refusal`] answered as RFC 8945 §5.2 says: BADKEY and BADSIG with NOTAUTH and an
//! unsigned TSIG record, BADTIME with NOTAUTH and a signed one carrying the server's
//! time. [`ResponseSigner`] signs the first response with the request's MAC and every
//! later message of a multi-message answer (a zone transfer) with the previous MAC and
//! the timers only (§5.3.1).
//!
//! Only hmac-sha256 and hmac-sha512 keys are used; truncated MACs are refused (BADSIG).
//! The MAC computation is hickory's (`TsigAlgorithm`, on *ring*).

use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError, signed_bitmessage_to_buf};

/// The fudge this server signs with, and the largest clock difference it accepts
/// whatever a request's own fudge says: five minutes, as RFC 8945 §10 recommends.
pub const FUDGE: u16 = 300;

/// The TSIG record type code.
const TSIG_TYPE: u16 = 250;
/// Class ANY.
const CLASS_ANY: u16 = 255;
/// RCODE NOTAUTH (RFC 8945 §5.2: the TSIG error responses).
pub const NOTAUTH: u8 = 9;

/// A TSIG key: its name, algorithm and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// The key name, lowercase, fully qualified.
    pub name: Name,
    /// `hmac-sha256` or `hmac-sha512`.
    pub algorithm: TsigAlgorithm,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TsigKey {
    /// A key named `name` (case folded) with `algorithm` (`hmac-sha256` or
    /// `hmac-sha512`) and `secret`; the reason when the algorithm is not one of those.
    pub fn new(name: &Name, algorithm: &str, secret: Vec<u8>) -> Result<Self, String> {
        let algorithm = match algorithm
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            other => {
                return Err(format!(
                    "TSIG algorithm {other:?} is not supported: expected hmac-sha256 or hmac-sha512"
                ));
            }
        };
        if secret.is_empty() {
            return Err("the TSIG secret is empty".into());
        }
        let mut name = name.to_lowercase();
        name.set_fqdn(true);
        Ok(Self {
            name,
            algorithm,
            secret,
        })
    }
}

/// The name and algorithm a request's TSIG record claims, to look its key up; `None`
/// for a message without a TSIG record (or one that does not parse).
pub fn claimed_key(raw: &[u8]) -> Option<Name> {
    let (_, record) = signed_parts(raw)?;
    let mut name = record.name.to_lowercase();
    name.set_fqdn(true);
    Some(name)
}

/// hickory's split of a signed message into the bytes its MAC covers and its TSIG
/// record, for messages whose counts it can add: it sums the answer and authority
/// counts as a `u16`, which overflows (a panic in a debug build) on hostile counts.
fn signed_parts(
    raw: &[u8],
) -> Option<(
    Vec<u8>,
    Box<hickory_proto::rr::Record<hickory_proto::rr::rdata::TSIG>>,
)> {
    let count = |at: usize| u32::from(u16::from_be_bytes([raw[at], raw[at + 1]]));
    if raw.len() < 12 || count(6) + count(8) > u32::from(u16::MAX) || count(10) == 0 {
        return None;
    }
    signed_bitmessage_to_buf(raw, None, true).ok()
}

/// Whether the message carries a TSIG record (the last additional record).
pub fn is_signed(raw: &[u8]) -> bool {
    claimed_key(raw).is_some()
}

/// A request whose signature checked out.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The key that signed it.
    pub key: TsigKey,
    /// The request's MAC, which the first response's MAC covers.
    pub request_mac: Vec<u8>,
}

/// Why a signed request is refused (RFC 8945 §5.2).
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The key is not known, or not with that algorithm: BADKEY, unsigned.
    BadKey {
        /// The key name the request gave.
        key_name: Name,
    },
    /// The MAC does not match (or is truncated): BADSIG, unsigned.
    BadSig {
        /// The key.
        key: TsigKey,
    },
    /// The time signed is outside the fudge: BADTIME, signed with the request's MAC.
    BadTime {
        /// The valid request.
        signed: Signed,
        /// The request's time signed.
        their_time: u64,
    },
}

impl Refusal {
    /// The TSIG error code.
    pub fn error(&self) -> TsigError {
        match self {
            Self::BadKey { .. } => TsigError::BadKey,
            Self::BadSig { .. } => TsigError::BadSig,
            Self::BadTime { .. } => TsigError::BadTime,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadKey { key_name } => write!(f, "BADKEY: no key {key_name}"),
            Self::BadSig { key } => write!(f, "BADSIG: the MAC of key {} does not match", key.name),
            Self::BadTime { signed, their_time } => write!(
                f,
                "BADTIME: key {} signed at {their_time}, outside {FUDGE} s of this server's clock",
                signed.key.name
            ),
        }
    }
}

/// What checking a message's TSIG found.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// A valid signature.
    Valid(Signed),
    /// A TSIG record that fails.
    Refused(Refusal),
    /// No TSIG record (or none that parses).
    NotSigned,
}

/// Checks the TSIG of `raw` against `key` (the key its TSIG record names, if this
/// server knows it), at `now` (seconds since the epoch).
pub fn verify(raw: &[u8], key: Option<&TsigKey>, now: u64) -> Verdict {
    match check(raw, key, now) {
        Ok(signed) => Verdict::Valid(signed),
        Err(Some(refusal)) => Verdict::Refused(*refusal),
        Err(None) => Verdict::NotSigned,
    }
}

fn check(raw: &[u8], key: Option<&TsigKey>, now: u64) -> Result<Signed, Option<Box<Refusal>>> {
    let (tbv, record) = signed_parts(raw).ok_or(None)?;
    let mut key_name = record.name.to_lowercase();
    key_name.set_fqdn(true);
    let tsig = &record.data;
    let Some(key) = key.filter(|k| k.name == key_name && k.algorithm == tsig.algorithm) else {
        return Err(Some(Box::new(Refusal::BadKey { key_name })));
    };
    let full_length = match tsig.algorithm {
        TsigAlgorithm::HmacSha256 => 32,
        TsigAlgorithm::HmacSha512 => 64,
        _ => usize::MAX,
    };
    if tsig.mac.len() < full_length
        || tsig
            .algorithm
            .verify_mac(&key.secret, &tbv, &tsig.mac)
            .is_err()
    {
        return Err(Some(Box::new(Refusal::BadSig { key: key.clone() })));
    }
    let signed = Signed {
        key: key.clone(),
        request_mac: tsig.mac.clone(),
    };
    let fudge = u64::from(tsig.fudge.min(FUDGE));
    if now.abs_diff(tsig.time) > fudge {
        return Err(Some(Box::new(Refusal::BadTime {
            signed,
            their_time: tsig.time,
        })));
    }
    Ok(signed)
}

/// Signs the messages of one response (several for a zone transfer) to a [`Signed`]
/// request.
#[derive(Debug)]
pub struct ResponseSigner {
    key: TsigKey,
    prior_mac: Vec<u8>,
    first: bool,
}

impl ResponseSigner {
    /// The signer of the response to `signed`.
    pub fn new(signed: &Signed) -> Self {
        Self {
            key: signed.key.clone(),
            prior_mac: signed.request_mac.clone(),
            first: true,
        }
    }

    /// The signer of a request this server sends (a NOTIFY): no prior MAC, so the MAC
    /// covers the message and the TSIG variables only (RFC 8945 §4.3).
    pub fn new_request(signed: &Signed) -> Self {
        Self {
            key: signed.key.clone(),
            prior_mac: Vec::new(),
            first: true,
        }
    }

    /// Appends a TSIG record to the unsigned message `response` (its ID is the request's),
    /// signed at `now`; `error` and `other` are the TSIG error and other data (BADTIME
    /// carries the server's time).
    pub fn sign(
        &mut self,
        response: &mut Vec<u8>,
        now: u64,
        error: Option<TsigError>,
        other: &[u8],
    ) {
        let algorithm = algorithm_wire(&self.key.algorithm);
        let key_name = name_wire(&self.key.name);
        let mut tbs = Vec::with_capacity(response.len() + 128);
        if !self.prior_mac.is_empty() {
            push_u16(&mut tbs, self.prior_mac.len());
            tbs.extend_from_slice(&self.prior_mac);
        }
        tbs.extend_from_slice(response);
        if self.first {
            tbs.extend_from_slice(&key_name);
            tbs.extend_from_slice(&CLASS_ANY.to_be_bytes());
            tbs.extend_from_slice(&0u32.to_be_bytes());
            tbs.extend_from_slice(&algorithm);
            push_time(&mut tbs, now);
            tbs.extend_from_slice(&FUDGE.to_be_bytes());
            tbs.extend_from_slice(&error.map_or(0, u16::from).to_be_bytes());
            push_u16(&mut tbs, other.len());
            tbs.extend_from_slice(other);
        } else {
            push_time(&mut tbs, now);
            tbs.extend_from_slice(&FUDGE.to_be_bytes());
        }
        let mac = self
            .key
            .algorithm
            .mac_data(&self.key.secret, &tbs)
            .unwrap_or_default();
        append_tsig(response, &key_name, &algorithm, now, &mac, error, other);
        self.prior_mac = mac;
        self.first = false;
    }
}

/// Appends the unsigned TSIG record of a BADKEY or BADSIG answer to `response`.
pub fn append_unsigned_error(response: &mut Vec<u8>, refusal: &Refusal, now: u64) {
    let (name, algorithm) = match refusal {
        Refusal::BadKey { key_name } => (key_name.clone(), TsigAlgorithm::HmacSha256),
        Refusal::BadSig { key } => (key.name.clone(), key.algorithm.clone()),
        Refusal::BadTime { signed, .. } => (signed.key.name.clone(), signed.key.algorithm.clone()),
    };
    append_tsig(
        response,
        &name_wire(&name),
        &algorithm_wire(&algorithm),
        now,
        &[],
        Some(refusal.error()),
        &[],
    );
}

/// The 48-bit time, as BADTIME's other data carries it.
pub fn time_other_data(now: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(6);
    push_time(&mut out, now);
    out
}

fn append_tsig(
    response: &mut Vec<u8>,
    key_name: &[u8],
    algorithm: &[u8],
    now: u64,
    mac: &[u8],
    error: Option<TsigError>,
    other: &[u8],
) {
    let original_id = [response[0], response[1]];
    let mut rdata = Vec::with_capacity(algorithm.len() + 16 + mac.len() + other.len());
    rdata.extend_from_slice(algorithm);
    push_time(&mut rdata, now);
    rdata.extend_from_slice(&FUDGE.to_be_bytes());
    push_u16(&mut rdata, mac.len());
    rdata.extend_from_slice(mac);
    rdata.extend_from_slice(&original_id);
    rdata.extend_from_slice(&error.map_or(0, u16::from).to_be_bytes());
    push_u16(&mut rdata, other.len());
    rdata.extend_from_slice(other);
    response.extend_from_slice(key_name);
    response.extend_from_slice(&TSIG_TYPE.to_be_bytes());
    response.extend_from_slice(&CLASS_ANY.to_be_bytes());
    response.extend_from_slice(&0u32.to_be_bytes());
    push_u16(response, rdata.len());
    response.extend_from_slice(&rdata);
    // ARCOUNT + 1.
    let count = u16::from_be_bytes([response[10], response[11]]).saturating_add(1);
    response[10..12].copy_from_slice(&count.to_be_bytes());
}

fn push_u16(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&u16::try_from(value).unwrap_or(u16::MAX).to_be_bytes());
}

fn push_time(out: &mut Vec<u8>, now: u64) {
    out.extend_from_slice(&now.to_be_bytes()[2..]);
}

/// A name in canonical (lowercase, uncompressed) wire form.
fn name_wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.to_lowercase().iter() {
        out.push(u8::try_from(label.len()).unwrap_or(63));
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

fn algorithm_wire(algorithm: &TsigAlgorithm) -> Vec<u8> {
    let mut name = algorithm.to_name();
    name.set_fqdn(true);
    name_wire(&name)
}

/// Seconds since the Unix epoch, for signing and checking times.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header whose answer and authority counts overflow a `u16` when added (hickory
    /// adds them), found by the `dns_update_tsig` fuzz target: no panic, not signed.
    #[test]
    fn hostile_counts_are_not_signed_and_do_not_panic() {
        let mut raw = vec![0x12, 0x34, 0x28, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 1];
        raw.extend_from_slice(&[0, 0, 6, 0, 1]);
        assert!(!is_signed(&raw));
        assert!(claimed_key(&raw).is_none());
        assert!(matches!(verify(&raw, None, 0), Verdict::NotSigned));
    }

    #[test]
    fn a_response_signed_here_verifies_with_the_same_key() {
        let name = Name::from_ascii("k.example.test.").expect("name");
        let key = TsigKey::new(&name, "hmac-sha256", vec![9; 32]).expect("key");
        // An unsigned query, signed as a request (as NOTIFY and push sign theirs).
        let mut message = vec![0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(b"\x07example\x04test\x00\x00\x06\x00\x01");
        let signed = Signed {
            key: key.clone(),
            request_mac: Vec::new(),
        };
        let now = unix_now();
        ResponseSigner::new_request(&signed).sign(&mut message, now, None, &[]);
        assert!(matches!(
            verify(&message, Some(&key), now),
            Verdict::Valid(_)
        ));
        // A different secret: BADSIG; another time: BADTIME; no key: BADKEY.
        let other = TsigKey::new(&name, "hmac-sha256", vec![8; 32]).expect("key");
        assert!(matches!(
            verify(&message, Some(&other), now),
            Verdict::Refused(Refusal::BadSig { .. })
        ));
        assert!(matches!(
            verify(&message, Some(&key), now + 3600),
            Verdict::Refused(Refusal::BadTime { .. })
        ));
        assert!(matches!(
            verify(&message, None, now),
            Verdict::Refused(Refusal::BadKey { .. })
        ));
    }
}
