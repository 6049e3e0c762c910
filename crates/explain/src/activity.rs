//! Activity series: the variables causal discovery sees.
//!
//! Each chosen entity becomes one variable: how many events touched it in
//! each time bin. The bins span the reduced graph's own events, not the
//! alert window: an attack that lives 40 ms inside a 40 s window is cut into
//! as many bins as it has events, so its bursts fall into different samples.

use std::collections::HashSet;

use event::Timestamp;

use crate::causal::Dataset;
use crate::error::Result;
use crate::provgraph::{FlowEdge, ProvGraph};

/// Times of an edge's events: the kept ones, plus the rest spread evenly
/// over `first..=last`.
fn edge_times(e: &FlowEdge) -> Vec<i64> {
    let mut t: Vec<i64> = e.times.iter().map(|t| t.as_nanos()).collect();
    let kept = u64::try_from(t.len()).unwrap_or(u64::MAX);
    let rest = e.count.saturating_sub(kept);
    if rest > 0 {
        let (a, b) = (e.first.as_nanos(), e.last.as_nanos());
        let span = b.saturating_sub(a);
        for i in 0..rest.min(100_000) {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let off = (span as f64 * (i as f64 + 0.5) / rest as f64) as i64;
            t.push(a.saturating_add(off));
        }
    }
    t
}

/// Activity series of `vars` over the events of `edges`.
///
/// Returns the dataset (one column per variable, named by entity index) and
/// each variable's first activity in seconds since the first event.
///
/// # Errors
/// Only when the columns cannot form a dataset (never for well-formed input).
pub fn activity_dataset(
    g: &ProvGraph,
    edges: &[usize],
    vars: &[usize],
    max_bins: usize,
) -> Result<(Dataset, Vec<Option<f64>>)> {
    let var_set: HashSet<usize> = vars.iter().copied().collect();
    let mut all: Vec<i64> = Vec::new();
    let mut per_edge: Vec<(usize, usize, Vec<i64>)> = Vec::new();
    for &ei in edges {
        let Some(e) = g.edges.get(ei) else { continue };
        let t = edge_times(e);
        all.extend_from_slice(&t);
        if var_set.contains(&e.src) || var_set.contains(&e.dst) {
            per_edge.push((e.src, e.dst, t));
        }
    }
    all.sort_unstable();
    let t0 = all.first().copied().unwrap_or(0);
    let t1 = all.last().copied().unwrap_or(0);
    // Fixed-width bins over the span, as many as events (at least 20, at
    // most `max_bins`): an attack that lives 40 ms is still cut into
    // enough samples for a CI test, mostly zeros around its bursts.
    let bins = max_bins.min(all.len().max(20)).max(2);
    let span = (t1.saturating_sub(t0)).max(1);
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let bin_of = |t: i64| {
        let f = (t.saturating_sub(t0)) as f64 / span as f64;
        ((f * bins as f64) as usize).min(bins - 1)
    };
    let pos: std::collections::HashMap<usize, usize> =
        vars.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let mut cols = vec![vec![0.0f64; bins]; vars.len()];
    let mut first: Vec<Option<i64>> = vec![None; vars.len()];
    for (src, dst, times) in &per_edge {
        for v in [src, dst] {
            let Some(&i) = pos.get(v) else { continue };
            let Some(col) = cols.get_mut(i) else { continue };
            for &t in times {
                if let Some(c) = col.get_mut(bin_of(t)) {
                    *c += 1.0;
                }
            }
            if let (Some(f), Some(&m)) = (first.get_mut(i), times.iter().min()) {
                *f = Some(f.map_or(m, |x| x.min(m)));
            }
        }
    }
    let names = vars.iter().map(|v| format!("e{v}")).collect();
    #[allow(clippy::cast_precision_loss)]
    let first_secs = first
        .into_iter()
        .map(|f| f.map(|t| Timestamp::from_nanos(t.saturating_sub(t0)).as_secs_f64()))
        .collect();
    Ok((Dataset::new(cols, names)?, first_secs))
}

/// Activity series of the `top` busiest entities of `g` (events per
/// `bin_secs` bin over the graph's whole span): the real provenance the
/// neural CI tester is trained and checked on.
pub fn entity_series(g: &ProvGraph, top: usize, bin_secs: f64) -> Vec<Vec<f64>> {
    let (Some(start), Some(end)) = (g.start, g.end) else {
        return Vec::new();
    };
    let width = (bin_secs.max(1e-6) * 1e9) as i64;
    let span = end.as_nanos().saturating_sub(start.as_nanos());
    let bins = usize::try_from(span / width.max(1))
        .unwrap_or(0)
        .saturating_add(1);
    if bins < 2 {
        return Vec::new();
    }
    let mut busy: Vec<(u64, usize)> = (0..g.len())
        .map(|v| {
            let n: u64 = g
                .in_edges
                .get(v)
                .into_iter()
                .flatten()
                .chain(g.out_edges.get(v).into_iter().flatten())
                .filter_map(|&e| g.edges.get(e).map(|e| e.count))
                .sum();
            (n, v)
        })
        .collect();
    busy.sort_by(|a, b| b.cmp(a));
    busy.into_iter()
        .take(top)
        .map(|(_, v)| {
            let mut col = vec![0.0f64; bins];
            for &ei in g
                .in_edges
                .get(v)
                .into_iter()
                .flatten()
                .chain(g.out_edges.get(v).into_iter().flatten())
            {
                let Some(e) = g.edges.get(ei) else { continue };
                for t in edge_times(e) {
                    let b = usize::try_from(t.saturating_sub(start.as_nanos()) / width.max(1))
                        .unwrap_or(0)
                        .min(bins - 1);
                    if let Some(c) = col.get_mut(b) {
                        *c += 1.0;
                    }
                }
            }
            col
        })
        .collect()
}
