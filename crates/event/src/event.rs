//! Events: the timestamped, typed, directed edges of a provenance graph.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::edge::EdgeKind;
use crate::entity::Entity;
use crate::time::Timestamp;

/// The log family an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// Linux auditd (raw or ENRICHED).
    Auditd,
    /// Windows event log in EVTX files (Sysmon, Security, ...).
    SysmonEvtx,
    /// Windows events as JSON lines (Winlogbeat, NXLog, OTRF).
    SysmonJson,
    /// DARPA Transparent Computing CDM JSON (13, 18, 20).
    DarpaTc,
    /// StreamSpot edge lists.
    StreamSpot,
}

impl SourceFormat {
    /// The stable lower-case name (the `--format` value, `darpa_tc` with an underscore as our users write it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auditd => "auditd",
            Self::SysmonEvtx => "sysmon-evtx",
            Self::SysmonJson => "sysmon-json",
            Self::DarpaTc => "darpa_tc",
            Self::StreamSpot => "streamspot",
        }
    }
}

impl std::fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record came from: file plus line (text formats) or record number (EVTX).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourcePos {
    /// The input file.
    pub path: Arc<PathBuf>,
    /// 1-based line number or EVTX record id.
    pub line: u64,
}

impl std::fmt::Display for SourcePos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// One edge of the provenance graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub ts: Timestamp,
    /// What happened.
    pub kind: EdgeKind,
    /// The actor (almost always a process).
    pub subject: Arc<Entity>,
    /// What it acted on.
    pub object: Arc<Entity>,
    /// The source's own name for the event (`openat`, `1`, `EVENT_READ`, `v`),
    /// kept so that the native-to-edge tables in `docs/formats/` can be audited.
    pub native_type: Arc<str>,
    /// The source's own sequence number (audit serial, EVTX record id, line).
    pub seq: u64,
    /// Source format.
    pub format: SourceFormat,
}
