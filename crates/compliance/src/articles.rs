//! The per-article checks of `verify-compliance` (EU AI Act Articles 11–15).
//!
//! Each check returns ✓ or ✗ with its reasons; a reason names what is
//! missing or wrong, and where, so that a failing report is a to-do list.

use serde::Serialize;
use serde_json::Value;

use crate::model_card::ModelCard;

/// The verdict on one article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleResult {
    /// Article number.
    pub article: u8,
    /// What the article asks.
    pub title: &'static str,
    /// True when every check passed.
    pub ok: bool,
    /// Why it passed or failed (one line each).
    pub reasons: Vec<String>,
}

impl ArticleResult {
    fn new(article: u8, title: &'static str, problems: Vec<String>, fine: String) -> Self {
        let ok = problems.is_empty();
        Self {
            article,
            title,
            ok,
            reasons: if ok { vec![fine] } else { problems },
        }
    }

    /// The report line: `✓ Article 11 (technical documentation): reason`.
    pub fn line(&self) -> String {
        format!(
            "{} Article {} ({}): {}",
            if self.ok { "✓" } else { "✗" },
            self.article,
            self.title,
            self.reasons.join("; ")
        )
    }
}

/// Article 11: the model card is complete.
pub fn article_11(card: Option<&ModelCard>) -> ArticleResult {
    let problems = match card {
        None => vec!["no model card given".to_owned()],
        Some(c) => c
            .missing
            .iter()
            .map(|m| format!("model card field missing: {m}"))
            .collect(),
    };
    ArticleResult::new(
        11,
        "technical documentation",
        problems,
        "model card complete".to_owned(),
    )
}

/// Article 13: instructions for use and limitations are stated.
pub fn article_13(card: Option<&ModelCard>) -> ArticleResult {
    let mut problems = Vec::new();
    match card {
        None => problems.push("no model card given".to_owned()),
        Some(c) => {
            if c.declared.instructions_for_use.is_none() {
                problems.push("instructions for use missing".to_owned());
            }
            if c.declared.limitations.is_empty() {
                problems.push("known limitations missing".to_owned());
            }
            if c.declared.intended_purpose.is_none() {
                problems.push("intended purpose missing".to_owned());
            }
        }
    }
    ArticleResult::new(
        13,
        "transparency",
        problems,
        "intended purpose, instructions for use and limitations stated".to_owned(),
    )
}

/// State of human review, as the audit log shows it (Article 14).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OversightState {
    /// The escalation policy (`escalation:` of `config/api_config.yaml`), if configured.
    pub escalation: Option<Value>,
    /// Escalated alerts with a review record.
    pub reviewed: usize,
    /// Escalated alerts without a review, still within their deadline.
    pub pending: usize,
    /// Escalated alerts without a review past their deadline: (alert id, record seq).
    pub overdue: Vec<(String, u64)>,
}

/// Article 14: escalation is configured and every escalated alert is reviewed
/// or pending within its deadline.
pub fn article_14(state: &OversightState) -> ArticleResult {
    let mut problems = Vec::new();
    match &state.escalation {
        None => problems.push("no escalation policy configured".to_owned()),
        Some(e) => {
            if e.get("confidence_threshold")
                .and_then(Value::as_f64)
                .is_none()
            {
                problems.push("escalation.confidence_threshold not set".to_owned());
            }
        }
    }
    for (alert, seq) in &state.overdue {
        problems.push(format!(
            "escalated alert {alert} (audit record {seq}) has no review and is past its deadline"
        ));
    }
    ArticleResult::new(
        14,
        "human oversight",
        problems,
        format!(
            "escalation configured; {} escalated alert(s) reviewed, {} pending within deadline",
            state.reviewed, state.pending
        ),
    )
}

