//! The model card (EU AI Act Article 11 and Annex IV): what the system is,
//! what it was trained on, how well it does, where it fails, and how humans
//! oversee it.
//!
//! Everything that can be derived is derived: from the checkpoint's metadata,
//! the conformal calibration beside it and the `evaluate` results. What only
//! people know (intended purpose, provider, limitations, oversight measures)
//! comes from a YAML file of declared fields; a field nobody declared is
//! listed under `missing`, never invented.

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Schema name of [`ModelCard`].
pub const MODEL_CARD_SCHEMA: &str = "cd-model-card-v1";

/// Largest declared-fields file read.
const MAX_DECLARED_BYTES: u64 = 1 << 20;

/// A data source as the provider describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    /// Name (for example "shared auditd recordings").
    pub name: String,
    /// Period the data covers.
    #[serde(default)]
    pub period: Option<String>,
    /// What it is and how it was collected.
    #[serde(default)]
    pub description: Option<String>,
}

/// Minimum figures the provider declares (Article 15); `verify-compliance`
/// checks the evaluation against them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclaredThresholds {
    /// Minimum window-level ROC-AUC on the declared evaluation.
    pub min_window_auc: Option<f64>,
    /// Minimum conformal coverage of benign windows at `coverage_level`.
    pub min_benign_coverage: Option<f64>,
    /// The confidence level `min_benign_coverage` applies to (default 0.9).
    pub coverage_level: Option<f64>,
    /// Minimum attack-entity recall of explanations.
    pub min_explanation_recall: Option<f64>,
}

/// Fields only people can fill in (`config/model_card.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Declared {
    /// Who places the system on the market or puts it into service.
    pub provider: Option<String>,
    /// Whom to contact about it.
    pub contact: Option<String>,
    /// The system's version as released.
    pub version: Option<String>,
    /// What it is for.
    pub intended_purpose: Option<String>,
    /// Who is meant to use it.
    pub intended_users: Option<String>,
    /// Uses it is not meant for.
    pub out_of_scope_uses: Vec<String>,
    /// Known limitations.
    pub limitations: Vec<String>,
    /// Known failure modes.
    pub failure_modes: Vec<String>,
    /// Human oversight measures (Article 14).
    pub human_oversight: Vec<String>,
    /// Instructions for use (Article 13).
    pub instructions_for_use: Option<String>,
    /// Where the training data came from.
    pub data_sources: Vec<DataSource>,
    /// Declared accuracy, robustness and coverage minimums (Article 15).
    pub thresholds: DeclaredThresholds,
}

impl Declared {
    /// Reads the declared fields from YAML.
    ///
    /// # Errors
    /// The file cannot be read, or has an unknown or mistyped field (named).
    pub fn load(path: &Path) -> Result<Self> {
        let f = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_norway::from_reader(f.take(MAX_DECLARED_BYTES)).map_err(|e| Error::BadFile {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// One figure from an `evaluate` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Dataset.
    pub dataset: String,
    /// What was measured (dotted path in the results file).
    pub name: String,
    /// Value.
    pub value: f64,
    /// The results file it came from.
    pub source: String,
}

/// The model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// [`MODEL_CARD_SCHEMA`].
    pub schema: String,
    /// When this card was generated (RFC 3339).
    pub generated_at: String,
    /// The checkpoint: path, SHA-256, writer, feature schema.
    pub model: Value,
    /// Architecture and hyper-parameters (from the checkpoint).
    pub architecture: Value,
    /// Training data (digest, sizes from the checkpoint; sources from the declared fields).
    pub data: Value,
    /// Figures from `evaluate` results.
    pub metrics: Vec<Metric>,
    /// Conformal calibration (level, adaptivity, sizes), when one was found.
    pub conformal: Option<Value>,
    /// Fields only people can declare.
    pub declared: Declared,
    /// Fields nobody declared or derived; a complete card has none.
    pub missing: Vec<String>,
}

/// What goes into a card.
#[derive(Debug, Clone, Default)]
pub struct CardInputs {
    /// Path of the checkpoint as given.
    pub model_path: String,
    /// SHA-256 of its bytes.
    pub model_sha256: String,
    /// Its metadata (JSON).
    pub checkpoint_meta: Value,
    /// The calibration file's JSON, when there is one.
    pub calibration: Option<Value>,
    /// `evaluate` results: (file, JSON).
    pub evaluations: Vec<(String, Value)>,
    /// Declared fields.
    pub declared: Declared,
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// Collects every number of an `evaluate` result by dotted path; arrays of
/// objects (one per seed) contribute one value each, so a path's values are
/// the per-seed figures. Lists of raw scores and per-item tables are skipped.
fn flatten(
    prefix: &str,
    v: &Value,
    depth: usize,
    out: &mut std::collections::BTreeMap<String, Vec<f64>>,
) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.entry(prefix.to_owned()).or_default().push(x);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                if k.starts_with("per_")
                    || matches!(k.as_str(), "config" | "train" | "test" | "data" | "model")
                {
                    continue;
                }
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, depth + 1, out);
            }
        }
        Value::Array(items) if items.iter().all(Value::is_object) => {
            for x in items {
                // Per-level figures (conformal coverage) keep their level apart.
                match x.get("level").and_then(Value::as_f64) {
                    Some(level) => flatten(&format!("{prefix}@{level}"), x, depth + 1, out),
                    None => flatten(prefix, x, depth + 1, out),
                }
            }
        }
        _ => {}
    }
}

