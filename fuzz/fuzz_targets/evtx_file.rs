//! Arbitrary bytes as an EVTX file through our EVTX reader (the `evtx` crate
//! plus our chunk, truncation and record handling): never a panic, and every
//! error names the file. Inputs that do not start with the file magic are
//! given it, so that the fuzzer spends its time past the header check.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use causaldefend_ingest::sysmon::WinEventReader;
use causaldefend_ingest::IngestSettings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A header plus a few chunks: large enough for multi-chunk paths.
    if data.len() > 4096 + 4 * 65_536 {
        return;
    }
    let mut bytes = data.to_vec();
    if !bytes.starts_with(b"ElfFile\0") {
        let mut with_magic = b"ElfFile\0".to_vec();
        with_magic.extend_from_slice(&bytes);
        bytes = with_magic;
    }
    let mut settings = IngestSettings::default();
    settings.sysmon.max_cached_entities = 4;
    let path = Arc::new(PathBuf::from("fuzz.evtx"));
    let Ok(reader) = WinEventReader::from_evtx_bytes(path, bytes, &settings) else {
        return;
    };
    for item in reader {
        if let Err(e) = item {
            assert!(e.to_string().contains("fuzz.evtx"), "{e}");
        }
    }
});
