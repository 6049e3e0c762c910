//! `evaluate --task explain`: how good the explanations are.
//!
//! auditd recordings (entity truth from `truth.json`):
//! * *oracle-seeded*: each malicious process in turn is the seed, as if a
//!   detector had flagged exactly it; this measures the explanation alone;
//! * *detector-seeded*: the alerts of a detector checkpoint (`--model`, default
//!   `models/detector.ckpt`) are explained as `explain` would; a recording the
//!   detector does not flag gets no explanation and counts with recall 0.
//!
//! Per explanation: attack-entity recall and precision of the reduced graph
//! (processes, the unit the truth labels), the root cause found, the share of
//! the alerted window's events kept, ATT&CK hit at top-1 and top-3, time.
//!
//! Windows files (technique labels per file, no entity truth): seeds are the
//! actors of events any ATT&CK rule matches; top-1 / top-3 hit of the file's
//! labelled technique (exact, and with the parent technique).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use event::{NativeId, Timestamp};
use explain::{Explainer, Explanation, ProvGraph, Seed};
use graph::GraphWindow;
use serde::Serialize;

use crate::args::EvaluateArgs;
use crate::data::{discover, WindowReader};

/// Metrics of one explanation.
#[derive(Debug, Clone, Serialize)]
struct One {
    recording: String,
    seed: String,
    recall: f64,
    precision: f64,
    root_found: bool,
    window_edge_ratio: f64,
    graph_edge_ratio: f64,
    top1: bool,
    top3: bool,
    ms: f64,
    chains: usize,
    /// Share of chain steps (after the root) that causal discovery confirmed.
    confirmed: f64,
    /// Causal edges found.
    causal_edges: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Summary {
    explanations: usize,
    recordings: usize,
    recall: f64,
    precision: f64,
    root_found: f64,
    window_edge_ratio: f64,
    graph_edge_ratio: f64,
    top1: f64,
    top3: f64,
    ms_mean: f64,
    ms_max: f64,
    confirmed: f64,
    causal_edges: f64,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        #[allow(clippy::cast_precision_loss)]
        let n = n as f64;
        s / n
    }
}

/// Means per recording first, then over recordings (each recording counts once).
fn summarise(all: &[One], recordings: &[String]) -> Summary {
    let per: Vec<Vec<&One>> = recordings
        .iter()
        .map(|r| all.iter().filter(|o| &o.recording == r).collect())
        .collect();
    let m = |f: &dyn Fn(&One) -> f64| {
        mean(per.iter().map(|v| {
            if v.is_empty() {
                0.0
            } else {
                mean(v.iter().map(|o| f(o)))
            }
        }))
    };
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    Summary {
        explanations: all.len(),
        recordings: recordings.len(),
        recall: m(&|o| o.recall),
        precision: m(&|o| o.precision),
        root_found: m(&|o| b(o.root_found)),
        window_edge_ratio: m(&|o| o.window_edge_ratio),
        graph_edge_ratio: m(&|o| o.graph_edge_ratio),
        top1: m(&|o| b(o.top1)),
        top3: m(&|o| b(o.top3)),
        ms_mean: mean(all.iter().map(|o| o.ms)),
        ms_max: all.iter().map(|o| o.ms).fold(0.0, f64::max),
        confirmed: m(&|o| o.confirmed),
        #[allow(clippy::cast_precision_loss)]
        causal_edges: m(&|o| o.causal_edges as f64),
    }
}

