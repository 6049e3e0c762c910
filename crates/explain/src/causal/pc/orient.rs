//! The orientation phase of PC: background knowledge, then v-structures (the
//! colliders chosen in [`collider`](super::collider)), then Meek's rules R1–R3 until nothing changes.
//!
//! Background knowledge goes first because it is the firmest evidence we have
//! (time order and ATT&CK tactic order come from the logs, not from tests
//! that can err); v-structures that contradict it are dropped rather than
//! allowed to overwrite it.

use tracing::debug;

use crate::causal::causal_graph::{strength_from_p, CausalEdge};

/// A partially directed graph as endpoint marks: `mark[a·n + b]` means the
/// edge between a and b may point into b. Undirected a—b has both marks,
/// a → b only `mark[a·n + b]`, no edge neither.
pub(crate) struct Pdag {
    n: usize,
    mark: Vec<bool>,
}

impl Pdag {
    /// All skeleton edges, undirected.
    pub fn from_adjacency(n: usize, adj: &[bool]) -> Self {
        Self {
            n,
            mark: adj.to_vec(),
        }
    }

    fn has_mark(&self, a: usize, b: usize) -> bool {
        self.mark.get(a * self.n + b).copied().unwrap_or(false)
    }

    pub fn adjacent(&self, a: usize, b: usize) -> bool {
        self.has_mark(a, b) || self.has_mark(b, a)
    }

    pub fn undirected(&self, a: usize, b: usize) -> bool {
        self.has_mark(a, b) && self.has_mark(b, a)
    }

    pub fn directed(&self, a: usize, b: usize) -> bool {
        self.has_mark(a, b) && !self.has_mark(b, a)
    }

    /// Turns undirected a—b into a → b; false (and no change) if a—b is not undirected.
    fn orient(&mut self, a: usize, b: usize) -> bool {
        if !self.undirected(a, b) {
            return false;
        }
        if let Some(slot) = self.mark.get_mut(b * self.n + a) {
            *slot = false;
        }
        true
    }

    /// The graph as sorted [`CausalEdge`]s (undirected ones as smaller → larger),
    /// each with the p-value `p_of(a, b)` and the strength derived from it.
    pub fn edges(&self, p_of: impl Fn(usize, usize) -> f64) -> Vec<CausalEdge> {
        let mut out = Vec::new();
        for a in 0..self.n {
            for b in 0..self.n {
                let directed = self.directed(a, b);
                if !(directed || (a < b && self.undirected(a, b))) {
                    continue;
                }
                let p_value = p_of(a, b);
                out.push(CausalEdge {
                    from: a,
                    to: b,
                    directed,
                    strength: strength_from_p(p_value),
                    p_value,
                });
            }
        }
        out
    }

    fn neighbors(&self, v: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.n).filter(move |&u| self.adjacent(v, u))
    }
}

/// The CPDAG (essential graph) of a DAG given as directed edges: its
/// skeleton, its unshielded colliders, then Meek's rules — the best any method
/// that sees only conditional independences can recover.
pub(crate) fn cpdag_of(n: usize, edges: &[(usize, usize)]) -> Pdag {
    let mut adj = vec![false; n * n];
    let mut parents = vec![Vec::new(); n];
    for &(a, b) in edges {
        for idx in [a * n + b, b * n + a] {
            if let Some(slot) = adj.get_mut(idx) {
                *slot = true;
            }
        }
        if let Some(p) = parents.get_mut(b) {
            p.push(a);
        }
    }
    let mut g = Pdag::from_adjacency(n, &adj);
    for (c, ps) in parents.iter().enumerate() {
        for (i, &a) in ps.iter().enumerate() {
            for &b in ps.iter().skip(i + 1) {
                if !g.adjacent(a, b) {
                    g.orient(a, c);
                    g.orient(b, c);
                }
            }
        }
    }
    apply_meek_rules(&mut g);
    g
}

/// Orients undirected edges whose one direction background knowledge forbids.
/// (Pairs with both directions forbidden never entered the skeleton.)
pub(crate) fn apply_background(g: &mut Pdag, allowed: &[bool]) {
    let n = g.n;
    let ok = |a: usize, b: usize| allowed.get(a * n + b).copied().unwrap_or(false);
    for a in 0..n {
        for b in a + 1..n {
            if !g.undirected(a, b) {
                continue;
            }
            match (ok(a, b), ok(b, a)) {
                (true, false) => {
                    g.orient(a, b);
                }
                (false, true) => {
                    g.orient(b, a);
                }
                _ => {}
            }
        }
    }
}

/// Every unshielded triple a — c — b (a and b not adjacent) as (a, c, b) with
/// a < b, read from the unoriented skeleton so the list does not depend on
/// the order in which colliders are later applied.
pub(crate) fn unshielded_triples(g: &Pdag) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for c in 0..g.n {
        let nb: Vec<usize> = g.neighbors(c).collect();
        for (i, &a) in nb.iter().enumerate() {
            for &b in nb.iter().skip(i + 1) {
                if !g.adjacent(a, b) {
                    out.push((a, c, b));
                }
            }
        }
    }
    out
}

