//! `evaluate --dataset streamspot` and `--dataset darpa-tc`: the public
//! benchmarks a user brings (neither is redistributable here: StreamSpot's
//! edges are a Git LFS object, the TC engagements sit on Google Drive).
//!
//! Both run the same way: train a detector per seed on benign sequences
//! (from disk, one sequence in memory at a time), fit the rarity baseline on
//! the same windows and take its thresholds from the same held-out ones,
//! then read every test sequence once, window by window, scoring it with
//! the baseline and every seed's detector together, and keep only scores.
//!
//! * **StreamSpot** (graph level): `--data DIR` holds the edge file
//!   (`all.tsv`, gzip allowed) and `labels.csv` (`graph_id,scenario,label`).
//!   The edges are split by graph id into one file per graph (in
//!   `--work-dir`, a temporary folder by default), because each graph is one
//!   independent run of a scenario: the GRU never carries state from one
//!   graph into the next. Of each benign scenario the first two thirds of
//!   the graphs (by id) train, the rest test, with every attack graph. A
//!   graph's score is its highest window score; it is flagged when any
//!   window alerts. The labels are per graph, so there are no node figures.
//! * **DARPA TC** (window and node level): `--data DIR` holds `train/`
//!   (benign-period CDM files), `test/` and `labels.csv` (malicious node
//!   UUIDs: the shared merge of ThreaTrace's and Orthrus's lists, or any
//!   table `NodeLabels::read_labels_csv` reads). A node is malicious when
//!   its UUID is listed; a window is an attack window when it holds one.
//!   Node scores are an entity's highest over the windows it appears in, and
//!   every node kind counts (the published lists name files and flows too).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use detect::metrics::{pr_auc, roc_auc, Confusion};
use detect::{Detector, RarityBaseline};
use event::{EntityId, NativeId};
use graph::GraphWindow;
use ingest::labels::{GraphLabels, NodeLabels};
use ingest::InputFormat;
use serde::Serialize;

use crate::args::{DatasetArg, EvaluateArgs};
use crate::data::{discover, DiskSource, Origin, Sequence, WindowReader};
use crate::evaluate::over_runs;
use crate::train_cmd::{reader_for, resolve_config};

/// Figures of one scorer.
#[derive(Debug, Clone, Serialize)]
pub struct SuppliedFigures {
    /// ROC-AUC at the dataset's level (graph for StreamSpot, window for TC).
    pub roc_auc: Option<f64>,
    /// PR-AUC at that level (attack = positive).
    pub pr_auc: Option<f64>,
    /// Flagged against labelled at that level.
    pub at_threshold: Confusion,
    /// Node-level ROC-AUC (TC only).
    pub node_roc_auc: Option<f64>,
    /// Node-level PR-AUC (TC only).
    pub node_pr_auc: Option<f64>,
    /// Node confusion at the node threshold (TC only).
    pub node: Option<Confusion>,
}

/// One seed's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SuppliedRun {
    /// Seed.
    pub seed: u64,
    /// The GNN.
    pub gnn: SuppliedFigures,
    /// The rarity baseline (the same in every run: it has no seed).
    pub baseline: SuppliedFigures,
    /// Training seconds.
    pub train_secs: f64,
    /// Epochs run.
    pub epochs: usize,
}

/// How a dataset labels what it tests.
enum Truth {
    /// One label per test sequence (StreamSpot graphs).
    PerSequence(Vec<bool>),
    /// Malicious node ids (CDM UUIDs).
    PerNode(NodeLabels),
}

impl Truth {
    fn node_label(&self, native: &NativeId) -> bool {
        match (self, native) {
            (Self::PerNode(labels), NativeId::CdmUuid { uuid }) => labels.is_malicious_id(uuid),
            _ => false,
        }
    }
}

/// A scorer's thresholds (window, node).
#[derive(Debug, Clone, Copy)]
struct Thresholds {
    window: f64,
    node: f64,
}

/// Scores kept per scorer while the test data streams by.
#[derive(Default)]
struct Tally {
    /// Per unit (graph or window): score and flagged.
    units: Vec<(f64, bool)>,
    /// Per node: highest score.
    nodes: HashMap<(usize, EntityId), f64>,
}

