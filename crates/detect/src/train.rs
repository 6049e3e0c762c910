//! Training on benign windows: AdamW on feature and edge reconstruction,
//! windows in time order per sequence so the GRU sees real history, the
//! last `validation_fraction` of each sequence held out for early stopping
//! and for the alert thresholds.
//!
//! Memory: sequences are loaded one at a time from a [`WindowSource`] (a
//! preprocessed folder per sequence in the CLI), so a training set larger
//! than memory costs only its largest sequence.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use sha2::{Digest, Sha256};

use crate::checkpoint::{Checkpoint, CheckpointMeta, EpochLoss, Thresholds, TrainingData};
use crate::config::DetectorConfig;
use crate::detector::{step, window_score, Warmup};
use crate::error::{Error, Result};
use crate::features::PreparedWindow;
use crate::model::Model;
use crate::params::SeededRng;
use crate::state::StateCache;

/// Where training windows come from: an ordered list of sequences (hosts or
/// recordings), each an ordered list of windows.
pub trait WindowSource {
    /// How many sequences.
    fn sequences(&self) -> usize;
    /// The windows of sequence `index`, in time order.
    ///
    /// # Errors
    /// Whatever reading them can fail with.
    fn load(&self, index: usize) -> Result<Vec<PreparedWindow>>;
    /// Names of the inputs, for the checkpoint.
    fn describe(&self) -> Vec<String>;
}

/// Sequences already in memory (tests, small sets).
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    /// The sequences.
    pub sequences: Vec<Vec<PreparedWindow>>,
    /// Their names.
    pub names: Vec<String>,
}

impl WindowSource for InMemory {
    fn sequences(&self) -> usize {
        self.sequences.len()
    }
    fn load(&self, index: usize) -> Result<Vec<PreparedWindow>> {
        self.sequences
            .get(index)
            .cloned()
            .ok_or_else(|| Error::Data(format!("no sequence {index}")))
    }
    fn describe(&self) -> Vec<String> {
        self.names.clone()
    }
}

/// How many of sequence `seq`'s `len` windows train (the rest validate).
///
/// With three or more sequences, whole sequences are held out (the last
/// `validation_fraction` of them, at least one): their windows look like the
/// ones `detect` will see, which a sequence's tail (often a short, quiet
/// last window) does not, and thresholds taken from them hold up better.
/// With fewer, the last windows of each sequence are held out.
pub fn training_windows(
    seq: usize,
    sequences: usize,
    len: usize,
    validation_fraction: f64,
) -> usize {
    if sequences >= 3 && validation_fraction > 0.0 {
        let held =
            ((sequences as f64 * validation_fraction).round() as usize).clamp(1, sequences - 1);
        return if seq >= sequences - held { 0 } else { len };
    }
    train_count(len, validation_fraction)
}

/// Windows of a sequence used for training when its tail validates.
fn train_count(len: usize, validation_fraction: f64) -> usize {
    let val = (len as f64 * validation_fraction).floor() as usize;
    len - val.min(len.saturating_sub(1))
}

/// Random negative edges: each real edge's source paired with random nodes.
fn negatives(
    w: &PreparedWindow,
    per_edge: usize,
    rng: &mut SeededRng,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let n = w.len();
    let mut s = Vec::with_capacity(w.edges.len() * per_edge);
    let mut d = Vec::with_capacity(w.edges.len() * per_edge);
    for &(src, _, _) in &w.edges {
        for _ in 0..per_edge {
            s.push(src);
            d.push(rng.below(n) as u32);
        }
    }
    let len = s.len();
    Ok((
        Tensor::from_vec(s, len, device)?,
        Tensor::from_vec(d, len, device)?,
    ))
}

fn snapshot(model: &Model) -> Result<HashMap<String, Tensor>> {
    model
        .params
        .named()
        .map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?)))
        .collect()
}

