//! `causaldefend evaluate`: train (per seed), score held-out data, and
//! report window-level and node-level quality of the GNN beside the rarity
//! baseline, as mean ± standard deviation over seeds.
//!
//! auditd split (deterministic, by recording name): of the benign
//! recordings, the first two thirds of the short ones and every other long
//! one (the first, third, ...) train; the rest, with every attack recording, test. A window is an attack
//! window when it holds a process whose pid is in its recording's
//! `truth.json:malicious_pids`; a process node is malicious on the same rule
//! (node scores are the entity's highest over the windows it appears in).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anyhow::Context;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use detect::metrics::{mean_std, pr_auc, roc_auc, Confusion};
use detect::{Detector, InMemory, PreparedWindow, RarityBaseline};
use event::EntityKind;
use graph::GraphWindow;
use serde::Serialize;

use crate::args::{DatasetArg, EvaluateArgs};
use crate::data::{discover, Sequence, WindowReader};
use crate::train_cmd::{reader_for, resolve_config};

/// A test sequence, read once and kept.
struct TestSeq {
    name: String,
    attack: bool,
    /// ATT&CK technique of the injected test (the recording's name when
    /// its truth names none), for leave-one-technique-out calibration.
    technique: String,
    malicious: std::collections::BTreeSet<u32>,
    windows: Vec<GraphWindow>,
    prepared: Vec<PreparedWindow>,
}

impl TestSeq {
    fn window_label(&self, w: &GraphWindow) -> bool {
        self.attack
            && w.nodes.iter().any(|n| {
                n.kind == EntityKind::Process && n.pid.is_some_and(|p| self.malicious.contains(&p))
            })
    }

    fn hours(&self) -> f64 {
        match (self.windows.first(), self.windows.last()) {
            (Some(a), Some(b)) => (b.end.as_nanos() - a.start.as_nanos()) as f64 / 3.6e12,
            _ => 0.0,
        }
    }
}

/// Figures of one scorer in one run.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Window-level ROC-AUC.
    pub window_roc_auc: Option<f64>,
    /// Window-level PR-AUC.
    pub window_pr_auc: Option<f64>,
    /// Window confusion at the threshold.
    pub window: Confusion,
    /// False alarms per benign host-hour (benign test recordings).
    pub false_alarms_per_benign_hour: f64,
    /// False alarms per host-hour of every test recording: alerts on the
    /// benign windows of attack recordings count too (the host runs its
    /// ordinary workload around the attack).
    pub false_alarms_per_hour_all: f64,
    /// Attack recordings with at least one alert on an attack window.
    pub attacks_detected: usize,
    /// Attack recordings tested.
    pub attacks_total: usize,
    /// Node-level ROC-AUC over process nodes.
    pub node_roc_auc: Option<f64>,
    /// Node-level PR-AUC.
    pub node_pr_auc: Option<f64>,
    /// Node confusion at the node threshold.
    pub node: Confusion,
    /// Node confusion of the product's verdict: a process is flagged when it
    /// is in the explained attack graph of an alert of its recording.
    pub explained: Option<Confusion>,
}

