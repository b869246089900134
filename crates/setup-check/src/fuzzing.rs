//! Entry points for the cargo-fuzz target in `fuzz/` (feature `fuzzing`, never in a
//! release build): the reader of the HTTP answers the probes get from targets and the
//! relay. Not an API: nothing here is stable.

/// Whether `bytes` hold a whole answer, and the answer's status and body length when
/// they parse (`None` when they do not).
pub fn http_answer(bytes: &[u8]) -> (bool, Option<(u16, usize)>) {
    let complete = crate::http::complete(bytes);
    let parsed = crate::http::parse(bytes)
        .ok()
        .map(|a| (a.status, a.body.len()));
    (complete, parsed)
}
