//! Tier 1: the reduced graph around an alert.
//!
//! Backward tracing from the alerted entities finds how they came to be
//! (parents, executables, files they read); the topmost process of the
//! alerted entities' own process tree, below any shared hub, is the root
//! cause. Forward tracing from the root causes and alerted entities finds the
//! impact. Both respect time (an edge is followed backward only if it happened
//! before the entity's moment of interest, forward only after) and stop at
//! shared objects and hubs (libraries, caches, a launcher that starts every
//! process) unless those are themselves anomalous: the classic
//! dependency-explosion controls. Finally the blast radius: how the traced
//! entities reach configured critical assets.

use std::collections::{BTreeSet, HashMap, VecDeque};

use event::{EdgeKind, EntityKind, Timestamp};
use regex::Regex;
use serde::Serialize;

use crate::config::{compile_patterns, ExplainConfig};
use crate::error::Result;
use crate::provgraph::ProvGraph;

/// An entity the explanation starts from, with its moment of interest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seed {
    /// Index in the [`ProvGraph`].
    pub entity: usize,
    /// The time the entity was alerted on (its last activity in the alert window).
    pub time: Timestamp,
}

/// A critical asset the traced graph reaches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalHit {
    /// The entity.
    pub entity: usize,
    /// The configured asset name.
    pub asset: String,
    /// Hops from the traced graph (0: it was traced already).
    pub hops: usize,
}

/// How much of the graph was kept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReductionStats {
    /// Entities kept.
    pub entities_kept: usize,
    /// Entities in the input graph.
    pub entities_total: usize,
    /// Merged edges kept.
    pub edges_kept: usize,
    /// Merged edges in the input.
    pub edges_total: usize,
    /// Raw events behind the kept edges.
    pub events_kept: u64,
    /// Raw events in the input.
    pub events_total: u64,
    /// `entities_kept / entities_total`.
    pub entity_ratio: f64,
    /// `events_kept / events_total`: the share of the window's edges an analyst must read.
    pub edge_ratio: f64,
    /// True when tracing stopped at `max_entities`.
    pub truncated: bool,
}

/// The reduced graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduced {
    /// Entities kept, ascending.
    pub entities: Vec<usize>,
    /// Edges kept, ascending.
    pub edges: Vec<usize>,
    /// Alerted entities the tracing started from.
    pub seeds: Vec<usize>,
    /// Root causes: topmost processes of the alerted process trees.
    pub roots: Vec<usize>,
    /// Shared objects and hubs kept but not traced through.
    pub boundary: Vec<usize>,
    /// Critical assets reached.
    pub critical: Vec<CriticalHit>,
    /// Counts.
    pub stats: ReductionStats,
}

/// Compiled tier-1 settings.
#[derive(Debug, Clone)]
pub struct Reducer {
    cfg: crate::config::ReduceConfig,
    shared: Vec<Regex>,
    assets: Vec<(String, Regex)>,
}

impl Reducer {
    /// Compiles the patterns of `cfg`.
    ///
    /// # Errors
    /// A bad regular expression, naming its field and position.
    pub fn new(cfg: &ExplainConfig) -> Result<Self> {
        let shared = compile_patterns("reduce.shared_objects", &cfg.reduce.shared_objects)?;
        let pats: Vec<String> = cfg
            .critical_assets
            .iter()
            .map(|a| a.pattern.clone())
            .collect();
        let compiled = compile_patterns("critical_assets", &pats)?;
        let assets = cfg
            .critical_assets
            .iter()
            .map(|a| a.name.clone())
            .zip(compiled)
            .collect();
        Ok(Self {
            cfg: cfg.reduce.clone(),
            shared,
            assets,
        })
    }

    /// The critical asset an entity is, if any.
    pub fn asset_of(&self, g: &ProvGraph, v: usize) -> Option<&str> {
        let name = g.entities.get(v)?.name.as_deref()?;
        self.assets
            .iter()
            .find(|(_, r)| r.is_match(name))
            .map(|(n, _)| n.as_str())
    }