/// The figures of one `evaluate` result: the mean of each number over seeds.
fn metrics_of(file: &str, v: &Value) -> Vec<Metric> {
    let dataset = v
        .get("dataset")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let mut all = std::collections::BTreeMap::new();
    flatten("", v, 0, &mut all);
    all.into_iter()
        .filter(|(_, xs)| !xs.is_empty())
        .map(|(name, xs)| {
            #[allow(clippy::cast_precision_loss)]
            let value = xs.iter().sum::<f64>() / xs.len() as f64;
            Metric {
                dataset: dataset.clone(),
                name,
                value,
                source: file.to_owned(),
            }
        })
        .collect()
}

/// Builds the card; never fails: what is missing is listed.
pub fn build(inp: &CardInputs, now_rfc3339: &str) -> ModelCard {
    let meta = &inp.checkpoint_meta;
    let mut missing = Vec::new();
    let pick = |k: &str| meta.get(k).cloned().unwrap_or(Value::Null);
    let model = serde_json::json!({
        "path": inp.model_path,
        "sha256": inp.model_sha256,
        "created_by": pick("created_by"),
        "feature_schema": pick("feature_schema"),
        "feature_dim": pick("feature_dim"),
        "best_epoch": pick("best_epoch"),
        "thresholds": meta.get("thresholds").map(|t| serde_json::json!({
            "window": t.get("window"), "node": t.get("node"), "source": t.get("source"),
        })),
        "history": pick("history"),
    });
    let architecture = serde_json::json!({
        "kind": "spatio-temporal graph autoencoder: edge-type-aware multi-head GAT encoder, GRU across windows, feature and edge decoders; anomaly = reconstruction error",
        "edge_types": pick("edge_types"),
        "hyper_parameters": pick("config"),
    });
    let data = serde_json::json!({
        "training": pick("training"),
        "sources": inp.declared.data_sources,
    });
    if meta.get("config").is_none() {
        missing.push("architecture.hyper_parameters (checkpoint metadata)".to_owned());
    }
    if meta.get("training").is_none() {
        missing.push("data.training (checkpoint metadata)".to_owned());
    }
    let metrics: Vec<Metric> = inp
        .evaluations
        .iter()
        .flat_map(|(f, v)| metrics_of(f, v))
        .collect();
    if metrics.is_empty() {
        missing.push("metrics (no `evaluate` results given)".to_owned());
    }
    let conformal = inp.calibration.as_ref().map(|c| {
        serde_json::json!({
            "confidence_level": c.get("confidence_level"),
            "adaptivity": c.get("adaptivity"),
            "detector_sha256": c.get("detector_sha256"),
            "benign_calibration_windows": c.pointer("/calibration/benign").and_then(Value::as_array).map(Vec::len),
            "attack_calibration_windows": c.pointer("/calibration/attack").and_then(Value::as_array).map(Vec::len),
            "sources": c.get("sources"),
        })
    });
    if conformal.is_none() {
        missing.push("conformal (no calibration beside the model)".to_owned());
    }
    let d = &inp.declared;
    let mut need = |name: &str, present: bool| {
        if !present {
            missing.push(format!("declared.{name}"));
        }
    };
    need("provider", d.provider.is_some());
    need("contact", d.contact.is_some());
    need("version", d.version.is_some());
    need("intended_purpose", d.intended_purpose.is_some());
    need("intended_users", d.intended_users.is_some());
    need("limitations", !d.limitations.is_empty());
    need("failure_modes", !d.failure_modes.is_empty());
    need("human_oversight", !d.human_oversight.is_empty());
    need("instructions_for_use", d.instructions_for_use.is_some());
    need("data_sources", !d.data_sources.is_empty());
    ModelCard {
        schema: MODEL_CARD_SCHEMA.to_owned(),
        generated_at: now_rfc3339.to_owned(),
        model,
        architecture,
        data,
        metrics,
        conformal,
        declared: d.clone(),
        missing,
    }
}

