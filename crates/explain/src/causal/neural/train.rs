//! Training: simulate balanced cases, summarise each as features, fit the
//! network with AdamW on binary cross-entropy, keep the epoch with the best
//! validation loss, then score held-out simulated null cases to calibrate
//! p-values.
//!
//! Cases are turned into features one at a time and dropped, so memory is
//! `n_train_cases × FEATURE_DIM` floats (about 70 MB at the default), not
//! the raw samples.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use crate::causal::neural::features::{ci_features, FEATURE_DIM};
use crate::causal::neural::infer::DenseNetwork;
use crate::causal::neural::model::{bce_with_logits, CiNetwork};
use crate::causal::neural::rng::{derive_seed, SimRng};
use crate::causal::neural::sim::{case_at, CaseStream, Labels, ProvenancePool, SimConfig};
use crate::causal::neural::tester::{
    EpochMetrics, NeuralCiMeta, NeuralCiTester, NullScores, Stratum, TrainingSummary,
};
use crate::error::{Error, Result};

/// Widest hidden layer accepted. With [`MAX_LAYERS`] this bounds what a
/// checkpoint's config can make `load` allocate before its tensors are
/// checked (8 × 1024² floats, 32 MB).
pub const MAX_HIDDEN: usize = 1024;
/// Most hidden layers accepted.
pub const MAX_LAYERS: usize = 8;

/// Hyper-parameters of the neural CI tester.
///
/// The defaults train in about a minute on two CPU cores (release build);
/// most of it is simulating and summarising the 220 000 cases. More cases
/// bought power (held-out power at α = 0.05 was 0.59 with 24 000 training
/// cases, 0.65 with 100 000, 0.67 with 200 000, type-I error 0.04–0.05);
/// a wider network (128 units, weight decay 0.01) did not, and validation
/// loss stops improving after a handful of epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeuralCiConfig {
    /// Width of each hidden layer.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Passes over the training cases.
    pub epochs: usize,
    /// Cases per optimiser step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Simulated cases (half dependent), validation share included.
    pub n_train_cases: usize,
    /// Simulated null cases scored for p-value calibration; the smallest
    /// attainable p-value is `1 / (n_null_cases + 1)`.
    pub n_null_cases: usize,
    /// Share of the training cases held out to pick the best epoch.
    pub validation_fraction: f64,
    /// Seed of simulation, initialisation and shuffling.
    pub seed: u64,
    /// How cases are simulated.
    pub sim: SimConfig,
}

impl Default for NeuralCiConfig {
    fn default() -> Self {
        Self {
            hidden: 64,
            layers: 2,
            epochs: 10,
            batch_size: 128,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            n_train_cases: 200_000,
            n_null_cases: 20_000,
            validation_fraction: 0.1,
            seed: 17,
            sim: SimConfig::default(),
        }
    }
}