/// Trains a detector on benign `data`. `on_epoch` sees each epoch's losses
/// (the CLI draws its progress bar from it).
///
/// # Errors
/// [`Error::Data`] when there is nothing to train on, [`Error::Config`] for a
/// bad config, tensor failures.
pub fn train(
    config: DetectorConfig,
    data: &dyn WindowSource,
    device: &Device,
    on_epoch: &mut dyn FnMut(&EpochLoss),
) -> Result<Checkpoint> {
    config.validate()?;
    let mut model = Model::new(config.clone(), device)?;
    let n_seq = data.sequences();
    if n_seq == 0 {
        return Err(Error::Data("no input sequences".into()));
    }

    // Digest and counts, in input order, before any shuffling.
    let mut digest = Sha256::new();
    let mut info = TrainingData {
        inputs: data.describe(),
        sequences: n_seq,
        ..TrainingData::default()
    };
    for i in 0..n_seq {
        let windows = data.load(i)?;
        let t = training_windows(i, n_seq, windows.len(), config.validation_fraction);
        info.train_windows += t;
        info.validation_windows += windows.len() - t;
        for w in &windows {
            info.events += w.events as u64;
            for v in &w.features {
                digest.update(v.to_le_bytes());
            }
            for &(s, d, k) in &w.edges {
                digest.update(s.to_le_bytes());
                digest.update(d.to_le_bytes());
                digest.update(k.to_le_bytes());
            }
        }
    }
    if info.train_windows == 0 {
        return Err(Error::Data("the inputs hold no windows".into()));
    }
    info.digest = format!("{:x}", digest.finalize());

    let mut opt = AdamW::new(
        model.params.vars(),
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = SeededRng::new(config.seed ^ 0x5eed);
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, HashMap<String, Tensor>)> = None;
    let mut since_best = 0;

    for epoch in 1..=config.epochs {
        let started = Instant::now();
        let mut order: Vec<usize> = (0..n_seq).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let (mut train_sum, mut train_n, mut val_sum, mut val_n) = (0.0, 0usize, 0.0, 0usize);
        for &seq in &order {
            let windows = data.load(seq)?;
            let split = training_windows(seq, n_seq, windows.len(), config.validation_fraction);
            let mut state = StateCache::new(
                config.hidden_dim,
                config.max_tracked_entities,
                config.state_ttl_windows,
            );
            let mut batch: Vec<Tensor> = Vec::new();
            for (i, w) in windows.iter().enumerate() {
                if w.is_empty() {
                    continue;
                }
                let (g, f, _) = step(&model, &mut state, w, device)?;
                let (ns, nd) = negatives(w, config.negative_samples, &mut rng, device)?;
                let loss = model.loss(&g, &f, &ns, &nd)?;
                let value = f64::from(loss.to_scalar::<f32>()?);
                if i < split {
                    train_sum += value;
                    train_n += 1;
                    batch.push(loss);
                    if batch.len() == config.batch_size {
                        let total = Tensor::stack(&batch, 0)?.mean_all()?;
                        opt.backward_step(&total)?;
                        batch.clear();
                    }
                } else {
                    val_sum += value;
                    val_n += 1;
                }
            }
            if !batch.is_empty() {
                let total = Tensor::stack(&batch, 0)?.mean_all()?;
                opt.backward_step(&total)?;
            }
        }
        let train_loss = train_sum / train_n.max(1) as f64;
        let validation_loss = if val_n > 0 {
            val_sum / val_n as f64
        } else {
            train_loss
        };
        let e = EpochLoss {
            epoch,
            train_loss,
            validation_loss,
            seconds: started.elapsed().as_secs_f64(),
        };
        tracing::info!(epoch, train_loss, validation_loss, "epoch done");
        on_epoch(&e);
        history.push(e);
        if !validation_loss.is_finite() {
            return Err(Error::Data(format!(
                "validation loss became {validation_loss} at epoch {epoch}; lower learning_rate"
            )));
        }
        let improved = best.as_ref().is_none_or(|(b, _, _)| validation_loss < *b);
        if improved {
            best = Some((validation_loss, epoch, snapshot(&model)?));
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= config.patience.max(1) {
                tracing::info!(epoch, "early stop: no validation improvement");
                break;
            }
        }
    }
    let mut best_epoch = history.len();
    if let Some((_, epoch, weights)) = best {
        model
            .params
            .load_from(&weights)
            .map_err(|e| Error::Data(format!("restoring best weights: {e}")))?;
        best_epoch = epoch;
    }

    let scale = residual_scale(&model, data, device)?;
    model.residual_scale = Some(Tensor::from_slice(&scale, scale.len(), device)?);
    let thresholds = thresholds(&model, data, device)?;
    let mut meta = CheckpointMeta::new(config);
    meta.residual_scale = scale;
    meta.training = info;
    meta.history = history;
    meta.best_epoch = best_epoch;
    meta.thresholds = thresholds;
    Ok(Checkpoint { model, meta })
}

