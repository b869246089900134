//! Multi-Perspective Issuance Corroboration as Boulder decides it (`va/va.go`,
//! Baseline Requirements §3.2.2.9): after the primary passed, the remote perspectives
//! validate at once; with R of them, R − f must pass (f = 1 for 2–5 remote
//! perspectives, 2 for 6 or more) and the passing ones must span two RIRs.

use serde::Serialize;

/// Boulder's `maxAllowedFailures`.
pub fn max_allowed_failures(remote_perspectives: usize) -> usize {
    match remote_perspectives {
        0 | 1 => 0,
        2..=5 => 1,
        _ => 2,
    }
}

/// Boulder's `requiredRIRs`.
pub const REQUIRED_RIRS: usize = 2;

/// The fewest remote perspectives Boulder works with ("Insufficient remote
/// perspectives: need at least 3").
pub const MIN_REMOTE_PERSPECTIVES: usize = 3;

/// How the remote perspectives decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuorumSummary {
    /// Names of the perspectives that passed.
    pub passed: Vec<String>,
    /// Names of the perspectives that failed.
    pub failed: Vec<String>,
    /// The RIRs of the passing perspectives, sorted.
    pub passed_rirs: Vec<String>,
    /// How many had to pass.
    pub required: usize,
    /// Whether the quorum was met.
    pub met: bool,
}

/// Decides the quorum over `(name, rir, passed)` per remote perspective.
pub fn decide<'a>(results: impl IntoIterator<Item = (&'a str, &'a str, bool)>) -> QuorumSummary {
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    let mut rirs = std::collections::BTreeSet::new();
    for (name, rir, ok) in results {
        if ok {
            passed.push(name.to_owned());
            rirs.insert(rir.to_owned());
        } else {
            failed.push(name.to_owned());
        }
    }
    let total = passed.len() + failed.len();
    let required = total - max_allowed_failures(total);
    let met = passed.len() >= required && rirs.len() >= REQUIRED_RIRS;
    QuorumSummary {
        passed,
        failed,
        passed_rirs: rirs.into_iter().collect(),
        required,
        met,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_requirements_table() {
        assert_eq!(
            (3..=8).map(max_allowed_failures).collect::<Vec<_>>(),
            [1, 1, 1, 2, 2, 2]
        );
    }

    #[test]
    fn one_failure_in_four_passes_two_do_not() {
        let four = |fails: usize| {
            let rirs = ["ARIN", "RIPE", "APNIC", "ARIN"];
            let names = ["r1", "r2", "r3", "r4"];
            decide((0..4).map(|i| (names[i], rirs[i], i >= fails)))
        };
        assert!(four(0).met);
        assert!(four(1).met);
        let two = four(2);
        assert!(!two.met);
        assert_eq!((two.required, two.passed.len()), (3, 2));
    }

    #[test]
    fn passing_perspectives_in_one_rir_are_not_enough() {
        let summary = decide([
            ("r1", "ARIN", true),
            ("r2", "ARIN", true),
            ("r3", "ARIN", true),
        ]);
        assert!(!summary.met);
        assert_eq!(summary.passed_rirs, ["ARIN"]);
    }
}
