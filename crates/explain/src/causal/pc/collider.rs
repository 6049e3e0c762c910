//! Which unshielded triples a — c — b are colliders a → c ← b.
//!
//! Plain PC calls a triple a collider when c is missing from the one
//! separating set the adjacency search happened to find for (a, b). With
//! finite samples that set is often a small spurious one (a path whose
//! effects nearly cancel makes a ⫫ b look true given ∅), and one wrong
//! collider is then spread by Meek's rules. The majority rule of Colombo &
//! Maathuis (2014, "MPC") instead tests a ⫫ b given every subset (up to
//! `max_cond_size`) of a's and of b's neighbours in the final skeleton and
//! calls the triple a collider only when c lies in fewer than half of the
//! separating sets found; exactly half is ambiguous and left unoriented. The
//! decision then depends neither on the variable order nor on luck in the
//! adjacency search, for a few extra tests per non-adjacent pair.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use super::skeleton::{Combinations, Skeleton};
use crate::causal::ci::CiTest;
use crate::causal::data::Dataset;
use crate::error::Result;

/// How PC decides that an unshielded triple is a collider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColliderRule {
    /// c is not in the separating set found by the adjacency search (original PC).
    Sepset,
    /// c is in fewer than half of all separating sets among the neighbours
    /// (Colombo & Maathuis 2014); costs extra tests, orients far fewer wrong colliders.
    #[default]
    Majority,
}

/// Colliders by the original rule: c missing from sepset(a, b). Pairs without a
/// separating set (removed by background knowledge, never tested) give none.
pub(crate) fn by_sepset(
    triples: &[(usize, usize, usize)],
    sepsets: &HashMap<(usize, usize), Vec<usize>>,
) -> Vec<(usize, usize, usize)> {
    triples
        .iter()
        .copied()
        .filter(|&(a, c, b)| {
            sepsets
                .get(&(a.min(b), a.max(b)))
                .is_some_and(|sep| !sep.contains(&c))
        })
        .collect()
}

/// Colliders by the majority rule (see the module documentation). The
/// adjacency search's own separating set always takes part in the vote, so a
/// pair whose new tests all reject (or that the test budget cuts short)
/// falls back to the original rule.
pub(crate) fn by_majority(
    triples: &[(usize, usize, usize)],
    sk: &mut Skeleton,
    data: &Dataset,
    test: &dyn CiTest,
    alpha: f64,
    max_cond_size: usize,
    budget: usize,
) -> Result<Vec<(usize, usize, usize)>> {
    // The middle nodes of each non-adjacent pair, so each pair's sets are tested once.
    let mut middles: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for &(a, c, b) in triples {
        middles.entry((a.min(b), a.max(b))).or_default().push(c);
    }
    let mut colliders = Vec::new();
    let mut ambiguous = 0usize;
    let mut budget_hit = false;
    for (&(a, b), cs) in &middles {
        let Some(found) = sk.sepsets.get(&(a, b)).cloned() else {
            continue;
        };
        let mut separating: HashSet<Vec<usize>> = HashSet::from([sorted(found)]);
        let mut tried: HashSet<Vec<usize>> = HashSet::new();
        for (end, other) in [(a, b), (b, a)] {
            let pool: Vec<usize> = sk
                .neighbors(end)
                .into_iter()
                .filter(|&v| v != other)
                .collect();
            for size in 0..=max_cond_size.min(pool.len()) {
                for set in Combinations::new(&pool, size) {
                    if !tried.insert(set.clone()) || separating.contains(&set) {
                        continue;
                    }
                    if sk.tests_run >= budget {
                        budget_hit = true;
                        break;
                    }
                    if sk.run_test(data, test, a, b, &set)? > alpha {
                        separating.insert(set);
                    }
                }
            }
        }
        let total = separating.len();
        for &c in cs {
            let with_c = separating.iter().filter(|s| s.contains(&c)).count();
            match (2 * with_c).cmp(&total) {
                std::cmp::Ordering::Less => colliders.push((a, c, b)),
                std::cmp::Ordering::Equal => ambiguous += 1,
                std::cmp::Ordering::Greater => {}
            }
        }
    }
    if budget_hit {
        warn!(
            message = "CI test budget spent during collider votes; some votes used fewer sets.",
            max_tests = budget
        );
    }
    debug!(
        message = "Collider votes done.",
        triples = triples.len(),
        colliders = colliders.len(),
        ambiguous,
        tests_run = sk.tests_run
    );
    // Same order as the triples themselves (by middle node), for a deterministic application order.
    colliders.sort_unstable_by_key(|&(a, c, b)| (c, a, b));
    Ok(colliders)
}

fn sorted(mut set: Vec<usize>) -> Vec<usize> {
    set.sort_unstable();
    set
}
