//! The trained tester: network plus the null scores that turn its logit
//! into a p-value.
//!
//! p-value: with `N` sorted scores of simulated null cases held out from
//! training, `p = (1 + #{null ≥ s}) / (N + 1)`. For a case drawn like the
//! null simulation this is a valid (conservative, discrete) p-value whatever
//! the network learnt; what training buys is power. Off that distribution
//! the guarantee is only as good as the simulation's coverage, which is why
//! `compare` measures type-I error on held-out cases.

use serde::{Deserialize, Serialize};

use crate::causal::ci::{CiOutcome, CiTest};
use crate::causal::data::Dataset;
use crate::causal::neural::features::{ci_features, FEATURE_DIM, FEATURE_SCHEMA};
use crate::causal::neural::model::CiNetwork;
use crate::causal::neural::train::NeuralCiConfig;
use crate::error::Result;

/// Name of this file kind in the checkpoint metadata.
pub const CHECKPOINT_KIND: &str = "causaldefend-neural-ci";
/// Version of the metadata layout.
pub const CHECKPOINT_VERSION: u32 = 1;

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
    /// Scores of the calibration null cases, ascending.
    pub null_scores: Vec<f32>,
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
    pub(crate) network: CiNetwork,
    pub(crate) meta: NeuralCiMeta,
}

impl NeuralCiTester {
    /// Metadata: config, null scores, training record.
    pub fn meta(&self) -> &NeuralCiMeta {
        &self.meta
    }

    /// The network's logit for "X and Y are dependent given Z".
    ///
    /// # Errors
    /// As [`ci_features`]; tensor failures.
    pub fn score(&self, data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<f32> {
        let f = ci_features(data, x, y, z)?;
        self.network.score(&f)
    }

    /// `(1 + #{null scores ≥ score}) / (N + 1)`; 1 with no null scores.
    pub fn p_value(&self, score: f32) -> f64 {
        let null = &self.meta.null_scores;
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
        let s = self.score(data, x, y, z)?;
        Ok(CiOutcome {
            p_value: self.p_value(s),
            statistic: f64::from(s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn p_value_counts_null_scores_at_or_above() {
        let mut meta = NeuralCiMeta::new(NeuralCiConfig::default());
        meta.null_scores = vec![-2.0, -1.0, 0.0, 0.0, 3.0];
        let t = NeuralCiTester {
            network: CiNetwork::new(4, 1, 1, &Device::Cpu).unwrap(),
            meta,
        };
        assert_eq!(t.p_value(10.0), 1.0 / 6.0);
        assert_eq!(t.p_value(3.0), 2.0 / 6.0);
        assert_eq!(t.p_value(0.0), 4.0 / 6.0);
        assert_eq!(t.p_value(-5.0), 1.0);
        assert_eq!(t.name(), "neural");
    }
}
