//! Zones from `[[dns.zones]]`: static `records` lines, defaults and zone files, served
//! beside the stored records.

use hickory_proto::rr::{RData, RecordType};

use crate::harness::{Following, dns_config, txt};

#[tokio::test]
async fn static_records_from_the_configuration_are_served() {
    let following = Following::start(
        r#"
[[dns.zones]]
origin = "acme.test"
records = [
    "ns1      300 IN A     192.0.2.53",
    "client       IN A     10.0.20.5",
    "_acme-challenge._tcp.www 60 IN SRV 10 0 8402 client",
    "@       3600 IN CAA   0 issue \"letsencrypt.org\"",
]
"#,
    )
    .await;

    let ns1 = following.served("ns1.acme.test.", RecordType::A).unwrap();
    assert_eq!(ns1[0].ttl, 300);
    assert_eq!(ns1[0].data, RData::A("192.0.2.53".parse().unwrap()));
    let client = following
        .served("client.acme.test.", RecordType::A)
        .unwrap();
    assert_eq!(
        client[0].ttl,
        zone_sync::STATIC_RECORD_DEFAULT_TTL,
        "a line without a TTL gets the default"
    );
    let srv = following
        .served("_acme-challenge._tcp.www.acme.test.", RecordType::SRV)
        .unwrap();
    let RData::SRV(srv) = &srv[0].data else {
        panic!("{:?}", srv[0].data)
    };
    assert_eq!(
        srv.target.to_ascii(),
        "client.acme.test.",
        "relative to the origin"
    );
    assert!(following.served("acme.test.", RecordType::CAA).is_some());
    following.stop().await;
}

#[tokio::test]
async fn static_and_stored_records_at_one_name_are_one_rrset() {
    let following = Following::start(
        "[[dns.zones]]\norigin = \"acme.test\"\nrecords = [\"info 60 IN TXT static\"]\n",
    )
    .await;
    following
        .store
        .add_record(&txt("info.acme.test", "stored"))
        .await
        .unwrap();
    following.caught_up().await;

    assert_eq!(
        following.txt_values("info.acme.test."),
        ["static", "stored"]
    );

    following
        .store
        .delete_records("info.acme.test", None)
        .await
        .unwrap();
    following.caught_up().await;
    assert_eq!(
        following.txt_values("info.acme.test."),
        ["static"],
        "deleting the stored record leaves the static one"
    );
    following.stop().await;
}

#[tokio::test]
async fn a_line_with_a_blank_owner_continues_the_line_before() {
    let following = Following::start(
        "[[dns.zones]]\norigin = \"acme.test\"\nrecords = [\"multi 60 IN TXT one\", \"   60 IN TXT two\"]\n",
    )
    .await;
    assert_eq!(following.txt_values("multi.acme.test."), ["one", "two"]);
    following.stop().await;
}

#[tokio::test]
async fn the_defaults_give_ns1_and_hostmaster_under_the_origin() {
    let following = Following::start("[[dns.zones]]\norigin = \"Acme.Test.\"\n").await;

    let ns = following.served("acme.test.", RecordType::NS).unwrap();
    assert_eq!(ns.len(), 1);
    assert_eq!(ns[0].data.to_string(), "ns1.acme.test.");
    let soa = following.served("acme.test.", RecordType::SOA).unwrap();
    let RData::SOA(soa) = &soa[0].data else {
        panic!("{:?}", soa[0].data)
    };
    assert_eq!(soa.mname.to_ascii(), "ns1.acme.test.");
    assert_eq!(soa.rname.to_ascii(), "hostmaster.acme.test.");
    following.stop().await;
}

#[tokio::test]
async fn records_lines_add_to_a_zone_file() {
    let dir = tempfile::tempdir().unwrap();
    let zone_file = dir.path().join("acme.test.zone");
    std::fs::write(
        &zone_file,
        "$TTL 300\n@ IN SOA ns.acme.test. hostmaster.acme.test. 1 3600 600 86400 60\n@ IN NS ns.acme.test.\nfromfile IN TXT file\n",
    )
    .unwrap();
    let following = Following::start(&format!(
        "[[dns.zones]]\norigin = \"acme.test\"\nzone_file = {:?}\nrecords = [\"fromconfig IN TXT config\"]\n",
        zone_file.display().to_string()
    ))
    .await;

    assert_eq!(following.txt_values("fromfile.acme.test."), ["file"]);
    assert_eq!(following.txt_values("fromconfig.acme.test."), ["config"]);
    let ns = following.served("acme.test.", RecordType::NS).unwrap();
    assert_eq!(ns[0].data.to_string(), "ns.acme.test.");
    following.stop().await;
}

#[test]
fn origins_are_given_as_the_api_compares_names() {
    let dns = dns_config("[[dns.zones]]\norigin = \"Acme.Test.\"\n");
    assert_eq!(zone_sync::origin_text(&dns.zones[0].origin), "acme.test");
    let specs = zone_sync::zone_specs(&dns).unwrap();
    assert_eq!(specs[0].origin.to_ascii(), "acme.test.");
}
