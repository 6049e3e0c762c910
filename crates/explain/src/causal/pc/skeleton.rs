//! The adjacency phase of PC-Stable (Colombo & Maathuis 2014).
//!
//! At each conditioning size ℓ the neighbour sets are frozen before any edge is
//! removed, and a pair x—y is removed when *some* subset of size ℓ of x's or
//! y's frozen neighbours (less the other endpoint) separates them. Because
//! removal depends only on the existence of such a set among frozen sets, the
//! skeleton does not depend on the order of the variables (original PC updates
//! neighbour sets as it goes, so its output does).

use std::collections::{HashMap, HashSet};

use tracing::{debug, warn};

use crate::causal::ci::CiTest;
use crate::causal::data::Dataset;
use crate::error::{Error, Result};

/// What the adjacency phase learned.
pub(crate) struct Skeleton {
    pub n: usize,
    /// Symmetric n×n adjacency.
    pub adj: Vec<bool>,
    /// Separating set of each removed pair, keyed (smaller, larger). Pairs
    /// absent at the start (background knowledge) have none.
    pub sepsets: HashMap<(usize, usize), Vec<usize>>,
    /// Largest p-value seen per pair (n×n, symmetric), `None` if never tested.
    pub max_p: Vec<Option<f64>>,
    pub tests_run: usize,
}

impl Skeleton {
    pub fn adjacent(&self, a: usize, b: usize) -> bool {
        self.adj.get(a * self.n + b).copied().unwrap_or(false)
    }

    pub fn neighbors(&self, v: usize) -> Vec<usize> {
        (0..self.n).filter(|&u| self.adjacent(v, u)).collect()
    }

    /// Runs one CI test, counts it and checks its p-value.
    pub fn run_test(
        &mut self,
        data: &Dataset,
        test: &dyn CiTest,
        x: usize,
        y: usize,
        set: &[usize],
    ) -> Result<f64> {
        let p = test.test(data, x, y, set)?.p_value;
        self.tests_run += 1;
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::BadData(format!(
                "CI test {} returned p = {p} for {x} ⫫ {y} | {set:?}",
                test.name()
            )));
        }
        Ok(p)
    }

    fn remove(&mut self, a: usize, b: usize, sepset: Vec<usize>) {
        for idx in [a * self.n + b, b * self.n + a] {
            if let Some(slot) = self.adj.get_mut(idx) {
                *slot = false;
            }
        }
        self.sepsets.insert((a.min(b), a.max(b)), sepset);
    }

    fn record_p(&mut self, a: usize, b: usize, p: f64) {
        for idx in [a * self.n + b, b * self.n + a] {
            if let Some(slot) = self.max_p.get_mut(idx) {
                *slot = Some(slot.map_or(p, |old| old.max(p)));
            }
        }
    }
}

/// Runs the adjacency phase from `initial` (symmetric n×n).
pub(crate) fn learn_skeleton(
    data: &Dataset,
    test: &dyn CiTest,
    initial: Vec<bool>,
    alpha: f64,
    max_cond_size: usize,
    max_tests: Option<usize>,
) -> Result<Skeleton> {
    let n = data.n_vars();
    let mut sk = Skeleton {
        n,
        adj: initial,
        sepsets: HashMap::new(),
        max_p: vec![None; n * n],
        tests_run: 0,
    };
    let budget = max_tests.unwrap_or(usize::MAX);
    for level in 0..=max_cond_size {
        let frozen: Vec<Vec<usize>> = (0..n).map(|v| sk.neighbors(v)).collect();
        if frozen.iter().all(|nb| nb.len() <= level) {
            break;
        }
        // The same (pair, set) can come up from both endpoints; test it once.
        let mut done: HashSet<(usize, usize, Vec<usize>)> = HashSet::new();
        for (x, nb_x) in frozen.iter().enumerate() {
            for &y in nb_x {
                if !sk.adjacent(x, y) {
                    continue;
                }
                let pool: Vec<usize> = nb_x.iter().copied().filter(|&v| v != y).collect();
                for set in Combinations::new(&pool, level) {
                    if sk.tests_run >= budget {
                        warn!(
                            message = "CI test budget spent; remaining edges kept untested.",
                            max_tests = budget,
                            level
                        );
                        return Ok(sk);
                    }
                    if !done.insert((x.min(y), x.max(y), set.clone())) {
                        continue;
                    }
                    let p = sk.run_test(data, test, x, y, &set)?;
                    sk.record_p(x, y, p);
                    if p > alpha {
                        sk.remove(x, y, set);
                        break;
                    }
                }
            }
        }
        debug!(
            message = "PC-Stable level done.",
            level,
            edges = sk.adj.iter().filter(|&&a| a).count() / 2,
            tests_run = sk.tests_run
        );
    }
    Ok(sk)
}

/// The size-k subsets of a pool, in lexicographic order of positions.
pub(crate) struct Combinations<'a> {
    pool: &'a [usize],
    positions: Vec<usize>,
    exhausted: bool,
}

impl<'a> Combinations<'a> {
    pub fn new(pool: &'a [usize], k: usize) -> Self {
        Self {
            pool,
            positions: (0..k).collect(),
            exhausted: k > pool.len(),
        }
    }
}

impl Iterator for Combinations<'_> {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        if self.exhausted {
            return None;
        }
        let current: Vec<usize> = self
            .positions
            .iter()
            .filter_map(|&p| self.pool.get(p).copied())
            .collect();
        // Advance: find the rightmost position that can still move right.
        let k = self.positions.len();
        let n = self.pool.len();
        let mut i = k;
        loop {
            if i == 0 {
                self.exhausted = true;
                break;
            }
            i -= 1;
            let limit = n - k + i;
            if let Some(p) = self.positions.get_mut(i) {
                if *p < limit {
                    *p += 1;
                    let start = *p;
                    for (offset, later) in self.positions.iter_mut().skip(i + 1).enumerate() {
                        *later = start + offset + 1;
                    }
                    break;
                }
            }
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_enumerate_every_subset_once() {
        let pool = [3, 5, 7, 9];
        let all: Vec<Vec<usize>> = Combinations::new(&pool, 2).collect();
        assert_eq!(
            all,
            vec![
                vec![3, 5],
                vec![3, 7],
                vec![3, 9],
                vec![5, 7],
                vec![5, 9],
                vec![7, 9]
            ]
        );
        assert_eq!(
            Combinations::new(&pool, 0).collect::<Vec<_>>(),
            vec![Vec::<usize>::new()]
        );
        assert_eq!(Combinations::new(&pool, 4).count(), 1);
        assert_eq!(Combinations::new(&pool, 5).count(), 0);
        assert_eq!(Combinations::new(&[], 0).count(), 1);
    }
}