#[allow(clippy::cast_precision_loss)]
fn score_one(
    recording: &str,
    seed: String,
    x: &Explanation,
    malicious: &BTreeSet<u32>,
    root_pids: &BTreeSet<u32>,
    technique: &str,
    window_events: usize,
) -> One {
    let procs: Vec<u32> = x
        .entities
        .iter()
        .filter(|e| e.kind == "process")
        .filter_map(|e| e.pid)
        .collect();
    let hit = procs.iter().filter(|p| malicious.contains(p)).count();
    let roots: BTreeSet<u32> = x
        .entities
        .iter()
        .filter(|e| e.roles.contains(&"root_cause"))
        .filter_map(|e| e.pid)
        .collect();
    let top = |k: usize| x.techniques.iter().take(k).any(|t| t.id == technique);
    let steps: Vec<bool> = x
        .chains
        .iter()
        .flat_map(|c| c.steps.iter().skip(1))
        .map(|s| s.causal_strength.is_some())
        .collect();
    let confirmed = if steps.is_empty() {
        0.0
    } else {
        steps.iter().filter(|b| **b).count() as f64 / steps.len() as f64
    };
    One {
        recording: recording.to_owned(),
        seed,
        recall: hit as f64 / malicious.len().max(1) as f64,
        precision: if procs.is_empty() {
            0.0
        } else {
            hit as f64 / procs.len() as f64
        },
        root_found: !roots.is_disjoint(root_pids),
        window_edge_ratio: x.reduction.events_kept as f64 / window_events.max(1) as f64,
        graph_edge_ratio: x.reduction.edge_ratio,
        top1: top(1),
        top3: top(3),
        ms: x.timing.total_ms,
        chains: x.chains.len(),
        confirmed,
        causal_edges: x.causal.edges.len(),
    }
}

fn window_events_at(windows: &[GraphWindow], t: Timestamp) -> usize {
    windows
        .iter()
        .find(|w| w.start <= t && t < w.end)
        .or_else(|| windows.last())
        .map_or(0, |w| w.edges.len())
}

fn auditd(args: &EvaluateArgs, ex: &Explainer) -> anyhow::Result<serde_json::Value> {
    let model_path = args
        .model
        .clone()
        .or_else(|| Some(PathBuf::from("models/detector.ckpt")).filter(|p| p.is_file()));
    let device = detect::device(0)?;
    let ckpt = match &model_path {
        Some(p) => Some(
            detect::Checkpoint::load(p, &device)
                .with_context(|| format!("loading model {}", p.display()))?,
        ),
        None => None,
    };
    let default = detect::DetectorConfig::default();
    let reader = WindowReader::for_model(
        args.train.format.into(),
        args.train.ingest_config.as_deref(),
        ckpt.as_ref().map_or(&default, |c| &c.model.config),
    )?;
    let mut detector = ckpt.map(|c| detect::Detector::new(c, device));
    let mut oracle: Vec<One> = Vec::new();
    let mut by_detector: Vec<One> = Vec::new();
    let mut recordings = Vec::new();
    for seq in discover(std::slice::from_ref(&args.data))? {
        let Some(truth) = seq.truth.as_ref().filter(|t| t.is_attack()) else {
            continue;
        };
        let technique = truth
            .roots
            .first()
            .map(|r| r.technique.clone())
            .unwrap_or_default();
        let root_pids: BTreeSet<u32> = truth.roots.iter().map(|r| r.root_pid).collect();
        let windows = reader.windows(&seq)?;
        let g = ProvGraph::from_windows(windows.iter());
        recordings.push(seq.name.clone());
        // Oracle: each malicious process seeds one explanation.
        for (v, e) in g.entities.iter().enumerate() {
            let NativeId::AuditdProcess { pid, .. } = e.native else {
                continue;
            };
            if !truth.malicious_pids.contains(&pid) {
                continue;
            }
            let Some(t) = g.activity_span(v).map(|(_, last)| last) else {
                continue;
            };
            let x = ex.explain(&g, &[Seed { entity: v, time: t }], &HashMap::new())?;
            oracle.push(score_one(
                &seq.name,
                format!("pid {pid}"),
                &x,
                &truth.malicious_pids,
                &root_pids,
                &technique,
                window_events_at(&windows, t),
            ));
        }
        // Detector: its alerts, explained like `explain` does.
        if let Some(det) = detector.as_mut() {
            det.reset();
            let cfg = det.checkpoint.model.config.clone();
            let node_threshold = det.checkpoint.meta.thresholds.node;
            for w in &windows {
                let prepared = detect::prepare(w, cfg.max_edges_per_window);
                let s = det.score(&prepared)?;
                if !s.alert {
                    continue;
                }
                let (seeds, anomaly) = crate::explain_cmd::seeds_from_scores(
                    &g,
                    &prepared.nodes,
                    &s.node_scores,
                    node_threshold,
                    s.end_ns,
                );
                let x = ex.explain(&g, &seeds, &anomaly)?;
                by_detector.push(score_one(
                    &seq.name,
                    format!("window {}", s.window_id),
                    &x,
                    &truth.malicious_pids,
                    &root_pids,
                    &technique,
                    w.edges.len(),
                ));
            }
        }
    }
    if recordings.is_empty() {
        anyhow::bail!(
            "no attack recording with truth.json under {}",
            args.data.display()
        );
    }
    let o = summarise(&oracle, &recordings);
    let d = summarise(&by_detector, &recordings);
    let flagged: BTreeSet<&str> = by_detector.iter().map(|o| o.recording.as_str()).collect();
    let alerted: Vec<String> = flagged.iter().map(|s| (*s).to_owned()).collect();
    let d_alerted = summarise(&by_detector, &alerted);
    print_table(&[
        ("oracle-seeded", &o),
        ("detector-seeded, all recordings", &d),
        ("detector-seeded, alerted recordings", &d_alerted),
    ]);
    eprintln!(
        "detector-seeded: {} of {} recordings alerted (model {})",
        flagged.len(),
        recordings.len(),
        model_path
            .as_deref()
            .map_or("none".into(), |p| p.display().to_string())
    );
    Ok(serde_json::json!({
        "dataset": "auditd",
        "task": "explain",
        "model": model_path,
        "oracle_seeded": o,
        "detector_seeded": d,
        "detector_seeded_alerted_only": d_alerted,
        "recordings_alerted": flagged.len(),
        "per_explanation": {"oracle": oracle, "detector": by_detector},
    }))
}

