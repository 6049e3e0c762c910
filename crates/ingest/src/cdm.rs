//! DARPA Transparent Computing CDM (13, 18, 20) JSON → provenance events.
//!
//! In: one Avro-JSON record per line,
//! `{"datum":{"com.bbn.tc.schema.avro[.cdmNN].<Type>":{...}},"CDMVersion":"NN",...}`.
//! Node records (`Subject`, `FileObject`, `NetFlowObject`, ...) become
//! entities remembered by UUID ([`cache`]); `Event` records become edges
//! between them. CDM18/20 events name their subject and objects inside the
//! record; CDM13 events name nothing and are linked by the `SimpleEdge`
//! records that follow them, so a CDM13 event is held until the next `Event`
//! (or the end of the file) and then emitted ([`edges`]). The one table from
//! CDM vocabulary to ours is [`mapping`]; the Avro union decoding is [`value`].
//!
//! State and bounds: entities by UUID ≤ `max_entities` (FIFO eviction; an
//! evicted or never-seen UUID becomes an `unknown` entity with that UUID, the
//! same graph node as far as the id goes once kinds agree); one pending CDM13
//! event with at most [`edges::MAX_LINKS_PER_EVENT`] links.
//!
//! Tables: `docs/formats/cdm.md`.

mod cache;
mod edges;
mod mapping;
mod node;
mod value;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use event::Event;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::lines::LineReader;
use crate::{EventIter, IngestSettings};

use cache::UuidCache;
use edges::{Cdm13Link, Pending13};
use mapping::record_kind;
use value::{At, UuidShape};

pub use mapping::{edge_kind, file_kind, RecordKind, EVENT_KINDS, FILE_TYPE_KINDS, RECORD_KINDS};

/// Bounds of the CDM parser.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdmSettings {
    /// Most subjects and objects remembered by UUID.
    pub max_entities: usize,
}

impl Default for CdmSettings {
    fn default() -> Self {
        Self {
            max_entities: 1_000_000,
        }
    }
}

/// Opens a CDM JSON file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened. Bad records come out of the
/// iterator and the stream goes on after them.
pub fn open(file: &InputFile, settings: &IngestSettings) -> Result<EventIter> {
    let inner = file.open()?;
    let lines = LineReader::new(
        inner,
        file.path.clone(),
        settings.max_line_bytes,
        "darpa_tc",
    );
    Ok(Box::new(CdmReader::new(lines, settings)))
}

/// Counters kept for the end-of-file summary (and tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CdmStats {
    /// Node records read.
    pub nodes: u64,
    /// Event records read.
    pub events: u64,
    /// Records accepted but producing nothing (markers, CDM13 non-event edges).
    pub ignored: u64,
    /// Events that name no object and so give no edge (`EVENT_EXIT`, ...).
    pub no_object: u64,
    /// References to UUIDs not (or no longer) in the table.
    pub unknown_uuids: u64,
    /// `predicateObject2` values not used (only rename and link use it).
    pub unused_object2: u64,
}

/// Streams the events of one CDM file.
pub struct CdmReader {
    path: Arc<PathBuf>,
    lines: LineReader,
    host: Option<Arc<str>>,
    entities: UuidCache,
    pending: Option<Pending13>,
    out: VecDeque<Result<Event>>,
    stats: CdmStats,
    finished: bool,
}

