//! The simple, non-neural baseline every figure of the GNN is compared with:
//! rarity of what a process does. A process is described by the triples
//! (its program, edge kind, the object's name) of its outgoing edges and
//! (parent program, fork, its program) of the fork that made it; names are
//! normalised like the GNN's tokens (digit runs → `0`; in object names,
//! machine-made components such as `cc4f1Xa.o` or `tmp_obj_nxhfrg` →
//! `<rand>`, as the GNN's object-name block does). Trained on benign
//! windows, a triple's surprisal is `-ln((count + 1) / (total + distinct))`
//! (add-one smoothing); a node scores the mean of its three most surprising
//! triples, a window the mean of its top-k node scores.

use std::collections::HashMap;

use event::{EdgeKind, EntityKind};
use graph::GraphWindow;

use crate::detector::top_k_mean;
use crate::features::{looks_random, normalise_name_token, normalise_token};

/// Triple counts.
#[derive(Debug, Clone, Default)]
pub struct RarityBaseline {
    counts: HashMap<u64, u32>,
    total: u64,
}

/// A program image keeps its base name (`sha256sum` would read as
/// random); every other random-looking component folds to `<rand>`, its
/// extensions kept (`ccJkdr3i.cdtor.c` → `<rand>.cdtor.c`, a workload's
/// `/tmp/wl83cgqury/a.out` → `/tmp/<rand>/a.out`). Without the folding
/// nearly every window held a never-seen compiler temporary, git object
/// or work folder, every window scored the "never seen" ceiling and the
/// baseline could rank nothing (session 6).
fn normalise_name(name: &str, program: bool) -> String {
    let parts: Vec<&str> = name.split('/').collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if program && i == last {
                normalise_token(c)
            } else {
                fold_component(c)
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// One path component of an object: `<rand>` plus its extensions when the
/// part before the first dot looks machine-made.
fn fold_component(c: &str) -> String {
    let lower = c.to_ascii_lowercase();
    match lower.split_once('.') {
        Some((stem, rest)) if !stem.is_empty() && looks_random(stem) => {
            format!("<rand>.{}", normalise_token(rest))
        }
        _ => normalise_name_token(&lower),
    }
}

fn triple(a: &str, kind: EdgeKind, b: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [a.as_bytes(), kind.as_str().as_bytes(), b.as_bytes()] {
        for &byte in part {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The triples of each node (row) of a window; non-process nodes have none.
fn triples(w: &GraphWindow) -> Vec<Vec<u64>> {
    let row: HashMap<_, _> = w.nodes.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let name = |i: usize| -> String {
        w.nodes
            .get(i)
            .and_then(|e| {
                let program = e.kind == EntityKind::Process;
                e.name.as_deref().map(|n| normalise_name(n, program))
            })
            .unwrap_or_else(|| "?".to_owned())
    };
    let mut out = vec![Vec::new(); w.nodes.len()];
    for e in &w.edges {
        let (Some(&s), Some(&d)) = (row.get(&e.src), row.get(&e.dst)) else {
            continue;
        };
        let src_is_process = w
            .nodes
            .get(s)
            .is_some_and(|n| n.kind == EntityKind::Process);
        if !src_is_process {
            continue;
        }
        let t = triple(&name(s), e.kind, &name(d));
        out[s].push(t);
        if e.kind == EdgeKind::Fork {
            out[d].push(t);
        }
    }
    for v in &mut out {
        v.sort_unstable();
        v.dedup();
    }
    out
}

impl RarityBaseline {
    /// Counts the triples of a benign window.
    pub fn fit_window(&mut self, w: &GraphWindow) {
        for node in triples(w) {
            for t in node {
                *self.counts.entry(t).or_default() += 1;
                self.total += 1;
            }
        }
    }

    /// Node scores (by row) of a window.
    pub fn node_scores(&self, w: &GraphWindow) -> Vec<f64> {
        let denom = (self.total + self.counts.len() as u64 + 1) as f64;
        triples(w)
            .into_iter()
            .map(|ts| {
                let s: Vec<f64> = ts
                    .iter()
                    .map(|t| {
                        let c = self.counts.get(t).copied().unwrap_or(0);
                        -((f64::from(c) + 1.0) / denom).ln()
                    })
                    .collect();
                top_k_mean(&s, 3)
            })
            .collect()
    }

    /// Window score and node scores.
    pub fn score(&self, w: &GraphWindow, top_k: usize) -> (f64, Vec<f64>) {
        let nodes = self.node_scores(w);
        (top_k_mean(&nodes, top_k), nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::{Entity, NativeId, Timestamp};
    use graph::EdgeRow;
    use std::sync::Arc;

    fn window(file: &str) -> GraphWindow {
        let p = Arc::new(
            Entity::new(
                EntityKind::Process,
                NativeId::AuditdProcess {
                    pid: 5,
                    start: Timestamp::from_nanos(0),
                },
                None,
            )
            .with_name("/usr/bin/cat"),
        );
        let f = Arc::new(Entity::named(EntityKind::File, file, None));
        GraphWindow {
            id: 0,
            start: Timestamp::from_nanos(0),
            end: Timestamp::from_nanos(10),
            nodes: vec![p.clone(), f.clone()],
            edges: vec![EdgeRow {
                ts: Timestamp::from_nanos(1),
                kind: EdgeKind::Read,
                src: p.id,
                dst: f.id,
                native_type: "openat".into(),
                seq: 0,
            }],
        }
    }

    #[test]
    fn unseen_behaviour_is_rarer_than_seen() {
        let mut b = RarityBaseline::default();
        for _ in 0..10 {
            b.fit_window(&window("/tmp/wl1/notes.txt"));
        }
        let (seen, _) = b.score(&window("/tmp/wl2/notes.txt"), 1);
        let (unseen, nodes) = b.score(&window("/etc/shadow"), 1);
        assert!(unseen > seen, "{unseen} vs {seen}");
        // the file node has no triples of its own
        assert_eq!(nodes[1], 0.0);
        // A compiler temporary of another run is the same behaviour.
        let mut b = RarityBaseline::default();
        for _ in 0..10 {
            b.fit_window(&window("/tmp/cc4f1xa.o"));
        }
        let (tmp, _) = b.score(&window("/tmp/ccq9zk2b.o"), 1);
        assert!((tmp - seen).abs() < 1e-9, "{tmp} vs {seen}");
        assert_eq!(
            normalise_name("/tmp/ccJkdr3i.cdtor.c", false),
            "/tmp/<rand>.cdtor.c"
        );
        assert_eq!(
            normalise_name("/tmp/wl83cgqury/a.out", true),
            "/tmp/<rand>/a.out"
        );
        // Programs keep their base name (digit runs aside), never `<rand>`.
        assert_eq!(
            normalise_name("/usr/bin/sha256sum", true),
            "/usr/bin/sha0sum"
        );
        assert_eq!(normalise_name("/etc/shadow", false), "/etc/shadow");
    }
}