    /// True for shared objects and hubs that tracing does not pass through.
    fn is_stop(&self, g: &ProvGraph, v: usize, anomalous: &dyn Fn(usize) -> bool) -> bool {
        if anomalous(v) {
            return false;
        }
        let Some(e) = g.entities.get(v) else {
            return true;
        };
        if e.kind == EntityKind::Process {
            // A process is a hub by the processes it starts, not by the files
            // it touches (sudo reads dozens of PAM and NSS files).
            return g.children(v) >= self.cfg.max_fanout;
        }
        let shared_name = e
            .name
            .as_deref()
            .is_some_and(|n| self.shared.iter().any(|r| r.is_match(n)));
        shared_name || g.degree(v) >= self.cfg.max_fanout
    }

    /// Reduces `g` around `seeds`. `anomalous` says which entities the
    /// detector flagged (they are traced through even when shared).
    pub fn reduce(
        &self,
        g: &ProvGraph,
        seeds: &[Seed],
        anomalous: &dyn Fn(usize) -> bool,
    ) -> Reduced {
        let mut keep_v: BTreeSet<usize> = BTreeSet::new();
        let mut keep_e: BTreeSet<usize> = BTreeSet::new();
        let mut boundary: BTreeSet<usize> = BTreeSet::new();
        let secs = |s: f64| (s.max(0.0) * 1e9).min(9.0e18) as i64;
        let first_seed = seeds.iter().map(|s| s.time).min();
        let last_seed = seeds.iter().map(|s| s.time).max();
        let (Some(first_seed), Some(last_seed)) = (first_seed, last_seed) else {
            return self.finish(g, keep_v, keep_e, Vec::new(), Vec::new(), boundary, false);
        };
        let lo = first_seed.saturating_add_nanos(-secs(self.cfg.back_secs));
        let hi = last_seed.saturating_add_nanos(secs(self.cfg.forward_secs));
        let mut truncated = false;
        let stop = |v: usize| self.is_stop(g, v, anomalous);

        // Backward: latest moment of interest per entity, re-expanded when a later one arrives.
        let mut best_t: HashMap<usize, Timestamp> = HashMap::new();
        let mut queue: VecDeque<(usize, Timestamp, usize)> = VecDeque::new();
        for s in seeds {
            keep_v.insert(s.entity);
            best_t.insert(s.entity, s.time);
            queue.push_back((s.entity, s.time, 0));
        }
        while let Some((v, t, hops)) = queue.pop_front() {
            if hops >= self.cfg.back_hops {
                continue;
            }
            for &ei in g.in_edges.get(v).into_iter().flatten() {
                let Some(e) = g.edges.get(ei) else { continue };
                if e.first > t || e.last < lo {
                    continue;
                }
                if keep_v.len() >= self.cfg.max_entities && !keep_v.contains(&e.src) {
                    truncated = true;
                    continue;
                }
                keep_e.insert(ei);
                keep_v.insert(e.src);
                if stop(e.src) {
                    boundary.insert(e.src);
                    continue;
                }
                let t2 = t.min(e.last);
                if best_t.get(&e.src).is_none_or(|&b| t2 > b) {
                    best_t.insert(e.src, t2);
                    queue.push_back((e.src, t2, hops + 1));
                }
            }
        }

        // Root causes: climb each alerted process tree to its top below a hub.
        let mut roots: BTreeSet<usize> = BTreeSet::new();
        for s in seeds {
            let start = self.owning_process(g, s.entity, &keep_e);
            let Some(mut v) = start else { continue };
            let mut seen = BTreeSet::new();
            while seen.insert(v) {
                let parent = g.in_edges.get(v).into_iter().flatten().find_map(|&ei| {
                    let e = g.edges.get(ei)?;
                    let is_proc = g
                        .entities
                        .get(e.src)
                        .is_some_and(|p| p.kind == EntityKind::Process);
                    (e.kind == EdgeKind::Fork && is_proc && keep_e.contains(&ei)).then_some(e.src)
                });
                match parent {
                    Some(p) if !stop(p) => v = p,
                    _ => break,
                }
            }
            roots.insert(v);
        }

        // Forward: from root causes (from their first moment) and from seeds.
        let mut best_f: HashMap<usize, Timestamp> = HashMap::new();
        let mut fq: VecDeque<(usize, Timestamp, usize)> = VecDeque::new();
        for &r in &roots {
            let t = g.activity_span(r).map_or(first_seed, |(first, _)| first);
            best_f.insert(r, t);
            fq.push_back((r, t, 0));
        }
        for s in seeds {
            if best_f.get(&s.entity).is_none_or(|&b| s.time < b) {
                best_f.insert(s.entity, s.time);
                fq.push_back((s.entity, s.time, 0));
            }
        }
        while let Some((v, t, hops)) = fq.pop_front() {
            for &ei in g.out_edges.get(v).into_iter().flatten() {
                let Some(e) = g.edges.get(ei) else { continue };
                if e.last < t || e.first > hi {
                    continue;
                }
                // Process creation is free: the tree under a root cause is the attack.
                let cost = usize::from(e.kind != EdgeKind::Fork);
                if hops + cost > self.cfg.forward_hops {
                    continue;
                }
                if keep_v.len() >= self.cfg.max_entities && !keep_v.contains(&e.dst) {
                    truncated = true;
                    continue;
                }
                keep_e.insert(ei);
                keep_v.insert(e.dst);
                if stop(e.dst) {
                    boundary.insert(e.dst);
                    continue;
                }
                let t2 = t.max(e.first);
                if best_f.get(&e.dst).is_none_or(|&b| t2 < b) {
                    best_f.insert(e.dst, t2);
                    fq.push_back((e.dst, t2, hops + cost));
                }
            }
        }

        // What the traced processes took in: the files they read and executed
        // are part of the story (reading /etc/shadow is the credential access),
        // though data flows into them, not out. One hop, not traced further.
        for (&v, &t) in &best_f {
            let is_proc = g
                .entities
                .get(v)
                .is_some_and(|e| e.kind == EntityKind::Process);
            if !is_proc || stop(v) {
                continue;
            }
            for &ei in g.in_edges.get(v).into_iter().flatten() {
                let Some(e) = g.edges.get(ei) else { continue };
                let src_is_proc = g
                    .entities
                    .get(e.src)
                    .is_some_and(|x| x.kind == EntityKind::Process);
                if src_is_proc || e.last < t || e.first > hi {
                    continue;
                }
                if keep_v.len() >= self.cfg.max_entities && !keep_v.contains(&e.src) {
                    truncated = true;
                    continue;
                }
                keep_e.insert(ei);
                keep_v.insert(e.src);
                if stop(e.src) {
                    boundary.insert(e.src);
                }
            }
        }

        // Blast radius: shortest flow paths from the traced graph to critical assets.
        let mut critical: Vec<CriticalHit> = Vec::new();
        let mut parent: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut depth: HashMap<usize, usize> = HashMap::new();
        let mut bq: VecDeque<usize> = VecDeque::new();
        for &v in &keep_v {
            depth.insert(v, 0);
            if !boundary.contains(&v) {
                bq.push_back(v);
            }
        }
        while let Some(v) = bq.pop_front() {
            let d = depth.get(&v).copied().unwrap_or(0);
            if d >= self.cfg.blast_hops {
                continue;
            }
            for &ei in g.out_edges.get(v).into_iter().flatten() {
                let Some(e) = g.edges.get(ei) else { continue };
                if e.first > hi || e.last < lo || depth.contains_key(&e.dst) {
                    continue;
                }
                depth.insert(e.dst, d + 1);
                parent.insert(e.dst, (v, ei));
                let is_asset = self.asset_of(g, e.dst).is_some();
                if !is_asset && !stop(e.dst) {
                    bq.push_back(e.dst);
                }
            }
            // Reading an asset is reaching it too (confidentiality), though
            // data flows out of it: a terminal hit, not traced further.
            for &ei in g.in_edges.get(v).into_iter().flatten() {
                let Some(e) = g.edges.get(ei) else { continue };
                if e.first > hi || e.last < lo || depth.contains_key(&e.src) {
                    continue;
                }
                if self.asset_of(g, e.src).is_some() {
                    depth.insert(e.src, d + 1);
                    parent.insert(e.src, (v, ei));
                }
            }
        }
        let mut reached: Vec<(usize, usize)> = depth
            .iter()
            .filter(|(v, _)| self.asset_of(g, **v).is_some())
            .map(|(v, d)| (*v, *d))
            .collect();
        reached.sort_unstable();
        for (v, d) in reached {
            // Add the path that reaches the asset.
            let mut cur = v;
            while let Some(&(p, ei)) = parent.get(&cur) {
                keep_e.insert(ei);
                keep_v.insert(cur);
                cur = p;
            }
            critical.push(CriticalHit {
                entity: v,
                asset: self.asset_of(g, v).unwrap_or_default().to_owned(),
                hops: d,
            });
        }

        // Edges among kept entities that tracing did not walk: keep those of
        // process trees (fork) so the story has its parentage.
        for (ei, e) in g.edges.iter().enumerate() {
            if e.kind == EdgeKind::Fork && keep_v.contains(&e.src) && keep_v.contains(&e.dst) {
                keep_e.insert(ei);
            }
        }
        let seeds_v: Vec<usize> = seeds.iter().map(|s| s.entity).collect();
        let mut r = self.finish(
            g,
            keep_v,
            keep_e,
            seeds_v,
            roots.into_iter().collect(),
            boundary,
            truncated,
        );
        r.critical = critical;
        r
    }

