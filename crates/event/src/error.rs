//! Errors of the event model: only parsing of names into the closed enums can fail.

/// The one error type of this crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A name that is not one of the known entity kinds.
    #[error("unknown entity kind {found:?}")]
    UnknownEntityKind {
        /// The name that was given.
        found: String,
    },
    /// A name that is not one of the known edge kinds.
    #[error("unknown edge kind {found:?}")]
    UnknownEdgeKind {
        /// The name that was given.
        found: String,
    },
}

impl Error {
    /// Low-cardinality name of the error, for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownEntityKind { .. } => "unknown_entity_kind",
            Self::UnknownEdgeKind { .. } => "unknown_edge_kind",
        }
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
