//! Where audit records are kept: the authoritative, transactional copy.
//!
//! Both backends use one table, `audit_logs`, whose `body` column holds the
//! canonical JSON verbatim so that verification re-hashes the exact bytes
//! that were signed; `timestamp`, `kind`, `user_id` and `session_id` are
//! copies for indexing and are checked against the body when read.

mod postgres;
mod sqlite;

pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;

use crate::record::AuditRecord;
use crate::{Error, Result};

/// One row as stored, untrusted until verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The `seq` column (may disagree with the body after tampering).
    pub seq: i64,
    /// The `timestamp` column.
    pub timestamp: String,
    /// The `kind` column.
    pub kind: String,
    /// The `user_id` column.
    pub user_id: String,
    /// The `session_id` column.
    pub session_id: String,
    /// The canonical body, verbatim.
    pub body: String,
    /// The `hash` column.
    pub hash: String,
    /// The `signature` column.
    pub signature: String,
}

impl StoredRow {
    /// The row an [`AuditRecord`] is stored as.
    ///
    /// # Errors
    /// [`Error::BadArgument`] when seq exceeds i64, or the body has no canonical form.
    pub fn from_record(record: &AuditRecord) -> Result<Self> {
        Ok(StoredRow {
            seq: i64::try_from(record.seq).map_err(|_| Error::BadArgument {
                what: "seq",
                reason: format!("{} does not fit a database integer", record.seq),
            })?,
            timestamp: record.timestamp.clone(),
            kind: record.kind.as_str().to_string(),
            user_id: record.user_id.clone(),
            session_id: record.session_id.clone(),
            body: record.canonical_body()?,
            hash: record.hash.clone(),
            signature: record.signature.clone(),
        })
    }

    /// Parses the body and checks that the indexed columns repeat it. The
    /// `seq` column is not compared: rows are read in `seq` column order, so
    /// a moved row shows up as the body's seq out of order, which names the
    /// record better than a column mismatch would.
    ///
    /// # Errors
    /// [`Error::MalformedRecord`] naming the first disagreement.
    pub fn to_record(&self) -> Result<AuditRecord> {
        let record = AuditRecord::from_stored_body(
            self.seq,
            &self.body,
            self.hash.clone(),
            self.signature.clone(),
        )?;
        let mismatch = |column: &str, found: &str, body: &str| Error::MalformedRecord {
            seq: self.seq,
            reason: format!("column {column} is {found:?} but the signed body says {body:?}"),
        };
        if self.timestamp != record.timestamp {
            return Err(mismatch("timestamp", &self.timestamp, &record.timestamp));
        }
        if self.kind != record.kind.as_str() {
            return Err(mismatch("kind", &self.kind, record.kind.as_str()));
        }
        if self.user_id != record.user_id {
            return Err(mismatch("user_id", &self.user_id, &record.user_id));
        }
        if self.session_id != record.session_id {
            return Err(mismatch("session_id", &self.session_id, &record.session_id));
        }
        Ok(record)
    }
}

/// An append-only, transactional home for the chain.
pub trait AuditStore {
    /// Appends a batch atomically. The batch must continue the head (first
    /// seq = head seq + 1, first prev_hash = head hash); a batch that does
    /// not is refused with [`Error::HeadConflict`], so two writers can never
    /// fork the chain.
    ///
    /// # Errors
    /// Backend errors, [`Error::HeadConflict`].
    fn append(&mut self, records: &[AuditRecord]) -> Result<()>;

    /// Last seq and its hash, `None` when empty.
    ///
    /// # Errors
    /// Backend errors.
    fn head(&self) -> Result<Option<(u64, String)>>;

    /// Up to `limit` rows with `seq` column >= `from_seq`, in seq order.
    ///
    /// # Errors
    /// Backend errors.
    fn read_range(&self, from_seq: i64, limit: usize) -> Result<Vec<StoredRow>>;

    /// Smallest seq whose timestamp is at or after `timestamp` (RFC 3339,
    /// same fixed-width form as the records), for retention.
    ///
    /// # Errors
    /// Backend errors.
    fn first_at_or_after(&self, timestamp: &str) -> Result<Option<u64>>;

    /// Deletes every record with seq < `seq`; returns how many.
    ///
    /// # Errors
    /// Backend errors.
    fn delete_before(&mut self, seq: u64) -> Result<u64>;
}

/// The head `(seq, hash)` of a chain from its stored row, refusing a
/// negative `seq` (SQL integers are signed; the chain's are not).
pub(crate) fn head_of(row: Option<(i64, String)>) -> Result<Option<(u64, String)>> {
    row.map(|(seq, hash)| {
        u64::try_from(seq)
            .map(|seq| (seq, hash))
            .map_err(|_| Error::MalformedRecord {
                seq,
                reason: "negative seq".into(),
            })
    })
    .transpose()
}

/// Checks that `records` continue `head` and are consecutive and chained.
pub(crate) fn check_continues(head: Option<&(u64, String)>, records: &[AuditRecord]) -> Result<()> {
    let (mut expected_seq, mut expected_prev) = match head {
        Some((seq, hash)) => (seq.saturating_add(1), hash.clone()),
        None => (0, String::new()),
    };
    for (i, record) in records.iter().enumerate() {
        // An empty store accepts any start: after retention of everything,
        // or a chain restored from a checkpoint.
        let free_start = head.is_none() && i == 0;
        if !free_start && (record.seq != expected_seq || record.prev_hash != expected_prev) {
            return Err(Error::HeadConflict {
                expected_seq,
                found_seq: record.seq,
            });
        }
        expected_seq = record.seq.saturating_add(1);
        expected_prev.clone_from(&record.hash);
    }
    Ok(())
}

/// Reads every stored row in seq order, `page` rows per query.
pub(crate) fn for_each_row(
    store: &dyn AuditStore,
    page: usize,
    mut f: impl FnMut(StoredRow) -> Result<()>,
) -> Result<()> {
    let mut from = i64::MIN;
    loop {
        let rows = store.read_range(from, page)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        let Some(next) = last.seq.checked_add(1) else {
            for row in rows {
                f(row)?;
            }
            return Ok(());
        };
        let short = rows.len() < page;
        for row in rows {
            f(row)?;
        }
        if short {
            return Ok(());
        }
        from = next;
    }
}
