//! The audit log end to end: round trip, tampering in SQLite, PostgreSQL and
//! the JSONL mirror, mirror repair and retention.

mod common;

use std::path::{Path, PathBuf};

use causaldefend_compliance::record::{sha256_hex, GENESIS_PREV_HASH};
use causaldefend_compliance::store::StoredRow;
use causaldefend_compliance::verify::{
    compare_mirror, verify_mirror, verify_records, verify_store, ProblemKind, Report,
};
use causaldefend_compliance::{
    AuditLog, AuditRecord, AuditStore, PostgresStore, RecordKind, SqliteStore,
};
use chrono::{DateTime, Duration, Utc};
use common::{database_url, draft, mallory, q, random_suffix, signer};

const N: u64 = 8;

/// (seq, kind) of every problem, sorted.
fn findings(report: &Report) -> Vec<(Option<u64>, ProblemKind)> {
    let mut v: Vec<_> = report.problems.iter().map(|p| (p.seq, p.kind)).collect();
    v.sort_by_key(|(s, k)| (*s, format!("{k:?}")));
    v
}

fn fill<S: AuditStore>(log: &mut AuditLog<S>) -> Vec<AuditRecord> {
    let mut out = vec![log.append(draft(1)).unwrap()];
    out.extend(log.append_many((2..=N).map(draft).collect()).unwrap());
    out
}

#[test]
fn record_round_trip_hash_sign_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("audit.db")).unwrap();
    let mut log = AuditLog::open(store, signer(), &dir.path().join("mirror")).unwrap();
    let records = fill(&mut log);
    assert_eq!(records[0].prev_hash, GENESIS_PREV_HASH);
    assert_eq!(records[1].prev_hash, records[0].hash);
    assert_eq!(records[0].key_id, signer().key_id());
    assert_eq!(
        records[0].hash,
        sha256_hex(records[0].canonical_body().unwrap().as_bytes())
    );
    assert_eq!(records[0].kind, RecordKind::Detection);
    let key = signer().verifying_key();
    let report = verify_records(records.clone(), &[key]);
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.records_checked, N);
    assert_eq!(report.head, Some((N, records[N as usize - 1].hash.clone())));
    // A JSONL line parses back to the same record.
    let line = records[2].to_json_line().unwrap();
    assert_eq!(
        serde_json::from_str::<AuditRecord>(&line).unwrap(),
        records[2]
    );
    // Verifiers that do not trust the key see it.
    let report = verify_records(records, &[mallory().verifying_key()]);
    assert_eq!(report.of_kind(ProblemKind::UnknownKey).count(), N as usize);
}

#[test]
fn reopen_resumes_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let mirror = dir.path().join("mirror");
    let mut log = AuditLog::open(SqliteStore::open(&db).unwrap(), signer(), &mirror).unwrap();
    fill(&mut log);
    drop(log);
    let mut log = AuditLog::open(SqliteStore::open(&db).unwrap(), signer(), &mirror).unwrap();
    let r = log.append(draft(9)).unwrap();
    assert_eq!(r.seq, N + 1);
    let key = signer().verifying_key();
    assert!(verify_store(log.store(), &[key]).unwrap().ok);
    assert!(verify_mirror(&mirror, &[key]).unwrap().ok);
    assert!(compare_mirror(log.store(), &mirror).unwrap().ok);
}

#[test]
fn store_refuses_a_batch_that_forks_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("audit.db")).unwrap();
    let a = AuditRecord::seal(
        draft(1),
        1,
        "2026-01-01T00:00:00.000000Z".into(),
        GENESIS_PREV_HASH.into(),
        &signer(),
    )
    .unwrap();
    store.append(std::slice::from_ref(&a)).unwrap();
    let fork = AuditRecord::seal(
        draft(2),
        2,
        "2026-01-01T00:00:00.000000Z".into(),
        "ab".repeat(32),
        &signer(),
    )
    .unwrap();
    assert!(matches!(
        store.append(&[fork]),
        Err(causaldefend_compliance::Error::HeadConflict {
            expected_seq: 2,
            found_seq: 2
        })
    ));
}

