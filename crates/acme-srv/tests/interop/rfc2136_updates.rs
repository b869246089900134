//! RFC 2136 UPDATE with TSIG into acme-srv's zone, by the reference clients: `nsupdate`
//! adds and deletes records and its prerequisites are honoured; a wrong MAC, an unknown
//! key, a skewed clock, a name outside the key's scope and a zone not served each get
//! the right rcode and change nothing; certbot's `dns-rfc2136` plugin and lego's
//! `rfc2136` provider each obtain a dns-01 certificate from pebble against acme-srv.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use test_support::binary::AcmeSrv;
use test_support::programs::pebble::{Pebble, PebbleOptions};
use test_support::programs::{self, certbot, dig, lego, nsupdate};

use crate::dns_side::{TOKEN, ZONE, cli, start_dns_and_api};

/// A key (`(name, algorithm, secret)`) made with `acme-srv tsig-keys create`, allowed to
/// change TXT records in `subtree`.
async fn create_key(srv: &AcmeSrv, name: &str, subtree: &str) -> anyhow::Result<Key> {
    let api = format!("http://{}", srv.addr("api"));
    let out = cli(&[
        "tsig-keys",
        "--api",
        &api,
        "--token",
        TOKEN,
        "create",
        "--name",
        name,
        "--subtree",
        subtree,
        "--type",
        "TXT",
    ])
    .await?;
    let line = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("hmac-sha"))
        .with_context(|| format!("no ALGORITHM:NAME:SECRET line in {out}"))?;
    let mut parts = line.splitn(3, ':');
    let (algorithm, key_name, secret) = (
        parts.next().context("algorithm")?,
        parts.next().context("name")?,
        parts.next().context("secret")?,
    );
    Ok((key_name.to_owned(), algorithm.to_owned(), secret.to_owned()))
}

/// A TSIG key as `(name, algorithm, base64 secret)`.
type Key = (String, String, String);

fn as_key(key: &Key) -> (&str, &str, &str) {
    (&key.0, &key.1, &key.2)
}

fn script(server: SocketAddr, body: &str) -> String {
    format!(
        "server {} {}\nzone {ZONE}\n{body}send\n",
        server.ip(),
        server.port()
    )
}

async fn txt(server: SocketAddr, name: &str) -> Vec<String> {
    let mut values: Vec<String> = dig::short(server, name, "TXT", &[])
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.trim_matches('"').to_owned())
        .collect();
    values.sort();
    values
}

/// The serial acme-srv's zone has now.
async fn serial(server: SocketAddr) -> anyhow::Result<u32> {
    let soa = dig::short(server, ZONE, "SOA", &[]).await?;
    soa.first()
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|s| s.parse().ok())
        .context("no SOA serial")
}

/// Waits until TXT `name` at `server` is `wanted` (answers follow the store within a
/// snapshot rebuild).
async fn wait_txt(server: SocketAddr, name: &str, wanted: &[&str]) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = txt(server, name).await;
        if got == wanted {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "TXT {name}: {got:?}, expected {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn nsupdate_adds_deletes_and_honours_prerequisites() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("nsupdate")?;
    programs::require("dig")?;
    let dir = tempfile::tempdir()?;
    let srv = start_dns_and_api(dir.path()).await?;
    let dns = srv.addr("dns-udp");
    let key = create_key(&srv, &format!("nsu.{ZONE}"), &format!("nsu.{ZONE}")).await?;
    let owner = format!("_acme-challenge.www.nsu.{ZONE}");

    nsupdate::run_ok(
        Some(as_key(&key)),
        &script(dns, &format!("update add {owner} 60 TXT \"first\"\n")),
    )
    .await?;
    wait_txt(dns, &owner, &["first"]).await?;

    // "RRset does not exist" fails now: YXRRSET, nothing added.
    let refused = nsupdate::run(
        Some(as_key(&key)),
        &script(
            dns,
            &format!("prereq nxrrset {owner} TXT\nupdate add {owner} 60 TXT \"second\"\n"),
        ),
    )
    .await?;
    ensure!(
        !refused.success && refused.output.contains("YXRRSET"),
        "{}",
        refused.output
    );
    // "RRset exists" holds: the second value is added.
    nsupdate::run_ok(
        Some(as_key(&key)),
        &script(
            dns,
            &format!("prereq yxrrset {owner} TXT\nupdate add {owner} 60 TXT \"second\"\n"),
        ),
    )
    .await?;
    wait_txt(dns, &owner, &["first", "second"]).await?;
    // A value-dependent prerequisite that does not match: NXRRSET.
    let refused = nsupdate::run(
        Some(as_key(&key)),
        &script(
            dns,
            &format!("prereq yxrrset {owner} TXT \"other\"\nupdate delete {owner} TXT\n"),
        ),
    )
    .await?;
    ensure!(
        !refused.success && refused.output.contains("NXRRSET"),
        "{}",
        refused.output
    );
    nsupdate::run_ok(
        Some(as_key(&key)),
        &script(dns, &format!("update delete {owner} TXT \"first\"\n")),
    )
    .await?;
    wait_txt(dns, &owner, &["second"]).await?;
    nsupdate::run_ok(
        Some(as_key(&key)),
        &script(dns, &format!("update delete {owner} TXT\n")),
    )
    .await?;
    wait_txt(dns, &owner, &[]).await?;
    Ok(())
}

