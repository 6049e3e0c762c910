//! The embedded store: SQLite in WAL mode with `synchronous=FULL`, so a
//! committed batch survives power loss, not only a process crash.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{check_continues, AuditStore, StoredRow};
use crate::record::AuditRecord;
use crate::Result;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_logs (
    seq INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    body TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_logs_timestamp ON audit_logs (timestamp);
CREATE INDEX IF NOT EXISTS audit_logs_user_id ON audit_logs (user_id);
CREATE INDEX IF NOT EXISTS audit_logs_session_id ON audit_logs (session_id);
";

/// Audit store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    fn head_on(conn: &Connection) -> Result<Option<(u64, String)>> {
        let row: Option<(i64, String)> = conn
            .query_row(
                "SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        super::head_of(row)
    }
}

impl AuditStore for SqliteStore {
    fn append(&mut self, records: &[AuditRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = records
            .iter()
            .map(StoredRow::from_record)
            .collect::<Result<Vec<_>>>()?;
        // IMMEDIATE takes the write lock up front, so the head check and the
        // inserts are one atomic step even with another process writing.
        let tx =
            rusqlite::Transaction::new(&mut self.conn, rusqlite::TransactionBehavior::Immediate)?;
        let head = Self::head_on(&tx)?;
        check_continues(head.as_ref(), records)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit_logs (seq, timestamp, kind, user_id, session_id, body, hash, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for row in &rows {
                insert.execute(params![
                    row.seq,
                    row.timestamp,
                    row.kind,
                    row.user_id,
                    row.session_id,
                    row.body,
                    row.hash,
                    row.signature
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn head(&self) -> Result<Option<(u64, String)>> {
        Self::head_on(&self.conn)
    }

    fn read_range(&self, from_seq: i64, limit: usize) -> Result<Vec<StoredRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, timestamp, kind, user_id, session_id, body, hash, signature
             FROM audit_logs WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![from_seq, limit], |r| {
            Ok(StoredRow {
                seq: r.get(0)?,
                timestamp: r.get(1)?,
                kind: r.get(2)?,
                user_id: r.get(3)?,
                session_id: r.get(4)?,
                body: r.get(5)?,
                hash: r.get(6)?,
                signature: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    fn first_at_or_after(&self, timestamp: &str) -> Result<Option<u64>> {
        let seq: Option<i64> = self.conn.query_row(
            "SELECT MIN(seq) FROM audit_logs WHERE timestamp >= ?1",
            [timestamp],
            |r| r.get(0),
        )?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()))
    }

    fn delete_before(&mut self, seq: u64) -> Result<u64> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let n = self
            .conn
            .execute("DELETE FROM audit_logs WHERE seq < ?1", [seq])?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}
