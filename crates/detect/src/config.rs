//! Hyper-parameters of the detector, from `config/train_config.yaml` with
//! command-line flags layered on top. Every field has a default, so an empty
//! file (or none) trains a sensible model.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Everything that shapes the model and its training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorConfig {
    /// Width of node embeddings and of the GRU state.
    pub hidden_dim: usize,
    /// Attention heads per GAT layer (`hidden_dim` must divide by it).
    pub heads: usize,
    /// GAT layers.
    pub layers: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Most epochs.
    pub epochs: usize,
    /// Windows whose losses are averaged into one optimiser step.
    pub batch_size: usize,
    /// Negative (non-existent) edges sampled per real edge.
    pub negative_samples: usize,
    /// Weight of the edge-reconstruction term in the training loss: it
    /// makes the embeddings say who talks to whom.
    pub edge_loss_weight: f64,
    /// Weight of a node's edge-reconstruction error in its anomaly score.
    /// 0 by default: measured on the shared auditd recordings, edge errors
    /// of busy benign nodes (pipes, shared libraries) added more noise than
    /// signal (docs/EVALUATION.md).
    pub edge_score_weight: f64,
    /// Seed of initialisation, shuffling and negative sampling.
    pub seed: u64,
    /// Share of each sequence's windows held out for validation (the last ones).
    pub validation_fraction: f64,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    /// Merged edges kept per window (deterministic sample past this).
    pub max_edges_per_window: usize,
    /// Nodes averaged into a window's score (its top-k node scores).
    pub window_top_k: usize,
    /// Take the window score over process nodes only (all nodes when a
    /// window has none): attacks act through processes, while busy files and
    /// sockets of benign services crowd the top of the node ranking.
    pub window_score_processes_only: bool,
    /// Windows at the start of each sequence (host stream) that are scored
    /// but never alert. Every entity starts there with an empty GRU state and
    /// services start up (a web server importing its modules, binding its
    /// port): the first window of a stream is unlike any later one, and a
    /// detector that alerts on it cries wolf at every restart. An attack in
    /// those first seconds is scored, not alerted: the price, in the docs.
    pub warmup_windows: usize,
    /// Windows after the warm-up in which the entities already present in
    /// it do not count toward a window's score (`detector::Warmup`): a
    /// server started with the stream scores high until its GRU state has
    /// seen a few windows. Three: with two, the recordings' web server in
    /// its fourth window was the highest benign window of every seed
    /// (docs/EVALUATION.md, session 7), and set the thresholds.
    pub warmup_settle_windows: usize,
    /// Quantile of benign validation window scores used as the alert
    /// threshold, when `target_false_alarms_per_hour` is 0.
    pub threshold_quantile: f64,
    /// False alarms per host-hour the window threshold aims at, found by
    /// fitting the tail of the benign validation scores (`evt.rs`); never
    /// below the highest of them. 0 uses `threshold_quantile` instead.
    pub target_false_alarms_per_hour: f64,
    /// Quantile of benign validation node scores above which a node is flagged.
    pub node_threshold_quantile: f64,
    /// GRU states kept for entities not seen in the current window.
    pub max_tracked_entities: usize,
    /// Windows an entity's GRU state survives without being seen.
    pub state_ttl_windows: u32,
    /// Window length (seconds) used when training from raw logs.
    pub window_secs: f64,
    /// Seconds past a window's end during which the processes born in it
    /// keep their events in it (`graph::WindowSettings::process_grace_secs`):
    /// a short-lived process cut by the boundary looked anomalous in the
    /// next window. Part of the model: scores depend on how windows are cut.
    pub process_grace_secs: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            hidden_dim: 32,
            heads: 4,
            layers: 2,
            learning_rate: 0.005,
            weight_decay: 1e-4,
            epochs: 12,
            batch_size: 4,
            negative_samples: 1,
            edge_loss_weight: 0.5,
            edge_score_weight: 0.0,
            seed: 7,
            validation_fraction: 0.2,
            patience: 3,
            max_edges_per_window: 20_000,
            window_top_k: 1,
            window_score_processes_only: true,
            warmup_windows: 1,
            warmup_settle_windows: 3,
            threshold_quantile: 1.0,
            target_false_alarms_per_hour: 1.0,
            node_threshold_quantile: 1.0,
            max_tracked_entities: 100_000,
            state_ttl_windows: 6,
            window_secs: 10.0,
            process_grace_secs: graph::DEFAULT_PROCESS_GRACE_SECS,
        }
    }
}

impl DetectorConfig {
    /// Checks ranges, naming the key at fault.
    ///
    /// # Errors
    /// [`Error::Config`] for the first value out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |key, reason: &str| {
            Err(Error::Config {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.hidden_dim == 0 || self.hidden_dim > 4096 {
            return bad("hidden_dim", "must be 1..=4096");
        }
        if self.heads == 0 || !self.hidden_dim.is_multiple_of(self.heads) {
            return bad("heads", "must be at least 1 and divide hidden_dim");
        }
        if self.layers == 0 || self.layers > 8 {
            return bad("layers", "must be 1..=8");
        }
        if !self.learning_rate.is_finite() || self.learning_rate <= 0.0 || self.learning_rate >= 1.0
        {
            return bad("learning_rate", "must be in (0, 1)");
        }
        if !(0.0..1.0).contains(&self.weight_decay) {
            return bad("weight_decay", "must be in [0, 1)");
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if !(0.0..0.9).contains(&self.validation_fraction) {
            return bad("validation_fraction", "must be in [0, 0.9)");
        }
        if !(0.5..=1.0).contains(&self.threshold_quantile) {
            return bad("threshold_quantile", "must be in [0.5, 1]");
        }
        if !(self.target_false_alarms_per_hour >= 0.0
            && self.target_false_alarms_per_hour.is_finite())
        {
            return bad(
                "target_false_alarms_per_hour",
                "must be 0 (off) or positive",
            );
        }
        if !(0.5..=1.0).contains(&self.node_threshold_quantile) {
            return bad("node_threshold_quantile", "must be in [0.5, 1]");
        }
        if self.window_top_k == 0 {
            return bad("window_top_k", "must be at least 1");
        }
        if !self.window_secs.is_finite() || self.window_secs <= 0.0 {
            return bad("window_secs", "must be positive");
        }
        if !(0.0..=self.window_secs / 2.0).contains(&self.process_grace_secs) {
            return bad(
                "process_grace_secs",
                "must be between 0 and half of window_secs",
            );
        }
        if self.edge_loss_weight < 0.0 {
            return bad("edge_loss_weight", "must not be negative");
        }
        if self.edge_score_weight < 0.0 {
            return bad("edge_score_weight", "must not be negative");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        DetectorConfig::default().validate().unwrap();
    }

    #[test]
    fn heads_must_divide_hidden() {
        let c = DetectorConfig {
            hidden_dim: 30,
            heads: 4,
            ..DetectorConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("`heads`"), "{e}");
    }
}
