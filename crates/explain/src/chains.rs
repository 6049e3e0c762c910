//! Attack chains: ranked root-cause-to-impact paths.
//!
//! Paths run over the reduced graph's information flow (parent to child,
//! process to what it wrote, file to who read it) plus *access arcs* from a
//! process to an object whose access is itself the impact: a critical asset
//! or an event an ATT&CK rule names (reading `/etc/shadow` moves data into
//! the reader, but the story is that the reader touched the shadow file).
//! A path must respect time: each step happens no earlier than the one
//! before it. Paths are scored by what their steps carry — anomaly,
//! techniques, critical assets — weighted by the causal strength of each
//! step's edge as causal discovery measured it; steps causal discovery did
//! not confirm count at a configured lower weight, and are marked.

use std::collections::{BTreeSet, HashMap};

use event::{EdgeKind, EntityKind, Timestamp};
use serde::Serialize;

use crate::config::ChainConfig;
use crate::provgraph::ProvGraph;
use crate::reduce::Reduced;

/// A technique named on an event by an ATT&CK rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TechniqueHit {
    /// ATT&CK id.
    pub technique: String,
    /// The rule that matched.
    pub rule: String,
    /// The rule's confidence.
    pub confidence: f64,
}

/// An arc of the chain graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainArc {
    /// The graph edge it stands for.
    pub edge: usize,
    /// From entity.
    pub from: usize,
    /// To entity.
    pub to: usize,
    /// First event.
    pub first: Timestamp,
    /// Last event.
    pub last: Timestamp,
}

/// The arcs chains and counterfactuals walk: flow edges of the reduced graph,
/// with edges to impact objects turned to point from the process at them.
pub fn chain_arcs(
    g: &ProvGraph,
    reduced: &Reduced,
    edge_techniques: &HashMap<usize, Vec<TechniqueHit>>,
    is_asset: &dyn Fn(usize) -> bool,
) -> Vec<ChainArc> {
    let mut arcs = Vec::with_capacity(reduced.edges.len());
    for &ei in &reduced.edges {
        let Some(e) = g.edges.get(ei) else { continue };
        let is_proc = |v: usize| {
            g.entities
                .get(v)
                .is_some_and(|x| x.kind == EntityKind::Process)
        };
        let (mut from, mut to) = (e.src, e.dst);
        let impact_object = is_asset(e.src) || edge_techniques.contains_key(&ei);
        if e.into_subject && impact_object && is_proc(e.dst) && !is_proc(e.src) {
            (from, to) = (e.dst, e.src);
        }
        arcs.push(ChainArc {
            edge: ei,
            from,
            to,
            first: e.first,
            last: e.last,
        });
    }
    arcs
}

/// One step of a chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The entity.
    pub entity: usize,
    /// The graph edge that led here (none for the root).
    pub via_edge: Option<usize>,
    /// What happened on that edge.
    pub action: Option<EdgeKind>,
    /// When it first happened.
    pub time: Option<Timestamp>,
    /// Techniques of this step: of the edge that led here and of the
    /// entity's own actions when it is a process.
    pub techniques: Vec<String>,
    /// Causal strength of the edge that led here, when causal discovery
    /// confirmed it; `None` when it did not (or for the root).
    pub causal_strength: Option<f64>,
}

/// A ranked chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    /// Steps from the root cause to the impact.
    pub steps: Vec<Step>,
    /// Ranking score (higher first).
    pub score: f64,
}

/// What chain ranking needs to know of each entity and edge.
pub struct ChainInputs<'a> {
    /// The graph.
    pub graph: &'a ProvGraph,
    /// The reduced graph.
    pub reduced: &'a Reduced,
    /// Chain arcs ([`chain_arcs`]).
    pub arcs: &'a [ChainArc],
    /// Anomaly per entity, 0..1 (missing: 0).
    pub anomaly: &'a HashMap<usize, f64>,
    /// Techniques per graph edge.
    pub edge_techniques: &'a HashMap<usize, Vec<TechniqueHit>>,
    /// Causal strength per entity pair (either order looked up).
    pub causal: &'a HashMap<(usize, usize), f64>,
    /// Critical assets.
    pub is_asset: &'a dyn Fn(usize) -> bool,
    /// Weight of a step the causal graph did not confirm.
    pub unconfirmed_weight: f64,
}

impl ChainInputs<'_> {
    /// Techniques an entity carries by its own actions (as the event's subject).
    pub fn entity_techniques(&self) -> HashMap<usize, BTreeSet<String>> {
        let mut out: HashMap<usize, BTreeSet<String>> = HashMap::new();
        for (&ei, hits) in self.edge_techniques {
            let Some(e) = self.graph.edges.get(ei) else {
                continue;
            };
            let actor = if e.into_subject { e.dst } else { e.src };
            out.entry(actor)
                .or_default()
                .extend(hits.iter().map(|h| h.technique.clone()));
        }
        out
    }

    fn strength(&self, a: usize, b: usize) -> Option<f64> {
        self.causal
            .get(&(a, b))
            .or_else(|| self.causal.get(&(b, a)))
            .copied()
    }
}

