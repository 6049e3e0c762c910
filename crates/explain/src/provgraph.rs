//! The graph explanation works on: entities plus merged information-flow edges.
//!
//! Provenance events point from subject to object, but causality follows the
//! data: a read moves data from the file into the process, a write from the
//! process into the file. Each event is turned into a *flow* edge in the
//! direction data moves ([`EdgeKind::flows_to_subject`]), and repeated events
//! of the same kind between the same two entities are merged into one edge
//! with its first and last time and a count. Merging is the first
//! dependency-explosion control: a process that reads a file 10,000 times is
//! one edge, not 10,000.

use std::collections::HashMap;
use std::sync::Arc;

use event::{EdgeKind, Entity, EntityId, Event, SourceFormat, Timestamp};
use graph::GraphWindow;

/// A merged information-flow edge.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowEdge {
    /// Where data came from (index into [`ProvGraph::entities`]).
    pub src: usize,
    /// Where data went.
    pub dst: usize,
    /// The event kind.
    pub kind: EdgeKind,
    /// The source's own event name of the first merged event.
    pub native_type: Arc<str>,
    /// First merged event.
    pub first: Timestamp,
    /// Last merged event.
    pub last: Timestamp,
    /// Events merged into this edge.
    pub count: u64,
    /// True when the event's subject is `dst` (data flowed into the actor).
    pub into_subject: bool,
    /// Times of the first [`MAX_TIMES_PER_EDGE`] merged events (the activity
    /// series of causal discovery spread the rest evenly over `first..last`).
    pub times: Vec<Timestamp>,
}

/// Event times kept per merged edge: bounds memory on hot edges.
pub const MAX_TIMES_PER_EDGE: usize = 256;

/// Entities and merged flow edges of a stretch of time.
#[derive(Debug, Clone, Default)]
pub struct ProvGraph {
    /// Entities, in first-seen order.
    pub entities: Vec<Arc<Entity>>,
    /// Merged flow edges.
    pub edges: Vec<FlowEdge>,
    /// Edges leaving each entity.
    pub out_edges: Vec<Vec<usize>>,
    /// Edges entering each entity.
    pub in_edges: Vec<Vec<usize>>,
    /// Raw events before merging.
    pub total_events: u64,
    /// Earliest event.
    pub start: Option<Timestamp>,
    /// Latest event.
    pub end: Option<Timestamp>,
    /// Source format of the events (the first one seen).
    pub format: Option<SourceFormat>,
    index: HashMap<EntityId, usize>,
    merged: HashMap<(usize, usize, EdgeKind), usize>,
}

