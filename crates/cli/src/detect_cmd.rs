//! `causaldefend detect`: logs in, one JSON line per window out.

use std::io::{BufWriter, Write};

use anyhow::Context;
use event::{Entity, NativeId};

use crate::args::DetectArgs;
use crate::data::{discover, WindowReader};

/// The id a review names an alert by: 16 hex digits of SHA-256 over the
/// input, window number and window start, so the same window of the same
/// input always gets the same id.
pub fn alert_id(input: &str, window_id: u32, start_ns: i64) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(input.as_bytes());
    h.update([0u8]);
    h.update(window_id.to_le_bytes());
    h.update(start_ns.to_le_bytes());
    let d = h.finalize();
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

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
/// windows of another length (or process grace) than the model's are not
/// comparable with its threshold, so say so (the folder is still scored).
fn warn_on_window_mismatch(seq: &crate::data::Sequence, cfg: &detect::DetectorConfig) {
    let crate::data::Origin::Preprocessed(dir) = &seq.origin else {
        return;
    };
    if let Ok(m) = graph::read_manifest(dir) {
        let same = m
            .windowing
            .window_secs
            .is_some_and(|s| (s - cfg.window_secs).abs() < 1e-9)
            && (m.windowing.process_grace_secs - cfg.process_grace_secs).abs() < 1e-9;
        if !same {
            tracing::warn!(
                input = %dir.display(),
                folder_window_secs = ?m.windowing.window_secs,
                folder_process_grace_secs = m.windowing.process_grace_secs,
                model_window_secs = cfg.window_secs,
                model_process_grace_secs = cfg.process_grace_secs,
                "the folder was cut into other windows than the model was trained on: scores and threshold do not compare; re-run preprocess with the model's --window-secs and windowing.process_grace_secs"
            );
        }
    }
}

/// The audit records of one window line: its detection, and when it is one,
/// the alert and the escalation, linked by `alert_id`.
fn audit_window(
    auditor: &crate::audit::Auditor,
    pending: &mut Vec<compliance::RecordDraft>,
    line: &serde_json::Value,
    seq_digest: &str,
    model_version: &str,
) {
    use compliance::RecordKind;
    let alert_id = line
        .get("alert_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let digest = compliance::record::sha256_hex(
        format!(
            "{seq_digest}:{}",
            line.get("window_id")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        )
        .as_bytes(),
    );
    let pick = |k: &str| line.get(k).cloned().unwrap_or(serde_json::Value::Null);
    let summary = serde_json::json!({
        "alert_id": pick("alert_id"), "input": pick("input"), "window_id": pick("window_id"),
        "start": pick("start"), "end": pick("end"), "score": pick("score"),
        "threshold": pick("threshold"), "alert": pick("alert"),
        "p_value": pick("p_value"), "prediction_set": pick("prediction_set"),
        "confidence": pick("confidence"), "decision": pick("decision"),
    });
    let alert = line.get("alert").and_then(serde_json::Value::as_bool) == Some(true);
    pending.push(
        auditor.draft(
            RecordKind::Detection,
            digest.clone(),
            model_version.to_owned(),
            summary.clone(),
            if alert {
                "window score above threshold"
            } else {
                "window score at or below threshold"
            }
            .to_owned(),
            alert_id.clone(),
        ),
    );
    if alert {
        let top: Vec<serde_json::Value> = line
            .get("nodes")
            .and_then(serde_json::Value::as_array)
            .map(|n| {
                n.iter()
                    .filter(|x| x.get("flagged") == Some(&serde_json::Value::Bool(true)))
                    .filter_map(|x| x.get("entity_id").cloned())
                    .collect()
            })
            .unwrap_or_default();
        pending.push(auditor.draft(
            RecordKind::Alert,
            digest.clone(),
            model_version.to_owned(),
            serde_json::json!({"summary": summary, "flagged_entities": top}),
            "alert raised to analysts".to_owned(),
            alert_id.clone(),
        ));
    }
    if line.get("decision").and_then(serde_json::Value::as_str) == Some("escalate") {
        pending.push(
            auditor.draft(
                RecordKind::Escalation,
                digest.clone(),
                model_version.to_owned(),
                summary,
                line.get("reason")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("escalated")
                    .to_owned(),
                alert_id.clone(),
            ),
        );
    }
    if let Some(x) = line.get("explanation") {
        pending.push(auditor.draft(
            RecordKind::Explanation,
            digest,
            model_version.to_owned(),
            serde_json::json!({
                "root_causes": x.get("root_causes"),
                "techniques": x.get("techniques").and_then(serde_json::Value::as_array).map(|t| t.iter().filter_map(|t| t.get("id").cloned()).collect::<Vec<_>>()),
                "counterfactuals": x.get("counterfactuals").and_then(serde_json::Value::as_array).map(|c| c.iter().filter_map(|c| c.get("statement").cloned()).collect::<Vec<_>>()),
            }),
            x.get("narrative").and_then(serde_json::Value::as_str).unwrap_or_default().chars().take(2000).collect(),
            alert_id,
        ));
    }
}

