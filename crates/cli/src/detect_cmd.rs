//! `causaldefend detect`: logs in, one JSON line per window out.

use std::io::{BufWriter, Write};

use anyhow::Context;
use event::{Entity, NativeId};

use crate::args::DetectArgs;
use crate::data::{discover, WindowReader};

/// RFC 3339 text of a nanosecond timestamp.
pub fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// One entity as an alert lists it: score, kind and its native identity
/// (auditd pid + start, Sysmon process_guid, CDM uuid).
pub fn node_json(e: &Entity, score: f64, node_threshold: f64) -> serde_json::Value {
    let mut v = serde_json::json!({
        "entity_id": format!("{:016x}", e.id.0),
        "score": score,
        "flagged": score > node_threshold,
        "kind": e.kind.as_str(),
    });
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    let mut put = |k: &str, val: serde_json::Value| {
        obj.insert(k.to_owned(), val);
    };
    match &e.native {
        NativeId::AuditdProcess { pid, start } => {
            put("pid", (*pid).into());
            put("start", rfc3339(start.as_nanos()).into());
        }
        NativeId::SysmonProcess { process_guid, pid } => {
            put("process_guid", process_guid.clone().into());
            if let Some(p) = pid {
                put("pid", (*p).into());
            }
        }
        NativeId::CdmUuid { uuid } => put("uuid", uuid.clone().into()),
        NativeId::StreamSpot { graph_id, node_id } => {
            put("graph_id", (*graph_id).into());
            put("node_id", (*node_id).into());
        }
        NativeId::Name { .. } => {}
    }
    if let Some(n) = &e.name {
        let key = if e.kind == event::EntityKind::Process {
            "exe"
        } else {
            "name"
        };
        put(key, n.as_ref().into());
    }
    if let Some(c) = &e.cmdline {
        put("cmdline", c.as_ref().into());
    }
    if let Some(p) = e.ppid {
        put("ppid", p.into());
    }
    if let Some(u) = &e.user {
        put("user", u.as_ref().into());
    }
    if let Some(h) = &e.host {
        put("host", h.as_ref().into());
    }
    v
}

/// A preprocessed folder keeps the windows it was cut with; scores of
/// windows of another length than the model's are not comparable with its
/// threshold, so say so (the folder is still scored).
fn warn_on_window_mismatch(seq: &crate::data::Sequence, model_secs: f64) {
    let crate::data::Origin::Preprocessed(dir) = &seq.origin else {
        return;
    };
    if let Ok(m) = graph::read_manifest(dir) {
        let same = m
            .windowing
            .window_secs
            .is_some_and(|s| (s - model_secs).abs() < 1e-9);
        if !same {
            tracing::warn!(
                input = %dir.display(),
                folder_window_secs = ?m.windowing.window_secs,
                model_window_secs = model_secs,
                "the folder was cut into other windows than the model was trained on: scores and threshold do not compare; re-run preprocess with --window-secs {model_secs}"
            );
        }
    }
}

/// Runs `detect`.
pub fn run(args: &DetectArgs) -> anyhow::Result<u8> {
    let device = detect::device(args.gpus)?;
    let ckpt = detect::Checkpoint::load(&args.model, &device)
        .with_context(|| format!("loading model {}", args.model.display()))?;
    let cfg = ckpt.model.config.clone();
    let node_threshold = ckpt.meta.thresholds.node;
    let reader =
        WindowReader::for_model(args.format.into(), args.config.as_deref(), cfg.window_secs)?;
    let mut conformal = crate::conformal_cmd::for_detect(
        &args.model,
        args.calibration.as_deref(),
        args.confidence_level,
        args.api_config.as_deref(),
    )?;
    let sequences = discover(std::slice::from_ref(&args.input))?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            Box::new(BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let explainer = if args.explain {
        Some(crate::explain_cmd::explainer(
            args.explain_config.as_deref(),
            &[],
            None,
            None,
            None,
        )?)
    } else {
        None
    };
    let back_ns = explainer
        .as_ref()
        .map_or(0, |e| (e.config().reduce.back_secs.max(0.0) * 1e9) as i64);
    let mut detector = detect::Detector::new(ckpt, device);
    let (mut windows, mut alerts) = (0u64, 0u64);
    for seq in &sequences {
        warn_on_window_mismatch(seq, cfg.window_secs);
        detector.reset();
        // Recent windows, for explaining an alert with its history.
        let mut history: std::collections::VecDeque<graph::GraphWindow> =
            std::collections::VecDeque::new();
        for w in reader.windows(seq)? {
            let prepared = detect::prepare(&w, cfg.max_edges_per_window);
            let mut s = detector.score(&prepared)?;
            if let Some(t) = args.threshold {
                s.threshold = t;
                s.alert = s.score > t;
            }
            let nodes: Vec<serde_json::Value> = s
                .top_nodes(args.top_k)
                .into_iter()
                .filter_map(|n| {
                    prepared
                        .nodes
                        .get(n.row)
                        .map(|e| node_json(e, n.score, node_threshold))
                })
                .collect();
            let mut line = serde_json::json!({
                "input": seq.name,
                "window_id": s.window_id,
                "start": rfc3339(s.start_ns),
                "end": rfc3339(s.end_ns),
                "events": prepared.events,
                "entities": prepared.len(),
                "score": s.score,
                "threshold": s.threshold,
                "alert": s.alert,
                "node_threshold": node_threshold,
                "nodes": nodes,
            });
            if let Some(c) = conformal.as_mut() {
                crate::conformal_cmd::annotate(c, s.score, &mut line);
            }
            if let Some(ex) = &explainer {
                let horizon = w.start.as_nanos().saturating_sub(back_ns);
                while history.front().is_some_and(|h| h.end.as_nanos() <= horizon) {
                    history.pop_front();
                }
                if s.alert {
                    let g = explain::ProvGraph::from_windows(history.iter().chain([&w]));
                    let (seeds, anomaly) = crate::explain_cmd::seeds_from_scores(
                        &g,
                        &prepared.nodes,
                        &s.node_scores,
                        node_threshold,
                        s.end_ns,
                    );
                    let x = ex.explain(&g, &seeds, &anomaly)?;
                    if let Some(o) = line.as_object_mut() {
                        o.insert("explanation".to_owned(), serde_json::to_value(&x)?);
                    }
                }
                history.push_back(w);
            }
            writeln!(out, "{line}")?;
            windows += 1;
            alerts += u64::from(s.alert);
        }
    }
    out.flush()?;
    tracing::info!(windows, alerts, "detect done");
    Ok(0)
}
