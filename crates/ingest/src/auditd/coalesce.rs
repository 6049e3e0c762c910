//! Joining the records of one audit event by `(node, time, serial)`.
//!
//! The kernel writes one event as several lines (`SYSCALL`, `EXECVE`, `CWD`,
//! `PATH`..., `PROCTITLE`, then `EOE`), and lines of concurrent events
//! interleave. An event completes when:
//! - its `EOE` arrives;
//! - it has been idle in event time: the newest record seen is more than
//!   `event_expiry_ms` later than the event (laurel's expiry; the shared logs
//!   have no `EOE` at all, and `LOGIN`/`DAEMON_*`/`USER_*` never do);
//! - the in-flight map is full (`max_inflight_events`): the oldest event is
//!   completed early and the eviction is counted;
//! - the input ends.
//!
//! A record for an event that was already completed is a
//! [`Error::DuplicateEvent`]; the set of completed ids it is checked against
//! keeps the last `max_completed_ids` ids.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Error;

use super::record::{Record, RecordKind, Stamp};

/// Identity of an event: host (hashed `node=`) plus stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EventKey {
    node: u64,
    stamp: Stamp,
}

/// One record kept in an [`AuditEvent`]: its kind, its line, and where its
/// payload lies in the event's buffer.
#[derive(Debug, Clone)]
pub(crate) struct RecordSpan {
    /// Record kind.
    pub kind: RecordKind,
    /// 1-based line of the record.
    pub line: u64,
    /// Range of the payload in [`AuditEvent::buf`].
    pub payload: Range<usize>,
}

/// The records of one event, copied out of their lines into one buffer.
#[derive(Debug, Default)]
pub(crate) struct AuditEvent {
    /// `node=` of the first record, when there was one.
    pub node: Option<Vec<u8>>,
    /// Event identity.
    pub stamp: Option<Stamp>,
    /// Line of the first record.
    pub first_line: u64,
    /// Concatenated payloads.
    pub buf: Vec<u8>,
    /// The records, in arrival order.
    pub records: Vec<RecordSpan>,
}

impl AuditEvent {
    /// The payload of one record.
    pub fn payload(&self, span: &RecordSpan) -> &[u8] {
        self.buf.get(span.payload.clone()).unwrap_or_default()
    }

    /// The records of one kind.
    pub fn records_of(&self, kind: RecordKind) -> impl Iterator<Item = &RecordSpan> {
        self.records.iter().filter(move |r| r.kind == kind)
    }

    fn clear(&mut self) {
        self.node = None;
        self.stamp = None;
        self.first_line = 0;
        self.buf.clear();
        self.records.clear();
    }
}

/// Bounds of the coalescer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoalesceBounds {
    /// Most events assembled at once.
    pub max_inflight_events: usize,
    /// Idle time in event time after which an event is complete.
    pub event_expiry_ms: u64,
    /// How many completed ids are remembered for duplicate detection.
    pub max_completed_ids: usize,
    /// Largest buffer kept for one event; further records are dropped.
    pub max_event_bytes: usize,
}

/// Counters of the coalescer, for the closing summary and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CoalesceStats {
    /// Events completed by `EOE`.
    pub completed_by_eoe: u64,
    /// Events completed by expiry in event time.
    pub completed_by_expiry: u64,
    /// Events completed early because the in-flight map was full.
    pub evicted: u64,
    /// Events completed at the end of the input.
    pub completed_at_end: u64,
    /// Records rejected as duplicates.
    pub duplicates: u64,
}

/// Assembles records into events.
pub(crate) struct Coalescer {
    path: Arc<PathBuf>,
    bounds: CoalesceBounds,
    inflight: HashMap<EventKey, AuditEvent>,
    /// Arrival order of in-flight keys, with their event time; may hold keys
    /// already completed by `EOE` (skipped when popped).
    order: VecDeque<(u64, EventKey)>,
    completed: HashSet<EventKey>,
    completed_order: VecDeque<EventKey>,
    newest_millis: u64,
    pool: Vec<AuditEvent>,
    last_node: Option<(Vec<u8>, u64)>,
    stats: CoalesceStats,
}

