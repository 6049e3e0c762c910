//! Scoring windows with a trained model: node scores, the window score (mean
//! of the top-k node scores, so one wildly anomalous process is enough but a
//! single noisy node among thousands is damped), and the alert decision.

use candle_core::{Device, Tensor};
use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::error::Result;
use crate::features::PreparedWindow;
use crate::model::{Forward, Model, WindowTensors};
use crate::state::StateCache;

/// A scored node (row of its window).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeScore {
    /// Row in the window's node list.
    pub row: usize,
    /// Anomaly score.
    pub score: f64,
}

/// The verdict on one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowScore {
    /// Window id.
    pub window_id: u32,
    /// Start (ns since the epoch).
    pub start_ns: i64,
    /// End (ns).
    pub end_ns: i64,
    /// Window score.
    pub score: f64,
    /// Threshold it was compared with.
    pub threshold: f64,
    /// `score > threshold`, outside the warm-up.
    pub alert: bool,
    /// The window is in its sequence's warm-up (scored, never alerted).
    pub warmup: bool,
    /// Every node's score, by row.
    pub node_scores: Vec<f64>,
}

impl WindowScore {
    /// Judges the window against another threshold (`detect --threshold`),
    /// by the same rule as the model's: never during the warm-up.
    pub fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
        self.alert = !self.warmup && self.score > threshold;
    }

    /// The `k` highest-scoring nodes, highest first (ties by row).
    pub fn top_nodes(&self, k: usize) -> Vec<NodeScore> {
        let mut v: Vec<NodeScore> = self
            .node_scores
            .iter()
            .enumerate()
            .map(|(row, &score)| NodeScore { row, score })
            .collect();
        v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        v.truncate(k);
        v
    }
}

/// Mean of the `k` largest values (all of them when fewer); 0 when empty.
pub fn top_k_mean(values: &[f64], k: usize) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let k = k.clamp(1, v.len());
    v[..k].iter().sum::<f64>() / k as f64
}

/// A window's score from its node scores (by row), by the config's rule.
pub fn window_score(
    window: &PreparedWindow,
    node_scores: &[f64],
    config: &crate::DetectorConfig,
) -> f64 {
    if config.window_score_processes_only {
        let procs: Vec<f64> = window
            .nodes
            .iter()
            .zip(node_scores)
            .filter(|(e, _)| e.kind == event::EntityKind::Process)
            .map(|(_, s)| *s)
            .collect();
        if !procs.is_empty() {
            return top_k_mean(&procs, config.window_top_k);
        }
    }
    top_k_mean(node_scores, config.window_top_k)
}

/// The window alert threshold from benign validation window scores
/// (`sorted` ascending) under `config`'s rule, and how it was found: the
/// tail fit for `target_false_alarms_per_hour` when that is set, else the
/// `threshold_quantile`. One function, so that the detector and the
/// baselines `evaluate` compares it with are thresholded alike.
pub fn window_threshold(sorted: &[f64], config: &crate::DetectorConfig) -> (f64, String) {
    if config.target_false_alarms_per_hour > 0.0 {
        crate::evt::threshold_for_rate(
            sorted,
            config.target_false_alarms_per_hour,
            config.window_secs,
        )
    } else {
        (
            quantile(sorted, config.threshold_quantile),
            format!(
                "quantile {} of {} benign validation window scores",
                config.threshold_quantile,
                sorted.len()
            ),
        )
    }
}

/// The node threshold from benign validation node scores (`sorted`
/// ascending) and the window threshold: the `node_threshold_quantile` of
/// the node scores, raised to the window threshold when a window's score
/// is its single most anomalous process (`window_top_k: 1`). Then a
/// flagged node is one that on its own raises the window's alert. A lower
/// bar (the benign validation maximum sits below a window threshold that
/// the tail fit extrapolates) flagged benign processes in every alert
/// window, and each seeded an explanation of its own: explained precision
/// fell to 0.5 in session 5's evaluation (docs/EVALUATION.md).
pub fn node_threshold(
    sorted: &[f64],
    window_threshold: f64,
    config: &crate::DetectorConfig,
) -> f64 {
    let q = quantile(sorted, config.node_threshold_quantile);
    if config.window_top_k == 1 {
        q.max(window_threshold)
    } else {
        q
    }
}

