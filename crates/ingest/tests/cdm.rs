//! DARPA TC CDM parser: the real CDM13 trace, hand-written CDM18/20 fixtures,
//! and bad input.

mod support {
    pub mod common;
}

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use causaldefend_ingest::cdm::{self, CdmReader};
use causaldefend_ingest::{Error, IngestSettings, InputFile, InputFormat, LineReader};
use event::{EdgeKind, EntityKind, Event};
use support::common::{split, testdata};

fn fixture(name: &str) -> PathBuf {
    testdata("cdm", name)
}

fn parse(path: &Path) -> Vec<Result<Event, Error>> {
    let file = InputFile::probe(path).unwrap();
    cdm::open(&file, &IngestSettings::default())
        .unwrap()
        .collect()
}

fn reader_over(bytes: Vec<u8>) -> CdmReader {
    let lines = LineReader::new(
        Box::new(std::io::Cursor::new(bytes)),
        Arc::new(PathBuf::from("mem.json")),
        1 << 20,
        "darpa_tc",
    );
    CdmReader::new(lines, &IngestSettings::default())
}

fn gz_lines(path: &Path) -> Vec<String> {
    let r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(path).unwrap(),
    ));
    r.lines().map(Result::unwrap).collect()
}

fn label(e: &event::Entity) -> String {
    let pid = e.pid.map(|p| format!("#{p}")).unwrap_or_default();
    format!("{}:{}{pid}", e.kind, e.name.as_deref().unwrap_or("-"))
}

/// The compact projection used in snapshots: one line per edge.
fn project(e: &Event) -> String {
    format!(
        "{} {} {} {} -> {}",
        e.seq,
        e.native_type,
        e.kind,
        label(&e.subject),
        label(&e.object)
    )
}

/// An independent count of the CDM13 trace: for each event (by its type),
/// the number of `SimpleEdge`s that link it to an object (everything but
/// `EDGE_EVENT_ISGENERATEDBY_SUBJECT`). Shares no code with the parser.
fn count_cdm13(lines: &[String]) -> (BTreeMap<String, usize>, usize) {
    let mut by_type = BTreeMap::new();
    let mut nodes = 0;
    let mut last_type = String::new();
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let (key, body) = v["datum"].as_object().unwrap().iter().next().unwrap();
        let record = key.rsplit('.').next().unwrap();
        match record {
            "Event" => last_type = body["type"].as_str().unwrap().to_owned(),
            "SimpleEdge" => {
                let t = body["type"].as_str().unwrap();
                let links_object = (t.starts_with("EDGE_EVENT_AFFECTS_")
                    || t.ends_with("_AFFECTS_EVENT"))
                    && t != "EDGE_EVENT_ISGENERATEDBY_SUBJECT";
                if links_object {
                    *by_type.entry(last_type.clone()).or_insert(0) += 1;
                }
            }
            _ => nodes += 1,
        }
    }
    (by_type, nodes)
}

#[test]
fn cdm13_trace_counts_match_an_independent_count() {
    let path = fixture("cdm13-infoleak.json.gz");
    let lines = gz_lines(&path);
    assert_eq!(lines.len(), 3764);
    let (expected, nodes) = count_cdm13(&lines);
    let mut reader = reader_over(lines.join("\n").into_bytes());
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(e) => *got.entry(e.native_type.to_string()).or_insert(0) += 1,
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(got, expected);
    assert_eq!(got.values().sum::<usize>(), 988);
    let stats = reader.stats();
    assert_eq!(stats.nodes as usize, nodes);
    assert_eq!(stats.nodes, 324 + 112 + 112 + 82 + 9);
    assert_eq!(stats.events, 968);
    assert_eq!(stats.unknown_uuids, 0);
}

#[test]
fn cdm13_trace_has_the_expected_shapes() {
    let (events, errors) = split(parse(&fixture("cdm13-infoleak.json.gz")));
    assert!(errors.is_empty());
    let forks: Vec<_> = events.iter().filter(|e| e.kind == EdgeKind::Fork).collect();
    assert_eq!(forks.len(), 4);
    for f in &forks {
        assert_eq!(f.subject.kind, EntityKind::Process);
        assert_eq!(f.object.kind, EntityKind::Process);
        assert_eq!(f.object.ppid, f.subject.pid, "fork goes parent -> child");
    }
    // Every rename gives two edges: the old name first, then the new.
    let renames: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EdgeKind::Rename)
        .collect();
    assert_eq!(renames.len(), 10);
    assert!(renames[1].object.name.as_deref().unwrap().ends_with('~'));
    assert!(!renames[0].object.name.as_deref().unwrap().ends_with('~'));
    // Reads are stored actor-first; the direction of data is a property of the kind.
    let read = events.iter().find(|e| e.kind == EdgeKind::Read).unwrap();
    assert_eq!(read.subject.kind, EntityKind::Process);
    assert!(read.kind.flows_to_subject());
    // Times are microseconds, turned into nanoseconds.
    assert_eq!(read.ts.as_nanos(), 1_450_217_860_699_000_000);
}

