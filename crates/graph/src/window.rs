//! Graph windows: the unit every later stage works on.

use std::collections::HashMap;
use std::sync::Arc;

use event::{EdgeKind, Entity, EntityId, Event, Timestamp};
use serde::{Deserialize, Serialize};

/// How the event stream is cut into windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowSettings {
    /// Window length in seconds (windows align to multiples of it since the
    /// epoch, so two runs over overlapping logs cut the same windows).
    /// `None` cuts by event count only.
    pub window_secs: Option<f64>,
    /// Close a window after this many events (used when `window_secs` is None,
    /// and as an extra cut otherwise).
    pub window_events: Option<usize>,
    /// Hard cap on events held in one window: the memory bound. A window that
    /// reaches it is closed early and the split is counted.
    pub max_events_per_window: usize,
}

impl Default for WindowSettings {
    fn default() -> Self {
        // 10 s: the shared auditd recordings (40-50 s) give 4-6 windows each,
        // and a 10 s window of that workload holds a few thousand events.
        Self {
            window_secs: Some(10.0),
            window_events: None,
            max_events_per_window: 1_000_000,
        }
    }
}

/// One edge as stored: endpoints by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeRow {
    /// Event time.
    pub ts: Timestamp,
    /// Edge type.
    pub kind: EdgeKind,
    /// Subject.
    pub src: EntityId,
    /// Object.
    pub dst: EntityId,
    /// Source's own event type name.
    pub native_type: Arc<str>,
    /// Source's sequence number.
    pub seq: u64,
}

/// A closed window: its entities (latest attributes seen in it) and edges in arrival order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphWindow {
    /// 0-based index in the stream of windows.
    pub id: u32,
    /// Start (inclusive) of the window's time range.
    pub start: Timestamp,
    /// End (exclusive) of the window's time range (for count windows: last event time + 1 ns).
    pub end: Timestamp,
    /// Entities touched in the window, sorted by id.
    pub nodes: Vec<Arc<Entity>>,
    /// Edges in arrival order.
    pub edges: Vec<EdgeRow>,
}

impl GraphWindow {
    /// The entity with this id, if it is in the window (binary search: nodes are sorted).
    pub fn node(&self, id: EntityId) -> Option<&Arc<Entity>> {
        self.nodes
            .binary_search_by_key(&id, |n| n.id)
            .ok()
            .and_then(|i| self.nodes.get(i))
    }
}

/// Cuts a stream of events into [`GraphWindow`]s.
///
/// Memory: one open window, at most `max_events_per_window` edges plus their
/// distinct entities.
#[derive(Debug)]
pub struct WindowBuilder {
    settings: WindowSettings,
    window_nanos: Option<i64>,
    next_id: u32,
    open: Option<OpenWindow>,
    late_events: u64,
    early_splits: u64,
}

#[derive(Debug)]
struct OpenWindow {
    start: Timestamp,
    end: Option<Timestamp>,
    last_ts: Timestamp,
    nodes: HashMap<EntityId, Arc<Entity>>,
    edges: Vec<EdgeRow>,
}

