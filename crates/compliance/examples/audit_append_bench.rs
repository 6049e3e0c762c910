//! Sustained append rate of the embedded audit log: SQLite (WAL,
//! synchronous=FULL) + Ed25519 signing + JSONL mirror fsynced per batch.
//!
//! `cargo run --release -p causaldefend-compliance --example audit_append_bench [-- RECORDS]`
//!
//! Prints records/s for single appends and for batches of 10, 100 and 1000,
//! then verifies store and mirror (every record present and valid).

use std::time::Instant;

use causaldefend_compliance::record::sha256_hex;
use causaldefend_compliance::verify::{compare_mirror, verify_mirror, verify_store};
use causaldefend_compliance::{AuditLog, AuditSigner, RecordDraft, RecordKind, SqliteStore};
use serde_json::json;

fn draft(i: u64) -> RecordDraft {
    RecordDraft {
        kind: RecordKind::Detection,
        user_id: "detector".into(),
        session_id: format!("job-{}", i / 1000),
        inputs_digest: sha256_hex(&i.to_le_bytes()),
        model_version: sha256_hex(b"checkpoint"),
        output: json!({"score": 0.91, "verdict": "anomalous", "window": i, "p_value": 0.004, "top_nodes": ["proc:1234", "file:/tmp/x"]}),
        reason: "conformal p-value below alpha".into(),
        subject: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("audit.db"))?;
    let mut log = AuditLog::open(store, AuditSigner::generate()?, &dir.path().join("mirror"))?;
    let mut i = 0u64;
    let singles = 2_000u64.min(total);
    let t = Instant::now();
    for _ in 0..singles {
        i += 1;
        log.append(draft(i))?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "single append: {singles} records in {secs:.2} s = {:.0} records/s",
        singles as f64 / secs
    );
    for batch in [10u64, 100, 1000] {
        let n = if batch == 10 { total / 5 } else { total };
        let t = Instant::now();
        let mut done = 0;
        while done < n {
            let drafts = (0..batch).map(|k| draft(i + k + 1)).collect();
            i += batch;
            done += batch;
            log.append_many(drafts)?;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "append_many({batch}): {done} records in {secs:.2} s = {:.0} records/s",
            done as f64 / secs
        );
    }
    let key = log.signer().verifying_key();
    let t = Instant::now();
    let store_report = verify_store(log.store(), &[key])?;
    let verify_secs = t.elapsed().as_secs_f64();
    let mirror_report = verify_mirror(log.mirror_dir(), &[key])?;
    let cmp = compare_mirror(log.store(), log.mirror_dir())?;
    println!(
        "verify: store ok={} records={} ({:.0} records/s); mirror ok={} records={}; store==mirror {}",
        store_report.ok,
        store_report.records_checked,
        store_report.records_checked as f64 / verify_secs,
        mirror_report.ok,
        mirror_report.records_checked,
        cmp.ok
    );
    if !(store_report.ok && mirror_report.ok && cmp.ok && store_report.records_checked == i) {
        return Err("verification failed after the benchmark".into());
    }
    Ok(())
}
