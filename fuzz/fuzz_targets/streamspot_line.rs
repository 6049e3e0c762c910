//! Arbitrary bytes as a StreamSpot edge list: the reader must never panic,
//! whatever the column count, ids or type letters.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use causaldefend_ingest::{streamspot::StreamSpotReader, IngestSettings, LineReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut settings = IngestSettings::default();
    settings.max_line_bytes = 4096;
    settings.streamspot.nanos_per_line = u64::MAX / 2;
    let lines = LineReader::new(
        Box::new(std::io::Cursor::new(data.to_vec())),
        Arc::new(PathBuf::from("fuzz.tsv")),
        settings.max_line_bytes,
        "streamspot",
    );
    for item in StreamSpotReader::new(lines, &settings) {
        let _ = item;
    }
});
