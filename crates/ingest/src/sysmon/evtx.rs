//! EVTX files through the `evtx` crate, chunk by chunk.
//!
//! Plain `.evtx` files are read from disk one 64 KiB chunk at a time; gzip or
//! zstd ones are decompressed into memory first, up to
//! [`crate::IngestSettings::max_evtx_bytes`]. Each chunk's records are
//! rendered to JSON by the `evtx` crate and normalized into [`WinRecord`]s, so
//! at most one chunk's records are held at once. A chunk or record the crate
//! rejects becomes one [`Error::Evtx`] and reading goes on with the next one.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use ::evtx::err::EvtxError;
use ::evtx::{EvtxChunkData, EvtxParser, ParserSettings};

use super::record::{parse_time, push_scalar_fields, scalar_text, Channel, WinRecord};
use super::HostNames;
use crate::error::{Error, Result};
use crate::input::{Compression, InputFile};
use crate::IngestSettings;

type Chunks = Box<dyn Iterator<Item = ::evtx::err::Result<EvtxChunkData>> + Send>;

/// The records of one EVTX file, each with its `EventRecordID`.
pub struct EvtxRecords {
    path: Arc<PathBuf>,
    chunks: Chunks,
    parser_settings: Arc<ParserSettings>,
    pending: VecDeque<Result<(u64, WinRecord)>>,
    hosts: HostNames,
    /// Reported once the chunks run out: the file does not end on a chunk boundary.
    truncated: Option<Error>,
}

const HEADER_BYTES: u64 = 4096;
const CHUNK_BYTES: u64 = 65_536;

/// An error when `len` is not a header plus whole chunks: the `evtx` crate
/// silently ignores a partial last chunk, which would hide a truncated file.
fn check_size(path: &Arc<PathBuf>, len: u64) -> Option<Error> {
    let tail = len.saturating_sub(HEADER_BYTES).checked_rem(CHUNK_BYTES)?;
    (tail != 0).then(|| Error::Malformed {
        path: Arc::clone(path),
        line: 0,
        field: "(file size)".to_owned(),
        expected: "a 4096-byte header plus whole 65536-byte chunks",
        found: format!("{len} bytes, the last {tail} of them a partial chunk (truncated file?)"),
    })
}

impl EvtxRecords {
    /// Opens `file`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for an empty file, [`Error::Io`],
    /// [`Error::Decompress`] or [`Error::TooLarge`] while reading it, and
    /// [`Error::Evtx`] (record 0) when it has no EVTX file header.
    pub fn open(file: &InputFile, settings: &IngestSettings) -> Result<Self> {
        let path = Arc::clone(&file.path);
        let evtx_err = |source| Error::Evtx {
            path: Arc::clone(&path),
            record: 0,
            source: Box::new(source),
        };
        let parser_settings = ParserSettings::new().indent(false);
        let truncated;
        let chunks: Chunks = match file.compression {
            Compression::None => {
                let len = std::fs::metadata(path.as_ref())
                    .map_err(|source| Error::Io {
                        path: path.as_ref().clone(),
                        source,
                    })?
                    .len();
                if len == 0 {
                    return Err(Error::EmptyInput { path });
                }
                let parser = EvtxParser::from_path(path.as_ref()).map_err(evtx_err)?;
                truncated = check_size(&path, len);
                Box::new(
                    parser
                        .with_configuration(parser_settings.clone())
                        .into_chunks()
                        .fuse(),
                )
            }
            Compression::Gzip | Compression::Zstd => {
                let buf = file.read_capped(settings.max_evtx_bytes)?;
                if buf.is_empty() {
                    return Err(Error::EmptyInput { path });
                }
                truncated = check_size(&path, u64::try_from(buf.len()).unwrap_or(u64::MAX));
                let parser = EvtxParser::from_buffer(buf).map_err(evtx_err)?;
                Box::new(
                    parser
                        .with_configuration(parser_settings.clone())
                        .into_chunks()
                        .fuse(),
                )
            }
        };
        Ok(Self {
            path,
            chunks,
            parser_settings: Arc::new(parser_settings),
            pending: VecDeque::new(),
            hosts: HostNames::default(),
            truncated,
        })
    }

