//! The acme-srv lab: one command brings up, on loopback, acme-srv's DNS side with a lab
//! zone, the management API, the http-01 relay, the tls-alpn-01 router and (when it is
//! installed) pebble, Let's Encrypt's test CA, with a demo domain whose SRV records
//! point where an ACME client will listen. `acme-srv lab` prints what runs and what to
//! run next; `acme-srv lab --issue lego|certbot` runs the client end to end and reports
//! the certificate. `docs/lab.md` describes it for users.
//!
//! How a lab comes up ([`Lab::start`], in `running.rs`):
//!
//! 1. `dir.rs`: the lab's directory, temporary unless one is given, and the names of
//!    the files in it.
//! 2. `ports.rs`: the ports that must be known before their program starts (acme-srv's
//!    DNS port, pebble's, the ACME client's); everything else binds port 0.
//! 3. `config_file.rs`: the acme-srv configuration (every part on loopback, the lab
//!    zone, loopback targets allowed), checked by acme-srv's own loader.
//! 4. `serve.rs`: `acme-srv serve` as a child process (`child.rs`: output to a log
//!    file, SIGTERM then SIGKILL to stop), ready when its log says so; the addresses it
//!    bound are read back from the log.
//! 5. `demo.rs`: the demo records (`names.rs`) written through the management API
//!    (`api.rs`), and an API key for the user.
//! 6. `pebble.rs`: pebble, validating through the relay and the router and resolving
//!    through acme-srv's DNS, with its HTTPS certificate from `pebble_tls.rs`.
//!
//! Then `summary.rs` says what runs; `acme_client.rs` builds the lego and certbot
//! command lines (shown, or run by [`Lab::issue`]); `certificate.rs` reads the issued
//! certificate; `programs.rs` finds the external programs. [`Lab::stop`] stops
//! everything in reverse order.
//!
//! Nothing here sends traffic beyond loopback: every listener is on 127.0.0.1, every
//! name resolves through the lab's DNS server to 127.0.0.1, and proxy variables are
//! removed from every child's environment. Errors are [`LabError`]; the library prints
//! nothing (the binary does).
#![forbid(unsafe_code)]

mod acme_client;
mod api;
mod certificate;
mod child;
mod config_file;
mod demo;
mod dir;
mod error;
mod names;
mod pebble;
mod pebble_tls;
mod ports;
mod programs;
mod running;
mod serve;
mod summary;

pub use acme_client::{AcmeClient, CLIENT_TIMEOUT, Challenge, ClientRun};
pub use certificate::IssuedCertificate;
pub use config_file::acme_srv_config;
pub use demo::{ClientPorts, DemoRecord};
pub use error::LabError;
pub use names::{CLIENT_HOST, DEMO_DOMAIN, ZONE, http01_owner, tls_alpn01_owner};
pub use pebble::PebbleInfo;
pub use programs::INSTALL_HINT;
pub use running::{Lab, LabOptions};
pub use serve::Addresses;