/// Scores of one scorer over the test set, then its figures.
///
/// The first `warmup` windows of each recording never alert (as in
/// `detect`): they count as not flagged, their nodes as scoring 0; the
/// window ROC-AUC still ranks their scores.
fn figures(
    tests: &[TestSeq],
    window_scores: &[Vec<f64>],
    node_scores: &[Vec<Vec<f64>>],
    threshold: f64,
    node_threshold: f64,
    warmup: usize,
) -> Figures {
    let mut ws = Vec::new();
    let mut wl = Vec::new();
    let mut flagged = Vec::new();
    let mut benign_fp = 0u64;
    let mut benign_hours = 0.0;
    let mut all_fp = 0u64;
    let mut all_hours = 0.0;
    let mut attacks_detected = 0;
    let mut attacks_total = 0;
    let mut nodes: HashMap<(usize, u64), (f64, bool)> = HashMap::new();
    for (si, t) in tests.iter().enumerate() {
        let mut detected = false;
        all_hours += t.hours();
        if t.attack {
            attacks_total += 1;
        } else {
            benign_hours += t.hours();
        }
        for (wi, w) in t.windows.iter().enumerate() {
            let score = window_scores[si][wi];
            let label = t.window_label(w);
            ws.push(score);
            wl.push(label);
            let warm = wi < warmup;
            flagged.push(if !warm && score > threshold { 1.0 } else { 0.0 });
            if !warm && score > threshold {
                if label {
                    detected = true;
                }
                if !t.attack {
                    benign_fp += 1;
                }
                if !label {
                    all_fp += 1;
                }
            }
            for (row, n) in w.nodes.iter().enumerate() {
                if n.kind != EntityKind::Process {
                    continue;
                }
                let s = if warm {
                    0.0
                } else {
                    node_scores[si][wi].get(row).copied().unwrap_or(0.0)
                };
                let label = t.attack && n.pid.is_some_and(|p| t.malicious.contains(&p));
                let e = nodes.entry((si, n.id.0)).or_insert((f64::MIN, label));
                e.0 = e.0.max(s);
            }
        }
        if detected {
            attacks_detected += 1;
        }
    }
    let mut keys: Vec<_> = nodes.keys().copied().collect();
    keys.sort_unstable();
    let ns: Vec<f64> = keys.iter().map(|k| nodes[k].0).collect();
    let nl: Vec<bool> = keys.iter().map(|k| nodes[k].1).collect();
    Figures {
        window_roc_auc: roc_auc(&ws, &wl),
        window_pr_auc: pr_auc(&ws, &wl),
        window: Confusion::at(&flagged, &wl, 0.5),
        false_alarms_per_benign_hour: if benign_hours > 0.0 {
            benign_fp as f64 / benign_hours
        } else {
            f64::NAN
        },
        false_alarms_per_hour_all: if all_hours > 0.0 {
            all_fp as f64 / all_hours
        } else {
            f64::NAN
        },
        attacks_detected,
        attacks_total,
        node_roc_auc: roc_auc(&ns, &nl),
        node_pr_auc: pr_auc(&ns, &nl),
        node: Confusion::at(&ns, &nl, node_threshold),
        explained: None,
    }
}

