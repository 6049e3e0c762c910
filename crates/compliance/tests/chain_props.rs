//! Properties: a chain of any length verifies; any one-byte change to any
//! line of its JSONL form is detected.

mod common;

use causaldefend_compliance::record::GENESIS_PREV_HASH;
use causaldefend_compliance::verify::{verify_entries, Entry, Position};
use causaldefend_compliance::AuditRecord;
use common::{draft, signer};
use proptest::prelude::*;

fn chain(n: u64) -> Vec<AuditRecord> {
    let s = signer();
    let mut prev = GENESIS_PREV_HASH.to_string();
    (1..=n)
        .map(|i| {
            let r = AuditRecord::seal(
                draft(i),
                i,
                "2026-11-24T10:00:00.000000Z".into(),
                prev.clone(),
                &s,
            )
            .unwrap();
            prev.clone_from(&r.hash);
            r
        })
        .collect()
}

fn entries(lines: &[Vec<u8>]) -> Vec<Entry> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let position = Position::Index(i as u64 + 1);
            match serde_json::from_slice::<AuditRecord>(l) {
                Ok(record) => Entry::Record { position, record },
                Err(e) => Entry::Malformed {
                    position,
                    seq: None,
                    detail: e.to_string(),
                },
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_one_byte_change_is_detected(n in 1u64..12, which in any::<prop::sample::Index>(), byte in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let key = signer().verifying_key();
        let records = chain(n);
        let mut lines: Vec<Vec<u8>> = records.iter().map(|r| r.to_json_line().unwrap().into_bytes()).collect();
        prop_assert!(verify_entries(entries(&lines), &[key]).ok);
        let line = which.index(lines.len());
        let at = byte.index(lines[line].len());
        lines[line][at] = lines[line][at].wrapping_add(delta);
        let report = verify_entries(entries(&lines), &[key]);
        prop_assert!(!report.ok, "undetected change at line {} byte {}", line + 1, at);
    }
}
