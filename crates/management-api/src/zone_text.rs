//! Stored records as RFC 1035 zone-file text, and `GET /v1/zone-text`, which answers
//! with it.
//!
//! One line per record, `owner. TTL IN TYPE data`, every name absolute (with its
//! trailing dot), so the text means the same under any `$ORIGIN` and loads into another
//! server (BIND, Knot, NSD, or acme-srv's own `[[dns.zones]]` files) as it is. Lines are
//! in DNS canonical order of their owners (RFC 4034 §6.1: compared label by label from
//! the right, so a name comes right before the names below it), then by type, then by
//! data.
//!
//! A TXT value is written as the character-strings the DNS server serves (at most 255
//! bytes each, never splitting a character), each quoted, with `"` and `\` escaped by a
//! backslash and every byte outside printable ASCII as `\DDD` (RFC 1035 §5.1).
//!
//! This module is the one place records become zone text: the route below uses it, and
//! so can anything else that needs zone text ([`zone_text`] and [`zone_line`] are
//! public).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use record_store::model::{Record, RecordData};
use serde::Deserialize;

use crate::auth::Caller;
use crate::extract::ApiQuery;
use crate::openapi::OwnerName;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::validation;

/// The media type of the zone text.
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// Longest character-string in a TXT record (RFC 1035 §3.3).
const MAX_CHARACTER_STRING: usize = 255;

/// `records` as zone-file text: one line per record ([`zone_line`]), each ending in a
/// newline, in canonical order of owners, then by type and data. Empty for no records.
pub fn zone_text(records: &[Record]) -> String {
    let mut lines: Vec<(&Record, String)> = records
        .iter()
        .map(|record| (record, zone_line(record)))
        .collect();
    lines.sort_by(|(a, a_line), (b, b_line)| {
        canonical_key(&a.owner)
            .cmp(&canonical_key(&b.owner))
            .then(a.record_type().cmp(&b.record_type()))
            .then(a_line.cmp(b_line))
    });
    lines.dedup_by(|(_, a), (_, b)| a == b);
    let mut text = String::new();
    for (_, line) in lines {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// One record as a zone-file line, without the newline: `owner. TTL IN TYPE data`.
pub fn zone_line(record: &Record) -> String {
    let mut line = format!(
        "{} {} IN {} ",
        absolute(&record.owner),
        record.ttl,
        record.record_type()
    );
    match &record.data {
        RecordData::A { address } => {
            let _ = write!(line, "{address}");
        }
        RecordData::Aaaa { address } => {
            let _ = write!(line, "{address}");
        }
        RecordData::Cname { target } => line.push_str(&absolute(target)),
        RecordData::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            let _ = write!(line, "{priority} {weight} {port} {}", absolute(target));
        }
        RecordData::Txt { value } => {
            let strings: Vec<String> = character_strings(value).into_iter().map(quoted).collect();
            line.push_str(&strings.join(" "));
        }
    }
    line
}

/// A stored (normalised, relative to the root) name as an absolute one: `.` stays `.`.
fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

/// The labels of a name from the right: sorting by it is DNS canonical order for the
/// lowercase names the store holds.
fn canonical_key(name: &str) -> Vec<&str> {
    name.trim_end_matches('.').rsplit('.').collect()
}

/// `value` cut into character-strings of at most 255 bytes, never inside a character
/// (as the DNS server serves it); one empty string for an empty value.
fn character_strings(value: &str) -> Vec<&str> {
    let mut strings = Vec::new();
    let mut rest = value;
    while rest.len() > MAX_CHARACTER_STRING {
        let mut cut = MAX_CHARACTER_STRING;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        strings.push(head);
        rest = tail;
    }
    strings.push(rest);
    strings
}

/// A character-string in zone-file form: in quotes, `"` and `\` escaped with a
/// backslash, bytes outside printable ASCII as `\DDD`.
fn quoted(string: &str) -> String {
    let mut out = String::with_capacity(string.len() + 2);
    out.push('"');
    for byte in string.bytes() {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            b' '..=b'~' => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\{byte:03}");
            }
        }
    }
    out.push('"');
    out
}

/// The query of `GET /v1/zone-text`.
#[derive(Debug, Deserialize)]
pub(crate) struct ZoneTextQuery {
    under: Option<String>,
}

