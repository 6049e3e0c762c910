//! PC-Stable with background knowledge: the classical causal-discovery core.
//!
//! Steps: (1) the starting pairs are the candidate pairs (or all pairs) minus
//! those that background knowledge forbids in both directions; (2) the
//! order-independent adjacency search of PC-Stable ([`skeleton`]); (3)
//! orientation ([`orient`]): background knowledge, v-structures, Meek R1–R3.

mod background;
mod orient;
mod skeleton;

use tracing::debug;

pub use background::Background;

use crate::causal::causal_graph::{strength_from_p, CausalEdge, CausalGraph};
use crate::causal::ci::CiTest;
use crate::causal::data::Dataset;
use crate::error::{Error, Result};

/// Settings of [`pc_stable`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PcConfig {
    /// Significance level: a pair is separated when a CI test gives p > alpha.
    pub alpha: f64,
    /// Largest conditioning set tried. 3 keeps the number of tests polynomial
    /// (O(n^(3+2)) at worst) and the discrete tests' tables estimable at the
    /// few hundred samples a short incident gives.
    pub max_cond_size: usize,
    /// Stop after this many CI tests (the neural tester is costly); the pairs
    /// not yet separated then stay as edges. `None`: no limit.
    pub max_tests: Option<usize>,
}

impl Default for PcConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            max_cond_size: 3,
            max_tests: None,
        }
    }
}

/// Learns a causal graph from `data` with PC-Stable (Colombo & Maathuis 2014),
/// restricted and partly oriented by `bg`.
///
/// Edges carry the largest p-value seen for their pair and a strength derived
/// from it ([`strength_from_p`]).
///
/// # Errors
/// [`Error::BadArgument`] for alpha outside (0, 1) or background knowledge
/// that does not fit the dataset; any error of the CI test, and
/// [`Error::BadData`] when the test returns a p-value outside [0, 1].
pub fn pc_stable(
    data: &Dataset,
    test: &dyn CiTest,
    bg: &Background,
    cfg: &PcConfig,
) -> Result<CausalGraph> {
    if !(cfg.alpha > 0.0 && cfg.alpha < 1.0) {
        return Err(Error::BadArgument {
            what: "alpha",
            reason: format!("must be in (0, 1), got {}", cfg.alpha),
        });
    }
    let n = data.n_vars();
    bg.validate(n)?;
    let allowed = bg.allowed_matrix(n);
    let initial = bg.initial_adjacency(n, &allowed);
    let sk = skeleton::learn_skeleton(
        data,
        test,
        initial,
        cfg.alpha,
        cfg.max_cond_size,
        cfg.max_tests,
    )?;
    let mut g = orient::Pdag::from_adjacency(n, &sk.adj);
    orient::apply_background(&mut g, &allowed);
    orient::apply_v_structures(&mut g, &sk.sepsets, &allowed);
    orient::apply_meek_rules(&mut g);

    let mut edges = Vec::new();
    for a in 0..n {
        for b in 0..n {
            let (directed, keep) = if g.directed(a, b) {
                (true, true)
            } else {
                (false, a < b && g.undirected(a, b))
            };
            if !keep {
                continue;
            }
            let p_value = sk.max_p.get(a * n + b).copied().flatten().unwrap_or(1.0);
            edges.push(CausalEdge {
                from: a,
                to: b,
                directed,
                strength: strength_from_p(p_value),
                p_value,
            });
        }
    }
    debug!(
        message = "PC-Stable done.",
        test = test.name(),
        n_vars = n,
        edges = edges.len(),
        directed = edges.iter().filter(|e| e.directed).count(),
        tests_run = sk.tests_run
    );
    Ok(CausalGraph {
        n_vars: n,
        edges,
        tests_run: sk.tests_run,
    })
}
