//! `Snapshot::build`: where records go, what is skipped and why, RRset TTLs.

use dns_server::{SkipReason, Snapshot};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{DNSClass, RData, RecordType};

use crate::harness::{cname, name, programmatic_zone, record, txt, zones};

#[test]
fn records_outside_every_zone_and_unservable_ones_are_reported() {
    let mut chaos = txt("version.example.test.", "x");
    chaos.dns_class = DNSClass::CH;
    let soa = record(
        "example.test.",
        60,
        RData::SOA(programmatic_zone("example.test.", 60, 60).soa),
    );
    let long_txt = record(
        "long.example.test.",
        60,
        RData::TXT(TXT::from_bytes(vec![&[b'x'; 300][..]])),
    );
    let dynamic = vec![
        txt("www.elsewhere.invalid.", "outside"),
        txt("test.", "the parent of the zones"),
        chaos.clone(),
        soa.clone(),
        long_txt.clone(),
        txt("fine.example.test.", "kept"),
    ];
    let (snapshot, skipped) = Snapshot::build(&zones(), dynamic, 1);
    let reasons: Vec<(String, SkipReason)> = skipped
        .iter()
        .map(|s| (s.record.name.to_ascii(), s.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 5, "{skipped:#?}");
    assert!(reasons.contains(&("www.elsewhere.invalid.".into(), SkipReason::OutsideZones)));
    assert!(reasons.contains(&("test.".into(), SkipReason::OutsideZones)));
    assert!(reasons.contains(&(
        "version.example.test.".into(),
        SkipReason::NotClassIn(DNSClass::CH)
    )));
    assert!(reasons.contains(&("example.test.".into(), SkipReason::SoaFromZoneSpec)));
    assert!(
        reasons
            .iter()
            .any(|(n, r)| n == "long.example.test." && matches!(r, SkipReason::Unencodable(_)))
    );
    assert!(skipped.iter().all(|s| !s.to_string().is_empty()));
    assert!(
        snapshot
            .rrset(&name("FINE.example.test."), RecordType::TXT)
            .is_some()
    );
}

#[test]
fn a_cname_with_other_data_is_dropped_and_a_second_cname_too() {
    let dynamic = vec![
        cname("both.example.test.", "www.example.test."),
        txt("both.example.test.", "data wins"),
        cname("twice.example.test.", "www.example.test."),
        cname("twice.example.test.", "alias.example.test."),
        // A CNAME at the apex conflicts with the SOA and NS.
        cname("example.test.", "www.example.test."),
    ];
    let (snapshot, skipped) = Snapshot::build(&zones(), dynamic, 1);
    let mut reasons: Vec<(String, SkipReason)> = skipped
        .iter()
        .map(|s| (s.record.name.to_ascii(), s.reason.clone()))
        .collect();
    reasons.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        reasons,
        [
            ("both.example.test.".into(), SkipReason::CnameAndOtherData),
            ("example.test.".into(), SkipReason::CnameAndOtherData),
            ("twice.example.test.".into(), SkipReason::SecondCname),
        ]
    );
    let kept = snapshot
        .rrset(&name("twice.example.test."), RecordType::CNAME)
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].data.to_string(),
        "www.example.test.",
        "the first is kept"
    );
    assert!(
        snapshot
            .rrset(&name("both.example.test."), RecordType::TXT)
            .is_some()
    );
}

#[test]
fn an_rrset_has_one_ttl_and_no_duplicates() {
    let dynamic = vec![
        record("ttl.example.test.", 300, RData::A(A::new(192, 0, 2, 1))),
        record("ttl.example.test.", 60, RData::A(A::new(192, 0, 2, 2))),
        record("ttl.example.test.", 900, RData::A(A::new(192, 0, 2, 1))),
        // Same owner in another case: the same RRset.
        record("TTL.Example.Test.", 120, RData::A(A::new(192, 0, 2, 3))),
    ];
    let (snapshot, skipped) = Snapshot::build(&zones(), dynamic, 1);
    assert!(skipped.is_empty());
    let set = snapshot
        .rrset(&name("ttl.example.test."), RecordType::A)
        .unwrap();
    assert_eq!(set.len(), 3);
    assert!(set.iter().all(|r| r.ttl == 60), "{set:?}");
    assert!(
        set.iter().all(|r| r.name.to_ascii() == "ttl.example.test."),
        "one owner spelling per RRset: {set:?}"
    );
}

#[test]
fn a_duplicate_zone_is_ignored_with_its_static_records() {
    let mut specs = zones();
    let mut again = programmatic_zone("Example.Test.", 10, 10);
    again.static_records = vec![txt("dup.example.test.", "from the duplicate")].into();
    specs.push(again);
    let (snapshot, skipped) = Snapshot::build(&specs, Vec::new(), 3);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].reason, SkipReason::DuplicateZone);
    assert_eq!(snapshot.origins().count(), 3);
    assert_eq!(snapshot.serial(), 3);
    // The first spec's SOA is the one served, with the snapshot's serial.
    let soa = snapshot
        .rrset(&name("example.test."), RecordType::SOA)
        .unwrap();
    assert_eq!(soa[0].ttl, 3600);
    let RData::SOA(data) = &soa[0].data else {
        panic!()
    };
    assert_eq!(data.serial, 3);
}

#[test]
fn origins_are_most_specific_first_and_counts_add_up() {
    let (snapshot, _) = Snapshot::build(&zones(), Vec::new(), 1);
    let origins: Vec<String> = snapshot.origins().map(|n| n.to_ascii()).collect();
    assert_eq!(origins[0], "sub.example.test.");
    // example.test: SOA, 2 NS, 9 static; sub and other: SOA, NS, host A each.
    assert_eq!(snapshot.record_count(), 12 + 3 + 3);
    let empty = Snapshot::empty();
    assert_eq!(empty.origins().count(), 0);
    assert_eq!(empty.record_count(), 0);
}
