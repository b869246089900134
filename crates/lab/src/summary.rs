//! What `acme-srv lab` prints once the lab is up: what runs where, the demo records,
//! the credentials, and the exact commands to run next.
//!
//! The address lines begin with a fixed word (`dns`, `api`, `relay`, `router`,
//! `metrics`, `pebble`, `files`) followed by the address, so scripts can read them.

use std::fmt::Write as _;

use crate::acme_client::{AcmeClient, Challenge};
use crate::names::{CLIENT_HOST, DEMO_DOMAIN, DEMO_TTL, ZONE, http01_owner};
use crate::programs::INSTALL_HINT;
use crate::running::{Lab, http_url};

impl Lab {
    /// The text shown when the lab is up (several lines, ending in a newline).
    pub fn summary(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_summary(&mut text);
        text
    }

    fn write_summary(&self, out: &mut String) -> std::fmt::Result {
        let addresses = self.addresses();
        writeln!(
            out,
            "acme-srv lab is up; everything listens on 127.0.0.1 only.\n"
        )?;
        writeln!(
            out,
            "  dns      {}   (UDP and TCP; zone {ZONE})",
            addresses.dns
        )?;
        writeln!(out, "  api      {}", http_url(addresses.api))?;
        writeln!(
            out,
            "  relay    {}   (http-01; pebble's httpPort)",
            addresses.relay
        )?;
        writeln!(
            out,
            "  router   {}   (tls-alpn-01; pebble's tlsPort)",
            addresses.router
        )?;
        writeln!(out, "  metrics  {}/metrics", http_url(addresses.admin))?;
        match self.pebble() {
            Some(pebble) => writeln!(
                out,
                "  pebble   {}   (its HTTPS CA: {})",
                pebble.directory_url,
                pebble.ca_cert.display()
            )?,
            None => writeln!(
                out,
                "  pebble   not installed: no CA runs, so no certificate can be issued \
                 (install it with `{INSTALL_HINT}` and start the lab again)"
            )?,
        }
        let kept = if self.dir_is_temporary() {
            "removed when the lab stops"
        } else {
            "kept"
        };
        writeln!(out, "  files    {}   ({kept})", self.dir().display())?;

        writeln!(
            out,
            "\nDemo domain {DEMO_DOMAIN}; its records, written through the API:"
        )?;
        for record in self.records() {
            writeln!(
                out,
                "  {}. {DEMO_TTL} IN {} {}",
                record.owner, record.record_type, record.data
            )?;
        }
        writeln!(out, "\nAdmin token: {}", self.admin_token())?;
        writeln!(
            out,
            "API key:     {}   (may change {DEMO_DOMAIN} and the names below it)",
            self.api_key()
        )?;

        writeln!(out, "\nNext, in another terminal:")?;
        writeln!(out, "  # the SRV record the relay follows")?;
        writeln!(
            out,
            "  dig @{} -p {} +short {} SRV",
            addresses.dns.ip(),
            addresses.dns.port(),
            http01_owner()
        )?;
        let runs = [
            (
                AcmeClient::Lego,
                Challenge::Http01,
                "lego, http-01 through the relay",
            ),
            (
                AcmeClient::Lego,
                Challenge::TlsAlpn01,
                "lego, tls-alpn-01 through the router",
            ),
            (
                AcmeClient::Certbot,
                Challenge::Http01,
                "certbot, http-01 through the relay",
            ),
        ];
        for (client, challenge, what) in runs {
            if let Ok(Some(run)) = self.client_run(client, challenge) {
                writeln!(out, "  # a certificate with {what}")?;
                writeln!(out, "  {}", run.shell_line())?;
            }
        }
        if self.pebble().is_none() {
            writeln!(
                out,
                "  # install pebble and an ACME client, then start the lab again\n  {INSTALL_HINT}"
            )?;
        }
        writeln!(
            out,
            "  # send http-01 validations elsewhere (the client must then listen there)"
        )?;
        writeln!(
            out,
            "  acme-srv records --api {} --token {} set-srv {} --target {CLIENT_HOST} --port {} --ttl {DEMO_TTL}",
            http_url(addresses.api),
            self.api_key(),
            http01_owner(),
            self.client_ports().http01
        )?;
        writeln!(out, "\nacme-srv's log: {}", self.acme_srv_log().display())?;
        writeln!(out, "Ctrl-C stops the lab.")
    }
}
