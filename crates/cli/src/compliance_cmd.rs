//! `review`, `anchor` and `verify-compliance`: human oversight records,
//! RFC 3161 anchors of the audit chain, and the Articles 11–15 report.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use compliance::anchor::{
    merkle_root, parse_record_hash, request_anchor, verify_anchor_chain, Anchor,
};
use compliance::articles::{
    article_11, article_13, article_14, article_15, ArticleResult, OversightState,
};
use compliance::model_card::ModelCard;
use compliance::store::StoredRow;
use compliance::verify::{compare_mirror, verify_mirror, verify_store};
use compliance::{AuditRecord, AuditStore, PostgresStore, RecordKind, SqliteStore};

use crate::args::{AnchorArgs, ReviewArgs, Verdict, VerifyComplianceArgs};
use crate::audit::{postgres_schema, postgres_url, Auditor};

/// Runs `review`.
pub fn review(args: &ReviewArgs, auditor: &mut Auditor) -> anyhow::Result<u8> {
    let (verdict, label) = match args.verdict {
        Verdict::Confirmed => ("confirmed", Some("attack")),
        Verdict::Dismissed => ("dismissed", Some("benign")),
        Verdict::Escalated => ("escalated", None),
    };
    let output = serde_json::json!({
        "verdict": verdict,
        "comment": args.comment,
        // The label recalibration and retraining read back (see `feedback_labels`).
        "label": label,
    });
    let draft = auditor.draft(
        RecordKind::Review,
        compliance::record::sha256_hex(args.alert_id.as_bytes()),
        String::new(),
        output,
        args.comment
            .clone()
            .unwrap_or_else(|| format!("analyst verdict: {verdict}")),
        Some(args.alert_id.clone()),
    );
    let r = auditor.append(draft)?;
    // Keep the labels where recalibration reads them.
    let store = open_store(auditor.dir())?;
    let labels = feedback_labels(&all_rows(store.as_ref())?);
    let lp = labels_path(auditor.dir());
    std::fs::write(&lp, serde_json::to_string_pretty(&labels)?)
        .with_context(|| format!("writing {}", lp.display()))?;
    eprintln!(
        "review of alert {} recorded as audit record {} by {}",
        args.alert_id,
        r.seq,
        auditor.actor().user_id
    );
    Ok(0)
}

/// Every record of the store, in seq order.
fn all_rows(store: &dyn AuditStore) -> anyhow::Result<Vec<StoredRow>> {
    let mut out = Vec::new();
    let mut from = i64::MIN;
    loop {
        let rows = store.read_range(from, 10_000)?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        out.extend(rows);
        from = last.saturating_add(1);
    }
    Ok(out)
}

fn open_store(dir: &Path) -> anyhow::Result<Box<dyn AuditStore>> {
    Ok(match postgres_url() {
        Some(url) => Box::new(
            PostgresStore::connect(&url, &postgres_schema())
                .context("opening the audit log in PostgreSQL")?,
        ),
        None => {
            let db = dir.join("audit.db");
            if !db.is_file() {
                anyhow::bail!(
                    "{}: no audit database (run a command that writes the audit log first)",
                    db.display()
                );
            }
            Box::new(SqliteStore::open(&db)?)
        }
    })
}

fn read_anchors(path: &Path) -> anyhow::Result<Vec<Anchor>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", path.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{}: line {}: not an anchor", path.display(), i + 1))?,
        );
    }
    Ok(out)
}

/// Record hashes by seq, for Merkle roots.
fn hashes_by_seq(rows: &[StoredRow]) -> BTreeMap<u64, [u8; 32]> {
    rows.iter()
        .filter_map(|r| Some((u64::try_from(r.seq).ok()?, parse_record_hash(&r.hash).ok()?)))
        .collect()
}

fn root_of(hashes: &BTreeMap<u64, [u8; 32]>, first: u64, last: u64) -> Option<[u8; 32]> {
    let v: Vec<[u8; 32]> = (first..=last)
        .map(|s| hashes.get(&s).copied())
        .collect::<Option<_>>()?;
    Some(merkle_root(&v))
}

