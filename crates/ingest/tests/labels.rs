//! Ground-truth loaders and the lookup used by evaluation.

mod support {
    pub mod common;
}

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use causaldefend_ingest::labels::{
    read_auditd_truth, FileLabels, GraphLabels, GroundTruth, LabelOrigin, NodeLabels,
};
use event::{Entity, EntityKind, NativeId, Timestamp};
use support::common::{temp_file, testdata};

fn fixture(name: &str) -> PathBuf {
    testdata("labels", name)
}

/// Independent count: data lines of a gzip CSV and distinct first columns
/// (upper-cased). Quoted commas only occur after the first column.
fn count_csv(path: &Path) -> (usize, BTreeSet<String>) {
    let r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(path).unwrap(),
    ));
    let mut rows = 0;
    let mut ids = BTreeSet::new();
    let mut in_quotes = false;
    for (i, l) in r.lines().enumerate() {
        let l = l.unwrap();
        if i == 0 {
            continue;
        }
        // A quoted field with a newline continues the previous record.
        if !in_quotes {
            rows += 1;
            ids.insert(l.split(',').next().unwrap().to_ascii_uppercase());
        }
        if l.matches('"').count() % 2 == 1 {
            in_quotes = !in_quotes;
        }
    }
    (rows, ids)
}

#[test]
fn darpa_optc_atlas_tables_load_with_exact_counts() {
    for (file, dataset, rows) in [
        ("darpa-tc-labels.csv.gz", "darpa", 2527),
        ("optc-labels.csv.gz", "optc", 3768),
        ("atlasv2-labels.csv.gz", "atlasv2", 1575),
    ] {
        let path = fixture(file);
        let (expected_rows, ids) = count_csv(&path);
        assert_eq!(expected_rows, rows, "{file}");
        let mut labels = NodeLabels::new();
        let report = labels.read_labels_csv(&path, dataset).unwrap();
        assert!(report.errors.is_empty(), "{file}: {:?}", report.errors);
        assert_eq!(report.rows as usize, rows, "{file}");
        assert_eq!(labels.len(), ids.len(), "{file}");
        for id in &ids {
            assert!(labels.is_malicious_id(id), "{file}: {id}");
        }
    }
}

#[test]
fn darpa_rows_keep_dataset_host_attack_source() {
    let mut labels = NodeLabels::new();
    labels
        .read_labels_csv(&fixture("darpa-tc-labels.csv.gz"), "darpa")
        .unwrap();
    let l = labels.get("674d8313-390a-11e8-bf66-d9aa8aff4a69");
    let orthrus = l
        .iter()
        .find(|x| &*x.source == "PIDSMaker/orthrus")
        .unwrap();
    assert_eq!(
        (&*orthrus.dataset, &*orthrus.host, &*orthrus.attack),
        ("E3", "cadets", "Nginx_Backdoor_06")
    );
    assert_eq!(orthrus.node_kind.as_deref(), Some("subject"));
    assert_eq!(orthrus.node_name.as_deref(), Some("None nginx"));
}

