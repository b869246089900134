//! RFC 2782 target selection: the order in which a client tries the targets of one
//! SRV answer.
//!
//! - Records are grouped by priority, lowest first; a lower-priority group is never
//!   tried after a higher one.
//! - Within a group, targets are drawn one at a time by weight: the chance of being
//!   drawn next is proportional to the weight among the records not yet drawn. A record
//!   of weight 0 is drawn first with a small chance (1 in total weight + 1, RFC 2782's
//!   "very small chance"); when every record of a group has weight 0 they are drawn
//!   uniformly.
//! - A single record whose target is `.` means "decidedly not available here": the
//!   answer is [`Selection::OptOut`] and there is no fallback. A `.` among other
//!   records cannot be connected to and is left out.
//! - At most [`MAX_SRV_RECORDS`] records are ordered: the SRV RRset is chosen by whoever
//!   controls the zone, and each one is a target the relay may try. The usable records
//!   are sorted by priority (a stable sort: records of equal priority stay in answer
//!   order) and those past the cap are dropped, so the lowest priorities are kept.
//!
//! Each draw takes O(log n) steps (a Fenwick tree of the weights not yet drawn), so an
//! answer of n records is ordered in O(n log n). The random numbers drawn are exactly
//! those of the straightforward algorithm (re-summing the remaining weights for every
//! draw), so a seeded random source gives the same order as it did with that one.

use rand::Rng;

/// The most records of one SRV answer that are ordered (and so the most targets tried
/// for one name); the rest, highest priorities first, are dropped.
pub const MAX_SRV_RECORDS: usize = 32;

/// One SRV record's data, as the scheme needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// TCP port on the target.
    pub port: u16,
    /// Target host name, fully qualified; `.` means "no service".
    pub target: String,
}

impl SrvRecord {
    /// Whether this record is the RFC 2782 "no service" marker.
    pub fn is_opt_out(&self) -> bool {
        self.target == "." || self.target.is_empty()
    }
}

/// What an SRV answer says to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The owner said no validation happens here (a lone `.` target).
    OptOut,
    /// Targets to try, in this order; at most [`MAX_SRV_RECORDS`].
    Targets(Vec<SrvRecord>),
}

/// Orders `records` as RFC 2782 says, drawing randomness from `rng`, keeping at most
/// [`MAX_SRV_RECORDS`] of them (the lowest priorities).
///
/// An empty input gives `Selection::Targets(vec![])`: "no record" is the caller's case to
/// handle (it is a different DNS answer from an opt-out).
pub fn order_targets<R: Rng + ?Sized>(records: &[SrvRecord], rng: &mut R) -> Selection {
    if let [only] = records
        && only.is_opt_out()
    {
        return Selection::OptOut;
    }
    let mut usable: Vec<&SrvRecord> = records.iter().filter(|r| !r.is_opt_out()).collect();
    // Stable: records of one priority keep their answer order, which is the order the
    // draw below walks (weight-0 records first, then the others).
    usable.sort_by_key(|r| r.priority);
    usable.truncate(MAX_SRV_RECORDS);

    let mut ordered = Vec::with_capacity(usable.len());
    for group in usable.chunk_by(|a, b| a.priority == b.priority) {
        order_group(group, rng, &mut ordered);
    }
    Selection::Targets(ordered)
}

/// Draws every record of one priority group by weight, appending to `out`.
///
/// RFC 2782 puts the weight-0 records first in the running-sum list, so that they are
/// picked only when the random number is 0. The draw is then:
///
/// - all remaining weights 0: a uniform index among the remaining records;
/// - otherwise a number in `0..=total` (`1..=total` when no weight-0 record remains,
///   so the odds are exactly weight / total): 0 picks the first remaining weight-0
///   record, `d > 0` the first record whose running sum reaches `d`.
///
/// Remaining weight-0 records are kept in a tree of counts (to find the k-th one) and
/// the others in a tree of weights (to find where the running sum reaches `d`); both
/// keep answer order, so the picks are those of the list the RFC describes.
fn order_group<R: Rng + ?Sized>(group: &[&SrvRecord], rng: &mut R, out: &mut Vec<SrvRecord>) {
    let zeros: Vec<&SrvRecord> = group.iter().filter(|r| r.weight == 0).copied().collect();
    let weighted: Vec<&SrvRecord> = group.iter().filter(|r| r.weight > 0).copied().collect();
    let mut zero_tree = Fenwick::new(zeros.iter().map(|_| 1));
    let mut weight_tree = Fenwick::new(weighted.iter().map(|r| u32::from(r.weight)));
    let mut zeros_left = zeros.len();
    let mut total: u32 = weighted.iter().map(|r| u32::from(r.weight)).sum();

    for _ in 0..group.len() {
        // The position in the running-sum list: `Ok(k)` the k-th remaining weight-0
        // record, `Err(d)` the first weighted record whose running sum reaches `d`.
        let pick = if total == 0 {
            // Only weight-0 records remain: uniform.
            Ok(rng.random_range(0..zeros_left))
        } else {
            match rng.random_range(u32::from(zeros_left == 0)..=total) {
                0 => Ok(0),
                draw => Err(draw),
            }
        };
        let record = match pick {
            Ok(k) => {
                zeros_left -= 1;
                zeros[zero_tree.take_reaching(k as u32 + 1)]
            }
            Err(draw) => {
                let i = weight_tree.take_reaching(draw);
                total -= u32::from(weighted[i].weight);
                weighted[i]
            }
        };
        out.push(record.clone());
    }
}