fn print_table(rows: &[(&str, &Summary)]) {
    let mut t = comfy_table::Table::new();
    t.set_header([
        "seeding",
        "expl.",
        "recall",
        "precision",
        "root",
        "window edges",
        "top-1",
        "top-3",
        "ms mean",
        "ms max",
    ]);
    for (name, s) in rows {
        t.add_row([
            (*name).to_owned(),
            s.explanations.to_string(),
            format!("{:.3}", s.recall),
            format!("{:.3}", s.precision),
            format!("{:.3}", s.root_found),
            format!("{:.4}", s.window_edge_ratio),
            format!("{:.3}", s.top1),
            format!("{:.3}", s.top3),
            format!("{:.1}", s.ms_mean),
            format!("{:.1}", s.ms_max),
            format!("{:.1}", s.causal_edges),
            format!("{:.3}", s.confirmed),
        ]);
    }
    println!("{t}");
}

/// `path → techniques` from the Windows set's labels.csv (attack rows).
fn windows_techniques(path: &Path) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let mut r = csv::ReaderBuilder::new()
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let headers = r.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no `{name}` column", path.display()))
    };
    let (p, l, t) = (col("path")?, col("label")?, col("techniques")?);
    let mut out = HashMap::new();
    for (i, row) in r.records().enumerate() {
        let row = row.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
        if row.get(l) != Some("attack") {
            continue;
        }
        let techs: Vec<String> = row
            .get(t)
            .unwrap_or_default()
            .split([';', ',', ' '])
            .map(str::trim)
            .filter(|s| s.starts_with('T'))
            .map(str::to_owned)
            .collect();
        if let Some(path) = row.get(p) {
            out.insert(path.to_owned(), techs);
        }
    }
    Ok(out)
}