/// Runs `evaluate` on a user-supplied StreamSpot or DARPA TC dataset.
pub fn run(args: &EvaluateArgs, quiet: bool) -> anyhow::Result<u8> {
    let started = Instant::now();
    let mut base = resolve_config(&args.train)?;
    let mut reader = reader_for(&args.train, &base)?;
    let device = detect::device(args.train.gpus)?;
    // The split files live as long as this guard.
    let mut _work: Option<tempfile::TempDir> = None;
    let (train, test, truth, level) = match args.dataset {
        DatasetArg::StreamSpot => {
            reader.format = InputFormat::StreamSpot;
            // Graphs are separate runs: many are short, and none starts
            // with a host's boot, so no window is a warm-up.
            base.warmup_windows = 0;
            let work = match &args.work_dir {
                Some(d) => d.clone(),
                None => {
                    let t = tempfile::Builder::new()
                        .prefix("causaldefend-streamspot-")
                        .tempdir()
                        .context("creating a temporary folder for the per-graph split")?;
                    let p = t.path().to_path_buf();
                    _work = Some(t);
                    p
                }
            };
            let (train, test, labels) = streamspot_split(&args.data, &work)?;
            (train, test, Truth::PerSequence(labels), "graph")
        }
        DatasetArg::DarpaTc => {
            if args.train.format == crate::args::FormatArg::Auto {
                reader.format = InputFormat::DarpaTc;
            }
            let (train, test, labels) = darpa_split(&args.data)?;
            (train, test, Truth::PerNode(labels), "window")
        }
        other => anyhow::bail!("{other:?} is not a user-supplied dataset"),
    };
    tracing::info!(
        train = train.len(),
        test = test.len(),
        "sequences for training and test"
    );

    let (baseline, b_thresholds, train_windows) = fit_baseline(&train, &reader, &base)?;
    if train_windows == 0 {
        anyhow::bail!("the benign training sequences hold no windows (no mapped events)");
    }

    // One detector per seed, trained before any test data is read so that
    // the test set streams by once for all of them.
    let source = DiskSource {
        sequences: train.clone(),
        reader: &reader,
        max_edges: base.max_edges_per_window,
    };
    let mut detectors = Vec::new();
    let mut trained = Vec::new();
    for i in 0..args.seeds {
        let mut config = base.clone();
        config.seed = base.seed.wrapping_add(i);
        let t0 = Instant::now();
        let pb = crate::train_cmd::epoch_bar(config.epochs, quiet);
        let ckpt = detect::train(config.clone(), &source, &device, &mut |e| {
            pb.set_position(e.epoch as u64);
            pb.set_message(format!("seed {} loss {:.4}", config.seed, e.train_loss));
        })?;
        pb.finish_and_clear();
        let th = Thresholds {
            window: ckpt.meta.thresholds.window,
            node: ckpt.meta.thresholds.node,
        };
        trained.push((
            config.seed,
            t0.elapsed().as_secs_f64(),
            ckpt.meta.history.len(),
            th,
        ));
        detectors.push(Detector::new(ckpt, device.clone()));
    }

    // Scorer 0 is the baseline, 1.. the seeds.
    let mut tallies: Vec<Tally> = (0..=detectors.len()).map(|_| Tally::default()).collect();
    let mut unit_labels = Vec::new();
    let mut node_labels: HashMap<(usize, EntityId), bool> = HashMap::new();
    let mut test_windows = 0usize;
    for (si, seq) in test.iter().enumerate() {
        for d in &mut detectors {
            d.reset();
        }
        let mut graph_best = vec![(0.0f64, false); tallies.len()];
        let mut wi = 0usize;
        reader.for_each_window(seq, &mut |w: GraphWindow| {
            let warm = wi < base.warmup_windows;
            wi += 1;
            let prepared = detect::prepare(&w, base.max_edges_per_window);
            let (b_score, b_nodes) = baseline.score(&w, base.window_top_k);
            let mut scored = vec![(b_score, !warm && b_score > b_thresholds.window, b_nodes)];
            for d in &mut detectors {
                let s = d.score(&prepared)?;
                scored.push((s.score, s.alert, s.node_scores));
            }
            if let Truth::PerNode(_) = truth {
                let mut window_label = false;
                for n in &w.nodes {
                    let l = truth.node_label(&n.native);
                    window_label |= l;
                    node_labels.entry((si, n.id)).or_insert(l);
                }
                unit_labels.push(window_label);
            }
            for (k, (score, flagged, nodes)) in scored.into_iter().enumerate() {
                match &truth {
                    Truth::PerSequence(_) => {
                        let g = &mut graph_best[k];
                        g.0 = g.0.max(score);
                        g.1 |= flagged;
                    }
                    Truth::PerNode(_) => {
                        tallies[k].units.push((score, flagged));
                        for (row, n) in w.nodes.iter().enumerate() {
                            let s = if warm {
                                0.0
                            } else {
                                nodes.get(row).copied().unwrap_or(0.0)
                            };
                            let e = tallies[k].nodes.entry((si, n.id)).or_insert(f64::MIN);
                            *e = e.max(s);
                        }
                    }
                }
            }
            test_windows += 1;
            Ok(())
        })?;
        if let Truth::PerSequence(labels) = &truth {
            for (k, g) in graph_best.into_iter().enumerate() {
                tallies[k].units.push(g);
            }
            unit_labels.push(labels[si]);
        }
        tracing::debug!(sequence = %seq.name, windows = wi, "scored");
    }

    let mut node_keys: Vec<(usize, EntityId)> = node_labels.keys().copied().collect();
    node_keys.sort_unstable();
    let nl: Vec<bool> = node_keys.iter().map(|k| node_labels[k]).collect();
    let figures_of = |t: &Tally, th: Thresholds| -> SuppliedFigures {
        let scores: Vec<f64> = t.units.iter().map(|u| u.0).collect();
        let flagged: Vec<f64> = t.units.iter().map(|u| f64::from(u8::from(u.1))).collect();
        let (node_roc_auc, node_pr_auc, node) = if node_keys.is_empty() {
            (None, None, None)
        } else {
            let ns: Vec<f64> = node_keys.iter().map(|k| t.nodes[k]).collect();
            (
                roc_auc(&ns, &nl),
                pr_auc(&ns, &nl),
                Some(Confusion::at(&ns, &nl, th.node)),
            )
        };
        SuppliedFigures {
            roc_auc: roc_auc(&scores, &unit_labels),
            pr_auc: pr_auc(&scores, &unit_labels),
            at_threshold: Confusion::at(&flagged, &unit_labels, 0.5),
            node_roc_auc,
            node_pr_auc,
            node,
        }
    };
    let baseline_figures = figures_of(&tallies[0], b_thresholds);
    let runs: Vec<SuppliedRun> = trained
        .iter()
        .enumerate()
        .map(|(i, &(seed, train_secs, epochs, th))| SuppliedRun {
            seed,
            gnn: figures_of(&tallies[i + 1], th),
            baseline: baseline_figures.clone(),
            train_secs,
            epochs,
        })
        .collect();

    let positives = unit_labels.iter().filter(|l| **l).count();
    let malicious_nodes = nl.iter().filter(|l| **l).count();
    let labelled = match &truth {
        Truth::PerNode(labels) => Some(labels.len()),
        Truth::PerSequence(_) => None,
    };
    if labelled.is_some() && malicious_nodes == 0 {
        tracing::warn!(
            "no test node's UUID is in labels.csv: are the test files of the labelled host?"
        );
    }
    let md = render(
        args,
        &runs,
        &Summary {
            level,
            train: train.len(),
            train_windows,
            test: test.len(),
            test_windows,
            units: unit_labels.len(),
            positives,
            nodes: nl.len(),
            malicious_nodes,
            labelled,
            secs: started.elapsed().as_secs_f64(),
        },
    );
    println!("{md}");
    if let Some(out) = &args.output {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let v = serde_json::json!({
            "dataset": args.dataset.as_str(),
            "data": args.data.display().to_string(),
            "level": level,
            "config": base,
            "train": train.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "test": test.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "test_units": unit_labels.len(),
            "attack_units": positives,
            "test_nodes": nl.len(),
            "malicious_nodes": malicious_nodes,
            "runs": runs,
        });
        std::fs::write(out, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", out.display()))?;
        let md_path = out.with_extension("md");
        std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
    }
    Ok(0)
}

/// Fits the rarity baseline on the windows the detector trains on and takes
/// its thresholds (window: `threshold_quantile`, node:
/// `node_threshold_quantile`) from the windows the detector validates on.
/// Reads each sequence twice (fit, then score) so that only one is in
/// memory.
fn fit_baseline(
    train: &[Sequence],
    reader: &WindowReader,
    base: &detect::DetectorConfig,
) -> anyhow::Result<(RarityBaseline, Thresholds, usize)> {
    let mut baseline = RarityBaseline::default();
    let mut lens = Vec::with_capacity(train.len());
    for (i, s) in train.iter().enumerate() {
        let windows = reader.windows(s)?;
        let split = detect::train::training_windows(
            i,
            train.len(),
            windows.len(),
            base.validation_fraction,
        );
        for w in &windows[..split] {
            baseline.fit_window(w);
        }
        lens.push(windows.len());
    }
    let (mut val_windows, mut val_nodes) = (Vec::new(), Vec::new());
    for (i, s) in train.iter().enumerate() {
        let counted =
            detect::train::threshold_windows(i, train.len(), lens[i], base.validation_fraction);
        if counted.is_empty() {
            continue;
        }
        let windows = reader.windows(s)?;
        for (_, w) in windows
            .iter()
            .enumerate()
            .filter(|(k, _)| counted.contains(k) && *k >= base.warmup_windows)
        {
            let (s, nodes) = baseline.score(w, base.window_top_k);
            val_windows.push(s);
            val_nodes.extend(nodes);
        }
    }
    val_windows.sort_by(f64::total_cmp);
    val_nodes.sort_by(f64::total_cmp);
    let window = detect::detector::window_threshold(&val_windows, base).0;
    let th = Thresholds {
        window,
        node: detect::detector::node_threshold(&val_nodes, window, base),
    };
    Ok((baseline, th, lens.iter().sum()))
}

/// Finds the edge file of a StreamSpot folder.
fn streamspot_edges(dir: &Path) -> anyhow::Result<PathBuf> {
    for name in ["all.tsv", "all.tsv.gz"] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".tsv") || n.ends_with(".tsv.gz")
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => anyhow::bail!(
            "{}: no StreamSpot edge file (all.tsv or all.tsv.gz, from sbustreamspot-data's all.tar.gz)",
            dir.display()
        ),
        _ => anyhow::bail!(
            "{}: several .tsv files and no all.tsv; which one holds the edges?",
            dir.display()
        ),
    }
}

