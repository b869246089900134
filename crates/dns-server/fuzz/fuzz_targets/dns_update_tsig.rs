//! Fuzz target `dns_update_tsig`: arbitrary bytes as an UPDATE or TSIG-signed message:
//! the TSIG check (against a fixed key), the claimed key, the transfer test, and the
//! prerequisite and update sections parsed for the zone the message names.
//!
//! Asserts: no panic; the parsed sections never hold more entries than the message has
//! records in them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((prerequisites, operations)) = dns_server::fuzzing::update_and_tsig(data) {
        let count = |at: usize| usize::from(u16::from_be_bytes([data[at], data[at + 1]]));
        assert!(prerequisites <= count(6), "more prerequisites than answer records");
        assert!(operations <= count(8), "more operations than authority records");
    }
});