impl ModelCard {
    /// A figure by dataset and dotted name.
    pub fn metric(&self, dataset: &str, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.dataset == dataset && m.name == name)
            .map(|m| m.value)
    }

    /// The card as Markdown, for people.
    pub fn markdown(&self) -> String {
        let d = &self.declared;
        let or_missing = |o: &Option<String>| o.clone().unwrap_or_else(|| "**missing**".to_owned());
        let list = |v: &[String]| {
            if v.is_empty() {
                "- **missing**\n".to_owned()
            } else {
                v.iter().map(|x| format!("- {x}\n")).collect()
            }
        };
        let mut s = String::new();
        let _ = writeln!(s, "# Model card: CausalDefend detector\n");
        let _ = writeln!(
            s,
            "Generated {} (schema {}). Model `{}`, SHA-256 `{}`.\n",
            self.generated_at,
            self.schema,
            self.model["path"].as_str().unwrap_or("?"),
            self.model["sha256"].as_str().unwrap_or("?")
        );
        let _ = writeln!(
            s,
            "## Provider\n\n{} ({}), version {}\n",
            or_missing(&d.provider),
            or_missing(&d.contact),
            or_missing(&d.version)
        );
        let _ = writeln!(
            s,
            "## Intended purpose\n\n{}\n\nIntended users: {}\n",
            or_missing(&d.intended_purpose),
            or_missing(&d.intended_users)
        );
        let _ = writeln!(s, "Out of scope:\n\n{}", list(&d.out_of_scope_uses));
        let _ = writeln!(
            s,
            "## Architecture\n\n{}\n\n```json\n{}\n```\n",
            self.architecture["kind"].as_str().unwrap_or(""),
            serde_json::to_string_pretty(&self.architecture["hyper_parameters"])
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "## Data\n\n```json\n{}\n```\n",
            serde_json::to_string_pretty(&self.data).unwrap_or_default()
        );
        s.push_str("## Metrics\n\n| dataset | metric | value | source |\n|---|---|---|---|\n");
        for m in &self.metrics {
            let _ = writeln!(
                s,
                "| {} | {} | {:.4} | {} |",
                m.dataset, m.name, m.value, m.source
            );
        }
        if self.metrics.is_empty() {
            s.push_str("| **missing** | | | |\n");
        }
        let _ = writeln!(
            s,
            "\n## Conformal calibration\n\n{}\n",
            self.conformal.as_ref().map_or_else(
                || "**missing**".to_owned(),
                |c| format!(
                    "```json\n{}\n```",
                    serde_json::to_string_pretty(c).unwrap_or_default()
                )
            )
        );
        let _ = writeln!(s, "## Known limitations\n\n{}", list(&d.limitations));
        let _ = writeln!(s, "## Failure modes\n\n{}", list(&d.failure_modes));
        let _ = writeln!(s, "## Human oversight\n\n{}", list(&d.human_oversight));
        let _ = writeln!(
            s,
            "## Instructions for use\n\n{}\n",
            or_missing(&d.instructions_for_use)
        );
        if self.missing.is_empty() {
            s.push_str("## Completeness\n\nNo field is missing.\n");
        } else {
            s.push_str("## Completeness: missing fields\n\n");
            for m in &self.missing {
                let _ = writeln!(s, "- {m}");
            }
        }
        s
    }

    /// Window ROC-AUC of the detector evaluation, if the card carries one.
    pub fn window_auc(&self) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name.ends_with("gnn.window_roc_auc"))
            .map(|m| m.value)
    }
}

/// True when `v` looks like a checkpoint's metadata (for a clear error).
pub fn is_checkpoint_meta(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str).is_some() && num(v, &["feature_dim"]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> CardInputs {
        CardInputs {
            model_path: "models/detector.ckpt".into(),
            model_sha256: "ab".repeat(32),
            checkpoint_meta: serde_json::json!({
                "kind": "causaldefend-detector", "feature_dim": 342, "feature_schema": "cd-features-v2",
                "config": {"hidden_dim": 32}, "training": {"digest": "d", "sequences": 14},
                "thresholds": {"window": 29.4, "node": 15.0, "source": "validation"},
            }),
            calibration: None,
            evaluations: vec![(
                "results/auditd.json".into(),
                serde_json::json!({"dataset": "auditd", "runs": [{"gnn": {"window_roc_auc": 0.80}}, {"gnn": {"window_roc_auc": 0.84}}], "per_explanation": {"x": 1.0}}),
            )],
            declared: Declared::default(),
        }
    }

    #[test]
    fn missing_fields_are_listed_not_invented() {
        let card = build(&inputs(), "2026-11-24T00:00:00Z");
        assert!(card
            .missing
            .contains(&"declared.intended_purpose".to_owned()));
        assert!(card.missing.iter().any(|m| m.starts_with("conformal")));
        assert_eq!(card.declared.intended_purpose, None);
        assert!(card.markdown().contains("**missing**"));
    }

    #[test]
    fn metrics_come_from_evaluate_results() {
        let card = build(&inputs(), "2026-11-24T00:00:00Z");
        let auc = card.metric("auditd", "runs.gnn.window_roc_auc").unwrap();
        assert!((auc - 0.82).abs() < 1e-12, "mean over seeds: {auc}");
        assert!(card.window_auc().is_some());
        assert!(card.metrics.iter().all(|m| !m.name.starts_with("per_")));
    }

    #[test]
    fn declared_yaml_rejects_unknown_fields_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("card.yaml");
        std::fs::write(&p, "provider: ACME\nintended_purpos: x\n").unwrap();
        let e = Declared::load(&p).unwrap_err().to_string();
        assert!(e.contains("intended_purpos"), "{e}");
    }
}
