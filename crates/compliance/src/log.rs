//! [`AuditLog`]: the writer. Seals drafts into records (seq, time, chain,
//! signature), commits them to the store, then mirrors them to JSONL.
//!
//! Order of writes: the store commit comes first and is authoritative; the
//! mirror follows, fsynced per batch. A record is *acknowledged* once both
//! are done. A crash between the two leaves the mirror behind; [`AuditLog::open`]
//! cuts a torn last line and copies the missing records from the store.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::keys::AuditSigner;
use crate::mirror::JsonlMirror;
use crate::record::{sha256_hex, AuditRecord, RecordDraft, RecordKind, GENESIS_PREV_HASH};
use crate::store::{for_each_row, AuditStore};
use crate::{Error, Result};

/// Rows copied per query when the mirror catches up with the store.
const CATCH_UP_PAGE_ROWS: usize = 1000;

/// Source of record timestamps; a function so tests can age records.
pub type Clock = Box<dyn Fn() -> DateTime<Utc> + Send>;

/// The fixed-width RFC 3339 form records use (microseconds, `Z`), so that
/// comparing the text compares the time.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn system_clock() -> DateTime<Utc> {
    DateTime::<Utc>::from(SystemTime::now())
}

/// Outcome of [`AuditLog::apply_retention`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// The checkpoint record appended before deleting.
    pub checkpoint_seq: u64,
    /// Last deleted seq.
    pub deleted_through_seq: u64,
    /// Rows deleted from the store.
    pub deleted_rows: u64,
}

/// Store + JSONL mirror + signer.
pub struct AuditLog<S: AuditStore> {
    store: S,
    mirror: JsonlMirror,
    signer: AuditSigner,
    head: Option<(u64, String)>,
    clock: Clock,
    mirror_behind: bool,
}

impl<S: AuditStore> std::fmt::Debug for AuditLog<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("head", &self.head)
            .field("mirror", &self.mirror)
            .finish_non_exhaustive()
    }
}

impl<S: AuditStore> AuditLog<S> {
    /// Opens the log: resumes from the store's head, repairs a torn mirror
    /// line and copies records the mirror lacks from the store.
    ///
    /// # Errors
    /// Store and I/O errors; [`Error::MirrorAhead`] when the mirror holds
    /// records the store does not (the store lost commits, or the mirror was
    /// written by someone else): that needs a human.
    pub fn open(store: S, signer: AuditSigner, mirror_dir: &Path) -> Result<Self> {
        let mut log = Self {
            head: store.head()?,
            store,
            mirror: JsonlMirror::open(mirror_dir)?,
            signer,
            clock: Box::new(system_clock),
            mirror_behind: false,
        };
        log.mirror.repair_torn_tail()?;
        log.catch_up_mirror()?;
        tracing::info!(message = "Opened audit log.", head_seq = log.head.as_ref().map(|h| h.0), dir = %mirror_dir.display());
        Ok(log)
    }