impl Coalescer {
    /// An empty coalescer for the file at `path`.
    pub fn new(path: Arc<PathBuf>, bounds: CoalesceBounds) -> Self {
        let bounds = CoalesceBounds {
            max_inflight_events: bounds.max_inflight_events.max(1),
            max_completed_ids: bounds.max_completed_ids.max(1),
            ..bounds
        };
        Self {
            path,
            bounds,
            inflight: HashMap::with_capacity(bounds.max_inflight_events.min(4096)),
            order: VecDeque::new(),
            completed: HashSet::new(),
            completed_order: VecDeque::new(),
            newest_millis: 0,
            pool: Vec::new(),
            last_node: None,
            stats: CoalesceStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> CoalesceStats {
        self.stats
    }

    /// Returns a finished event's buffers for reuse.
    pub fn recycle(&mut self, mut event: AuditEvent) {
        if self.pool.len() < 64 {
            event.clear();
            self.pool.push(event);
        }
    }

    fn node_hash(&mut self, node: Option<&[u8]>) -> u64 {
        let Some(node) = node else { return 0 };
        if let Some((bytes, hash)) = &self.last_node {
            if bytes.as_slice() == node {
                return *hash;
            }
        }
        let hash = event::IdHasher::new("node").with_bytes(node).finish().0;
        self.last_node = Some((node.to_vec(), hash));
        hash
    }

    /// Adds one record; completed events (and sequence faults) are appended to `out`.
    pub fn push(
        &mut self,
        record: &Record<'_>,
        line: u64,
        out: &mut VecDeque<Result<AuditEvent, Error>>,
    ) {
        let key = EventKey {
            node: self.node_hash(record.node),
            stamp: record.stamp,
        };
        let millis = record.stamp.as_millis();
        self.newest_millis = self.newest_millis.max(millis);

        if record.kind == RecordKind::Eoe {
            if let Some(event) = self.inflight.remove(&key) {
                self.stats.completed_by_eoe = self.stats.completed_by_eoe.saturating_add(1);
                self.remember(key);
                out.push_back(Ok(event));
            } else if self.completed.contains(&key) {
                self.duplicate(line, key, out);
            }
            // An EOE for an event never seen is an empty event: nothing to do.
            self.expire(out);
            return;
        }

        if !self.inflight.contains_key(&key) {
            if self.completed.contains(&key) {
                self.duplicate(line, key, out);
                self.expire(out);
                return;
            }
            let mut event = self.pool.pop().unwrap_or_default();
            event.node = record.node.map(<[u8]>::to_vec);
            event.stamp = Some(record.stamp);
            event.first_line = line;
            self.inflight.insert(key, event);
            self.order.push_back((millis, key));
        }
        if let Some(event) = self.inflight.get_mut(&key) {
            let room = self.bounds.max_event_bytes.saturating_sub(event.buf.len());
            if record.payload.len() <= room {
                let start = event.buf.len();
                event.buf.extend_from_slice(record.payload);
                event.records.push(RecordSpan {
                    kind: record.kind,
                    line,
                    payload: start..event.buf.len(),
                });
            } else {
                tracing::debug!(
                    message = "Audit event too large, record dropped.",
                    serial = key.stamp.serial,
                    line,
                    limit_bytes = self.bounds.max_event_bytes
                );
            }
        }
        self.expire(out);
    }

    fn duplicate(
        &mut self,
        line: u64,
        key: EventKey,
        out: &mut VecDeque<Result<AuditEvent, Error>>,
    ) {
        self.stats.duplicates = self.stats.duplicates.saturating_add(1);
        out.push_back(Err(Error::DuplicateEvent {
            path: Arc::clone(&self.path),
            line,
            serial: key.stamp.serial,
        }));
    }

    fn remember(&mut self, key: EventKey) {
        if self.completed.insert(key) {
            self.completed_order.push_back(key);
        }
        while self.completed_order.len() > self.bounds.max_completed_ids {
            if let Some(old) = self.completed_order.pop_front() {
                self.completed.remove(&old);
            }
        }
    }

    /// Completes events idle past the expiry, and the oldest ones while over the cap.
    fn expire(&mut self, out: &mut VecDeque<Result<AuditEvent, Error>>) {
        let cap = self.bounds.max_inflight_events;
        while let Some(&(millis, key)) = self.order.front() {
            let idle = millis.saturating_add(self.bounds.event_expiry_ms) < self.newest_millis;
            let over_cap = self.inflight.len() > cap || self.order.len() > cap.saturating_mul(2);
            if !idle && !over_cap {
                break;
            }
            self.order.pop_front();
            if let Some(event) = self.inflight.remove(&key) {
                if idle {
                    self.stats.completed_by_expiry =
                        self.stats.completed_by_expiry.saturating_add(1);
                } else {
                    self.stats.evicted = self.stats.evicted.saturating_add(1);
                    tracing::debug!(
                        message = "In-flight audit events at cap, oldest completed early.",
                        serial = key.stamp.serial,
                        max_inflight_events = cap
                    );
                }
                self.remember(key);
                out.push_back(Ok(event));
            }
        }
    }

    /// Completes everything still in flight (end of input), oldest first.
    pub fn finish(&mut self, out: &mut VecDeque<Result<AuditEvent, Error>>) {
        while let Some((_, key)) = self.order.pop_front() {
            if let Some(event) = self.inflight.remove(&key) {
                self.stats.completed_at_end = self.stats.completed_at_end.saturating_add(1);
                self.remember(key);
                out.push_back(Ok(event));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::parse_record;
    use super::*;

    fn bounds(max: usize) -> CoalesceBounds {
        CoalesceBounds {
            max_inflight_events: max,
            event_expiry_ms: 1000,
            max_completed_ids: 100,
            max_event_bytes: 1 << 20,
        }
    }

    /// Per completed event: its serial and the line numbers of its records.
    type Joined = Vec<Result<(u64, Vec<u64>), String>>;

    fn run(lines: &[&str], max: usize) -> (Joined, CoalesceStats) {
        let mut c = Coalescer::new(Arc::new(PathBuf::from("t.log")), bounds(max));
        let mut out = VecDeque::new();
        for (i, l) in lines.iter().enumerate() {
            let r = parse_record(l.as_bytes()).unwrap();
            c.push(&r, i as u64 + 1, &mut out);
        }
        c.finish(&mut out);
        let got = out
            .into_iter()
            .map(|e| {
                e.map(|e| {
                    (
                        e.stamp.unwrap().serial,
                        e.records.iter().map(|r| r.line).collect(),
                    )
                })
                .map_err(|e| e.to_string())
            })
            .collect();
        (got, c.stats())
    }

    #[test]
    fn joins_interleaved_records_and_completes_on_eoe() {
        let (got, stats) = run(
            &[
                "type=SYSCALL msg=audit(1.000:1): a=1",
                "type=SYSCALL msg=audit(1.000:2): a=1",
                "type=PATH msg=audit(1.000:1): item=0",
                "type=EOE msg=audit(1.000:1): ",
                "type=PROCTITLE msg=audit(1.000:2): proctitle=61",
                "type=EOE msg=audit(1.000:2): ",
            ],
            16,
        );
        assert_eq!(got, vec![Ok((1, vec![1, 3])), Ok((2, vec![2, 5]))]);
        assert_eq!(stats.completed_by_eoe, 2);
    }

    #[test]
    fn completes_events_without_eoe_once_idle_in_event_time() {
        let (got, stats) = run(
            &[
                "type=SYSCALL msg=audit(1.000:1): a=1",
                "type=PROCTITLE msg=audit(1.000:1): proctitle=61",
                "type=SYSCALL msg=audit(1.500:2): a=1",
                "type=SYSCALL msg=audit(2.001:3): a=1",
            ],
            16,
        );
        // Serial 1 expires when 2.001 arrives (more than 1000 ms later);
        // the others complete at the end.
        assert_eq!(
            got,
            vec![Ok((1, vec![1, 2])), Ok((2, vec![3])), Ok((3, vec![4]))]
        );
        assert_eq!(stats.completed_by_expiry, 1);
        assert_eq!(stats.completed_at_end, 2);
    }

    #[test]
    fn a_record_after_completion_is_a_duplicate() {
        let (got, stats) = run(
            &[
                "type=SYSCALL msg=audit(1.000:1): a=1",
                "type=EOE msg=audit(1.000:1): ",
                "type=PATH msg=audit(1.000:1): item=0",
                "type=SYSCALL msg=audit(1.000:2): a=1",
            ],
            16,
        );
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Ok((1, vec![1])));
        assert_eq!(
            got[1],
            Err("t.log:3: audit event 1 seen again after it was completed".into())
        );
        assert_eq!(got[2], Ok((2, vec![4])));
        assert_eq!(stats.duplicates, 1);
    }

    #[test]
    fn same_serial_at_another_time_is_another_event() {
        // Serials restart when the kernel does; the time keeps them apart.
        let (got, _) = run(
            &[
                "type=SYSCALL msg=audit(1.000:1): a=1",
                "type=EOE msg=audit(1.000:1): ",
                "type=SYSCALL msg=audit(9.000:1): a=1",
            ],
            16,
        );
        assert_eq!(got, vec![Ok((1, vec![1])), Ok((1, vec![3]))]);
    }

    #[test]
    fn the_inflight_map_never_exceeds_its_cap() {
        let lines: Vec<String> = (1..=10)
            .map(|s| format!("type=SYSCALL msg=audit(1.000:{s}): a=1"))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut c = Coalescer::new(Arc::new(PathBuf::from("t.log")), bounds(3));
        let mut out = VecDeque::new();
        for (i, l) in refs.iter().enumerate() {
            c.push(&parse_record(l.as_bytes()).unwrap(), i as u64 + 1, &mut out);
            assert!(c.inflight.len() <= 3);
        }
        assert_eq!(c.stats().evicted, 7);
        let serials: Vec<u64> = out
            .into_iter()
            .map(|e| e.unwrap().stamp.unwrap().serial)
            .collect();
        assert_eq!(serials, (1..=7).collect::<Vec<_>>(), "oldest evicted first");
    }

    #[test]
    fn nodes_keep_events_apart() {
        let (got, _) = run(
            &[
                "node=a type=SYSCALL msg=audit(1.000:1): a=1",
                "node=b type=SYSCALL msg=audit(1.000:1): a=1",
                "node=a type=EOE msg=audit(1.000:1): ",
                "node=b type=EOE msg=audit(1.000:1): ",
            ],
            16,
        );
        assert_eq!(got, vec![Ok((1, vec![1])), Ok((1, vec![2]))]);
    }
}
