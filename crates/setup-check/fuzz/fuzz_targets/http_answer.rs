//! Fuzz target `http_answer`: arbitrary bytes as the answer a target or the relay sends
//! to `acme-srv check`'s probe, read as the probe reads it.
//!
//! Asserts: no panic (hostile Content-Length and chunk sizes included); a complete answer
//! parses; a parsed body is never longer than the bytes after the head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use setup_check::fuzzing::http_answer;

fuzz_target!(|data: &[u8]| {
    let (complete, parsed) = http_answer(data);
    if complete {
        assert!(parsed.is_some(), "a complete answer must parse");
    }
    if let Some((_, body_len)) = parsed {
        // The lossy UTF-8 form may grow each bad byte to 3.
        assert!(body_len <= data.len() * 3);
    }
});
