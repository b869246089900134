//! `ZoneSpec::from_zone_file`: what a zone file becomes, and errors with file and line;
//! `parse_records`: record lines without a file, through the same reader.

use std::path::Path;

use dns_server::{ZoneError, ZoneSpec, parse_records};
use hickory_proto::rr::RecordType;

use crate::harness::name;

const HEADER: &str = "$TTL 300
@   3600 IN SOA ns1.zone.test. hostmaster.zone.test. (
            1 3600 600 86400 60 )
@   IN NS ns1.zone.test.
";

fn load(body: &str) -> (tempfile::TempDir, Result<ZoneSpec, ZoneError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zone.test.zone");
    std::fs::write(&path, body).unwrap();
    let result = ZoneSpec::from_zone_file(&path, name("zone.test."));
    (dir, result)
}

#[test]
fn the_fixture_zone_file_becomes_a_zone_spec() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dns/fixtures/example.test.zone");
    let spec = ZoneSpec::from_zone_file(&path, name("example.test")).unwrap();
    assert_eq!(spec.origin.to_ascii(), "example.test.");
    assert_eq!(spec.soa_ttl, 3600);
    assert_eq!(spec.soa.minimum, 60);
    assert_eq!(spec.soa.mname.to_ascii(), "ns1.example.test.");
    let mut ns: Vec<String> = spec.ns.iter().map(|n| n.to_ascii()).collect();
    ns.sort();
    assert_eq!(ns, ["ns1.example.test.", "ns2.example.test."]);
    assert_eq!(spec.static_records.len(), 9);
    assert!(
        spec.static_records
            .iter()
            .all(|r| r.record_type() != RecordType::SOA)
    );
    let srv = spec
        .static_records
        .iter()
        .filter(|r| r.record_type() == RecordType::SRV)
        .count();
    assert_eq!(srv, 2);
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let (_dir, result) = load(&format!(
        "{HEADER}www IN A 192.0.2.1\nbad IN A not-an-address\n"
    ));
    let error = result.unwrap_err();
    let ZoneError::Parse { line, path, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*line, Some(6));
    assert!(path.ends_with("zone.test.zone"));
    let text = error.to_string();
    assert!(text.contains("zone.test.zone:6: "), "{text}");

    // After a multi-line entry, and for an unknown type.
    let (_dir, result) = load(&format!(
        "{HEADER}txt IN TXT ( \"a\"\n  \"b\" )\nx IN BOGUS 1\n"
    ));
    let error = result.unwrap_err();
    assert!(
        matches!(error, ZoneError::Parse { line: Some(7), .. }),
        "{error:?}"
    );

    // An unclosed parenthesis is reported where it opens.
    let (_dir, result) = load(&format!("{HEADER}www IN A 192.0.2.1\nsrv IN SRV ( 1 2 3\n"));
    let error = result.unwrap_err();
    assert!(
        matches!(error, ZoneError::Parse { line: Some(6), .. }),
        "{error:?}"
    );
}

#[test]
fn a_zone_needs_its_soa_and_ns_at_the_origin() {
    let (_dir, result) = load("$TTL 300\n@ IN NS ns1.zone.test.\n");
    assert!(
        matches!(result, Err(ZoneError::MissingSoa { .. })),
        "{result:?}"
    );

    let (_dir, result) =
        load("@ 300 IN SOA ns1.zone.test. h.zone.test. 1 2 3 4 5\nwww 300 IN A 192.0.2.1\n");
    assert!(
        matches!(result, Err(ZoneError::MissingNs { .. })),
        "{result:?}"
    );

    let (_dir, result) = load(&format!(
        "{HEADER}sub 300 IN SOA ns1.zone.test. h.zone.test. 1 2 3 4 5\n"
    ));
    assert!(
        matches!(result, Err(ZoneError::SoaNotAtOrigin { .. })),
        "{result:?}"
    );
}

#[test]
fn records_outside_the_origin_are_an_error() {
    let (_dir, result) = load(&format!("{HEADER}www.elsewhere.invalid. IN A 192.0.2.1\n"));
    let error = result.unwrap_err();
    assert!(
        matches!(error, ZoneError::OutsideOrigin { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("www.elsewhere.invalid."),
        "{error}"
    );
}

#[test]
fn a_missing_file_is_a_read_error() {
    let error =
        ZoneSpec::from_zone_file(Path::new("/nonexistent/zone"), name("zone.test.")).unwrap_err();
    assert!(matches!(error, ZoneError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/zone"), "{error}");
}

#[test]
fn zone_text_in_memory_parses_too() {
    let spec = ZoneSpec::from_zone_text(
        &format!("{HEADER}_acme-challenge IN TXT \"token\"\n"),
        Path::new("inline.zone"),
        name("zone.test."),
    )
    .unwrap();
    assert_eq!(spec.static_records.len(), 1);
    assert_eq!(spec.ns.len(), 1);
}

#[test]
fn record_lines_parse_as_a_zone_file_does() {
    let text = "www IN A 192.0.2.1\nshort 60 TXT \"a\"\n  60 TXT \"b\"\nabs.other.test. 300 IN A 192.0.2.9\n";
    let mut records = parse_records(&name("zone.test"), 3600, text).unwrap();
    records.sort_by_key(|r| (r.name.to_ascii(), r.data.to_string()));
    let summary: Vec<(String, u32, RecordType)> = records
        .iter()
        .map(|r| (r.name.to_ascii(), r.ttl, r.record_type()))
        .collect();
    assert_eq!(
        summary,
        [
            ("abs.other.test.".to_owned(), 300, RecordType::A),
            ("short.zone.test.".to_owned(), 60, RecordType::TXT),
            ("short.zone.test.".to_owned(), 60, RecordType::TXT),
            ("www.zone.test.".to_owned(), 3600, RecordType::A),
        ],
        "relative names under the origin, the default TTL, a blank owner repeating the last"
    );
}

#[test]
fn a_record_line_error_gives_its_line() {
    let error = parse_records(
        &name("zone.test."),
        3600,
        "a IN A 192.0.2.1\nb IN TXT ok\nc IN A nowhere\nd IN A 192.0.2.4\n",
    )
    .unwrap_err();
    assert_eq!(error.line, Some(3), "{error:?}");
    assert!(!error.message.is_empty());
}

#[test]
fn record_lines_refuse_a_relative_include() {
    let error = parse_records(
        &name("zone.test."),
        3600,
        "a IN A 192.0.2.1\n$INCLUDE other.zone\n",
    )
    .unwrap_err();
    assert_eq!(error.line, Some(2));
    assert!(error.message.contains("relative"), "{error}");
}