#[test]
fn raw_pidsmaker_lists_agree_with_the_table() {
    let mut raw = NodeLabels::new();
    for src in ["orthrus", "reapr"] {
        let p = fixture(&format!("{src}/E3-CADETS/node_Nginx_Backdoor_06.csv"));
        let origin = LabelOrigin::from_pidsmaker_path(&p).unwrap();
        let report = raw.read_pidsmaker_nodes(&p, &origin).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    let mut table = NodeLabels::new();
    table
        .read_labels_csv(&fixture("darpa-tc-labels.csv.gz"), "darpa")
        .unwrap();
    let l = raw.get("674D8313-390A-11E8-BF66-D9AA8AFF4A69");
    assert!(!l.is_empty());
    for label in l {
        assert!(
            table
                .get("674D8313-390A-11E8-BF66-D9AA8AFF4A69")
                .contains(label),
            "{label:?}"
        );
    }
    assert_eq!(raw.len(), distinct_ids_06());
}

/// Distinct UUIDs of the orthrus and reapr lists of Nginx_Backdoor_06,
/// counted by reading the two files as plain text.
fn distinct_ids_06() -> usize {
    let ids = |src: &str| -> BTreeSet<String> {
        let text = std::fs::read(fixture(&format!(
            "{src}/E3-CADETS/node_Nginx_Backdoor_06.csv"
        )))
        .unwrap();
        String::from_utf8(text)
            .unwrap()
            .lines()
            .map(|l| l.split(',').next().unwrap().to_owned())
            .collect()
    };
    ids("orthrus").union(&ids("reapr")).count()
}

#[test]
fn threatrace_list_deduplicates() {
    let p = fixture("threatrace-e3/fivedirections.txt.gz");
    let origin = LabelOrigin {
        dataset: "E3".into(),
        host: "fivedirections".into(),
        attack: "".into(),
        source: "threaTrace".into(),
    };
    let mut labels = NodeLabels::new();
    let report = labels.read_uuid_list(&p, &origin).unwrap();
    assert!(report.errors.is_empty());
    // The dataset README: 18,420 lines, 762 unique UUIDs.
    assert_eq!(report.rows, 18_420);
    assert_eq!(labels.len(), 762);
}

#[test]
fn streamspot_graph_labels() {
    let mut g = GraphLabels::default();
    let report = g.read_csv(&fixture("streamspot-labels.csv")).unwrap();
    assert!(report.errors.is_empty());
    assert_eq!(g.len(), 600);
    let attacks = (0..600).filter(|i| g.get(*i).unwrap().malicious).count();
    assert_eq!(attacks, 100);
    assert_eq!(&*g.get(300).unwrap().scenario, "drive-by-download");
    assert!(!g.get(299).unwrap().malicious);
}

#[test]
fn auditd_truth_loads_pids_and_roots() {
    let t = read_auditd_truth(&fixture("auditd-t1027-truth.json")).unwrap();
    assert_eq!(t.scenario, "attack");
    assert_eq!(t.roots.len(), 1);
    assert_eq!(t.roots[0].technique, "T1027");
    assert_eq!(t.roots[0].root_pid, 14094);
    assert_eq!(t.malicious_pids, (14094..=14100).collect::<BTreeSet<u32>>());
    let b = read_auditd_truth(&fixture("auditd-benign-truth.json")).unwrap();
    assert!(b.malicious_pids.is_empty() && b.roots.is_empty());
}

#[test]
fn lookup_answers_per_native_identity() {
    let mut truth = GroundTruth::default();
    truth
        .nodes
        .read_labels_csv(&fixture("darpa-tc-labels.csv.gz"), "darpa")
        .unwrap();
    truth
        .graphs
        .read_csv(&fixture("streamspot-labels.csv"))
        .unwrap();
    truth.auditd = Some(read_auditd_truth(&fixture("auditd-t1027-truth.json")).unwrap());

    let cdm = |uuid: &str| {
        Entity::new(
            EntityKind::Process,
            NativeId::CdmUuid { uuid: uuid.into() },
            None,
        )
    };
    assert!(truth.is_malicious(&cdm("674D8313-390A-11E8-BF66-D9AA8AFF4A69")));
    assert!(!truth.is_malicious(&cdm("12345678-0000-0000-0000-000000000000")));
    // A quirk of the data: E5 THEIA lists the nil UUID (`swapper/0`) as malicious.
    assert!(truth.is_malicious(&cdm("00000000-0000-0000-0000-000000000000")));

    let ss = |graph_id| {
        Entity::new(
            EntityKind::File,
            NativeId::StreamSpot {
                graph_id,
                node_id: 3,
            },
            None,
        )
    };
    assert!(truth.is_malicious(&ss(350)));
    assert!(!truth.is_malicious(&ss(50)));
    assert!(!truth.is_malicious(&ss(9999)));

    let proc_at = |pid, secs: i64| {
        Entity::new(
            EntityKind::Process,
            NativeId::AuditdProcess {
                pid,
                start: Timestamp::from_secs_nanos(secs, 0).unwrap(),
            },
            None,
        )
    };
    assert!(truth.is_malicious(&proc_at(14095, 1_795_508_274)));
    assert!(!truth.is_malicious(&proc_at(14000, 1_795_508_274)));
    // Same pid, a day later: another recording's process.
    assert!(!truth.is_malicious(&proc_at(14095, 1_795_594_674)));
}

#[test]
fn bad_label_rows_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "labels.csv",
        "node_uuid,engagement,host,attack,node_kind,node_name,label,source\n\
         AAAAAAAA-0000-0000-0000-000000000001,E3,cadets,a,subject,x,malicious,s\n\
         AAAAAAAA-0000-0000-0000-000000000002,E3,cadets,a,subject,x,maybe,s\n\
         AAAAAAAA-0000-0000-0000-000000000003,E3,cadets\n\
         AAAAAAAA-0000-0000-0000-000000000004,E3,cadets,a,file,y,malicious,s\n",
    );
    let mut labels = NodeLabels::new();
    let report = labels.read_labels_csv(&p, "darpa").unwrap();
    assert_eq!(report.rows, 2);
    let msgs: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].contains("labels.csv:3: field `label`"),
        "{}",
        msgs[0]
    );
    assert!(
        msgs[1].contains("labels.csv:4: field `columns`"),
        "{}",
        msgs[1]
    );

    let g = temp_file(
        &dir,
        "ss.csv",
        "graph_id,scenario,label\n1,youtube,benign\nx,cnn,benign\n2,cnn,hostile\n3,cnn,attack\n",
    );
    let mut graphs = GraphLabels::default();
    let report = graphs.read_csv(&g).unwrap();
    assert_eq!(report.rows, 2);
    let msgs: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert!(
        msgs[0].contains("ss.csv:3: field `graph_id`"),
        "{}",
        msgs[0]
    );
    assert!(msgs[1].contains("ss.csv:4: field `label`"), "{}", msgs[1]);

    let bad_header = temp_file(&dir, "h.csv", "id,label\n1,benign\n");
    let e = labels.read_labels_csv(&bad_header, "x").unwrap_err();
    assert!(e.to_string().contains("h.csv:1: field `header`"), "{e}");

    let list = temp_file(
        &dir,
        "list.txt",
        "AAAAAAAA-0000-0000-0000-000000000001\nnot-a-uuid\n\nAAAAAAAA-0000-0000-0000-000000000005\n",
    );
    let origin = LabelOrigin {
        dataset: "E3".into(),
        host: "h".into(),
        attack: "".into(),
        source: "t".into(),
    };
    let report = labels.read_uuid_list(&list, &origin).unwrap();
    assert_eq!(report.rows, 2);
    assert!(report.errors[0]
        .to_string()
        .contains("list.txt:2: field `uuid`"));

    let nodes = temp_file(
        &dir,
        "node_x.csv",
        "AAAAAAAA-0000-0000-0000-000000000001,{'file': '/tmp/a'},1\nAAAAAAAA-0000-0000-0000-000000000002,nonsense,2\n",
    );
    let report = labels.read_pidsmaker_nodes(&nodes, &origin).unwrap();
    assert_eq!(report.rows, 1);
    assert!(report.errors[0]
        .to_string()
        .contains("node_x.csv:2: field `node`"));
}

