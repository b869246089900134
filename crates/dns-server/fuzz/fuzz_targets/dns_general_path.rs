//! Fuzz target `dns_general_path`: arbitrary bytes as a UDP datagram to the server's
//! answer paths (fast path, else general path, as the UDP loop does).
//!
//! Asserts: no panic; a response, when one is sent, is within the UDP limit (the client's
//! EDNS size clamped to 512..=4096, else 512), has QR set and the query's ID, and
//! decodes; nothing is sent for a datagram shorter than a header, and a datagram with
//! QR set (a response) gets nothing or, when it does not parse, FORMERR; where the fast path answers, the general path's answer is byte-identical.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let query = &data[..data.len().min(common::MAX_UDP_QUERY)];
    let authority = &*common::AUTHORITY;
    let mut general = Vec::new();
    let answered = dns_server::fuzzing::general_path(authority, query, common::src(), &mut general);
    if query.len() < 12 {
        assert!(
            !answered,
            "answered a datagram shorter than a header: {general:?}"
        );
    }
    if answered {
        common::check_response(query, &general, "general path");
        if query[2] & 0x80 != 0 {
            assert_eq!(
                general[3] & 0x0f,
                1,
                "a response was answered other than FORMERR"
            );
        }
    }
    let mut fast = Vec::new();
    if dns_server::fuzzing::fast_path(authority, query, &mut fast) {
        assert!(
            answered,
            "the fast path answered what the general path does not"
        );
        assert_eq!(
            fast, general,
            "the fast path's answer differs from the general path's"
        );
    }
    assert_eq!(
        dns_server::fuzzing::udp_answer(authority, query, common::src()),
        answered.then_some(general),
        "the UDP loop's choice"
    );
});