/// Runs `detect`.
pub fn run(args: &DetectArgs, auditor: &mut crate::audit::Auditor) -> anyhow::Result<u8> {
    let device = detect::device(args.gpus)?;
    let ckpt = detect::Checkpoint::load(&args.model, &device)
        .with_context(|| format!("loading model {}", args.model.display()))?;
    let cfg = ckpt.model.config.clone();
    let node_threshold = ckpt.meta.thresholds.node;
    let reader = WindowReader::for_model(args.format.into(), args.config.as_deref(), &cfg)?;
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
    let model_version = crate::audit::digest_of(&args.model);
    auditor.record_config(
        "escalation",
        &serde_json::to_value(crate::conformal_cmd::load_policy(
            args.api_config.as_deref(),
        )?)?,
    )?;
    if let Some(ex) = &explainer {
        auditor.record_config("explain", &serde_json::to_value(ex.config())?)?;
    }
    let mut pending: Vec<compliance::RecordDraft> = Vec::new();
    let mut detector = detect::Detector::new(ckpt, device);
    let (mut windows, mut alerts) = (0u64, 0u64);
    for seq in &sequences {
        warn_on_window_mismatch(seq, &cfg);
        detector.reset();
        let seq_digest = match &seq.origin {
            crate::data::Origin::Raw(p) | crate::data::Origin::Preprocessed(p) => {
                crate::audit::digest_of(p)
            }
        };
        // Recent windows, for explaining an alert with its history.
        let mut history: std::collections::VecDeque<graph::GraphWindow> =
            std::collections::VecDeque::new();
        for w in reader.windows(seq)? {
            let prepared = detect::prepare(&w, cfg.max_edges_per_window);
            let mut s = detector.score(&prepared)?;
            if let Some(t) = args.threshold {
                s.set_threshold(t);
            }
            // Nothing is flagged in the warm-up, nodes included.
            let flag_above = if s.warmup {
                f64::INFINITY
            } else {
                node_threshold
            };
            let nodes: Vec<serde_json::Value> = s
                .top_nodes(args.top_k)
                .into_iter()
                .filter_map(|n| {
                    prepared
                        .nodes
                        .get(n.row)
                        .map(|e| node_json(e, n.score, flag_above))
                })
                .collect();
            let mut line = serde_json::json!({
                "alert_id": alert_id(&seq.name, s.window_id, s.start_ns),
                "input": seq.name,
                "window_id": s.window_id,
                "start": rfc3339(s.start_ns),
                "end": rfc3339(s.end_ns),
                "events": prepared.events,
                "entities": prepared.len(),
                "score": s.score,
                "threshold": s.threshold,
                "alert": s.alert,
                "warmup": s.warmup,
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
            audit_window(auditor, &mut pending, &line, &seq_digest, &model_version);
            if pending.len() >= 256 {
                auditor.append_many(std::mem::take(&mut pending))?;
            }
            windows += 1;
            alerts += u64::from(s.alert);
        }
    }
    auditor.append_many(std::mem::take(&mut pending))?;
    out.flush()?;
    tracing::info!(windows, alerts, "detect done");
    Ok(0)
}
