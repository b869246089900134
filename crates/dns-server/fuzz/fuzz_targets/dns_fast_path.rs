//! Fuzz target `dns_fast_path`: arbitrary bytes as a UDP query to the fast path.
//!
//! Asserts: no panic; when the fast path answers, the response is within the UDP limit,
//! has QR set and the query's ID, decodes, and is byte for byte what the general path
//! (`Authority::respond_datagram`) sends for the same datagram.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let query = &data[..data.len().min(common::MAX_UDP_QUERY)];
    let authority = &*common::AUTHORITY;
    let mut fast = Vec::new();
    if !dns_server::fuzzing::fast_path(authority, query, &mut fast) {
        return;
    }
    common::check_response(query, &fast, "fast path");
    let mut general = Vec::new();
    assert!(
        dns_server::fuzzing::general_path(authority, query, common::src(), &mut general),
        "the fast path answered a datagram the general path does not answer"
    );
    assert_eq!(
        fast, general,
        "the fast path's answer differs from the general path's"
    );
});