/// Splits a StreamSpot edge file into one file per graph under `work`
/// (`graph-<id>.tsv`) and returns the training and test sequences and the
/// test sequences' labels. Lines whose last column is not a graph id are
/// skipped and counted (the first few named by line number); graphs absent
/// from `labels.csv` are left out, and said so.
fn streamspot_split(
    dir: &Path,
    work: &Path,
) -> anyhow::Result<(Vec<Sequence>, Vec<Sequence>, Vec<bool>)> {
    let labels_path = dir.join("labels.csv");
    let mut labels = GraphLabels::default();
    let report = labels
        .read_csv(&labels_path)
        .with_context(|| format!("reading {}", labels_path.display()))?;
    for e in &report.errors {
        tracing::warn!(error = %e, "label row skipped");
    }
    let edges = streamspot_edges(dir)?;
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let mut input = ingest::InputFile::probe(&edges)
        .and_then(|f| f.open())
        .with_context(|| format!("opening {}", edges.display()))?;
    let mut current: Option<(u64, std::io::BufWriter<std::fs::File>)> = None;
    let mut seen: BTreeMap<u64, PathBuf> = BTreeMap::new();
    let (mut line_no, mut bad) = (0u64, 0u64);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("{}: reading line {}", edges.display(), line_no + 1))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let Ok(line) = std::str::from_utf8(&buf) else {
            bad += 1;
            if bad <= 3 {
                tracing::warn!(file = %edges.display(), line = line_no, "not UTF-8; line skipped");
            }
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let Some(graph_id) = line
            .rsplit('\t')
            .next()
            .and_then(|g| g.trim().parse::<u64>().ok())
        else {
            bad += 1;
            if bad <= 3 {
                tracing::warn!(
                    file = %edges.display(),
                    line = line_no,
                    "last column (graph_id) is not a non-negative integer; line skipped"
                );
            }
            continue;
        };
        if current.as_ref().is_none_or(|(g, _)| *g != graph_id) {
            if let Some((_, mut w)) = current.take() {
                w.flush()?;
            }
            let path = work.join(format!("graph-{graph_id}.tsv"));
            // Graphs are contiguous in the benchmark file; a graph seen
            // again is appended to, not overwritten.
            let again = seen.contains_key(&graph_id);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(again)
                .truncate(!again)
                .open(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            seen.insert(graph_id, path);
            current = Some((graph_id, std::io::BufWriter::new(file)));
        }
        if let Some((_, w)) = current.as_mut() {
            writeln!(w, "{line}")?;
        }
    }
    if let Some((_, mut w)) = current.take() {
        w.flush()?;
    }
    if bad > 0 {
        tracing::warn!(file = %edges.display(), skipped = bad, "lines without a graph id");
    }
    let mut by_scenario: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut attacks = Vec::new();
    let mut unlabelled = 0usize;
    for &id in seen.keys() {
        match labels.get(id) {
            Some(l) if l.malicious => attacks.push(id),
            Some(l) => by_scenario
                .entry(l.scenario.to_string())
                .or_default()
                .push(id),
            None => unlabelled += 1,
        }
    }
    if unlabelled > 0 {
        tracing::warn!(graphs = unlabelled, "graphs not in labels.csv; left out");
    }
    // Per scenario, the first two thirds train; training graphs are
    // interleaved across scenarios so that the held-out validation graphs
    // (the last ones) are not all of one scenario.
    let mut train_ranked: Vec<(usize, String, u64)> = Vec::new();
    let mut test_ids: Vec<(u64, bool)> = Vec::new();
    for (scenario, ids) in &by_scenario {
        let n_train = (ids.len() * 2).div_ceil(3).min(ids.len().saturating_sub(1));
        for (rank, &id) in ids.iter().enumerate() {
            if rank < n_train {
                train_ranked.push((rank, scenario.clone(), id));
            } else {
                test_ids.push((id, false));
            }
        }
    }
    train_ranked.sort();
    test_ids.extend(attacks.iter().map(|&id| (id, true)));
    test_ids.sort_unstable();
    if train_ranked.len() < 2 || !test_ids.iter().any(|t| t.1) || !test_ids.iter().any(|t| !t.1) {
        anyhow::bail!(
            "StreamSpot evaluation needs benign graphs to train and test and at least one attack \
             graph (found {} benign, {} attack graphs with labels)",
            by_scenario.values().map(Vec::len).sum::<usize>(),
            attacks.len()
        );
    }
    let seq = |id: u64| Sequence {
        name: format!("graph {id}"),
        origin: Origin::Raw(seen[&id].clone()),
        truth: None,
    };
    let train = train_ranked.iter().map(|t| seq(t.2)).collect();
    let test = test_ids.iter().map(|t| seq(t.0)).collect();
    let labels = test_ids.iter().map(|t| t.1).collect();
    Ok((train, test, labels))
}