// ---------------------------------------------------------------- tampering

/// Raw SQL access to a store's table, as an attacker with DB rights has.
trait RawSql {
    fn exec(&mut self, sql: &str);
    fn table(&self) -> String;
}

struct SqliteRaw(rusqlite::Connection);
impl RawSql for SqliteRaw {
    fn exec(&mut self, sql: &str) {
        self.0.execute_batch(sql).unwrap();
    }
    fn table(&self) -> String {
        "audit_logs".into()
    }
}

struct PgRaw {
    client: postgres::Client,
    schema: String,
}
impl RawSql for PgRaw {
    fn exec(&mut self, sql: &str) {
        self.client.batch_execute(sql).unwrap();
    }
    fn table(&self) -> String {
        format!("{}.audit_logs", self.schema)
    }
}
impl Drop for PgRaw {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

fn insert_sql(table: &str, r: &AuditRecord, seq_column: i64) -> String {
    let row = StoredRow::from_record(r).unwrap();
    format!(
        "INSERT INTO {table} (seq, timestamp, kind, user_id, session_id, body, hash, signature) VALUES ({seq_column}, {}, {}, {}, {}, {}, {}, {})",
        q(&row.timestamp), q(&row.kind), q(&row.user_id), q(&row.session_id), q(&row.body), q(&row.hash), q(&row.signature)
    )
}

/// A forged record by Mallory, chained to `prev`.
fn forged(seq: u64, prev: &AuditRecord) -> AuditRecord {
    let mut d = draft(seq);
    d.reason = "nothing to see here".into();
    AuditRecord::seal(
        d,
        seq,
        prev.timestamp.clone(),
        prev.hash.clone(),
        &mallory(),
    )
    .unwrap()
}

/// Every tampering scenario against a fresh store each time; `open`
/// returns the log, raw SQL on its table, and the temp dir to keep alive.
fn tamper_suite<S: AuditStore>(
    mut open: impl FnMut() -> (AuditLog<S>, Box<dyn RawSql>, tempfile::TempDir),
) {
    let key = signer().verifying_key();
    type Case = (
        &'static str,
        fn(&mut dyn RawSql, &[AuditRecord]),
        Vec<(Option<u64>, ProblemKind)>,
    );
    let cases: Vec<Case> = vec![
        ("untouched", |_, _| {}, vec![]),
        (
            "change a field in the body",
            |db, _| {
                let t = db.table();
                db.exec(&format!(
                    "UPDATE {t} SET user_id = 'mallory', body = replace(body, '\"user_id\":\"analyst-3\"', '\"user_id\":\"mallory\"') WHERE seq = 3"
                ));
            },
            vec![(Some(3), ProblemKind::HashMismatch)],
        ),
        (
            "change an indexed column only",
            |db, _| {
                let t = db.table();
                db.exec(&format!(
                    "UPDATE {t} SET session_id = 'other' WHERE seq = 4"
                ));
            },
            vec![(Some(4), ProblemKind::Malformed)],
        ),
        (
            "delete a record",
            |db, _| {
                let t = db.table();
                db.exec(&format!("DELETE FROM {t} WHERE seq = 5"));
            },
            vec![(Some(6), ProblemKind::Gap)],
        ),
        (
            "swap two records",
            |db, _| {
                let t = db.table();
                db.exec(&format!(
                    "UPDATE {t} SET seq = -3 WHERE seq = 3; UPDATE {t} SET seq = 3 WHERE seq = 4; UPDATE {t} SET seq = 4 WHERE seq = -3;"
                ));
            },
            vec![
                (Some(3), ProblemKind::OutOfOrder),
                (Some(4), ProblemKind::OutOfOrder),
            ],
        ),
        (
            "insert a forged record at the head",
            |db, recs| {
                let t = db.table();
                let f = forged(N + 1, &recs[N as usize - 1]);
                db.exec(&insert_sql(&t, &f, (N + 1) as i64));
            },
            vec![(Some(N + 1), ProblemKind::UnknownKey)],
        ),
        (
            "insert a forged record in the middle, renumbering the rest",
            |db, recs| {
                let t = db.table();
                // Shift rows 5.. up by one (from the top, to keep seq unique),
                // then put a forgery at 5 chained to 4.
                for s in (5..=N).rev() {
                    db.exec(&format!("UPDATE {t} SET seq = {} WHERE seq = {s}", s + 1));
                }
                db.exec(&insert_sql(&t, &forged(5, &recs[3]), 5));
            },
            vec![(Some(5), ProblemKind::UnknownKey)],
        ),
        (
            "re-sign a record with another key",
            |db, recs| {
                let t = db.table();
                let r = &recs[5];
                let digest: [u8; 32] = r.body_digest().unwrap();
                let sig = mallory().sign_digest(&digest);
                db.exec(&format!(
                    "UPDATE {t} SET signature = {} WHERE seq = 6",
                    q(&sig)
                ));
            },
            vec![(Some(6), ProblemKind::BadSignature)],
        ),
        (
            "rewrite a record and sign it with another key",
            |db, recs| {
                let t = db.table();
                let mut d = draft(6);
                d.reason = "rewritten".into();
                let f = AuditRecord::seal(
                    d,
                    6,
                    recs[5].timestamp.clone(),
                    recs[4].hash.clone(),
                    &mallory(),
                )
                .unwrap();
                db.exec(&format!("DELETE FROM {t} WHERE seq = 6"));
                db.exec(&insert_sql(&t, &f, 6));
            },
            vec![
                (Some(6), ProblemKind::UnknownKey),
                (Some(7), ProblemKind::BrokenChain),
            ],
        ),
    ];
    for (name, tamper, expected) in cases {
        let (mut log, mut raw, _dir) = open();
        let records = fill(&mut log);
        tamper(raw.as_mut(), &records);
        let report = verify_store(log.store(), &[key]).unwrap();
        assert_eq!(findings(&report), expected, "{name}: {report:#?}");
        assert_eq!(report.ok, expected.is_empty(), "{name}");
        // The untouched mirror disagrees with the store exactly where the store was tampered with.
        let cmp = compare_mirror(log.store(), log.mirror_dir()).unwrap();
        assert_eq!(cmp.ok, expected.is_empty(), "{name}: {cmp:#?}");
    }
}

#[test]
fn sqlite_tampering_is_detected_with_seq_and_kind() {
    tamper_suite(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.db");
        let log = AuditLog::open(
            SqliteStore::open(&db).unwrap(),
            signer(),
            &dir.path().join("mirror"),
        )
        .unwrap();
        let raw = SqliteRaw(rusqlite::Connection::open(&db).unwrap());
        (log, Box::new(raw) as Box<dyn RawSql>, dir)
    });
}