/// What one scorer's alerts say about processes once explained, as
/// `detect --explain` would: every alert (past the warm-up) seeds an
/// explanation from its flagged nodes, and the processes of the reduced
/// graphs are the recording's flagged processes. Counted over the same
/// process nodes as the node figures.
#[allow(clippy::too_many_arguments)]
fn explained_nodes(
    tests: &[TestSeq],
    graphs: &[explain::ProvGraph],
    window_scores: &[Vec<f64>],
    node_scores: &[Vec<Vec<f64>>],
    threshold: f64,
    node_threshold: f64,
    warmup: usize,
    ex: &explain::Explainer,
) -> anyhow::Result<Confusion> {
    // Verdicts as 0/1 scores, counted by Confusion::at above 0.5.
    let (mut verdicts, mut labels) = (Vec::new(), Vec::new());
    for (si, t) in tests.iter().enumerate() {
        let g = &graphs[si];
        let mut flagged = std::collections::BTreeSet::new();
        for (wi, w) in t.windows.iter().enumerate() {
            if wi < warmup || window_scores[si][wi] <= threshold {
                continue;
            }
            let (seeds, anomaly) = crate::explain_cmd::seeds_from_scores(
                g,
                &w.nodes,
                &node_scores[si][wi],
                node_threshold,
                w.end.as_nanos(),
            );
            let x = ex.explain(g, &seeds, &anomaly)?;
            tracing::debug!(
                recording = %t.name,
                window = wi,
                seeds = seeds.len(),
                entities = x.entities.len(),
                processes = x.entities.iter().filter(|e| e.kind == "process").count(),
                seed_entities = ?x.seeds,
                root_causes = ?x.root_causes,
                "alert explained"
            );
            flagged.extend(
                x.entities
                    .iter()
                    .filter(|e| e.kind == "process")
                    .filter_map(|e| e.pid),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for n in t.windows.iter().flat_map(|w| &w.nodes) {
            if n.kind != EntityKind::Process || !seen.insert(n.id) {
                continue;
            }
            let label = t.attack && n.pid.is_some_and(|p| t.malicious.contains(&p));
            let verdict = n.pid.is_some_and(|p| flagged.contains(&p));
            if verdict && !label {
                tracing::debug!(
                    recording = %t.name,
                    pid = ?n.pid,
                    exe = ?n.name,
                    cmdline = ?n.cmdline,
                    "benign process in an explanation"
                );
            }
            labels.push(label);
            verdicts.push(f64::from(u8::from(verdict)));
        }
    }
    Ok(Confusion::at(&verdicts, &labels, 0.5))
}

/// Random calibration/test splits of the benign test windows whose
/// conformal figures `evaluate` averages (see `evaluate_conformal::mean_of`).
pub(crate) const CONFORMAL_SPLITS: u64 = 50;

/// Whether benign test window `k` (past the warm-up) of `recording` joins
/// the conformal calibration rather than the test in split `salt`: a fair
/// coin from a hash of the three, the same in every run and seed.
///
/// Why not alternate by position: the first window past the warm-up of a
/// short recording holds the web server's first requests, its scores the
/// benign tail; with even positions testing, every one of them tested and
/// none calibrated, and benign coverage came out at 0.90 for 0.95 (session 5).
/// A coin keeps calibration and test exchangeable, as split conformal needs.
pub(crate) fn calibrates(recording: &str, k: usize, salt: u64) -> bool {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for b in recording
        .bytes()
        .chain((k as u64).to_le_bytes())
        .chain(salt.to_le_bytes())
    {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // SplitMix64's finaliser, so that neighbouring k differ in the top bit.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (h ^ (h >> 31)) >> 63 == 1
}

/// One seed's results.
#[derive(Debug, Clone, Serialize)]
pub struct SeedRun {
    /// Seed.
    pub seed: u64,
    /// The GNN.
    pub gnn: Figures,
    /// The rarity baseline.
    pub baseline: Figures,
    /// Training seconds.
    pub train_secs: f64,
    /// Epochs run.
    pub epochs: usize,
    /// The GNN's window threshold and where it came from (the held-out
    /// validation windows: how many, their highest score), to tell a
    /// threshold set by an extrapolated tail from one set by a benign outlier.
    pub window_threshold: f64,
    /// Validation windows the thresholds were taken from.
    pub validation_windows: usize,
    /// The highest of their scores.
    pub validation_max: f64,
    /// Conformal coverage, set sizes, ECE and drift (GNN scores), the
    /// mean over random calibration/test splits of the benign test windows.
    pub conformal: Option<crate::evaluate_conformal::ConformalFigures>,
    /// The same with the benign calibration from the held-out validation
    /// recordings only and every benign test window tested: the deployed
    /// set-up, where calibration and test are different recordings.
    pub conformal_held_out: Option<crate::evaluate_conformal::ConformalFigures>,
}

fn split_auditd(seqs: Vec<Sequence>) -> anyhow::Result<(Vec<Sequence>, Vec<Sequence>)> {
    let mut benign_short = Vec::new();
    let mut benign_long = Vec::new();
    let mut attacks = Vec::new();
    for s in seqs {
        let truth = s
            .truth
            .as_ref()
            .with_context(|| format!("{}: no truth.json beside it", s.name))?;
        if truth.is_attack() {
            attacks.push(s);
        } else if s.name.contains("long") {
            benign_long.push(s);
        } else {
            benign_short.push(s);
        }
    }
    for v in [&mut benign_short, &mut benign_long, &mut attacks] {
        v.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if benign_short.len() < 2 || attacks.is_empty() {
        anyhow::bail!(
            "the auditd dataset needs at least two benign and one attack recording (found {} benign, {} attack)",
            benign_short.len() + benign_long.len(),
            attacks.len()
        );
    }
    let n_train_short = (benign_short.len() * 2).div_ceil(3);
    let test_short = benign_short.split_off(n_train_short);
    // Long recordings alternate between training and test (by name). The
    // sequences held out for validation are the last ones of the training
    // list: with one training long recording it comes first (it is most of
    // the benign data and trains); with more, the last of them goes last, so
    // that the thresholds are the maximum over tens of benign windows rather
    // than the handful of two short recordings.
    let mut train = Vec::new();
    let mut test = test_short;
    for (i, s) in benign_long.into_iter().enumerate() {
        if i % 2 == 0 {
            train.push(s);
        } else {
            test.push(s);
        }
    }
    let validating_long = (train.len() > 1).then(|| train.pop()).flatten();
    train.extend(benign_short);
    train.extend(validating_long);
    test.extend(attacks);
    Ok((train, test))
}

fn windows_of(
    reader: &WindowReader,
    seq: &Sequence,
    max_edges: usize,
) -> anyhow::Result<(Vec<GraphWindow>, Vec<PreparedWindow>)> {
    let w = reader.windows(seq)?;
    let p = w.iter().map(|w| detect::prepare(w, max_edges)).collect();
    Ok((w, p))
}

/// Window and node scores of both scorers for one seed.
struct AllScores<'a> {
    gnn: (&'a [Vec<f64>], &'a [Vec<Vec<f64>>]),
    baseline: (&'a [Vec<f64>], &'a [Vec<Vec<f64>>]),
    /// GNN window and node thresholds, then the baseline's.
    thresholds: [f64; 4],
}

/// Writes one JSON line per test window: its label, both scorers' scores,
/// and every process node with its label and both node scores.
fn write_scores(path: &std::path::Path, tests: &[TestSeq], all: &AllScores) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let [t, nt, bt, bnt] = all.thresholds;
    writeln!(
        out,
        "{}",
        serde_json::json!({"thresholds": {"gnn_window": t, "gnn_node": nt, "baseline_window": bt, "baseline_node": bnt}})
    )?;
    for (si, test) in tests.iter().enumerate() {
        for (wi, w) in test.windows.iter().enumerate() {
            let node = |scores: &[Vec<Vec<f64>>], row: usize| {
                scores[si][wi].get(row).copied().unwrap_or(0.0)
            };
            let processes: Vec<_> = w
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.kind == EntityKind::Process)
                .map(|(row, n)| {
                    serde_json::json!({
                        "pid": n.pid,
                        "exe": n.name,
                        "cmdline": n.cmdline,
                        "malicious": test.attack && n.pid.is_some_and(|p| test.malicious.contains(&p)),
                        "gnn": node(all.gnn.1, row),
                        "baseline": node(all.baseline.1, row),
                    })
                })
                .collect();
            let mut top: Vec<(usize, f64)> = (0..w.nodes.len())
                .map(|r| (r, node(all.gnn.1, r)))
                .collect();
            top.sort_by(|a, b| b.1.total_cmp(&a.1));
            let top: Vec<_> = top
                .iter()
                .take(10)
                .map(|&(r, s)| serde_json::json!({"kind": w.nodes[r].kind, "name": w.nodes[r].name, "gnn": s}))
                .collect();
            let line = serde_json::json!({
                "recording": test.name,
                "window": w.id,
                "attack_window": test.window_label(w),
                "gnn": all.gnn.0[si][wi],
                "baseline": all.baseline.0[si][wi],
                "nodes": w.nodes.len(),
                "top": top,
                "processes": processes,
            });
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `mean ± sd` of one figure over the seeds' runs: a cell of the tables
/// every `evaluate` dataset prints.
pub(crate) fn over_runs<R>(runs: &[R], figure: impl Fn(&R) -> f64) -> String {
    fmt_ms(&runs.iter().map(figure).collect::<Vec<_>>())
}

/// `mean ± sd` of the finite values, `n/a` when there are none.
pub(crate) fn fmt_ms(values: &[f64]) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return "n/a".to_owned();
    }
    let (m, s) = mean_std(&finite);
    format!("{m:.3} ± {s:.3}")
}

/// Runs `evaluate`.
pub fn run(args: &EvaluateArgs, quiet: bool) -> anyhow::Result<u8> {
    if args.scores.is_some()
        && (args.task == crate::args::TaskArg::Explain || args.dataset != DatasetArg::Auditd)
    {
        anyhow::bail!(
            "--scores is written by `evaluate --dataset auditd` (task detect) only: the other \
             datasets and tasks have no per-process truth to put beside the scores"
        );
    }
    if !args.extra_data.is_empty()
        && (args.task == crate::args::TaskArg::Explain || args.dataset != DatasetArg::Auditd)
    {
        anyhow::bail!(
            "--extra-data adds recordings to `evaluate --dataset auditd` (task detect) only"
        );
    }
    if args.task == crate::args::TaskArg::Explain {
        return crate::evaluate_explain::run(args);
    }
    match args.dataset {
        DatasetArg::Windows => return crate::evaluate_windows::run(args, quiet),
        DatasetArg::StreamSpot | DatasetArg::DarpaTc => {
            return crate::evaluate_supplied::run(args, quiet)
        }
        DatasetArg::Auditd => {}
    }
    let started = Instant::now();
    let base = resolve_config(&args.train)?;
    let reader = reader_for(&args.train, &base)?;
    let device = detect::device(args.train.gpus)?;
    let policy = crate::conformal_cmd::load_policy(None)?;
    let mut roots = vec![args.data.clone()];
    roots.extend(args.extra_data.iter().cloned());
    let (train_seqs, test_seqs) = split_auditd(discover(&roots)?)?;
    tracing::info!(
        train = train_seqs.len(),
        test = test_seqs.len(),
        "reading recordings"
    );

    let mut train_mem = InMemory::default();
    let mut baseline = RarityBaseline::default();
    let mut baseline_val_windows = Vec::new();
    let mut baseline_val_nodes = Vec::new();
    let mut train_graph: Vec<Vec<GraphWindow>> = Vec::new();
    for s in &train_seqs {
        let (w, p) = windows_of(&reader, s, base.max_edges_per_window)?;
        train_mem.sequences.push(p);
        train_mem.names.push(s.name.clone());
        train_graph.push(w);
    }
    // The baseline learns from the same training windows and takes its
    // thresholds from the same held-out windows as the GNN.
    let n_seq = train_graph.len();
    let splits: Vec<usize> = train_graph
        .iter()
        .enumerate()
        .map(|(i, w)| detect::train::training_windows(i, n_seq, w.len(), base.validation_fraction))
        .collect();
    for (windows, &split) in train_graph.iter().zip(&splits) {
        for w in &windows[..split] {
            baseline.fit_window(w);
        }
    }
    for (i, windows) in train_graph.iter().enumerate() {
        let counted =
            detect::train::threshold_windows(i, n_seq, windows.len(), base.validation_fraction);
        for (_, w) in windows
            .iter()
            .enumerate()
            .filter(|(k, _)| counted.contains(k) && *k >= base.warmup_windows)
        {
            let (s, nodes) = baseline.score(w, base.window_top_k);
            baseline_val_windows.push(s);
            baseline_val_nodes.extend(nodes);
        }
    }
    baseline_val_windows.sort_by(f64::total_cmp);
    let b_threshold = detect::detector::window_threshold(&baseline_val_windows, &base).0;
    baseline_val_nodes.sort_by(f64::total_cmp);
    let b_node_threshold =
        detect::detector::node_threshold(&baseline_val_nodes, b_threshold, &base);
    drop(train_graph);

    let mut tests = Vec::new();
    for s in &test_seqs {
        let (windows, prepared) = windows_of(&reader, s, base.max_edges_per_window)?;
        let (attack, malicious) = s
            .truth
            .as_ref()
            .map(|t| (t.is_attack(), t.malicious_pids.clone()))
            .unwrap_or_default();
        let technique = s
            .truth
            .as_ref()
            .and_then(|t| t.roots.first())
            .map_or_else(|| s.name.clone(), |r| r.technique.clone());
        tests.push(TestSeq {
            name: s.name.clone(),
            attack,
            technique,
            malicious,
            windows,
            prepared,
        });
    }
    // One scoring per window gives both the window and the node scores.
    let (b_windows, b_nodes): (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) = tests
        .iter()
        .map(|t| {
            t.windows
                .iter()
                .map(|w| baseline.score(w, base.window_top_k))
                .unzip()
        })
        .unzip();
    let explainer = crate::explain_cmd::explainer(None, &[], None, None, None)?;
    let graphs: Vec<explain::ProvGraph> = tests
        .iter()
        .map(|t| explain::ProvGraph::from_windows(t.windows.iter()))
        .collect();
    let mut baseline_figures = figures(
        &tests,
        &b_windows,
        &b_nodes,
        b_threshold,
        b_node_threshold,
        base.warmup_windows,
    );
    baseline_figures.explained = Some(explained_nodes(
        &tests,
        &graphs,
        &b_windows,
        &b_nodes,
        b_threshold,
        b_node_threshold,
        base.warmup_windows,
        &explainer,
    )?);

    let mut runs = Vec::new();
    for i in 0..args.seeds {
        let mut config = base.clone();
        config.seed = base.seed.wrapping_add(i);
        let t0 = Instant::now();
        let pb = crate::train_cmd::epoch_bar(config.epochs, quiet);
        let ckpt = detect::train(config.clone(), &train_mem, &device, &mut |e| {
            pb.set_position(e.epoch as u64);
            pb.set_message(format!("seed {} loss {:.4}", config.seed, e.train_loss));
        })?;
        pb.finish_and_clear();
        let train_secs = t0.elapsed().as_secs_f64();
        let epochs = ckpt.meta.history.len();
        let threshold = ckpt.meta.thresholds.window;
        let node_threshold = ckpt.meta.thresholds.node;
        let validation = &ckpt.meta.thresholds.validation_window_scores;
        let (validation_windows, validation_max) = (
            validation.len(),
            validation.iter().copied().fold(f64::NAN, f64::max),
        );
        let mut detector = Detector::new(ckpt, device.clone());
        let mut g_windows = Vec::new();
        let mut g_nodes = Vec::new();
        for t in &tests {
            detector.reset();
            let mut ws = Vec::new();
            let mut ns = Vec::new();
            for p in &t.prepared {
                let s = detector.score(p)?;
                ws.push(s.score);
                ns.push(s.node_scores);
            }
            g_windows.push(ws);
            g_nodes.push(ns);
        }
        let mut gnn = figures(
            &tests,
            &g_windows,
            &g_nodes,
            threshold,
            node_threshold,
            config.warmup_windows,
        );
        gnn.explained = Some(explained_nodes(
            &tests,
            &graphs,
            &g_windows,
            &g_nodes,
            threshold,
            node_threshold,
            config.warmup_windows,
            &explainer,
        )?);
        if let (0, Some(path)) = (i, &args.scores) {
            let all = AllScores {
                gnn: (&g_windows, &g_nodes),
                baseline: (&b_windows, &b_nodes),
                thresholds: [threshold, node_threshold, b_threshold, b_node_threshold],
            };
            write_scores(path, &tests, &all)?;
        }
        // Conformal, as deployed: benign calibration from the held-out
        // validation windows (the exchangeable split below uses test windows).
        let mut benign_cal = Vec::new();
        let n_seq = train_mem.sequences.len();
        for (i, windows) in train_mem.sequences.iter().enumerate() {
            let split =
                detect::train::training_windows(i, n_seq, windows.len(), base.validation_fraction);
            if split == windows.len() {
                continue;
            }
            detector.reset();
            for (wi, p) in windows.iter().enumerate() {
                let s = detector.score(p)?;
                if wi >= split && !s.warmup {
                    benign_cal.push(s.score);
                }
            }
        }
        // Attack windows are grouped by technique, so that a recording is
        // never judged by a calibration holding a replay of its own test.
        let mut by_technique: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        // Benign test windows past the warm-up, in stream order.
        let mut benign_pool: Vec<(&str, usize, f64)> = Vec::new();
        for (si, t) in tests.iter().enumerate() {
            if t.attack {
                by_technique
                    .entry(t.technique.as_str())
                    .or_default()
                    .extend(
                        t.windows
                            .iter()
                            .zip(&g_windows[si])
                            .skip(config.warmup_windows)
                            .filter(|(w, _)| t.window_label(w))
                            .map(|(_, &s)| s),
                    );
            } else {
                benign_pool.extend(
                    g_windows[si]
                        .iter()
                        .skip(config.warmup_windows)
                        .enumerate()
                        .map(|(k, &x)| (t.name.as_str(), k, x)),
                );
            }
        }
        let attack_groups: Vec<Vec<f64>> = by_technique.into_values().collect();
        // Exchangeable: the benign test windows split between calibration
        // and test by a coin per window, over CONFORMAL_SPLITS draws.
        let splits: Vec<_> = (0..CONFORMAL_SPLITS)
            .filter_map(|salt| {
                let (cal, test): (Vec<&(&str, usize, f64)>, Vec<_>) = benign_pool
                    .iter()
                    .partition(|(name, k, _)| calibrates(name, *k, salt));
                crate::evaluate_conformal::figures(
                    &crate::evaluate_conformal::Scores {
                        benign_cal: cal.iter().map(|w| w.2).collect(),
                        attack_cal: Vec::new(),
                        benign_test: test.iter().map(|w| w.2).collect(),
                        attack_test: Vec::new(),
                        attack_groups: attack_groups.clone(),
                    },
                    &policy,
                )
            })
            .collect();
        let conformal = crate::evaluate_conformal::mean_of(&splits);
        // As deployed: calibrated on held-out recordings (the validation
        // ones), tested on every benign test window.
        let conformal_held_out = crate::evaluate_conformal::figures(
            &crate::evaluate_conformal::Scores {
                benign_cal,
                attack_cal: Vec::new(),
                benign_test: benign_pool.iter().map(|w| w.2).collect(),
                attack_test: Vec::new(),
                attack_groups,
            },
            &policy,
        );
        tracing::info!(seed = config.seed, train_secs, "seed done");
        runs.push(SeedRun {
            seed: config.seed,
            gnn,
            baseline: baseline_figures.clone(),
            train_secs,
            epochs,
            window_threshold: threshold,
            validation_windows,
            validation_max,
            conformal,
            conformal_held_out,
        });
    }
    let report = render(
        args,
        &runs,
        &train_seqs,
        &tests,
        started.elapsed().as_secs_f64(),
    );
    println!("{report}");
    if let Some(out) = &args.output {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let v = serde_json::json!({
            "dataset": "auditd",
            "data": args.data.display().to_string(),
            "extra_data": args.extra_data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "config": base,
            "train": train_seqs.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "test": tests.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
            "runs": runs,
        });
        std::fs::write(out, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", out.display()))?;
        let md = out.with_extension("md");
        std::fs::write(&md, &report).with_context(|| format!("writing {}", md.display()))?;
    }
    Ok(0)
}

fn render(
    args: &EvaluateArgs,
    runs: &[SeedRun],
    train: &[Sequence],
    tests: &[TestSeq],
    secs: f64,
) -> String {
    type Get = fn(&Figures) -> f64;
    let rows: Vec<(&str, Get)> = vec![
        ("window ROC-AUC", |f| f.window_roc_auc.unwrap_or(f64::NAN)),
        ("window PR-AUC", |f| f.window_pr_auc.unwrap_or(f64::NAN)),
        ("window precision", |f| f.window.precision()),
        ("window recall", |f| f.window.recall()),
        ("window F1", |f| f.window.f1()),
        ("window MCC", |f| f.window.mcc()),
        ("window TP", |f| f.window.tp as f64),
        ("window FP", |f| f.window.fp as f64),
        ("window TN", |f| f.window.tn as f64),
        ("window FN", |f| f.window.r#fn as f64),
        (
            "false alarms / host-hour, attack recordings' benign windows too",
            |f| f.false_alarms_per_hour_all,
        ),
        ("false alarms / benign host-hour", |f| {
            f.false_alarms_per_benign_hour
        }),
        ("attack recordings detected", |f| f.attacks_detected as f64),
        ("node ROC-AUC (processes)", |f| {
            f.node_roc_auc.unwrap_or(f64::NAN)
        }),
        ("node PR-AUC", |f| f.node_pr_auc.unwrap_or(f64::NAN)),
        ("node precision", |f| f.node.precision()),
        ("node recall", |f| f.node.recall()),
        ("node F1", |f| f.node.f1()),
        ("node MCC", |f| f.node.mcc()),
        ("node TP", |f| f.node.tp as f64),
        ("node FP", |f| f.node.fp as f64),
        ("node TN", |f| f.node.tn as f64),
        ("node FN", |f| f.node.r#fn as f64),
        ("node precision, alerts explained", |f| {
            f.explained.map_or(f64::NAN, |c| c.precision())
        }),
        ("node recall, alerts explained", |f| {
            f.explained.map_or(f64::NAN, |c| c.recall())
        }),
        ("node F1, alerts explained", |f| {
            f.explained.map_or(f64::NAN, |c| c.f1())
        }),
        ("node MCC, alerts explained", |f| {
            f.explained.map_or(f64::NAN, |c| c.mcc())
        }),
        ("node TP, alerts explained", |f| {
            f.explained.map_or(f64::NAN, |c| c.tp as f64)
        }),
        ("node FP, alerts explained", |f| {
            f.explained.map_or(f64::NAN, |c| c.fp as f64)
        }),
        ("node FN, alerts explained", |f| {
            f.explained.map_or(f64::NAN, |c| c.r#fn as f64)
        }),
    ];
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec!["metric", "GNN (mean ± sd)", "rarity baseline"]);
    let mut md = String::from("| metric | GNN (mean ± sd) | rarity baseline |\n|---|---|---|\n");
    for (name, get) in rows {
        let (g, b) = (
            over_runs(runs, |r| get(&r.gnn)),
            over_runs(runs, |r| get(&r.baseline)),
        );
        md.push_str(&format!("| {name} | {g} | {b} |\n"));
        t.add_row(vec![name.to_owned(), g, b]);
    }
    let attacks = tests.iter().filter(|t| t.attack).count();
    let per_seed: BTreeMap<u64, String> = runs
        .iter()
        .map(|r| {
            (
                r.seed,
                format!(
                    "{} epochs, {:.0} s training, window AUC {:.3}, node AUC {:.3}, {} / {} attacks, window threshold {:.2} ({} validation windows, highest {:.2})",
                    r.epochs,
                    r.train_secs,
                    r.gnn.window_roc_auc.unwrap_or(f64::NAN),
                    r.gnn.node_roc_auc.unwrap_or(f64::NAN),
                    r.gnn.attacks_detected,
                    r.gnn.attacks_total,
                    r.window_threshold,
                    r.validation_windows,
                    r.validation_max
                ),
            )
        })
        .collect();
    let mut s = format!(
        "causaldefend evaluate --dataset auditd --data {}{} --seeds {}\n\
         train: {} benign recordings; test: {} recordings ({} attack); {:.0} s in all\n{t}\n",
        args.data.display(),
        args.extra_data
            .iter()
            .map(|p| format!(" --extra-data {}", p.display()))
            .collect::<String>(),
        args.seeds,
        train.len(),
        tests.len(),
        attacks,
        secs
    );
    for (seed, line) in per_seed {
        s.push_str(&format!("seed {seed}: {line}\n"));
    }
    s.push('\n');
    s.push_str(&md);
    s.push_str(&render_conformal(runs));
    s
}

fn render_conformal(runs: &[SeedRun]) -> String {
    let mut s = render_conformal_of(
        &runs
            .iter()
            .filter_map(|r| r.conformal.clone())
            .collect::<Vec<_>>(),
    );
    s.push_str(
        "\nAs deployed: benign calibration from the held-out validation recordings only, \
         every benign test window tested (other recordings than calibrated on):\n",
    );
    s.push_str(&render_conformal_of(
        &runs
            .iter()
            .filter_map(|r| r.conformal_held_out.clone())
            .collect::<Vec<_>>(),
    ));
    s
}

/// The conformal tables (mean ± sd over seeds) as Markdown.
pub(crate) fn render_conformal_of(all: &[crate::evaluate_conformal::ConformalFigures]) -> String {
    let conf: Vec<&crate::evaluate_conformal::ConformalFigures> = all.iter().collect();
    let Some(first) = conf.first() else {
        return "\nconformal: not computed (no calibration windows)\n".to_owned();
    };
    let splits = if first.splits > 1 {
        format!(
            "; mean of {} random calibration/test splits per seed",
            first.splits
        )
    } else {
        String::new()
    };
    let mut s = format!(
        "\nConformal (Mondrian; calibration {} benign + {} attack windows; test {} benign + {} attack windows{splits})\n\n\
         | level | benign coverage | attack coverage | mean set size | escalation rate |\n|---|---|---|---|---|\n",
        first.benign_calibration, first.attack_calibration, first.benign_test, first.attack_test
    );
    for (i, level) in crate::evaluate_conformal::LEVELS.iter().enumerate() {
        let col = |get: &dyn Fn(&crate::evaluate_conformal::LevelFigures) -> f64| {
            let v: Vec<f64> = conf
                .iter()
                .filter_map(|c| c.levels.get(i))
                .map(get)
                .collect();
            fmt_ms(&v)
        };
        s.push_str(&format!(
            "| {level} | {} | {} | {} | {} |\n",
            col(&|l| l.benign_coverage.unwrap_or(f64::NAN)),
            col(&|l| l.attack_coverage.unwrap_or(f64::NAN)),
            col(&|l| l.mean_set_size),
            col(&|l| l.escalation_rate),
        ));
    }
    let ece: Vec<f64> = conf.iter().filter_map(|c| c.ece).collect();
    s.push_str(&format!(
        "\nECE of the confidence (10 bins): {}\n",
        fmt_ms(&ece)
    ));
    let drift: Vec<&crate::evaluate_conformal::DriftFigures> =
        conf.iter().filter_map(|c| c.drift.as_ref()).collect();
    if let Some(d) = drift.first() {
        let col = |get: &dyn Fn(&crate::evaluate_conformal::DriftFigures) -> Option<f64>| {
            let v: Vec<f64> = drift.iter().filter_map(|d| get(d)).collect();
            fmt_ms(&v)
        };
        s.push_str(&format!(
            "\nDrift (benign test stream; calibrate on the first {} windows, test on the next {}; level {}):\n\n\
             | calibration | coverage |\n|---|---|\n| fixed | {} |\n| ACI (gamma 0.01, true labels fed back) | {} |\n| rolling (last {} benign windows) | {} |\n",
            d.calibration_windows,
            d.test_windows,
            d.level,
            col(&|d| d.fixed),
            col(&|d| d.aci),
            d.calibration_windows,
            col(&|d| d.rolling),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_coin_is_fair_and_not_positional() {
        let names: Vec<String> = (0..40)
            .map(|i| format!("benign_s{i}/audit.log.zst"))
            .collect();
        let picks: Vec<bool> = names
            .iter()
            .flat_map(|n| (0..50).map(move |k| calibrates(n, k, 0)))
            .collect();
        let share = picks.iter().filter(|&&p| p).count() as f64 / picks.len() as f64;
        assert!((share - 0.5).abs() < 0.05, "{share}");
        // The first window past the warm-up goes to calibration for some
        // recordings and to test for others.
        let first = names.iter().filter(|n| calibrates(n, 0, 0)).count();
        assert!((10..=30).contains(&first), "{first}");
        // Another split draws other windows.
        let other = (0..50)
            .filter(|&k| calibrates(&names[0], k, 0) != calibrates(&names[0], k, 1))
            .count();
        assert!((10..=40).contains(&other), "{other}");
        // The same answer every time.
        assert_eq!(calibrates("x", 3, 1), calibrates("x", 3, 1));
    }
}