/// A path being built: each entity with the arc that led to it.
type Path<'a> = Vec<(usize, Option<&'a ChainArc>)>;

/// Ranks chains from the reduced graph's root causes.
pub fn rank_chains(inp: &ChainInputs<'_>, cfg: &ChainConfig) -> Vec<Chain> {
    let ent_tech = inp.entity_techniques();
    let mut out_arcs: HashMap<usize, Vec<&ChainArc>> = HashMap::new();
    for a in inp.arcs {
        out_arcs.entry(a.from).or_default().push(a);
    }
    for v in out_arcs.values_mut() {
        v.sort_by_key(|a| (a.first, a.edge));
    }
    let boundary: BTreeSet<usize> = inp.reduced.boundary.iter().copied().collect();
    let node_gain = |v: usize| -> f64 {
        let tech = ent_tech.get(&v).map_or(0, BTreeSet::len);
        let asset = if (inp.is_asset)(v) { 1.0 } else { 0.0 };
        #[allow(clippy::cast_precision_loss)]
        let t = (tech as f64).min(3.0) * 0.5;
        inp.anomaly.get(&v).copied().unwrap_or(0.0) + t + asset
    };

    let mut found: Vec<(f64, Path<'_>)> = Vec::new();
    let mut budget = cfg.max_paths;
    let starts: Vec<usize> = if inp.reduced.roots.is_empty() {
        inp.reduced.seeds.clone()
    } else {
        inp.reduced.roots.clone()
    };
    for &root in &starts {
        let mut path: Path<'_> = vec![(root, None)];
        let mut on_path = BTreeSet::from([root]);
        dfs(
            &out_arcs,
            &boundary,
            &mut path,
            &mut on_path,
            0.0 + node_gain(root),
            &node_gain,
            inp,
            cfg,
            &mut budget,
            &mut found,
        );
    }
    found.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.len().cmp(&b.1.len()))
            .then_with(|| {
                let ka: Vec<usize> = a.1.iter().map(|s| s.0).collect();
                let kb: Vec<usize> = b.1.iter().map(|s| s.0).collect();
                ka.cmp(&kb)
            })
    });
    let mut chosen: Vec<Chain> = Vec::new();
    let mut chosen_sets: Vec<BTreeSet<usize>> = Vec::new();
    for (score, p) in found {
        if chosen.len() >= cfg.max_chains {
            break;
        }
        let set: BTreeSet<usize> = p.iter().map(|s| s.0).collect();
        if chosen_sets.iter().any(|c| set.is_subset(c)) {
            continue;
        }
        let steps = p
            .iter()
            .map(|&(v, arc)| {
                let mut techniques: BTreeSet<String> =
                    ent_tech.get(&v).cloned().unwrap_or_default();
                if let Some(a) = arc {
                    if let Some(h) = inp.edge_techniques.get(&a.edge) {
                        techniques.extend(h.iter().map(|h| h.technique.clone()));
                    }
                }
                Step {
                    entity: v,
                    via_edge: arc.map(|a| a.edge),
                    action: arc.and_then(|a| inp.graph.edges.get(a.edge).map(|e| e.kind)),
                    time: arc.map(|a| a.first),
                    techniques: techniques.into_iter().collect(),
                    causal_strength: arc.and_then(|a| inp.strength(a.from, a.to)),
                }
            })
            .collect();
        chosen_sets.push(set);
        chosen.push(Chain { steps, score });
    }
    chosen
}

#[allow(clippy::too_many_arguments)]
fn dfs<'a>(
    out_arcs: &HashMap<usize, Vec<&'a ChainArc>>,
    boundary: &BTreeSet<usize>,
    path: &mut Path<'a>,
    on_path: &mut BTreeSet<usize>,
    score: f64,
    node_gain: &dyn Fn(usize) -> f64,
    inp: &ChainInputs<'_>,
    cfg: &ChainConfig,
    budget: &mut usize,
    found: &mut Vec<(f64, Path<'a>)>,
) {
    let Some(&(v, last_arc)) = path.last() else {
        return;
    };
    let mut extended = false;
    let can_extend = path.len() <= cfg.max_length && !(boundary.contains(&v) && path.len() > 1);
    if can_extend {
        for &a in out_arcs.get(&v).into_iter().flatten() {
            if *budget == 0 {
                break;
            }
            if on_path.contains(&a.to) || last_arc.is_some_and(|p| a.last < p.first) {
                continue;
            }
            let w = inp.strength(a.from, a.to).unwrap_or(inp.unconfirmed_weight);
            let gain = node_gain(a.to) * w;
            extended = true;
            path.push((a.to, Some(a)));
            on_path.insert(a.to);
            dfs(
                out_arcs,
                boundary,
                path,
                on_path,
                score + gain,
                node_gain,
                inp,
                cfg,
                budget,
                found,
            );
            on_path.remove(&a.to);
            path.pop();
        }
    }
    // Every maximal path, and every path ending on an impact, is a candidate.
    let impact =
        (inp.is_asset)(v) || last_arc.is_some_and(|a| inp.edge_techniques.contains_key(&a.edge));
    if (!extended || impact) && path.len() > 1 && *budget > 0 {
        *budget -= 1;
        found.push((score, path.clone()));
    }
}
