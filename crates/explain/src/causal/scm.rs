//! Structural causal models for simulation: random DAGs and data sampled from
//! them, so causal discovery can be scored against a known truth.

use crate::causal::causal_graph::CausalGraph;
use crate::causal::data::Dataset;
use crate::causal::rng::Rng;
use crate::error::{Error, Result};

/// A directed acyclic graph over nodes `0..n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    /// Number of nodes.
    pub n: usize,
    /// Directed edges (cause, effect).
    pub edges: Vec<(usize, usize)>,
}

/// Edge weights of the linear-Gaussian model: |w| uniform in this range, random sign.
pub const GAUSSIAN_WEIGHT_RANGE: (f64, f64) = (0.5, 2.0);
/// Baseline log-rate of the count model, uniform in this range: mean counts
/// e^-1.5 ≈ 0.22 to e^0.5 ≈ 1.6 per bin with no active parent, so most bins are 0.
pub const COUNT_BASE_LOG_RATE: (f64, f64) = (-1.5, 0.5);
/// Effect of a parent in the count model: |w| uniform in this range, random sign.
pub const COUNT_WEIGHT_RANGE: (f64, f64) = (0.5, 1.5);
/// Standard deviation of the per-bin Gaussian noise on the log-rate. It makes
/// counts overdispersed and bursty (a mixture of Poissons, like busy and quiet
/// bins of a real process) rather than plain Poisson.
pub const COUNT_LOG_RATE_NOISE_SD: f64 = 0.5;
/// Cap on the log-rate (e^7 ≈ 1100 events per bin) so chains of positive
/// effects cannot explode.
pub const COUNT_MAX_LOG_RATE: f64 = 7.0;

impl Dag {
    /// A random DAG whose topological order is the index order: each pair
    /// i < j gets the edge i → j with probability `expected_degree / (n − 1)`,
    /// so a node has `expected_degree` neighbours on average.
    ///
    /// # Errors
    /// [`Error::BadArgument`] when `expected_degree` is negative, not finite or above n − 1.
    pub fn random(n: usize, expected_degree: f64, rng: &mut Rng) -> Result<Self> {
        let max_degree = n.saturating_sub(1) as f64;
        if !(expected_degree.is_finite() && (0.0..=max_degree.max(0.0)).contains(&expected_degree))
        {
            return Err(Error::BadArgument {
                what: "expected_degree",
                reason: format!(
                    "must be in [0, {max_degree}] for {n} nodes, got {expected_degree}"
                ),
            });
        }
        let p = if n > 1 {
            expected_degree / max_degree
        } else {
            0.0
        };
        let mut edges = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                if rng.bernoulli(p) {
                    edges.push((i, j));
                }
            }
        }
        Ok(Self { n, edges })
    }

    /// The DAG's Markov equivalence class as a [`CausalGraph`] (edges with
    /// p = 0, strength 1): the target PC can reach from data alone, so
    /// `shd_graphs(&dag.cpdag()?, &est)` separates discovery errors from
    /// directions no CI-based method can learn.
    ///
    /// # Errors
    /// [`Error::BadArgument`] for an invalid DAG (edge out of range, cycle).
    pub fn cpdag(&self) -> Result<CausalGraph> {
        self.topological_order()?;
        Ok(crate::causal::pc::cpdag(self.n, &self.edges))
    }

    /// Parents of `v`, in edge order.
    pub fn parents(&self, v: usize) -> Vec<usize> {
        self.edges
            .iter()
            .filter(|e| e.1 == v)
            .map(|e| e.0)
            .collect()
    }

    /// A topological order (Kahn's algorithm, smallest ready index first).
    ///
    /// # Errors
    /// [`Error::BadArgument`] when an edge leaves `0..n` or the graph has a cycle.
    pub fn topological_order(&self) -> Result<Vec<usize>> {
        let mut indegree = vec![0usize; self.n];
        let mut children = vec![Vec::new(); self.n];
        for &(a, b) in &self.edges {
            match (children.get_mut(a), indegree.get_mut(b)) {
                (Some(ch), Some(d)) if a != b => {
                    ch.push(b);
                    *d += 1;
                }
                _ => {
                    return Err(Error::BadArgument {
                        what: "dag.edges",
                        reason: format!(
                            "edge ({a}, {b}) is not between two distinct nodes below {}",
                            self.n
                        ),
                    })
                }
            }
        }
        let mut ready: std::collections::BTreeSet<usize> = (0..self.n)
            .filter(|&v| indegree.get(v) == Some(&0))
            .collect();
        let mut order = Vec::with_capacity(self.n);
        while let Some(v) = ready.pop_first() {
            order.push(v);
            for &c in children.get(v).map_or(&[][..], Vec::as_slice) {
                if let Some(d) = indegree.get_mut(c) {
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(c);
                    }
                }
            }
        }
        if order.len() != self.n {
            return Err(Error::BadArgument {
                what: "dag.edges",
                reason: "the graph has a cycle".to_string(),
            });
        }
        Ok(order)
    }
}

/// A weight with uniform magnitude in `range` and a random sign.
fn signed_weight(rng: &mut Rng, range: (f64, f64)) -> f64 {
    let magnitude = rng.uniform_in(range.0, range.1);
    if rng.bernoulli(0.5) {
        magnitude
    } else {
        -magnitude
    }
}