#[test]
fn cdm13_excerpt_edges_snapshot() {
    let (events, errors) = split(parse(&fixture("cdm13-infoleak-head.json.gz")));
    assert!(errors.is_empty(), "{errors:?}");
    let lines: Vec<String> = events.iter().map(project).collect();
    insta::assert_json_snapshot!("cdm13_excerpt_edges", lines);
}

#[test]
fn cdm18_fixture_edges_snapshot() {
    let (events, errors) = split(parse(&fixture("cdm18-handwritten.json")));
    assert!(errors.is_empty(), "{errors:?}");
    let lines: Vec<String> = events.iter().map(project).collect();
    insta::assert_json_snapshot!("cdm18_fixture_edges", lines);
}

#[test]
fn cdm20_fixture_edges_snapshot() {
    let (events, errors) = split(parse(&fixture("cdm20-handwritten.json")));
    assert!(errors.is_empty(), "{errors:?}");
    let lines: Vec<String> = events.iter().map(project).collect();
    insta::assert_json_snapshot!("cdm20_fixture_edges", lines);
}

#[test]
fn cdm18_entities_carry_their_attributes() {
    let (events, _) = split(parse(&fixture("cdm18-handwritten.json")));
    let fork = &events[0];
    assert_eq!(fork.kind, EdgeKind::Fork);
    assert_eq!(fork.subject.pid, Some(1200));
    assert_eq!(fork.subject.cmdline.as_deref(), Some("/bin/bash -i"));
    assert_eq!(fork.subject.name.as_deref(), Some("bash"));
    assert_eq!(
        fork.ts.as_nanos(),
        1_523_000_001_000_001_000,
        "timestampNanos"
    );
    assert_eq!(fork.seq, 1);
    let connect = events
        .iter()
        .find(|e| e.kind == EdgeKind::Connect && e.object.kind == EntityKind::Socket)
        .unwrap();
    assert_eq!(
        connect.object.remote_addr.as_deref(),
        Some("81.49.200.166:443")
    );
    // The same UUID is the same node in every edge.
    let file_ids: std::collections::BTreeSet<_> = events
        .iter()
        .filter(|e| e.object.name.as_deref() == Some("/tmp/payload"))
        .map(|e| e.object.id)
        .collect();
    assert_eq!(file_ids.len(), 1);
}

#[test]
fn sniffing_recognises_all_three_versions() {
    for f in [
        "cdm13-infoleak.json.gz",
        "cdm18-handwritten.json",
        "cdm20-handwritten.json",
    ] {
        let file = InputFile::probe(&fixture(f)).unwrap();
        assert_eq!(
            InputFormat::detect(&file).unwrap(),
            InputFormat::DarpaTc,
            "{f}"
        );
    }
}

const GOOD_EVENT: &str = r#"{"datum":{"com.bbn.tc.schema.avro.cdm18.Event":{"uuid":"00000000-0000-0000-0000-000000000001","type":"EVENT_WRITE","subject":{"com.bbn.tc.schema.avro.cdm18.UUID":"00000000-0000-0000-0000-0000000000AA"},"predicateObject":{"com.bbn.tc.schema.avro.cdm18.UUID":"00000000-0000-0000-0000-0000000000BB"},"timestampNanos":7}},"CDMVersion":"18"}"#;

#[test]
fn bad_records_name_file_line_and_field_and_the_stream_goes_on() {
    let bad = [
        // 1: malformed JSON
        r#"{"datum":{"com.bbn.tc.schema.avro.cdm18.Event":"#.to_owned(),
        // 2: wrong union encoding: a bare string where {"string": ...} is declared
        r#"{"datum":{"com.bbn.tc.schema.avro.cdm18.Subject":{"uuid":"00000000-0000-0000-0000-0000000000AA","type":"SUBJECT_PROCESS","cid":5,"cmdLine":"/bin/sh"}},"CDMVersion":"18"}"#.to_owned(),
        // 3: unknown record type
        r#"{"datum":{"com.bbn.tc.schema.avro.cdm18.Teleporter":{"uuid":"00000000-0000-0000-0000-0000000000AA"}},"CDMVersion":"18"}"#.to_owned(),
        // 4: missing required field
        r#"{"datum":{"com.bbn.tc.schema.avro.cdm18.Event":{"uuid":"00000000-0000-0000-0000-000000000002","type":"EVENT_READ","subject":{"com.bbn.tc.schema.avro.cdm18.UUID":"00000000-0000-0000-0000-0000000000AA"}}},"CDMVersion":"18"}"#.to_owned(),
        // 5: a UUID that is not one
        r#"{"datum":{"com.bbn.tc.schema.avro.cdm18.FileObject":{"uuid":"not-a-uuid","type":"FILE_OBJECT_FILE"}},"CDMVersion":"18"}"#.to_owned(),
        // 6: good, naming UUIDs never declared
        GOOD_EVENT.to_owned(),
    ];
    let out: Vec<_> = reader_over(bad.join("\n").into_bytes()).collect();
    assert_eq!(out.len(), 6, "{out:?}");
    let msg = |i: usize| out[i].as_ref().unwrap_err().to_string();
    assert!(msg(0).starts_with("mem.json:1: invalid JSON"), "{}", msg(0));
    assert!(
        msg(1).starts_with("mem.json:2: field `datum.Subject.cmdLine`"),
        "{}",
        msg(1)
    );
    assert!(
        msg(2).starts_with("mem.json:3: field `datum`"),
        "{}",
        msg(2)
    );
    assert!(msg(2).contains("Teleporter"));
    assert!(
        msg(3).starts_with("mem.json:4: field `datum.Event.timestampNanos`"),
        "{}",
        msg(3)
    );
    assert!(
        msg(4).starts_with("mem.json:5: field `datum.FileObject.uuid`"),
        "{}",
        msg(4)
    );
    let e = out[5].as_ref().unwrap();
    assert_eq!(e.subject.kind, EntityKind::Unknown);
    assert_eq!(e.object.kind, EntityKind::Unknown);
    assert_eq!(
        e.object.native,
        event::NativeId::CdmUuid {
            uuid: "00000000-0000-0000-0000-0000000000BB".into()
        }
    );
}