/// The DARPA TC layout: `train/` and `test/` CDM files, `labels.csv`.
fn darpa_split(dir: &Path) -> anyhow::Result<(Vec<Sequence>, Vec<Sequence>, NodeLabels)> {
    let (train_dir, test_dir) = (dir.join("train"), dir.join("test"));
    for d in [&train_dir, &test_dir] {
        if !d.is_dir() {
            anyhow::bail!(
                "{}: missing; the DARPA TC layout is train/ (benign-period CDM files), test/ and labels.csv",
                d.display()
            );
        }
    }
    let labels_path = dir.join("labels.csv");
    let mut labels = NodeLabels::default();
    let report = labels
        .read_labels_csv(&labels_path, "darpa-tc")
        .with_context(|| format!("reading {}", labels_path.display()))?;
    for e in &report.errors {
        tracing::warn!(error = %e, "label row skipped");
    }
    let mut train = discover(std::slice::from_ref(&train_dir))?;
    let mut test = discover(std::slice::from_ref(&test_dir))?;
    for (v, d) in [(&mut train, "train"), (&mut test, "test")] {
        v.sort_by(|a, b| a.name.cmp(&b.name));
        for s in v.iter_mut() {
            s.name = format!("{d}/{}", s.name);
        }
    }
    Ok((train, test, labels))
}