#[test]
fn postgres_tampering_is_detected_with_seq_and_kind() {
    let Some(url) = database_url() else { return };
    tamper_suite(|| {
        let dir = tempfile::tempdir().unwrap();
        let schema = format!("audit_test_{}", random_suffix());
        let store = PostgresStore::connect(&url, &schema).unwrap();
        let log = AuditLog::open(store, signer(), &dir.path().join("mirror")).unwrap();
        let client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        (
            log,
            Box::new(PgRaw { client, schema }) as Box<dyn RawSql>,
            dir,
        )
    });
}

#[test]
fn postgres_round_trip_and_retention() {
    let Some(url) = database_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("audit_test_{}", random_suffix());
    let _cleanup = PgRaw {
        client: postgres::Client::connect(&url, postgres::NoTls).unwrap(),
        schema: schema.clone(),
    };
    let store = PostgresStore::connect(&url, &schema).unwrap();
    retention_scenario(store, dir.path());
    // Reopening resumes from the head kept in PostgreSQL.
    let store = PostgresStore::connect(&url, &schema).unwrap();
    let mut log = AuditLog::open(store, signer(), &dir.path().join("mirror")).unwrap();
    let next = log.head().unwrap().0 + 1;
    assert_eq!(log.append(draft(99)).unwrap().seq, next);
}

