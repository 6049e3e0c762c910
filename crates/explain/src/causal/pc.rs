//! PC-Stable with background knowledge: the classical causal-discovery core.
//!
//! Steps: (1) the starting pairs are the candidate pairs (or all pairs) minus
//! those that background knowledge forbids in both directions; (2) the
//! order-independent adjacency search of PC-Stable ([`skeleton`]); (3)
//! orientation ([`orient`]): background knowledge, v-structures (decided by
//! [`ColliderRule`]), Meek R1–R3.

mod background;
mod collider;
mod orient;
mod skeleton;

use tracing::debug;

pub use background::Background;
pub use collider::ColliderRule;

use crate::causal::causal_graph::CausalGraph;
use crate::causal::ci::CiTest;
use crate::causal::data::Dataset;
use crate::error::{Error, Result};

/// The CPDAG (Markov equivalence class) of a DAG with edges `(cause, effect)`
/// over `n` nodes: what PC recovers at best without background knowledge.
/// Edges carry p = 0 and strength 1. Edges out of range are ignored.
pub(crate) fn cpdag(n: usize, edges: &[(usize, usize)]) -> CausalGraph {
    CausalGraph {
        n_vars: n,
        edges: orient::cpdag_of(n, edges).edges(|_, _| 0.0),
        tests_run: 0,
    }
}

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
    /// How unshielded triples are judged colliders; the majority rule (the
    /// default) costs extra tests but orients far fewer wrong colliders.
    pub collider_rule: ColliderRule,
}

impl Default for PcConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            max_cond_size: 3,
            max_tests: None,
            collider_rule: ColliderRule::default(),
        }
    }
}

/// Learns a causal graph from `data` with PC-Stable (Colombo & Maathuis 2014),
/// restricted and partly oriented by `bg`.
///
/// Edges carry the largest p-value seen for their pair and a strength derived
/// from it ([`strength_from_p`](crate::causal::causal_graph::strength_from_p)).
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
    let mut sk = skeleton::learn_skeleton(
        data,
        test,
        initial,
        cfg.alpha,
        cfg.max_cond_size,
        cfg.max_tests,
    )?;
    let mut g = orient::Pdag::from_adjacency(n, &sk.adj);
    orient::apply_background(&mut g, &allowed);
    let triples = orient::unshielded_triples(&g);
    let colliders = match cfg.collider_rule {
        ColliderRule::Sepset => collider::by_sepset(&triples, &sk.sepsets),
        ColliderRule::Majority => collider::by_majority(
            &triples,
            &mut sk,
            data,
            test,
            cfg.alpha,
            cfg.max_cond_size,
            cfg.max_tests.unwrap_or(usize::MAX),
        )?,
    };
    orient::apply_v_structures(&mut g, &colliders, &allowed);
    orient::apply_meek_rules(&mut g);

    let edges = g.edges(|a, b| sk.max_p.get(a * n + b).copied().flatten().unwrap_or(1.0));
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
