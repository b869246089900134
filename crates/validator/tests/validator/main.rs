//! The validator against crafted targets on loopback, one module per topic: each of
//! Boulder's rules accepted or refused exactly as Boulder would, with its reason.

mod harness;
mod honour_srv;
mod http01_rules;
mod perspectives;
mod tls_alpn01_rules;
