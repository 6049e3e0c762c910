//! Background knowledge for PC: what the provenance graph and ATT&CK already
//! tell us about which edges may exist and in which direction.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Prior knowledge that restricts the causal graph.
///
/// Empty vectors mean "nothing known"; otherwise `first_seen` and
/// `tactic_rank` hold one entry per variable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Background {
    /// When each variable first became active (any clock, same for all). An
    /// effect cannot start before its cause, so a → b is forbidden when
    /// `first_seen[b] < first_seen[a]`. Equal times allow both directions.
    pub first_seen: Vec<Option<f64>>,
    /// ATT&CK tactic order of the variable's technique (0 = reconnaissance …
    /// 13 = impact). A later tactic does not cause an earlier one (exfiltration
    /// does not precede discovery), so a → b is forbidden when
    /// `tactic_rank[a] > tactic_rank[b]`.
    pub tactic_rank: Vec<Option<u8>>,
    /// When set, only these unordered pairs may be adjacent (we pass the pairs
    /// joined by an information flow in the reduced graph); `None` allows every pair.
    pub candidate_pairs: Option<Vec<(usize, usize)>>,
    /// Directed edges (from, to) that are never allowed.
    pub forbidden: Vec<(usize, usize)>,
}

impl Background {
    /// Whether the directed edge `from → to` is allowed. A NaN time or a
    /// missing entry forbids nothing.
    pub fn allows(&self, from: usize, to: usize) -> bool {
        if from == to || self.forbidden.contains(&(from, to)) {
            return false;
        }
        !self.time_forbids(from, to) && !self.tactic_forbids(from, to)
    }

    fn time_forbids(&self, from: usize, to: usize) -> bool {
        match (self.first_seen.get(from), self.first_seen.get(to)) {
            (Some(Some(t_from)), Some(Some(t_to))) => t_to < t_from,
            _ => false,
        }
    }

    fn tactic_forbids(&self, from: usize, to: usize) -> bool {
        match (self.tactic_rank.get(from), self.tactic_rank.get(to)) {
            (Some(Some(r_from)), Some(Some(r_to))) => r_from > r_to,
            _ => false,
        }
    }

    /// Checks the knowledge against a dataset of `n_vars` variables.
    ///
    /// # Errors
    /// [`Error::BadArgument`] when a per-variable vector is neither empty nor
    /// `n_vars` long, or a pair names a variable out of range or a self-loop.
    pub fn validate(&self, n_vars: usize) -> Result<()> {
        for (what, len) in [
            ("background.first_seen", self.first_seen.len()),
            ("background.tactic_rank", self.tactic_rank.len()),
        ] {
            if len != 0 && len != n_vars {
                return Err(Error::BadArgument {
                    what,
                    reason: format!("has {len} entries for {n_vars} variables"),
                });
            }
        }
        let pairs = self
            .candidate_pairs
            .iter()
            .flatten()
            .map(|p| ("background.candidate_pairs", p));
        let forbidden = self.forbidden.iter().map(|p| ("background.forbidden", p));
        for (what, &(a, b)) in pairs.chain(forbidden) {
            if a >= n_vars || b >= n_vars || a == b {
                return Err(Error::BadArgument {
                    what,
                    reason: format!("pair ({a}, {b}) is not two distinct variables below {n_vars}"),
                });
            }
        }
        Ok(())
    }

    /// The n×n matrix of allowed directed edges, row = from, computed once so
    /// that PC does not rescan `forbidden` per pair.
    pub(crate) fn allowed_matrix(&self, n_vars: usize) -> Vec<bool> {
        let mut allowed = vec![true; n_vars * n_vars];
        for from in 0..n_vars {
            for to in 0..n_vars {
                let ok =
                    from != to && !self.time_forbids(from, to) && !self.tactic_forbids(from, to);
                if let Some(slot) = allowed.get_mut(from * n_vars + to) {
                    *slot = ok;
                }
            }
        }
        for &(from, to) in &self.forbidden {
            if let Some(slot) = allowed.get_mut(from * n_vars + to) {
                *slot = false;
            }
        }
        allowed
    }

    /// The n×n symmetric matrix of pairs PC starts from: the candidate pairs
    /// (or all pairs), less those whose both directions are forbidden.
    pub(crate) fn initial_adjacency(&self, n_vars: usize, allowed: &[bool]) -> Vec<bool> {
        let mut adj = vec![false; n_vars * n_vars];
        let mut set = |a: usize, b: usize| {
            let either = allowed.get(a * n_vars + b).copied().unwrap_or(false)
                || allowed.get(b * n_vars + a).copied().unwrap_or(false);
            if a != b && either {
                for idx in [a * n_vars + b, b * n_vars + a] {
                    if let Some(slot) = adj.get_mut(idx) {
                        *slot = true;
                    }
                }
            }
        };
        match &self.candidate_pairs {
            Some(pairs) => pairs.iter().for_each(|&(a, b)| set(a, b)),
            None => (0..n_vars).for_each(|a| (a + 1..n_vars).for_each(|b| set(a, b))),
        }
        adj
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_and_tactic_order_forbid_backward_edges() {
        let bg = Background {
            first_seen: vec![Some(1.0), Some(2.0), None, Some(2.0)],
            tactic_rank: vec![Some(7), Some(9), Some(10), Some(3)],
            candidate_pairs: None,
            forbidden: vec![(2, 0)],
        };
        assert!(bg.allows(0, 1));
        assert!(!bg.allows(1, 0), "backward in time");
        assert!(!bg.allows(2, 1), "tactic 10 cannot cause tactic 9");
        assert!(bg.allows(1, 2), "unknown time forbids nothing");
        assert!(!bg.allows(2, 0), "explicitly forbidden");
        assert!(!bg.allows(1, 3), "tactic 9 cannot cause tactic 3");
        assert!(
            bg.allows(3, 1),
            "a time tie and an earlier tactic allow 3 → 1"
        );
        let m = bg.allowed_matrix(4);
        for a in 0..4 {
            for b in 0..4 {
                assert_eq!(m[a * 4 + b], bg.allows(a, b), "{a}→{b}");
            }
        }
    }

    #[test]
    fn pairs_forbidden_both_ways_and_non_candidates_start_absent() {
        let bg = Background {
            first_seen: vec![],
            tactic_rank: vec![],
            candidate_pairs: Some(vec![(0, 1), (1, 2), (2, 0)]),
            forbidden: vec![(0, 1), (1, 0), (2, 0)],
        };
        let allowed = bg.allowed_matrix(4);
        let adj = bg.initial_adjacency(4, &allowed);
        assert!(!adj[1], "0-1 forbidden both ways");
        assert!(adj[4 + 2] && adj[2 * 4 + 1]);
        assert!(adj[2 * 4], "0 → 2 still allowed");
        assert!(!adj[3] && !adj[4 + 3], "not candidates");
    }

    #[test]
    fn validate_rejects_wrong_lengths_and_bad_pairs() {
        let ok = Background::default();
        assert!(ok.validate(3).is_ok());
        let short = Background {
            first_seen: vec![None],
            ..Background::default()
        };
        assert!(short.validate(3).is_err());
        let self_loop = Background {
            forbidden: vec![(1, 1)],
            ..Background::default()
        };
        assert!(self_loop.validate(3).is_err());
        let out_of_range = Background {
            candidate_pairs: Some(vec![(0, 3)]),
            ..Background::default()
        };
        assert!(out_of_range.validate(3).is_err());
    }
}