// ------------------------------------------------------------- JSONL mirror

fn mirror_file(dir: &Path) -> PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

fn edit_lines(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let text = std::fs::read(path).unwrap();
    let mut lines: Vec<String> = String::from_utf8(text)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    f(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn jsonl_mirror_tampering_is_detected_with_seq_kind_and_line() {
    let key = signer().verifying_key();
    type Case = (
        &'static str,
        fn(&mut Vec<String>, &[AuditRecord]),
        Vec<(Option<u64>, ProblemKind)>,
    );
    let cases: Vec<Case> = vec![
        ("untouched", |_, _| {}, vec![]),
        (
            "change a field",
            |l, _| l[2] = l[2].replace("analyst-3", "mallory"),
            vec![(Some(3), ProblemKind::HashMismatch)],
        ),
        (
            "delete a line",
            |l, _| {
                l.remove(4);
            },
            vec![(Some(6), ProblemKind::Gap)],
        ),
        (
            "swap two lines",
            |l, _| l.swap(2, 3),
            vec![
                (Some(3), ProblemKind::OutOfOrder),
                (Some(4), ProblemKind::OutOfOrder),
            ],
        ),
        (
            "insert a forged line",
            |l, r| l.insert(4, forged(5, &r[3]).to_json_line().unwrap()),
            vec![(Some(5), ProblemKind::UnknownKey)],
        ),
        (
            "duplicate a line",
            |l, _| {
                let x = l[4].clone();
                l.insert(5, x);
            },
            vec![(Some(5), ProblemKind::Duplicate)],
        ),
        (
            "forge a signature",
            |l, r| {
                let mut x = r[5].clone();
                x.signature = mallory().sign_digest(&x.body_digest().unwrap());
                l[5] = x.to_json_line().unwrap();
            },
            vec![(Some(6), ProblemKind::BadSignature)],
        ),
        (
            "garble a line",
            |l, _| l[6] = l[6][..40].to_string(),
            vec![(None, ProblemKind::Malformed)],
        ),
    ];
    for (name, tamper, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        let mut log = AuditLog::open(
            SqliteStore::open(&dir.path().join("audit.db")).unwrap(),
            signer(),
            &mirror,
        )
        .unwrap();
        let records = fill(&mut log);
        let file = mirror_file(&mirror);
        edit_lines(&file, |l| tamper(l, &records));
        let report = verify_mirror(&mirror, &[key]).unwrap();
        assert_eq!(findings(&report), expected, "{name}: {report:#?}");
        if let Some(p) = report.problems.first() {
            let shown = p.position.to_string();
            assert!(
                shown.starts_with(&file.display().to_string()),
                "{name}: {shown}"
            );
        }
        let cmp = compare_mirror(log.store(), &mirror).unwrap();
        assert_eq!(cmp.ok, expected.is_empty(), "{name}: {cmp:#?}");
        if name == "change a field" {
            assert_eq!(findings(&cmp), vec![(Some(3), ProblemKind::MirrorMismatch)]);
        }
    }
}

#[test]
fn open_repairs_a_torn_line_and_restores_missing_records_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let mirror = dir.path().join("mirror");
    let mut log = AuditLog::open(SqliteStore::open(&db).unwrap(), signer(), &mirror).unwrap();
    fill(&mut log);
    drop(log);
    let file = mirror_file(&mirror);
    // Lose the last two lines and leave half of one, as a crash would.
    edit_lines(&file, |l| {
        l.truncate(N as usize - 2);
    });
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(b"{\"seq\":7,\"timest");
    std::fs::write(&file, bytes).unwrap();
    let key = signer().verifying_key();
    assert!(!verify_mirror(&mirror, &[key]).unwrap().ok);
    let log = AuditLog::open(SqliteStore::open(&db).unwrap(), signer(), &mirror).unwrap();
    let report = verify_mirror(&mirror, &[key]).unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.records_checked, N);
    assert!(compare_mirror(log.store(), &mirror).unwrap().ok);
}

