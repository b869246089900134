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

use rand::Rng;

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
    /// Targets to try, in this order.
    Targets(Vec<SrvRecord>),
}

/// Orders `records` as RFC 2782 says, drawing randomness from `rng`.
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
    // Stable sort keeps weight-0 records first inside a group only after the explicit
    // partition below; priority is the only key here.
    usable.sort_by_key(|r| r.priority);

    let mut ordered = Vec::with_capacity(usable.len());
    for group in usable.chunk_by(|a, b| a.priority == b.priority) {
        order_group(group, rng, &mut ordered);
    }
    Selection::Targets(ordered)
}

/// Draws every record of one priority group by weight, appending to `out`.
fn order_group<R: Rng + ?Sized>(group: &[&SrvRecord], rng: &mut R, out: &mut Vec<SrvRecord>) {
    // RFC 2782: weight-0 records go first in the running-sum list, so that they are
    // picked only when the random number is 0.
    let mut remaining: Vec<&SrvRecord> = group.iter().filter(|r| r.weight == 0).copied().collect();
    remaining.extend(group.iter().filter(|r| r.weight > 0).copied());

    while !remaining.is_empty() {
        let total: u32 = remaining.iter().map(|r| u32::from(r.weight)).sum();
        let index = if total == 0 {
            rng.random_range(0..remaining.len())
        } else {
            let has_zero = remaining.iter().any(|r| r.weight == 0);
            // With no weight-0 record the draw starts at 1 so the odds are exactly
            // weight / total; with one, 0 selects the weight-0 records.
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

    #[test]
    fn same_seed_same_order() {
        let records: Vec<_> = (0..8).map(|i| srv(0, 10 + i, &format!("t{i}."))).collect();
        let a = order_targets(&records, &mut StdRng::seed_from_u64(42));
        let b = order_targets(&records, &mut StdRng::seed_from_u64(42));
        assert_eq!(a, b);
    }
}
