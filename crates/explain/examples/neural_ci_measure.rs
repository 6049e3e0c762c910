//! Trains the neural CI tester and measures it on held-out cases: training
//! time, type-I error, power and cost per test, overall and per kind of
//! data, conditioning-set size and structure.
//!
//! ```text
//! cargo run --release -p causaldefend-explain --example neural_ci_measure -- \
//!     [--series LOG] [--held-out-series LOG] [--bin-secs 0.25] [--cases 1000] \
//!     [--seed 4242] [--config '{"epochs": 10}'] [--save tester.safetensors]
//! ```
//!
//! `--series` names a log (any format `ingest` sniffs) whose busiest
//! entities' activity counts per time bin feed the training provenance
//! cases; `--held-out-series` another log for the held-out ones (the same
//! log when not given), so that held-out provenance cases come from
//! entities the tester never saw. Without `--series`, simulation only.
//! `--config` overrides fields of the default `NeuralCiConfig` (JSON).
//!
//! Measured (default config, 2 shared CPU cores, release build), with
//!
//! ```text
//! D=../shared/data/auditd
//! cargo run --release -p causaldefend-explain --example neural_ci_measure -- \
//!     --series $D/benign_long_s121/audit.log.gz \
//!     --held-out-series $D/benign_long_s122/audit.log.gz
//! ```
//!
//! training 56.5 s (best epoch 8 of 10, validation accuracy 0.821); on 1000
//! held-out cases (seed 4242) at α = 0.05:
//!
//! | subset      | null | dep | type-I | power | rank-Fisher-z type-I / power |
//! |-------------|-----:|----:|-------:|------:|-----------------------------:|
//! | all         |  500 | 500 |  0.040 | 0.668 | 0.042 / 0.520 |
//! | continuous  |  218 | 240 |  0.046 | 0.625 | 0.078 / 0.442 |
//! | count       |  155 | 119 |  0.039 | 0.513 | 0.019 / 0.361 |
//! | provenance  |  127 | 141 |  0.031 | 0.872 | 0.008 / 0.787 |
//!
//! About 150 µs per test (noisy on a shared machine), nearly all of it
//! feature extraction: the reference test, which computes the same
//! features and no network, costs the same. The checkpoint is 259 KB and
//! byte-identical across runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use causaldefend_explain::causal::neural::ci_features;
use causaldefend_explain::causal::neural::{
    compare_ci_tests, held_out_cases, train_ci_tester, CiCase, DataKind, NeuralCiConfig, Structure,
};
use causaldefend_explain::causal::{CiOutcome, CiTest, Dataset};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A reference point, not one of the classical tests: the neural tester's
/// own Fisher-z-like feature (partial correlation of the rank residuals)
/// read as a standard normal, two-sided. It shows what a linear test on the
/// same residuals achieves on the same cases.
struct RankFisherZ;

impl CiTest for RankFisherZ {
    fn name(&self) -> &'static str {
        "rank-fisher-z (reference)"
    }

    fn test(
        &self,
        data: &Dataset,
        x: usize,
        y: usize,
        z: &[usize],
    ) -> causaldefend_explain::Result<CiOutcome> {
        let f = ci_features(data, x, y, z)?;
        // Feature 2 is sign(v)·ln(1 + |v|) of the statistic.
        let stat = f64::from(f[2]).exp_m1();
        Ok(CiOutcome {
            p_value: 2.0 * normal_upper_tail(stat),
            statistic: stat,
        })
    }
}

/// `1 − Φ(x)` for `x ≥ 0` (Abramowitz and Stegun 7.1.26, error below 1e-7).
fn normal_upper_tail(x: f64) -> f64 {
    let u = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * u);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    0.5 * poly * (-u * u).exp()
}

/// Busiest entities kept.
const MAX_SERIES: usize = 64;

/// Events per entity (as subject or object) per `bin_secs` time bin, for
/// the busiest entities of the log at `path`.
fn activity_series(path: &Path, bin_secs: f64) -> AnyResult<Vec<Vec<f64>>> {
    let stream = ingest::EventStream::open(
        path,
        ingest::InputFormat::Auto,
        ingest::IngestSettings::default(),
    )?;
    let events: Vec<(i64, _, _)> = stream
        .flatten()
        .map(|e| (e.ts.as_nanos(), e.subject.id, e.object.id))
        .collect();
    let (Some(t0), Some(t1)) = (
        events.iter().map(|e| e.0).min(),
        events.iter().map(|e| e.0).max(),
    ) else {
        return Ok(Vec::new());
    };
    let width = ((bin_secs * 1e9) as i64).max(1);
    let bins = ((t1 - t0) / width + 1) as usize;
    let mut per_entity: HashMap<_, Vec<f64>> = HashMap::new();
    for (ts, s, o) in events {
        let bin = (((ts - t0) / width) as usize).min(bins - 1);
        for id in [s, o] {
            per_entity.entry(id).or_insert_with(|| vec![0.0; bins])[bin] += 1.0;
        }
    }
    let mut series: Vec<Vec<f64>> = per_entity.into_values().collect();
    // Busiest first; ties broken by content so the order is reproducible.
    let total = |v: &Vec<f64>| v.iter().sum::<f64>();
    series.sort_by(|a, b| {
        total(b)
            .total_cmp(&total(a))
            .then_with(|| a.iter().map(|v| *v as u64).cmp(b.iter().map(|v| *v as u64)))
    });
    series.truncate(MAX_SERIES);
    Ok(series)
}