/// A Fenwick (binary indexed) tree over non-negative values, for running sums and for
/// finding where a running sum reaches a value, both in O(log n).
struct Fenwick {
    /// 1-based: `tree[i]` holds the sum of the `i & i.wrapping_neg()` values ending at
    /// `i`; `tree[0]` is unused.
    tree: Vec<u32>,
}

impl Fenwick {
    /// A tree over `values`, built in O(n).
    fn new(values: impl Iterator<Item = u32>) -> Self {
        let mut tree = vec![0];
        tree.extend(values);
        let n = tree.len();
        for i in 1..n {
            let parent = i + (i & i.wrapping_neg());
            if parent < n {
                step();
                tree[parent] += tree[i];
            }
        }
        Self { tree }
    }

    /// The 0-based index of the first value at which the running sum is at least
    /// `target` (which must be between 1 and the total), after which that value is set
    /// to 0.
    fn take_reaching(&mut self, target: u32) -> usize {
        let n = self.tree.len() - 1;
        // Descend: `pos` is the longest prefix whose sum is below `target`.
        let mut pos = 0;
        let mut rest = target;
        let mut bit = if n == 0 { 0 } else { 1 << n.ilog2() };
        while bit > 0 {
            step();
            let next = pos + bit;
            if next <= n && self.tree[next] < rest {
                pos = next;
                rest -= self.tree[next];
            }
            bit >>= 1;
        }
        debug_assert!(pos < n, "target {target} beyond the total");
        // `pos + 1` (1-based) is the value reached; remove it.
        let value = self.value(pos + 1);
        let mut i = pos + 1;
        while i <= n {
            step();
            self.tree[i] -= value;
            i += i & i.wrapping_neg();
        }
        pos
    }

    /// The value at 1-based index `i`.
    fn value(&self, i: usize) -> u32 {
        let mut sum = self.tree[i];
        // Subtract the sums the node covers other than the value itself.
        let stop = i - (i & i.wrapping_neg());
        let mut j = i - 1;
        while j > stop {
            step();
            sum -= self.tree[j];
            j -= j & j.wrapping_neg();
        }
        sum
    }
}

/// Counts one step of tree work, so a test can check that ordering n records takes
/// O(n log n) steps without timing anything.
#[cfg(test)]
fn step() {
    STEPS.with(|s| s.set(s.get() + 1));
}

#[cfg(not(test))]
#[inline(always)]
fn step() {}

