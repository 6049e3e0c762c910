//! Checking anchors: that each token binds the records it claims, that
//! anchors follow each other, and (with the TSA's CA) that the token is
//! genuinely signed.
//!
//! Failures of the anchor are [`AnchorProblem`] values, all collected, so an
//! auditor sees every defect at once; an `Err` means the check itself could
//! not run (scratch file, unreadable CA file).

use std::{
    fmt,
    fs::File,
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{debug, warn};

use super::{encoding, token, Anchor, KIND_RFC3161};
use crate::{Error, Result};

/// How long `openssl ts -verify` may run. It checks one RSA/ECDSA signature
/// and a short chain, which takes milliseconds; the bound only guards
/// against a hung process.
pub const OPENSSL_TIMEOUT_SECS: u64 = 10;

/// How much of openssl's diagnostics is kept in a problem's detail.
const OPENSSL_DIAGNOSTIC_BYTES: u64 = 2048;

/// A token larger than this is not one a TSA produced (they are a few KiB),
/// so it is refused before decoding.
const MAX_TOKEN_BASE64_CHARS: usize = 1 << 20;

/// What is wrong with an anchor. Low-cardinality: usable as a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorProblemKind {
    /// `kind` is not one this version understands.
    UnsupportedKind,
    /// `first_seq` is after `last_seq`.
    InvalidRange,
    /// A hex field (root, nonce, serial) or the gen_time is not well formed.
    MalformedField,
    /// The token is not valid base64 or not a decodable TimeStampToken.
    MalformedToken,
    /// The stored `root` differs from the root recomputed from the records:
    /// a covered record changed, or the field was edited.
    RootMismatch,
    /// The token's imprint is not the recomputed root: the covered records
    /// changed since anchoring, or the token belongs to other records
    /// (a replayed anchor).
    ImprintMismatch,
    /// The token's nonce is not the stored one.
    NonceMismatch,
    /// The stored `gen_time` or `serial` disagrees with the token.
    FieldMismatch,
    /// The token's time is earlier than the previous anchor's.
    TimeRegression,
    /// The range does not start right after the previous anchor's (a gap
    /// hides unanchored records; an overlap means reordering or replay).
    RangeNotContiguous,
    /// `prev_anchor_root` does not name the previous anchor's root.
    BrokenLink,
    /// openssl rejected the token's signature or certificate chain.
    SignatureInvalid,
    /// The signature could not be checked (openssl missing, failed to start
    /// or timed out); the anchor is neither confirmed nor refuted.
    SignatureUnverified,
    /// The log no longer holds (all of) the records the anchor covers.
    RecordsMissing,
}

impl AnchorProblemKind {
    /// Stable snake_case name (the serde form).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnsupportedKind => "unsupported_kind",
            Self::InvalidRange => "invalid_range",
            Self::MalformedField => "malformed_field",
            Self::MalformedToken => "malformed_token",
            Self::RootMismatch => "root_mismatch",
            Self::ImprintMismatch => "imprint_mismatch",
            Self::NonceMismatch => "nonce_mismatch",
            Self::FieldMismatch => "field_mismatch",
            Self::TimeRegression => "time_regression",
            Self::RangeNotContiguous => "range_not_contiguous",
            Self::BrokenLink => "broken_link",
            Self::SignatureInvalid => "signature_invalid",
            Self::SignatureUnverified => "signature_unverified",
            Self::RecordsMissing => "records_missing",
        }
    }
}

/// One defect of one anchor, named by the anchor's sequence range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnchorProblem {
    /// First record the anchor claims to cover.
    pub first_seq: u64,
    /// Last record the anchor claims to cover.
    pub last_seq: u64,
    /// What kind of defect.
    pub kind: AnchorProblemKind,
    /// What exactly is wrong, for a human.
    pub detail: String,
}

impl fmt::Display for AnchorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "anchor of records {}..={}: {}: {}",
            self.first_seq,
            self.last_seq,
            self.kind.as_str(),
            self.detail
        )
    }
}

