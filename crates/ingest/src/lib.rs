//! Ingest: bytes of host logs in, provenance [`event::Event`]s out.
//!
//! In: files, folders, `.gz`/`.zst` files of Linux auditd (raw or ENRICHED),
//! Windows EVTX and JSON lines (Sysmon, Security), DARPA TC CDM JSON (13, 18,
//! 20) and StreamSpot TSV. Out: an iterator of `Result<Event>`; a bad record
//! is an `Err` naming file, line (or EVTX record) and field, and the stream
//! goes on after it.
//! State: each parser keeps bounded caches (in-flight audit events, the
//! process table, CDM UUIDs) whose caps are in [`IngestSettings`]; a full
//! cache evicts its oldest entry and counts it, it never grows past its cap.
//! Lines are capped at [`IngestSettings::max_line_bytes`]; EVTX inside gzip is
//! held in memory up to [`IngestSettings::max_evtx_bytes`].
//!
//! The native-event-to-edge tables of each format are in `docs/formats/`.

// Logs are written by the attacker: no panics on input paths (house style).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod auditd;
pub mod cdm;
mod error;
mod fifo;
mod format;
mod input;
pub mod labels;
mod lines;
mod stream;
pub mod streamspot;
pub mod sysmon;

use std::sync::Arc;

pub use error::{preview, Error, Result};
pub use format::InputFormat;
pub use input::{list_files, Compression, InputFile};
pub use lines::{LineReader, DEFAULT_MAX_LINE_BYTES};
pub use stream::{failed, EventStream};

/// A parser's output.
pub type EventIter = Box<dyn Iterator<Item = Result<event::Event>> + Send>;

/// Tuning shared by all parsers. Every field is a bound or a default name.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// Longest line kept, in bytes; longer lines are skipped with an error.
    pub max_line_bytes: usize,
    /// Largest EVTX file held in memory after decompression (plain `.evtx` files stream from disk).
    pub max_evtx_bytes: u64,
    /// Host name for sources that do not carry one (auditd without `node=`, StreamSpot).
    pub host: Option<Arc<str>>,
    /// auditd parser bounds.
    pub auditd: auditd::AuditdSettings,
    /// CDM parser bounds.
    pub cdm: cdm::CdmSettings,
    /// Sysmon/Security parser bounds.
    pub sysmon: sysmon::SysmonSettings,
    /// StreamSpot synthetic time.
    pub streamspot: streamspot::StreamSpotSettings,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_evtx_bytes: 2 * 1024 * 1024 * 1024,
            host: None,
            auditd: auditd::AuditdSettings::default(),
            cdm: cdm::CdmSettings::default(),
            sysmon: sysmon::SysmonSettings::default(),
            streamspot: streamspot::StreamSpotSettings::default(),
        }
    }
}
