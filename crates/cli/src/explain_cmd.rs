//! `causaldefend explain`: alerts (or seed entities) in, explanations out.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use event::{EntityKind, NativeId, Timestamp};
use explain::{Explainer, Explanation, ProvGraph, Seed};
use graph::GraphWindow;

use crate::args::ExplainArgs;
use crate::data::{discover, WindowReader};

/// One alert line of `detect`, as far as explaining needs it.
#[derive(Debug, Clone)]
pub struct AlertRef {
    /// Line number in the alerts file (1-based).
    pub line: usize,
    /// The `input` (sequence name) it belongs to.
    pub input: String,
    /// Window id.
    pub window_id: u64,
    /// Window start and end (ns).
    pub start: i64,
    /// End.
    pub end: i64,
    /// Entity id (hex) → normalised anomaly (0..1), seeds flagged.
    pub nodes: Vec<(u64, f64, bool)>,
    /// The line as read.
    pub raw: serde_json::Value,
}

fn parse_time(v: &serde_json::Value, field: &str, line: usize) -> anyhow::Result<i64> {
    let s = v
        .get(field)
        .and_then(serde_json::Value::as_str)
        .with_context(|| format!("line {line}: field `{field}` missing or not a string"))?;
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("line {line}: field `{field}`: {s:?} is not an RFC 3339 time"))?;
    t.timestamp_nanos_opt()
        .with_context(|| format!("line {line}: field `{field}`: out of range"))
}

/// The anomaly of a node line: its score over twice the node threshold,
/// capped at 1 (so a flagged node is at least 0.5).
pub fn node_anomaly(score: f64, node_threshold: Option<f64>, flagged: bool) -> f64 {
    let a = match node_threshold {
        Some(t) if t > 0.0 => score / (2.0 * t),
        _ => 0.0,
    };
    let a = if a.is_finite() {
        a.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if flagged {
        a.max(explain::explainer::FLAGGED)
    } else {
        a.min(explain::explainer::FLAGGED - 1e-9)
    }
}

/// Parses one `detect` line; `None` for windows without an alert.
///
/// # Errors
/// A line that is not a `detect` alert, naming the line and the field.
pub fn parse_alert(v: serde_json::Value, line: usize) -> anyhow::Result<Option<AlertRef>> {
    if !v
        .get("alert")
        .and_then(serde_json::Value::as_bool)
        .with_context(|| {
            format!("line {line}: field `alert` missing or not a boolean: not a detect alert line")
        })?
    {
        return Ok(None);
    }
    let input = v
        .get("input")
        .and_then(serde_json::Value::as_str)
        .with_context(|| format!("line {line}: field `input` missing"))?
        .to_owned();
    let window_id = v
        .get("window_id")
        .and_then(serde_json::Value::as_u64)
        .with_context(|| format!("line {line}: field `window_id` missing"))?;
    let start = parse_time(&v, "start", line)?;
    let end = parse_time(&v, "end", line)?;
    let node_threshold = v.get("node_threshold").and_then(serde_json::Value::as_f64);
    let mut nodes = Vec::new();
    for (i, n) in v
        .get("nodes")
        .and_then(serde_json::Value::as_array)
        .with_context(|| format!("line {line}: field `nodes` missing or not a list"))?
        .iter()
        .enumerate()
    {
        let id = n
            .get("entity_id")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .with_context(|| format!("line {line}: nodes[{i}].entity_id missing or not hex"))?;
        let score = n
            .get("score")
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("line {line}: nodes[{i}].score missing"))?;
        let flagged = n
            .get("flagged")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        nodes.push((id, node_anomaly(score, node_threshold, flagged), flagged));
    }
    Ok(Some(AlertRef {
        line,
        input,
        window_id,
        start,
        end,
        nodes,
        raw: v,
    }))
}

