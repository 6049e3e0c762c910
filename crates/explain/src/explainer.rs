//! The whole explanation of one alert, stage by stage.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use crate::activity::activity_dataset;
use crate::attack::{AttackTable, RuleSet};
use crate::causal::{pc_stable, Background, CiTest, PcConfig};
use crate::chains::{chain_arcs, rank_chains, ChainInputs, TechniqueHit};
use crate::config::ExplainConfig;
use crate::counterfactual::{min_cut, Blocked};
use crate::error::Result;
use crate::narrative::{alert_narrative, chain_narrative};
use crate::provgraph::ProvGraph;
use crate::reduce::{Reduced, Reducer, Seed};
use crate::view::{
    entity_key, label, rfc3339, BlockView, CausalEdgeView, CausalView, ChainView,
    CounterfactualView, CriticalView, EdgeView, EntityView, Explanation, StepView, TechniqueView,
    Timing, EXPLANATION_SCHEMA,
};

/// Causal strength per (cause, effect) entity pair.
type StrengthMap = HashMap<(usize, usize), f64>;

/// Anomaly at or above which an entity counts as flagged (see [`Explainer::explain`]).
pub const FLAGGED: f64 = 0.5;

/// Everything needed to explain alerts, compiled once.
pub struct Explainer {
    cfg: ExplainConfig,
    reducer: Reducer,
    rules: RuleSet,
    table: AttackTable,
    ci: Box<dyn CiTest>,
}

impl std::fmt::Debug for Explainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explainer")
            .field("ci_test", &self.ci.name())
            .field("attack_version", &self.table.version())
            .finish_non_exhaustive()
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

impl Explainer {
    /// An explainer with these settings, rules, ATT&CK table and CI test.
    ///
    /// # Errors
    /// A bad pattern in the config.
    pub fn new(
        cfg: ExplainConfig,
        rules: RuleSet,
        table: AttackTable,
        ci: Box<dyn CiTest>,
    ) -> Result<Self> {
        let reducer = Reducer::new(&cfg)?;
        Ok(Self {
            cfg,
            reducer,
            rules,
            table,
            ci,
        })
    }

    /// The settings.
    pub fn config(&self) -> &ExplainConfig {
        &self.cfg
    }

    /// Seeds for an explanation without a detector: the actors of events an
    /// ATT&CK rule matches (at most `max`, busiest first). Used to explain a
    /// labelled capture, or a log an analyst points at.
    pub fn technique_seeds(&self, g: &ProvGraph, max: usize) -> Vec<Seed> {
        let mut found: BTreeMap<usize, (u64, event::Timestamp)> = BTreeMap::new();
        for e in &g.edges {
            let Some(ev) = g.edge_event(e) else { continue };
            if self.rules.matches(&ev).next().is_none() {
                continue;
            }
            let actor = if e.into_subject { e.dst } else { e.src };
            let slot = found.entry(actor).or_insert((0, e.last));
            slot.0 = slot.0.saturating_add(e.count);
            slot.1 = slot.1.max(e.last);
        }
        let mut v: Vec<(usize, (u64, event::Timestamp))> = found.into_iter().collect();
        v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        v.into_iter()
            .take(max)
            .map(|(entity, (_, time))| Seed { entity, time })
            .collect()
    }