/// The records as zone-file text, all or those at and below `under`; a key sees only the
/// names its scopes cover (as `GET /v1/records`).
#[utoipa::path(
    get, path = "/v1/zone-text", tag = "records", operation_id = "zoneText",
    params(("under" = Option<OwnerName>, Query, description = "Only this name and the names below it (a zone, typically).")),
    responses(
        (status = 200, description = "One RFC 1035 zone-file line per record, `owner. TTL IN TYPE data`, names absolute, in DNS canonical order of owners, then by type. TXT values are quoted character-strings of at most 255 bytes, `\"` and `\\` escaped with a backslash, other bytes outside printable ASCII as `\\DDD`. Empty when there is nothing to show. Static records and the SOA and NS records of the configuration are not included.", body = String, content_type = "text/plain",
            example = json!("_acme-challenge.www.example.com. 60 IN TXT \"gfj9Xq-Rg85nM_aGixU4EM-dbp5e9jXsuQhnqF5zOjI\"\n_acme-challenge._tcp.www.example.com. 60 IN SRV 10 5 8080 client.example.com.\n")),
        (status = 400, description = "Malformed query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed authentications from this client lately.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key covers no name under `under`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`under` is not a name in a served zone.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn serve(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ZoneTextQuery>,
) -> Result<Response, ApiError> {
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
    let visible: Vec<Record> = records
        .into_iter()
        .filter(|record| caller.covers(&record.owner))
        .collect();
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN))],
        zone_text(&visible),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: &str, ttl: u32, data: RecordData) -> Record {
        Record {
            owner: owner.to_owned(),
            ttl,
            data,
        }
    }

    fn txt(owner: &str, value: &str) -> Record {
        record(
            owner,
            60,
            RecordData::Txt {
                value: value.to_owned(),
            },
        )
    }

    #[test]
    fn every_type_as_a_line_with_absolute_names() {
        let cases = [
            (
                record(
                    "www.example.com",
                    300,
                    RecordData::A {
                        address: "192.0.2.10".parse().unwrap(),
                    },
                ),
                "www.example.com. 300 IN A 192.0.2.10",
            ),
            (
                record(
                    "www.example.com",
                    300,
                    RecordData::Aaaa {
                        address: "2001:db8::10".parse().unwrap(),
                    },
                ),
                "www.example.com. 300 IN AAAA 2001:db8::10",
            ),
            (
                record(
                    "_acme-challenge.www.example.com",
                    60,
                    RecordData::Cname {
                        target: "abc.auth.example.com".into(),
                    },
                ),
                "_acme-challenge.www.example.com. 60 IN CNAME abc.auth.example.com.",
            ),
            (
                record(
                    "_acme-challenge._tcp.www.example.com",
                    60,
                    RecordData::Srv {
                        priority: 10,
                        weight: 5,
                        port: 8080,
                        target: "client.example.com".into(),
                    },
                ),
                "_acme-challenge._tcp.www.example.com. 60 IN SRV 10 5 8080 client.example.com.",
            ),
            (
                record(
                    "_acme-challenge._tcp.legacy.example.com",
                    60,
                    RecordData::Srv {
                        priority: 10,
                        weight: 0,
                        port: 80,
                        target: ".".into(),
                    },
                ),
                "_acme-challenge._tcp.legacy.example.com. 60 IN SRV 10 0 80 .",
            ),
            (
                txt(
                    "_validation-persist.example.com",
                    "ca.example; accounturi=https://ca.example/acct/1",
                ),
                "_validation-persist.example.com. 60 IN TXT \"ca.example; accounturi=https://ca.example/acct/1\"",
            ),
            (
                txt("empty.example.com", ""),
                "empty.example.com. 60 IN TXT \"\"",
            ),
        ];
        for (record, line) in cases {
            assert_eq!(zone_line(&record), line);
        }
    }

    #[test]
    fn txt_quotes_backslashes_and_other_bytes_are_escaped() {
        assert_eq!(
            zone_line(&txt("a.example.com", r#"say "hi" \ bye"#)),
            r#"a.example.com. 60 IN TXT "say \"hi\" \\ bye""#
        );
        // A tab, a newline, DEL and a two-byte character: RFC 1035 \DDD, decimal.
        assert_eq!(
            zone_line(&txt("a.example.com", "a\tb\nc\u{7f}\u{e9}")),
            r#"a.example.com. 60 IN TXT "a\009b\010c\127\195\169""#
        );
        // Parentheses and semicolons need no escape inside quotes.
        assert_eq!(
            zone_line(&txt("a.example.com", "(x; y)")),
            r#"a.example.com. 60 IN TXT "(x; y)""#
        );
    }

    #[test]
    fn long_txt_values_become_strings_of_at_most_255_bytes() {
        let line = zone_line(&txt("a.example.com", &"x".repeat(600)));
        let data = line.strip_prefix("a.example.com. 60 IN TXT ").unwrap();
        let strings: Vec<&str> = data.split(' ').collect();
        assert_eq!(
            strings.iter().map(|s| s.len() - 2).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert!(
            strings
                .iter()
                .all(|s| s.starts_with('"') && s.ends_with('"'))
        );
        // A character is never cut: 254 ASCII bytes, then a two-byte character.
        let value = format!("{}\u{e9}z", "y".repeat(254));
        assert_eq!(character_strings(&value), [&"y".repeat(254), "\u{e9}z"]);
        assert_eq!(character_strings(&"x".repeat(255)), [&"x".repeat(255)]);
    }

    #[test]
    fn lines_are_in_canonical_order_then_by_type_and_data() {
        let records = [
            txt("b.example.com", "2"),
            txt("example.com", "apex"),
            record(
                "a.example.com",
                60,
                RecordData::Srv {
                    priority: 1,
                    weight: 0,
                    port: 80,
                    target: "t.example.com".into(),
                },
            ),
            txt("a.example.com", "z"),
            txt("a.example.com", "y"),
            txt("z.a.example.com", "below a"),
            txt("b.example.com", "1"),
            record(
                "a.example.com",
                60,
                RecordData::A {
                    address: "192.0.2.1".parse().unwrap(),
                },
            ),
            txt("x.example.net", "other zone"),
        ];
        assert_eq!(
            zone_text(&records),
            "example.com. 60 IN TXT \"apex\"\n\
             a.example.com. 60 IN A 192.0.2.1\n\
             a.example.com. 60 IN SRV 1 0 80 t.example.com.\n\
             a.example.com. 60 IN TXT \"y\"\n\
             a.example.com. 60 IN TXT \"z\"\n\
             z.a.example.com. 60 IN TXT \"below a\"\n\
             b.example.com. 60 IN TXT \"1\"\n\
             b.example.com. 60 IN TXT \"2\"\n\
             x.example.net. 60 IN TXT \"other zone\"\n"
        );
        assert_eq!(zone_text(&[]), "");
    }
}
