//! The newer DNS validation methods and `records export`, through the real binary: a
//! `serve` process with DNS and the API, the `records set-persist`, `set-account-label`
//! and `export` commands, the TXT records read back over DNS with `dig`, and the exported
//! zone text read back by the zone-file parser into the records the API holds.

use std::path::Path;
use std::process::Stdio;
use std::str::FromStr as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::rr::{Name, RData};
use test_support::api_client::call_with_token;
use test_support::binary::AcmeSrv;
use test_support::programs::dig;

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");
const TOKEN: &str = "integration-admin-token";
const ACCOUNT_URI: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/123456789";
/// The account of draft-ietf-acme-dns-account-label's example, and its label.
const DRAFT_ACCOUNT: &str = "https://example.com/acme/acct/ExampleAccount";
const DRAFT_LABEL: &str = "ujmmovf2vn55tgye";
const DIGEST: &str = "gfj9Xq-Rg85nM_aGixU4EM-dbp5e9jXsuQhnqF5zOjI";

/// A config serving zone `methods.test` (with one static record) and the API.
fn write_config(dir: &Path) -> String {
    let path = dir.join("acme-srv.toml");
    let text = format!(
        "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[dns.zones]]\norigin = \"methods.test\"\n\
         records = [\"ns1 300 IN A 127.0.0.1\"]\nsoa = {{ minimum = 5 }}\n\
         [api]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"{TOKEN}\"\n\
         [store]\nurl = \"sqlite://{}/store/acme-srv.sqlite\"\n",
        dir.display()
    );
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Runs `acme-srv records --api … --token … ARGS`; success, standard output and standard
/// error.
async fn records(srv: &AcmeSrv, args: &[&str]) -> (bool, String, String) {
    let api = format!("http://{}", srv.addr("api"));
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(BIN)
            .args(["records", "--api", &api, "--token", TOKEN])
            .args(args)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("the command finished within 60 s")
    .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Polls `dig +short` until it answers `expected` (the DNS side follows the store a few
/// milliseconds after the API answered), within 5 s.
async fn wait_for_answer(srv: &AcmeSrv, name: &str, record_type: &str, expected: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut got = dig::short(srv.addr("dns-udp"), name, record_type, &[])
            .await
            .unwrap();
        got.sort();
        if got == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} {record_type}: {got:?}, expected {expected:?}\n{}",
            srv.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A record as (owner with its trailing dot, TTL, type, data), the data in zone-file
/// presentation with a TXT record's character-strings joined: the form both the API's
/// JSON and a parsed zone file are compared in.
type Comparable = (String, u32, String, String);

fn from_api(record: &serde_json::Value) -> Comparable {
    let field = |name: &str| record[name].as_str().unwrap().to_owned();
    let number = |name: &str| record[name].as_u64().unwrap();
    let absolute = |name: String| {
        if name == "." {
            name
        } else {
            format!("{name}.")
        }
    };
    let record_type = field("type");
    let data = match record_type.as_str() {
        "A" | "AAAA" => field("address"),
        "CNAME" => absolute(field("target")),
        "SRV" => format!(
            "{} {} {} {}",
            number("priority"),
            number("weight"),
            number("port"),
            absolute(field("target"))
        ),
        "TXT" => field("value"),
        other => panic!("unexpected type {other}"),
    };
    (
        format!("{}.", field("owner")),
        u32::try_from(number("ttl")).unwrap(),
        record_type,
        data,
    )
}

fn from_zone_file(record: &hickory_proto::rr::Record) -> Comparable {
    let data = match &record.data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(aaaa) => aaaa.0.to_string(),
        RData::CNAME(cname) => cname.0.to_ascii(),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            srv.target.to_ascii()
        ),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8(part.to_vec()).unwrap())
            .collect(),
        other => panic!("unexpected record {other:?}"),
    };
    (
        record.name.to_ascii(),
        record.ttl,
        record.record_type().to_string(),
        data,
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn challenge_records_are_served_and_export_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let srv = AcmeSrv::start(BIN, &["serve", "--config", &config])
        .await
        .unwrap();

    // dns-persist-01.
    let until = (unix_now() + 90 * 86_400).to_string();
    let (ok, out, err) = records(
        &srv,
        &[
            "set-persist",
            "www.methods.test",
            "--issuer",
            "letsencrypt.org",
            "--account-uri",
            ACCOUNT_URI,
            "--wildcard",
            "--persist-until",
            &until,
            "--ttl",
            "600",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let persist_value =
        format!("letsencrypt.org; accounturi={ACCOUNT_URI}; policy=wildcard; persistUntil={until}");
    let written: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(written["owner"], "_validation-persist.www.methods.test");
    assert_eq!(written["value"], persist_value.as_str());
    wait_for_answer(
        &srv,
        "_validation-persist.www.methods.test",
        "TXT",
        &[&format!("\"{persist_value}\"")],
    )
    .await;

    // dns-account-01: the owner is printed, and served.
    let (ok, out, err) = records(
        &srv,
        &[
            "set-account-label",
            "www.methods.test",
            "--account-uri",
            DRAFT_ACCOUNT,
            "--value",
            DIGEST,
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let owner = format!("_{DRAFT_LABEL}._acme-challenge.www.methods.test");
    assert_eq!(out, format!("{owner}\n"));
    wait_for_answer(&srv, &owner, "TXT", &[&format!("\"{DIGEST}\"")]).await;

    // Refusals are reported, and exit with failure.
    let (ok, out, err) = records(
        &srv,
        &[
            "set-persist",
            "www.methods.test",
            "--issuer",
            "LetsEncrypt.org.",
            "--account-uri",
            ACCOUNT_URI,
        ],
    )
    .await;
    assert!(!ok && out.is_empty(), "{out}{err}");
    assert!(err.contains("422") && err.contains("issuer"), "{err}");

    // More records of every kind the export has to write: an SRV, a TXT with quotes and
    // a backslash, one longer than a character-string, and another zone's name.
    for args in [
        &[
            "set-srv",
            "_acme-challenge._tcp.www.methods.test",
            "--target",
            "client.methods.test",
            "--port",
            "8402",
        ][..],
        &["set-txt", "quoted.methods.test", r#"say "hi" \ bye; (ok)"#],
        &["set-txt", "long.methods.test", &"0123456789".repeat(40)],
    ] {
        let (ok, out, err) = records(&srv, args).await;
        assert!(ok, "{args:?}: {out}{err}");
    }

    let (ok, text, err) = records(&srv, &["export", "methods.test"]).await;
    assert!(ok, "{text}{err}");
    assert!(err.is_empty(), "{err}");
    assert!(
        text.lines()
            .all(|line| line.split(' ').next().unwrap().ends_with('.')),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "_validation-persist.www.methods.test. 600 IN TXT \"{persist_value}\"\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("quoted.methods.test. 60 IN TXT \"say \\\"hi\\\" \\\\ bye; (ok)\"\n"),
        "{text}"
    );

    // Read back by the zone-file parser (under another origin, so nothing relies on it),
    // the lines are the records the API holds.
    let parsed = dns_server::parse_records(&Name::from_str("elsewhere.test.").unwrap(), 1, &text)
        .unwrap_or_else(|error| panic!("{error}: {text}"));
    let mut from_text: Vec<Comparable> = parsed.iter().map(from_zone_file).collect();
    from_text.sort();
    let listed = call_with_token(
        srv.addr("api"),
        "GET",
        "/v1/records?under=methods.test",
        TOKEN,
        None,
    )
    .await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let mut from_api: Vec<Comparable> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(from_api)
        .collect();
    from_api.sort();
    assert_eq!(from_text, from_api, "{text}");
    assert_eq!(from_api.len(), 5, "{from_api:?}");
    // The long TXT value became two character-strings of at most 255 bytes.
    let long = parsed
        .iter()
        .find(|record| record.name.to_ascii() == "long.methods.test.")
        .unwrap();
    let RData::TXT(txt) = &long.data else {
        panic!("{long:?}")
    };
    assert_eq!(
        txt.txt_data
            .iter()
            .map(|part| part.len())
            .collect::<Vec<_>>(),
        [255, 145]
    );
}