    /// The process an alerted entity belongs to: itself when it is a
    /// process, else the process that last wrote or created it on a kept edge.
    fn owning_process(&self, g: &ProvGraph, v: usize, keep_e: &BTreeSet<usize>) -> Option<usize> {
        let e = g.entities.get(v)?;
        if e.kind == EntityKind::Process {
            return Some(v);
        }
        g.in_edges.get(v)?.iter().find_map(|&ei| {
            let edge = g.edges.get(ei)?;
            let p = g.entities.get(edge.src)?;
            (p.kind == EntityKind::Process && keep_e.contains(&ei)).then_some(edge.src)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        g: &ProvGraph,
        keep_v: BTreeSet<usize>,
        keep_e: BTreeSet<usize>,
        seeds: Vec<usize>,
        roots: Vec<usize>,
        boundary: BTreeSet<usize>,
        truncated: bool,
    ) -> Reduced {
        let events_kept: u64 = keep_e
            .iter()
            .filter_map(|&e| g.edges.get(e).map(|e| e.count))
            .sum();
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        #[allow(clippy::cast_precision_loss)]
        let stats = ReductionStats {
            entities_kept: keep_v.len(),
            entities_total: g.len(),
            edges_kept: keep_e.len(),
            edges_total: g.edges.len(),
            events_kept,
            events_total: g.total_events,
            entity_ratio: ratio(keep_v.len() as f64, g.len() as f64),
            edge_ratio: ratio(events_kept as f64, g.total_events as f64),
            truncated,
        };
        Reduced {
            entities: keep_v.into_iter().collect(),
            edges: keep_e.into_iter().collect(),
            seeds,
            roots,
            boundary: boundary.into_iter().collect(),
            critical: Vec::new(),
            stats,
        }
    }
}