/// Reads every alert of an alerts file (windows without alert are skipped).
fn read_alerts(path: &Path) -> anyhow::Result<Vec<AlertRef>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line_no = i + 1;
        let text = line.with_context(|| format!("{}: line {line_no}", path.display()))?;
        if text.trim().is_empty() {
            continue;
        }
        if text.len() > 64 << 20 {
            bail!("{}: line {line_no} is longer than 64 MiB", path.display());
        }
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: line {line_no}: not JSON", path.display()))?;
        if let Some(a) = parse_alert(v, line_no).with_context(|| path.display().to_string())? {
            out.push(a);
        }
    }
    Ok(out)
}

/// Seeds of an alert: its flagged processes, else its most anomalous
/// process, else its first node (see [`pick_seeds`]).
pub fn alert_seeds(g: &ProvGraph, a: &AlertRef) -> (Vec<Seed>, HashMap<usize, f64>) {
    let mut anomaly = HashMap::new();
    // Nodes come ranked by score in `detect` lines.
    let mut ranked = Vec::new();
    for &(id, an, flagged) in &a.nodes {
        let Some(v) = g.index_of(event::EntityId(id)) else {
            continue;
        };
        anomaly.insert(v, an);
        ranked.push((v, flagged));
    }
    (pick_seeds(g, &ranked, a.end), anomaly)
}

/// Seeds and anomalies straight from the detector's node scores (`detect --explain`).
pub fn seeds_from_scores(
    g: &ProvGraph,
    nodes: &[std::sync::Arc<event::Entity>],
    scores: &[f64],
    node_threshold: f64,
    end_ns: i64,
) -> (Vec<Seed>, HashMap<usize, f64>) {
    let mut order: Vec<(usize, f64)> = scores.iter().copied().enumerate().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut anomaly = HashMap::new();
    let mut ranked = Vec::new();
    for (row, score) in order.into_iter().take(64) {
        let Some(v) = nodes.get(row).and_then(|e| g.index_of(e.id)) else {
            continue;
        };
        let flagged = score > node_threshold;
        anomaly.insert(v, node_anomaly(score, Some(node_threshold), flagged));
        ranked.push((v, flagged));
    }
    (pick_seeds(g, &ranked, end_ns), anomaly)
}

/// The seeds of one alert from its nodes, most anomalous first: every
/// flagged *process*; if none is flagged, the most anomalous process; if
/// the alert names no process, its most anomalous node.
///
/// Why processes only: an alert is about what some program did; a flagged
/// file or socket is evidence already reached from the process that
/// touched it, and stays flagged in the anomaly map so the walk does not
/// stop there. Seeded on its own, an odd file (a package's doc folder, a
/// compiler temporary) pulled every process that read it into the
/// explanation: 60–120 processes per attack window in session 6's
/// measurement, for 1–9 malicious ones.
fn pick_seeds(g: &ProvGraph, ranked: &[(usize, bool)], end_ns: i64) -> Vec<Seed> {
    let is_process = |v: usize| {
        g.entities
            .get(v)
            .is_some_and(|e| e.kind == EntityKind::Process)
    };
    let mut chosen: Vec<usize> = ranked
        .iter()
        .filter(|(v, flagged)| *flagged && is_process(*v))
        .map(|(v, _)| *v)
        .collect();
    if chosen.is_empty() {
        chosen.extend(
            ranked
                .iter()
                .map(|(v, _)| *v)
                .find(|v| is_process(*v))
                .or_else(|| ranked.first().map(|(v, _)| *v)),
        );
    }
    chosen
        .into_iter()
        .map(|entity| Seed {
            entity,
            time: Timestamp::from_nanos(end_ns),
        })
        .collect()
}

