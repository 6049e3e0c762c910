//! The one error type of the ingest stage.
//!
//! Every variant says where (file, line or EVTX record, field) and what was
//! expected versus found, because a SOC engineer must be able to open the log
//! at that spot. [`Error::kind`] is the low-cardinality name used as the
//! `skipped_by_reason` key and as a metric label.

use std::path::PathBuf;
use std::sync::Arc;

/// An ingest error. Most are per-record and the stream goes on after them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be read.
    #[error("reading {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A compressed input is damaged or ends early.
    #[error("{}: decompression failed after line {line}", path.display())]
    Decompress {
        /// The file.
        path: Arc<PathBuf>,
        /// Last line read before the failure.
        line: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A text-format input holds NUL bytes: it is binary, not a log of this format.
    #[error("{}: binary data at byte {offset} (NUL byte); is this really a {format} log?", path.display())]
    BinaryInput {
        /// The file.
        path: Arc<PathBuf>,
        /// Offset of the first NUL byte in the decompressed stream.
        offset: u64,
        /// The format that was expected.
        format: &'static str,
    },
    /// The input holds no data at all.
    #[error("{}: empty input, no records", path.display())]
    EmptyInput {
        /// The file.
        path: Arc<PathBuf>,
    },
    /// A line is longer than the configured limit; it was skipped.
    #[error("{}:{line}: line longer than {limit_bytes} bytes, skipped", path.display())]
    LineTooLong {
        /// The file.
        path: Arc<PathBuf>,
        /// 1-based line number.
        line: u64,
        /// The limit (`max_line_bytes`).
        limit_bytes: usize,
    },
    /// A field is missing or its value has the wrong shape.
    #[error("{}:{line}: field `{field}`: expected {expected}, found {found:?}", path.display())]
    Malformed {
        /// The file.
        path: Arc<PathBuf>,
        /// 1-based line number, or the EVTX record id.
        line: u64,
        /// The field (`msg`, `a0`, `EventID`, `datum.Event.type`, ...).
        field: String,
        /// What the parser expected.
        expected: &'static str,
        /// What it found (cut to 120 bytes, lossy UTF-8).
        found: String,
    },
    /// A JSON line does not parse.
    #[error("{}:{line}: invalid JSON", path.display())]
    Json {
        /// The file.
        path: Arc<PathBuf>,
        /// 1-based line number.
        line: u64,
        /// The cause (names column and the JSON error).
        #[source]
        source: serde_json::Error,
    },
    /// The EVTX parser rejected a record, a chunk or the file.
    #[error("{}: EVTX chunk {}, record {record}", path.display(), chunk.map_or_else(|| "-".to_owned(), |c| c.to_string()))]
    Evtx {
        /// The file.
        path: Arc<PathBuf>,
        /// 0-based chunk number (`None` when the failure is in the file header).
        chunk: Option<u64>,
        /// EVTX record id (0 when the failure is not tied to a known record).
        record: u64,
        /// The cause.
        #[source]
        source: Box<evtx::err::EvtxError>,
    },
    /// A record arrived for an audit event that had already been completed.
    #[error("{}:{line}: audit event {serial} seen again after it was completed", path.display())]
    DuplicateEvent {
        /// The file.
        path: Arc<PathBuf>,
        /// 1-based line number.
        line: u64,
        /// Audit serial number.
        serial: u64,
    },
    /// A multi-record event was incomplete when it expired or the file ended.
    #[error("{}:{line}: audit event {serial} incomplete: {missing}", path.display())]
    IncompleteEvent {
        /// The file.
        path: Arc<PathBuf>,
        /// Line of the event's first record.
        line: u64,
        /// Audit serial number.
        serial: u64,
        /// What was missing (for example `SYSCALL record`).
        missing: &'static str,
    },
    /// A record is valid but names an event type this format does not map; it
    /// is counted, not fatal.
    #[error("{}:{line}: unsupported {what} {found:?}", path.display())]
    Unsupported {
        /// The file.
        path: Arc<PathBuf>,
        /// 1-based line number or record id.
        line: u64,
        /// What kind of thing (`record type`, `event id`, `CDM version`).
        what: &'static str,
        /// Its value.
        found: String,
    },
    /// `--format auto` could not tell what the file is.
    #[error("{}: cannot detect the log format; pass --format", path.display())]
    UnknownFormat {
        /// The file.
        path: Arc<PathBuf>,
    },
    /// A decompressed input exceeds the cap for formats that must be held in memory.
    #[error("{}: larger than {limit_bytes} bytes after decompression", path.display())]
    TooLarge {
        /// The file.
        path: Arc<PathBuf>,
        /// The cap.
        limit_bytes: u64,
    },
}

impl Error {
    /// Low-cardinality name of the error: the `skipped_by_reason` key and metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Decompress { .. } => "decompress",
            Self::BinaryInput { .. } => "binary_input",
            Self::EmptyInput { .. } => "empty_input",
            Self::LineTooLong { .. } => "line_too_long",
            Self::Malformed { .. } => "malformed",
            Self::Json { .. } => "invalid_json",
            Self::Evtx { .. } => "evtx",
            Self::DuplicateEvent { .. } => "duplicate_event",
            Self::IncompleteEvent { .. } => "incomplete_event",
            Self::Unsupported { .. } => "unsupported",
            Self::UnknownFormat { .. } => "unknown_format",
            Self::TooLarge { .. } => "too_large",
        }
    }

    /// True when the whole file was given up on (as opposed to one record).
    pub fn is_file_level(&self) -> bool {
        matches!(
            self,
            Self::Io { .. }
                | Self::Decompress { .. }
                | Self::BinaryInput { .. }
                | Self::EmptyInput { .. }
                | Self::UnknownFormat { .. }
                | Self::TooLarge { .. }
        )
    }

    /// A [`Error::Malformed`] with `found` cut to a readable length.
    pub fn malformed(
        path: &Arc<PathBuf>,
        line: u64,
        field: impl Into<String>,
        expected: &'static str,
        found: &[u8],
    ) -> Self {
        Self::Malformed {
            path: Arc::clone(path),
            line,
            field: field.into(),
            expected,
            found: preview(found),
        }
    }
}

/// At most 120 bytes of `bytes`, lossily decoded, for error messages.
pub fn preview(bytes: &[u8]) -> String {
    let cut = bytes.get(..120).unwrap_or(bytes);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < bytes.len() {
        s.push('…');
    }
    s
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
