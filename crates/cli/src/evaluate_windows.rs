//! `evaluate --dataset windows`: do Windows attack files rank above benign ones?
//!
//! The shared Windows set labels whole files (`labels.csv`: `path`, `label`),
//! not windows or processes, so this is a file-level test: a file's score is
//! its highest window score. Split: the benign files at even positions (by
//! path) train, the benign files at odd positions and every attack file test.
//! A file with no mapped event (a channel the Sysmon/Security table does not
//! cover) has no window and scores 0; how many did is reported.

use std::time::Instant;

use anyhow::Context;
use detect::metrics::{pr_auc, roc_auc, Confusion};
use detect::{Detector, InMemory, RarityBaseline};
use serde::Serialize;

use crate::args::EvaluateArgs;
use crate::data::{discover, Sequence};
use crate::evaluate::over_runs;
use crate::train_cmd::{reader_for, resolve_config};

/// File-level figures of one scorer.
#[derive(Debug, Clone, Serialize)]
pub struct FileFigures {
    /// ROC-AUC of file scores.
    pub roc_auc: Option<f64>,
    /// PR-AUC (attack = positive).
    pub pr_auc: Option<f64>,
    /// Files flagged (any window above the threshold) against their label.
    pub at_threshold: Confusion,
}

/// One seed.
#[derive(Debug, Clone, Serialize)]
pub struct WindowsRun {
    /// Seed.
    pub seed: u64,
    /// GNN.
    pub gnn: FileFigures,
    /// Rarity baseline.
    pub baseline: FileFigures,
    /// Conformal figures at window level (see [`conformal_split`]).
    pub conformal: Option<crate::evaluate_conformal::ConformalFigures>,
}

/// Window-level conformal roles on the Windows set, for random split
/// `salt`: the windows of the benign test files go to calibration or test
/// by a coin per window (few benign files have windows: one holds nearly
/// all), the attack files whose every window is the technique (the short
/// single-technique EVTX captures, not the whole-host OTRF ones) by a coin
/// per file. `evaluate` reports the mean over many salts
/// (`evaluate_conformal::mean_of`); alternating by position, as sessions
/// 2–5 did, fixed one split.
fn conformal_split(
    test: &[(Sequence, bool)],
    window_scores: &[Vec<f64>],
    salt: u64,
) -> crate::evaluate_conformal::Scores {
    let mut s = crate::evaluate_conformal::Scores {
        benign_cal: Vec::new(),
        attack_cal: Vec::new(),
        benign_test: Vec::new(),
        attack_test: Vec::new(),
        attack_groups: Vec::new(),
    };
    for ((seq, attack), scores) in test.iter().zip(window_scores) {
        if *attack {
            if !seq.name.starts_with("attack/evtx/") {
                continue;
            }
            if crate::evaluate::calibrates(&seq.name, 0, salt) {
                s.attack_cal.extend(scores);
            } else {
                s.attack_test.extend(scores);
            }
        } else {
            for (i, &x) in scores.iter().enumerate() {
                if crate::evaluate::calibrates(&seq.name, i, salt) {
                    s.benign_cal.push(x);
                } else {
                    s.benign_test.push(x);
                }
            }
        }
    }
    s
}

fn file_figures(scores: &[f64], labels: &[bool], threshold: f64) -> FileFigures {
    FileFigures {
        roc_auc: roc_auc(scores, labels),
        pr_auc: pr_auc(scores, labels),
        at_threshold: Confusion::at(scores, labels, threshold),
    }
}

