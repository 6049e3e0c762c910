//! Counterfactuals: the smallest set of entities or events whose blocking
//! would have cut every path from a root cause to what it reached.
//!
//! This is a minimum cut in the reduced flow graph, found with max-flow on a
//! node-split graph (each entity is an arc of cost 10, each event an arc of
//! cost 11, the root and the targets cannot be cut). The costs make the cut
//! as small as possible in items and, between cuts of equal size, prefer
//! entities: "block this process" is an action an analyst can take. The
//! answer is then checked the plain way: delete the cut and run reachability
//! again.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde::Serialize;

/// One item of a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", content = "index", rename_all = "snake_case")]
pub enum Blocked {
    /// An entity (index in the graph).
    Entity(usize),
    /// A merged event edge (index in the graph's edges).
    Event(usize),
}

/// A counterfactual: blocking `block` would have kept `root` from reaching `targets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counterfactual {
    /// The root cause.
    pub root: usize,
    /// What it reached (critical assets, or the chain's end).
    pub targets: Vec<usize>,
    /// The smallest set to block.
    pub block: Vec<Blocked>,
    /// True when reachability without `block` confirms that no target is reached.
    pub verified: bool,
}

const ENTITY_COST: u32 = 10;
const EVENT_COST: u32 = 11;
const INF: u32 = u32::MAX / 4;

struct Arc_ {
    to: usize,
    cap: u32,
    item: Option<Blocked>,
}

/// Flow network with residual arcs stored in pairs (arc i and i^1).
struct Network {
    arcs: Vec<Arc_>,
    adj: Vec<Vec<usize>>,
}

impl Network {
    fn new(n: usize) -> Self {
        Self {
            arcs: Vec::new(),
            adj: vec![Vec::new(); n],
        }
    }

    fn add(&mut self, a: usize, b: usize, cap: u32, item: Option<Blocked>) {
        let i = self.arcs.len();
        self.arcs.push(Arc_ { to: b, cap, item });
        self.arcs.push(Arc_ {
            to: a,
            cap: 0,
            item: None,
        });
        if let Some(v) = self.adj.get_mut(a) {
            v.push(i);
        }
        if let Some(v) = self.adj.get_mut(b) {
            v.push(i ^ 1);
        }
    }

    /// Edmonds–Karp; returns the flow, saturating at `limit`.
    fn max_flow(&mut self, s: usize, t: usize, limit: u64) -> u64 {
        let mut flow = 0u64;
        loop {
            let mut prev: Vec<Option<usize>> = vec![None; self.adj.len()];
            let mut q = VecDeque::from([s]);
            let mut seen = vec![false; self.adj.len()];
            if let Some(x) = seen.get_mut(s) {
                *x = true;
            }
            while let Some(v) = q.pop_front() {
                if v == t {
                    break;
                }
                for &ai in self.adj.get(v).into_iter().flatten() {
                    let Some(a) = self.arcs.get(ai) else { continue };
                    if a.cap > 0 && !seen.get(a.to).copied().unwrap_or(true) {
                        if let Some(x) = seen.get_mut(a.to) {
                            *x = true;
                        }
                        if let Some(p) = prev.get_mut(a.to) {
                            *p = Some(ai);
                        }
                        q.push_back(a.to);
                    }
                }
            }
            if !seen.get(t).copied().unwrap_or(false) {
                return flow;
            }
            // Bottleneck along the path.
            let mut bottleneck = u32::MAX;
            let mut v = t;
            while let Some(ai) = prev.get(v).copied().flatten() {
                if let Some(a) = self.arcs.get(ai) {
                    bottleneck = bottleneck.min(a.cap);
                }
                v = self.arcs.get(ai ^ 1).map_or(s, |a| a.to);
            }
            let mut v = t;
            while let Some(ai) = prev.get(v).copied().flatten() {
                if let Some(a) = self.arcs.get_mut(ai) {
                    a.cap -= bottleneck;
                }
                if let Some(a) = self.arcs.get_mut(ai ^ 1) {
                    a.cap = a.cap.saturating_add(bottleneck);
                    v = a.to;
                } else {
                    break;
                }
            }
            flow = flow.saturating_add(u64::from(bottleneck));
            if flow >= limit {
                return flow;
            }
        }
    }

    /// Nodes reachable from `s` in the residual network.
    fn reachable(&self, s: usize) -> Vec<bool> {
        let mut seen = vec![false; self.adj.len()];
        let mut q = VecDeque::from([s]);
        if let Some(x) = seen.get_mut(s) {
            *x = true;
        }
        while let Some(v) = q.pop_front() {
            for &ai in self.adj.get(v).into_iter().flatten() {
                let Some(a) = self.arcs.get(ai) else { continue };
                if a.cap > 0 && !seen.get(a.to).copied().unwrap_or(true) {
                    if let Some(x) = seen.get_mut(a.to) {
                        *x = true;
                    }
                    q.push_back(a.to);
                }
            }
        }
        seen
    }
}

/// Directed edges `(edge index, from, to)` of the graph the cut is taken in.
pub type EdgeList<'a> = &'a [(usize, usize, usize)];

