//! End-to-end tests of the `causaldefend` binary on bundled real data.

use std::path::{Path, PathBuf};

mod support;
use predicates::prelude::*;
use support::{bin, recording};

fn demo_log() -> PathBuf {
    recording().join("audit.log.gz")
}

fn preprocess_json(input: &Path, out: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let o = bin()
        .args(["-q", "preprocess", "--input"])
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON object ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    });
    (code, v)
}

#[test]
fn preprocesses_the_bundled_recording_into_windows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let (code, v) = preprocess_json(&demo_log(), &out, &["--format", "auditd"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["events"].as_u64().unwrap() > 10_000, "{v}");
    assert!(
        v["windows"].as_u64().unwrap() >= 4,
        "40 s in 10 s windows: {v}"
    );
    let procs = v["entities_by_type"]["process"].as_u64().unwrap();
    assert!(procs > 100, "{v}");
    assert!(v["entities_by_type"]["file"].as_u64().unwrap() > 100, "{v}");
    for k in ["fork", "exec", "read", "write"] {
        assert!(
            v["edges_by_type"][k].as_u64().unwrap_or(0) > 0,
            "no {k} edges: {v}"
        );
    }
    assert!(
        v["skipped_by_reason"].as_object().unwrap().is_empty(),
        "{v}"
    );
    // The summary says how many events the process grace moved (none in
    // this recording: no process born there lives across a window's end;
    // graph's window tests count them).
    assert_eq!(v["grace_events"].as_u64(), Some(0), "{v}");
    for f in ["manifest.json", "edges.arrow", "nodes.arrow"] {
        assert!(out.join(f).is_file(), "{f}");
    }

    // `inspect --json` reports the same summary from the folder.
    let o = bin()
        .args(["inspect", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let i: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "events",
        "windows",
        "entities_by_type",
        "edges_by_type",
        "skipped_by_reason",
    ] {
        assert_eq!(i[k], v[k], "{k}");
    }

    // The StreamSpot export has one line per event, six columns, graph id = window.
    let o = bin()
        .args(["export", "--to", "streamspot"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count() as u64, v["events"].as_u64().unwrap());
    assert!(text.lines().all(|l| l.split('\t').count() == 6));

    // GraphML is well-formed enough to have one graph per window.
    let o = bin()
        .args(["export", "--to", "graphml"])
        .arg(&out)
        .output()
        .unwrap();
    let xml = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        xml.matches("<graph ").count() as u64,
        v["windows"].as_u64().unwrap()
    );
}

#[test]
fn auto_detection_matches_the_explicit_format() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = preprocess_json(&demo_log(), &dir.path().join("a"), &["--format", "auto"]);
    let (_, b) = preprocess_json(&demo_log(), &dir.path().join("b"), &["--format", "auditd"]);
    assert_eq!(a["events"], b["events"]);
    assert_eq!(a["entities_by_type"], b["entities_by_type"]);
}

#[test]
fn bad_input_is_counted_named_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("empty.log"), b"").unwrap();
    std::fs::write(input.join("binary.log"), b"type=SYSCALL \0\x01\x02\n").unwrap();
    let (code, v) = preprocess_json(&input, &dir.path().join("o"), &["--format", "auditd"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["skipped_by_reason"]["empty_input"], 1, "{v}");
    assert_eq!(v["skipped_by_reason"]["binary_input"], 1, "{v}");
    assert_eq!(v["events"], 0);
}

#[test]
fn strict_stops_at_the_first_bad_record_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("one.log");
    std::fs::write(&f, b"").unwrap();
    bin()
        .args([
            "-q",
            "preprocess",
            "--strict",
            "--format",
            "auditd",
            "--input",
        ])
        .arg(&f)
        .arg("--output")
        .arg(dir.path().join("o"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("one.log").and(predicate::str::contains("empty input")));
}

#[test]
fn a_missing_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .args([
            "preprocess",
            "--input",
            "/nonexistent/audit.log",
            "--output",
        ])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/audit.log"));
}

#[test]
fn unknown_format_is_a_usage_error() {
    bin()
        .args([
            "preprocess",
            "--input",
            "x",
            "--output",
            "y",
            "--format",
            "pcap",
        ])
        .assert()
        .code(2);
}

#[test]
fn inspect_of_a_non_folder_names_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .arg("inspect")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("manifest.json"));
}
