//! Compliance: the EU AI Act obligations of a high-risk AI system, by design.
//!
//! Article 11 (technical documentation): a model card generated from the
//! checkpoint and calibration metadata. Article 12 (record-keeping): every
//! decision appended to a hash-chained, Ed25519-signed audit log in the
//! embedded store (SQLite) or PostgreSQL, mirrored to append-only JSONL, and
//! periodically anchored by an RFC 3161 timestamp over a Merkle root.
//! Article 14 (human oversight): review records linked to alerts.
//! `verify` checks all of it and names what is wrong, and where.
//!
//! In: [`RecordDraft`]s from the pipeline. Out: sealed [`AuditRecord`]s in a
//! store and a JSONL mirror, and verification [`verify::Report`]s. State: the
//! chain head (one seq and hash) in memory; everything else is on disk.

pub mod anchor;
pub mod articles;
pub mod canonical;
mod error;
mod hex;
pub mod keys;
mod log;
pub mod mirror;
pub mod model_card;
pub mod record;
pub mod store;
pub mod verify;

pub use error::{Error, Result};
pub use keys::AuditSigner;
pub use log::{format_timestamp, AuditLog, Clock, RetentionOutcome};
pub use record::{AuditRecord, RecordDraft, RecordKind};
pub use store::{AuditStore, PostgresStore, SqliteStore};