    fn evtx_error(&self, record: u64, source: EvtxError) -> Error {
        Error::Evtx {
            path: Arc::clone(&self.path),
            record,
            source: Box::new(source),
        }
    }

    /// Renders the records of one chunk into `pending`.
    fn read_chunk(&mut self, chunk: ::evtx::err::Result<EvtxChunkData>) {
        let mut data = match chunk {
            Ok(d) => d,
            Err(e) => {
                let err = self.evtx_error(record_of(&e), e);
                self.pending.push_back(Err(err));
                return;
            }
        };
        let chunk_id = data.number.unwrap_or_default();
        let mut parsed = match data.parse(Arc::clone(&self.parser_settings)) {
            Ok(c) => c,
            Err(e) => {
                let err = self.evtx_error(
                    0,
                    EvtxError::FailedToParseChunk {
                        chunk_id,
                        source: Box::new(e),
                    },
                );
                self.pending.push_back(Err(err));
                return;
            }
        };
        let mut out = Vec::new();
        for record in parsed.iter() {
            let rendered = record.and_then(|r| {
                let id = r.event_record_id;
                r.into_json_value()
                    .map_err(|e| EvtxError::FailedToParseRecord {
                        record_id: id,
                        source: Box::new(e),
                    })
            });
            out.push(match rendered {
                Ok(r) => {
                    let id = r.event_record_id;
                    self.normalize(id, &r.data).map(|w| (id, w))
                }
                Err(e) => Err(self.evtx_error(record_of(&e), e)),
            });
        }
        self.pending.extend(out);
    }

    /// Normalizes the `evtx` crate's JSON of one record.
    fn normalize(&mut self, record_id: u64, json: &serde_json::Value) -> Result<WinRecord> {
        let event = json.get("Event");
        let system = event.and_then(|e| e.get("System"));
        let get = |name: &str| system.and_then(|s| s.get(name));
        let id_text = get("EventID").and_then(scalar_text);
        let event_id = id_text
            .as_deref()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .ok_or_else(|| {
                Error::malformed(
                    &self.path,
                    record_id,
                    "Event.System.EventID",
                    "an event id",
                    id_text.as_deref().unwrap_or_default().as_bytes(),
                )
            })?;
        let channel = get("Channel")
            .and_then(serde_json::Value::as_str)
            .map_or(Channel::Other, Channel::parse);
        let mut fields = Vec::new();
        if channel != Channel::Other {
            if let Some(data) = event
                .and_then(|e| e.get("EventData"))
                .and_then(serde_json::Value::as_object)
            {
                push_scalar_fields(data, &mut fields);
            }
        }
        let system_time = get("TimeCreated")
            .and_then(|t| t.get("#attributes"))
            .and_then(|a| a.get("SystemTime"))
            .and_then(serde_json::Value::as_str);
        let mut rec = WinRecord {
            event_id,
            channel,
            computer: get("Computer")
                .and_then(serde_json::Value::as_str)
                .map(|c| self.hosts.intern(c)),
            time: None,
            record_id: Some(record_id),
            fields,
        };
        rec.time = rec
            .field("UtcTime")
            .and_then(parse_time)
            .or_else(|| system_time.and_then(parse_time));
        Ok(rec)
    }
}

/// The record id an `evtx` error names, 0 when it names none.
fn record_of(e: &EvtxError) -> u64 {
    match e {
        EvtxError::FailedToParseRecord { record_id, .. } => *record_id,
        _ => 0,
    }
}

impl Iterator for EvtxRecords {
    type Item = Result<(u64, WinRecord)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            match self.chunks.next() {
                Some(chunk) => self.read_chunk(chunk),
                None => return self.truncated.take().map(Err),
            }
        }
    }
}
