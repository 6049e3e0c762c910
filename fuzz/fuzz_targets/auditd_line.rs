//! Arbitrary bytes as an auditd log: the reader must never panic, whatever
//! the records, serials, hex fields or line lengths.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use causaldefend_ingest::{auditd::AuditdReader, IngestSettings, LineReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut settings = IngestSettings::default();
    // Small bounds so that eviction and cut-off paths are reached too.
    settings.max_line_bytes = 4096;
    settings.auditd.max_inflight_events = 4;
    settings.auditd.max_processes = 8;
    settings.auditd.max_cached_entities = 8;
    settings.auditd.max_completed_ids = 8;
    settings.auditd.argv_limit_bytes = 64;
    let lines = LineReader::new(
        Box::new(std::io::Cursor::new(data.to_vec())),
        Arc::new(PathBuf::from("fuzz.log")),
        settings.max_line_bytes,
        "auditd",
    );
    for item in AuditdReader::new(lines, &settings) {
        let _ = item;
    }
});
