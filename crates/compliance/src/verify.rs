//! Verification of the chain, in the store or in the JSONL mirror: names
//! every changed, deleted, reordered, inserted or forged record, with its
//! seq and position.
//!
//! Checks per record: the hash re-computed from the canonical body, the key
//! id among the trusted keys, the Ed25519 signature over the stored hash,
//! seq = previous seq + 1, and prev_hash = previous hash. A record failing
//! the authenticity checks is reported and not trusted as predecessor when
//! the genuine record with the same seq follows (an inserted forgery). A
//! chain whose first record is not seq 1 verifies only when a later
//! `retention` record names the seq and hash just before it. A truncated
//! tail cannot be seen from the chain alone: compare the head with an
//! anchor, or the store with the mirror ([`compare_mirror`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;

use crate::keys::key_id;
use crate::mirror::read_mirror;
use crate::record::{AuditRecord, RecordKind, GENESIS_PREV_HASH};
use crate::store::{for_each_row, AuditStore, StoredRow};
use crate::{hex, Result};

/// At most this many problems are listed; the rest are counted.
pub const MAX_PROBLEMS: usize = 10_000;

/// Rows fetched per query when reading a store.
const PAGE_ROWS: usize = 1000;

/// Where a record was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// 1-based line of a mirror file.
    Line {
        /// The file.
        file: PathBuf,
        /// Line number.
        line: u64,
    },
    /// A database row, identified by its `seq` column and its 1-based
    /// ordinal in `seq` order.
    Row {
        /// The `seq` column.
        seq_column: i64,
        /// Ordinal.
        ordinal: u64,
    },
    /// Ordinal in an iterator given by the caller.
    Index(u64),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Line { file, line } => write!(f, "{}:{line}", file.display()),
            Position::Row {
                seq_column,
                ordinal,
            } => write!(f, "row {ordinal} (seq column {seq_column})"),
            Position::Index(i) => write!(f, "record #{i}"),
        }
    }
}

/// One input to the verifier.
// Entries pass one at a time through the verifier, so the size of the
// larger variant costs nothing and boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A record that parsed.
    Record {
        /// Where.
        position: Position,
        /// The record.
        record: AuditRecord,
    },
    /// Something that should have been a record.
    Malformed {
        /// Where.
        position: Position,
        /// Its seq, when that much could be read.
        seq: Option<u64>,
        /// What is wrong.
        detail: String,
    },
}

/// What is wrong with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The body does not hash to the stored hash: a field was changed.
    HashMismatch,
    /// The signature does not verify with the named key.
    BadSignature,
    /// prev_hash is not the previous record's hash.
    BrokenChain,
    /// Records are missing before this one.
    Gap,
    /// The record appears after a record with a higher seq.
    OutOfOrder,
    /// A second record with the same seq.
    Duplicate,
    /// Signed by a key that is not trusted.
    UnknownKey,
    /// Not parseable as a record, or stored columns disagree with the body.
    Malformed,
    /// Store and mirror disagree about this record.
    MirrorMismatch,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The record's seq, when known.
    pub seq: Option<u64>,
    /// Where it was found.
    pub position: Position,
    /// What is wrong.
    pub kind: ProblemKind,
    /// Details for the human reading the report.
    pub detail: String,
}

/// Outcome of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// No problem found.
    pub ok: bool,
    /// Entries examined.
    pub records_checked: u64,
    /// Findings, at most [`MAX_PROBLEMS`].
    pub problems: Vec<Problem>,
    /// Findings beyond [`MAX_PROBLEMS`], not listed.
    pub problems_not_listed: u64,
    /// Last trusted seq and hash of the chain (compare with an anchor).
    pub head: Option<(u64, String)>,
}

impl Report {
    /// Problems of `kind`.
    pub fn of_kind(&self, kind: ProblemKind) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.kind == kind)
    }
}

#[derive(Debug, Clone)]
struct Link {
    seq: u64,
    /// `None` for a malformed entry: it holds the slot, but what follows
    /// cannot be chain-checked against it.
    hash: Option<String>,
}

/// Incremental verifier: feed entries in stored order, then [`Self::finish`].
#[derive(Debug)]
pub struct Verifier {
    keys: Vec<(String, VerifyingKey)>,
    report: Report,
    prev: Option<Link>,
    /// When `prev` failed authenticity: the link before it, so a genuine
    /// record with the same seq can take its place.
    before_suspect: Option<Option<Link>>,
    /// First record of a chain that starts after seq 1: (seq, prev_hash,
    /// position), satisfied by a matching retention checkpoint.
    needs_checkpoint: Option<(u64, String, Position)>,
    checkpoint_found: bool,
    gaps: Vec<(usize, u64, u64)>,
    late_seqs: HashSet<u64>,
}

