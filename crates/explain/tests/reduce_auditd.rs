//! Tier 1 on a real recording: `data/auditd/attack_T1003.008-1_s206`
//! (Atomic Red Team T1003.008-1, `sudo cat /etc/shadow > /tmp/T1003.008.txt`).

use std::path::PathBuf;

use causaldefend_explain::{ExplainConfig, ProvGraph, Reducer, Seed};
use event::{EntityKind, NativeId};
use ingest::{EventStream, InputFormat};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/auditd/attack_T1003.008-1_s206")
}

fn graph() -> ProvGraph {
    let stream = EventStream::open(
        &fixture().join("audit.log.gz"),
        InputFormat::Auditd,
        ingest::IngestSettings::default(),
    )
    .unwrap();
    let mut g = ProvGraph::new();
    for ev in stream {
        g.add_event(&ev.unwrap());
    }
    g
}

fn pid_of(g: &ProvGraph, v: usize) -> Option<u32> {
    match &g.entities[v].native {
        NativeId::AuditdProcess { pid, .. } => Some(*pid),
        _ => None,
    }
}

#[test]
fn seeded_on_the_shadow_reader_the_reduction_finds_root_and_descendants() {
    let truth = ingest::labels::read_auditd_truth(&fixture().join("truth.json")).unwrap();
    let g = graph();
    let root_pid = truth.roots[0].root_pid;
    // Seed: the process that read /etc/shadow (what a detector would flag).
    let shadow = g
        .entities
        .iter()
        .position(|e| e.name.as_deref() == Some("/etc/shadow"))
        .expect("the recording reads /etc/shadow");
    let reader = g.out_edges[shadow]
        .iter()
        .map(|&e| g.edges[e].dst)
        .find(|&v| pid_of(&g, v).is_some_and(|p| truth.malicious_pids.contains(&p)))
        .expect("a malicious process read /etc/shadow");
    let time = g.out_edges[shadow]
        .iter()
        .map(|&e| g.edges[e].last)
        .max()
        .unwrap();
    let r = Reducer::new(&ExplainConfig::default()).unwrap().reduce(
        &g,
        &[Seed {
            entity: reader,
            time,
        }],
        &|_| false,
    );
    let kept_pids: Vec<u32> = r.entities.iter().filter_map(|&v| pid_of(&g, v)).collect();
    let root_pids: Vec<u32> = r.roots.iter().filter_map(|&v| pid_of(&g, v)).collect();
    eprintln!(
        "stats {:?}\nroots {root_pids:?}\nkept pids {kept_pids:?}",
        r.stats
    );
    assert_eq!(
        root_pids,
        vec![root_pid],
        "root cause is the attack's root process"
    );
    for p in &truth.malicious_pids {
        assert!(kept_pids.contains(p), "malicious pid {p} kept");
    }
    assert!(
        r.critical
            .iter()
            .any(|c| g.entities[c.entity].name.as_deref() == Some("/etc/shadow")),
        "the credential store is a reached critical asset"
    );
    let processes = r
        .entities
        .iter()
        .filter(|&&v| g.entities[v].kind == EntityKind::Process)
        .count();
    let precision = truth.malicious_pids.len() as f64 / processes as f64;
    eprintln!("process precision {precision:.2}");
    assert!(r.stats.edge_ratio < 0.05, "{:?}", r.stats);
}
