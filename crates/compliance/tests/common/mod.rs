//! Shared helpers of the audit log tests.
#![allow(dead_code)]

use causaldefend_compliance::record::sha256_hex;
use causaldefend_compliance::{AuditSigner, RecordDraft, RecordKind};
use serde_json::json;

pub fn draft(i: u64) -> RecordDraft {
    RecordDraft {
        kind: if i.is_multiple_of(3) {
            RecordKind::Alert
        } else {
            RecordKind::Detection
        },
        user_id: format!("analyst-{i}"),
        session_id: format!("session-{}", i / 4),
        inputs_digest: sha256_hex(format!("window {i}").as_bytes()),
        model_version: sha256_hex(b"checkpoint"),
        output: json!({"score": 0.5 + (i as f64) / 1000.0, "verdict": "anomalous", "host": "web-01", "n": i}),
        reason: format!("score above threshold for window {i}"),
        subject: (i.is_multiple_of(3)).then(|| format!("alert-{i}")),
    }
}

/// A fixed signing key, so failures reproduce.
pub fn signer() -> AuditSigner {
    AuditSigner::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]))
}

/// The attacker's key.
pub fn mallory() -> AuditSigner {
    AuditSigner::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[66u8; 32]))
}

/// SQL string literal.
pub fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Random lower-case suffix for schema names.
pub fn random_suffix() -> String {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// DATABASE_URL, or `None` after a loud skip notice; under CI=true a missing
/// database is a failure, not a skip.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "DATABASE_URL not set but CI=true: PostgreSQL tests must run in CI"
            );
            eprintln!("\n**********\nSKIPPED: DATABASE_URL not set (PostgreSQL audit tests)\n**********\n");
            None
        }
    }
}
