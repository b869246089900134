//! Fuzz target `api_json`: arbitrary bytes as the JSON body of the management API's
//! write endpoints, checked as their handlers check them
//! (`management_api::fuzzing::Checks`: the crate's request types and validation).
//!
//! Input: byte 0 picks the endpoint (`POST /v1/records`, `PUT /v1/records/{owner}/{type}`,
//! `POST /v1/keys`, acme-dns `POST /update`, acme-dns `POST /register`), byte 1 the PUT's
//! path (owner and type, some of them invalid); the rest is the body.
//!
//! Asserts: no panic; an accepted record or RRset has the normalised owner (lowercase,
//! no trailing dot) inside a served zone and, for the RRset, the path's type; anything
//! validation accepts, serialised again as the API shows it (a record as the API's
//! stored-record JSON, a key's scopes and networks as shown, the acme-dns fields), is
//! accepted again with the identical result.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use management_api::fuzzing::Checks;
use record_store::model::Record;
use serde_json::json;

const ZONES: [&str; 2] = ["example.com", "example.net"];
const SUBDOMAIN: &str = "8e5700ea-a4bf-41c7-8a77-e990661dcc6a";
const OWNERS: [&str; 8] = [
    "www.example.com",
    "_acme-challenge.WWW.Example.COM.",
    "example.net",
    "_acme-challenge._tcp.www.example.com",
    "outside.invalid",
    "*.example.com",
    "a..b.example.com",
    "",
];
const TYPES: [&str; 8] = ["A", "AAAA", "CNAME", "SRV", "TXT", "txt", "MX", ""];

static CHECKS: LazyLock<Checks> = LazyLock::new(|| Checks::new(&ZONES));

fn check_owner(record: &Record) {
    let owner = &record.owner;
    assert_eq!(*owner, owner.to_ascii_lowercase(), "owner not lowercased");
    assert!(!owner.ends_with('.'), "owner with a trailing dot");
    assert!(
        ZONES
            .iter()
            .any(|zone| owner == zone || owner.ends_with(&format!(".{zone}"))),
        "owner {owner} outside the zones"
    );
}

fn to_vec(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serialises")
}

fuzz_target!(|data: &[u8]| {
    let [endpoint, path, ref body @ ..] = *data else {
        return;
    };
    let checks = &*CHECKS;
    match endpoint % 5 {
        0 => {
            let Ok(record) = checks.create_record(body) else {
                return;
            };
            check_owner(&record);
            assert_eq!(
                checks.create_record(&checks.record_json(&record)).as_ref(),
                Ok(&record),
                "a record read back from its JSON"
            );
        }
        1 => {
            let owner = OWNERS[usize::from(path & 7)];
            let record_type = TYPES[usize::from(path >> 3 & 7)];
            let Ok((ttl, records)) = checks.replace_rrset(owner, record_type, body) else {
                return;
            };
            for record in &records {
                check_owner(record);
                assert!(
                    record
                        .record_type()
                        .as_str()
                        .eq_ignore_ascii_case(record_type),
                    "a {} record in a {record_type} RRset",
                    record.record_type()
                );
                assert_eq!(record.ttl, ttl);
            }
            let again = checks.rrset_json(ttl, &records);
            assert_eq!(
                checks.replace_rrset(owner, record_type, &again),
                Ok((ttl, records)),
                "an RRset read back from its JSON"
            );
        }
        2 => {
            let Ok(key) = checks.create_key(body) else {
                return;
            };
            let again = checks.key_json(&key);
            assert_eq!(
                checks.create_key(&again),
                Ok(key),
                "a key read back from its JSON"
            );
        }
        3 => {
            let Ok(txt) = checks.acme_dns_update(SUBDOMAIN, body) else {
                return;
            };
            let again = json!({"subdomain": SUBDOMAIN, "txt": txt});
            assert_eq!(checks.acme_dns_update(SUBDOMAIN, &to_vec(&again)), Ok(txt));
        }
        _ => {
            let Ok(networks) = checks.acme_dns_register(body) else {
                return;
            };
            let shown: Vec<String> = networks.iter().map(ToString::to_string).collect();
            let again = json!({"allowfrom": shown});
            assert_eq!(
                checks.acme_dns_register(&to_vec(&again)),
                Ok(networks),
                "networks read back as shown"
            );
        }
    }
});