/// Runs `anchor`: timestamps the records since the last anchor.
pub fn anchor(args: &AnchorArgs, dir: &Path) -> anyhow::Result<u8> {
    let store = open_store(dir)?;
    let rows = all_rows(store.as_ref())?;
    let hashes = hashes_by_seq(&rows);
    let path = dir.join("anchors.jsonl");
    let anchors = read_anchors(&path)?;
    let prev = anchors.last();
    let first = prev.map_or_else(
        || hashes.keys().next().copied().unwrap_or(1),
        |a| a.last_seq + 1,
    );
    let Some(&last) = hashes.keys().next_back() else {
        anyhow::bail!("the audit log is empty: nothing to anchor");
    };
    if first > last {
        eprintln!("no record since the last anchor (seq {last}); nothing to do");
        return Ok(0);
    }
    let root = root_of(&hashes, first, last)
        .with_context(|| format!("records {first}..={last} are not all in the store"))?;
    let a = request_anchor(&args.tsa_url, first, last, &root, prev)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(&a)?)?;
    f.sync_data()?;
    eprintln!(
        "anchored records {first}..={last} (Merkle root {}) at {} by {}",
        a.root, a.gen_time, args.tsa_url
    );
    Ok(0)
}

fn oversight(
    rows: &[StoredRow],
    policy: &crate::conformal_cmd::EscalationPolicy,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<OversightState> {
    let mut escalated: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut reviewed: BTreeSet<String> = BTreeSet::new();
    for r in rows {
        let rec =
            AuditRecord::from_stored_body(r.seq, &r.body, r.hash.clone(), r.signature.clone())?;
        match (rec.kind, rec.subject) {
            (RecordKind::Escalation, Some(s)) => {
                escalated.entry(s).or_insert((rec.seq, rec.timestamp));
            }
            (RecordKind::Review, Some(s)) => {
                reviewed.insert(s);
            }
            _ => {}
        }
    }
    let deadline = chrono::Duration::seconds((policy.review_deadline_hours * 3600.0) as i64);
    let mut st = OversightState {
        escalation: Some(serde_json::to_value(policy)?),
        ..OversightState::default()
    };
    for (alert, (seq, ts)) in escalated {
        if reviewed.contains(&alert) {
            st.reviewed += 1;
            continue;
        }
        let at = chrono::DateTime::parse_from_rfc3339(&ts)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or(now);
        if now - at > deadline {
            st.overdue.push((alert, seq));
        } else {
            st.pending += 1;
        }
    }
    Ok(st)
}

/// Runs `verify-compliance`.
pub fn verify(args: &VerifyComplianceArgs) -> anyhow::Result<u8> {
    let dir = &args.audit_logs;
    let card: Option<ModelCard> = match &args.model_card {
        Some(p) => {
            let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
            Some(
                serde_json::from_reader(std::io::Read::take(f, 64 << 20))
                    .with_context(|| format!("{}: not a model card", p.display()))?,
            )
        }
        None => None,
    };
    // Article 12: the chain, signatures, mirror, anchors, retention.
    let key_file = args
        .public_key
        .clone()
        .unwrap_or_else(|| crate::audit::key_path(dir).with_extension("pub.pem"));
    let key = compliance::keys::read_public_key(&key_file)
        .with_context(|| format!("audit public key {}", key_file.display()))?;
    let store = open_store(dir)?;
    let mut a12: Vec<String> = Vec::new();
    let db_report = verify_store(store.as_ref(), &[key])?;
    for p in &db_report.problems {
        a12.push(format!(
            "database: record {}: {:?}: {}",
            p.seq.map_or("?".into(), |s| s.to_string()),
            p.kind,
            p.detail
        ));
    }
    let mirror_report = verify_mirror(dir, &[key])?;
    for p in &mirror_report.problems {
        a12.push(format!(
            "JSONL mirror {:?}: record {}: {:?}: {}",
            p.position,
            p.seq.map_or("?".into(), |s| s.to_string()),
            p.kind,
            p.detail
        ));
    }
    let cmp = compare_mirror(store.as_ref(), dir)?;
    for p in &cmp.problems {
        a12.push(format!(
            "database vs mirror: record {}: {}",
            p.seq.map_or("?".into(), |s| s.to_string()),
            p.detail
        ));
    }
    let rows = all_rows(store.as_ref())?;
    let hashes = hashes_by_seq(&rows);
    let all_anchors = read_anchors(&dir.join("anchors.jsonl"))?;
    // Anchors over records deleted under the retention policy cannot be
    // recomputed; the chain of anchors is checked from the first one whose
    // records are all kept (its link to the deleted past is expected).
    let first_kept = hashes.keys().next().copied().unwrap_or(0);
    let (dropped, anchors): (Vec<Anchor>, Vec<Anchor>) = all_anchors
        .into_iter()
        .partition(|a| a.first_seq < first_kept);
    let mut anchor_problems = verify_anchor_chain(
        &anchors,
        |f, l| root_of(&hashes, f, l),
        args.tsa_ca.as_deref(),
    )?;
    if let (false, Some(first)) = (dropped.is_empty(), anchors.first()) {
        let start = first.first_seq;
        anchor_problems.retain(|p| !(p.kind.as_str() == "broken_link" && p.first_seq == start));
    }
    for p in &anchor_problems {
        a12.push(format!("anchor: {p}"));
    }
    if let (Some(days), Some(first)) = (args.retention_days, rows.first()) {
        let now = chrono::Utc::now();
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&first.timestamp) {
            let age = now - t.with_timezone(&chrono::Utc);
            if age > chrono::Duration::days(i64::from(days)) {
                a12.push(format!(
                    "retention: record {} is {} days old, past the {days}-day retention",
                    first.seq,
                    age.num_days()
                ));
            }
        }
    }
    let a12 = ArticleResult {
        article: 12,
        title: "record-keeping",
        ok: a12.is_empty(),
        reasons: if a12.is_empty() {
            vec![format!(
                "{} records: chain intact, signatures valid, mirror identical, {} anchor(s) verified",
                db_report.records_checked,
                anchors.len()
            )]
        } else {
            a12
        },
    };
    let policy = crate::conformal_cmd::load_policy(args.api_config.as_deref())?;
    let a14 = article_14(&oversight(&rows, &policy, chrono::Utc::now())?);
    let results = vec![
        article_11(card.as_ref()),
        a12,
        article_13(card.as_ref()),
        a14,
        article_15(card.as_ref()),
    ];
    for r in &results {
        println!("{}", r.line());
    }
    let ok = results.iter().all(|r| r.ok);
    let report = serde_json::json!({
        "ok": ok,
        "generated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "audit_logs": dir,
        "articles": results,
        "anchors": anchors.len(),
        "records": db_report.records_checked,
    });
    if let Some(d) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(&args.output, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", args.output.display()))?;
    Ok(if ok { 0 } else { 1 })
}

/// Runs `audit-retention`: deletes records older than the retention period,
/// after a `retention` checkpoint record that keeps the rest verifiable.
pub fn retention(args: &crate::args::RetentionArgs, auditor: &mut Auditor) -> anyhow::Result<u8> {
    let older_than = chrono::Utc::now() - chrono::Duration::days(i64::from(args.days));
    let user = auditor.actor().user_id.clone();
    match auditor.apply_retention(older_than, &user)? {
        None => eprintln!("no audit record older than {} days", args.days),
        Some(o) => eprintln!(
            "deleted {} record(s) through seq {}; checkpoint record {}",
            o.deleted_rows, o.deleted_through_seq, o.checkpoint_seq
        ),
    }
    Ok(0)
}

/// Feedback labels from review records: alert id → `attack` / `benign`
/// (the latest review wins), for recalibration.
pub fn feedback_labels(rows: &[StoredRow]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in rows {
        let Ok(rec) =
            AuditRecord::from_stored_body(r.seq, &r.body, r.hash.clone(), r.signature.clone())
        else {
            continue;
        };
        if rec.kind != RecordKind::Review {
            continue;
        }
        if let (Some(s), Some(l)) = (
            rec.subject,
            rec.output.get("label").and_then(|l| l.as_str()),
        ) {
            out.insert(s, l.to_owned());
        }
    }
    out
}

/// Path of the feedback labels `review` keeps up to date (alert id → label).
pub fn labels_path(dir: &Path) -> PathBuf {
    dir.join("feedback_labels.json")
}