#[test]
fn bad_truth_json_names_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "truth.json",
        "{\n \"scenario\": \"attack\",\n \"started\": 1.0,\n \"ended\": 2.0,\n \"malicious_roots\": [],\n \"malicious_pids\": [1, \"two\"]\n}\n",
    );
    let e = read_auditd_truth(&p).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:6: field `malicious_pids`", p.display())),
        "{e}"
    );
    let p = temp_file(&dir, "broken.json", "{\n \"scenario\": \n");
    let e = read_auditd_truth(&p).unwrap_err();
    assert_eq!(e.kind(), "invalid_json");
    let p = temp_file(&dir, "missing.json", "{\"scenario\": \"benign\"}");
    let e = read_auditd_truth(&p).unwrap_err();
    assert!(e.to_string().contains("field `started`"), "{e}");
}

#[test]
fn truncated_gzip_label_table_reports_an_error() {
    let bytes = std::fs::read(fixture("darpa-tc-labels.csv.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.csv.gz");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let mut labels = NodeLabels::new();
    let report = labels.read_labels_csv(&p, "darpa").unwrap();
    assert!(report.rows > 100);
    assert!(!report.errors.is_empty());
}

#[test]
fn file_labels_by_path_and_bad_rows_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "labels.csv",
        "path,format,label,techniques\n\
         attack/evtx/a.evtx.gz,evtx,attack,T1078\n\
         benign/evtx/b.evtx.gz,evtx,benign,\n\
         benign/evtx/c.evtx.gz,evtx,maybe,\n",
    );
    let mut l = FileLabels::default();
    let report = l.read_csv(&p).unwrap();
    assert_eq!(report.rows, 2);
    assert_eq!(l.len(), 2);
    assert_eq!(l.is_attack("attack/evtx/a.evtx.gz"), Some(true));
    assert_eq!(l.is_attack("benign/evtx/b.evtx.gz"), Some(false));
    assert_eq!(l.is_attack("benign/evtx/c.evtx.gz"), None);
    assert_eq!(report.errors.len(), 1);
    let e = report.errors[0].to_string();
    assert!(
        e.contains(":4") && e.contains("label") && e.contains("maybe"),
        "{e}"
    );
    // A table without a `label` column is refused by name.
    let q = temp_file(&dir, "nolabel.csv", "path,format\nx,evtx\n");
    let err = FileLabels::default().read_csv(&q).unwrap_err().to_string();
    assert!(err.contains("label"), "{err}");
}