/// Orients a → c ← b for each collider (a, c, b). One is skipped when
/// background knowledge forbids either arrow, or when an earlier orientation
/// already points one of the edges out of c (conflicts are settled in index
/// order, deterministically).
pub(crate) fn apply_v_structures(
    g: &mut Pdag,
    colliders: &[(usize, usize, usize)],
    allowed: &[bool],
) {
    let n = g.n;
    let ok = |a: usize, b: usize| allowed.get(a * n + b).copied().unwrap_or(false);
    let mut skipped = 0usize;
    for &(a, c, b) in colliders {
        let fits =
            |g: &Pdag, from: usize| ok(from, c) && (g.undirected(from, c) || g.directed(from, c));
        if fits(g, a) && fits(g, b) {
            g.orient(a, c);
            g.orient(b, c);
        } else {
            skipped += 1;
        }
    }
    debug!(
        message = "V-structures oriented.",
        found = colliders.len(),
        skipped
    );
}

/// Meek's rules R1–R3 until a fixed point. Each only orients edges that are
/// still undirected, so it never overrides background knowledge or colliders.
pub(crate) fn apply_meek_rules(g: &mut Pdag) {
    let n = g.n;
    loop {
        let mut changed = false;
        for a in 0..n {
            for b in 0..n {
                if !g.undirected(a, b) {
                    continue;
                }
                if meek_r1(g, a, b) || meek_r2(g, a, b) || meek_r3(g, a, b) {
                    changed |= g.orient(a, b);
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// R1: c → a — b with c, b non-adjacent ⇒ a → b (else c → a ← b would be a new collider).
fn meek_r1(g: &Pdag, a: usize, b: usize) -> bool {
    (0..g.n).any(|c| c != b && g.directed(c, a) && !g.adjacent(c, b))
}

/// R2: a → c → b with a — b ⇒ a → b (else a cycle).
fn meek_r2(g: &Pdag, a: usize, b: usize) -> bool {
    (0..g.n).any(|c| g.directed(a, c) && g.directed(c, b))
}

/// R3: a — c → b and a — d → b with c, d non-adjacent, and a — b ⇒ a → b.
fn meek_r3(g: &Pdag, a: usize, b: usize) -> bool {
    let feeders: Vec<usize> = (0..g.n)
        .filter(|&c| c != b && g.undirected(a, c) && g.directed(c, b))
        .collect();
    feeders
        .iter()
        .enumerate()
        .any(|(i, &c)| feeders.iter().skip(i + 1).any(|&d| !g.adjacent(c, d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdag(n: usize, edges: &[(usize, usize)]) -> Pdag {
        let mut adj = vec![false; n * n];
        for &(a, b) in edges {
            adj[a * n + b] = true;
            adj[b * n + a] = true;
        }
        Pdag::from_adjacency(n, &adj)
    }

    #[test]
    fn collider_then_r1_propagates() {
        // 0 — 2 — 1, 2 — 3; sepset(0,1) = {} ⇒ 0 → 2 ← 1, then R1 ⇒ 2 → 3.
        let mut g = pdag(4, &[(0, 2), (1, 2), (2, 3)]);
        assert_eq!(
            unshielded_triples(&g),
            vec![(0, 2, 1), (0, 2, 3), (1, 2, 3)]
        );
        let allowed = vec![true; 16];
        apply_v_structures(&mut g, &[(0, 2, 1)], &allowed);
        assert!(g.directed(0, 2) && g.directed(1, 2));
        assert!(g.undirected(2, 3));
        apply_meek_rules(&mut g);
        assert!(g.directed(2, 3));
    }

    #[test]
    fn r2_avoids_a_cycle() {
        let mut g = pdag(3, &[(0, 1), (1, 2), (0, 2)]);
        g.orient(0, 1);
        g.orient(1, 2);
        apply_meek_rules(&mut g);
        assert!(g.directed(0, 2));
    }

    #[test]
    fn r3_orients_into_the_double_collider() {
        // a=0 adjacent to c=1, d=2, b=3; 1 → 3 ← 2, 1 and 2 non-adjacent.
        let mut g = pdag(4, &[(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)]);
        g.orient(1, 3);
        g.orient(2, 3);
        apply_meek_rules(&mut g);
        assert!(g.directed(0, 3));
        assert!(g.undirected(0, 1) && g.undirected(0, 2));
    }

    #[test]
    fn background_wins_over_a_contradicting_collider() {
        // Time order says 2 → 0 only; the collider 0 → 2 ← 1 is dropped.
        let mut g = pdag(3, &[(0, 2), (1, 2)]);
        let mut allowed = vec![true; 9];
        allowed[2] = false; // 0 → 2 forbidden
        apply_background(&mut g, &allowed);
        assert!(g.directed(2, 0));
        apply_v_structures(&mut g, &[(0, 2, 1)], &allowed);
        assert!(g.directed(2, 0));
        assert!(g.undirected(1, 2));
    }
}
