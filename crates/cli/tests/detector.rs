//! `train-detector` and `detect` end to end on the bundled real recording.

#![allow(clippy::disallowed_methods)] // tests read small outputs whole

use std::path::{Path, PathBuf};

mod support;
use predicates::prelude::*;
use support::{bin, confusion_total, recording, small_config};

/// A small, quick model config.
#[test]
fn training_refuses_attack_recordings_by_default() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .args(["-q", "train-detector", "--data"])
        .arg(recording())
        .arg("--output")
        .arg(dir.path().join("m.ckpt"))
        .arg("--config")
        .arg(small_config(dir.path()))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no benign training data"));
}

#[test]
fn train_then_detect_writes_one_line_per_window_with_native_identities() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("models/detector.ckpt");
    let out = bin()
        .args([
            "-q",
            "train-detector",
            "--include-attacks",
            "--json",
            "--data",
        ])
        .arg(recording())
        .arg("--output")
        .arg(&model)
        .arg("--config")
        .arg(small_config(dir.path()))
        .args(["--epochs", "2", "--seed", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["epochs_run"], 2);
    assert_eq!(summary["sequences"], 1);
    assert!(model.is_file());

    let alerts = dir.path().join("alerts.jsonl");
    bin()
        .args(["-q", "detect", "--top-k", "3", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(recording().join("audit.log.gz"))
        .arg("--output")
        .arg(&alerts)
        .assert()
        .success();
    let text = std::fs::read_to_string(&alerts).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // 40 s of log in 5 s windows.
    assert!((8..=10).contains(&lines.len()), "{} windows", lines.len());
    let mut processes = 0;
    for l in &lines {
        for key in [
            "window_id",
            "start",
            "end",
            "score",
            "threshold",
            "alert",
            "nodes",
        ] {
            assert!(l.get(key).is_some(), "missing {key}: {l}");
        }
        // The first window of the stream is the warm-up: scored, never alerted.
        let warmup = l["warmup"].as_bool().unwrap();
        assert_eq!(warmup, l["window_id"] == lines[0]["window_id"], "{l}");
        assert_eq!(
            l["alert"].as_bool().unwrap(),
            !warmup && l["score"].as_f64().unwrap() > l["threshold"].as_f64().unwrap()
        );
        let nodes = l["nodes"].as_array().unwrap();
        assert!(nodes.len() <= 3);
        if warmup {
            assert!(nodes.iter().all(|n| n["flagged"] == false), "{l}");
        }
        let scores: Vec<f64> = nodes.iter().map(|n| n["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "sorted: {scores:?}"
        );
        for n in nodes {
            if n["kind"] == "process" {
                processes += 1;
                assert!(n["pid"].as_u64().is_some(), "{n}");
                assert!(n["start"].as_str().is_some(), "{n}");
            }
        }
    }
    assert!(processes > 0, "some top node is a process");

    // Same model, same input: same output.
    let again = bin()
        .args(["-q", "detect", "--top-k", "3", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(recording().join("audit.log.gz"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&again.stdout), text);
}

#[test]
fn detect_names_a_bad_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ckpt");
    std::fs::write(&bad, b"\x05\0\0\0\0\0\0\0{}xyz").unwrap();
    bin()
        .args(["-q", "detect", "--model"])
        .arg(&bad)
        .arg("--input")
        .arg(recording().join("audit.log.gz"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.ckpt"));
}

#[test]
fn gpus_without_the_cuda_build_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .args(["-q", "train-detector", "--gpus", "1", "--data"])
        .arg(recording())
        .arg("--output")
        .arg(dir.path().join("m.ckpt"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--features cuda"));
}

/// Trains a tiny model on the bundled recording; returns its path.
fn tiny_model(dir: &Path, seed: &str) -> PathBuf {
    let model = dir.join(format!("models-{seed}/detector.ckpt"));
    bin()
        .args(["-q", "train-detector", "--include-attacks", "--data"])
        .arg(recording())
        .arg("--output")
        .arg(&model)
        .arg("--config")
        .arg(small_config(dir))
        .args(["--seed", seed])
        .assert()
        .success();
    model
}

#[test]
fn calibrate_then_detect_adds_conformal_fields_and_refuses_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "1");
    // The recording without its truth.json counts as benign calibration data.
    let benign = dir.path().join("heldout");
    std::fs::create_dir_all(&benign).unwrap();
    std::fs::copy(
        recording().join("audit.log.gz"),
        benign.join("audit.log.gz"),
    )
    .unwrap();
    bin()
        .args(["-q", "calibrate", "--confidence-level", "0.8", "--detector"])
        .arg(&model)
        .arg("--calibration-data")
        .arg(&benign)
        .assert()
        .success()
        .stderr(predicate::str::contains("benign and 0 attack windows"));
    let cal = model.parent().unwrap().join("conformal_calibration.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cal).unwrap()).unwrap();
    assert_eq!(file["kind"], "causaldefend-conformal-calibration");
    assert_eq!(file["version"], 1);
    assert_eq!(file["detector_sha256"].as_str().unwrap().len(), 64);

    // detect finds the calibration beside the model by itself.
    let out = bin()
        .args(["-v", "detect", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(recording().join("audit.log.gz"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("beside the model"));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let p = l["p_value"].as_f64().unwrap();
        assert!(p > 0.0 && p <= 1.0);
        let set: Vec<&str> = l["prediction_set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(set == ["benign"] || set == ["attack"], "{set:?}");
        assert!(l["confidence"].as_f64().is_some());
        let d = l["decision"].as_str().unwrap();
        assert!(d == "auto" || d == "escalate");
        assert!(!l["reason"].as_str().unwrap().is_empty());
    }

    // A calibration of another model is refused by name.
    let other = tiny_model(dir.path(), "2");
    bin()
        .args(["-q", "detect", "--model"])
        .arg(&other)
        .arg("--calibration")
        .arg(&cal)
        .arg("--input")
        .arg(recording().join("audit.log.gz"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "run `causaldefend calibrate` for this model",
        ));
}

#[test]
fn evaluate_reports_gnn_baseline_and_conformal_figures() {
    // A miniature auditd dataset: the bundled recording as one attack and,
    // with its truth rewritten, as three benign ones (two train, one tests).
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("auditd");
    let truth = std::fs::read_to_string(recording().join("truth.json")).unwrap();
    let mut benign: serde_json::Value = serde_json::from_str(&truth).unwrap();
    benign["scenario"] = "benign".into();
    benign["malicious_roots"] = serde_json::json!([]);
    benign["malicious_pids"] = serde_json::json!([]);
    for (name, t) in [
        ("attack_T1003.008-1_s206", truth.clone()),
        ("benign_s101", benign.to_string()),
        ("benign_s102", benign.to_string()),
        ("benign_s103", benign.to_string()),
    ] {
        let d = data.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(recording().join("audit.log.gz"), d.join("audit.log.gz")).unwrap();
        std::fs::write(d.join("truth.json"), t).unwrap();
    }
    let out = dir.path().join("results/auditd.json");
    bin()
        .args([
            "-q",
            "evaluate",
            "--dataset",
            "auditd",
            "--seeds",
            "2",
            "--data",
        ])
        .arg(&data)
        .arg("--config")
        .arg(small_config(dir.path()))
        .arg("--output")
        .arg(&out)
        .arg("--scores")
        .arg(dir.path().join("results/scores.jsonl"))
        .assert()
        .success()
        .stdout(predicate::str::contains("window ROC-AUC"))
        .stdout(predicate::str::contains("node recall, alerts explained"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_ne!(runs[0]["seed"], runs[1]["seed"]);
    for r in runs {
        let w = &r["gnn"]["window"];
        let total = confusion_total(w);
        // one benign and one attack recording of 9 windows each
        assert_eq!(total, 18, "every test window counted once: {w}");
        assert!(w["tn"].as_u64().unwrap() + w["fp"].as_u64().unwrap() >= 9);
        assert_eq!(r["gnn"]["attacks_total"], 1);
        assert!(r["baseline"]["node"]["tn"].as_u64().unwrap() > 0);
        // The explained verdict counts the same process nodes as the scores.
        for scorer in ["gnn", "baseline"] {
            assert_eq!(
                confusion_total(&r[scorer]["explained"]),
                confusion_total(&r[scorer]["node"]),
                "{scorer}"
            );
        }
    }
    assert!(out.with_extension("md").is_file());
    // --scores: a thresholds line, then one line per test window of the first seed.
    let scores = std::fs::read_to_string(dir.path().join("results/scores.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = scores
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[0]["thresholds"]["gnn_window"].is_f64());
    assert_eq!(lines.len(), 1 + 18);
    let malicious = lines[1..]
        .iter()
        .flat_map(|l| l["processes"].as_array().unwrap())
        .filter(|p| p["malicious"] == true)
        .count();
    assert!(
        malicious > 0,
        "the attack recording's processes are labelled"
    );
}

#[test]
fn trains_on_a_preprocessed_folder_and_warns_when_its_windows_differ() {
    let dir = tempfile::tempdir().unwrap();
    let pre = dir.path().join("pre");
    bin()
        .args([
            "-q",
            "preprocess",
            "--window-secs",
            "5",
            "--format",
            "auditd",
            "--input",
        ])
        .arg(recording().join("audit.log.gz"))
        .arg("--output")
        .arg(&pre)
        .assert()
        .success();
    let model = dir.path().join("m.ckpt");
    let out = bin()
        .args(["-q", "train-detector", "--json", "--data"])
        .arg(&pre)
        .arg("--output")
        .arg(&model)
        .arg("--config")
        .arg(small_config(dir.path()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["sequences"], 1);
    // 40 s in 5 s windows, one held out.
    let windows = summary["train_windows"].as_u64().unwrap()
        + summary["validation_windows"].as_u64().unwrap();
    assert!((8..=10).contains(&windows), "{windows}");

    // The same folder cut into 10 s windows no longer matches the 5 s model.
    let pre10 = dir.path().join("pre10");
    bin()
        .args([
            "-q",
            "preprocess",
            "--window-secs",
            "10",
            "--format",
            "auditd",
            "--input",
        ])
        .arg(recording().join("audit.log.gz"))
        .arg("--output")
        .arg(&pre10)
        .assert()
        .success();
    bin()
        .args(["detect", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(&pre10)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "other windows than the model was trained on",
        ));
}
