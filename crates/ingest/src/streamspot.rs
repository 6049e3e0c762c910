//! StreamSpot edge lists → provenance events.
//!
//! In: tab-separated lines, one edge each, in two layouts:
//! - 6 columns (the StreamSpot benchmark): `source_id source_type dest_id
//!   dest_type edge_type graph_id`, types as single letters;
//! - 8 columns (the StreamSpot authors' translation of CDM traces):
//!   `source_id source_name source_type dest_id dest_name dest_type edge_type
//!   graph_id`, types as CDM names (`SUBJECT_PROCESS`, `EVENT_READ`).
//!
//! Each node is `NativeId::StreamSpot { graph_id, node_id }`, so one graph id
//! is one graph and equal node ids in two graphs are two nodes. Neither layout
//! has timestamps (StreamSpot dropped them; lines are in time order), so the
//! time of line *n* is *n* × `nanos_per_line` from the epoch: monotonic, so
//! that time windows still cut. The type tables are [`NODE_TYPES`] and
//! [`EDGE_LETTERS`] (CDM event names go through the CDM table); they are in
//! `docs/formats/streamspot.md` next to the graph crate's export letters.
//!
//! State: none beyond the line number; memory is one line.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use event::{EdgeKind, Entity, EntityKind, Event, NativeId, SourceFormat, Timestamp};

use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::lines::LineReader;
use crate::{EventIter, IngestSettings};

/// Settings of the StreamSpot parser.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamSpotSettings {
    /// Synthetic time between two lines, in nanoseconds (the files carry no
    /// time). The default, 1 ms, puts 10,000 edges in a 10-second window.
    pub nanos_per_line: u64,
}

impl Default for StreamSpotSettings {
    fn default() -> Self {
        Self {
            nanos_per_line: 1_000_000,
        }
    }
}

/// Node type (letter or CDM name) → entity kind. Letters from the upstream
/// `preprocess.py`; `b` (thread) folds into its process, `f`–`h` (standard
/// streams) are pipes.
pub const NODE_TYPES: &[(&str, EntityKind)] = &[
    ("a", EntityKind::Process),
    ("b", EntityKind::Process),
    ("c", EntityKind::File),
    ("d", EntityKind::Memory),
    ("e", EntityKind::Unknown),
    ("f", EntityKind::Pipe),
    ("g", EntityKind::Pipe),
    ("h", EntityKind::Pipe),
    ("SUBJECT_PROCESS", EntityKind::Process),
    ("SUBJECT_THREAD", EntityKind::Process),
    ("SUBJECT_UNIT", EntityKind::Process),
    ("OBJECT_FILE", EntityKind::File),
    ("OBJECT_MEM", EntityKind::Memory),
    ("OBJECT_SRCSINK", EntityKind::SrcSink),
    ("OBJECT_NETFLOW", EntityKind::Socket),
    ("OBJECT_PIPE", EntityKind::Pipe),
];

/// Edge letter → edge kind (the system call StreamSpot recorded). The 8-column
/// layout's CDM event names use [`crate::cdm::EVENT_KINDS`] instead.
pub const EDGE_LETTERS: &[(&str, EdgeKind)] = &[
    ("i", EdgeKind::Accept),
    ("j", EdgeKind::Other),
    ("k", EdgeKind::Bind),
    ("l", EdgeKind::Chmod),
    ("m", EdgeKind::Fork),
    ("n", EdgeKind::Close),
    ("o", EdgeKind::Connect),
    ("p", EdgeKind::Exec),
    ("q", EdgeKind::Other),
    ("r", EdgeKind::Truncate),
    ("s", EdgeKind::Listen),
    ("t", EdgeKind::Mmap),
    ("u", EdgeKind::Open),
    ("v", EdgeKind::Read),
    ("w", EdgeKind::Recv),
    ("x", EdgeKind::Recv),
    ("y", EdgeKind::Recv),
    ("z", EdgeKind::Send),
    ("A", EdgeKind::Send),
    ("B", EdgeKind::Send),
    ("C", EdgeKind::Other),
    ("D", EdgeKind::Truncate),
    ("E", EdgeKind::Unlink),
    ("F", EdgeKind::Other),
    ("G", EdgeKind::Write),
    ("H", EdgeKind::Write),
];

/// The entity kind of a node type, `None` when unknown.
pub fn node_kind(node_type: &str) -> Option<EntityKind> {
    NODE_TYPES
        .iter()
        .find(|(n, _)| *n == node_type)
        .map(|(_, k)| *k)
}

/// The edge kind of an edge type: a letter from [`EDGE_LETTERS`], or a CDM
/// event name (`EVENT_*`, unmapped ones → `Other`). `None` when it is neither.
pub fn edge_kind(edge_type: &str) -> Option<EdgeKind> {
    if edge_type.starts_with("EVENT_") {
        return Some(crate::cdm::edge_kind(edge_type));
    }
    EDGE_LETTERS
        .iter()
        .find(|(n, _)| *n == edge_type)
        .map(|(_, k)| *k)
}

/// Opens a StreamSpot TSV file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened; bad lines come out of the iterator.
pub fn open(file: &InputFile, settings: &IngestSettings) -> Result<EventIter> {
    let inner = file.open()?;
    let lines = LineReader::new(
        inner,
        file.path.clone(),
        settings.max_line_bytes,
        "streamspot",
    );
    Ok(Box::new(StreamSpotReader::new(lines, settings)))
}

/// Streams the edges of one StreamSpot file.
pub struct StreamSpotReader {
    path: Arc<PathBuf>,
    lines: LineReader,
    host: Option<Arc<str>>,
    nanos_per_line: u64,
    out: VecDeque<Result<Event>>,
    finished: bool,
}

