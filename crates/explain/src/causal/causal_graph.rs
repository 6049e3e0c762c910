//! The output of causal discovery: a partially directed graph over the
//! dataset's variables, with the evidence behind each edge.

use serde::{Deserialize, Serialize};

/// Strength 1 is reached at p ≤ 10^-`STRENGTH_FULL_AT_LOG10`.
pub const STRENGTH_FULL_AT_LOG10: f64 = 10.0;

/// One edge of a [`CausalGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CausalEdge {
    /// Cause when `directed`; otherwise the smaller index of the pair.
    pub from: usize,
    /// Effect when `directed`; otherwise the larger index of the pair.
    pub to: usize,
    /// Whether the direction is known (from background knowledge, a
    /// v-structure or Meek's rules). An undirected edge means both
    /// directions fit the data equally well.
    pub directed: bool,
    /// Evidence of dependence in [0, 1], see [`strength_from_p`].
    pub strength: f64,
    /// The largest p-value of any CI test run on this pair: the weakest
    /// evidence of dependence across conditioning sets (1 if none was run).
    pub p_value: f64,
}

/// A CPDAG-like graph (directed and undirected edges) over `n_vars` variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CausalGraph {
    /// Number of variables (node indices are `0..n_vars`, the dataset's column indices).
    pub n_vars: usize,
    /// Edges, sorted by (from, to); at most one per pair of variables.
    pub edges: Vec<CausalEdge>,
    /// Number of CI tests run to learn the graph.
    pub tests_run: usize,
}

/// Edge strength from the pair's largest p-value: −log10(p) / 10, clamped to [0, 1].
///
/// Why this scale: every CI test (Fisher-z, G-test, neural) reports a
/// p-value, so a function of p is the one strength that means the same thing
/// whichever test ran; the statistics and effect sizes do not. Why not
/// 1 − p: every retained edge has p < α, so 1 − p would squeeze all of them
/// into [0.95, 1]. On the log scale an edge at the α = 0.05 border gets 0.13,
/// p = 1e-5 gets 0.5, and p ≤ 1e-10 (a strong link at a few hundred samples)
/// saturates at 1. Because p shrinks with the sample size, strengths rank
/// edges within one graph; across graphs they compare only at similar n.
pub fn strength_from_p(p_value: f64) -> f64 {
    if p_value.is_nan() || p_value >= 1.0 {
        return 0.0;
    }
    let log10 = -p_value.max(f64::MIN_POSITIVE).log10();
    (log10 / STRENGTH_FULL_AT_LOG10).clamp(0.0, 1.0)
}

impl CausalGraph {
    /// Variables with a directed edge into `v`, ascending.
    pub fn parents(&self, v: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .edges
            .iter()
            .filter(|e| e.directed && e.to == v)
            .map(|e| e.from)
            .collect();
        out.sort_unstable();
        out
    }

    /// Variables with a directed edge out of `v`, ascending.
    pub fn children(&self, v: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .edges
            .iter()
            .filter(|e| e.directed && e.from == v)
            .map(|e| e.to)
            .collect();
        out.sort_unstable();
        out
    }

    /// Variables joined to `v` by an undirected edge, ascending.
    pub fn undirected_neighbors(&self, v: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .edges
            .iter()
            .filter(|e| !e.directed && (e.from == v || e.to == v))
            .map(|e| if e.from == v { e.to } else { e.from })
            .collect();
        out.sort_unstable();
        out
    }

    /// The edge between `a` and `b` in either direction, if any.
    pub fn edge_between(&self, a: usize, b: usize) -> Option<&CausalEdge> {
        self.edges
            .iter()
            .find(|e| (e.from == a && e.to == b) || (e.from == b && e.to == a))
    }

    /// The unordered pairs joined by an edge, each as (smaller, larger), sorted.
    pub fn skeleton(&self) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = self
            .edges
            .iter()
            .map(|e| (e.from.min(e.to), e.from.max(e.to)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: usize, to: usize, directed: bool) -> CausalEdge {
        CausalEdge {
            from,
            to,
            directed,
            strength: 1.0,
            p_value: 0.0,
        }
    }

    #[test]
    fn parents_children_and_neighbors_read_the_edge_list() {
        let g = CausalGraph {
            n_vars: 4,
            edges: vec![edge(0, 2, true), edge(1, 2, true), edge(2, 3, false)],
            tests_run: 0,
        };
        assert_eq!(g.parents(2), vec![0, 1]);
        assert_eq!(g.children(0), vec![2]);
        assert!(g.children(3).is_empty());
        assert_eq!(g.undirected_neighbors(3), vec![2]);
        assert!(g.edge_between(3, 2).is_some());
        assert!(g.edge_between(0, 1).is_none());
        assert_eq!(g.skeleton(), vec![(0, 2), (1, 2), (2, 3)]);
    }

    #[test]
    fn strength_is_log_scaled_and_bounded() {
        assert_eq!(strength_from_p(1.0), 0.0);
        assert_eq!(strength_from_p(f64::NAN), 0.0);
        assert!((strength_from_p(1e-5) - 0.5).abs() < 1e-12);
        assert_eq!(strength_from_p(0.0), 1.0);
        assert!(strength_from_p(0.01) < strength_from_p(0.001));
    }
}
