//! Windows Sysmon and Security events, from EVTX files or JSON lines.
//!
//! In: `.evtx` files (plain, or gzip/zstd-compressed) and JSON lines in the
//! OTRF, Winlogbeat/NXLog and Azure Log Analytics layouts. Out: provenance
//! [`event::Event`]s, following the one table in [`mapping::TABLE`]
//! (documented in `docs/formats/sysmon.md`).
//! State: two bounded entity caches per file (processes; files, keys and other
//! named objects), [`SysmonSettings::max_cached_entities`] each; EVTX reading
//! holds one 64 KiB chunk's records at a time.
//!
//! Records of other channels (System, PowerShell, Defender, ...) and Sysmon or
//! Security ids without a row in the table produce neither an event nor an
//! error: OTRF captures are whole-host logs where most records are such
//! background, and an error per record would drown real ones. They are
//! counted instead, in [`RecordCounts`], which [`WinEventReader::counts`]
//! hands out and which is logged when a file ends.

mod cache;
mod edges;
mod evtx;
mod json;
pub mod mapping;
mod record;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use event::{Event, SourceFormat};

pub use record::{Channel, WinRecord};

use crate::error::Result;
use crate::input::InputFile;
use crate::lines::LineReader;
use crate::{EventIter, IngestSettings};
use edges::{EdgeBuilder, Outcome};

/// Bounds of the Sysmon/Security readers.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SysmonSettings {
    /// Entities kept per cache (one for processes, one for other named
    /// objects). 65,536 processes cover the busiest OTRF capture many times
    /// over; an evicted entity is rebuilt from the next record naming it.
    pub max_cached_entities: usize,
}

impl Default for SysmonSettings {
    fn default() -> Self {
        Self {
            max_cached_entities: 65_536,
        }
    }
}

/// How many records of a file went where. Shared, so that it can be read after
/// the reader was boxed into an [`EventIter`].
#[derive(Debug, Default)]
pub struct RecordCounts {
    records: AtomicU64,
    mapped: AtomicU64,
    events: AtomicU64,
    skipped_channel: AtomicU64,
    skipped_event_id: AtomicU64,
    rejected: AtomicU64,
    by_event_id: Mutex<BTreeMap<u32, u64>>,
}

/// Distinct event ids counted per file in [`RecordCounts::by_event_id`]. EVTX
/// ids are 16-bit, but a JSON line can name any number; ids past this many
/// are counted in the totals only.
const MAX_COUNTED_EVENT_IDS: usize = 4096;

