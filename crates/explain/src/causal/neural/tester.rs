//! The trained tester: network plus the null scores that turn its logit
//! into a p-value.
//!
//! p-value: with the `N` sorted scores of simulated null cases (held out
//! from training) of the same [`Stratum`] as the tested data,
//! `p = (1 + #{null ≥ s}) / (N + 1)`. For a case drawn like the null
//! simulation of its stratum this is a valid (conservative, discrete)
//! p-value whatever the network learnt; training buys power. Strata (count
//! or continuous data × |Z|) exist because the network scores nulls of
//! different kinds differently — continuous nulls with nonlinear links
//! through Z leave more residual dependence than sparse counts — and one
//! pooled null would over-reject the one and under-reject the other. Off
//! the simulated distribution the guarantee is only as good as the
//! simulation's coverage, which is why `compare` measures type-I error on
//! held-out cases.

use serde::{Deserialize, Serialize};

use crate::causal::ci::{CiOutcome, CiTest};
use crate::causal::data::Dataset;
use crate::causal::neural::features::{
    ci_features, DISTINCT_FRACTION_X, FEATURE_DIM, FEATURE_SCHEMA,
};
use crate::causal::neural::infer::DenseNetwork;
use crate::causal::neural::model::CiNetwork;
use crate::causal::neural::train::NeuralCiConfig;
use crate::error::Result;

/// Name of this file kind in the checkpoint metadata.
pub const CHECKPOINT_KIND: &str = "causaldefend-neural-ci";
/// Version of the metadata layout.
pub const CHECKPOINT_VERSION: u32 = 1;
/// Conditioning sets of this size or more share a stratum.
pub const STRATUM_MAX_Z: usize = 3;
/// A stratum with fewer null scores is calibrated against all of them
/// (its own p-values would be too coarse).
pub const MIN_STRATUM_NULLS: usize = 200;
/// A column whose distinct values are at most this share of its samples
/// counts as discrete (activity counts: mostly zeros and small integers).
pub const DISCRETE_DISTINCT_FRACTION: f64 = 0.5;

/// The calibration group of a test: discrete or continuous X/Y, and |Z|
/// (capped at [`STRATUM_MAX_Z`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stratum {
    /// X or Y is discrete (see [`DISCRETE_DISTINCT_FRACTION`]).
    pub discrete: bool,
    /// |Z|, capped.
    pub z_size: usize,
}

impl Stratum {
    /// The stratum of a test from its feature vector (which holds X's and
    /// Y's distinct-value fractions) and |Z|: one computation serves both
    /// calibration and testing, so they cannot disagree.
    pub fn from_features(features: &[f32], z_size: usize) -> Self {
        let discrete = |i: usize| {
            features
                .get(i)
                .is_some_and(|f| f64::from(*f) <= DISCRETE_DISTINCT_FRACTION)
        };
        Self {
            discrete: discrete(DISTINCT_FRACTION_X) || discrete(DISTINCT_FRACTION_X + 1),
            z_size: z_size.min(STRATUM_MAX_Z),
        }
    }
}

/// Null scores of one stratum, ascending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NullScores {
    /// Which tests they calibrate.
    pub stratum: Stratum,
    /// Network scores of that stratum's calibration null cases, ascending.
    pub scores: Vec<f32>,
}

/// Losses after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean training loss (binary cross-entropy).
    pub train_loss: f64,
    /// Loss on the validation cases.
    pub validation_loss: f64,
    /// Share of validation cases classified right at logit 0.
    pub validation_accuracy: f64,
}

/// What the tester was trained and calibrated on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Cases fitted.
    pub train_cases: usize,
    /// Cases validated on (best epoch chosen by their loss).
    pub validation_cases: usize,
    /// Real activity series given.
    pub real_series_given: usize,
    /// Of those, long enough to cut cases from.
    pub real_series_used: usize,
    /// SHA-256 over the given series.
    pub real_series_digest: String,
    /// Loss history.
    pub history: Vec<EpochMetrics>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
}

/// Everything in a checkpoint besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeuralCiMeta {
    /// Always [`CHECKPOINT_KIND`].
    pub kind: String,
    /// Metadata layout version.
    pub version: u32,
    /// Feature schema the network was trained on.
    pub feature_schema: String,
    /// Feature vector length.
    pub feature_dim: usize,
    /// Hyper-parameters and simulation settings.
    pub config: NeuralCiConfig,
    /// Scores of the calibration null cases, per stratum.
    pub null_scores: Vec<NullScores>,
    /// Training record.
    pub training: TrainingSummary,
    /// Program and version that wrote the file.
    pub created_by: String,
}

