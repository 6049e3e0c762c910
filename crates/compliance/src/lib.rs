//! Compliance: the EU AI Act obligations of a high-risk AI system, by design.
//!
//! Article 11 (technical documentation): a model card generated from the
//! checkpoint and calibration metadata. Article 12 (record-keeping): every
//! decision appended to a hash-chained, Ed25519-signed audit log in the
//! embedded store (SQLite) or PostgreSQL, mirrored to append-only JSONL, and
//! periodically anchored by an RFC 3161 timestamp over a Merkle root.
//! Article 14 (human oversight): review records linked to alerts.
//! `verify` checks all of it and names what is wrong, and where.

pub mod anchor;
pub mod articles;
mod error;
pub mod model_card;

pub use error::{Error, Result};
