//! Fuzz target `redirect_location`: arbitrary text as the `Location` header a validated
//! server sends, judged by Boulder's redirect rules against a fixed http and https base.
//!
//! Asserts: no panic; a followed redirect goes to an http or https URL, on port 80 or
//! 443 (the only ports the rules allow), its host a lowercase name under an
//! IANA-registered TLD or an IP literal; and the judgement does not depend on the base's
//! scheme for an absolute `http://` or `https://` Location.
#![no_main]

use libfuzzer_sys::fuzz_target;
use validator::fuzzing::{redirect, under_iana_tld};

fuzz_target!(|data: &[u8]| {
    let location = String::from_utf8_lossy(data);
    let from_http = redirect(
        "http://www.example.com/.well-known/acme-challenge/t",
        &location,
    );
    let from_https = redirect(
        "https://www.example.com/.well-known/acme-challenge/t",
        &location,
    );
    for followed in [&from_http, &from_https].into_iter().flatten() {
        assert!(
            followed.url.starts_with("http://") || followed.url.starts_with("https://"),
            "{followed:?}"
        );
        assert!(followed.port == 80 || followed.port == 443, "{followed:?}");
        if let Some(name) = &followed.name {
            assert_eq!(name, &name.to_ascii_lowercase());
            assert!(under_iana_tld(name), "{followed:?}");
        }
    }
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        assert_eq!(from_http.is_ok(), from_https.is_ok(), "{location:?}");
    }
});
