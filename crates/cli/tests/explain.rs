//! `explain` and `detect --explain` end to end on the bundled real recording
//! (Atomic Red Team T1003.008-1: `sudo cat /etc/shadow > /tmp/T1003.008.txt`).

#![allow(clippy::disallowed_methods)] // tests read small outputs whole

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn recording() -> PathBuf {
    repo().join("data/auditd/attack_T1003.008-1_s206")
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("causaldefend").unwrap();
    c.env_remove("CAUSALDEFEND_LOG")
        .env("NO_COLOR", "1")
        .current_dir(repo());
    c
}

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
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("line 1") && err.contains("window_id"), "{err}");
}
