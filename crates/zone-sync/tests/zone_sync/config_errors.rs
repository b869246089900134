//! What `[[dns.zones]]` cannot become: errors name the configuration key and the zone,
//! and keep the cause.

use std::error::Error;

use zone_sync::ZoneSyncError;

use crate::harness::dns_config;

/// The zone specs' error for configuration text that must fail.
fn error_of(zones: &str) -> ZoneSyncError {
    zone_sync::zone_specs(&dns_config(zones)).expect_err("the zones must not load")
}

/// The error's message and its causes, as the binary prints them.
fn with_causes(error: &ZoneSyncError) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

#[test]
fn a_records_line_that_does_not_parse_names_its_key_and_zone() {
    let error = error_of(
        r#"
[[dns.zones]]
origin = "a.test"
records = ["fine 300 IN A 192.0.2.1"]

[[dns.zones]]
origin = "b.test"
records = [
    "one   300 IN A 192.0.2.1",
    "two   300 IN TXT fine",
    "three 300 IN A not-an-address",
    "four  300 IN A 192.0.2.4",
]
"#,
    );
    let ZoneSyncError::StaticRecord {
        key,
        origin,
        source,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(key, "dns.zones[1].records[2]");
    assert_eq!(origin, "b.test");
    assert_eq!(source.line, Some(3), "the line in the records' text");
    let text = with_causes(&error);
    assert!(
        text.starts_with("dns.zones[1].records[2] (zone b.test): "),
        "{text}"
    );
    assert!(
        text.len() > "dns.zones[1].records[2] (zone b.test): ".len(),
        "{text}"
    );
}

#[test]
fn an_unknown_record_type_names_its_line() {
    let error = error_of(
        "[[dns.zones]]\norigin = \"x.test\"\nrecords = [\"ok IN A 192.0.2.1\", \"this IS wrong\"]\n",
    );
    assert!(
        with_causes(&error).starts_with("dns.zones[0].records[1] (zone x.test): "),
        "{error}"
    );
}

#[test]
fn an_unclosed_parenthesis_names_the_line_that_opens_it() {
    let error = error_of(
        "[[dns.zones]]\norigin = \"x.test\"\nrecords = [\"a IN A 192.0.2.1\", \"b IN TXT ( open\", \"c IN A 192.0.2.3\"]\n",
    );
    let text = with_causes(&error);
    assert!(text.starts_with("dns.zones[0].records[1] "), "{text}");
    assert!(text.contains("parenthesis"), "{text}");
}

#[test]
fn a_relative_include_in_records_is_refused() {
    let error = error_of(
        "[[dns.zones]]\norigin = \"x.test\"\nrecords = [\"a IN A 192.0.2.1\", \"$INCLUDE other.zone\"]\n",
    );
    let text = with_causes(&error);
    assert!(text.starts_with("dns.zones[0].records[1] "), "{text}");
    assert!(text.contains("relative"), "{text}");
}

#[test]
fn a_name_server_that_is_not_a_name_names_its_key() {
    let error = error_of(&format!(
        "[[dns.zones]]\norigin = \"x.test\"\nns = [\"ns1.x.test\", \"{}.x.test\"]\n",
        "l".repeat(64)
    ));
    let ZoneSyncError::ZoneName { key, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(key, "dns.zones[0].ns[1]");
    assert!(error.source().is_some(), "hickory's reason is kept");
    assert!(
        error.to_string().contains("is not a domain name"),
        "{error}"
    );
}

#[test]
fn a_missing_zone_file_names_its_key_and_the_file() {
    let error =
        error_of("[[dns.zones]]\norigin = \"x.test\"\nzone_file = \"/nonexistent/x.test.zone\"\n");
    let text = with_causes(&error);
    assert!(
        text.starts_with("dns.zones[0].zone_file (zone x.test): "),
        "{text}"
    );
    assert!(text.contains("/nonexistent/x.test.zone"), "{text}");
    let ZoneSyncError::ZoneFile { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(matches!(**source, dns_server::ZoneError::Read { .. }));
}