/// Mean squared residual per feature over the training windows (floored,
/// so that a feature that never varies cannot divide by zero).
fn residual_scale(model: &Model, data: &dyn WindowSource, device: &Device) -> Result<Vec<f32>> {
    let c = &model.config;
    let mut sum = vec![0f64; crate::features::FEATURE_DIM];
    let mut rows = 0u64;
    for seq in 0..data.sequences() {
        let windows = data.load(seq)?;
        let split = training_windows(seq, data.sequences(), windows.len(), c.validation_fraction);
        let mut state = StateCache::new(c.hidden_dim, c.max_tracked_entities, c.state_ttl_windows);
        for w in windows.iter().take(split) {
            if w.is_empty() {
                continue;
            }
            let (_, f, _) = step(model, &mut state, w, device)?;
            let per_dim = f.residual_sq.sum(0)?.to_vec1::<f32>()?;
            for (acc, v) in sum.iter_mut().zip(per_dim) {
                *acc += f64::from(v);
            }
            rows += w.len() as u64;
        }
    }
    let rows = rows.max(1) as f64;
    Ok(sum
        .into_iter()
        .map(|s| ((s / rows) as f32).max(1e-4))
        .collect())
}

/// The windows of sequence `seq` (of `len`) whose scores set thresholds:
/// the held-out ones. With whole sequences held out, a training sequence
/// lends none (its windows were fitted, and one odd training window, a
/// `git gc` in a long recording, would set the threshold for all); with
/// per-sequence tails, a sequence too short to hold a window out lends all
/// of its windows.
pub fn threshold_windows(
    seq: usize,
    sequences: usize,
    len: usize,
    validation_fraction: f64,
) -> std::ops::Range<usize> {
    let split = training_windows(seq, sequences, len, validation_fraction);
    if split < len {
        split..len
    } else if sequences >= 3 && validation_fraction > 0.0 {
        len..len
    } else {
        0..len
    }
}

/// Window and node thresholds from the benign validation windows (see
/// [`threshold_windows`]), past each sequence's warm-up.
fn thresholds(model: &Model, data: &dyn WindowSource, device: &Device) -> Result<Thresholds> {
    let c = &model.config;
    let mut window_scores = Vec::new();
    let mut node_scores = Vec::new();
    for seq in 0..data.sequences() {
        let windows = data.load(seq)?;
        let counted =
            threshold_windows(seq, data.sequences(), windows.len(), c.validation_fraction);
        if counted.is_empty() {
            continue;
        }
        let mut state = StateCache::new(c.hidden_dim, c.max_tracked_entities, c.state_ttl_windows);
        let mut warmup = Warmup::new();
        for (i, w) in windows.iter().enumerate() {
            let (in_warmup, counts) = warmup.observe(w, c);
            if w.is_empty() {
                continue;
            }
            let (_, _, s) = step(model, &mut state, w, device)?;
            // Warm-up windows never alert, so they set no threshold.
            if counted.contains(&i) && !in_warmup {
                let s: Vec<f64> = s.to_vec1::<f32>()?.into_iter().map(f64::from).collect();
                window_scores.push(window_score(w, &s, counts.as_deref(), c));
                // Node alerts are about the nodes windows are scored by.
                node_scores.extend(w.nodes.iter().zip(&s).filter_map(|(e, s)| {
                    (!c.window_score_processes_only || e.kind == event::EntityKind::Process)
                        .then_some(*s)
                }));
            }
        }
    }
    window_scores.sort_by(f64::total_cmp);
    node_scores.sort_by(f64::total_cmp);
    let (window, how) = crate::detector::window_threshold(&window_scores, c);
    Ok(Thresholds {
        window,
        node: crate::detector::node_threshold(&node_scores, window, c),
        source: format!(
            "{how}; quantile {} of {} node scores, at least the window threshold when top_k is 1",
            c.node_threshold_quantile,
            node_scores.len()
        ),
        validation_window_scores: window_scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_at_least_one_training_window() {
        assert_eq!(train_count(10, 0.2), 8);
        assert_eq!(train_count(1, 0.5), 1);
        assert_eq!(train_count(0, 0.5), 0);
        assert_eq!(train_count(3, 0.0), 3);
        // Three or more sequences: whole sequences validate.
        assert_eq!(training_windows(0, 10, 7, 0.2), 7);
        assert_eq!(training_windows(7, 10, 7, 0.2), 7);
        assert_eq!(training_windows(8, 10, 7, 0.2), 0);
        assert_eq!(training_windows(9, 10, 7, 0.2), 0);
        assert_eq!(training_windows(2, 3, 7, 0.1), 0);
        assert_eq!(training_windows(1, 2, 10, 0.2), 8);
        // Thresholds: held-out sequences whole, training sequences nothing;
        // per-sequence tails, or everything of a sequence too short to split.
        assert_eq!(threshold_windows(9, 10, 7, 0.2), 0..7);
        assert_eq!(threshold_windows(0, 10, 7, 0.2), 7..7);
        assert_eq!(threshold_windows(1, 2, 10, 0.2), 8..10);
        assert_eq!(threshold_windows(0, 2, 1, 0.5), 0..1);
    }
}