impl NeuralCiConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::BadArgument`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |what, reason: String| Err(Error::BadArgument { what, reason });
        if self.hidden == 0 || self.hidden > MAX_HIDDEN {
            return bad(
                "hidden",
                format!("{} is not in 1..={MAX_HIDDEN}", self.hidden),
            );
        }
        if self.layers > MAX_LAYERS {
            return bad(
                "layers",
                format!("{} is more than {MAX_LAYERS}", self.layers),
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(
                "learning_rate",
                format!("{} is not positive", self.learning_rate),
            );
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad("weight_decay", format!("{} is negative", self.weight_decay));
        }
        if !(0.0..0.9).contains(&self.validation_fraction) {
            return bad(
                "validation_fraction",
                format!("{} is not in [0, 0.9)", self.validation_fraction),
            );
        }
        if self.n_train_cases < 4 {
            return bad(
                "n_train_cases",
                format!("{} is too few", self.n_train_cases),
            );
        }
        if self.n_null_cases == 0 {
            return bad("n_null_cases", "p-values need null scores".into());
        }
        self.sim.validate()
    }
}

/// Features, labels and strata of one case stream.
struct Featurised {
    rows: Vec<Vec<f32>>,
    labels: Vec<f32>,
    strata: Vec<Stratum>,
}

fn featurise(
    cfg: &NeuralCiConfig,
    pool: &ProvenancePool,
    stream: CaseStream,
    count: usize,
    labels: Labels,
) -> Result<Featurised> {
    let mut out = Featurised {
        rows: Vec::with_capacity(count),
        labels: Vec::with_capacity(count),
        strata: Vec::with_capacity(count),
    };
    for i in 0..count as u64 {
        let c = case_at(&cfg.sim, pool, cfg.seed, stream, i, labels)?;
        let f = ci_features(&c.data, c.x, c.y, &c.z)?;
        out.strata.push(Stratum::from_features(&f, c.z.len()));
        out.rows.push(f);
        out.labels.push(if c.dependent { 1.0 } else { 0.0 });
    }
    Ok(out)
}

/// Per-feature mean and standard deviation.
fn moments(rows: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0f64; FEATURE_DIM];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += f64::from(*v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0f64; FEATURE_DIM];
    for r in rows {
        for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
            let d = f64::from(*v) - m;
            *s += d * d;
        }
    }
    (
        mean.iter().map(|m| *m as f32).collect(),
        var.iter().map(|s| (s / n).sqrt() as f32).collect(),
    )
}

/// Stacks the rows at `idx` into `[len, FEATURE_DIM]` and their labels.
fn batch(
    rows: &[Vec<f32>],
    labels: &[f32],
    idx: &[usize],
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let mut flat = Vec::with_capacity(idx.len() * FEATURE_DIM);
    let mut y = Vec::with_capacity(idx.len());
    for &i in idx {
        if let (Some(r), Some(l)) = (rows.get(i), labels.get(i)) {
            flat.extend_from_slice(r);
            y.push(*l);
        }
    }
    let len = y.len();
    Ok((
        Tensor::from_vec(flat, (len, FEATURE_DIM), device)?,
        Tensor::from_vec(y, len, device)?,
    ))
}

/// Loss and accuracy of the network on all `rows`.
fn evaluate(net: &CiNetwork, rows: &[Vec<f32>], labels: &[f32]) -> Result<(f64, f64)> {
    if rows.is_empty() {
        return Ok((f64::NAN, f64::NAN));
    }
    let scores = net.score_many(rows)?;
    let device = net.device();
    let s = Tensor::from_slice(&scores, scores.len(), device)?;
    let y = Tensor::from_slice(labels, labels.len(), device)?;
    let loss = f64::from(bce_with_logits(&s, &y)?.to_scalar::<f32>()?);
    let right = scores
        .iter()
        .zip(labels)
        .filter(|(s, l)| (**s > 0.0) == (**l > 0.5))
        .count();
    Ok((loss, right as f64 / rows.len() as f64))
}

/// `v` rounded to six decimals. Metrics are stored like this because a
/// short decimal parses back to the very same `f64`, while a full-precision
/// one may come back one ulp off — and a loaded checkpoint must re-save to
/// the same bytes.
fn six_decimals(v: f64) -> f64 {
    if v.is_finite() {
        (v * 1e6).round() / 1e6
    } else {
        v
    }
}

/// Trains a neural CI tester.
///
/// `real_series` are activity counts per time bin of real entities (one
/// `Vec` each, any lengths); series at least `cfg.sim.min_samples` long feed
/// the provenance cases, and with fewer than three such series only fully
/// simulated cases are used. `progress` sees `(epoch, mean training loss)`
/// after each epoch.
///
/// The result depends only on `cfg` and `real_series`: the same inputs give
/// a byte-identical checkpoint.
///
/// # Errors
/// [`Error::BadArgument`] for a bad config or non-finite series; tensor
/// failures; [`Error::BadData`] if the loss diverges.
pub fn train_ci_tester(
    cfg: &NeuralCiConfig,
    real_series: &[Vec<f64>],
    mut progress: impl FnMut(usize, f64),
) -> Result<NeuralCiTester> {
    cfg.validate()?;
    let device = Device::Cpu;
    let pool = ProvenancePool::new(real_series, cfg.sim.min_samples)?;
    let started = Instant::now();
    let Featurised { rows, labels, .. } = featurise(
        cfg,
        &pool,
        CaseStream::Training,
        cfg.n_train_cases,
        Labels::Balanced,
    )?;
    // Validation takes an even-sized tail, so both stay balanced.
    let n_val = ((cfg.n_train_cases as f64 * cfg.validation_fraction) as usize) & !1;
    let n_fit = cfg.n_train_cases - n_val;
    let (fit_rows, val_rows) = rows.split_at(n_fit);
    let (fit_y, val_y) = labels.split_at(n_fit);
    tracing::info!(
        message = "Training cases simulated.",
        cases = cfg.n_train_cases,
        provenance_series = pool.usable(),
        seconds = started.elapsed().as_secs_f64()
    );

    let mut net = CiNetwork::new(
        cfg.hidden,
        cfg.layers,
        derive_seed(cfg.seed, 0x696e_6974, 0),
        &device,
    )?;
    let (mean, sd) = moments(fit_rows);
    net.set_standardisation(&mean, &sd)?;
    let mut opt = AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr: cfg.learning_rate,
            weight_decay: cfg.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = SimRng::new(derive_seed(cfg.seed, 0x7368_7566, 0));
    let mut order: Vec<usize> = (0..n_fit).collect();
    let mut history = Vec::with_capacity(cfg.epochs);
    let mut best: Option<(f64, usize, HashMap<String, Tensor>)> = None;
    let steps_per_epoch = n_fit.div_ceil(cfg.batch_size).max(1);
    let total_steps = (cfg.epochs * steps_per_epoch) as f64;
    let mut step = 0usize;
    for epoch in 1..=cfg.epochs {
        rng.shuffle(&mut order);
        let (mut sum, mut seen) = (0.0, 0usize);
        for idx in order.chunks(cfg.batch_size) {
            // Cosine decay to a tenth of the rate: large steps early, fine
            // ones late, so the last epochs settle instead of bouncing.
            let done = step as f64 / total_steps;
            let decay = 0.1 + 0.45 * (1.0 + (std::f64::consts::PI * done).cos());
            opt.set_learning_rate(cfg.learning_rate * decay);
            step += 1;
            let (x, y) = batch(fit_rows, fit_y, idx, &device)?;
            let loss = bce_with_logits(&net.forward(&x)?, &y)?;
            opt.backward_step(&loss)?;
            sum += f64::from(loss.to_scalar::<f32>()?) * idx.len() as f64;
            seen += idx.len();
        }
        let train_loss = sum / seen.max(1) as f64;
        if !train_loss.is_finite() {
            return Err(Error::BadData(format!(
                "training loss became {train_loss} at epoch {epoch}; lower learning_rate"
            )));
        }
        let (validation_loss, validation_accuracy) = evaluate(&net, val_rows, val_y)?;
        tracing::debug!(
            message = "Epoch done.",
            epoch,
            train_loss,
            validation_loss,
            validation_accuracy
        );
        progress(epoch, train_loss);
        // Without validation cases, the training loss picks the epoch.
        let key = if validation_loss.is_finite() {
            validation_loss
        } else {
            train_loss
        };
        if best.as_ref().is_none_or(|(b, _, _)| key < *b) {
            best = Some((key, epoch, net.snapshot()?));
        }
        history.push(EpochMetrics {
            epoch,
            train_loss: six_decimals(train_loss),
            validation_loss: six_decimals(validation_loss),
            validation_accuracy: six_decimals(validation_accuracy),
        });
    }
    let mut best_epoch = history.len();
    if let Some((_, epoch, weights)) = best {
        net.load_tensors(&weights)
            .map_err(|reason| Error::BadData(format!("restoring epoch {epoch}: {reason}")))?;
        best_epoch = epoch;
    }

    let null = featurise(
        cfg,
        &pool,
        CaseStream::Calibration,
        cfg.n_null_cases,
        Labels::NullOnly,
    )?;
    // Scored by the same code path as tests will be.
    let dense = DenseNetwork::from_network(&net)?;
    let mut by_stratum: BTreeMap<Stratum, Vec<f32>> = BTreeMap::new();
    for (row, stratum) in null.rows.iter().zip(null.strata) {
        by_stratum
            .entry(stratum)
            .or_default()
            .push(dense.score(row)?);
    }
    let null_scores: Vec<NullScores> = by_stratum
        .into_iter()
        .map(|(stratum, scores)| NullScores { stratum, scores })
        .collect();

    let mut meta = NeuralCiMeta::new(cfg.clone());
    meta.null_scores = null_scores;
    meta.training = TrainingSummary {
        train_cases: n_fit,
        validation_cases: n_val,
        real_series_given: pool.given(),
        real_series_used: pool.usable(),
        real_series_digest: pool.digest().to_owned(),
        history,
        best_epoch,
    };
    tracing::info!(
        message = "Neural CI tester trained.",
        best_epoch,
        seconds = started.elapsed().as_secs_f64()
    );
    NeuralCiTester::new(net, meta)
}

/// A tiny tester trained once per test process and shared by the tests of
/// every module (debug builds train it in well under a second).
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use std::sync::OnceLock;

    /// Small enough for debug builds, large enough to learn something.
    pub(crate) fn tiny() -> NeuralCiConfig {
        NeuralCiConfig {
            hidden: 32,
            layers: 1,
            epochs: 10,
            batch_size: 64,
            learning_rate: 5e-3,
            n_train_cases: 3000,
            n_null_cases: 1600,
            sim: SimConfig {
                min_samples: 50,
                max_samples: 300,
                ..SimConfig::default()
            },
            ..NeuralCiConfig::default()
        }
    }

    /// The tester trained with [`tiny`].
    pub(crate) fn tiny_tester() -> &'static NeuralCiTester {
        static TESTER: OnceLock<NeuralCiTester> = OnceLock::new();
        TESTER.get_or_init(|| train_ci_tester(&tiny(), &[], |_, _| {}).unwrap())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::tiny;
    use super::*;

    #[test]
    fn training_lowers_the_loss() {
        let t = super::test_support::tiny_tester();
        let losses: Vec<f64> = t
            .meta()
            .training
            .history
            .iter()
            .map(|e| e.train_loss)
            .collect();
        assert_eq!(losses.len(), 10);
        assert!(
            losses[9] < losses[0] - 0.05,
            "loss did not fall: {losses:?}"
        );
        let m = t.meta();
        let null: Vec<&NullScores> = m.null_scores.iter().collect();
        assert_eq!(null.iter().map(|s| s.scores.len()).sum::<usize>(), 1600);
        assert!(null.len() >= 4, "{} strata", null.len());
        assert!(null
            .iter()
            .all(|s| s.scores.windows(2).all(|w| w[0] <= w[1])));
        assert!(m
            .training
            .history
            .iter()
            .all(|e| e.validation_loss.is_finite()));
        assert!(m.training.best_epoch >= 1);
    }

    #[test]
    fn rejects_bad_configs() {
        for cfg in [
            NeuralCiConfig {
                hidden: 0,
                ..tiny()
            },
            NeuralCiConfig {
                layers: MAX_LAYERS + 1,
                ..tiny()
            },
            NeuralCiConfig {
                learning_rate: f64::NAN,
                ..tiny()
            },
            NeuralCiConfig {
                n_null_cases: 0,
                ..tiny()
            },
            NeuralCiConfig {
                validation_fraction: 0.95,
                ..tiny()
            },
        ] {
            assert!(matches!(
                train_ci_tester(&cfg, &[], |_, _| {}),
                Err(Error::BadArgument { .. })
            ));
        }
    }

    #[test]
    fn config_round_trips_through_json_with_defaults() {
        let cfg: NeuralCiConfig = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
        assert_eq!(cfg.epochs, 3);
        assert_eq!(cfg.hidden, NeuralCiConfig::default().hidden);
        assert!(serde_json::from_str::<NeuralCiConfig>(r#"{"epoch": 3}"#).is_err());
    }
}
