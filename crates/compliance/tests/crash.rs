//! Crash safety: a writer killed with SIGKILL mid-burst loses nothing it
//! acknowledged, and the chain still verifies after reopening.
//!
//! The test binary re-runs itself as the writer (`writer_process` with
//! `AUDIT_CRASH_DIR` set), which prints `ACK <seq>` after each append returns.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use causaldefend_compliance::verify::{compare_mirror, verify_mirror, verify_store};
use causaldefend_compliance::{AuditLog, AuditStore, SqliteStore};
use common::{draft, signer};

const DIR_VAR: &str = "AUDIT_CRASH_DIR";

/// The writer half: only does something when started by
/// `sigkill_mid_burst_loses_no_acknowledged_record`.
#[test]
fn writer_process() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let dir = Path::new(&dir);
    let store = SqliteStore::open(&dir.join("audit.db")).unwrap();
    let mut log = AuditLog::open(store, signer(), &dir.join("mirror")).unwrap();
    let stdout = std::io::stdout();
    let mut i = 0u64;
    loop {
        i += 1;
        // Alternate single appends and batches of 50.
        let records = if i.is_multiple_of(2) {
            vec![log.append(draft(i)).unwrap()]
        } else {
            log.append_many((0..50).map(|k| draft(i * 100 + k)).collect())
                .unwrap()
        };
        let mut out = stdout.lock();
        for r in records {
            writeln!(out, "ACK {}", r.seq).unwrap();
        }
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_mid_burst_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let key = signer().verifying_key();
    let mut acked_max = 0u64;
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "writer_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = Vec::new();
        // Kill at a different point each round.
        let target = 300 + round * 137;
        while acked.len() < target {
            let line = lines.next().expect("writer ended early").unwrap();
            // libtest's "test writer_process ... " may precede the first ack.
            if let Some((_, seq)) = line.rsplit_once("ACK ") {
                acked.push(seq.parse::<u64>().unwrap());
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Acks are consecutive and continue the previous round.
        assert_eq!(acked[0], acked_max + 1, "round {round}");
        assert!(acked.windows(2).all(|w| w[1] == w[0] + 1));
        acked_max = *acked.last().unwrap();

        let store = SqliteStore::open(&dir.path().join("audit.db")).unwrap();
        let log = AuditLog::open(store, signer(), &dir.path().join("mirror")).unwrap();
        let (head, _) = log.store().head().unwrap().unwrap();
        assert!(
            head >= acked_max,
            "round {round}: head {head} < acknowledged {acked_max}"
        );
        let report = verify_store(log.store(), &[key]).unwrap();
        assert!(report.ok, "round {round}: {report:#?}");
        assert_eq!(report.records_checked, head, "every seq 1..=head present");
        let report = verify_mirror(log.mirror_dir(), &[key]).unwrap();
        assert!(report.ok, "round {round}: {report:#?}");
        assert_eq!(report.records_checked, head);
        assert!(compare_mirror(log.store(), log.mirror_dir()).unwrap().ok);
        // Records committed but not yet acknowledged when killed count too.
        acked_max = head;
    }
}
