//! Arbitrary bytes as a CDM JSON file: the reader must never panic, whatever
//! the JSON, the union encoding, the UUID shapes or the CDM13 edge order.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use causaldefend_ingest::{cdm::CdmReader, IngestSettings, LineReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut settings = IngestSettings::default();
    // Small bounds so that eviction paths are reached too.
    settings.max_line_bytes = 4096;
    settings.cdm.max_entities = 4;
    let lines = LineReader::new(
        Box::new(std::io::Cursor::new(data.to_vec())),
        Arc::new(PathBuf::from("fuzz.json")),
        settings.max_line_bytes,
        "darpa_tc",
    );
    for item in CdmReader::new(lines, &settings) {
        let _ = item;
    }
});