impl Verifier {
    /// A verifier trusting `keys` (several after a key rotation).
    pub fn new(keys: &[VerifyingKey]) -> Self {
        Self {
            keys: keys.iter().map(|k| (key_id(k), *k)).collect(),
            report: Report::default(),
            prev: None,
            before_suspect: None,
            needs_checkpoint: None,
            checkpoint_found: false,
            gaps: Vec::new(),
            late_seqs: HashSet::new(),
        }
    }

    fn problem(
        &mut self,
        seq: Option<u64>,
        position: &Position,
        kind: ProblemKind,
        detail: String,
    ) {
        if self.report.problems.len() >= MAX_PROBLEMS {
            self.report.problems_not_listed = self.report.problems_not_listed.saturating_add(1);
            return;
        }
        self.report.problems.push(Problem {
            seq,
            position: position.clone(),
            kind,
            detail,
        });
    }

    /// Hash, key and signature; true when all hold, else the first failure
    /// is a problem of this record.
    fn authentic(&mut self, record: &AuditRecord, position: &Position) -> bool {
        match self.seal_failure(record) {
            None => true,
            Some((kind, detail)) => {
                self.problem(Some(record.seq), position, kind, detail);
                false
            }
        }
    }

    /// The first of hash, key and signature that does not hold.
    fn seal_failure(&self, record: &AuditRecord) -> Option<(ProblemKind, String)> {
        let digest = match record.body_digest() {
            Ok(d) => d,
            Err(e) => {
                return Some((
                    ProblemKind::Malformed,
                    format!("body has no canonical form: {e}"),
                ))
            }
        };
        let computed = hex::encode(&digest);
        if computed != record.hash {
            return Some((
                ProblemKind::HashMismatch,
                format!("body hashes to {computed}, record says {}", record.hash),
            ));
        }
        let Some(key) = self
            .keys
            .iter()
            .find(|(id, _)| *id == record.key_id)
            .map(|(_, k)| *k)
        else {
            return Some((
                ProblemKind::UnknownKey,
                format!("key id {} is not trusted", record.key_id),
            ));
        };
        let Some(sig) = hex::decode_array::<64>(&record.signature) else {
            return Some((
                ProblemKind::BadSignature,
                "signature is not 128 hex digits".into(),
            ));
        };
        if key
            .verify_strict(&digest, &Signature::from_bytes(&sig))
            .is_err()
        {
            return Some((
                ProblemKind::BadSignature,
                format!("signature does not verify with key {}", record.key_id),
            ));
        }
        None
    }

    /// Examines one entry.
    pub fn push(&mut self, entry: Entry) {
        self.report.records_checked = self.report.records_checked.saturating_add(1);
        let (position, record) = match entry {
            Entry::Malformed {
                position,
                seq,
                detail,
            } => {
                self.problem(seq, &position, ProblemKind::Malformed, detail);
                // It occupies its slot (or, unreadable, the next one) so the
                // records after it are not also reported as a gap.
                let slot = seq.or_else(|| self.prev.as_ref().map(|p| p.seq.saturating_add(1)));
                if let Some(slot) = slot {
                    if self.prev.as_ref().is_none_or(|p| slot > p.seq) {
                        self.before_suspect = Some(self.prev.clone());
                        self.prev = Some(Link {
                            seq: slot,
                            hash: None,
                        });
                    }
                }
                return;
            }
            Entry::Record { position, record } => (position, record),
        };
        let authentic = self.authentic(&record, &position);
        if authentic && record.kind == RecordKind::Retention {
            self.note_checkpoint(&record);
        }
        let seq = record.seq;
        let Some(prev) = self.prev.clone() else {
            if seq == 1 {
                if record.prev_hash != GENESIS_PREV_HASH {
                    self.problem(
                        Some(1),
                        &position,
                        ProblemKind::BrokenChain,
                        "seq 1 does not start from genesis".into(),
                    );
                }
            } else {
                self.needs_checkpoint = Some((seq, record.prev_hash.clone(), position.clone()));
                // Retention deleted everything before its own checkpoint:
                // the chain starts with the record that covers the gap.
                if authentic && record.kind == RecordKind::Retention {
                    self.note_checkpoint(&record);
                }
            }
            self.advance(&record, authentic);
            return;
        };
        let expected = prev.seq.saturating_add(1);
        if seq == expected {
            if let Some(prev_hash) = prev.hash.as_ref().filter(|h| **h != record.prev_hash) {
                self.problem(
                    Some(seq),
                    &position,
                    ProblemKind::BrokenChain,
                    format!(
                        "prev_hash {} is not seq {}'s hash {prev_hash}",
                        record.prev_hash, prev.seq
                    ),
                );
            }
            self.advance(&record, authentic);
        } else if seq == prev.seq {
            if let Some(before) = self.before_suspect.clone() {
                // The previous record with this seq was not authentic: if this
                // one is and chains to what came before, it is the genuine one.
                let chains = match &before {
                    Some(b) => {
                        b.seq.saturating_add(1) == seq
                            && b.hash.as_ref().is_none_or(|h| *h == record.prev_hash)
                    }
                    None => seq == 1 && record.prev_hash == GENESIS_PREV_HASH,
                };
                if authentic && chains {
                    self.advance(&record, true);
                    return;
                }
            }
            let detail = if prev.hash.as_ref() == Some(&record.hash) {
                format!("seq {seq} appears twice (identical copy)")
            } else {
                format!("a second, different record claims seq {seq}")
            };
            self.problem(Some(seq), &position, ProblemKind::Duplicate, detail);
        } else if seq > expected {
            let last_missing = seq - 1;
            if self.report.problems.len() < MAX_PROBLEMS {
                self.gaps
                    .push((self.report.problems.len(), expected, last_missing));
            }
            self.problem(
                Some(seq),
                &position,
                ProblemKind::Gap,
                format!("seq {expected}..={last_missing} missing before seq {seq}"),
            );
            self.advance(&record, authentic);
        } else {
            if self.late_seqs.len() < MAX_PROBLEMS {
                self.late_seqs.insert(seq);
            }
            self.problem(
                Some(seq),
                &position,
                ProblemKind::OutOfOrder,
                format!("seq {seq} appears after seq {}", prev.seq),
            );
        }
    }

