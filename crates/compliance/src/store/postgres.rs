//! The server store: PostgreSQL, one schema per deployment (and per test).
//!
//! Writers are serialised with a transaction-scoped advisory lock, so the
//! head check and the inserts of a batch are atomic across processes; the
//! `seq` primary key is assigned by us and its uniqueness is the last line
//! of defence against a fork.

use std::sync::Mutex;

use postgres::{Client, NoTls};

use super::{check_continues, AuditStore, StoredRow};
use crate::record::AuditRecord;
use crate::{Error, Result};

/// Advisory lock key of audit writers ("CDAUDIT" in ASCII).
const WRITER_LOCK_KEY: i64 = 0x0043_4441_5544_4954;

/// Audit store in a PostgreSQL schema.
pub struct PostgresStore {
    client: Mutex<Client>,
    table: String,
    schema: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Schema names are spliced into SQL, so only plain identifiers pass.
fn check_schema_name(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes().first().is_some_and(u8::is_ascii_digit);
    if ok {
        Ok(())
    } else {
        Err(Error::BadArgument {
            what: "schema",
            reason: format!("{schema:?} is not a lower-case identifier of at most 63 bytes"),
        })
    }
}

impl PostgresStore {
    /// Connects to `url` (no TLS: use a local socket or a TLS-terminating
    /// proxy) and creates `schema.audit_logs` if absent.
    ///
    /// # Errors
    /// [`Error::BadArgument`] for a bad schema name, [`Error::Postgres`].
    pub fn connect(url: &str, schema: &str) -> Result<Self> {
        check_schema_name(schema)?;
        let mut client = Client::connect(url, NoTls)?;
        let table = format!("{schema}.audit_logs");
        client.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {table} (
                 seq BIGINT PRIMARY KEY,
                 timestamp TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 user_id TEXT NOT NULL,
                 session_id TEXT NOT NULL,
                 body TEXT NOT NULL,
                 hash TEXT NOT NULL,
                 signature TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS audit_logs_timestamp ON {table} (timestamp);
             CREATE INDEX IF NOT EXISTS audit_logs_user_id ON {table} (user_id);
             CREATE INDEX IF NOT EXISTS audit_logs_session_id ON {table} (session_id);"
        ))?;
        Ok(Self {
            client: Mutex::new(client),
            table,
            schema: schema.to_string(),
        })
    }

    /// The schema this store lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Drops the whole schema (tests, decommissioning).
    ///
    /// # Errors
    /// [`Error::Postgres`].
    pub fn drop_schema(self) -> Result<()> {
        let mut client = self
            .client
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))?;
        Ok(())
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        // A panic while holding the lock cannot leave the client half-used
        // in a way that matters: every statement is its own round trip.
        self.client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn head_row(row: Option<postgres::Row>) -> Result<Option<(u64, String)>> {
    let row = match row {
        Some(r) => Some((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?)),
        None => None,
    };
    super::head_of(row)
}

impl AuditStore for PostgresStore {
    fn append(&mut self, records: &[AuditRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = records
            .iter()
            .map(StoredRow::from_record)
            .collect::<Result<Vec<_>>>()?;
        let table = self.table.clone();
        let mut client = self.client();
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK_KEY])?;
        let head = head_row(tx.query_opt(
            &format!("SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1"),
            &[],
        )?)?;
        check_continues(head.as_ref(), records)?;
        let insert = tx.prepare(&format!(
            "INSERT INTO {table} (seq, timestamp, kind, user_id, session_id, body, hash, signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))?;
        for row in &rows {
            tx.execute(
                &insert,
                &[
                    &row.seq,
                    &row.timestamp,
                    &row.kind,
                    &row.user_id,
                    &row.session_id,
                    &row.body,
                    &row.hash,
                    &row.signature,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn head(&self) -> Result<Option<(u64, String)>> {
        let row = self.client().query_opt(
            &format!(
                "SELECT seq, hash FROM {} ORDER BY seq DESC LIMIT 1",
                self.table
            ),
            &[],
        )?;
        head_row(row)
    }

    fn read_range(&self, from_seq: i64, limit: usize) -> Result<Vec<StoredRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client().query(
            &format!(
                "SELECT seq, timestamp, kind, user_id, session_id, body, hash, signature
                 FROM {} WHERE seq >= $1 ORDER BY seq LIMIT $2",
                self.table
            ),
            &[&from_seq, &limit],
        )?;
        rows.iter()
            .map(|r| {
                Ok(StoredRow {
                    seq: r.try_get(0)?,
                    timestamp: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    user_id: r.try_get(3)?,
                    session_id: r.try_get(4)?,
                    body: r.try_get(5)?,
                    hash: r.try_get(6)?,
                    signature: r.try_get(7)?,
                })
            })
            .collect()
    }

    fn first_at_or_after(&self, timestamp: &str) -> Result<Option<u64>> {
        let row = self.client().query_one(
            &format!("SELECT MIN(seq) FROM {} WHERE timestamp >= $1", self.table),
            &[&timestamp],
        )?;
        let seq: Option<i64> = row.try_get(0)?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()))
    }

    fn delete_before(&mut self, seq: u64) -> Result<u64> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let n = self.client().execute(
            &format!("DELETE FROM {} WHERE seq < $1", self.table),
            &[&seq],
        )?;
        Ok(n)
    }
}