#[tokio::test]
async fn refused_updates_get_their_rcode_and_change_nothing() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    programs::require("nsupdate")?;
    programs::require("dig")?;
    let dir = tempfile::tempdir()?;
    let srv = start_dns_and_api(dir.path()).await?;
    let dns = srv.addr("dns-udp");
    let key = create_key(&srv, &format!("scoped.{ZONE}"), &format!("scoped.{ZONE}")).await?;
    let before = serial(dns).await?;
    let inside = format!("_acme-challenge.scoped.{ZONE}");
    let add_inside = script(dns, &format!("update add {inside} 60 TXT \"x\"\n"));

    let cases: Vec<(&str, Option<Key>, String, &str)> = vec![
        (
            "a wrong MAC",
            Some((
                key.0.clone(),
                key.1.clone(),
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            )),
            add_inside.clone(),
            "BADSIG",
        ),
        (
            "an unknown key",
            Some((format!("nobody.{ZONE}"), key.1.clone(), key.2.clone())),
            add_inside.clone(),
            "BADKEY",
        ),
        ("no key at all", None, add_inside.clone(), "REFUSED"),
        (
            "a name outside the key's scope",
            Some(key.clone()),
            script(
                dns,
                &format!("update add _acme-challenge.other.{ZONE} 60 TXT \"x\"\n"),
            ),
            "REFUSED",
        ),
        (
            "a type outside the key's scope",
            Some(key.clone()),
            script(dns, &format!("update add a.scoped.{ZONE} 60 A 192.0.2.1\n")),
            "REFUSED",
        ),
        (
            "a zone not served",
            Some(key.clone()),
            format!(
                "server {} {}\nzone elsewhere.test\nupdate add x.elsewhere.test 60 TXT \"x\"\nsend\n",
                dns.ip(),
                dns.port()
            ),
            "NOTAUTH",
        ),
    ];
    for (what, key, script, expected) in cases {
        let outcome = nsupdate::run(key.as_ref().map(as_key), &script).await?;
        ensure!(
            !outcome.success && outcome.output.contains(expected),
            "{what}: expected {expected}, nsupdate said:\n{}",
            outcome.output
        );
    }
    // A skewed clock: a correctly signed update dated an hour ago gets BADTIME.
    let answer = skewed_update(dns, &key, &inside).await?;
    ensure!(answer.contains("BADTIME"), "skewed clock: {answer}");
    ensure!(
        serial(dns).await? == before,
        "a refused update changed the zone"
    );
    ensure!(txt(dns, &inside).await.is_empty());
    Ok(())
}

