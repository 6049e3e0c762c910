//! The closing summary of a preprocessing run, also stored in the manifest.
//!
//! Distinct entities are counted exactly while fewer than
//! [`EXACT_DISTINCT_CAP`] of a kind have been seen; past that the count of
//! that kind switches to a HyperLogLog estimate (about 0.8 % standard error)
//! and the summary says so, so that a 5 GB input does not need a set of every
//! entity id in memory.

use std::collections::{BTreeMap, HashSet};

use event::{EdgeKind, EntityId, EntityKind};
use serde::{Deserialize, Serialize};

use crate::window::GraphWindow;

/// Past this many distinct ids of one kind, counting becomes approximate.
pub const EXACT_DISTINCT_CAP: usize = 2_000_000;

/// What a preprocessing run read and wrote. Keys are the stable lower-case names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Input files read.
    pub files: u64,
    /// Events (edges) written.
    pub events: u64,
    /// Distinct entities by kind over the whole run.
    pub entities_by_type: BTreeMap<String, u64>,
    /// Edges by kind.
    pub edges_by_type: BTreeMap<String, u64>,
    /// Windows written.
    pub windows: u64,
    /// Records skipped, by error kind.
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// True when some `entities_by_type` figure is a HyperLogLog estimate.
    #[serde(default)]
    pub entities_approximate: bool,
    /// Events whose time was before their window's start.
    #[serde(default)]
    pub late_events: u64,
    /// Events kept in the window their process was born in, past its end
    /// (`windowing.process_grace_secs`).
    #[serde(default)]
    pub grace_events: u64,
}

impl Summary {
    /// Total records skipped.
    pub fn skipped(&self) -> u64 {
        self.skipped_by_reason.values().sum()
    }

    /// Total distinct entities.
    pub fn entities(&self) -> u64 {
        self.entities_by_type.values().sum()
    }
}

/// Accumulates a [`Summary`] from windows as they are written.
#[derive(Debug, Default)]
pub struct SummaryBuilder {
    summary: Summary,
    edges: Vec<u64>,
    distinct: BTreeMap<EntityKind, DistinctCounter>,
}

impl SummaryBuilder {
    /// Counts one window's edges and entities.
    pub fn add_window(&mut self, window: &GraphWindow) {
        self.summary.windows = self.summary.windows.saturating_add(1);
        let n = u64::try_from(window.edges.len()).unwrap_or(u64::MAX);
        self.summary.events = self.summary.events.saturating_add(n);
        for e in &window.edges {
            let i = e.kind.index();
            if self.edges.len() <= i {
                self.edges
                    .resize(EdgeKind::ALL.len().max(i.saturating_add(1)), 0);
            }
            if let Some(c) = self.edges.get_mut(i) {
                *c = c.saturating_add(1);
            }
        }
        for node in &window.nodes {
            self.distinct.entry(node.kind).or_default().insert(node.id);
        }
    }

    /// Counts one skipped record.
    pub fn add_skipped(&mut self, reason: &str) {
        let c = self
            .summary
            .skipped_by_reason
            .entry(reason.to_owned())
            .or_insert(0);
        *c = c.saturating_add(1);
    }

    /// Sets the number of files read, late events and grace events.
    pub fn set_totals(&mut self, files: u64, late_events: u64, grace_events: u64) {
        self.summary.files = files;
        self.summary.late_events = late_events;
        self.summary.grace_events = grace_events;
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        let mut s = self.summary.clone();
        for (i, kind) in EdgeKind::ALL.iter().enumerate() {
            let c = self.edges.get(i).copied().unwrap_or(0);
            if c > 0 {
                s.edges_by_type.insert(kind.as_str().to_owned(), c);
            }
        }
        for (kind, counter) in &self.distinct {
            s.entities_by_type
                .insert(kind.as_str().to_owned(), counter.count());
            s.entities_approximate |= counter.is_approximate();
        }
        s
    }
}

/// Counts distinct ids: exact up to [`EXACT_DISTINCT_CAP`], HyperLogLog after.
#[derive(Debug, Default)]
pub struct DistinctCounter {
    exact: Option<HashSet<EntityId>>,
    hll: Option<HyperLogLog>,
}

impl DistinctCounter {
    /// Adds one id.
    pub fn insert(&mut self, id: EntityId) {
        if let Some(hll) = &mut self.hll {
            hll.insert(id.0);
            return;
        }
        let set = self.exact.get_or_insert_with(HashSet::new);
        set.insert(id);
        if set.len() > EXACT_DISTINCT_CAP {
            let mut hll = HyperLogLog::default();
            for id in set.iter() {
                hll.insert(id.0);
            }
            self.exact = None;
            self.hll = Some(hll);
        }
    }

    /// The count (exact or estimated).
    pub fn count(&self) -> u64 {
        match (&self.hll, &self.exact) {
            (Some(h), _) => h.estimate(),
            (None, Some(s)) => u64::try_from(s.len()).unwrap_or(u64::MAX),
            (None, None) => 0,
        }
    }

    /// True once the count is an estimate.
    pub fn is_approximate(&self) -> bool {
        self.hll.is_some()
    }
}

const HLL_BITS: u32 = 14;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

/// HyperLogLog with 2^14 registers (16 KiB). Ids are already well-mixed hashes.
#[derive(Debug, Clone)]
pub struct HyperLogLog {
    registers: Vec<u8>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        Self {
            registers: vec![0; HLL_REGISTERS],
        }
    }
}

impl HyperLogLog {
    /// Adds a 64-bit hash.
    pub fn insert(&mut self, hash: u64) {
        let idx = usize::try_from(hash >> (64 - HLL_BITS)).unwrap_or(0);
        let rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
        let rank = u8::try_from(rest.leading_zeros().saturating_add(1)).unwrap_or(u8::MAX);
        if let Some(r) = self.registers.get_mut(idx) {
            *r = (*r).max(rank);
        }
    }

    /// Estimated number of distinct hashes inserted.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn estimate(&self) -> u64 {
        let m = HLL_REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 0.5f64.powi(i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let est = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        est.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::IdHasher;

    #[test]
    fn hyperloglog_is_within_three_percent() {
        let mut h = HyperLogLog::default();
        let n = 300_000u64;
        for i in 0..n {
            h.insert(IdHasher::new("t").with_u64(i).finish().0);
        }
        let est = h.estimate();
        let err = (est as f64 - n as f64).abs() / n as f64;
        assert!(err < 0.03, "estimate {est} for {n}");
    }

    #[test]
    fn exact_below_cap() {
        let mut c = DistinctCounter::default();
        for i in 0..1000u64 {
            c.insert(EntityId(i % 10));
        }
        assert_eq!(c.count(), 10);
        assert!(!c.is_approximate());
    }
}