/// The smallest cut between `root` and `targets` in the directed graph
/// `edges` (entity indices are the graph's; only entities on edges matter).
/// `None` when no target is reachable from `root`, or the root is a target.
pub fn min_cut(edges: EdgeList<'_>, root: usize, targets: &[usize]) -> Option<Counterfactual> {
    let targets: BTreeSet<usize> = targets.iter().copied().filter(|&t| t != root).collect();
    if targets.is_empty() || !reaches(edges, root, &targets, &BTreeSet::new()) {
        return None;
    }
    // Local node numbering: entity v -> (2k in, 2k+1 out); sink last.
    let mut local: HashMap<usize, usize> = HashMap::new();
    for &(_, a, b) in edges {
        let n = local.len();
        local.entry(a).or_insert(n);
        let n = local.len();
        local.entry(b).or_insert(n);
    }
    let sink = 2 * local.len();
    let mut net = Network::new(sink + 1);
    for (&v, &k) in &local {
        let cap = if v == root || targets.contains(&v) {
            INF
        } else {
            ENTITY_COST
        };
        let item = (cap != INF).then_some(Blocked::Entity(v));
        net.add(2 * k, 2 * k + 1, cap, item);
        if targets.contains(&v) {
            net.add(2 * k + 1, sink, INF, None);
        }
    }
    for &(ei, a, b) in edges {
        if let (Some(&ka), Some(&kb)) = (local.get(&a), local.get(&b)) {
            net.add(2 * ka + 1, 2 * kb, EVENT_COST, Some(Blocked::Event(ei)));
        }
    }
    let src = 2 * local.get(&root).copied()?;
    let flow = net.max_flow(src, sink, u64::from(INF));
    if flow >= u64::from(INF) {
        return None;
    }
    let side = net.reachable(src);
    let mut block: Vec<Blocked> = Vec::new();
    for (v, list) in net.adj.iter().enumerate() {
        if !side.get(v).copied().unwrap_or(false) {
            continue;
        }
        for &ai in list {
            if ai % 2 == 1 {
                continue; // residual twin
            }
            let Some(a) = net.arcs.get(ai) else { continue };
            if !side.get(a.to).copied().unwrap_or(true) {
                if let Some(item) = a.item {
                    block.push(item);
                }
            }
        }
    }
    block.sort_unstable();
    let verified = !reaches(edges, root, &targets, &block.iter().copied().collect());
    Some(Counterfactual {
        root,
        targets: targets.into_iter().collect(),
        block,
        verified,
    })
}

/// True when some target is reachable from `root` without passing a blocked item.
pub fn reaches(
    edges: EdgeList<'_>,
    root: usize,
    targets: &BTreeSet<usize>,
    blocked: &BTreeSet<Blocked>,
) -> bool {
    let mut out: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    for &(ei, a, b) in edges {
        out.entry(a).or_default().push((ei, b));
    }
    let mut seen = BTreeSet::from([root]);
    let mut q = VecDeque::from([root]);
    while let Some(v) = q.pop_front() {
        for &(ei, w) in out.get(&v).into_iter().flatten() {
            if blocked.contains(&Blocked::Event(ei)) || blocked.contains(&Blocked::Entity(w)) {
                continue;
            }
            if targets.contains(&w) {
                return true;
            }
            if seen.insert(w) {
                q.push_back(w);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diamond_needs_the_shared_entity_only() {
        // 0 -> 1 -> 2 -> {3, 4} -> 5 : blocking 2 suffices.
        let e = [
            (0, 0, 1),
            (1, 1, 2),
            (2, 2, 3),
            (3, 2, 4),
            (4, 3, 5),
            (5, 4, 5),
        ];
        let cf = min_cut(&e, 0, &[5]).unwrap();
        assert_eq!(cf.block.len(), 1);
        assert!(
            matches!(cf.block[0], Blocked::Entity(1) | Blocked::Entity(2)),
            "{cf:?}"
        );
        assert!(cf.verified);
    }

    #[test]
    fn two_disjoint_paths_need_two_items() {
        let e = [(0, 0, 1), (1, 1, 3), (2, 0, 2), (3, 2, 3)];
        let cf = min_cut(&e, 0, &[3]).unwrap();
        assert_eq!(cf.block.len(), 2, "{cf:?}");
        assert!(cf.verified);
    }

    #[test]
    fn direct_edge_is_cut_as_an_event() {
        let e = [(7, 0, 1)];
        let cf = min_cut(&e, 0, &[1]).unwrap();
        assert_eq!(cf.block, vec![Blocked::Event(7)]);
        assert!(cf.verified);
    }

    #[test]
    fn unreachable_target_has_no_counterfactual() {
        let e = [(0, 0, 1), (1, 2, 3)];
        assert!(min_cut(&e, 0, &[3]).is_none());
    }

    #[test]
    fn random_graphs_cuts_always_disconnect() {
        // Deterministic pseudo-random graphs: the cut must verify every time.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200 {
            let n = 3 + (next() % 12) as usize;
            let m = (next() % 40) as usize;
            let edges: Vec<(usize, usize, usize)> = (0..m)
                .map(|i| {
                    (
                        i,
                        (next() % n as u64) as usize,
                        (next() % n as u64) as usize,
                    )
                })
                .filter(|(_, a, b)| a != b)
                .collect();
            let target = n - 1;
            if let Some(cf) = min_cut(&edges, 0, &[target]) {
                assert!(cf.verified, "{edges:?} {cf:?}");
                let out0 = edges.iter().filter(|e| e.1 == 0).count();
                // Cutting every out-edge of the root always works, so the
                // minimum costs no more than that.
                assert!(cf.block.len() * 10 <= out0 * 11, "{edges:?} {cf:?}");
            } else {
                assert!(!reaches(
                    &edges,
                    0,
                    &BTreeSet::from([target]),
                    &BTreeSet::new()
                ));
            }
        }
    }
}
