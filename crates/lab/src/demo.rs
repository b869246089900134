//! The demo domain's records, written through the management API as any user would:
//! the demo domain and the ACME client's host at 127.0.0.1 (pebble connects to the
//! address it finds: the relay's and the router's), and an SRV record for each
//! challenge label pointing at the loopback port where the ACME client will listen.
//! Then an API key that may change the demo domain's records, for the user.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::LabError;
use crate::api::Api;
use crate::names::{CLIENT_HOST, DEMO_DOMAIN, DEMO_TTL, http01_owner, tls_alpn01_owner};

/// The ports where the ACME client will listen, named by the demo's SRV records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientPorts {
    /// The http-01 answer (lego `--http.port`, certbot `--http-01-port`).
    pub http01: u16,
    /// The tls-alpn-01 answer (lego `--tls.port`).
    pub tls_alpn01: u16,
}

/// One record of the demo, as the lab shows it (zone-file style) and writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoRecord {
    /// The owner name.
    pub owner: String,
    /// The type (`A`, `SRV`).
    pub record_type: &'static str,
    /// The data in zone-file form (`127.0.0.1`, `10 0 PORT target.`).
    pub data: String,
    /// The record as the API takes it.
    api_record: Value,
}

/// The demo records for `ports`.
pub(crate) fn records(ports: ClientPorts) -> Vec<DemoRecord> {
    let a = |owner: &str| DemoRecord {
        owner: owner.to_owned(),
        record_type: "A",
        data: "127.0.0.1".to_owned(),
        api_record: json!({"type": "A", "address": "127.0.0.1"}),
    };
    let srv = |owner: String, port: u16| DemoRecord {
        owner,
        record_type: "SRV",
        data: format!("10 0 {port} {CLIENT_HOST}."),
        api_record: json!({
            "type": "SRV", "priority": 10, "weight": 0, "port": port, "target": CLIENT_HOST,
        }),
    };
    vec![
        a(DEMO_DOMAIN),
        a(CLIENT_HOST),
        srv(http01_owner(), ports.http01),
        srv(tls_alpn01_owner(), ports.tls_alpn01),
    ]
}

/// Writes `records` with the admin token, then creates the user's API key (scope: the
/// demo domain and below) and returns its bearer token.
pub(crate) async fn publish(
    api: SocketAddr,
    admin_token: &str,
    records: &[DemoRecord],
) -> Result<String, LabError> {
    let admin = Api::new(api, admin_token);
    for record in records {
        admin
            .replace_rrset(
                &record.owner,
                record.record_type,
                DEMO_TTL,
                vec![record.api_record.clone()],
            )
            .await?;
    }
    admin
        .create_key(DEMO_DOMAIN, "acme-srv lab: the demo domain's records")
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srv_records_point_at_the_client_ports() {
        let records = records(ClientPorts {
            http01: 10_001,
            tls_alpn01: 10_002,
        });
        let lines: Vec<String> = records
            .iter()
            .map(|r| format!("{} {} {}", r.owner, r.record_type, r.data))
            .collect();
        assert_eq!(
            lines,
            [
                "demo.lab.example.com A 127.0.0.1",
                "client.lab.example.com A 127.0.0.1",
                "_acme-challenge._tcp.demo.lab.example.com SRV 10 0 10001 client.lab.example.com.",
                "_acme-tls-alpn._tcp.demo.lab.example.com SRV 10 0 10002 client.lab.example.com.",
            ]
        );
        assert_eq!(records[2].api_record["port"], 10_001);
        assert_eq!(records[3].api_record["target"], CLIENT_HOST);
    }
}