    fn advance(&mut self, record: &AuditRecord, authentic: bool) {
        self.before_suspect = if authentic {
            None
        } else {
            Some(self.prev.clone())
        };
        self.prev = Some(Link {
            seq: record.seq,
            hash: Some(record.hash.clone()),
        });
        if authentic {
            self.report.head = Some((record.seq, record.hash.clone()));
        }
    }

    fn note_checkpoint(&mut self, record: &AuditRecord) {
        let Some((first_seq, first_prev, _)) = &self.needs_checkpoint else {
            return;
        };
        let through = record
            .output
            .get("deleted_through_seq")
            .and_then(serde_json::Value::as_u64);
        let hash = record
            .output
            .get("deleted_through_hash")
            .and_then(serde_json::Value::as_str);
        if through == first_seq.checked_sub(1) && hash == Some(first_prev.as_str()) {
            self.checkpoint_found = true;
        }
    }

    /// The report.
    pub fn finish(mut self) -> Report {
        if let Some((first_seq, _, position)) = self.needs_checkpoint.take() {
            if !self.checkpoint_found {
                let detail = format!(
                    "chain starts at seq {first_seq} and no retention record covers seq 1..={}",
                    first_seq.saturating_sub(1)
                );
                self.problem(Some(first_seq), &position, ProblemKind::Gap, detail);
            }
        }
        // A "gap" whose missing seqs all turn up later is a reordering.
        for (index, from, to) in std::mem::take(&mut self.gaps) {
            let count = to.saturating_sub(from).saturating_add(1);
            if count <= self.late_seqs.len() as u64
                && (from..=to).all(|s| self.late_seqs.contains(&s))
            {
                if let Some(p) = self.report.problems.get_mut(index) {
                    p.kind = ProblemKind::OutOfOrder;
                    p.detail = format!("seq {:?} appears before seq {from}..={to}", p.seq);
                }
            }
        }
        self.report.ok = self.report.problems.is_empty() && self.report.problems_not_listed == 0;
        self.report
    }
}

/// Verifies records from any source, in the order given.
pub fn verify_records(
    records: impl IntoIterator<Item = AuditRecord>,
    keys: &[VerifyingKey],
) -> Report {
    let mut verifier = Verifier::new(keys);
    for (i, record) in records.into_iter().enumerate() {
        verifier.push(Entry::Record {
            position: Position::Index(i as u64 + 1),
            record,
        });
    }
    verifier.finish()
}

/// Verifies entries (records and malformed lines) in the order given.
pub fn verify_entries(entries: impl IntoIterator<Item = Entry>, keys: &[VerifyingKey]) -> Report {
    let mut verifier = Verifier::new(keys);
    for entry in entries {
        verifier.push(entry);
    }
    verifier.finish()
}

fn row_entry(row: StoredRow, ordinal: u64) -> Entry {
    let position = Position::Row {
        seq_column: row.seq,
        ordinal,
    };
    match row.to_record() {
        Ok(record) => Entry::Record { position, record },
        Err(e) => Entry::Malformed {
            position,
            seq: u64::try_from(row.seq).ok(),
            detail: e.to_string(),
        },
    }
}