fn windows(args: &EvaluateArgs, ex: &Explainer) -> anyhow::Result<serde_json::Value> {
    let labels = windows_techniques(&args.data.join("labels.csv"))?;
    let reader = WindowReader::for_model(
        args.train.format.into(),
        args.train.ingest_config.as_deref(),
        &detect::DetectorConfig::default(),
    )?;
    let (mut files, mut with_events, mut with_match) = (0usize, 0usize, 0usize);
    let (mut top1, mut top3, mut top1p, mut top3p) = (0usize, 0usize, 0usize, 0usize);
    let mut ms: Vec<f64> = Vec::new();
    let mut rows = Vec::new();
    for seq in discover(std::slice::from_ref(&args.data))? {
        let Some(techs) = labels.get(&seq.name) else {
            continue;
        };
        if techs.is_empty() {
            continue;
        }
        files += 1;
        let windows = match reader.windows(&seq) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(file = %seq.name, error = %format!("{e:#}"), "skipped");
                continue;
            }
        };
        let g = ProvGraph::from_windows(windows.iter());
        if g.total_events == 0 {
            rows.push(serde_json::json!({"file": seq.name, "labels": techs, "events": 0}));
            continue;
        }
        with_events += 1;
        let seeds = ex.technique_seeds(&g, 20);
        if seeds.is_empty() {
            rows.push(serde_json::json!({"file": seq.name, "labels": techs, "events": g.total_events, "found": []}));
            continue;
        }
        with_match += 1;
        let x = ex.explain(&g, &seeds, &HashMap::new())?;
        ms.push(x.timing.total_ms);
        let found: Vec<&str> = x.techniques.iter().map(|t| t.id.as_str()).collect();
        let parent = |s: &str| s.split('.').next().unwrap_or(s).to_owned();
        let hit = |k: usize, loose: bool| {
            found.iter().take(k).any(|f| {
                techs
                    .iter()
                    .any(|t| t == f || loose && parent(t) == parent(f))
            })
        };
        top1 += usize::from(hit(1, false));
        top3 += usize::from(hit(3, false));
        top1p += usize::from(hit(1, true));
        top3p += usize::from(hit(3, true));
        rows.push(serde_json::json!({"file": seq.name, "labels": techs, "events": g.total_events, "found": found, "ms": x.timing.total_ms}));
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = |k: usize| k as f64 / with_events.max(1) as f64;
    println!(
        "Windows attack files: {files} labelled, {with_events} with mapped events, {with_match} with a rule match\n\
         technique hit over files with events: top-1 {:.3}, top-3 {:.3} (exact); top-1 {:.3}, top-3 {:.3} (parent technique)\n\
         explanation time: mean {:.1} ms, max {:.1} ms",
        rate(top1), rate(top3), rate(top1p), rate(top3p),
        mean(ms.iter().copied()),
        ms.iter().copied().fold(0.0, f64::max)
    );
    Ok(serde_json::json!({
        "dataset": "windows",
        "task": "explain",
        "files": files,
        "files_with_events": with_events,
        "files_with_rule_match": with_match,
        "top1": rate(top1), "top3": rate(top3),
        "top1_parent": rate(top1p), "top3_parent": rate(top3p),
        "ms_mean": mean(ms.iter().copied()),
        "ms_max": ms.iter().copied().fold(0.0, f64::max),
        "per_file": rows,
    }))
}

/// Runs `evaluate --task explain`.
pub fn run(args: &EvaluateArgs) -> anyhow::Result<u8> {
    let ex = crate::explain_cmd::explainer(None, &[], None, None, None)?;
    let v = match args.dataset {
        crate::args::DatasetArg::Auditd => auditd(args, &ex)?,
        crate::args::DatasetArg::Windows => windows(args, &ex)?,
        other @ (crate::args::DatasetArg::StreamSpot | crate::args::DatasetArg::DarpaTc) => {
            anyhow::bail!(
                "--task explain needs attack entities with a story (the auditd or Windows set); \
                 {} labels only graphs or node ids",
                other.as_str()
            )
        }
    };
    let out = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "results/explain_{}.json",
            v["dataset"].as_str().unwrap_or("x")
        ))
    });
    if let Some(d) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&v)?)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!("results in {}", out.display());
    Ok(0)
}