impl NeuralCiMeta {
    /// Metadata for `config` under this build's feature schema.
    pub fn new(config: NeuralCiConfig) -> Self {
        Self {
            kind: CHECKPOINT_KIND.to_owned(),
            version: CHECKPOINT_VERSION,
            feature_schema: FEATURE_SCHEMA.to_owned(),
            feature_dim: FEATURE_DIM,
            config,
            null_scores: Vec::new(),
            training: TrainingSummary::default(),
            created_by: format!("causaldefend {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A trained neural CI test (see the module docs for what its p-values mean).
#[derive(Debug, Clone)]
pub struct NeuralCiTester {
    network: CiNetwork,
    /// The network in plain arrays: what actually scores.
    dense: DenseNetwork,
    meta: NeuralCiMeta,
    /// All null scores, ascending (for strata too small to stand alone).
    pooled: Vec<f32>,
}

impl NeuralCiTester {
    /// Puts a network and its metadata together, sorting the null scores
    /// (the p-value's binary search relies on it, and a hand-edited file
    /// must not break it).
    ///
    /// # Errors
    /// Tensor failures while copying the weights out.
    pub(crate) fn new(network: CiNetwork, mut meta: NeuralCiMeta) -> Result<Self> {
        meta.null_scores.sort_by_key(|s| s.stratum);
        for s in &mut meta.null_scores {
            s.scores.sort_by(f32::total_cmp);
        }
        let mut pooled: Vec<f32> = meta
            .null_scores
            .iter()
            .flat_map(|s| s.scores.iter().copied())
            .collect();
        pooled.sort_by(f32::total_cmp);
        Ok(Self {
            dense: DenseNetwork::from_network(&network)?,
            network,
            meta,
            pooled,
        })
    }

    /// Metadata: config, null scores, training record.
    pub fn meta(&self) -> &NeuralCiMeta {
        &self.meta
    }

    pub(crate) fn network(&self) -> &CiNetwork {
        &self.network
    }

    /// The network's logit for "X and Y are dependent given Z", and the
    /// stratum the test belongs to.
    ///
    /// # Errors
    /// As [`ci_features`]; tensor failures.
    pub fn score(&self, data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<(f32, Stratum)> {
        let f = ci_features(data, x, y, z)?;
        Ok((self.dense.score(&f)?, Stratum::from_features(&f, z.len())))
    }

    /// The null scores a test of `stratum` is calibrated against.
    pub fn null_scores_for(&self, stratum: Stratum) -> &[f32] {
        self.meta
            .null_scores
            .iter()
            .find(|s| s.stratum == stratum && s.scores.len() >= MIN_STRATUM_NULLS)
            .map_or(self.pooled.as_slice(), |s| s.scores.as_slice())
    }

    /// `(1 + #{null scores of the stratum ≥ score}) / (N + 1)`; 1 with no
    /// null scores.
    pub fn p_value(&self, score: f32, stratum: Stratum) -> f64 {
        let null = self.null_scores_for(stratum);
        let below = null.partition_point(|v| *v < score);
        let at_or_above = null.len() - below;
        (1 + at_or_above) as f64 / (null.len() + 1) as f64
    }
}

impl CiTest for NeuralCiTester {
    fn name(&self) -> &'static str {
        "neural"
    }

    fn test(&self, data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<CiOutcome> {
        let (s, stratum) = self.score(data, x, y, z)?;
        Ok(CiOutcome {
            p_value: self.p_value(s, stratum),
            statistic: f64::from(s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn tester(strata: Vec<NullScores>) -> NeuralCiTester {
        let mut meta = NeuralCiMeta::new(NeuralCiConfig::default());
        meta.null_scores = strata;
        NeuralCiTester::new(CiNetwork::new(4, 1, 1, &Device::Cpu).unwrap(), meta).unwrap()
    }

    const CONTINUOUS: Stratum = Stratum {
        discrete: false,
        z_size: 0,
    };
    const COUNTS: Stratum = Stratum {
        discrete: true,
        z_size: 0,
    };

    #[test]
    fn p_value_counts_null_scores_at_or_above() {
        let t = tester(vec![NullScores {
            stratum: CONTINUOUS,
            scores: vec![3.0, -1.0, 0.0, 0.0, -2.0],
        }]);
        assert_eq!(t.p_value(10.0, CONTINUOUS), 1.0 / 6.0);
        assert_eq!(t.p_value(3.0, CONTINUOUS), 2.0 / 6.0);
        assert_eq!(t.p_value(0.0, CONTINUOUS), 4.0 / 6.0);
        assert_eq!(t.p_value(-5.0, CONTINUOUS), 1.0);
        assert_eq!(t.name(), "neural");
    }

    #[test]
    fn each_stratum_uses_its_own_nulls_unless_too_few() {
        let many = |v: f32| vec![v; MIN_STRATUM_NULLS];
        let t = tester(vec![
            NullScores {
                stratum: CONTINUOUS,
                scores: many(1.0),
            },
            NullScores {
                stratum: COUNTS,
                scores: many(-1.0),
            },
            NullScores {
                stratum: Stratum {
                    discrete: true,
                    z_size: 1,
                },
                scores: vec![5.0],
            },
        ]);
        // A score of 0 is extreme among count nulls, ordinary among continuous ones.
        assert!(t.p_value(0.0, COUNTS) < 0.01);
        assert_eq!(t.p_value(0.0, CONTINUOUS), 1.0);
        // The small stratum and an absent one fall back to the pooled scores.
        let pooled = 2 * MIN_STRATUM_NULLS + 1;
        for s in [
            Stratum {
                discrete: true,
                z_size: 1,
            },
            Stratum {
                discrete: false,
                z_size: 2,
            },
        ] {
            assert_eq!(t.null_scores_for(s).len(), pooled);
        }
    }

    #[test]
    fn stratum_reads_discreteness_and_caps_z() {
        let counts: Vec<f64> = (0..20).map(|i| f64::from(i % 3)).collect();
        let cont: Vec<f64> = (0..20).map(|i| f64::from(i) * 0.37).collect();
        let mut cols = vec![counts];
        cols.extend((1..6).map(|k| cont.iter().map(|v| (v * f64::from(k)).sin()).collect()));
        let d = Dataset::new(cols, (0..6).map(|i| format!("v{i}")).collect()).unwrap();
        let of =
            |x, y, z: &[usize]| Stratum::from_features(&ci_features(&d, x, y, z).unwrap(), z.len());
        assert_eq!(of(0, 1, &[]), COUNTS);
        assert_eq!(of(1, 0, &[]), COUNTS);
        assert_eq!(
            of(1, 2, &[0, 3, 4, 5]),
            Stratum {
                discrete: false,
                z_size: STRATUM_MAX_Z
            }
        );
    }
}