/// Finds a `--seed-entity` in the graph: 16 hex digits (entity id), `pid:N`,
/// a Sysmon ProcessGuid, a CDM UUID, or an exact name (path, executable).
pub fn find_seed(g: &ProvGraph, spec: &str) -> Vec<usize> {
    if spec.len() == 16 {
        if let Ok(id) = u64::from_str_radix(spec, 16) {
            if let Some(v) = g.index_of(event::EntityId(id)) {
                return vec![v];
            }
        }
    }
    let pid = spec
        .strip_prefix("pid:")
        .and_then(|p| p.parse::<u32>().ok());
    g.entities
        .iter()
        .enumerate()
        .filter(|(_, e)| match (&e.native, pid) {
            (_, Some(p)) => e.kind == EntityKind::Process && e.pid == Some(p),
            (NativeId::SysmonProcess { process_guid, .. }, None) => {
                process_guid.eq_ignore_ascii_case(spec)
            }
            (NativeId::CdmUuid { uuid }, None) => uuid == spec,
            _ => e.name.as_deref() == Some(spec),
        })
        .map(|(i, _)| i)
        .collect()
}

/// Builds the explainer from the arguments.
pub fn explainer(
    config: Option<&Path>,
    rules: &[PathBuf],
    attack_table: Option<&Path>,
    ci_test: Option<&str>,
    ci_tester: Option<&Path>,
) -> anyhow::Result<Explainer> {
    let mut cfg = crate::config::load_explain_config(config)?;
    if let Some(t) = ci_test {
        t.clone_into(&mut cfg.causal.ci_test);
    }
    let table = match attack_table {
        Some(p) => explain::attack::AttackTable::load(p)?,
        None => explain::attack::AttackTable::embedded()?,
    };
    let mut rule_set = explain::attack::RuleSet::embedded(&table)?;
    for r in rules {
        rule_set.merge(explain::attack::RuleSet::load(r, &table)?);
    }
    let default_tester = PathBuf::from("models/ci_tester.ckpt");
    let ci = explain::causal::ci_by_name(
        &cfg.causal.ci_test,
        Some(ci_tester.unwrap_or(&default_tester)),
    )?;
    Ok(Explainer::new(cfg, rule_set, table, ci)?)
}

