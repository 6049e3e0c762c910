//! Typed errors of the explanation stage.

use std::path::PathBuf;

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong while explaining.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A data file (rules, ATT&CK table, config, checkpoint) is malformed.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        reason: String,
    },
    /// A dataset handed to causal discovery is unusable.
    #[error("dataset: {0}")]
    BadData(String),
    /// A variable index is out of range.
    #[error("variable {index} out of range (dataset has {n_vars})")]
    NoSuchVariable {
        /// The index asked for.
        index: usize,
        /// Number of variables.
        n_vars: usize,
    },
    /// An argument is outside its domain.
    #[error("{what}: {reason}")]
    BadArgument {
        /// Which argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The tensor library failed (neural CI tester).
    #[error("neural CI tester: {0}")]
    Tensor(#[from] candle_core::Error),
}