impl RecordCounts {
    /// Records read successfully (mapped or skipped).
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
    /// Records that produced events.
    pub fn mapped(&self) -> u64 {
        self.mapped.load(Ordering::Relaxed)
    }
    /// Events produced.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
    /// Records of channels other than Sysmon and Security.
    pub fn skipped_channel(&self) -> u64 {
        self.skipped_channel.load(Ordering::Relaxed)
    }
    /// Sysmon or Security records whose id has no row in the table.
    pub fn skipped_event_id(&self) -> u64 {
        self.skipped_event_id.load(Ordering::Relaxed)
    }
    /// Records (or chunks) that ended in an error.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Records read, by `EventID`, whatever their channel: the figure to set
    /// beside another tool's count of the same file (`evtx_dump`).
    pub fn by_event_id(&self) -> BTreeMap<u32, u64> {
        self.by_event_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn count_event_id(&self, event_id: u32) {
        let mut map = self
            .by_event_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = map.len() < MAX_COUNTED_EVENT_IDS;
        match map.get_mut(&event_id) {
            Some(n) => *n = n.saturating_add(1),
            None if room => {
                map.insert(event_id, 1);
            }
            None => {}
        }
    }

    fn bump(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Interns host names: a file names one or a few hosts, so each record's
/// `Computer` reuses an `Arc` instead of allocating. Holds at most 64 names.
#[derive(Debug, Default)]
pub(crate) struct HostNames {
    names: VecDeque<Arc<str>>,
}

impl HostNames {
    const MAX: usize = 64;

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.iter().find(|n| &***n == name) {
            return Arc::clone(n);
        }
        let n: Arc<str> = Arc::from(name);
        if self.names.len() >= Self::MAX {
            self.names.pop_front();
        }
        self.names.push_back(Arc::clone(&n));
        n
    }
}

type Records = Box<dyn Iterator<Item = Result<(u64, WinRecord)>> + Send>;

/// Events of one file of Windows records, with its [`RecordCounts`].
pub struct WinEventReader {
    path: Arc<PathBuf>,
    records: Records,
    builder: EdgeBuilder,
    pending: VecDeque<Event>,
    counts: Arc<RecordCounts>,
    finished: bool,
}

impl WinEventReader {
    fn new(
        path: &Arc<PathBuf>,
        settings: &IngestSettings,
        format: SourceFormat,
        records: Records,
    ) -> Self {
        Self {
            path: Arc::clone(path),
            records,
            builder: EdgeBuilder::new(
                Arc::clone(path),
                format,
                settings.host.clone(),
                settings.sysmon.max_cached_entities,
            ),
            pending: VecDeque::new(),
            counts: Arc::default(),
            finished: false,
        }
    }

    /// Opens an EVTX file (plain, gzip or zstd).
    ///
    /// # Errors
    /// File-level failures: see [`open_evtx`].
    pub fn open_evtx(file: &InputFile, settings: &IngestSettings) -> Result<Self> {
        let records = evtx::EvtxRecords::open(file, settings)?;
        Ok(Self::new(
            &file.path,
            settings,
            SourceFormat::SysmonEvtx,
            Box::new(records),
        ))
    }

    /// Opens a JSON-lines file (plain, gzip or zstd).
    ///
    /// # Errors
    /// File-level failures: see [`open_json`].
    pub fn open_json(file: &InputFile, settings: &IngestSettings) -> Result<Self> {
        let records = json::JsonRecords::open(file, settings)?;
        Ok(Self::new(
            &file.path,
            settings,
            SourceFormat::SysmonJson,
            Box::new(records),
        ))
    }

    /// Reads an EVTX file already in memory (the `evtx_file` fuzz target,
    /// callers that fetched the bytes themselves); `path` names it in errors.
    ///
    /// # Errors
    /// [`crate::Error::EmptyInput`] for no bytes, [`crate::Error::Evtx`]
    /// (record 0) when there is no EVTX file header.
    pub fn from_evtx_bytes(
        path: Arc<PathBuf>,
        bytes: Vec<u8>,
        settings: &IngestSettings,
    ) -> Result<Self> {
        let records = evtx::EvtxRecords::from_bytes(Arc::clone(&path), bytes)?;
        Ok(Self::new(
            &path,
            settings,
            SourceFormat::SysmonEvtx,
            Box::new(records),
        ))
    }

    /// Reads JSON lines from any byte source (the `sysmon_record` fuzz
    /// target, stdin); the reader's path names it in errors.
    pub fn from_json_lines(lines: LineReader, settings: &IngestSettings) -> Self {
        let path = Arc::clone(lines.path());
        let records = json::JsonRecords::from_lines(lines);
        Self::new(&path, settings, SourceFormat::SysmonJson, Box::new(records))
    }

    /// The counts of this file, live while it is read.
    pub fn counts(&self) -> Arc<RecordCounts> {
        Arc::clone(&self.counts)
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let c = &self.counts;
        tracing::debug!(
            message = "Finished Windows event file.",
            path = %self.path.display(),
            records = c.records(),
            mapped = c.mapped(),
            events = c.events(),
            skipped_channel = c.skipped_channel(),
            skipped_event_id = c.skipped_event_id(),
            rejected = c.rejected(),
            cache_evictions = self.builder.evictions(),
        );
    }
}

impl Iterator for WinEventReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(Ok(e));
            }
            let Some(item) = self.records.next() else {
                self.finish();
                return None;
            };
            let c = &self.counts;
            let outcome = item.and_then(|(line, rec)| {
                RecordCounts::bump(&c.records, 1);
                c.count_event_id(rec.event_id);
                self.builder.push_events(&rec, line, &mut self.pending)
            });
            match outcome {
                Ok(Outcome::Mapped(n)) => {
                    RecordCounts::bump(&c.mapped, 1);
                    RecordCounts::bump(&c.events, u64::try_from(n).unwrap_or(0));
                }
                Ok(Outcome::SkippedChannel) => RecordCounts::bump(&c.skipped_channel, 1),
                Ok(Outcome::SkippedEventId) => RecordCounts::bump(&c.skipped_event_id, 1),
                Err(e) => {
                    RecordCounts::bump(&c.rejected, 1);
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Opens an EVTX file: plain `.evtx` files stream from disk chunk by chunk;
/// compressed ones are held in memory up to
/// [`IngestSettings::max_evtx_bytes`]. A damaged chunk or record yields one
/// [`crate::Error::Evtx`] and reading goes on.
///
/// # Errors
/// [`crate::Error::EmptyInput`], [`crate::Error::Io`],
/// [`crate::Error::Decompress`], [`crate::Error::TooLarge`], or
/// [`crate::Error::Evtx`] (record 0) when the file has no EVTX header.
pub fn open_evtx(file: &InputFile, settings: &IngestSettings) -> Result<EventIter> {
    Ok(Box::new(WinEventReader::open_evtx(file, settings)?))
}

/// Opens a JSON-lines file of Windows events. A bad line yields one error
/// naming file, line and field; reading goes on with the next line.
///
/// # Errors
/// [`crate::Error::Io`] when the file cannot be opened. Empty, binary and
/// damaged compressed input is reported by the first item of the stream.
pub fn open_json(file: &InputFile, settings: &IngestSettings) -> Result<EventIter> {
    Ok(Box::new(WinEventReader::open_json(file, settings)?))
}
