//! One audit record (EU AI Act Article 12): who did what, on which inputs,
//! with which model, and why; hash-chained to its predecessor and signed.
//!
//! The *body* is every field except `hash` and `signature`; `hash` is the
//! hex SHA-256 of the body's canonical JSON ([`crate::canonical`]) and
//! `signature` the hex Ed25519 signature over the 32 hash bytes. The
//! timestamp and the key id are inside the body, so neither can be changed
//! without breaking the hash.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::to_canonical_string;
use crate::keys::AuditSigner;
use crate::{hex, Error, Result};

/// `prev_hash` of the first record.
pub const GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A detector verdict.
    Detection,
    /// An alert raised to an analyst.
    Alert,
    /// An alert escalated.
    Escalation,
    /// A causal explanation produced for an alert.
    Explanation,
    /// A human review of an alert (Article 14).
    Review,
    /// A model checkpoint was deployed or replaced.
    ModelChange,
    /// Conformal calibration changed.
    CalibrationChange,
    /// Configuration changed.
    ConfigChange,
    /// Records before a checkpoint were deleted under the retention policy.
    Retention,
}

impl RecordKind {
    /// The snake_case name, as stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Detection => "detection",
            RecordKind::Alert => "alert",
            RecordKind::Escalation => "escalation",
            RecordKind::Explanation => "explanation",
            RecordKind::Review => "review",
            RecordKind::ModelChange => "model_change",
            RecordKind::CalibrationChange => "calibration_change",
            RecordKind::ConfigChange => "config_change",
            RecordKind::Retention => "retention",
        }
    }
}

/// What a caller supplies; sequence, time, chaining and signature are added
/// by [`crate::AuditLog`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDraft {
    /// What the record documents.
    pub kind: RecordKind,
    /// Who (analyst, service account).
    pub user_id: String,
    /// Session or job id.
    pub session_id: String,
    /// Hex SHA-256 of the inputs the decision saw (see [`sha256_hex`]).
    pub inputs_digest: String,
    /// Model version, e.g. the checkpoint's SHA-256.
    pub model_version: String,
    /// The decision or change itself.
    pub output: Value,
    /// Why, in words.
    pub reason: String,
    /// What the record refers to, e.g. the alert id a review is about.
    pub subject: Option<String>,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes))
}

/// A sealed audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Position in the chain, 1-based, without gaps.
    pub seq: u64,
    /// RFC 3339 UTC time with microseconds and `Z`, fixed width so that text
    /// order is time order.
    pub timestamp: String,
    /// What the record documents.
    pub kind: RecordKind,
    /// Who.
    pub user_id: String,
    /// Session or job id.
    pub session_id: String,
    /// Hex SHA-256 of the inputs.
    pub inputs_digest: String,
    /// Model version.
    pub model_version: String,
    /// The decision or change.
    pub output: Value,
    /// Why.
    pub reason: String,
    /// What the record refers to.
    pub subject: Option<String>,
    /// `hash` of the previous record, or [`GENESIS_PREV_HASH`].
    pub prev_hash: String,
    /// Hex SHA-256 of the canonical body.
    pub hash: String,
    /// Hex Ed25519 signature over the hash bytes.
    pub signature: String,
    /// Which key signed (see [`crate::keys::key_id`]).
    pub key_id: String,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    seq: u64,
    timestamp: &'a str,
    kind: RecordKind,
    user_id: &'a str,
    session_id: &'a str,
    inputs_digest: &'a str,
    model_version: &'a str,
    output: &'a Value,
    reason: &'a str,
    subject: Option<&'a str>,
    prev_hash: &'a str,
    key_id: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyOwned {
    seq: u64,
    timestamp: String,
    kind: RecordKind,
    user_id: String,
    session_id: String,
    inputs_digest: String,
    model_version: String,
    output: Value,
    reason: String,
    subject: Option<String>,
    prev_hash: String,
    key_id: String,
}

