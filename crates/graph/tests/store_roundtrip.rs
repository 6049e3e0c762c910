//! Round trip of the on-disk format: whatever windows go in come back equal,
//! whatever the entities' attributes (including non-ASCII and empty strings).

#![allow(clippy::disallowed_methods)] // tests read small fixtures whole

use std::sync::Arc;

use causaldefend_graph::{EdgeRow, GraphReader, GraphWindow, GraphWriter, Summary, WindowSettings};
use event::{EdgeKind, Entity, EntityKind, NativeId, Timestamp};
use proptest::prelude::*;

fn native() -> impl Strategy<Value = NativeId> {
    prop_oneof![
        (any::<u32>(), any::<i64>()).prop_map(|(pid, s)| NativeId::AuditdProcess {
            pid,
            start: Timestamp::from_nanos(s)
        }),
        ("\\{[0-9A-F-]{8,36}\\}", proptest::option::of(any::<u32>())).prop_map(|(g, pid)| {
            NativeId::SysmonProcess {
                process_guid: g,
                pid,
            }
        }),
        "[0-9A-F-]{36}".prop_map(|uuid| NativeId::CdmUuid { uuid }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(graph_id, node_id)| NativeId::StreamSpot { graph_id, node_id }),
        ".{0,40}".prop_map(|name| NativeId::Name { name }),
    ]
}

fn entity() -> impl Strategy<Value = Entity> {
    (
        0usize..EntityKind::ALL.len(),
        native(),
        proptest::option::of("[a-z.]{0,12}"),
        proptest::option::of(".{0,30}"),
        proptest::option::of(".{0,60}"),
        proptest::option::of(any::<u32>()),
        proptest::option::of("[0-9]{1,5}"),
    )
        .prop_map(|(k, native, host, name, cmdline, ppid, user)| {
            let kind = EntityKind::ALL[k];
            let mut e = Entity::new(kind, native.clone(), host.map(Arc::from));
            e.name = name.map(Arc::from);
            e.cmdline = cmdline.map(Arc::from);
            e.ppid = ppid;
            e.user = user.map(Arc::from);
            // The store keeps pid and start in their own columns; the auditd
            // native identity is rebuilt from them, so they must agree.
            match native {
                NativeId::AuditdProcess { pid, start } => {
                    e.pid = Some(pid);
                    e.start = Some(start);
                }
                NativeId::SysmonProcess { pid, .. } => e.pid = pid,
                _ => {}
            }
            e
        })
}

fn window(id: u32) -> impl Strategy<Value = GraphWindow> {
    proptest::collection::vec(entity(), 1..8).prop_flat_map(move |mut nodes| {
        nodes.sort_by_key(|n| n.id);
        nodes.dedup_by_key(|n| n.id);
        let n = nodes.len();
        let nodes: Vec<Arc<Entity>> = nodes.into_iter().map(Arc::new).collect();
        let edges = proptest::collection::vec(
            (
                0..n,
                0..n,
                0..EdgeKind::ALL.len(),
                any::<i64>(),
                "[a-z_0-9]{1,12}",
                any::<u64>(),
            ),
            0..20,
        );
        (Just(nodes), edges).prop_map(move |(nodes, edges)| GraphWindow {
            id,
            start: Timestamp::from_nanos(0),
            end: Timestamp::from_nanos(10),
            edges: edges
                .into_iter()
                .map(|(s, d, k, ts, nt, seq)| EdgeRow {
                    ts: Timestamp::from_nanos(ts),
                    kind: EdgeKind::ALL[k],
                    src: nodes[s].id,
                    dst: nodes[d].id,
                    native_type: Arc::from(nt.as_str()),
                    seq,
                })
                .collect(),
            nodes,
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn windows_survive_the_disk(a in window(0), b in window(1)) {
        let dir = tempfile::tempdir().unwrap();
        let mut w = GraphWriter::create(dir.path()).unwrap();
        w.write_window(&a).unwrap();
        w.write_window(&b).unwrap();
        let manifest = w.finish(vec!["x".into()], "auditd", WindowSettings::default(), Summary::default()).unwrap();
        prop_assert_eq!(manifest.windows.len(), 2);
        let mut r = GraphReader::open(dir.path()).unwrap();
        prop_assert_eq!(r.window(1).unwrap(), b);
        prop_assert_eq!(r.window(0).unwrap(), a);
        prop_assert!(r.window(2).is_err());
    }
}

#[test]
fn refuses_another_format_version() {
    let dir = tempfile::tempdir().unwrap();
    let w = GraphWriter::create(dir.path()).unwrap();
    w.finish(
        vec![],
        "auto",
        WindowSettings::default(),
        Summary::default(),
    )
    .unwrap();
    let p = dir.path().join("manifest.json");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(&p, text).unwrap();
    let err = GraphReader::open(dir.path())
        .err()
        .expect("version 99 is refused");
    assert!(
        err.to_string()
            .contains("format version 99, this build reads 1"),
        "{err}"
    );
}
