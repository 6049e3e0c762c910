//! Helpers shared by the CLI test files; each test binary uses a subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bundled real auditd recording (T1003.008) with its truth.json.
pub fn recording() -> PathBuf {
    repo().join("data/auditd/attack_T1003.008-1_s206")
}

/// The binary, with its own scratch audit log: each command writes an
/// embedded-store audit log in a fresh folder, so tests never share one,
/// nor the real PostgreSQL.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("causaldefend").unwrap();
    let audit = tempfile::tempdir().unwrap().keep();
    c.env("CAUSALDEFEND_AUDIT_DIR", audit)
        .env_remove("DATABASE_URL");
    c.env_remove("CAUSALDEFEND_LOG").env("NO_COLOR", "1");
    c
}

/// [`bin`] run from the repository root (for the shipped `models/` and
/// `config/` paths).
pub fn bin_at_repo() -> Command {
    let mut c = bin();
    c.current_dir(repo());
    c
}

/// A tiny detector config (fast training) written into `dir`.
pub fn small_config(dir: &Path) -> PathBuf {
    let p = dir.join("train.yaml");
    std::fs::write(
        &p,
        "hidden_dim: 8\nheads: 2\nlayers: 1\nepochs: 2\nwindow_secs: 5.0\n",
    )
    .unwrap();
    p
}

/// TP + FP + TN + FN of a confusion as `evaluate` writes it.
pub fn confusion_total(c: &serde_json::Value) -> u64 {
    ["tp", "fp", "tn", "fn"]
        .iter()
        .map(|k| c[k].as_u64().unwrap())
        .sum()
}
