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

fn merge(old: Option<Link>, new: Link) -> Link {
    match old {
        Some(old) if old != new => Link::Undirected,
        _ => new,
    }
}

/// Structural Hamming distance: the number of unordered pairs on which the
/// estimate and the truth differ, counting a missing edge, an extra edge and
/// a wrongly oriented edge as 1 each. An undirected estimated edge where the
/// truth has a directed one counts 1 (the direction was not learned).
pub fn shd(truth: &Dag, est: &CausalGraph) -> usize {
    let mut t: BTreeMap<(usize, usize), Link> = BTreeMap::new();
    for &(a, b) in &truth.edges {
        if a == b {
            continue;
        }
        let key = (a.min(b), a.max(b));
        let link = if a < b { Link::Forward } else { Link::Backward };
        let merged = merge(t.get(&key).copied(), link);
        t.insert(key, merged);
    }
    let mut e: BTreeMap<(usize, usize), Link> = BTreeMap::new();
    for edge in &est.edges {
        let (a, b) = (edge.from, edge.to);
        if a == b {
            continue;
        }
        let key = (a.min(b), a.max(b));
        let link = match (edge.directed, a < b) {
            (false, _) => Link::Undirected,
            (true, true) => Link::Forward,
            (true, false) => Link::Backward,
        };
        let merged = merge(e.get(&key).copied(), link);
        e.insert(key, merged);
    }
    let mut distance = 0;
    for (key, link) in &t {
        match e.get(key) {
            Some(est_link) if est_link == link && *link != Link::Undirected => {}
            _ => distance += 1,
        }
    }
    distance + e.keys().filter(|k| !t.contains_key(k)).count()
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
}