/// Verifies every row of a store, in `seq` column order.
///
/// # Errors
/// Backend errors while reading.
pub fn verify_store(store: &dyn AuditStore, keys: &[VerifyingKey]) -> Result<Report> {
    let mut verifier = Verifier::new(keys);
    let mut ordinal = 0u64;
    for_each_row(store, PAGE_ROWS, |row| {
        ordinal = ordinal.saturating_add(1);
        verifier.push(row_entry(row, ordinal));
        Ok(())
    })?;
    Ok(verifier.finish())
}

/// Verifies the JSONL mirror in `dir`, files oldest first.
///
/// # Errors
/// [`crate::Error::Io`] while reading.
pub fn verify_mirror(dir: &Path, keys: &[VerifyingKey]) -> Result<Report> {
    let mut verifier = Verifier::new(keys);
    for entry in read_mirror(dir)? {
        verifier.push(entry?);
    }
    Ok(verifier.finish())
}

/// (seq, hash, signature, canonical body) of an entry, for comparison.
fn fingerprint(entry: &Entry) -> Option<(u64, String)> {
    match entry {
        Entry::Record { record, .. } => {
            let body = record.canonical_body().unwrap_or_default();
            Some((
                record.seq,
                format!("{}|{}|{}", record.hash, record.signature, body),
            ))
        }
        Entry::Malformed { seq, .. } => seq.map(|s| (s, String::new())),
    }
}

fn position_of(entry: &Entry) -> Position {
    match entry {
        Entry::Record { position, .. } | Entry::Malformed { position, .. } => position.clone(),
    }
}

/// Next mirror entry that has a seq: (seq, fingerprint, position).
fn next_in_mirror(
    mirror: &mut crate::mirror::MirrorEntries,
) -> Result<Option<(u64, String, Position)>> {
    for entry in mirror.by_ref() {
        let entry = entry?;
        if let Some((seq, fp)) = fingerprint(&entry) {
            return Ok(Some((seq, fp, position_of(&entry))));
        }
    }
    Ok(None)
}

fn mismatch(report: &mut Report, seq: u64, position: Position, detail: String) {
    if report.problems.len() < MAX_PROBLEMS {
        report.problems.push(Problem {
            seq: Some(seq),
            position,
            kind: ProblemKind::MirrorMismatch,
            detail,
        });
    } else {
        report.problems_not_listed = report.problems_not_listed.saturating_add(1);
    }
}

/// Reports every record that the store and the mirror disagree about:
/// present in one only, or different. Both are walked in order, so memory
/// stays bounded; the mirror is expected in seq order (see
/// [`verify_mirror`] for its own ordering problems).
///
/// # Errors
/// Backend or I/O errors while reading.
pub fn compare_mirror(store: &dyn AuditStore, dir: &Path) -> Result<Report> {
    let mut report = Report::default();
    let mut mirror = read_mirror(dir)?;
    let mut current = next_in_mirror(&mut mirror)?;
    let mut ordinal = 0u64;
    for_each_row(store, PAGE_ROWS, |row| {
        ordinal = ordinal.saturating_add(1);
        report.records_checked = report.records_checked.saturating_add(1);
        let entry = row_entry(row, ordinal);
        let Some((seq, fp)) = fingerprint(&entry) else {
            return Ok(());
        };
        let position = position_of(&entry);
        // Mirror records before this seq are missing from the store.
        while let Some((mseq, _, mpos)) = current.take_if(|(s, _, _)| *s < seq) {
            mismatch(
                &mut report,
                mseq,
                mpos,
                format!("seq {mseq} is in the mirror but not in the store"),
            );
            current = next_in_mirror(&mut mirror)?;
        }
        match current.take_if(|(s, _, _)| *s == seq) {
            Some((_, mfp, mpos)) => {
                if mfp != fp {
                    mismatch(
                        &mut report,
                        seq,
                        mpos,
                        format!("seq {seq} differs between the store ({position}) and the mirror"),
                    );
                }
                current = next_in_mirror(&mut mirror)?;
            }
            None => mismatch(
                &mut report,
                seq,
                position,
                format!("seq {seq} is in the store but not in the mirror"),
            ),
        }
        Ok(())
    })?;
    while let Some((mseq, _, mpos)) = current.take() {
        mismatch(
            &mut report,
            mseq,
            mpos,
            format!("seq {mseq} is in the mirror but not in the store"),
        );
        current = next_in_mirror(&mut mirror)?;
    }
    report.ok = report.problems.is_empty() && report.problems_not_listed == 0;
    Ok(report)
}
