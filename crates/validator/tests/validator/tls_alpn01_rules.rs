//! tls-alpn-01, one Boulder rule per test (`va/tlsalpn.go`).

use validator::ProblemKind;

use crate::harness::{
    CertSpec, DOMAIN, accepted, certificate, options, refused, tls_alpn01, tls_server, zone,
};

fn bad_cert(port: u16, msg: &str) -> String {
    format!(
        "Incorrect validation certificate for tls-alpn-01 challenge. Requested {DOMAIN} from \
         127.0.0.1:{port}. {msg}"
    )
}

#[tokio::test]
async fn the_right_certificate_passes_with_sni_and_acme_tls_1() {
    let dns = zone().await;
    let server = tls_server(certificate(&CertSpec::valid()), &["acme-tls/1"]).await;
    accepted(&tls_alpn01(options(&dns, server.port())).await);
    let seen = server.seen_at_least(1).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].host.as_str(), seen[0].path.as_str()),
        (DOMAIN, "acme-tls/1")
    );
}

#[tokio::test]
async fn a_wrong_extension_value_is_refused() {
    let dns = zone().await;
    let spec = CertSpec {
        key_authorization: Some("another.authorization".into()),
        ..CertSpec::valid()
    };
    let server = tls_server(certificate(&spec), &["acme-tls/1"]).await;
    let detail = refused(&tls_alpn01(options(&dns, server.port())).await);
    let prefix = bad_cert(
        server.port(),
        "Received certificate with acmeValidationV1 extension value ",
    );
    assert!(detail.starts_with(&prefix), "{detail}");
    assert!(detail.contains(" but expected "), "{detail}");
}

#[tokio::test]
async fn a_non_critical_extension_is_refused() {
    let dns = zone().await;
    let spec = CertSpec {
        critical: false,
        ..CertSpec::valid()
    };
    let server = tls_server(certificate(&spec), &["acme-tls/1"]).await;
    assert_eq!(
        refused(&tls_alpn01(options(&dns, server.port())).await),
        bad_cert(
            server.port(),
            "Received certificate with acmeValidationV1 extension that is not Critical."
        )
    );
}

#[tokio::test]
async fn two_sans_are_refused() {
    let dns = zone().await;
    let spec = CertSpec {
        names: vec![DOMAIN.into(), "other.example.com".into()],
        ..CertSpec::valid()
    };
    let server = tls_server(certificate(&spec), &["acme-tls/1"]).await;
    let detail = refused(&tls_alpn01(options(&dns, server.port())).await);
    assert!(
        detail.starts_with(&bad_cert(
            server.port(),
            "Received certificate with unexpected identifiers ("
        )),
        "{detail}"
    );
    assert!(
        detail.ends_with("\"wrong number of identifiers\""),
        "{detail}"
    );
    assert!(detail.contains("other.example.com"), "{detail}");
}

#[tokio::test]
async fn a_wrong_alpn_is_refused() {
    let dns = zone().await;
    // A server that speaks only h2 ends the handshake with no_application_protocol.
    let server = tls_server(certificate(&CertSpec::valid()), &["h2"]).await;
    let outcome = tls_alpn01(options(&dns, server.port())).await;
    assert_eq!(
        outcome.problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::Tls)
    );
    assert_eq!(
        refused(&outcome),
        "127.0.0.1: remote error: tls: no application protocol"
    );
    // A server that ignores ALPN completes the handshake without a protocol.
    let silent = tls_server(certificate(&CertSpec::valid()), &[]).await;
    assert_eq!(
        refused(&tls_alpn01(options(&dns, silent.port())).await),
        "Cannot negotiate ALPN protocol \"acme-tls/1\" for tls-alpn-01 challenge"
    );
}

#[tokio::test]
async fn a_missing_extension_and_a_ca_signed_certificate_are_refused() {
    let dns = zone().await;
    let missing = tls_server(
        certificate(&CertSpec {
            key_authorization: None,
            ..CertSpec::valid()
        }),
        &["acme-tls/1"],
    )
    .await;
    assert_eq!(
        refused(&tls_alpn01(options(&dns, missing.port())).await),
        bad_cert(
            missing.port(),
            "Received certificate with unexpected extensions: \"Required extension OID \
             1.3.6.1.5.5.7.1.31 is not present\""
        )
    );
    let signed = tls_server(
        certificate(&CertSpec {
            ca_signed: true,
            ..CertSpec::valid()
        }),
        &["acme-tls/1"],
    )
    .await;
    assert_eq!(
        refused(&tls_alpn01(options(&dns, signed.port())).await),
        bad_cert(
            signed.port(),
            "Received certificate which is not self-signed."
        )
    );
}

#[tokio::test]
async fn a_server_speaking_http_is_named() {
    let dns = zone().await;
    // Like any HTTP server given a ClientHello: an HTTP 400 at once, then close.
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = http.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut stream, _)) = http.accept().await {
            let mut first = [0u8; 512];
            let _ = stream.read(&mut first).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });
    let detail = refused(&tls_alpn01(options(&dns, port)).await);
    server.abort();
    assert_eq!(detail, "127.0.0.1: Server only speaks HTTP, not TLS");
}