#[test]
fn unknown_uuid_is_the_same_node_each_time() {
    let text = [GOOD_EVENT, GOOD_EVENT].join("\n");
    let out: Vec<_> = reader_over(text.into_bytes()).map(Result::unwrap).collect();
    assert_eq!(out[0].object.id, out[1].object.id);
}

#[test]
fn cdm13_edge_for_another_event_is_an_error() {
    let lines = gz_lines(&fixture("cdm13-infoleak-head.json.gz"));
    // Drop the first Event record: its SimpleEdges now name no pending event.
    let first_event = lines.iter().position(|l| l.contains(".Event\"")).unwrap();
    let mut kept = lines.clone();
    kept.remove(first_event);
    let out: Vec<_> = reader_over(kept.join("\n").into_bytes()).collect();
    let errors: Vec<String> = out
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(!errors.is_empty());
    assert!(
        errors[0].contains("field `datum.SimpleEdge.fromUuid`"),
        "{errors:?}"
    );
    assert!(out.iter().any(Result::is_ok), "later events still parse");
}

#[test]
fn truncated_gzip_ends_the_file_after_the_good_records() {
    let text = gz_lines(&fixture("cdm13-infoleak.json.gz")).join("\n");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.json.gz");
    std::fs::write(&p, &gz[..gz.len() * 2 / 3]).unwrap();
    let (events, errors) = split(parse(&p));
    assert!(events.len() > 100);
    // The damage itself, plus at most the CDM13 event cut off from its edges.
    let decompress: Vec<_> = errors.iter().filter(|e| e.kind() == "decompress").collect();
    assert_eq!(decompress.len(), 1, "{errors:?}");
    assert!(decompress[0].to_string().contains("cut.json.gz"));
    assert!(errors.len() <= 2, "{errors:?}");
}

#[test]
fn empty_and_binary_files_are_file_level_errors() {
    let out: Vec<_> = reader_over(Vec::new()).collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].as_ref().unwrap_err().kind(), "empty_input");
    let mut bin = GOOD_EVENT.as_bytes().to_vec();
    bin.extend_from_slice(b"\n\x00\x01\x02garbage\n");
    bin.extend_from_slice(GOOD_EVENT.as_bytes());
    let out: Vec<_> = reader_over(bin).collect();
    assert_eq!(out.len(), 2);
    assert!(out[0].is_ok());
    assert_eq!(out[1].as_ref().unwrap_err().kind(), "binary_input");
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            for _ in reader_over(bytes) {}
        }

        #[test]
        fn mutated_records(cut in 0usize..400, byte in any::<u8>()) {
            let mut b = GOOD_EVENT.as_bytes().to_vec();
            let at = cut % b.len();
            b[at] = byte;
            for _ in reader_over(b) {}
        }
    }
}

#[test]
fn every_table_row_is_in_the_format_doc() {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/formats/cdm.md"))
            .unwrap();
    let doc = String::from_utf8(bytes).unwrap();
    for (t, k) in cdm::EVENT_KINDS {
        let row = format!("| `{t}` | {k} |");
        assert!(doc.contains(&row), "missing row {row}");
    }
    for (t, k) in cdm::FILE_TYPE_KINDS {
        let row = format!("| `{t}` | {k} |");
        assert!(doc.contains(&row), "missing row {row}");
    }
    for (t, k) in cdm::RECORD_KINDS {
        let what = match k {
            cdm::RecordKind::Node(kind) => format!("node: {kind}"),
            cdm::RecordKind::Event => "edge(s)".into(),
            cdm::RecordKind::SimpleEdge => "links a CDM13 event".into(),
            cdm::RecordKind::Ignored => "ignored".into(),
        };
        let row = format!("| `{t}` | {what} |");
        assert!(doc.contains(&row), "missing row {row}");
    }
}