/// Nearest-rank upper quantile of `sorted` (ascending); 0 when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).ceil() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Runs the model on one window with the entity states in `state`, then
/// stores the new states. Returns the forward pass and the node scores.
///
/// # Errors
/// Tensor failures.
pub fn step(
    model: &Model,
    state: &mut StateCache,
    window: &PreparedWindow,
    device: &Device,
) -> Result<(WindowTensors, Forward, Tensor)> {
    let ids: Vec<_> = window.nodes.iter().map(|e| e.id).collect();
    let g = WindowTensors::new(window, device)?;
    let h_prev = state.gather(&ids, device)?;
    let f = model.forward(&g, &h_prev)?;
    let scores = model.node_scores(&g, &f)?;
    state.update(&ids, &f.h)?;
    Ok((g, f, scores))
}

/// A trained detector scoring one sequence of windows (one host) at a time.
#[derive(Debug)]
pub struct Detector {
    /// The model and its metadata.
    pub checkpoint: Checkpoint,
    state: StateCache,
    device: Device,
    /// Windows scored since the last reset.
    seen: usize,
}

impl Detector {
    /// A detector with fresh entity states.
    pub fn new(checkpoint: Checkpoint, device: Device) -> Self {
        let c = &checkpoint.model.config;
        let state = StateCache::new(c.hidden_dim, c.max_tracked_entities, c.state_ttl_windows);
        Self {
            checkpoint,
            state,
            device,
            seen: 0,
        }
    }

    /// Forgets entity states (call between hosts or recordings).
    pub fn reset(&mut self) {
        let c = &self.checkpoint.model.config;
        self.state = StateCache::new(c.hidden_dim, c.max_tracked_entities, c.state_ttl_windows);
        self.seen = 0;
    }

    /// Scores the next window of the current sequence.
    ///
    /// # Errors
    /// Tensor failures.
    pub fn score(&mut self, window: &PreparedWindow) -> Result<WindowScore> {
        let threshold = self.checkpoint.meta.thresholds.window;
        let node_scores: Vec<f64> = if window.is_empty() {
            Vec::new()
        } else {
            let (_, _, s) = step(
                &self.checkpoint.model,
                &mut self.state,
                window,
                &self.device,
            )?;
            s.to_vec1::<f32>()?.into_iter().map(f64::from).collect()
        };
        let config = &self.checkpoint.model.config;
        let score = window_score(window, &node_scores, config);
        let warmup = self.seen < config.warmup_windows;
        self.seen += 1;
        Ok(WindowScore {
            window_id: window.window_id,
            start_ns: window.start_ns,
            end_ns: window.end_ns,
            score,
            threshold,
            alert: !warmup && score > threshold,
            warmup,
            node_scores,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_and_quantiles() {
        assert_eq!(top_k_mean(&[1.0, 5.0, 3.0], 2), 4.0);
        assert_eq!(top_k_mean(&[1.0], 5), 1.0);
        assert_eq!(top_k_mean(&[], 5), 0.0);
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&s, 1.0), 5.0);
        assert_eq!(quantile(&s, 0.0), 1.0);
        assert_eq!(quantile(&s, 0.5), 3.0);
        assert_eq!(quantile(&s, 0.76), 5.0);
    }

    #[test]
    fn node_threshold_is_at_least_the_window_threshold_for_top_one() {
        let nodes = [0.5, 1.0, 4.0];
        let mut c = crate::DetectorConfig {
            window_top_k: 1,
            node_threshold_quantile: 1.0,
            ..crate::DetectorConfig::default()
        };
        // Benign maximum 4 below a window threshold of 6: raised to 6.
        assert_eq!(node_threshold(&nodes, 6.0, &c), 6.0);
        // A window threshold below the benign maximum leaves it.
        assert_eq!(node_threshold(&nodes, 2.0, &c), 4.0);
        // Averaged windows: a node need not carry the window alone.
        c.window_top_k = 3;
        assert_eq!(node_threshold(&nodes, 6.0, &c), 4.0);
    }
}