impl WindowBuilder {
    /// A builder with these settings. A non-positive or non-finite
    /// `window_secs` is treated as "no time cut".
    pub fn new(settings: WindowSettings) -> Self {
        #[allow(clippy::cast_possible_truncation)]
        let window_nanos = settings
            .window_secs
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| ((s * 1e9).round() as i64).max(1));
        Self {
            settings,
            window_nanos,
            next_id: 0,
            open: None,
            late_events: 0,
            early_splits: 0,
        }
    }

    /// Events that arrived with a time before their window's start (kept in the open window).
    pub fn late_events(&self) -> u64 {
        self.late_events
    }

    /// Windows closed early by `max_events_per_window`.
    pub fn early_splits(&self) -> u64 {
        self.early_splits
    }

    /// Adds one event; returns the window it closed, if any.
    pub fn push(&mut self, event: Event) -> Option<GraphWindow> {
        let mut closed = None;
        if let Some(open) = &self.open {
            let past_end = open.end.is_some_and(|end| event.ts >= end);
            let count_full = self
                .settings
                .window_events
                .is_some_and(|n| open.edges.len() >= n.max(1));
            let cap_full = open.edges.len() >= self.settings.max_events_per_window.max(1);
            if cap_full && !past_end && !count_full {
                self.early_splits = self.early_splits.saturating_add(1);
                tracing::warn!(
                    message = "Window reached its event cap and was split.",
                    cap = self.settings.max_events_per_window
                );
            }
            if past_end || count_full || cap_full {
                closed = self.close();
            }
        }
        let open = self.open.get_or_insert_with(|| {
            let (start, end) = match self.window_nanos {
                Some(w) => {
                    let start = event.ts.as_nanos().div_euclid(w).saturating_mul(w);
                    (
                        Timestamp::from_nanos(start),
                        Some(Timestamp::from_nanos(start.saturating_add(w))),
                    )
                }
                None => (event.ts, None),
            };
            OpenWindow {
                start,
                end,
                last_ts: event.ts,
                nodes: HashMap::new(),
                edges: Vec::new(),
            }
        });
        if event.ts < open.start {
            self.late_events = self.late_events.saturating_add(1);
        }
        open.last_ts = open.last_ts.max(event.ts);
        let row = EdgeRow {
            ts: event.ts,
            kind: event.kind,
            src: event.subject.id,
            dst: event.object.id,
            native_type: event.native_type,
            seq: event.seq,
        };
        open.nodes.insert(event.subject.id, event.subject);
        open.nodes.insert(event.object.id, event.object);
        open.edges.push(row);
        closed
    }

    /// Closes the open window, if any (call at the end of the stream).
    pub fn finish(&mut self) -> Option<GraphWindow> {
        self.close()
    }

    fn close(&mut self) -> Option<GraphWindow> {
        let open = self.open.take()?;
        let mut nodes: Vec<Arc<Entity>> = open.nodes.into_values().collect();
        nodes.sort_by_key(|n| n.id);
        let end = match open.end {
            Some(end) if open.last_ts < end => end,
            _ => open.last_ts.saturating_add_nanos(1),
        };
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        Some(GraphWindow {
            id,
            start: open.start,
            end,
            nodes,
            edges: open.edges,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::{EntityKind, NativeId, SourceFormat};

    fn ev(ts_secs: i64, pid: u32) -> Event {
        let p = Arc::new(Entity::new(
            EntityKind::Process,
            NativeId::AuditdProcess {
                pid,
                start: Timestamp::from_nanos(0),
            },
            None,
        ));
        let f = Arc::new(Entity::named(EntityKind::File, "/etc/passwd", None));
        Event {
            ts: Timestamp::from_secs_nanos(ts_secs, 0).unwrap(),
            kind: EdgeKind::Read,
            subject: p,
            object: f,
            native_type: Arc::from("openat"),
            seq: 1,
            format: SourceFormat::Auditd,
        }
    }

    #[test]
    fn cuts_by_aligned_time() {
        let mut b = WindowBuilder::new(WindowSettings {
            window_secs: Some(10.0),
            ..Default::default()
        });
        assert!(b.push(ev(101, 1)).is_none());
        assert!(b.push(ev(109, 2)).is_none());
        let w = b.push(ev(110, 1)).expect("closes at 110");
        assert_eq!(w.id, 0);
        assert_eq!(w.start, Timestamp::from_secs_nanos(100, 0).unwrap());
        assert_eq!(w.end, Timestamp::from_secs_nanos(110, 0).unwrap());
        assert_eq!(w.edges.len(), 2);
        assert_eq!(w.nodes.len(), 3, "two processes and one file");
        let w = b.finish().unwrap();
        assert_eq!((w.id, w.edges.len()), (1, 1));
        assert!(b.finish().is_none());
    }

    #[test]
    fn cuts_by_count_and_by_cap() {
        let mut b = WindowBuilder::new(WindowSettings {
            window_secs: None,
            window_events: Some(2),
            ..Default::default()
        });
        let closed: Vec<_> = (0..5).filter_map(|i| b.push(ev(i, 1))).collect();
        assert_eq!(
            closed.iter().map(|w| w.edges.len()).collect::<Vec<_>>(),
            vec![2, 2]
        );
        let mut b = WindowBuilder::new(WindowSettings {
            window_secs: Some(100.0),
            window_events: None,
            max_events_per_window: 3,
        });
        let closed: Vec<_> = (0..7).filter_map(|i| b.push(ev(i, 1))).collect();
        assert_eq!(closed.len(), 2);
        assert_eq!(b.early_splits(), 2);
    }

    #[test]
    fn late_events_stay_in_the_open_window() {
        let mut b = WindowBuilder::new(WindowSettings::default());
        b.push(ev(100, 1));
        assert!(b.push(ev(95, 1)).is_none());
        assert_eq!(b.late_events(), 1);
        assert_eq!(b.finish().unwrap().edges.len(), 2);
    }
}