/// Sends an UPDATE signed with `key` as of an hour ago over TCP; the answer's rcode and
/// TSIG error, as text.
async fn skewed_update(
    server: SocketAddr,
    key: &(String, String, String),
    owner: &str,
) -> anyhow::Result<String> {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut message = Message::new(4242, MessageType::Query, OpCode::Update);
    message.add_query(Query::query(
        Name::from_ascii(format!("{ZONE}."))?,
        RecordType::SOA,
    ));
    message.add_authority(Record::from_rdata(
        Name::from_ascii(format!("{owner}."))?,
        60,
        RData::TXT(TXT::new(vec!["late".into()])),
    ));
    let mut wire = message.to_vec()?;
    let secret = base64::engine::general_purpose::STANDARD.decode(&key.2)?;
    let tsig_key = dns_server::tsig::TsigKey::new(&Name::from_ascii(&key.0)?, &key.1, secret)
        .map_err(anyhow::Error::msg)?;
    let signed = dns_server::tsig::Signed {
        key: tsig_key,
        request_mac: Vec::new(),
    };
    dns_server::tsig::ResponseSigner::new_request(&signed).sign(
        &mut wire,
        dns_server::tsig::unix_now() - 3600,
        None,
        &[],
    );
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    let mut framed = u16::try_from(wire.len())?.to_be_bytes().to_vec();
    framed.extend_from_slice(&wire);
    stream.write_all(&framed).await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut answer).await?;
    let answer = Message::from_vec(&answer)?;
    let tsig_error = answer
        .signature()
        .and_then(|s| s.data.error)
        .map(|e| format!("{e:?}"))
        .unwrap_or_default();
    Ok(format!(
        "{} {}",
        answer.metadata.response_code,
        tsig_error.to_ascii_uppercase()
    ))
}

async fn pebble_for(srv: &AcmeSrv) -> anyhow::Result<Pebble> {
    Pebble::start(PebbleOptions {
        http_port: programs::free_tcp_port(),
        tls_port: programs::free_tcp_port(),
        dns_server: srv.addr("dns-udp"),
    })
    .await
}

/// The RFC 2136 clients that obtain a certificate here.
#[derive(Clone, Copy)]
enum Client {
    Certbot,
    Lego,
}

/// `client` obtains a dns-01 certificate for `<name>.acme.test` from pebble, writing its
/// TXT record into acme-srv by RFC 2136 with a key scoped to that challenge name.
async fn obtain_by_rfc2136(client: Client) -> anyhow::Result<()> {
    let name = match client {
        Client::Certbot => "certbot",
        Client::Lego => "lego",
    };
    programs::require(name)?;
    let dir = tempfile::tempdir()?;
    let srv = start_dns_and_api(dir.path()).await?;
    let domain = format!("{name}.{ZONE}");
    let key = create_key(
        &srv,
        &format!("{name}-key.{ZONE}"),
        &format!("_acme-challenge.{domain}"),
    )
    .await?;
    let pebble = pebble_for(&srv).await?;
    let dns = srv.addr("dns-udp");
    let cert = match client {
        Client::Certbot => certbot::obtain_dns01_rfc2136(&pebble, &domain, dns, as_key(&key)).await,
        Client::Lego => lego::obtain_dns01_rfc2136(&pebble, &domain, dns, as_key(&key)).await,
    }
    .map_err(|e| {
        e.context(format!(
            "--- acme-srv ---\n{}\n--- pebble ---\n{}",
            srv.log_text(),
            pebble.output()
        ))
    })?;
    crate::harness::assert_certificate_for(&cert, &domain)?;
    // The record went in by UPDATE, signed with the key.
    let line = srv
        .wait_for_log("dns update", Duration::from_secs(5))
        .await?;
    ensure!(
        line.contains(&key.0) && line.contains("rcode=No Error"),
        "{line}"
    );
    Ok(())
}

#[tokio::test]
async fn certbot_dns_rfc2136_gets_a_certificate() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    obtain_by_rfc2136(Client::Certbot).await
}

#[tokio::test]
async fn lego_rfc2136_gets_a_certificate() -> anyhow::Result<()> {
    if programs::interop_opted_out() {
        return Ok(());
    }
    obtain_by_rfc2136(Client::Lego).await
}
