//! `explain` and `detect --explain` end to end on the bundled real recording
//! (Atomic Red Team T1003.008-1: `sudo cat /etc/shadow > /tmp/T1003.008.txt`).

#![allow(clippy::disallowed_methods)] // tests read small outputs whole

use std::collections::BTreeSet;

mod support;
use support::{bin_at_repo as bin, recording};

fn truth() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(recording().join("truth.json")).unwrap()).unwrap()
}

fn malicious() -> BTreeSet<u64> {
    truth()["malicious_pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect()
}

/// Checks the explanation object of the recording: root cause, descendants
/// on a chain, the technique among the mapped ones, verified counterfactual.
fn check_explanation(x: &serde_json::Value) {
    assert_eq!(x["schema"], "cd-explanation-v1");
    let root_pid = truth()["malicious_roots"][0]["root_pid"].as_u64().unwrap();
    let entities = x["entities"].as_array().unwrap();
    let pid_of = |id: &str| {
        entities
            .iter()
            .find(|e| e["entity_id"] == id)
            .and_then(|e| e["pid"].as_u64())
    };
    let roots: Vec<u64> = x["root_causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| pid_of(r.as_str().unwrap()))
        .collect();
    assert!(roots.contains(&root_pid), "root cause {roots:?}");
    // The top chains hold the root and every malicious process.
    let on_chains: BTreeSet<u64> = x["chains"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["steps"].as_array().unwrap().iter())
        .filter_map(|s| pid_of(s["entity"].as_str().unwrap()))
        .collect();
    for p in malicious() {
        assert!(on_chains.contains(&p), "pid {p} on a chain: {on_chains:?}");
    }
    let techniques: Vec<&str> = x["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(techniques.contains(&"T1003.008"), "{techniques:?}");
    let t = x["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "T1003.008")
        .unwrap();
    assert!(t["name"].as_str().unwrap().contains("shadow"), "{t}");
    assert!(
        t["tactics"].to_string().contains("credential-access"),
        "{t}"
    );
    // Native identities are present.
    assert!(entities
        .iter()
        .any(|e| e["pid"].is_u64() && e["start"].is_string()));
    let cfs = x["counterfactuals"].as_array().unwrap();
    assert!(!cfs.is_empty(), "a counterfactual");
    assert!(cfs.iter().all(|c| c["verified"] == true), "{cfs:?}");
    assert!(x["narrative"].as_str().unwrap().contains("Root cause"));
    assert!(x["reduction"]["edge_ratio"].as_f64().unwrap() < 0.05);
}

#[test]
fn explain_from_a_seed_entity_writes_json_markdown_dot_graphml() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    // The last malicious pid is the `cat` that read /etc/shadow.
    let seed = format!("pid:{}", malicious().iter().max().unwrap());
    bin()
        .args(["-q", "explain", "--input"])
        .arg(recording().join("audit.log.gz"))
        .args(["--seed-entity", &seed, "--output"])
        .arg(&out)
        .assert()
        .success();
    let json = out.join("audit.log.gz-seed.json");
    let json = if json.exists() {
        json
    } else {
        std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .expect("an explanation json")
    };
    let x: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    check_explanation(&x);
    let stem = json.with_extension("");
    let md = std::fs::read_to_string(stem.with_extension("md")).unwrap();
    assert!(
        md.contains("## Attack chains") && md.contains("T1003.008"),
        "{md}"
    );
    let dot = std::fs::read_to_string(stem.with_extension("dot")).unwrap();
    assert!(dot.starts_with("digraph") && dot.contains("->"));
    let gml = std::fs::read_to_string(stem.with_extension("graphml")).unwrap();
    assert!(gml.contains("<graphml") && gml.contains("<edge "));
}

#[test]
fn explain_reads_detect_alert_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Real detect output, with the window holding the attack marked as an
    // alert on the process that read /etc/shadow (as a detector that caught
    // it would write).
    let alerts = dir.path().join("alerts.jsonl");
    bin()
        .args([
            "-q",
            "detect",
            "--model",
            "models/detector.ckpt",
            "--top-k",
            "500",
            "--input",
        ])
        .arg(recording().join("audit.log.gz"))
        .arg("--output")
        .arg(&alerts)
        .assert()
        .success();
    let target = *malicious().iter().max().unwrap();
    let mut lines = Vec::new();
    let mut marked = false;
    for l in std::fs::read_to_string(&alerts).unwrap().lines() {
        let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["node_threshold"].is_number());
        let mut hit = false;
        for n in v["nodes"].as_array_mut().unwrap() {
            let is_target = n["pid"].as_u64() == Some(target);
            n["flagged"] = serde_json::Value::Bool(is_target);
            hit |= is_target;
        }
        v["alert"] = serde_json::Value::Bool(hit);
        marked |= hit;
        lines.push(v.to_string());
    }
    assert!(marked, "the attack's process is among a window's nodes");
    std::fs::write(&alerts, lines.join("\n")).unwrap();
    let out = dir.path().join("x");
    bin()
        .args(["-q", "explain", "--input"])
        .arg(recording().join("audit.log.gz"))
        .arg("--alerts")
        .arg(&alerts)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let index = std::fs::read_to_string(out.join("explanations.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(index.lines().next().unwrap()).unwrap();
    assert_eq!(first["alert"], true);
    check_explanation(&first["explanation"]);
}

#[test]
fn explain_without_alerts_or_seeds_is_a_clear_error() {
    let out = bin()
        .args(["explain", "--input"])
        .arg(recording().join("audit.log.gz"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--seed-entity"), "{err}");
}

#[test]
fn explain_names_the_line_of_a_bad_alert() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    std::fs::write(&alerts, "{\"alert\": true, \"input\": \"x\"}\n").unwrap();
    let out = bin()
        .args(["explain", "--input"])
        .arg(recording().join("audit.log.gz"))
        .arg("--alerts")
        .arg(&alerts)
        .arg("--output")
        .arg(dir.path().join("x"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("line 1") && err.contains("window_id"), "{err}");
}

#[test]
fn detect_explain_adds_the_explanation_to_alert_lines() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    // Threshold 0: every window past the warm-up alerts, so every such line
    // must carry an explanation.
    bin()
        .args([
            "-q",
            "detect",
            "--model",
            "models/detector.ckpt",
            "--explain",
            "--threshold",
            "0",
            "--input",
        ])
        .arg(recording().join("audit.log.gz"))
        .arg("--output")
        .arg(&alerts)
        .assert()
        .success();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&alerts)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 1);
    assert_eq!(lines[0]["warmup"], true);
    assert_eq!(lines[0]["alert"], false);
    assert!(lines[0].get("explanation").is_none());
    for l in &lines[1..] {
        assert_eq!(l["alert"], true);
        let x = &l["explanation"];
        assert_eq!(x["schema"], "cd-explanation-v1", "{l}");
        assert!(!x["seeds"].as_array().unwrap().is_empty());
        assert!(x["entities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["entity_id"].is_string()));
    }
}

#[test]
fn train_ci_tester_writes_a_checkpoint_and_compares_with_classical_tests() {
    let dir = tempfile::tempdir().unwrap();
    // The recording without its truth.json: a plain log whose activity
    // series feed the provenance cases.
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::copy(recording().join("audit.log.gz"), logs.join("audit.log.gz")).unwrap();
    let cfg = dir.path().join("ci.yaml");
    std::fs::write(
        &cfg,
        "hidden: 16\nlayers: 1\nepochs: 2\nn_train_cases: 1500\nn_null_cases: 1200\nsim:\n  max_samples: 200\n",
    )
    .unwrap();
    let ckpt = dir.path().join("ci_tester.ckpt");
    bin()
        .args(["-q", "train-ci-tester", "--data"])
        .arg(&logs)
        .arg("--config")
        .arg(&cfg)
        .args(["--eval-cases", "120", "--bin-secs", "0.05", "--output"])
        .arg(&ckpt)
        .assert()
        .success();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.with_extension("report.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["neural", "fisher-z", "g-test"]);
    for r in report["reports"].as_array().unwrap() {
        let t1 = r["type_i_error"].as_f64().unwrap();
        let pw = r["power"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&t1) && (0.0..=1.0).contains(&pw),
            "{r}"
        );
    }
    // The explanation runs with the trained tester.
    let out = dir.path().join("x");
    bin()
        .args(["-q", "explain", "--ci-test", "neural", "--ci-tester"])
        .arg(&ckpt)
        .arg("--input")
        .arg(recording().join("audit.log.gz"))
        .args([
            "--seed-entity",
            &format!("pid:{}", malicious().iter().max().unwrap()),
        ])
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let index = std::fs::read_to_string(out.join("explanations.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(index.lines().next().unwrap()).unwrap();
    assert_eq!(line["explanation"]["causal"]["ci_test"], "neural");
}

#[test]
fn update_attack_converts_a_stix_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("enterprise-attack-99.0.json");
    std::fs::write(
        &bundle,
        r#"{"type":"bundle","id":"bundle--1","objects":[
 {"type":"x-mitre-collection","id":"x-mitre-collection--1","x_mitre_version":"99.0","name":"Enterprise ATT&CK"},
 {"type":"attack-pattern","id":"attack-pattern--1","name":"Credential Stuffing Test",
  "external_references":[{"source_name":"mitre-attack","external_id":"T9999","url":"https://attack.mitre.org/techniques/T9999"}],
  "kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"credential-access"}],
  "x_mitre_platforms":["Linux"]}]}"#,
    )
    .unwrap();
    let out = dir.path().join("table.json.gz");
    bin()
        .args(["update-attack", "--bundle"])
        .arg(&bundle)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    assert!(out.metadata().unwrap().len() > 0);
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"type\":\"bundle\",\"objects\":[{\"type\":\"attack-pattern\"}]}",
    )
    .unwrap();
    let o = bin()
        .args(["update-attack", "--bundle"])
        .arg(&bad)
        .arg("--output")
        .arg(dir.path().join("t2.json.gz"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&o.get_output().stderr).to_string();
    assert!(err.contains("objects[0]"), "{err}");
}