/// One parsed line; the fault names its column.
struct Fault {
    field: &'static str,
    expected: &'static str,
    found: Vec<u8>,
}

impl StreamSpotReader {
    /// Wraps a line reader.
    pub fn new(lines: LineReader, settings: &IngestSettings) -> Self {
        Self {
            path: Arc::clone(lines.path()),
            lines,
            host: settings.host.clone(),
            nanos_per_line: settings.streamspot.nanos_per_line,
            out: VecDeque::new(),
            finished: false,
        }
    }

    fn read_line(&mut self) {
        let line_no = self.lines.line_number().saturating_add(1);
        let item = match self.lines.next_line() {
            None => {
                self.finished = true;
                return;
            }
            Some(Err(e)) => Err(e),
            Some(Ok(line)) => {
                if line.trim_ascii().is_empty() {
                    return;
                }
                let ts_nanos = line_no.saturating_mul(self.nanos_per_line);
                let ts = Timestamp::from_nanos(i64::try_from(ts_nanos).unwrap_or(i64::MAX));
                parse_line(line, line_no, ts, self.host.as_ref()).map_err(|f| {
                    Error::malformed(&self.path, line_no, f.field, f.expected, &f.found)
                })
            }
        };
        self.out.push_back(item);
    }
}

fn parse_id(field: &'static str, raw: &[u8]) -> std::result::Result<u64, Fault> {
    std::str::from_utf8(raw)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| Fault {
            field,
            expected: "a non-negative integer",
            found: raw.to_vec(),
        })
}

fn parse_type<'a, T>(
    field: &'static str,
    expected: &'static str,
    raw: &'a [u8],
    lookup: impl Fn(&str) -> Option<T>,
) -> std::result::Result<(T, &'a str), Fault> {
    let fault = || Fault {
        field,
        expected,
        found: raw.to_vec(),
    };
    let s = std::str::from_utf8(raw).map_err(|_| fault())?;
    lookup(s).map(|k| (k, s)).ok_or_else(fault)
}

/// A node's display name from the 8-column layout: none when it just repeats
/// the id (objects without names), `file://` cut as the CDM parser does.
fn node_name(name: &[u8], id: &[u8]) -> Option<Arc<str>> {
    if name.is_empty() || name == id {
        return None;
    }
    let s = String::from_utf8_lossy(name);
    let s = s.strip_prefix("file://").unwrap_or(&s);
    Some(Arc::from(s))
}

fn parse_line(
    line: &[u8],
    line_no: u64,
    ts: Timestamp,
    host: Option<&Arc<str>>,
) -> std::result::Result<Event, Fault> {
    let cols: Vec<&[u8]> = line.split(|b| *b == b'\t').collect();
    // The 8-column layout adds a name after each id; the other columns keep their names.
    let (s_id, s_name, s_ty, d_id, d_name, d_ty, e_ty, g_id) = match cols.as_slice() {
        [a, b, c, d, e, f] => (*a, None, *b, *c, None, *d, *e, *f),
        [a, b, c, d, e, f, g, h] => (*a, Some(*b), *c, *d, Some(*e), *f, *g, *h),
        _ => {
            return Err(Fault {
                field: "columns",
                expected: "6 or 8 tab-separated columns",
                found: format!("{} columns: ", cols.len())
                    .into_bytes()
                    .into_iter()
                    .chain(line.iter().copied())
                    .collect(),
            })
        }
    };
    let eight = s_name.is_some();
    let src = parse_id("source_id", s_id)?;
    let dst = parse_id("dest_id", d_id)?;
    let graph_id = parse_id("graph_id", g_id)?;
    const NODE_EXPECTED: &str = "a node type (a-h or SUBJECT_PROCESS, OBJECT_FILE, ...)";
    let (src_kind, _) = parse_type("source_type", NODE_EXPECTED, s_ty, node_kind)?;
    let (dst_kind, _) = parse_type("dest_type", NODE_EXPECTED, d_ty, node_kind)?;
    let (kind, native) = parse_type(
        "edge_type",
        "an edge type (i-z, A-H or EVENT_*)",
        e_ty,
        edge_kind,
    )?;
    let entity = |kind: EntityKind, node_id: u64, name: Option<&[u8]>, id: &[u8]| {
        let mut e = Entity::new(
            kind,
            NativeId::StreamSpot { graph_id, node_id },
            host.cloned(),
        );
        if let Some(n) = name.and_then(|n| node_name(n, id)) {
            e = e.with_name(n);
        }
        if kind == EntityKind::Process && eight {
            e.pid = u32::try_from(node_id).ok();
        }
        Arc::new(e)
    };
    Ok(Event {
        ts,
        kind,
        subject: entity(src_kind, src, s_name, s_id),
        object: entity(dst_kind, dst, d_name, d_id),
        native_type: Arc::from(native),
        seq: line_no,
        format: SourceFormat::StreamSpot,
    })
}

impl Iterator for StreamSpotReader {
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

    #[test]
    fn tables_have_unique_keys_and_cover_every_letter() {
        for t in [
            NODE_TYPES.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            EDGE_LETTERS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ] {
            let mut d = t.clone();
            d.sort_unstable();
            d.dedup();
            assert_eq!(d.len(), t.len());
        }
        // a-h nodes, i-z and A-H edges, as in the upstream README.
        assert_eq!(NODE_TYPES.iter().filter(|(n, _)| n.len() == 1).count(), 8);
        assert_eq!(EDGE_LETTERS.len(), 18 + 8);
        assert_eq!(edge_kind("EVENT_READ"), Some(EdgeKind::Read));
        assert_eq!(edge_kind("EVENT_NEW_ONE"), Some(EdgeKind::Other));
        assert_eq!(edge_kind("Z"), None);
    }
}