/// Runs the Windows evaluation.
pub fn run(args: &EvaluateArgs, quiet: bool) -> anyhow::Result<u8> {
    let started = Instant::now();
    let base = resolve_config(&args.train)?;
    let reader = reader_for(&args.train, &base)?;
    let device = detect::device(args.train.gpus)?;
    let policy = crate::conformal_cmd::load_policy(None)?;
    let labels_path = args.data.join("labels.csv");
    let mut labels = ingest::labels::FileLabels::default();
    let report = labels
        .read_csv(&labels_path)
        .with_context(|| format!("reading {}", labels_path.display()))?;
    for e in &report.errors {
        tracing::warn!(error = %e, "label row skipped");
    }
    let mut benign: Vec<Sequence> = Vec::new();
    let mut attack: Vec<Sequence> = Vec::new();
    for s in discover(std::slice::from_ref(&args.data))? {
        match labels.is_attack(&s.name) {
            Some(true) => attack.push(s),
            Some(false) => benign.push(s),
            None => tracing::debug!(file = %s.name, "not in labels.csv; left out"),
        }
    }
    benign.sort_by(|a, b| a.name.cmp(&b.name));
    attack.sort_by(|a, b| a.name.cmp(&b.name));
    if benign.len() < 2 || attack.is_empty() {
        anyhow::bail!(
            "need at least two benign and one attack file with labels (found {} and {})",
            benign.len(),
            attack.len()
        );
    }
    let (train, test_benign): (Vec<_>, Vec<_>) = benign
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let train: Vec<Sequence> = train.into_iter().map(|(_, s)| s).collect();
    let mut test: Vec<(Sequence, bool)> =
        test_benign.into_iter().map(|(_, s)| (s, false)).collect();
    test.extend(attack.into_iter().map(|s| (s, true)));

    let mut mem = InMemory::default();
    let mut baseline = RarityBaseline::default();
    let mut train_windows = 0;
    let mut train_graphs = Vec::with_capacity(train.len());
    for s in &train {
        let w = reader.windows(s)?;
        for win in &w {
            baseline.fit_window(win);
        }
        train_windows += w.len();
        mem.sequences.push(
            w.iter()
                .map(|w| detect::prepare(w, base.max_edges_per_window))
                .collect(),
        );
        mem.names.push(s.name.clone());
        train_graphs.push(w);
    }
    if train_windows == 0 {
        anyhow::bail!("the benign training files hold no mapped events");
    }
    let mut test_windows = Vec::new();
    let mut empty = 0usize;
    for (s, _) in &test {
        let w = reader.windows(s)?;
        empty += usize::from(w.is_empty());
        test_windows.push(w);
    }
    let labels: Vec<bool> = test.iter().map(|(_, a)| *a).collect();
    let b_scores: Vec<f64> = test_windows
        .iter()
        .map(|ws| {
            ws.iter()
                .map(|w| baseline.score(w, base.window_top_k).0)
                .fold(0.0, f64::max)
        })
        .collect();
    // The baseline's threshold: its highest score on its own training windows.
    let b_threshold = train_graphs
        .iter()
        .flatten()
        .map(|w| baseline.score(w, base.window_top_k).0)
        .fold(0.0, f64::max);
    let mut runs = Vec::new();
    for i in 0..args.seeds {
        let mut config = base.clone();
        config.seed = base.seed.wrapping_add(i);
        // The files are separate short captures, not host streams: many hold
        // one window, so none is a warm-up.
        config.warmup_windows = 0;
        let pb = crate::train_cmd::epoch_bar(config.epochs, quiet);
        let ckpt = detect::train(config.clone(), &mem, &device, &mut |e| {
            pb.set_position(e.epoch as u64)
        })?;
        pb.finish_and_clear();
        let threshold = ckpt.meta.thresholds.window;
        let mut det = Detector::new(ckpt, device.clone());
        let mut scores = Vec::new();
        let mut per_window = Vec::new();
        for ws in &test_windows {
            det.reset();
            let mut best = 0.0f64;
            let mut all = Vec::with_capacity(ws.len());
            for w in ws {
                let s = det
                    .score(&detect::prepare(w, config.max_edges_per_window))?
                    .score;
                best = best.max(s);
                all.push(s);
            }
            scores.push(best);
            per_window.push(all);
        }
        let splits: Vec<_> = (0..crate::evaluate::CONFORMAL_SPLITS)
            .filter_map(|salt| {
                let roles = conformal_split(&test, &per_window, salt);
                tracing::debug!(
                    salt,
                    benign_calibration = roles.benign_cal.len(),
                    attack_calibration = roles.attack_cal.len(),
                    benign_test = roles.benign_test.len(),
                    attack_test = roles.attack_test.len(),
                    "conformal roles (windows)"
                );
                crate::evaluate_conformal::figures(&roles, &policy)
            })
            .collect();
        let conformal = crate::evaluate_conformal::mean_of(&splits);
        runs.push(WindowsRun {
            seed: config.seed,
            gnn: file_figures(&scores, &labels, threshold),
            baseline: file_figures(&b_scores, &labels, b_threshold),
            conformal,
        });
    }
    type Get = fn(&FileFigures) -> f64;
    let rows: Vec<(&str, Get)> = vec![
        ("file ROC-AUC", |f| f.roc_auc.unwrap_or(f64::NAN)),
        ("file PR-AUC", |f| f.pr_auc.unwrap_or(f64::NAN)),
        ("files flagged: TP", |f| f.at_threshold.tp as f64),
        ("files flagged: FP", |f| f.at_threshold.fp as f64),
        ("files not flagged: TN", |f| f.at_threshold.tn as f64),
        ("files not flagged: FN", |f| f.at_threshold.r#fn as f64),
        ("precision", |f| f.at_threshold.precision()),
        ("recall", |f| f.at_threshold.recall()),
        ("MCC", |f| f.at_threshold.mcc()),
    ];
    let mut md = format!(
        "causaldefend evaluate --dataset windows --data {} --seeds {}\n\
         train: {} benign files ({} windows); test: {} benign + {} attack files, {} of them with no mapped event; {:.0} s\n\n\
         | metric | GNN (mean ± sd) | rarity baseline |\n|---|---|---|\n",
        args.data.display(),
        args.seeds,
        train.len(),
        train_windows,
        labels.iter().filter(|l| !**l).count(),
        labels.iter().filter(|l| **l).count(),
        empty,
        started.elapsed().as_secs_f64()
    );
    for (name, get) in rows {
        let (g, b) = (
            over_runs(&runs, |r| get(&r.gnn)),
            over_runs(&runs, |r| get(&r.baseline)),
        );
        md.push_str(&format!("| {name} | {g} | {b} |\n"));
    }
    md.push_str(&crate::evaluate::render_conformal_of(
        &runs
            .iter()
            .filter_map(|r| r.conformal.clone())
            .collect::<Vec<_>>(),
    ));
    println!("{md}");
    if let Some(out) = &args.output {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let v = serde_json::json!({
            "dataset": "windows",
            "config": base,
            "train": train.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "runs": runs,
        });
        std::fs::write(out, serde_json::to_string_pretty(&v)?)?;
        std::fs::write(out.with_extension("md"), &md)?;
    }
    Ok(0)
}
