//! Fuzz target `challenge_certificate`: arbitrary bytes as the certificate a tls-alpn-01
//! server presents, checked by the validator's certificate rules.
//!
//! Asserts: no panic, whatever the DER; and a certificate that passes for one key
//! authorization fails for another (the digest is really compared).
#![no_main]

use libfuzzer_sys::fuzz_target;
use validator::fuzzing::certificate;

fuzz_target!(|data: &[u8]| {
    let domain = "www.example.com";
    if certificate(data, domain, "token.thumbprint").is_ok() {
        assert!(certificate(data, domain, "token.other").is_err());
    }
});