// ---------------------------------------------------------------- retention

fn retention_scenario<S: AuditStore>(store: S, dir: &Path) {
    let mirror = dir.join("mirror");
    let key = signer().verifying_key();
    let start: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
    // Record i is written on day i.
    let day = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let d2 = day.clone();
    let clock =
        Box::new(move || start + Duration::days(d2.load(std::sync::atomic::Ordering::SeqCst)));
    let mut log = AuditLog::open(store, signer(), &mirror)
        .unwrap()
        .with_clock(clock);
    for i in 1..=N {
        day.store(i as i64, std::sync::atomic::Ordering::SeqCst);
        log.append(draft(i)).unwrap();
    }
    day.store(100, std::sync::atomic::Ordering::SeqCst);
    // Keep records from day 6 on: 1..=5 go.
    let outcome = log
        .apply_retention(start + Duration::days(6), "retention-job")
        .unwrap()
        .unwrap();
    assert_eq!(outcome.deleted_through_seq, 5);
    assert_eq!(outcome.deleted_rows, 5);
    assert_eq!(outcome.checkpoint_seq, N + 1);
    let report = verify_store(log.store(), &[key]).unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.records_checked, N + 1 - 5);
    let report = verify_mirror(&mirror, &[key]).unwrap();
    assert!(report.ok, "{report:#?}");
    assert!(compare_mirror(log.store(), &mirror).unwrap().ok);
    // Nothing older than day 0 is left to delete.
    assert_eq!(log.apply_retention(start, "retention-job").unwrap(), None);
}

#[test]
fn retention_keeps_the_remaining_chain_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("audit.db")).unwrap();
    retention_scenario(store, dir.path());
}

#[test]
fn deleting_the_oldest_records_without_a_checkpoint_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let mut log = AuditLog::open(
        SqliteStore::open(&db).unwrap(),
        signer(),
        &dir.path().join("m"),
    )
    .unwrap();
    fill(&mut log);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("DELETE FROM audit_logs WHERE seq < 4")
        .unwrap();
    let report = verify_store(log.store(), &[signer().verifying_key()]).unwrap();
    assert_eq!(
        findings(&report),
        vec![(Some(4), ProblemKind::Gap)],
        "{report:#?}"
    );
}

#[test]
fn two_writers_on_one_log_keep_one_chain() {
    // A `review` appends while a `detect` holds the same log open: the second
    // writer's stale head is refreshed and its batch sealed again, so the
    // chain never forks and nothing is lost.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let mut a = AuditLog::open(
        SqliteStore::open(&db).unwrap(),
        common::signer(),
        dir.path(),
    )
    .unwrap();
    let mut b = AuditLog::open(
        SqliteStore::open(&db).unwrap(),
        common::signer(),
        dir.path(),
    )
    .unwrap();
    for i in 0..10u64 {
        let w = if i % 2 == 0 { &mut a } else { &mut b };
        w.append(common::draft(i)).unwrap();
    }
    let store = SqliteStore::open(&db).unwrap();
    let report = verify_store(&store, &[common::signer().verifying_key()]).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records_checked, 10);
    let mirror = verify_mirror(dir.path(), &[common::signer().verifying_key()]).unwrap();
    assert!(mirror.ok, "{mirror:?}");
    assert_eq!(mirror.records_checked, 10);
}
