//! Periodic anchoring of the audit chain (EU AI Act Article 12).
//!
//! A hash chain alone proves the log was not edited *after* its last record
//! was trusted; it does not stop whoever controls the host from rewriting the
//! whole chain. An anchor fixes a range of records in time with a third
//! party: the Merkle root ([`merkle`]) of the records' hashes is sent to an
//! RFC 3161 time-stamping authority (TSA), whose signed token is stored with
//! the sequence range it covers. Anchors chain to each other too
//! (`prev_anchor_root`), cover contiguous ranges, and carry non-decreasing
//! TSA times, so dropping, reordering or replaying one is visible.
//!
//! In: record hashes (32-byte SHA-256 values, or their hex) and sequence
//! ranges. This module does not read the audit log itself, so the log's
//! storage can change without touching it. Out: [`Anchor`] values
//! (serde) and, on verification, a list of [`AnchorProblem`]s.
//! State: none kept; a request holds one TSA response (capped at
//! [`MAX_TSA_RESPONSE_BYTES`]).

pub mod merkle;

mod encoding;
mod token;
mod tsa;
mod verify;

use serde::{Deserialize, Serialize};

pub use merkle::{
    inclusion_proof, merkle_root, parse_record_hash, verify_inclusion, InclusionProof,
};
pub use tsa::{request_anchor, MAX_TSA_RESPONSE_BYTES, TSA_TIMEOUT_SECS};
pub use verify::{
    verify_anchor, verify_anchor_chain, verify_anchor_with_openssl, AnchorProblem,
    AnchorProblemKind, OPENSSL_TIMEOUT_SECS,
};

/// The only anchor kind so far: an RFC 3161 time-stamp token.
pub const KIND_RFC3161: &str = "rfc3161";

/// One anchor: records `first_seq..=last_seq` fixed in time by a TSA.
///
/// Byte fields are text (hex, base64, RFC 3339) so anchors can sit in JSONL
/// next to the audit records and be read by tools in any language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// Sequence number of the first covered record.
    pub first_seq: u64,
    /// Sequence number of the last covered record (inclusive).
    pub last_seq: u64,
    /// RFC 9162 Merkle root of the covered records' hashes, 64 hex digits.
    pub root: String,
    /// `root` of the anchor before this one; `None` for the first anchor.
    pub prev_anchor_root: Option<String>,
    /// Anchor kind; [`KIND_RFC3161`].
    pub kind: String,
    /// The TSA endpoint the token came from.
    pub tsa_url: String,
    /// The random nonce sent with the request, hex (RFC 3161 section 2.4.1:
    /// ties the response to this request).
    pub nonce: String,
    /// The TimeStampToken (CMS SignedData), base64 of its DER.
    pub token: String,
    /// The TSA's genTime, RFC 3339 in UTC (copied from the token for readers;
    /// verification trusts the token, not this field).
    pub gen_time: String,
    /// The TSA's serial number of the token, hex (copied from the token).
    pub serial: String,
}

impl Anchor {
    /// Number of records the anchor covers, or `None` for an inverted range.
    #[must_use]
    pub fn record_count(&self) -> Option<u64> {
        self.last_seq.checked_sub(self.first_seq)?.checked_add(1)
    }

    /// Whether record `seq` lies in this anchor's range.
    #[must_use]
    pub fn covers(&self, seq: u64) -> bool {
        (self.first_seq..=self.last_seq).contains(&seq)
    }
}
