//! Linux auditd logs (raw and ENRICHED) → provenance events.
//!
//! In: a byte stream of audit lines. Each line is parsed into a borrowed
//! [`record`] (no per-field allocation), records are joined into events by
//! [`coalesce`] (by time and serial; complete on `EOE`, on idling past
//! `event_expiry_ms` of event time, at the in-flight cap, or at the end),
//! and each event is mapped to edges by [`edges`] with THE table in
//! [`mapping`]. The process table ([`process`]) keeps one entity per process
//! lifetime, keyed by pid and start time.
//!
//! State and bounds: in-flight events ≤ `max_inflight_events`, remembered
//! completed ids ≤ `max_completed_ids`, processes ≤ `max_processes`, named
//! entities ≤ `max_cached_entities`, command lines ≤ `argv_limit_bytes`,
//! one event's records ≤ `max_event_bytes`.
//!
//! The mapping and the field → attribute table are in `docs/formats/auditd.md`.

mod cache;
mod coalesce;
mod edges;
mod execve;
mod mapping;
mod process;
mod record;
mod sockaddr;

use std::collections::VecDeque;

use event::Event;

use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::lines::LineReader;
use crate::{EventIter, IngestSettings};

use coalesce::{AuditEvent, CoalesceBounds, Coalescer};
use edges::{BuilderSettings, EdgeBuilder};
use record::parse_record;

/// Bounds of the auditd parser.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditdSettings {
    /// Most audit events assembled at once (records waiting for their EOE).
    pub max_inflight_events: usize,
    /// Most processes tracked in the pid table.
    pub max_processes: usize,
    /// An event without `EOE` is complete once a record more than this many
    /// milliseconds (event time) later has been read. The shared logs have no
    /// `EOE` and the widest lag seen in them is 32 ms; laurel waits longer
    /// because it reads live sockets.
    pub event_expiry_ms: u64,
    /// How many completed event ids are remembered to detect duplicates.
    pub max_completed_ids: usize,
    /// Most named entities (files, sockets, principals) cached.
    pub max_cached_entities: usize,
    /// Bytes of a command line kept (EXECVE or PROCTITLE); the rest is cut and marked `…`.
    pub argv_limit_bytes: usize,
    /// Most bytes of records kept for one event; later records of it are dropped.
    pub max_event_bytes: usize,
}

impl Default for AuditdSettings {
    fn default() -> Self {
        Self {
            max_inflight_events: 4096,
            max_processes: 65_536,
            event_expiry_ms: 1000,
            max_completed_ids: 16_384,
            max_cached_entities: 65_536,
            argv_limit_bytes: 4096,
            max_event_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Opens an auditd log.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened. Everything later (bad lines,
/// sequence faults, a damaged gzip stream) comes out of the iterator.
pub fn open(file: &InputFile, settings: &IngestSettings) -> Result<EventIter> {
    let inner = file.open()?;
    let lines = LineReader::new(inner, file.path.clone(), settings.max_line_bytes, "auditd");
    Ok(Box::new(AuditdReader::new(lines, settings)))
}

/// Streams the events of one auditd log.
pub struct AuditdReader {
    path: std::sync::Arc<std::path::PathBuf>,
    lines: LineReader,
    coalescer: Coalescer,
    builder: EdgeBuilder,
    completed: VecDeque<std::result::Result<AuditEvent, Error>>,
    out: VecDeque<Result<Event>>,
    finished: bool,
}

impl AuditdReader {
    /// Wraps a line reader.
    pub fn new(lines: LineReader, settings: &IngestSettings) -> Self {
        let a = &settings.auditd;
        let path = std::sync::Arc::clone(lines.path());
        Self {
            coalescer: Coalescer::new(
                std::sync::Arc::clone(&path),
                CoalesceBounds {
                    max_inflight_events: a.max_inflight_events,
                    event_expiry_ms: a.event_expiry_ms,
                    max_completed_ids: a.max_completed_ids,
                    max_event_bytes: a.max_event_bytes,
                },
            ),
            builder: EdgeBuilder::new(
                path,
                BuilderSettings {
                    host: settings.host.clone(),
                    max_processes: a.max_processes,
                    max_cached_entities: a.max_cached_entities,
                    argv_limit_bytes: a.argv_limit_bytes,
                },
            ),
            path: std::sync::Arc::clone(lines.path()),
            lines,
            completed: VecDeque::new(),
            out: VecDeque::new(),
            finished: false,
        }
    }

    fn read_line(&mut self) {
        let line_no = self.lines.line_number().saturating_add(1);
        match self.lines.next_line() {
            None => {
                self.finished = true;
                self.coalescer.finish(&mut self.completed);
                self.log_summary();
            }
            Some(Err(e)) => self.out.push_back(Err(e)),
            Some(Ok(line)) => {
                if line.trim_ascii().is_empty() {
                    return;
                }
                match parse_record(line) {
                    Ok(record) => self.coalescer.push(&record, line_no, &mut self.completed),
                    Err(fault) => self.out.push_back(Err(Error::malformed(
                        &self.path,
                        line_no,
                        fault.field,
                        fault.expected,
                        fault.found,
                    ))),
                }
            }
        }
    }

    fn log_summary(&self) {
        let c = self.coalescer.stats();
        let b = self.builder.stats();
        let (process_evictions, entity_evictions) = self.builder.evictions();
        tracing::debug!(
            message = "Audit log finished.",
            path = %self.path.display(),
            completed_by_eoe = c.completed_by_eoe,
            completed_by_expiry = c.completed_by_expiry,
            completed_at_end = c.completed_at_end,
            inflight_evicted = c.evicted,
            duplicates = c.duplicates,
            syscall_events = b.syscall_events,
            non_syscall_events = b.non_syscall_events,
            failed_syscalls = b.failed,
            unmapped_syscalls = b.unmapped,
            threads = b.threads,
            clone3_threads = b.clone3_threads,
            no_object = b.no_object,
            self_signals = b.self_signals,
            process_evictions,
            entity_evictions,
        );
    }
}

impl Iterator for AuditdReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            if let Some(done) = self.completed.pop_front() {
                match done {
                    Ok(event) => {
                        self.builder.build(&event, &mut self.out);
                        self.coalescer.recycle(event);
                    }
                    Err(e) => self.out.push_back(Err(e)),
                }
                continue;
            }
            if self.finished {
                return None;
            }
            self.read_line();
        }
    }
}