/// Article 15: accuracy, robustness and coverage figures are present and meet
/// the thresholds the provider declared in the model card.
pub fn article_15(card: Option<&ModelCard>) -> ArticleResult {
    let mut problems = Vec::new();
    let mut fine = Vec::new();
    let Some(c) = card else {
        return ArticleResult::new(
            15,
            "accuracy, robustness and cybersecurity",
            vec!["no model card given".to_owned()],
            String::new(),
        );
    };
    let t = &c.declared.thresholds;
    if t.min_window_auc.is_none()
        && t.min_benign_coverage.is_none()
        && t.min_explanation_recall.is_none()
    {
        problems.push("no accuracy or coverage thresholds declared".to_owned());
    }
    let mut check = |what: &str, min: Option<f64>, value: Option<f64>| {
        let Some(min) = min else { return };
        match value {
            None => problems.push(format!("{what}: no figure in the model card's metrics")),
            Some(v) if v < min => problems.push(format!("{what} {v:.3} below the declared {min}")),
            Some(v) => fine.push(format!("{what} {v:.3} ≥ {min}")),
        }
    };
    check("window ROC-AUC", t.min_window_auc, c.window_auc());
    let level = t.coverage_level.unwrap_or(0.9);
    let coverage = c
        .metrics
        .iter()
        .find(|m| m.name.ends_with(&format!("levels@{level}.benign_coverage")))
        .map(|m| m.value);
    check(
        &format!("benign coverage at {level}"),
        t.min_benign_coverage,
        coverage,
    );
    let recall = c
        .metrics
        .iter()
        .find(|m| m.name == "oracle_seeded.recall")
        .map(|m| m.value);
    check("explanation recall", t.min_explanation_recall, recall);
    ArticleResult::new(
        15,
        "accuracy, robustness and cybersecurity",
        problems,
        fine.join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_card::{build, CardInputs, Declared, DeclaredThresholds};

    fn card(auc: f64, declared: Declared) -> ModelCard {
        build(
            &CardInputs {
                model_path: "m".into(),
                model_sha256: "0".repeat(64),
                checkpoint_meta: serde_json::json!({"config": {}, "training": {}}),
                calibration: None,
                evaluations: vec![(
                    "r.json".into(),
                    serde_json::json!({"dataset": "auditd", "runs": [{"gnn": {"window_roc_auc": auc},
                        "conformal": {"levels": [{"level": 0.9, "benign_coverage": 0.97}, {"level": 0.8, "benign_coverage": 0.5}]}}]}),
                )],
                declared,
            },
            "2026-11-24T00:00:00Z",
        )
    }

    #[test]
    fn article_15_compares_figures_with_declared_thresholds() {
        let d = Declared {
            thresholds: DeclaredThresholds {
                min_window_auc: Some(0.8),
                min_benign_coverage: Some(0.88),
                coverage_level: Some(0.9),
                min_explanation_recall: None,
            },
            ..Declared::default()
        };
        let ok = article_15(Some(&card(0.82, d.clone())));
        assert!(ok.ok, "{ok:?}");
        let bad = article_15(Some(&card(0.7, d)));
        assert!(!bad.ok);
        assert!(bad.line().starts_with("✗ Article 15"), "{}", bad.line());
        assert!(
            bad.reasons[0].contains("0.700 below the declared 0.8"),
            "{bad:?}"
        );
    }

    #[test]
    fn article_11_lists_missing_fields() {
        let r = article_11(Some(&card(0.8, Declared::default())));
        assert!(!r.ok);
        assert!(
            r.reasons.iter().any(|x| x.contains("declared.provider")),
            "{r:?}"
        );
        assert!(!article_11(None).ok);
    }

    #[test]
    fn article_14_needs_a_policy_and_no_overdue_review() {
        let mut s = OversightState {
            escalation: Some(serde_json::json!({"confidence_threshold": 0.9})),
            reviewed: 2,
            pending: 1,
            overdue: vec![],
        };
        assert!(article_14(&s).ok);
        s.overdue.push(("alert-7".into(), 42));
        let r = article_14(&s);
        assert!(!r.ok && r.reasons[0].contains("audit record 42"), "{r:?}");
        assert!(!article_14(&OversightState::default()).ok);
    }
}
