//! Typed errors of the detector. Every variant says what to do next: a
//! mismatched checkpoint names both sides, a bad config names the key.

use std::path::PathBuf;

/// Detector result.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong while training, loading or scoring.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed (shape bug or allocation failure).
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint file is not one this build can read.
    #[error("{path}: not a CausalDefend detector checkpoint: {reason}")]
    BadCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint was made for other features than this build computes.
    #[error(
        "{path}: the model expects feature schema {model}, this build computes {ours}; retrain it with `causaldefend train-detector`"
    )]
    SchemaMismatch {
        /// The file.
        path: PathBuf,
        /// The model's schema.
        model: String,
        /// Ours.
        ours: String,
    },
    /// A configuration value is out of range.
    #[error("config `{key}`: {reason}")]
    Config {
        /// The key.
        key: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// Training data is unusable.
    #[error("training data: {0}")]
    Data(String),
    /// Reading preprocessed windows failed.
    #[error(transparent)]
    Graph(#[from] graph::Error),
    /// GPU requested in a build without the `cuda` feature.
    #[error("--gpus {0} asks for a GPU, but this build has no GPU support: rebuild with `cargo build --release --features cuda` (needs the CUDA toolkit), or use --gpus 0")]
    NoGpuSupport(u32),
}