/// Samples `n_samples` rows from `dag` where each node is generated from its
/// parents' values in topological order by `node_value(rng, Σ w·f(parent))`.
fn sample_with(
    dag: &Dag,
    n_samples: usize,
    rng: &mut Rng,
    weight_range: (f64, f64),
    parent_signal: fn(f64) -> f64,
    mut node_value: impl FnMut(&mut Rng, usize, f64) -> f64,
) -> Result<Dataset> {
    let order = dag.topological_order()?;
    // Weights are drawn in edge order so the same DAG and seed give the same model.
    let weighted: Vec<(usize, usize, f64)> = dag
        .edges
        .iter()
        .map(|&(a, b)| (a, b, signed_weight(rng, weight_range)))
        .collect();
    let mut columns = vec![vec![0.0; n_samples]; dag.n];
    for &v in &order {
        let inputs: Vec<(usize, f64)> = weighted
            .iter()
            .filter(|e| e.1 == v)
            .map(|e| (e.0, e.2))
            .collect();
        let mut col = vec![0.0; n_samples];
        for (row, slot) in col.iter_mut().enumerate() {
            let signal: f64 = inputs
                .iter()
                .map(|&(p, w)| {
                    let x = columns
                        .get(p)
                        .and_then(|c| c.get(row))
                        .copied()
                        .unwrap_or(0.0);
                    w * parent_signal(x)
                })
                .sum();
            *slot = node_value(rng, v, signal);
        }
        if let Some(target) = columns.get_mut(v) {
            *target = col;
        }
    }
    let names = (0..dag.n).map(|i| format!("x{i}")).collect();
    Dataset::new(columns, names)
}

/// Linear-Gaussian data: x_v = Σ w_pv x_p + ε_v, ε ~ N(0, 1), weights ±U[0.5, 2].
///
/// # Errors
/// [`Error::BadArgument`] for an invalid DAG (edge out of range, cycle).
pub fn sample_linear_gaussian(dag: &Dag, n_samples: usize, rng: &mut Rng) -> Result<Dataset> {
    sample_with(
        dag,
        n_samples,
        rng,
        GAUSSIAN_WEIGHT_RANGE,
        |x| x,
        |rng, _, signal| signal + rng.normal(),
    )
}

/// Bursty count data mimicking per-bin activity counts:
/// x_v ~ Poisson(exp(b_v + Σ w_pv ln(1 + x_p) + σ ε)), with b_v ~ U[−1.5, 0.5],
/// weights ±U[0.5, 1.5], σ = 0.5 and the log-rate capped at 7.
///
/// Parents enter as ln(1 + count): the log-rate is linear in the parents'
/// (log-scaled) activity, so a burst of a parent multiplies the child's rate
/// by a power of the burst size instead of compounding exponentially down a chain.
///
/// # Errors
/// [`Error::BadArgument`] for an invalid DAG (edge out of range, cycle).
pub fn sample_counts(dag: &Dag, n_samples: usize, rng: &mut Rng) -> Result<Dataset> {
    let base: Vec<f64> = (0..dag.n)
        .map(|_| rng.uniform_in(COUNT_BASE_LOG_RATE.0, COUNT_BASE_LOG_RATE.1))
        .collect();
    sample_with(
        dag,
        n_samples,
        rng,
        COUNT_WEIGHT_RANGE,
        f64::ln_1p,
        |rng, v, signal| {
            let b = base.get(v).copied().unwrap_or(0.0);
            let log_rate =
                (b + signal + COUNT_LOG_RATE_NOISE_SD * rng.normal()).min(COUNT_MAX_LOG_RATE);
            rng.poisson(log_rate.exp()) as f64
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_dag_is_forward_and_has_the_expected_density() {
        let mut rng = Rng::seed_from_u64(5);
        let mut total = 0;
        for _ in 0..50 {
            let dag = Dag::random(20, 2.0, &mut rng).unwrap();
            assert!(dag.edges.iter().all(|&(a, b)| a < b));
            total += dag.edges.len();
        }
        // Expected 20 edges per DAG (n·degree/2); sd of the 50-DAG mean ≈ 0.6.
        let mean = total as f64 / 50.0;
        assert!((mean - 20.0).abs() < 2.5, "mean edges {mean}");
        assert!(Dag::random(5, -1.0, &mut rng).is_err());
        assert!(Dag::random(5, 5.0, &mut rng).is_err());
        assert_eq!(Dag::random(1, 0.0, &mut rng).unwrap().edges, vec![]);
    }

    #[test]
    fn topological_order_rejects_cycles_and_bad_edges() {
        let dag = Dag {
            n: 3,
            edges: vec![(2, 0), (0, 1)],
        };
        assert_eq!(dag.topological_order().unwrap(), vec![2, 0, 1]);
        assert!(Dag {
            n: 3,
            edges: vec![(0, 1), (1, 0)]
        }
        .topological_order()
        .is_err());
        assert!(Dag {
            n: 3,
            edges: vec![(0, 3)]
        }
        .topological_order()
        .is_err());
        assert!(Dag {
            n: 3,
            edges: vec![(1, 1)]
        }
        .topological_order()
        .is_err());
    }

    #[test]
    fn samplers_are_seeded_and_shaped() {
        let dag = Dag {
            n: 3,
            edges: vec![(0, 1), (1, 2)],
        };
        let a = sample_linear_gaussian(&dag, 100, &mut Rng::seed_from_u64(1)).unwrap();
        let b = sample_linear_gaussian(&dag, 100, &mut Rng::seed_from_u64(1)).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.n_samples(), a.n_vars()), (100, 3));
        let c = sample_counts(&dag, 500, &mut Rng::seed_from_u64(2)).unwrap();
        let x0 = c.column(0).unwrap();
        assert!(x0.iter().all(|v| *v >= 0.0 && v.fract() == 0.0));
        let zeros = x0.iter().filter(|v| **v == 0.0).count();
        assert!(zeros > 50, "counts should be sparse, {zeros} zeros of 500");
    }
}
