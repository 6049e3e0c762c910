//! Helpers shared by the ingest test files; each test binary uses a subset.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use causaldefend_ingest::Error;
use event::Event;

/// `testdata/<format>/<name>` of this crate.
pub fn testdata(format: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(format)
        .join(name)
}

/// Events and errors of a parse, apart.
pub fn split(items: Vec<Result<Event, Error>>) -> (Vec<Event>, Vec<Error>) {
    let mut ok = Vec::new();
    let mut err = Vec::new();
    for i in items {
        match i {
            Ok(e) => ok.push(e),
            Err(e) => err.push(e),
        }
    }
    (ok, err)
}

/// Errors counted by kind.
pub fn error_kinds(errors: &[Error]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for e in errors {
        *m.entry(e.kind()).or_default() += 1;
    }
    m
}

/// A file written into a temp dir (kept alive by the dir).
pub fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