impl AuditRecord {
    /// Builds, hashes and signs the record that follows `prev_hash`.
    ///
    /// # Errors
    /// [`Error::BadArgument`] when `inputs_digest` is not a hex SHA-256 or
    /// `output` has no canonical form (integer beyond 2^53-1).
    pub fn seal(
        draft: RecordDraft,
        seq: u64,
        timestamp: String,
        prev_hash: String,
        signer: &AuditSigner,
    ) -> Result<Self> {
        if !hex::is_sha256(&draft.inputs_digest) {
            return Err(Error::BadArgument {
                what: "inputs_digest",
                reason: format!("{:?} is not 64 lower-case hex digits", draft.inputs_digest),
            });
        }
        let mut record = AuditRecord {
            seq,
            timestamp,
            kind: draft.kind,
            user_id: draft.user_id,
            session_id: draft.session_id,
            inputs_digest: draft.inputs_digest,
            model_version: draft.model_version,
            output: draft.output,
            reason: draft.reason,
            subject: draft.subject,
            prev_hash,
            hash: String::new(),
            signature: String::new(),
            key_id: signer.key_id().to_string(),
        };
        let digest = record.body_digest()?;
        record.hash = hex::encode(&digest);
        record.signature = signer.sign_digest(&digest);
        Ok(record)
    }

    /// Canonical JSON of the body: the exact bytes that are hashed and that
    /// the stores keep verbatim.
    ///
    /// # Errors
    /// [`Error::Json`], or [`Error::BadArgument`] for a non-canonical number.
    pub fn canonical_body(&self) -> Result<String> {
        let body = BodyRef {
            seq: self.seq,
            timestamp: &self.timestamp,
            kind: self.kind,
            user_id: &self.user_id,
            session_id: &self.session_id,
            inputs_digest: &self.inputs_digest,
            model_version: &self.model_version,
            output: &self.output,
            reason: &self.reason,
            subject: self.subject.as_deref(),
            prev_hash: &self.prev_hash,
            key_id: &self.key_id,
        };
        to_canonical_string(&serde_json::to_value(body)?)
    }

    /// SHA-256 of the canonical body.
    ///
    /// # Errors
    /// As [`Self::canonical_body`].
    pub fn body_digest(&self) -> Result<[u8; 32]> {
        Ok(Sha256::digest(self.canonical_body()?.as_bytes()).into())
    }

    /// The whole record as one canonical JSON line (without the newline),
    /// the JSONL mirror's format.
    ///
    /// # Errors
    /// As [`Self::canonical_body`].
    pub fn to_json_line(&self) -> Result<String> {
        to_canonical_string(&serde_json::to_value(self)?)
    }

    /// Rebuilds a record from a stored canonical body plus its hash and
    /// signature. The body must already be canonical: a verifier re-hashes
    /// these exact bytes, so a re-formatted body is reported, not silently
    /// normalised.
    ///
    /// # Errors
    /// [`Error::MalformedRecord`] when the body does not parse or is not in
    /// canonical form.
    pub fn from_stored_body(
        seq_column: i64,
        body: &str,
        hash: String,
        signature: String,
    ) -> Result<Self> {
        let malformed = |reason: String| Error::MalformedRecord {
            seq: seq_column,
            reason,
        };
        let b: BodyOwned = serde_json::from_str(body)
            .map_err(|e| malformed(format!("body is not a record body: {e}")))?;
        let record = AuditRecord {
            seq: b.seq,
            timestamp: b.timestamp,
            kind: b.kind,
            user_id: b.user_id,
            session_id: b.session_id,
            inputs_digest: b.inputs_digest,
            model_version: b.model_version,
            output: b.output,
            reason: b.reason,
            subject: b.subject,
            prev_hash: b.prev_hash,
            hash,
            signature,
            key_id: b.key_id,
        };
        let canonical = record
            .canonical_body()
            .map_err(|e| malformed(e.to_string()))?;
        if canonical != body {
            return Err(malformed("body is not in canonical form".to_string()));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_names_match_serde() {
        for kind in [
            RecordKind::ModelChange,
            RecordKind::Retention,
            RecordKind::CalibrationChange,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
    }

    #[test]
    fn rejects_bad_inputs_digest() {
        let signer = AuditSigner::generate().unwrap();
        let draft = RecordDraft {
            kind: RecordKind::Detection,
            user_id: "u".into(),
            session_id: "s".into(),
            inputs_digest: "xyz".into(),
            model_version: "m".into(),
            output: json!({}),
            reason: String::new(),
            subject: None,
        };
        let err =
            AuditRecord::seal(draft, 1, "t".into(), GENESIS_PREV_HASH.into(), &signer).unwrap_err();
        assert!(matches!(
            err,
            Error::BadArgument {
                what: "inputs_digest",
                ..
            }
        ));
    }
}
