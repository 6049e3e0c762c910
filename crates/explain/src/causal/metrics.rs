//! Scores of a learned causal graph against a known one.

use std::collections::BTreeMap;

use crate::causal::causal_graph::CausalGraph;
use crate::causal::scm::Dag;

/// How one unordered pair (a < b) is joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// a → b.
    Forward,
    /// b → a.
    Backward,
    /// a — b, or conflicting directions.
    Undirected,
}

/// The pairs of an edge list, keyed (smaller, larger); self-loops are ignored and
/// a pair listed with conflicting directions counts as undirected.
fn links(edges: impl Iterator<Item = (usize, usize, bool)>) -> BTreeMap<(usize, usize), Link> {
    let mut out: BTreeMap<(usize, usize), Link> = BTreeMap::new();
    for (a, b, directed) in edges {
        if a == b {
            continue;
        }
        let link = match (directed, a < b) {
            (false, _) => Link::Undirected,
            (true, true) => Link::Forward,
            (true, false) => Link::Backward,
        };
        out.entry((a.min(b), a.max(b)))
            .and_modify(|old| {
                if *old != link {
                    *old = Link::Undirected;
                }
            })
            .or_insert(link);
    }
    out
}

/// Pairs on which two link maps differ (presence or orientation).
fn differing_pairs(
    truth: &BTreeMap<(usize, usize), Link>,
    est: &BTreeMap<(usize, usize), Link>,
) -> usize {
    let in_truth = truth.iter().filter(|(k, l)| est.get(k) != Some(l)).count();
    in_truth + est.keys().filter(|k| !truth.contains_key(k)).count()
}

/// Structural Hamming distance to the true DAG: the number of unordered pairs
/// on which the estimate and the truth differ, counting a missing edge, an
/// extra edge and a wrongly oriented edge as 1 each. An undirected estimated
/// edge counts 1 (the direction was not learned), even where no CI-based
/// method could learn it; [`shd_graphs`] against [`Dag::cpdag`] does not
/// charge those.
pub fn shd(truth: &Dag, est: &CausalGraph) -> usize {
    let t = links(truth.edges.iter().map(|&(a, b)| (a, b, true)));
    differing_pairs(&t, &graph_links(est))
}

/// Structural Hamming distance between two partially directed graphs, e.g. a
/// DAG's CPDAG and PC's output: an undirected edge matches only an undirected one.
pub fn shd_graphs(truth: &CausalGraph, est: &CausalGraph) -> usize {
    differing_pairs(&graph_links(truth), &graph_links(est))
}

fn graph_links(g: &CausalGraph) -> BTreeMap<(usize, usize), Link> {
    links(g.edges.iter().map(|e| (e.from, e.to, e.directed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal::causal_graph::CausalEdge;

    fn graph(edges: &[(usize, usize, bool)]) -> CausalGraph {
        CausalGraph {
            n_vars: 4,
            edges: edges
                .iter()
                .map(|&(from, to, directed)| CausalEdge {
                    from,
                    to,
                    directed,
                    strength: 1.0,
                    p_value: 0.0,
                })
                .collect(),
            tests_run: 0,
        }
    }

    #[test]
    fn counts_missing_extra_reversed_and_undirected() {
        let truth = Dag {
            n: 4,
            edges: vec![(0, 1), (1, 2), (2, 3)],
        };
        assert_eq!(
            shd(&truth, &graph(&[(0, 1, true), (1, 2, true), (2, 3, true)])),
            0
        );
        // 0→1 right, 2→1 reversed, 2—3 undirected, 0→3 extra, nothing missing.
        let est = graph(&[(0, 1, true), (2, 1, true), (2, 3, false), (0, 3, true)]);
        assert_eq!(shd(&truth, &est), 3);
        // Everything missing.
        assert_eq!(shd(&truth, &graph(&[])), 3);
        // Empty truth: every estimated edge is extra.
        assert_eq!(
            shd(
                &Dag {
                    n: 4,
                    edges: vec![]
                },
                &graph(&[(0, 1, false)])
            ),
            1
        );
    }

    #[test]
    fn cpdag_comparison_accepts_unidentifiable_directions() {
        // Chain 0 → 1 → 2: its CPDAG is 0 — 1 — 2, so the undirected estimate scores 0
        // against the CPDAG and 2 against the DAG; a collider 0 → 1 ← 2 scores 2 against both.
        let chain = Dag {
            n: 3,
            edges: vec![(0, 1), (1, 2)],
        };
        let cpdag = chain.cpdag().unwrap();
        let undirected = graph(&[(0, 1, false), (1, 2, false)]);
        assert_eq!(shd_graphs(&cpdag, &undirected), 0);
        assert_eq!(shd(&chain, &undirected), 2);
        let collider = graph(&[(0, 1, true), (2, 1, true)]);
        assert_eq!(shd_graphs(&cpdag, &collider), 2);
        // A collider's CPDAG is the collider itself.
        let v = Dag {
            n: 3,
            edges: vec![(0, 1), (2, 1)],
        };
        assert_eq!(shd_graphs(&v.cpdag().unwrap(), &collider), 0);
    }
}