/// Verify `anchor` against `recomputed_root`, the RFC 9162 Merkle root of the
/// covered records' hashes as they are now (see [`super::merkle_root`]).
///
/// `previous` is the anchor before this one, `None` for the first anchor of
/// the chain (then `prev_anchor_root` must be null: a first anchor that names
/// a predecessor means earlier anchors were removed). With `tsa_ca_file`, the
/// token's signature and certificate chain are checked by
/// `openssl ts -verify` against that CA; without it, only the binding checks
/// run.
///
/// # Errors
/// [`Error::Io`] when the CA file cannot be read or the scratch file for
/// openssl cannot be written. Defects of the anchor are never errors; they
/// come back as problems.
pub fn verify_anchor(
    anchor: &Anchor,
    recomputed_root: &[u8; 32],
    tsa_ca_file: Option<&Path>,
    previous: Option<&Anchor>,
) -> Result<Vec<AnchorProblem>> {
    verify_anchor_with_openssl(
        anchor,
        recomputed_root,
        tsa_ca_file,
        previous,
        Path::new("openssl"),
    )
}

/// [`verify_anchor`] with an explicit openssl program (a path, or a name
/// looked up in `PATH`), for hosts where openssl is not on `PATH`.
///
/// # Errors
/// As [`verify_anchor`].
pub fn verify_anchor_with_openssl(
    anchor: &Anchor,
    recomputed_root: &[u8; 32],
    tsa_ca_file: Option<&Path>,
    previous: Option<&Anchor>,
    openssl: &Path,
) -> Result<Vec<AnchorProblem>> {
    let mut problems = Vec::new();
    let mut report = |kind: AnchorProblemKind, detail: String| {
        problems.push(AnchorProblem {
            first_seq: anchor.first_seq,
            last_seq: anchor.last_seq,
            kind,
            detail,
        });
    };

    if anchor.kind != KIND_RFC3161 {
        report(
            AnchorProblemKind::UnsupportedKind,
            format!(
                "kind {:?}, expected {KIND_RFC3161:?}",
                bounded(&anchor.kind)
            ),
        );
    }
    if anchor.first_seq > anchor.last_seq {
        report(
            AnchorProblemKind::InvalidRange,
            "first_seq is after last_seq".to_owned(),
        );
    }
    match encoding::parse_hex32(&anchor.root) {
        None => report(
            AnchorProblemKind::MalformedField,
            "root is not 64 hex digits".to_owned(),
        ),
        Some(stored) if stored != *recomputed_root => report(
            AnchorProblemKind::RootMismatch,
            format!(
                "stored root {} but the covered records now hash to {}",
                anchor.root,
                encoding::to_hex(recomputed_root)
            ),
        ),
        Some(_) => {}
    }

    if let Some(previous) = previous {
        check_sequence(anchor, previous, &mut report);
    } else if let Some(claimed) = &anchor.prev_anchor_root {
        report(
            AnchorProblemKind::BrokenLink,
            format!(
                "verified as the first anchor but links to {}; earlier anchors are missing",
                bounded(claimed)
            ),
        );
    }

    let token_der = if anchor.token.len() > MAX_TOKEN_BASE64_CHARS {
        None
    } else {
        encoding::parse_base64(&anchor.token)
    };
    let Some(token_der) = token_der else {
        report(
            AnchorProblemKind::MalformedToken,
            "token is not base64 of a TimeStampToken".to_owned(),
        );
        return Ok(problems);
    };
    let facts = match token::parse_token(&token_der) {
        Ok(facts) => facts,
        Err(m) => {
            let cause = m.source.map(|e| format!(": {e}")).unwrap_or_default();
            report(
                AnchorProblemKind::MalformedToken,
                format!("{}{cause}", m.what),
            );
            return Ok(problems);
        }
    };

    if !token::imprint_is(&facts, recomputed_root) {
        report(
            AnchorProblemKind::ImprintMismatch,
            format!(
                "token time-stamps {} but the covered records hash to {}",
                encoding::to_hex(&facts.imprint),
                encoding::to_hex(recomputed_root)
            ),
        );
    }
    match encoding::parse_hex(&anchor.nonce) {
        None => report(
            AnchorProblemKind::MalformedField,
            "nonce is not hex".to_owned(),
        ),
        Some(stored) if facts.nonce.as_deref() != Some(stored.as_slice()) => report(
            AnchorProblemKind::NonceMismatch,
            format!(
                "stored nonce {} but the token carries {}",
                bounded(&anchor.nonce),
                facts
                    .nonce
                    .as_deref()
                    .map_or_else(|| "none".to_owned(), encoding::to_hex)
            ),
        ),
        Some(_) => {}
    }
    match DateTime::parse_from_rfc3339(&anchor.gen_time) {
        Err(_) => report(
            AnchorProblemKind::MalformedField,
            "gen_time is not RFC 3339".to_owned(),
        ),
        Ok(stored) if stored != facts.gen_time => report(
            AnchorProblemKind::FieldMismatch,
            format!(
                "stored gen_time {} but the token says {}",
                bounded(&anchor.gen_time),
                facts.gen_time.to_rfc3339()
            ),
        ),
        Ok(_) => {}
    }
    if encoding::parse_hex(&anchor.serial).as_deref() != Some(facts.serial.as_slice()) {
        report(
            AnchorProblemKind::FieldMismatch,
            format!(
                "stored serial {} but the token says {}",
                bounded(&anchor.serial),
                encoding::to_hex(&facts.serial)
            ),
        );
    }
    if let Some(previous) = previous {
        if let Some(prev_time) = time_of(previous) {
            if facts.gen_time < prev_time {
                report(
                    AnchorProblemKind::TimeRegression,
                    format!(
                        "time-stamped at {} but the previous anchor ({}..={}) at {}",
                        facts.gen_time.to_rfc3339(),
                        previous.first_seq,
                        previous.last_seq,
                        prev_time.to_rfc3339()
                    ),
                );
            }
        }
    }

    if let Some(ca) = tsa_ca_file {
        // The digest given to openssl is the token's own imprint, so a
        // signature problem means the token or chain is bad, not that the
        // records changed (that is ImprintMismatch, reported above).
        if let Some((kind, detail)) = check_signature(&token_der, &facts.imprint, ca, openssl)? {
            report(kind, detail);
        }
    }
    if !problems.is_empty() {
        warn!(
            message = "Anchor failed verification.",
            first_seq = anchor.first_seq,
            last_seq = anchor.last_seq,
            problems = problems.len()
        );
    }
    Ok(problems)
}

