//! Property tests for RFC 2782 ordering: priority is never violated, weighted choice
//! follows the weights, weight 0 is handled as RFC 2782 says.

use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use srv_scheme::{Selection, SrvRecord, order_targets};

fn record() -> impl Strategy<Value = SrvRecord> {
    (0u16..4, 0u16..100, 1u16..=65535, 0u8..20).prop_map(|(priority, weight, port, n)| SrvRecord {
        priority,
        weight,
        port,
        target: format!("t{n}.test."),
    })
}

fn targets(selection: Selection) -> Vec<SrvRecord> {
    match selection {
        Selection::Targets(t) => t,
        Selection::OptOut => panic!("unexpected opt-out"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Output is a permutation of the input, sorted by priority.
    #[test]
    fn priority_is_never_violated(records in prop::collection::vec(record(), 1..12), seed: u64) {
        let got = targets(order_targets(&records, &mut StdRng::seed_from_u64(seed)));
        prop_assert!(got.windows(2).all(|w| w[0].priority <= w[1].priority));
        let mut a = records.clone();
        let mut b = got.clone();
        a.sort_by(|x, y| (x.priority, x.weight, x.port, &x.target).cmp(&(y.priority, y.weight, y.port, &y.target)));
        b.sort_by(|x, y| (x.priority, x.weight, x.port, &x.target).cmp(&(y.priority, y.weight, y.port, &y.target)));
        prop_assert_eq!(a, b);
    }
}

/// How often each record is drawn first over `draws` seeded draws.
fn first_pick_frequencies(records: &[SrvRecord], draws: u64) -> Vec<f64> {
    let mut counts = vec![0u64; records.len()];
    for seed in 0..draws {
        let got = targets(order_targets(records, &mut StdRng::seed_from_u64(seed)));
        let i = records
            .iter()
            .position(|r| *r == got[0])
            .expect("drawn record is an input");
        counts[i] += 1;
    }
    counts
        .into_iter()
        .map(|c| c as f64 / draws as f64)
        .collect()
}

/// Weighted choice matches the weights within 1.5 percentage points over 40,000 draws
/// (the standard error at p = 0.5 is 0.25 points, so this is six sigma).
#[test]
fn weighted_choice_matches_weights() {
    let weights = [60u16, 30, 10];
    let records: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| SrvRecord {
            priority: 5,
            weight: w,
            port: 80,
            target: format!("w{i}."),
        })
        .collect();
    let freq = first_pick_frequencies(&records, 40_000);
    for (f, w) in freq.iter().zip(weights) {
        let expected = f64::from(w) / 100.0;
        assert!(
            (f - expected).abs() < 0.015,
            "frequency {f} for weight {w}, expected {expected}"
        );
    }
}

/// RFC 2782: with weights > 0 present, a weight-0 record has "a very small chance" of
/// being drawn first: here 1 in (total weight + 1) = 1/101.
#[test]
fn weight_zero_has_a_small_chance_among_weighted() {
    let records = vec![
        SrvRecord {
            priority: 0,
            weight: 0,
            port: 80,
            target: "zero.".into(),
        },
        SrvRecord {
            priority: 0,
            weight: 100,
            port: 80,
            target: "heavy.".into(),
        },
    ];
    let freq = first_pick_frequencies(&records, 40_000);
    assert!(freq[0] > 0.0, "weight 0 must still be drawn sometimes");
    assert!(
        (freq[0] - 1.0 / 101.0).abs() < 0.004,
        "weight-0 frequency {}",
        freq[0]
    );
}

/// All weights 0: every record is equally likely to come first.
#[test]
fn all_zero_weights_are_uniform() {
    let records: Vec<_> = (0..4)
        .map(|i| SrvRecord {
            priority: 0,
            weight: 0,
            port: 80,
            target: format!("z{i}."),
        })
        .collect();
    for f in first_pick_frequencies(&records, 40_000) {
        assert!((f - 0.25).abs() < 0.015, "frequency {f}, expected 0.25");
    }
}

/// A lower-priority group is exhausted before any record of the next group, whatever
/// the weights.
#[test]
fn heavy_weights_never_jump_priority() {
    let records = vec![
        SrvRecord {
            priority: 20,
            weight: 65535,
            port: 80,
            target: "backup.".into(),
        },
        SrvRecord {
            priority: 10,
            weight: 0,
            port: 80,
            target: "primary.".into(),
        },
    ];
    for seed in 0..2_000 {
        let got = targets(order_targets(&records, &mut StdRng::seed_from_u64(seed)));
        assert_eq!(got[0].target, "primary.");
    }
}