    /// Explains the alert on `seeds` in `g`. `anomaly` holds the detector's
    /// per-entity anomaly in 0..1 (its score over twice the node threshold,
    /// capped at 1, so [`FLAGGED`] is the threshold); entities without a
    /// score count as 0.
    ///
    /// # Errors
    /// Causal discovery failing on its data (never for well-formed graphs).
    pub fn explain(
        &self,
        g: &ProvGraph,
        seeds: &[Seed],
        anomaly: &HashMap<usize, f64>,
    ) -> Result<Explanation> {
        let t_all = Instant::now();
        let mut timing = Timing::default();
        let seed_set: BTreeSet<usize> = seeds.iter().map(|s| s.entity).collect();
        let flagged =
            |v: usize| seed_set.contains(&v) || anomaly.get(&v).is_some_and(|a| *a >= FLAGGED);

        let t = Instant::now();
        let reduced = self.reducer.reduce(g, seeds, &flagged);
        timing.reduce_ms = ms(t);

        let t = Instant::now();
        let mut edge_techniques: HashMap<usize, Vec<TechniqueHit>> = HashMap::new();
        for &ei in &reduced.edges {
            let Some(ev) = g.edges.get(ei).and_then(|e| g.edge_event(e)) else {
                continue;
            };
            let hits: Vec<TechniqueHit> = self
                .rules
                .matches(&ev)
                .map(|r| TechniqueHit {
                    technique: r.technique.clone(),
                    rule: r.id.clone(),
                    confidence: r.confidence,
                })
                .collect();
            if !hits.is_empty() {
                edge_techniques.insert(ei, hits);
            }
        }
        timing.techniques_ms = ms(t);

        let t = Instant::now();
        let (causal_view, causal_map) = self.discover(g, &reduced, anomaly, &edge_techniques)?;
        timing.causal_ms = ms(t);

        let t = Instant::now();
        let is_asset = |v: usize| self.reducer.asset_of(g, v).is_some();
        let arcs = chain_arcs(g, &reduced, &edge_techniques, &is_asset);
        let inputs = ChainInputs {
            graph: g,
            reduced: &reduced,
            arcs: &arcs,
            anomaly,
            edge_techniques: &edge_techniques,
            causal: &causal_map,
            is_asset: &is_asset,
            unconfirmed_weight: self.cfg.causal.unconfirmed_weight,
        };
        let chains = rank_chains(&inputs, &self.cfg.chains);
        let ent_tech = inputs.entity_techniques();

        // Entities.
        let key = |v: usize| g.entities.get(v).map(|e| entity_key(e)).unwrap_or_default();
        let lab = |v: usize| g.entities.get(v).map(|e| label(e)).unwrap_or_default();
        let roots: BTreeSet<usize> = reduced.roots.iter().copied().collect();
        let boundary: BTreeSet<usize> = reduced.boundary.iter().copied().collect();
        let mut entities: Vec<EntityView> = Vec::with_capacity(reduced.entities.len());
        for &v in &reduced.entities {
            let Some(e) = g.entities.get(v) else { continue };
            let mut ev = EntityView::of(e);
            if seed_set.contains(&v) {
                ev.roles.push("alerted");
            }
            if roots.contains(&v) {
                ev.roles.push("root_cause");
            }
            if boundary.contains(&v) {
                ev.roles.push("boundary");
            }
            if let Some(a) = self.reducer.asset_of(g, v) {
                ev.roles.push("critical_asset");
                ev.asset = Some(a.to_owned());
            }
            ev.anomaly = anomaly.get(&v).copied();
            ev.techniques = ent_tech
                .get(&v)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            entities.push(ev);
        }

        // Techniques, ranked: confidence × log-evidence, doubled on the top chains.
        let on_chain: BTreeSet<&str> = chains
            .iter()
            .flat_map(|c| c.steps.iter())
            .flat_map(|s| s.techniques.iter().map(String::as_str))
            .collect();
        let mut agg: BTreeMap<String, (f64, u64, BTreeSet<String>, BTreeSet<String>)> =
            BTreeMap::new();
        for (&ei, hits) in &edge_techniques {
            let Some(e) = g.edges.get(ei) else { continue };
            let actor = if e.into_subject { e.dst } else { e.src };
            for h in hits {
                let a = agg.entry(h.technique.clone()).or_default();
                a.0 = a.0.max(h.confidence);
                a.1 = a.1.saturating_add(e.count);
                a.2.insert(h.rule.clone());
                a.3.insert(key(actor));
            }
        }
        let mut techniques: Vec<TechniqueView> = agg
            .into_iter()
            .map(|(id, (conf, events, rules, ents))| {
                let (name, tactics, url) = self.table.get(&id).map_or_else(
                    || (String::new(), Vec::new(), String::new()),
                    |t| (t.name.clone(), t.tactics.clone(), t.url.clone()),
                );
                #[allow(clippy::cast_precision_loss)]
                let evidence = 1.0 + (events as f64).ln_1p();
                let boost = if on_chain.contains(id.as_str()) {
                    2.0
                } else {
                    1.0
                };
                TechniqueView {
                    score: conf * evidence * boost,
                    id,
                    name,
                    tactics,
                    url,
                    events,
                    rules: rules.into_iter().collect(),
                    entities: ents.into_iter().collect(),
                }
            })
            .collect();
        techniques.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));

        // Chains.
        let by_key: HashMap<String, &EntityView> =
            entities.iter().map(|e| (e.entity_id.clone(), e)).collect();
        let by_key_ref: HashMap<&str, &EntityView> =
            by_key.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let chain_views: Vec<ChainView> = chains
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut cv = ChainView {
                    rank: i + 1,
                    score: c.score,
                    steps: c
                        .steps
                        .iter()
                        .map(|s| StepView {
                            entity: key(s.entity),
                            label: lab(s.entity),
                            action: s.action.map(event::EdgeKind::as_str),
                            time: s.time.map(rfc3339),
                            techniques: s.techniques.clone(),
                            causal_strength: s.causal_strength,
                        })
                        .collect(),
                    narrative: String::new(),
                };
                cv.narrative = chain_narrative(&cv, &by_key_ref, &techniques);
                cv
            })
            .collect();

        // Counterfactuals: per root, toward the critical assets it reaches,
        // else toward the ends of its chains.
        let cut_edges: Vec<(usize, usize, usize)> =
            arcs.iter().map(|a| (a.edge, a.from, a.to)).collect();
        let assets: Vec<usize> = reduced.critical.iter().map(|c| c.entity).collect();
        let mut counterfactuals = Vec::new();
        for &r in &reduced.roots {
            let mut targets: Vec<usize> = assets.clone();
            if targets.is_empty() {
                targets = chains
                    .iter()
                    .filter(|c| c.steps.first().is_some_and(|s| s.entity == r))
                    .filter_map(|c| c.steps.last().map(|s| s.entity))
                    .collect();
            }
            let Some(cf) = min_cut(&cut_edges, r, &targets) else {
                continue;
            };
            let block: Vec<BlockView> = cf
                .block
                .iter()
                .map(|b| match *b {
                    Blocked::Entity(v) => BlockView {
                        kind: "entity",
                        entity: key(v),
                        description: lab(v),
                    },
                    Blocked::Event(ei) => {
                        let (actor, desc) = g.edges.get(ei).map_or((0, String::new()), |e| {
                            let actor = if e.into_subject { e.dst } else { e.src };
                            let object = if e.into_subject { e.src } else { e.dst };
                            (
                                actor,
                                format!("{} {} {}", lab(actor), e.kind.as_str(), lab(object)),
                            )
                        });
                        BlockView {
                            kind: "event",
                            entity: key(actor),
                            description: desc,
                        }
                    }
                })
                .collect();
            let reached: Vec<String> = cf.targets.iter().map(|&t| lab(t)).collect();
            let statement = format!(
                "Blocking {} would have stopped {} from reaching {}.",
                block
                    .iter()
                    .map(|b| format!("`{}`", b.description))
                    .collect::<Vec<_>>()
                    .join(" and "),
                lab(r),
                reached.join(", ")
            );
            counterfactuals.push(CounterfactualView {
                root: key(r),
                targets: cf.targets.iter().map(|&t| key(t)).collect(),
                block,
                verified: cf.verified,
                statement,
            });
        }

        let critical: Vec<CriticalView> = reduced
            .critical
            .iter()
            .map(|c| CriticalView {
                entity: key(c.entity),
                label: lab(c.entity),
                asset: c.asset.clone(),
                hops: c.hops,
            })
            .collect();
        let narrative = alert_narrative(&chain_views, &critical, &techniques, &counterfactuals);
        let edges: Vec<EdgeView> = reduced
            .edges
            .iter()
            .filter_map(|&ei| {
                let e = g.edges.get(ei)?;
                Some(EdgeView {
                    src: key(e.src),
                    dst: key(e.dst),
                    kind: e.kind.as_str(),
                    native_type: e.native_type.to_string(),
                    first: rfc3339(e.first),
                    last: rfc3339(e.last),
                    count: e.count,
                    techniques: edge_techniques
                        .get(&ei)
                        .map(|h| h.iter().map(|h| h.technique.clone()).collect())
                        .unwrap_or_default(),
                })
            })
            .collect();
        timing.chains_ms = ms(t);
        timing.total_ms = ms(t_all);
        Ok(Explanation {
            schema: EXPLANATION_SCHEMA,
            seeds: reduced.seeds.iter().map(|&v| key(v)).collect(),
            root_causes: reduced.roots.iter().map(|&v| key(v)).collect(),
            entities,
            edges,
            reduction: reduced.stats,
            critical_assets: critical,
            causal: causal_view,
            chains: chain_views,
            techniques,
            narrative,
            counterfactuals,
            timing,
            attack_version: self.table.version().to_owned(),
        })
    }

    /// Tiers 2 and 3: temporal PC-Stable over the reduced graph's activity.
    fn discover(
        &self,
        g: &ProvGraph,
        reduced: &Reduced,
        anomaly: &HashMap<usize, f64>,
        edge_techniques: &HashMap<usize, Vec<TechniqueHit>>,
    ) -> Result<(CausalView, StrengthMap)> {
        let cc = &self.cfg.causal;
        // Tactic rank per entity: the earliest tactic among its own techniques
        // (the conservative choice: it forbids the fewest edges).
        let mut rank: HashMap<usize, u8> = HashMap::new();
        for (&ei, hits) in edge_techniques {
            let Some(e) = g.edges.get(ei) else { continue };
            let actor = if e.into_subject { e.dst } else { e.src };
            for h in hits {
                if let Some(r) = self
                    .table
                    .get(&h.technique)
                    .and_then(crate::attack::Technique::first_tactic_rank)
                {
                    let slot = rank.entry(actor).or_insert(r);
                    *slot = (*slot).min(r);
                }
            }
        }
        // Variables: alerted and root entities first, then technique-bearing,
        // anomalous and busy ones; shared hubs are not variables.
        let boundary: BTreeSet<usize> = reduced.boundary.iter().copied().collect();
        let mut degree: HashMap<usize, u64> = HashMap::new();
        for &ei in &reduced.edges {
            if let Some(e) = g.edges.get(ei) {
                *degree.entry(e.src).or_default() += e.count;
                *degree.entry(e.dst).or_default() += e.count;
            }
        }
        let seeds: BTreeSet<usize> = reduced.seeds.iter().copied().collect();
        let roots: BTreeSet<usize> = reduced.roots.iter().copied().collect();
        let mut cand: Vec<usize> = reduced
            .entities
            .iter()
            .copied()
            .filter(|v| !boundary.contains(v) || seeds.contains(v))
            .collect();
        cand.sort_by(|&a, &b| {
            let pri = |v: usize| {
                (
                    u8::from(seeds.contains(&v) || roots.contains(&v)),
                    u8::from(rank.contains_key(&v)),
                )
            };
            pri(b)
                .cmp(&pri(a))
                .then_with(|| {
                    let x = anomaly.get(&a).copied().unwrap_or(0.0);
                    let y = anomaly.get(&b).copied().unwrap_or(0.0);
                    y.total_cmp(&x)
                })
                .then_with(|| degree.get(&b).cmp(&degree.get(&a)))
                .then_with(|| a.cmp(&b))
        });
        cand.truncate(cc.max_variables);
        let mut view = CausalView {
            ci_test: self.ci.name().to_owned(),
            alpha: cc.alpha,
            variables: cand.len(),
            samples: 0,
            tests_run: 0,
            edges: Vec::new(),
            note: None,
        };
        let mut map = HashMap::new();
        if cand.len() < 2 {
            view.note = Some("fewer than two entities to relate".to_owned());
            return Ok((view, map));
        }
        let (data, first_seen) = activity_dataset(g, &reduced.edges, &cand, cc.max_bins)?;
        view.samples = data.n_samples();
        if data.n_samples() < 10 {
            view.note = Some(format!(
                "only {} time bins of activity: too few samples for CI tests",
                data.n_samples()
            ));
            return Ok((view, map));
        }
        let pos: HashMap<usize, usize> = cand.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
        for &ei in &reduced.edges {
            let Some(e) = g.edges.get(ei) else { continue };
            if let (Some(&a), Some(&b)) = (pos.get(&e.src), pos.get(&e.dst)) {
                if a != b {
                    pairs.insert((a.min(b), a.max(b)));
                }
            }
        }
        let bg = Background {
            first_seen,
            tactic_rank: cand.iter().map(|v| rank.get(v).copied()).collect(),
            candidate_pairs: Some(pairs.into_iter().collect()),
            forbidden: Vec::new(),
        };
        let pc = PcConfig {
            alpha: cc.alpha,
            max_cond_size: cc.max_cond_size,
            max_tests: Some(20_000),
            ..PcConfig::default()
        };
        let cg = pc_stable(&data, self.ci.as_ref(), &bg, &pc)?;
        view.tests_run = cg.tests_run;
        for e in &cg.edges {
            let (Some(&a), Some(&b)) = (cand.get(e.from), cand.get(e.to)) else {
                continue;
            };
            map.insert((a, b), e.strength);
            let key = |v: usize| g.entities.get(v).map(|x| entity_key(x)).unwrap_or_default();
            view.edges.push(CausalEdgeView {
                from: key(a),
                to: key(b),
                directed: e.directed,
                strength: e.strength,
                p_value: e.p_value,
            });
        }
        Ok((view, map))
    }
}
