//! `evaluate --dataset streamspot` and `--dataset darpa-tc` on miniature
//! datasets made from real logs: the benchmarks themselves are not
//! redistributable, so the StreamSpot file is the bundled auditd recording
//! exported as StreamSpot graphs (one per window), and the TC set is the
//! real CDM13 trace of the ingest tests with two of its processes listed as
//! malicious. The figures are not meaningful; the split, the labelling and
//! the counting are what is checked.

#![allow(clippy::disallowed_methods)] // tests read small outputs whole

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::assert::Assert;
use predicates::prelude::*;
use support::{bin, confusion_total, recording, repo, small_config};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `evaluate --dataset DATASET --seeds 2` with the small config on
/// `data`, results to `out`, plus `extra` arguments.
fn evaluate(dir: &Path, dataset: &str, data: &Path, out: &Path, extra: &[&Path]) -> Assert {
    let mut c = bin();
    c.args([
        "-q",
        "evaluate",
        "--dataset",
        dataset,
        "--seeds",
        "2",
        "--data",
    ])
    .arg(data)
    .arg("--config")
    .arg(small_config(dir))
    .arg("--output")
    .arg(out);
    for a in extra {
        c.arg(a);
    }
    c.assert()
}

/// Preprocesses `input` and exports it in `to`, returning the export.
fn export(dir: &Path, input: &Path, format: &str, window_secs: &str, to: &str) -> String {
    let pre = dir.join(format!("pre-{to}"));
    bin()
        .args(["-q", "preprocess", "--format", format, "--window-secs"])
        .arg(window_secs)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(&pre)
        .assert()
        .success();
    let out = bin()
        .args(["-q", "export", "--to", to])
        .arg(&pre)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// A StreamSpot folder: the recording cut into 4-second graphs 0..=10;
/// graphs 0-4 are scenario `a`, 5-8 scenario `b`, 9-10 attacks; plus one
/// line without a graph id and one graph that labels.csv does not know.
fn streamspot_set(dir: &Path) -> PathBuf {
    let data = dir.join("streamspot");
    std::fs::create_dir_all(&data).unwrap();
    let mut tsv = export(
        dir,
        &recording().join("audit.log.gz"),
        "auditd",
        "4",
        "streamspot",
    );
    let graphs: std::collections::BTreeSet<&str> =
        tsv.lines().filter_map(|l| l.rsplit('\t').next()).collect();
    assert_eq!(graphs.len(), 11, "the recording is 11 four-second windows");
    tsv.push_str("1\ta\t2\tc\tu\tnot-a-graph\n1\ta\t2\tc\tu\t77\n");
    std::fs::write(data.join("all.tsv"), tsv).unwrap();
    let mut labels = String::from("graph_id,scenario,label\n");
    for g in 0..=10 {
        let (scenario, label) = match g {
            0..=4 => ("a", "benign"),
            5..=8 => ("b", "benign"),
            _ => ("drive-by-download", "attack"),
        };
        labels.push_str(&format!("{g},{scenario},{label}\n"));
    }
    std::fs::write(data.join("labels.csv"), labels).unwrap();
    data
}

#[test]
fn streamspot_splits_by_scenario_and_scores_whole_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let data = streamspot_set(dir.path());
    let out = dir.path().join("results/streamspot.json");
    let work = dir.path().join("split");
    let work_flag = Path::new("--work-dir");
    evaluate(dir.path(), "streamspot", &data, &out, &[work_flag, &work])
        .success()
        .stdout(predicate::str::contains("graph ROC-AUC"))
        .stdout(predicate::str::contains("node ROC-AUC").not());
    let v = json(&out);
    // Two thirds of each scenario train, interleaved by rank; the rest of
    // each scenario and every attack graph test. Graph 77 has no label.
    let names = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let graphs =
        |ids: &[u32]| -> Vec<String> { ids.iter().map(|i| format!("graph {i}")).collect() };
    assert_eq!(names("train"), graphs(&[0, 5, 1, 6, 2, 7, 3]));
    assert_eq!(names("test"), graphs(&[4, 8, 9, 10]));
    assert_eq!(v["attack_units"], 2);
    assert!(work.join("graph-77.tsv").is_file());
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        for scorer in ["gnn", "baseline"] {
            let c = &r[scorer]["at_threshold"];
            assert_eq!(
                confusion_total(c),
                4,
                "{scorer}: one verdict per test graph: {c}"
            );
            assert_eq!(c["tp"].as_u64().unwrap() + c["fn"].as_u64().unwrap(), 2);
            assert!(r[scorer]["node"].is_null());
        }
    }
}

#[test]
fn streamspot_without_an_edge_file_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("labels.csv"),
        "graph_id,scenario,label\n0,a,benign\n",
    )
    .unwrap();
    bin()
        .args(["-q", "evaluate", "--dataset", "streamspot", "--data"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("no StreamSpot edge file"));
}

#[test]
fn darpa_tc_labels_nodes_by_uuid_and_windows_by_their_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let trace = repo().join("crates/ingest/testdata/cdm/cdm13-infoleak.json.gz");
    let data = dir.path().join("tc");
    for d in ["train", "test"] {
        std::fs::create_dir_all(data.join(d)).unwrap();
        std::fs::copy(&trace, data.join(d).join("trace.json.gz")).unwrap();
    }
    // Two real processes of the trace, by the UUID the parser gives them,
    // and one UUID the trace does not hold.
    let nodes = export(dir.path(), &trace, "darpa_tc", "5", "jsonl");
    let mut uuids: Vec<String> = nodes
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "node" && v["entity"]["kind"] == "process")
        .map(|v| v["entity"]["native"]["uuid"].as_str().unwrap().to_owned())
        .collect();
    uuids.sort();
    uuids.dedup();
    assert!(uuids.len() > 2);
    let mut labels =
        String::from("node_uuid,engagement,host,attack,node_kind,node_name,label,source\n");
    for u in uuids.iter().take(2) {
        labels.push_str(&format!("{u},E0,trace,test,subject,,malicious,test\n"));
    }
    labels.push_str("00000000-0000-0000-0000-000000000000,E0,trace,test,subject,,malicious,test\n");
    std::fs::write(data.join("labels.csv"), labels).unwrap();

    let out = dir.path().join("results/tc.json");
    evaluate(dir.path(), "darpa-tc", &data, &out, &[])
        .success()
        .stdout(predicate::str::contains("node MCC"))
        .stdout(predicate::str::contains(
            "2 of them malicious (3 ids listed",
        ));
    let v = json(&out);
    assert_eq!(v["malicious_nodes"], 2);
    let windows = v["test_units"].as_u64().unwrap();
    let nodes = v["test_nodes"].as_u64().unwrap();
    assert!(windows >= 1 && nodes > 2);
    assert!(v["attack_units"].as_u64().unwrap() >= 1);
    for r in v["runs"].as_array().unwrap() {
        for scorer in ["gnn", "baseline"] {
            assert_eq!(
                confusion_total(&r[scorer]["at_threshold"]),
                windows,
                "{scorer}"
            );
            let n = &r[scorer]["node"];
            assert_eq!(confusion_total(n), nodes, "{scorer}: every test node once");
            assert_eq!(n["tp"].as_u64().unwrap() + n["fn"].as_u64().unwrap(), 2);
        }
    }
}

#[test]
fn darpa_tc_without_its_layout_names_it() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .args(["-q", "evaluate", "--dataset", "darpa-tc", "--data"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "the DARPA TC layout is train/ (benign-period CDM files), test/ and labels.csv",
        ));
}