    /// Replaces the clock (tests of retention; a trusted time source).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn catch_up_mirror(&mut self) -> Result<()> {
        let store_seq = self.head.as_ref().map_or(0, |h| h.0);
        let mirror_seq = self.mirror.last_seq()?.unwrap_or(0);
        if mirror_seq > store_seq {
            return Err(Error::MirrorAhead {
                path: self.mirror.dir().to_path_buf(),
                mirror_seq,
                store_seq,
            });
        }
        if mirror_seq < store_seq {
            let from = i64::try_from(mirror_seq.saturating_add(1)).unwrap_or(i64::MAX);
            let mut copied = 0u64;
            let mut batch = Vec::with_capacity(CATCH_UP_PAGE_ROWS);
            let store = &self.store;
            let mirror = &mut self.mirror;
            for_each_row(store, CATCH_UP_PAGE_ROWS, |row| {
                if row.seq < from {
                    return Ok(());
                }
                batch.push(row.to_record()?);
                if batch.len() >= CATCH_UP_PAGE_ROWS {
                    mirror.append(&batch)?;
                    copied = copied.saturating_add(batch.len() as u64);
                    batch.clear();
                }
                Ok(())
            })?;
            self.mirror.append(&batch)?;
            copied = copied.saturating_add(batch.len() as u64);
            tracing::warn!(
                message = "Copied records missing from the audit mirror.",
                copied,
                from_seq = mirror_seq + 1
            );
        }
        self.mirror_behind = false;
        Ok(())
    }

    /// Last seq and hash.
    pub fn head(&self) -> Option<&(u64, String)> {
        self.head.as_ref()
    }

    /// The store (for verification and queries).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The mirror directory.
    pub fn mirror_dir(&self) -> &Path {
        self.mirror.dir()
    }

    /// The signer's public key, for verifiers.
    pub fn signer(&self) -> &AuditSigner {
        &self.signer
    }

    /// Seals `drafts` on the current head: seqs, one timestamp, the chain.
    fn seal_batch(&self, drafts: &[RecordDraft]) -> Result<(Vec<AuditRecord>, (u64, String))> {
        let timestamp = format_timestamp((self.clock)());
        let (mut seq, mut prev) = match &self.head {
            Some((s, h)) => (s.saturating_add(1), h.clone()),
            None => (1, GENESIS_PREV_HASH.to_string()),
        };
        let mut records = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let record = AuditRecord::seal(
                draft.clone(),
                seq,
                timestamp.clone(),
                std::mem::take(&mut prev),
                &self.signer,
            )?;
            prev.clone_from(&record.hash);
            seq = seq.saturating_add(1);
            records.push(record);
        }
        let head = records.last().map_or_else(
            || self.head.clone().unwrap_or((0, String::new())),
            |r| (r.seq, r.hash.clone()),
        );
        Ok((records, head))
    }

    /// Appends one record.
    ///
    /// # Errors
    /// As [`Self::append_many`].
    pub fn append(&mut self, draft: RecordDraft) -> Result<AuditRecord> {
        let mut records = self.append_many(vec![draft])?;
        records.pop().ok_or_else(|| Error::BadArgument {
            what: "append",
            reason: "no record sealed".into(),
        })
    }

    /// Appends a batch in one store transaction and one mirror fsync; this
    /// is how the log sustains thousands of records per second.
    ///
    /// # Errors
    /// Invalid drafts ([`Error::BadArgument`]), store errors (nothing was
    /// written), mirror I/O errors (the store has the records; the mirror is
    /// caught up on the next append or open).
    pub fn append_many(&mut self, drafts: Vec<RecordDraft>) -> Result<Vec<AuditRecord>> {
        if self.mirror_behind {
            self.catch_up_mirror()?;
        }
        // Another process (a `review` beside a running `detect`) may have
        // appended since this log was opened: the store refuses a batch that
        // does not continue its head, and the batch is sealed again on the
        // new head. The mirror is caught up from the store first.
        let mut attempts = 0u32;
        let (records, new_head) = loop {
            let (records, new_head) = self.seal_batch(&drafts)?;
            match self.store.append(&records) {
                Ok(()) => break (records, new_head),
                Err(Error::HeadConflict { .. }) if attempts < 20 => {
                    attempts += 1;
                    self.head = self.store.head()?;
                    self.catch_up_mirror()?;
                }
                Err(e) => return Err(e),
            }
        };
        let Some(seq) = records.last().map(|r| r.seq.saturating_add(1)) else {
            return Ok(records);
        };
        self.head = Some(new_head);
        if let Err(e) = self.mirror.append(&records) {
            self.mirror_behind = true;
            tracing::error!(message = "Audit mirror write failed; the store holds the records.", error = %e);
            return Err(e);
        }
        tracing::debug!(
            message = "Appended audit records.",
            count = records.len(),
            head_seq = seq - 1
        );
        Ok(records)
    }

    /// Deletes records older than `older_than` (a prefix of the chain: it
    /// stops at the first record at or after the cut-off), after appending a
    /// `retention` record that names the last deleted seq and its hash, so
    /// the remaining chain verifies from that checkpoint.
    ///
    /// Returns `None` when nothing is old enough.
    ///
    /// # Errors
    /// Store and I/O errors.
    pub fn apply_retention(
        &mut self,
        older_than: DateTime<Utc>,
        user_id: &str,
    ) -> Result<Option<RetentionOutcome>> {
        let Some((head_seq, _)) = self.head.clone() else {
            return Ok(None);
        };
        let cutoff = format_timestamp(older_than);
        let through = match self.store.first_at_or_after(&cutoff)? {
            Some(first_kept) => first_kept.saturating_sub(1),
            None => head_seq,
        };
        let from = i64::try_from(through).unwrap_or(i64::MAX);
        let Some(row) = self
            .store
            .read_range(from, 1)?
            .into_iter()
            .find(|r| r.seq == from)
        else {
            return Ok(None);
        };
        let last = row.to_record()?;
        let output = json!({
            "deleted_through_seq": last.seq,
            "deleted_through_hash": last.hash,
            "cutoff": cutoff,
        });
        let draft = RecordDraft {
            kind: RecordKind::Retention,
            user_id: user_id.to_string(),
            session_id: "retention".to_string(),
            inputs_digest: sha256_hex(cutoff.as_bytes()),
            model_version: String::new(),
            output,
            reason: format!("retention: records before {cutoff} deleted"),
            subject: Some(last.seq.to_string()),
        };
        let checkpoint = self.append(draft)?;
        let deleted_rows = self.store.delete_before(last.seq.saturating_add(1))?;
        self.mirror.delete_through(last.seq)?;
        tracing::info!(
            message = "Applied audit retention.",
            deleted_through_seq = last.seq,
            deleted_rows,
            checkpoint_seq = checkpoint.seq
        );
        Ok(Some(RetentionOutcome {
            checkpoint_seq: checkpoint.seq,
            deleted_through_seq: last.seq,
            deleted_rows,
        }))
    }
}