impl CdmReader {
    /// Wraps a line reader.
    pub fn new(lines: LineReader, settings: &IngestSettings) -> Self {
        Self {
            path: Arc::clone(lines.path()),
            lines,
            host: settings.host.clone(),
            entities: UuidCache::new(settings.cdm.max_entities),
            pending: None,
            out: VecDeque::new(),
            stats: CdmStats::default(),
            finished: false,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> CdmStats {
        self.stats
    }

    fn read_line(&mut self) {
        let line_no = self.lines.line_number().saturating_add(1);
        let parsed = match self.lines.next_line() {
            None => {
                self.finished = true;
                self.flush_pending();
                self.log_summary();
                return;
            }
            Some(Err(e)) => {
                self.out.push_back(Err(e));
                return;
            }
            Some(Ok(line)) => {
                if line.trim_ascii().is_empty() {
                    return;
                }
                serde_json::from_slice::<Value>(line)
            }
        };
        let result = match parsed {
            Ok(v) => self.parse_record(&v, line_no),
            Err(source) => Err(Error::Json {
                path: Arc::clone(&self.path),
                line: line_no,
                source,
            }),
        };
        if let Err(e) = result {
            self.out.push_back(Err(e));
        }
    }

    /// One JSON record: finds the datum's type and dispatches on it.
    fn parse_record(&mut self, v: &Value, line: u64) -> Result<()> {
        let path = Arc::clone(&self.path);
        let bad = |field: &str, expected: &'static str, found: &Value| {
            Error::malformed(&path, line, field, expected, found.to_string().as_bytes())
        };
        let Value::Object(top) = v else {
            return Err(bad("datum", "a JSON object with a `datum` field", v));
        };
        let datum = match top.get("datum") {
            Some(Value::Object(d)) => d,
            Some(other) => return Err(bad("datum", "{\"<record type>\": {…}}", other)),
            None => {
                return Err(Error::malformed(
                    &path,
                    line,
                    "datum",
                    "{\"<record type>\": {…}}",
                    b"nothing (field absent)",
                ))
            }
        };
        let mut it = datum.iter();
        let (key, body) = match (it.next(), it.next()) {
            (Some((k, Value::Object(b))), None) => (k.as_str(), b),
            _ => return Err(bad("datum", "one `{\"<record type>\": {…}}` branch", v)),
        };
        let (shape, name) = parse_datum_key(key).ok_or_else(|| {
            Error::malformed(
                &path,
                line,
                "datum",
                "a record type `com.bbn.tc.schema.avro[.cdmNN].<Type>`",
                key.as_bytes(),
            )
        })?;
        let kind = record_kind(name).ok_or_else(|| {
            Error::malformed(
                &path,
                line,
                "datum",
                "a known CDM record type (Event, Subject, FileObject, ...)",
                key.as_bytes(),
            )
        })?;
        let at = At {
            path: &path,
            line,
            record: name,
        };
        match kind {
            RecordKind::Node(entity_kind) => {
                let (uuid, entity) =
                    node::parse_node(at, body, entity_kind, shape, self.host.clone())?;
                self.stats.nodes = self.stats.nodes.saturating_add(1);
                self.entities.put(&uuid, Arc::new(entity));
            }
            RecordKind::Event => {
                self.stats.events = self.stats.events.saturating_add(1);
                match shape {
                    UuidShape::Text => {
                        let ctx = edges::Context {
                            entities: &mut self.entities,
                            host: self.host.clone(),
                        };
                        edges::parse_event(at, body, ctx, &mut self.stats, &mut self.out)?;
                    }
                    UuidShape::Fixed => {
                        let next = Pending13::parse(at, body)?;
                        self.flush_pending();
                        self.pending = Some(next);
                    }
                }
            }
            RecordKind::SimpleEdge => match edges::parse_simple_edge(at, body)? {
                Cdm13Link::NotAboutEvents => {
                    self.stats.ignored = self.stats.ignored.saturating_add(1);
                }
                Cdm13Link::Event(link) => match self.pending.as_mut() {
                    Some(p) => p.attach(at, link)?,
                    None => {
                        return Err(at.malformed(
                            "fromUuid",
                            "the UUID of the Event record just before",
                            &Value::String(link.event_uuid),
                        ))
                    }
                },
            },
            RecordKind::Ignored => {
                self.stats.ignored = self.stats.ignored.saturating_add(1);
            }
        }
        Ok(())
    }

    fn flush_pending(&mut self) {
        if let Some(p) = self.pending.take() {
            let mut ctx = edges::Context {
                entities: &mut self.entities,
                host: self.host.clone(),
            };
            p.emit(&self.path, &mut ctx, &mut self.stats, &mut self.out);
        }
    }

    fn log_summary(&self) {
        let s = self.stats;
        tracing::debug!(
            message = "CDM file finished.",
            path = %self.path.display(),
            nodes = s.nodes,
            events = s.events,
            ignored = s.ignored,
            no_object = s.no_object,
            unknown_uuids = s.unknown_uuids,
            unused_object2 = s.unused_object2,
            entity_evictions = self.entities.evictions(),
        );
    }
}

/// `com.bbn.tc.schema.avro.cdm18.Event` → (text UUIDs, `Event`);
/// `com.bbn.tc.schema.avro.Event` (CDM13, no version part) → (fixed UUIDs, `Event`).
fn parse_datum_key(key: &str) -> Option<(UuidShape, &str)> {
    let rest = key.strip_prefix("com.bbn.tc.schema.avro.")?;
    match rest.split_once('.') {
        None => Some((UuidShape::Fixed, rest)),
        Some((version, name)) if version.starts_with("cdm") && !name.contains('.') => {
            Some((UuidShape::Text, name))
        }
        Some(_) => None,
    }
}

impl Iterator for CdmReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            self.read_line();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<std::result::Result<Event, String>> {
        let lines = LineReader::new(
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            Arc::new(PathBuf::from("t.json")),
            1 << 20,
            "darpa_tc",
        );
        CdmReader::new(lines, &IngestSettings::default())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn datum_keys_give_version_shape() {
        assert_eq!(
            parse_datum_key("com.bbn.tc.schema.avro.cdm18.Event"),
            Some((UuidShape::Text, "Event"))
        );
        assert_eq!(
            parse_datum_key("com.bbn.tc.schema.avro.Subject"),
            Some((UuidShape::Fixed, "Subject"))
        );
        assert_eq!(parse_datum_key("org.example.Event"), None);
        assert_eq!(parse_datum_key("com.bbn.tc.schema.avro.x.y.Event"), None);
    }

    #[test]
    fn cdm18_event_names_unknown_uuid_as_unknown_entity() {
        let out = read(concat!(
            r#"{"datum":{"com.bbn.tc.schema.avro.cdm18.Event":{"uuid":"00000000-0000-0000-0000-000000000001","type":"EVENT_READ","subject":{"com.bbn.tc.schema.avro.cdm18.UUID":"00000000-0000-0000-0000-0000000000AA"},"predicateObject":{"com.bbn.tc.schema.avro.cdm18.UUID":"00000000-0000-0000-0000-0000000000BB"},"predicateObjectPath":{"string":"/etc/passwd"},"timestampNanos":5,"hostId":"00000000-0000-0000-0000-000000000000"}},"CDMVersion":"18"}"#,
            "\n"
        ));
        assert_eq!(out.len(), 1);
        let e = out[0].as_ref().unwrap();
        assert_eq!(e.kind, event::EdgeKind::Read);
        assert_eq!(e.subject.kind, event::EntityKind::Unknown);
        assert_eq!(e.object.kind, event::EntityKind::Unknown);
        assert_eq!(e.object.name.as_deref(), Some("/etc/passwd"));
    }
}