/// Writes an explanation as JSON, Markdown, DOT and GraphML under `dir/stem.*`.
pub fn write_explanation(
    dir: &Path,
    stem: &str,
    title: &str,
    x: &Explanation,
    alert: Option<&serde_json::Value>,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut v = serde_json::to_value(x)?;
    if let (Some(obj), Some(a)) = (v.as_object_mut(), alert) {
        obj.insert("alert".to_owned(), a.clone());
    }
    let json = dir.join(format!("{stem}.json"));
    let write = |p: PathBuf, s: &str| -> anyhow::Result<()> {
        std::fs::write(&p, s).with_context(|| format!("writing {}", p.display()))
    };
    write(json.clone(), &serde_json::to_string_pretty(&v)?)?;
    write(
        dir.join(format!("{stem}.md")),
        &explain::report::markdown(x, title),
    )?;
    write(dir.join(format!("{stem}.dot")), &explain::report::dot(x))?;
    write(
        dir.join(format!("{stem}.graphml")),
        &explain::report::graphml(x),
    )?;
    Ok(json)
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn overlaps(w: &GraphWindow, lo: i64, hi: i64) -> bool {
    w.end.as_nanos() > lo && w.start.as_nanos() <= hi
}

/// The audit record of one explanation: what it concluded, not the whole graph.
pub fn explanation_record(
    auditor: &crate::audit::Auditor,
    x: &Explanation,
    alert_id: Option<String>,
    file: &Path,
) -> compliance::RecordDraft {
    let digest = compliance::record::sha256_hex(
        serde_json::to_string(&x.seeds)
            .unwrap_or_default()
            .as_bytes(),
    );
    auditor.draft(
        compliance::RecordKind::Explanation,
        digest,
        String::new(),
        serde_json::json!({
            "file": file.display().to_string(),
            "root_causes": x.root_causes,
            "techniques": x.techniques.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            "chains": x.chains.len(),
            "counterfactuals": x.counterfactuals.iter().map(|c| c.statement.as_str()).collect::<Vec<_>>(),
            "reduction": {"entities_kept": x.reduction.entities_kept, "edge_ratio": x.reduction.edge_ratio},
        }),
        x.narrative.chars().take(2000).collect(),
        alert_id,
    )
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs, auditor: &mut crate::audit::Auditor) -> anyhow::Result<u8> {
    if args.alerts.is_none() && args.seed_entity.is_empty() {
        bail!("give --alerts FILE (from `detect`) or at least one --seed-entity");
    }
    let ex = explainer(
        args.explain_config.as_deref(),
        &args.rules,
        args.attack_table.as_deref(),
        args.ci_test.as_deref(),
        args.ci_tester.as_deref(),
    )?;
    let cfg = ex.config().clone();
    auditor.record_config("explain", &serde_json::to_value(&cfg)?)?;
    let reader = WindowReader::for_model(
        args.format.into(),
        args.config.as_deref(),
        &detect::DetectorConfig::default(),
    )?;
    let sequences = discover(std::slice::from_ref(&args.input))?;
    let mut index = std::io::BufWriter::new(
        std::fs::File::create({
            std::fs::create_dir_all(&args.output)
                .with_context(|| format!("creating {}", args.output.display()))?;
            args.output.join("explanations.jsonl")
        })
        .with_context(|| {
            format!(
                "creating {}",
                args.output.join("explanations.jsonl").display()
            )
        })?,
    );
    let secs = |s: f64| (s * 1e9) as i64;
    let mut written = 0usize;
    if let Some(path) = &args.alerts {
        let alerts = read_alerts(path)?;
        if alerts.is_empty() {
            tracing::warn!(alerts = %path.display(), "no window of the alerts file is an alert: nothing to explain");
        }
        for seq in &sequences {
            let mine: Vec<&AlertRef> = alerts.iter().filter(|a| a.input == seq.name).collect();
            if mine.is_empty() {
                continue;
            }
            let windows = reader.windows(seq)?;
            for a in mine {
                let lo = a.start - secs(cfg.reduce.back_secs);
                let hi = a.end + secs(cfg.reduce.forward_secs);
                let g = ProvGraph::from_windows(windows.iter().filter(|w| overlaps(w, lo, hi)));
                let (seeds, anomaly) = alert_seeds(&g, a);
                if seeds.is_empty() {
                    tracing::warn!(line = a.line, input = %a.input, "none of the alert's entities is in the input: was detect run on the same input?");
                    continue;
                }
                let x = ex.explain(&g, &seeds, &anomaly)?;
                let stem = format!("{}-w{}", sanitize(&seq.name), a.window_id);
                let title = format!("Alert: {} window {}", seq.name, a.window_id);
                let json = write_explanation(&args.output, &stem, &title, &x, Some(&a.raw))?;
                let mut line = a.raw.clone();
                if let Some(o) = line.as_object_mut() {
                    o.insert("explanation".to_owned(), serde_json::to_value(&x)?);
                }
                writeln!(index, "{line}")?;
                auditor.append(explanation_record(
                    auditor,
                    &x,
                    a.raw
                        .get("alert_id")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                    &json,
                ))?;
                tracing::info!(file = %json.display(), chains = x.chains.len(), techniques = x.techniques.len(), "explained");
                written += 1;
            }
        }
    }
    if !args.seed_entity.is_empty() {
        for seq in &sequences {
            let windows = reader.windows(seq)?;
            let g = ProvGraph::from_windows(windows.iter());
            let mut seeds = Vec::new();
            for spec in &args.seed_entity {
                for v in find_seed(&g, spec) {
                    let time = g.activity_span(v).map(|(_, last)| last).unwrap_or_default();
                    seeds.push(Seed { entity: v, time });
                }
            }
            if seeds.is_empty() {
                tracing::warn!(input = %seq.name, "no --seed-entity found in this input");
                continue;
            }
            let x = ex.explain(&g, &seeds, &HashMap::new())?;
            let stem = format!("{}-seed", sanitize(&seq.name));
            let title = format!(
                "Explanation: {} from {}",
                seq.name,
                args.seed_entity.join(", ")
            );
            let json = write_explanation(&args.output, &stem, &title, &x, None)?;
            writeln!(
                index,
                "{}",
                serde_json::json!({"input": seq.name, "seeds": args.seed_entity, "explanation": x})
            )?;
            tracing::info!(file = %json.display(), chains = x.chains.len(), "explained");
            written += 1;
        }
    }
    index.flush()?;
    if written == 0 {
        bail!(
            "nothing explained: no alert or seed entity was found in {}",
            args.input.display()
        );
    }
    eprintln!("{written} explanation(s) in {}", args.output.display());
    Ok(0)
}

/// Runs `update-attack`: MITRE's STIX bundle in, our technique table out.
pub fn update_attack(a: &crate::args::UpdateAttackArgs) -> anyhow::Result<u8> {
    let t = explain::attack::AttackTable::read_stix_bundle(&a.bundle)?;
    t.write_table(&a.output)?;
    eprintln!(
        "{} techniques ({} active), ATT&CK {}, in {}",
        t.len(),
        t.active_count(),
        t.version(),
        a.output.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use event::{EdgeKind, Entity, Event, SourceFormat};

    use super::*;

    fn entity(kind: EntityKind, native: NativeId) -> Arc<Entity> {
        Arc::new(Entity::new(kind, native, None))
    }

    /// A shell that writes a file a second process reads.
    fn graph() -> (ProvGraph, [usize; 3]) {
        let shell = entity(
            EntityKind::Process,
            NativeId::AuditdProcess {
                pid: 10,
                start: Timestamp::from_nanos(0),
            },
        );
        let reader = entity(
            EntityKind::Process,
            NativeId::AuditdProcess {
                pid: 11,
                start: Timestamp::from_nanos(0),
            },
        );
        let file = entity(
            EntityKind::File,
            NativeId::Name {
                name: "/tmp/x".to_owned(),
            },
        );
        let mut g = ProvGraph::new();
        for (ts, kind, s, o) in [
            (1, EdgeKind::Write, &shell, &file),
            (2, EdgeKind::Read, &reader, &file),
        ] {
            g.add_event(&Event {
                ts: Timestamp::from_nanos(ts),
                kind,
                subject: Arc::clone(s),
                object: Arc::clone(o),
                native_type: Arc::from("x"),
                seq: 0,
                format: SourceFormat::Auditd,
            });
        }
        let v = |e: &Arc<Entity>| g.index_of(e.id).unwrap();
        let ids = [v(&shell), v(&reader), v(&file)];
        (g, ids)
    }

    fn seeds(g: &ProvGraph, ranked: &[(usize, bool)]) -> Vec<usize> {
        pick_seeds(g, ranked, 5)
            .into_iter()
            .map(|s| s.entity)
            .collect()
    }

    #[test]
    fn flagged_files_do_not_seed_flagged_processes_do() {
        let (g, [shell, reader, file]) = graph();
        // The file scores highest and is flagged, as the shell is: only the shell seeds.
        assert_eq!(
            seeds(&g, &[(file, true), (shell, true), (reader, false)]),
            [shell]
        );
        assert_eq!(
            seeds(&g, &[(reader, true), (file, true), (shell, true)]),
            [reader, shell]
        );
    }

    #[test]
    fn without_a_flagged_process_the_top_process_seeds() {
        let (g, [shell, reader, file]) = graph();
        assert_eq!(
            seeds(&g, &[(file, true), (reader, false), (shell, false)]),
            [reader]
        );
        // No process at all among the nodes: the top node.
        assert_eq!(seeds(&g, &[(file, false)]), [file]);
        assert!(seeds(&g, &[]).is_empty());
    }
}
