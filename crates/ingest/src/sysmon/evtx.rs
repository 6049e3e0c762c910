//! EVTX files through the `evtx` crate, chunk by chunk.
//!
//! Plain `.evtx` files are read from disk one 64 KiB chunk at a time; gzip or
//! zstd ones are decompressed into memory first, up to
//! [`crate::IngestSettings::max_evtx_bytes`]. Each chunk's records are
//! rendered to JSON by the `evtx` crate and normalized into [`WinRecord`]s, so
//! at most one chunk's records are held at once. A chunk or record the crate
//! rejects becomes one [`Error::Evtx`] naming the chunk (and the record id when
//! known), and reading goes on with the next one.
//!
//! Truncated files are read as far as they go. The `evtx` crate drops a
//! partial last chunk without a word, so a file that does not end on a chunk
//! boundary is padded with zeros to one: the complete records of the cut
//! chunk are still read, the cut record fails as a damaged record, and one
//! more error says the file was truncated. A gzip or zstd stream that breaks
//! off is handled the same way, with [`Error::Decompress`] as that error.

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use ::evtx::err::EvtxError;
use ::evtx::{EvtxChunkData, EvtxParser, ParserSettings};

use super::json::parse_event_object;
use super::record::WinRecord;
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
    /// Number of the chunk read last, for errors that do not name one.
    last_chunk: Option<u64>,
    /// Reported once the chunks run out: the file was cut short.
    truncated: Option<Error>,
}

const HEADER_BYTES: usize = 4096;
const CHUNK_BYTES: usize = 65_536;

/// The bytes past the last whole chunk, when `len` is not a header plus
/// whole chunks (0 for a file that is).
fn partial_tail(len: usize) -> usize {
    len.saturating_sub(HEADER_BYTES)
        .checked_rem(CHUNK_BYTES)
        .unwrap_or(0)
}

/// The error for a file whose last chunk is cut after `tail` bytes.
fn truncated_error(path: &Arc<PathBuf>, len: usize, tail: usize) -> Error {
    Error::Malformed {
        path: Arc::clone(path),
        line: 0,
        field: "(file size)".to_owned(),
        expected: "a 4096-byte header plus whole 65536-byte chunks",
        found: format!("{len} bytes, the last {tail} of them a partial chunk (truncated file?)"),
    }
}

/// Reads at most `limit_bytes` of the decompressed stream. Unlike
/// [`InputFile::read_capped`], a stream that breaks off keeps what was
/// decompressed before the break, with the error beside it: a truncated
/// `.evtx.gz` still holds its first chunks.
fn read_salvaging(file: &InputFile, limit_bytes: u64) -> Result<(Vec<u8>, Option<Error>)> {
    let reader = file.open()?;
    let mut buf = Vec::new();
    let mut limited = reader.take(limit_bytes.saturating_add(1));
    let failed = std::io::copy(&mut limited, &mut buf).err();
    if u64::try_from(buf.len()).unwrap_or(u64::MAX) > limit_bytes {
        return Err(Error::TooLarge {
            path: Arc::clone(&file.path),
            limit_bytes,
        });
    }
    let failed = failed.map(|source| Error::Decompress {
        path: Arc::clone(&file.path),
        line: 0,
        source,
    });
    Ok((buf, failed))
}

fn parser_settings() -> ParserSettings {
    // The defaults of `evtx_dump` (no checksum validation, no carving), so
    // that its output is a reference for ours; JSON without indentation.
    ParserSettings::new().indent(false)
}

impl EvtxRecords {
    /// Opens `file`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for an empty file, [`Error::Io`] or
    /// [`Error::TooLarge`] while reading it, and [`Error::Evtx`] (no chunk,
    /// record 0) when it has no EVTX file header. A compressed stream that
    /// breaks off is not an error here: its records are read as far as they go.
    pub fn open(file: &InputFile, settings: &IngestSettings) -> Result<Self> {
        let path = Arc::clone(&file.path);
        if file.compression == Compression::None {
            let len = std::fs::metadata(path.as_ref())
                .map_err(|source| Error::Io {
                    path: path.as_ref().clone(),
                    source,
                })?
                .len();
            if len == 0 {
                return Err(Error::EmptyInput { path });
            }
            let aligned = usize::try_from(len).is_ok_and(|l| partial_tail(l) == 0);
            if aligned {
                let parser = EvtxParser::from_path(path.as_ref())
                    .map_err(|source| header_error(&path, source))?;
                let chunks = parser.with_configuration(parser_settings()).into_chunks();
                return Ok(Self::with_chunks(path, Box::new(chunks.fuse()), None));
            }
            // A cut file: read it whole (capped) so that it can be padded.
        }
        let (buf, failed) = read_salvaging(file, settings.max_evtx_bytes)?;
        Self::from_bytes_with(path, buf, failed)
    }

