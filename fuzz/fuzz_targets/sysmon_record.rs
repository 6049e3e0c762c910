//! Arbitrary bytes as Windows JSON lines (OTRF, Winlogbeat, Azure, evtx_dump
//! layouts): the reader must never panic, and every error must say where it
//! happened (the file, and a line within the input).
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use causaldefend_ingest::sysmon::WinEventReader;
use causaldefend_ingest::{Error, IngestSettings, LineReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 64 * 1024 {
        return;
    }
    let mut settings = IngestSettings::default();
    // Small bounds so that the cut-off and eviction paths are reached too.
    settings.max_line_bytes = 4096;
    settings.sysmon.max_cached_entities = 4;
    let lines = LineReader::new(
        Box::new(std::io::Cursor::new(data.to_vec())),
        Arc::new(PathBuf::from("fuzz.jsonl")),
        settings.max_line_bytes,
        "sysmon-json",
    );
    let n_lines = u64::try_from(data.split(|b| *b == b'\n').count()).unwrap_or(u64::MAX);
    for item in WinEventReader::from_json_lines(lines, &settings) {
        if let Err(e) = item {
            assert!(e.to_string().contains("fuzz.jsonl"), "{e}");
            if let Error::Malformed { line, .. } | Error::Json { line, .. } = e {
                assert!(line >= 1 && line <= n_lines, "line {line} of {n_lines}");
            }
        }
    }
});