struct Summary {
    level: &'static str,
    train: usize,
    train_windows: usize,
    test: usize,
    test_windows: usize,
    units: usize,
    positives: usize,
    nodes: usize,
    malicious_nodes: usize,
    labelled: Option<usize>,
    secs: f64,
}

fn render(args: &EvaluateArgs, runs: &[SuppliedRun], s: &Summary) -> String {
    let level = s.level;
    type Get = fn(&SuppliedFigures) -> f64;
    let mut rows: Vec<(String, Get)> = vec![
        (format!("{level} ROC-AUC"), |f| {
            f.roc_auc.unwrap_or(f64::NAN)
        }),
        (format!("{level} PR-AUC"), |f| f.pr_auc.unwrap_or(f64::NAN)),
        (format!("{level}s flagged: TP"), |f| {
            f.at_threshold.tp as f64
        }),
        (format!("{level}s flagged: FP"), |f| {
            f.at_threshold.fp as f64
        }),
        (format!("{level}s not flagged: TN"), |f| {
            f.at_threshold.tn as f64
        }),
        (format!("{level}s not flagged: FN"), |f| {
            f.at_threshold.r#fn as f64
        }),
        (format!("{level} precision"), |f| f.at_threshold.precision()),
        (format!("{level} recall"), |f| f.at_threshold.recall()),
        (format!("{level} F1"), |f| f.at_threshold.f1()),
        (format!("{level} MCC"), |f| f.at_threshold.mcc()),
    ];
    if s.labelled.is_some() {
        let node_rows: Vec<(&str, Get)> = vec![
            ("node ROC-AUC", |f| f.node_roc_auc.unwrap_or(f64::NAN)),
            ("node PR-AUC", |f| f.node_pr_auc.unwrap_or(f64::NAN)),
            ("nodes: TP", |f| f.node.map_or(f64::NAN, |c| c.tp as f64)),
            ("nodes: FP", |f| f.node.map_or(f64::NAN, |c| c.fp as f64)),
            ("nodes: TN", |f| f.node.map_or(f64::NAN, |c| c.tn as f64)),
            ("nodes: FN", |f| f.node.map_or(f64::NAN, |c| c.r#fn as f64)),
            ("node precision", |f| {
                f.node.map_or(f64::NAN, |c| c.precision())
            }),
            ("node recall", |f| f.node.map_or(f64::NAN, |c| c.recall())),
            ("node MCC", |f| f.node.map_or(f64::NAN, |c| c.mcc())),
        ];
        rows.extend(node_rows.into_iter().map(|(n, g)| (n.to_owned(), g)));
    }
    let nodes = match s.labelled {
        Some(l) => format!(
            "; {} test nodes, {} of them malicious ({} ids listed in labels.csv)",
            s.nodes, s.malicious_nodes, l
        ),
        None => String::new(),
    };
    let mut md = format!(
        "causaldefend evaluate --dataset {} --data {} --seeds {}\n\
         train: {} sequences ({} windows); test: {} sequences ({} windows), {} {level}s of which {} attack{nodes}; {:.0} s\n\n\
         | metric | GNN (mean ± sd) | rarity baseline |\n|---|---|---|\n",
        args.dataset.as_str(),
        args.data.display(),
        args.seeds,
        s.train,
        s.train_windows,
        s.test,
        s.test_windows,
        s.units,
        s.positives,
        s.secs,
    );
    for (name, get) in rows {
        let (g, b) = (
            over_runs(runs, |r| get(&r.gnn)),
            over_runs(runs, |r| get(&r.baseline)),
        );
        md.push_str(&format!("| {name} | {g} | {b} |\n"));
    }
    md
}