fn load(path: Option<&Path>, bin_secs: f64) -> AnyResult<Vec<Vec<f64>>> {
    let Some(p) = path else {
        return Ok(Vec::new());
    };
    let series = activity_series(p, bin_secs)?;
    let nonzero: Vec<usize> = series
        .iter()
        .map(|s| s.iter().filter(|v| **v > 0.0).count())
        .collect();
    println!(
        "real series: {} from {} ({} bins of {bin_secs} s; non-zero bins per series: min {}, max {})",
        series.len(),
        p.display(),
        series.first().map_or(0, Vec::len),
        nonzero.iter().min().unwrap_or(&0),
        nonzero.iter().max().unwrap_or(&0)
    );
    Ok(series)
}

fn main() -> AnyResult<()> {
    let mut series_path: Option<PathBuf> = None;
    let mut held_out_path: Option<PathBuf> = None;
    let mut bin_secs = 0.25;
    let mut n_cases = 1000usize;
    let mut seed = 4242u64;
    let mut cfg = NeuralCiConfig::default();
    let mut save: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--series" => series_path = Some(PathBuf::from(value)),
            "--held-out-series" => held_out_path = Some(PathBuf::from(value)),
            "--bin-secs" => bin_secs = value.parse()?,
            "--cases" => n_cases = value.parse()?,
            "--seed" => seed = value.parse()?,
            "--config" => cfg = serde_json::from_str(&value)?,
            "--save" => save = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let series = load(series_path.as_deref(), bin_secs)?;
    let held_out_series = match &held_out_path {
        Some(p) => load(Some(p), bin_secs)?,
        None => series.clone(),
    };
    println!("config: {}", serde_json::to_string(&cfg)?);

    let started = Instant::now();
    let tester = train_ci_tester(&cfg, &series, |epoch, loss| {
        eprintln!("epoch {epoch:>3}  train loss {loss:.4}");
    })?;
    let train_secs = started.elapsed().as_secs_f64();
    let m = tester.meta();
    let best = m
        .training
        .history
        .get(m.training.best_epoch.saturating_sub(1));
    println!(
        "training: {train_secs:.1} s ({} fit + {} validation cases, {} null cases in {} strata, \
         best epoch {} of {}: validation loss {:.4}, accuracy {:.3}; provenance series used {})",
        m.training.train_cases,
        m.training.validation_cases,
        m.null_scores.iter().map(|s| s.scores.len()).sum::<usize>(),
        m.null_scores.len(),
        m.training.best_epoch,
        m.training.history.len(),
        best.map_or(f64::NAN, |e| e.validation_loss),
        best.map_or(f64::NAN, |e| e.validation_accuracy),
        m.training.real_series_used,
    );
    if let Some(path) = &save {
        tester.save(path)?;
        println!("saved {}", path.display());
    }

    let cases = held_out_cases(seed, n_cases, &cfg.sim, &held_out_series)?;
    let mut subsets: Vec<(String, Vec<&CiCase>)> = vec![("all".into(), cases.iter().collect())];
    for kind in [DataKind::Continuous, DataKind::Count, DataKind::Provenance] {
        let subset: Vec<&CiCase> = cases.iter().filter(|c| c.kind == kind).collect();
        subsets.push((format!("{kind:?}").to_lowercase(), subset));
    }
    for k in 0..=cfg.sim.max_conditioning {
        let subset: Vec<&CiCase> = cases.iter().filter(|c| c.z.len() == k).collect();
        subsets.push((format!("|z|={k}"), subset));
    }
    let mut structures: Vec<Structure> = cases.iter().map(|c| c.structure).collect();
    structures.sort_by_key(|s| format!("{s:?}"));
    structures.dedup();
    for st in structures {
        let subset: Vec<&CiCase> = cases.iter().filter(|c| c.structure == st).collect();
        subsets.push((format!("{st:?}"), subset));
    }

    let tests: [&dyn CiTest; 2] = [&tester, &RankFisherZ];
    println!("held-out cases: {n_cases} (seed {seed}), alpha 0.05");
    println!(
        "{:<18} {:<26} {:>6} {:>6} {:>8} {:>8} {:>10}",
        "subset", "test", "null", "dep", "type-I", "power", "µs/test"
    );
    for (name, subset) in subsets {
        if subset.is_empty() {
            continue;
        }
        let owned: Vec<CiCase> = subset.into_iter().cloned().collect();
        for r in compare_ci_tests(&tests, &owned, 0.05)? {
            println!(
                "{name:<18} {:<26} {:>6} {:>6} {:>8.3} {:>8.3} {:>10.1}",
                r.name, r.n_null, r.n_dependent, r.type_i_error, r.power, r.micros_per_test
            );
        }
    }
    Ok(())
}