    /// Reads an EVTX file already in memory; `path` only names it in errors.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no bytes, [`Error::Evtx`] (no chunk, record
    /// 0) when there is no EVTX file header.
    pub fn from_bytes(path: Arc<PathBuf>, bytes: Vec<u8>) -> Result<Self> {
        Self::from_bytes_with(path, bytes, None)
    }

    fn from_bytes_with(
        path: Arc<PathBuf>,
        mut buf: Vec<u8>,
        failed: Option<Error>,
    ) -> Result<Self> {
        if buf.is_empty() {
            // A compressed stream that yields nothing at all: report why.
            return Err(failed.unwrap_or(Error::EmptyInput { path }));
        }
        let len = buf.len();
        let tail = partial_tail(len);
        let mut truncated = failed;
        if tail != 0 {
            // At most one chunk of zeros: the crate reads them as "no more records".
            buf.resize(len.saturating_add(CHUNK_BYTES.saturating_sub(tail)), 0);
            truncated = truncated.or_else(|| Some(truncated_error(&path, len, tail)));
        }
        let parser = EvtxParser::from_buffer(buf).map_err(|source| header_error(&path, source))?;
        let chunks = parser.with_configuration(parser_settings()).into_chunks();
        Ok(Self::with_chunks(path, Box::new(chunks.fuse()), truncated))
    }

    fn with_chunks(path: Arc<PathBuf>, chunks: Chunks, truncated: Option<Error>) -> Self {
        Self {
            path,
            chunks,
            parser_settings: Arc::new(parser_settings()),
            pending: VecDeque::new(),
            hosts: HostNames::default(),
            last_chunk: None,
            truncated,
        }
    }

    fn evtx_error(&self, chunk: Option<u64>, record: u64, source: EvtxError) -> Error {
        Error::Evtx {
            path: Arc::clone(&self.path),
            chunk,
            record,
            source: Box::new(source),
        }
    }

    /// Renders the records of one chunk into `pending`.
    fn read_chunk(&mut self, chunk: ::evtx::err::Result<EvtxChunkData>) {
        let mut data = match chunk {
            Ok(d) => d,
            Err(e) => {
                let chunk = match &e {
                    EvtxError::FailedToParseChunk { chunk_id, .. } => Some(*chunk_id),
                    _ => self.last_chunk.map(|c| c.saturating_add(1)),
                };
                self.last_chunk = chunk.or(self.last_chunk);
                let err = self.evtx_error(chunk, 0, e);
                self.pending.push_back(Err(err));
                return;
            }
        };
        let chunk_id = data.number.unwrap_or_default();
        self.last_chunk = Some(chunk_id);
        let mut parsed = match data.parse(Arc::clone(&self.parser_settings)) {
            Ok(c) => c,
            Err(e) => {
                let err = self.evtx_error(
                    Some(chunk_id),
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
                Err(e) => Err(self.evtx_error(Some(chunk_id), record_of(&e), e)),
            });
        }
        self.pending.extend(out);
    }

    /// Normalizes the `evtx` crate's JSON of one record.
    fn normalize(&mut self, record_id: u64, json: &serde_json::Value) -> Result<WinRecord> {
        let event = json.get("Event").and_then(serde_json::Value::as_object);
        let mut rec = match event {
            Some(e) => parse_event_object(e, &mut self.hosts),
            None => Err(super::json::FieldError {
                field: "Event",
                expected: "an <Event> element",
                found: String::new(),
            }),
        }
        .map_err(|f| f.at(&self.path, record_id))?;
        rec.record_id = Some(record_id);
        Ok(rec)
    }
}

/// The error for a file whose header the `evtx` crate refuses.
fn header_error(path: &Arc<PathBuf>, source: EvtxError) -> Error {
    Error::Evtx {
        path: Arc::clone(path),
        chunk: None,
        record: 0,
        source: Box::new(source),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_tail_is_the_cut_chunk() {
        assert_eq!(partial_tail(4096), 0);
        assert_eq!(partial_tail(4096 + 65_536), 0);
        assert_eq!(partial_tail(27_837), 23_741);
        assert_eq!(partial_tail(10), 0);
    }

    #[test]
    fn header_only_garbage_is_an_error_not_a_panic() {
        let path = Arc::new(PathBuf::from("x.evtx"));
        let err = EvtxRecords::from_bytes(Arc::clone(&path), b"ElfFile\0short".to_vec())
            .err()
            .unwrap();
        assert_eq!(err.kind(), "evtx");
        assert!(
            err.to_string().contains("x.evtx: EVTX chunk -, record 0"),
            "{err}"
        );
        let err = EvtxRecords::from_bytes(path, Vec::new()).err().unwrap();
        assert_eq!(err.kind(), "empty_input");
    }
}