#[cfg(test)]
thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    fn srv(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port: 8080,
            target: target.to_owned(),
        }
    }

    #[test]
    fn lone_dot_is_an_opt_out() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            order_targets(&[srv(0, 0, ".")], &mut rng),
            Selection::OptOut
        );
    }

    #[test]
    fn dot_among_others_is_skipped() {
        let mut rng = StdRng::seed_from_u64(1);
        let got = order_targets(&[srv(0, 0, "."), srv(1, 0, "b.")], &mut rng);
        assert_eq!(got, Selection::Targets(vec![srv(1, 0, "b.")]));
    }

    #[test]
    fn empty_answer_gives_no_targets() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(order_targets(&[], &mut rng), Selection::Targets(vec![]));
    }

    #[test]
    fn priorities_come_in_ascending_order() {
        let mut rng = StdRng::seed_from_u64(9);
        let records = [srv(30, 1, "c."), srv(10, 1, "a."), srv(20, 1, "b.")];
        let Selection::Targets(got) = order_targets(&records, &mut rng) else {
            panic!("expected targets")
        };
        let names: Vec<_> = got.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(names, ["a.", "b.", "c."]);
    }

    /// The ordering as it was before the Fenwick trees: the remaining weights summed
    /// again for every draw, O(n²). The reference the new one must match draw for draw.
    fn order_group_quadratic<R: Rng + ?Sized>(
        group: &[&SrvRecord],
        rng: &mut R,
        out: &mut Vec<SrvRecord>,
    ) {
        let mut remaining: Vec<&SrvRecord> =
            group.iter().filter(|r| r.weight == 0).copied().collect();
        remaining.extend(group.iter().filter(|r| r.weight > 0).copied());
        while !remaining.is_empty() {
            let total: u32 = remaining.iter().map(|r| u32::from(r.weight)).sum();
            let index = if total == 0 {
                rng.random_range(0..remaining.len())
            } else {
                let has_zero = remaining.iter().any(|r| r.weight == 0);
                let draw = rng.random_range(u32::from(!has_zero)..=total);
                let mut running = 0u32;
                remaining
                    .iter()
                    .position(|r| {
                        running += u32::from(r.weight);
                        running >= draw
                    })
                    .unwrap_or(remaining.len() - 1)
            };
            out.push(remaining.remove(index).clone());
        }
    }

    /// A group of `n` records with weights from `rng`: a third weight 0, the others
    /// small or up to 65535 (or all 0).
    fn random_group(n: usize, all_zero: bool, rng: &mut StdRng) -> Vec<SrvRecord> {
        (0..n)
            .map(|i| {
                let weight = match rng.random_range(0..6) {
                    _ if all_zero => 0,
                    0 | 1 => 0,
                    2 | 3 => rng.random_range(1..10),
                    _ => rng.random_range(1..=u16::MAX),
                };
                srv(7, weight, &format!("t{i}."))
            })
            .collect()
    }

    /// Orders `group` with `order` and seed `seed`; returns the order and the next
    /// number the random source gives afterwards (so the draws consumed are compared).
    fn run(
        order: fn(&[&SrvRecord], &mut StdRng, &mut Vec<SrvRecord>),
        group: &[SrvRecord],
        seed: u64,
    ) -> (Vec<SrvRecord>, u64) {
        let refs: Vec<&SrvRecord> = group.iter().collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::new();
        order(&refs, &mut rng, &mut out);
        (out, rng.random())
    }

    #[test]
    fn tree_ordering_draws_exactly_as_the_quadratic_ordering() {
        let mut inputs = StdRng::seed_from_u64(2782);
        for case in 0..600u64 {
            let n = match case % 4 {
                0 => inputs.random_range(1..5),
                1 => inputs.random_range(5..40),
                2 => inputs.random_range(40..300),
                _ => inputs.random_range(1..20),
            };
            let group = random_group(n, case % 4 == 3, &mut inputs);
            let seed = inputs.random();
            assert_eq!(
                run(order_group, &group, seed),
                run(order_group_quadratic, &group, seed),
                "case {case}, {n} records"
            );
        }
        // One large group too.
        let group = random_group(2_000, false, &mut inputs);
        assert_eq!(
            run(order_group, &group, 11),
            run(order_group_quadratic, &group, 11)
        );
    }

    #[test]
    fn ordering_10000_records_takes_n_log_n_tree_steps() {
        let mut inputs = StdRng::seed_from_u64(3);
        for all_zero in [false, true] {
            let group = random_group(10_000, all_zero, &mut inputs);
            STEPS.with(|s| s.set(0));
            let (got, _) = run(order_group, &group, 5);
            let steps = STEPS.with(|s| s.get());
            // Each draw descends one tree (14 levels for 10,000) and updates it (at most
            // 14 nodes, plus 14 to read the value): ~42 steps a record; re-summing the
            // remaining weights would be 10,000² / 2 = 50,000,000.
            assert!(steps <= 10_000 * 50, "{steps} steps (all zero: {all_zero})");
            let mut sorted = got.clone();
            sorted.sort_by(|a, b| a.target.cmp(&b.target));
            let mut want = group.clone();
            want.sort_by(|a, b| a.target.cmp(&b.target));
            assert_eq!(sorted, want, "a permutation of the group");
        }
    }

    #[test]
    fn a_huge_rrset_is_capped_to_its_lowest_priorities() {
        // 10,000 records, priorities 999 down to 0, ten records each.
        let records: Vec<_> = (0..10_000u16)
            .map(|i| srv(999 - i % 1000, i % 7, &format!("r{i}.")))
            .collect();
        let mut kept = None;
        for seed in 0..20 {
            let Selection::Targets(got) = order_targets(&records, &mut StdRng::seed_from_u64(seed))
            else {
                panic!("expected targets")
            };
            assert_eq!(got.len(), MAX_SRV_RECORDS);
            assert!(got.windows(2).all(|w| w[0].priority <= w[1].priority));
            // Priorities 0, 1 and 2 whole (30 records), then the first two records of
            // priority 3 in answer order.
            let mut names: Vec<_> = got.iter().map(|r| r.target.clone()).collect();
            names.sort();
            let mut want: Vec<String> = records
                .iter()
                .filter(|r| r.priority <= 2)
                .map(|r| r.target.clone())
                .collect();
            want.extend(["r996.".to_owned(), "r1996.".to_owned()]);
            want.sort();
            assert_eq!(names, want, "seed {seed}");
            // The same records whatever the random source.
            assert_eq!(kept.get_or_insert_with(|| names.clone()), &names);
        }
    }

    #[test]
    fn the_cap_counts_usable_records_only() {
        let mut records = vec![srv(0, 0, ".")];
        records.extend((0..MAX_SRV_RECORDS as u16).map(|i| srv(1, 1, &format!("t{i}."))));
        let Selection::Targets(got) = order_targets(&records, &mut StdRng::seed_from_u64(1)) else {
            panic!("expected targets")
        };
        assert_eq!(got.len(), MAX_SRV_RECORDS);
    }

    #[test]
    fn same_seed_same_order() {
        let records: Vec<_> = (0..8).map(|i| srv(0, 10 + i, &format!("t{i}."))).collect();
        let a = order_targets(&records, &mut StdRng::seed_from_u64(42));
        let b = order_targets(&records, &mut StdRng::seed_from_u64(42));
        assert_eq!(a, b);
    }
}
