//! The one error type of the graph stage.

use std::path::PathBuf;

/// A graph-stage error: writing, reading or exporting windows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// File-system failure.
    #[error("{}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Arrow could not encode or decode a batch.
    #[error("{}: Arrow IPC", path.display())]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The manifest is missing, not JSON or of another version.
    #[error("{}: manifest", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A preprocessed folder written by an incompatible version.
    #[error("{}: format version {found}, this build reads {expected}", path.display())]
    VersionMismatch {
        /// The manifest file.
        path: PathBuf,
        /// Version this build reads.
        expected: u32,
        /// Version found.
        found: u32,
    },
    /// A column is missing or of the wrong type.
    #[error("{}: batch {batch}: column `{column}`: expected {expected}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// Batch (window) index.
        batch: usize,
        /// Column name.
        column: &'static str,
        /// Expected type.
        expected: &'static str,
    },
    /// A stored name is not a known entity or edge kind.
    #[error("{}: batch {batch}, row {row}", path.display())]
    UnknownName {
        /// The file.
        path: PathBuf,
        /// Batch (window) index.
        batch: usize,
        /// Row.
        row: usize,
        /// The cause.
        #[source]
        source: event::Error,
    },
    /// The folder lists a window whose batch is absent.
    #[error("{}: window {window} has no batch", path.display())]
    MissingWindow {
        /// The file.
        path: PathBuf,
        /// Window id.
        window: usize,
    },
}

impl Error {
    /// Low-cardinality name, for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Arrow { .. } => "arrow",
            Self::Manifest { .. } => "manifest",
            Self::VersionMismatch { .. } => "version_mismatch",
            Self::Column { .. } => "column",
            Self::UnknownName { .. } => "unknown_name",
            Self::MissingWindow { .. } => "missing_window",
        }
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