/// Verify a whole chain of anchors, oldest first, each against its
/// predecessor. `records_root(first_seq, last_seq)` gives the RFC 9162 root
/// of those records' hashes as the log holds them now, or `None` when some
/// are gone; then a [`AnchorProblemKind::RecordsMissing`] problem is
/// reported and the remaining checks compare the token with the stored root.
///
/// Problems of all anchors come back together, in chain order. Whether
/// records after the last anchor are still unanchored is the caller's policy
/// (compare the log's last sequence number with the last anchor's).
///
/// # Errors
/// As [`verify_anchor`].
pub fn verify_anchor_chain<F>(
    anchors: &[Anchor],
    mut records_root: F,
    tsa_ca_file: Option<&Path>,
) -> Result<Vec<AnchorProblem>>
where
    F: FnMut(u64, u64) -> Option<[u8; 32]>,
{
    let mut problems = Vec::new();
    let mut previous = None;
    for anchor in anchors {
        let root = match records_root(anchor.first_seq, anchor.last_seq) {
            Some(root) => root,
            None => {
                problems.push(AnchorProblem {
                    first_seq: anchor.first_seq,
                    last_seq: anchor.last_seq,
                    kind: AnchorProblemKind::RecordsMissing,
                    detail: "the log no longer holds all covered records".to_owned(),
                });
                // Unparsable stored roots are reported by verify_anchor itself.
                encoding::parse_hex32(&anchor.root).unwrap_or([0; 32])
            }
        };
        problems.extend(verify_anchor(anchor, &root, tsa_ca_file, previous)?);
        previous = Some(anchor);
    }
    Ok(problems)
}

/// Range contiguity and the `prev_anchor_root` link.
fn check_sequence(
    anchor: &Anchor,
    previous: &Anchor,
    report: &mut impl FnMut(AnchorProblemKind, String),
) {
    match previous.last_seq.checked_add(1) {
        Some(next) if next == anchor.first_seq => {}
        _ => {
            let how = if anchor.first_seq <= previous.last_seq {
                "overlaps"
            } else {
                "leaves a gap after"
            };
            report(
                AnchorProblemKind::RangeNotContiguous,
                format!(
                    "{how} the previous anchor's range {}..={}",
                    previous.first_seq, previous.last_seq
                ),
            );
        }
    }
    if anchor.prev_anchor_root.as_deref() != Some(previous.root.as_str()) {
        report(
            AnchorProblemKind::BrokenLink,
            format!(
                "prev_anchor_root is {} but the previous anchor's root is {}",
                anchor.prev_anchor_root.as_deref().map_or("null", bounded),
                bounded(&previous.root)
            ),
        );
    }
}

