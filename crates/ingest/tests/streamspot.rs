//! StreamSpot parser: the real 8-column translation of the CDM13 trace, a
//! hand-written 6-column file with every letter, and bad input.

mod support {
    pub mod common;
}

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use causaldefend_ingest::streamspot::{self, StreamSpotReader};
use causaldefend_ingest::{Error, IngestSettings, InputFile, InputFormat, LineReader};
use event::{EdgeKind, EntityKind, Event, NativeId};
use support::common::testdata;

fn fixture(name: &str) -> PathBuf {
    testdata("streamspot", name)
}

fn parse(path: &Path) -> Vec<Result<Event, Error>> {
    let file = InputFile::probe(path).unwrap();
    streamspot::open(&file, &IngestSettings::default())
        .unwrap()
        .collect()
}

fn reader_over(bytes: &[u8]) -> Vec<Result<Event, String>> {
    let lines = LineReader::new(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        Arc::new(PathBuf::from("mem.tsv")),
        1 << 20,
        "streamspot",
    );
    StreamSpotReader::new(lines, &IngestSettings::default())
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

fn node(e: &event::Entity) -> String {
    let NativeId::StreamSpot { graph_id, node_id } = e.native else {
        panic!("not a StreamSpot id: {:?}", e.native)
    };
    format!("{}:{graph_id}/{node_id}", e.kind)
}

fn project(e: &Event) -> String {
    format!(
        "{} {} {} {} -> {}",
        e.seq,
        e.native_type,
        e.kind,
        node(&e.subject),
        node(&e.object)
    )
}

#[test]
fn cdm13_translation_counts_match_the_lines() {
    let path = fixture("streamspot-cdm13-infoleak.ss.gz");
    // Independent count: split each line on tabs, count the edge-type column.
    let raw = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(&path).unwrap(),
    ));
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let mut graphs = std::collections::BTreeSet::new();
    for l in raw.lines() {
        let l = l.unwrap();
        let cols: Vec<&str> = l.split('\t').collect();
        assert_eq!(cols.len(), 8);
        *expected.entry(cols[6].to_owned()).or_insert(0) += 1;
        graphs.insert(cols[7].parse::<u64>().unwrap());
    }
    let items = parse(&path);
    assert!(items.iter().all(Result::is_ok));
    let events: Vec<Event> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(events.len(), 968);
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        *got.entry(e.native_type.to_string()).or_insert(0) += 1;
    }
    assert_eq!(got, expected);
    let got_graphs: std::collections::BTreeSet<u64> = events
        .iter()
        .map(|e| match e.subject.native {
            NativeId::StreamSpot { graph_id, .. } => graph_id,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(got_graphs, graphs);
    // Same edge-type vocabulary as the CDM parser on the same trace.
    assert_eq!(got["EVENT_READ"], 428);
    let first = &events[0];
    assert_eq!(first.subject.kind, EntityKind::Process);
    assert_eq!(first.subject.pid, Some(28006));
    assert_eq!(first.subject.name.as_deref(), Some("auditd"));
    assert_eq!(first.object.kind, EntityKind::SrcSink);
    assert_eq!(
        first.object.name, None,
        "a name that repeats the id is dropped"
    );
    let file = events
        .iter()
        .find(|e| e.object.kind == EntityKind::File)
        .unwrap();
    assert_eq!(file.object.name.as_deref(), Some("/etc/login.defs"));
}

#[test]
fn time_is_line_order_and_monotonic() {
    let events: Vec<Event> = parse(&fixture("streamspot-cdm13-infoleak.ss.gz"))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(events.windows(2).all(|w| w[0].ts < w[1].ts));
    assert_eq!(events[0].ts.as_nanos(), 1_000_000);
    assert_eq!(events[9].ts.as_nanos(), 10_000_000);
}

#[test]
fn six_column_letters_snapshot() {
    let items = parse(&fixture("streamspot-all-letters.tsv"));
    let lines: Vec<String> = items.iter().map(|r| project(r.as_ref().unwrap())).collect();
    insta::assert_json_snapshot!("six_column_letters", lines);
}

#[test]
fn one_node_per_graph_and_id() {
    let text = b"1\ta\t2\tc\tv\t0\n1\ta\t2\tc\tG\t0\n1\ta\t2\tc\tv\t300\n";
    let out: Vec<Event> = reader_over(text).into_iter().map(Result::unwrap).collect();
    assert_eq!(out[0].object.id, out[1].object.id);
    assert_ne!(out[0].object.id, out[2].object.id);
    assert_eq!(out[1].kind, EdgeKind::Write);
}

#[test]
fn sniffing_recognises_both_layouts() {
    for f in [
        "streamspot-cdm13-infoleak.ss.gz",
        "streamspot-all-letters.tsv",
    ] {
        let file = InputFile::probe(&fixture(f)).unwrap();
        assert_eq!(InputFormat::detect(&file).unwrap(), InputFormat::StreamSpot);
    }
}

#[test]
fn bad_lines_name_file_line_and_field_and_the_stream_goes_on() {
    let text = concat!(
        "1\ta\t2\tc\tv\n",     // 1: five columns
        "x1\ta\t2\tc\tv\t0\n", // 2: non-numeric id
        "1\ta\t2\tq\tv\t0\n",  // 3: unknown node letter
        "1\ta\t2\tc\tQ\t0\n",  // 4: unknown edge letter
        "1\ta\t2\tc\tv\t-3\n", // 5: negative graph id
        "1\ta\t2\tc\tv\t0\n",  // 6: good
    );
    let out = reader_over(text.as_bytes());
    assert_eq!(out.len(), 6);
    let err = |i: usize| out[i].as_ref().unwrap_err().clone();
    assert!(
        err(0).starts_with("mem.tsv:1: field `columns`"),
        "{}",
        err(0)
    );
    assert!(
        err(1).starts_with("mem.tsv:2: field `source_id`"),
        "{}",
        err(1)
    );
    assert!(
        err(2).starts_with("mem.tsv:3: field `dest_type`"),
        "{}",
        err(2)
    );
    assert!(
        err(3).starts_with("mem.tsv:4: field `edge_type`"),
        "{}",
        err(3)
    );
    assert!(
        err(4).starts_with("mem.tsv:5: field `graph_id`"),
        "{}",
        err(4)
    );
    assert!(out[5].is_ok());
}

#[test]
fn empty_binary_and_truncated_inputs() {
    let out = reader_over(b"");
    assert_eq!(out.len(), 1);
    assert!(out[0].as_ref().unwrap_err().contains("empty input"));

    let out = reader_over(b"1\ta\t2\tc\tv\t0\n\x00\x00binary\n1\ta\t2\tc\tv\t0\n");
    assert_eq!(out.len(), 2);
    assert!(out[0].is_ok());
    assert!(out[1].as_ref().unwrap_err().contains("binary data"));

    let gz = std::fs::read(fixture("streamspot-cdm13-infoleak.ss.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.ss.gz");
    std::fs::write(&p, &gz[..gz.len() / 2]).unwrap();
    let items = parse(&p);
    let errors: Vec<_> = items.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), "decompress");
    assert!(errors[0].to_string().contains("cut.ss.gz"));
    assert!(items.len() > 1, "the lines before the damage still parse");
}

/// The ingest letters and the graph crate's export letters live in two
/// crates that may not depend on each other; both are tabled in
/// `docs/formats/streamspot.md`, and this checks the ingest side is there.
#[test]
fn every_table_row_is_in_the_format_doc() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/formats/streamspot.md"),
    )
    .unwrap();
    let doc = String::from_utf8(bytes).unwrap();
    for (t, k) in streamspot::NODE_TYPES {
        let row = format!("| `{t}` | {k} |");
        assert!(doc.contains(&row), "missing row {row}");
    }
    for (t, k) in streamspot::EDGE_LETTERS {
        let row = format!("| `{t}` | {k} |");
        assert!(doc.contains(&row), "missing row {row}");
    }
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = reader_over(&bytes);
        }

        #[test]
        fn tab_separated_noise(cols in proptest::collection::vec("[0-9a-zA-Z_\\-]{0,6}", 0..10)) {
            let _ = reader_over(cols.join("\t").as_bytes());
        }
    }
}
