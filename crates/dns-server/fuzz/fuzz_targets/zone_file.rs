//! Fuzz target `zone_file`: arbitrary text parsed as an RFC 1035 zone file for
//! `example.test.` (`ZoneSpec::from_zone_text`, the parser behind `from_zone_file`).
//!
//! `$INCLUDE` reads files from disk, so inputs with it are skipped (the fuzzer would
//! otherwise read `/dev/zero` or the machine's files).
//!
//! Asserts: no panic, errors are values; a syntax error's line is one of the text's
//! lines; an accepted zone has its origin as given and at least one NS, and builds into a
//! snapshot that serves its SOA and NS RRsets.
#![no_main]

use std::path::Path;
use std::str::FromStr;

use dns_server::{Snapshot, ZoneError, ZoneSpec};
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.to_ascii_lowercase().contains("$include") {
        return;
    }
    let origin = Name::from_str("example.test.").expect("a valid name");
    match ZoneSpec::from_zone_text(text, Path::new("fuzz.zone"), origin.clone()) {
        Err(ZoneError::Parse {
            line: Some(line), ..
        }) => {
            let lines = text.split('\n').count();
            assert!(
                (1..=lines).contains(&line),
                "error at line {line} of {lines}"
            );
        }
        Err(ZoneError::Read { .. }) => panic!("a zone without $INCLUDE read a file"),
        Err(error) => {
            let _ = error.to_string();
        }
        Ok(spec) => {
            assert_eq!(spec.origin, origin);
            assert!(!spec.ns.is_empty(), "a zone without NS was accepted");
            let (snapshot, _skipped) = Snapshot::build(std::slice::from_ref(&spec), Vec::new(), 1);
            let soa = snapshot
                .rrset(&origin, RecordType::SOA)
                .expect("the SOA is served");
            assert_eq!(soa.len(), 1);
            assert!(
                snapshot.rrset(&origin, RecordType::NS).is_some(),
                "the NS set is served"
            );
        }
    }
});