/// The previous anchor's time, from its token when that decodes (the stored
/// field is only a copy), else from the stored field.
fn time_of(anchor: &Anchor) -> Option<DateTime<Utc>> {
    if anchor.token.len() <= MAX_TOKEN_BASE64_CHARS {
        if let Some(facts) =
            encoding::parse_base64(&anchor.token).and_then(|der| token::parse_token(&der).ok())
        {
            return Some(facts.gen_time);
        }
    }
    DateTime::parse_from_rfc3339(&anchor.gen_time)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Run `openssl ts -verify` on the token. `Ok(None)` is a good signature.
fn check_signature(
    token_der: &[u8],
    imprint: &[u8],
    ca: &Path,
    openssl: &Path,
) -> Result<Option<(AnchorProblemKind, String)>> {
    // A missing CA file is a configuration error, not a defect of the anchor.
    std::fs::metadata(ca).map_err(|source| Error::Io {
        path: ca.to_path_buf(),
        source,
    })?;
    let token_file = ScratchFile::create("tsr", token_der)?;
    let stderr_file = ScratchFile::create("err", &[])?;
    let stderr_handle = File::create(&stderr_file.path).map_err(|source| Error::Io {
        path: stderr_file.path.clone(),
        source,
    })?;
    let spawned = Command::new(openssl)
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(&token_file.path)
        .arg("-digest")
        .arg(encoding::to_hex(imprint))
        .arg("-sha256")
        .arg("-CAfile")
        .arg(ca)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_handle)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            warn!(message = "Could not run openssl; anchor signature unverified.", %error, program = %openssl.display());
            return Ok(Some((
                AnchorProblemKind::SignatureUnverified,
                format!(
                    "signature unverified: cannot run {}: {error}",
                    openssl.display()
                ),
            )));
        }
    };
    let deadline = Instant::now() + Duration::from_secs(OPENSSL_TIMEOUT_SECS);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                // Best effort: the process is ours and is abandoned either way.
                let _ = child.kill();
                let _ = child.wait();
                return Ok(Some((
                    AnchorProblemKind::SignatureUnverified,
                    format!("signature unverified: openssl did not finish within {OPENSSL_TIMEOUT_SECS}s"),
                )));
            }
        }
    };
    debug!(message = "openssl ts -verify finished.", ?status);
    if status.success() {
        return Ok(None);
    }
    // openssl prefixes its diagnostics with a banner naming its config file;
    // it says nothing about the token, so it is left out of the detail.
    let diagnostics: Vec<String> = read_capped(&stderr_file.path, OPENSSL_DIAGNOSTIC_BYTES)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Using configuration from"))
        .map(str::to_owned)
        .collect();
    Ok(Some((
        AnchorProblemKind::SignatureInvalid,
        format!(
            "openssl ts -verify failed ({status}): {}",
            diagnostics.join(" | ")
        ),
    )))
}

/// At most `limit` bytes of a file we wrote ourselves, lossily as text.
fn read_capped(path: &Path, limit: u64) -> String {
    let Ok(file) = File::open(path) else {
        return String::new();
    };
    let mut reader = file.take(limit);
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = reader.read(&mut buf) {
        match buf.get(..n) {
            Some(chunk) if n > 0 => out.extend_from_slice(chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A uniquely named file in the temp dir, removed on drop. Created with
/// `create_new`, so a file planted under the same name is never followed.
struct ScratchFile {
    path: PathBuf,
}

impl ScratchFile {
    fn create(suffix: &str, contents: &[u8]) -> Result<Self> {
        let mut tag = [0u8; 12];
        getrandom::getrandom(&mut tag).map_err(|source| Error::Entropy { source })?;
        let path = std::env::temp_dir().join(format!(
            "causaldefend-anchor-{}.{suffix}",
            encoding::to_hex(&tag)
        ));
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io)?;
        let scratch = Self { path: path.clone() };
        file.write_all(contents).map_err(io)?;
        Ok(scratch)
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        // Nothing secret is in it; a leftover file is harmless.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Attacker-written fields are cut before they reach a message.
fn bounded(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}
