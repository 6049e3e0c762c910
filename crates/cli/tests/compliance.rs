//! `model-card` end to end with the shipped detector.

#![allow(clippy::disallowed_methods)] // tests read small outputs whole

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("causaldefend").unwrap();
    c.env_remove("CAUSALDEFEND_LOG")
        .env("NO_COLOR", "1")
        .current_dir(repo());
    c
}

#[test]
fn model_card_derives_what_it_can_and_lists_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let eval = dir.path().join("auditd.json");
    std::fs::write(
        &eval,
        r#"{"dataset":"auditd","runs":[{"gnn":{"window_roc_auc":0.8}},{"gnn":{"window_roc_auc":0.84}}]}"#,
    )
    .unwrap();
    let declared = dir.path().join("card.yaml");
    std::fs::write(
        &declared,
        "provider: ACME SOC\nintended_purpose: find APTs\n",
    )
    .unwrap();
    let out = dir.path().join("card/model_card.json");
    let o = bin()
        .args([
            "model-card",
            "--model",
            "models/detector.ckpt",
            "--declared",
        ])
        .arg(&declared)
        .arg("--evaluation")
        .arg(&eval)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&o.get_output().stderr).to_string();
    assert!(
        err.contains("missing") && err.contains("declared.limitations"),
        "{err}"
    );
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(card["schema"], "cd-model-card-v1");
    assert_eq!(card["model"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(card["model"]["feature_schema"], "cd-features-v2");
    assert!(card["architecture"]["hyper_parameters"]["hidden_dim"].is_u64());
    assert!(card["data"]["training"]["digest"].is_string());
    assert_eq!(card["declared"]["provider"], "ACME SOC");
    let auc = card["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "runs.gnn.window_roc_auc")
        .unwrap();
    assert!((auc["value"].as_f64().unwrap() - 0.82).abs() < 1e-9);
    let missing: Vec<&str> = card["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(missing.contains(&"declared.human_oversight"), "{missing:?}");
    assert!(!missing.contains(&"declared.provider"), "{missing:?}");
    let md = std::fs::read_to_string(out.with_extension("md")).unwrap();
    assert!(md.contains("# Model card") && md.contains("**missing**"));
}

#[test]
fn shipped_declared_fields_complete_the_card_but_for_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let eval = dir.path().join("auditd.json");
    std::fs::write(
        &eval,
        r#"{"dataset":"auditd","runs":[{"gnn":{"window_roc_auc":0.82}}]}"#,
    )
    .unwrap();
    let out = dir.path().join("model_card.json");
    bin()
        .args([
            "model-card",
            "--model",
            "models/detector.ckpt",
            "--evaluation",
        ])
        .arg(&eval)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let missing: Vec<&str> = card["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    // config/model_card.yaml declares every field; the shipped model has no
    // calibration beside it, and that must be said.
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].starts_with("conformal"), "{missing:?}");
}

#[test]
fn model_card_names_a_bad_declared_field() {
    let dir = tempfile::tempdir().unwrap();
    let declared = dir.path().join("card.yaml");
    std::fs::write(&declared, "provder: typo\n").unwrap();
    let o = bin()
        .args([
            "model-card",
            "--model",
            "models/detector.ckpt",
            "--declared",
        ])
        .arg(&declared)
        .arg("--output")
        .arg(dir.path().join("c.json"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&o.get_output().stderr).to_string();
    assert!(err.contains("provder"), "{err}");
}