impl ProvGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// A graph from consecutive windows (the detector's unit).
    pub fn from_windows<'a>(windows: impl IntoIterator<Item = &'a GraphWindow>) -> Self {
        let mut g = Self::new();
        for w in windows {
            g.add_window(w);
        }
        g
    }

    /// Adds every edge of a window.
    pub fn add_window(&mut self, w: &GraphWindow) {
        for e in &w.edges {
            let (Some(s), Some(o)) = (w.node(e.src), w.node(e.dst)) else {
                continue;
            };
            self.add(e.ts, e.kind, s, o, &e.native_type);
        }
    }

    /// Adds one event.
    pub fn add_event(&mut self, ev: &Event) {
        if self.format.is_none() {
            self.format = Some(ev.format);
        }
        self.add(ev.ts, ev.kind, &ev.subject, &ev.object, &ev.native_type);
    }

    fn entity(&mut self, e: &Arc<Entity>) -> usize {
        if let Some(&i) = self.index.get(&e.id) {
            // Later sightings carry the latest attributes (an exec renames a process).
            if let Some(slot) = self.entities.get_mut(i) {
                if slot.cmdline.is_none() && e.cmdline.is_some()
                    || slot.name.is_none() && e.name.is_some()
                {
                    *slot = Arc::clone(e);
                }
            }
            return i;
        }
        let i = self.entities.len();
        self.entities.push(Arc::clone(e));
        self.out_edges.push(Vec::new());
        self.in_edges.push(Vec::new());
        self.index.insert(e.id, i);
        i
    }

    fn add(
        &mut self,
        ts: Timestamp,
        kind: EdgeKind,
        subject: &Arc<Entity>,
        object: &Arc<Entity>,
        native: &Arc<str>,
    ) {
        let s = self.entity(subject);
        let o = self.entity(object);
        self.total_events = self.total_events.saturating_add(1);
        self.start = Some(self.start.map_or(ts, |t| t.min(ts)));
        self.end = Some(self.end.map_or(ts, |t| t.max(ts)));
        if s == o {
            // A self-loop carries no flow between entities.
            return;
        }
        let into_subject = kind.flows_to_subject();
        let (src, dst) = if into_subject { (o, s) } else { (s, o) };
        if let Some(&ei) = self.merged.get(&(src, dst, kind)) {
            if let Some(e) = self.edges.get_mut(ei) {
                e.first = e.first.min(ts);
                e.last = e.last.max(ts);
                e.count = e.count.saturating_add(1);
                if e.times.len() < MAX_TIMES_PER_EDGE {
                    e.times.push(ts);
                }
            }
            return;
        }
        let ei = self.edges.len();
        self.edges.push(FlowEdge {
            src,
            dst,
            kind,
            native_type: Arc::clone(native),
            first: ts,
            last: ts,
            count: 1,
            into_subject,
            times: vec![ts],
        });
        self.merged.insert((src, dst, kind), ei);
        if let Some(v) = self.out_edges.get_mut(src) {
            v.push(ei);
        }
        if let Some(v) = self.in_edges.get_mut(dst) {
            v.push(ei);
        }
    }

    /// The index of an entity id.
    pub fn index_of(&self, id: EntityId) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// True when the graph has no entity.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The event an edge stands for, rebuilt with the subject and object in
    /// their original roles (what ATT&CK rules match against).
    pub fn edge_event(&self, edge: &FlowEdge) -> Option<Event> {
        let (subj, obj) = if edge.into_subject {
            (edge.dst, edge.src)
        } else {
            (edge.src, edge.dst)
        };
        Some(Event {
            ts: edge.first,
            kind: edge.kind,
            subject: Arc::clone(self.entities.get(subj)?),
            object: Arc::clone(self.entities.get(obj)?),
            native_type: Arc::clone(&edge.native_type),
            seq: 0,
            format: self.format.unwrap_or(SourceFormat::Auditd),
        })
    }

    /// First and last event touching an entity (either end of an edge).
    pub fn activity_span(&self, v: usize) -> Option<(Timestamp, Timestamp)> {
        let mut span: Option<(Timestamp, Timestamp)> = None;
        for &ei in self
            .in_edges
            .get(v)
            .into_iter()
            .flatten()
            .chain(self.out_edges.get(v).into_iter().flatten())
        {
            if let Some(e) = self.edges.get(ei) {
                span =
                    Some(span.map_or((e.first, e.last), |(a, b)| (a.min(e.first), b.max(e.last))));
            }
        }
        span
    }

    /// Processes this process started (distinct children over fork edges):
    /// the fan-out that makes a launcher or shell a hub.
    pub fn children(&self, v: usize) -> usize {
        self.out_edges.get(v).map_or(0, |es| {
            es.iter()
                .filter(|&&e| self.edges.get(e).is_some_and(|e| e.kind == EdgeKind::Fork))
                .count()
        })
    }

    /// Distinct neighbours (in and out) of an entity: the fan-out that makes
    /// an object "shared" for dependency-explosion control.
    pub fn degree(&self, v: usize) -> usize {
        let mut seen: Vec<usize> = self
            .out_edges
            .get(v)
            .into_iter()
            .flatten()
            .filter_map(|&e| self.edges.get(e).map(|e| e.dst))
            .chain(
                self.in_edges
                    .get(v)
                    .into_iter()
                    .flatten()
                    .filter_map(|&e| self.edges.get(e).map(|e| e.src)),
            )
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::{EntityKind, NativeId};

    fn proc(pid: u32) -> Arc<Entity> {
        Arc::new(Entity::new(
            EntityKind::Process,
            NativeId::AuditdProcess {
                pid,
                start: Timestamp::from_nanos(0),
            },
            None,
        ))
    }

    fn file(path: &str) -> Arc<Entity> {
        Arc::new(Entity::new(
            EntityKind::File,
            NativeId::Name {
                name: path.to_owned(),
            },
            None,
        ))
    }

    fn ev(ts: i64, kind: EdgeKind, s: &Arc<Entity>, o: &Arc<Entity>) -> Event {
        Event {
            ts: Timestamp::from_nanos(ts),
            kind,
            subject: Arc::clone(s),
            object: Arc::clone(o),
            native_type: Arc::from("x"),
            seq: 0,
            format: SourceFormat::Auditd,
        }
    }

    #[test]
    fn reads_flow_into_the_process_and_repeats_merge() {
        let p = proc(1);
        let f = file("/etc/shadow");
        let mut g = ProvGraph::new();
        for t in [5, 1, 9] {
            g.add_event(&ev(t, EdgeKind::Read, &p, &f));
        }
        g.add_event(&ev(3, EdgeKind::Write, &p, &f));
        assert_eq!(g.total_events, 4);
        assert_eq!(g.edges.len(), 2);
        let read = &g.edges[0];
        assert_eq!((read.src, read.dst), (1, 0), "file -> process");
        assert_eq!(read.count, 3);
        assert_eq!(read.first.as_nanos(), 1);
        assert_eq!(read.last.as_nanos(), 9);
        let write = &g.edges[1];
        assert_eq!((write.src, write.dst), (0, 1), "process -> file");
        let back = g.edge_event(read).unwrap();
        assert_eq!(back.subject.id, p.id, "roles restored for rule matching");
        assert_eq!(g.degree(0), 1);
    }
}
