//! Typed errors.

use std::path::PathBuf;

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No calibration scores.
    #[error("calibration needs at least one benign score")]
    EmptyCalibration,
    /// A score is NaN or infinite.
    #[error("{what} score {index} is not a finite number")]
    NotFinite {
        /// Which set.
        what: &'static str,
        /// Position.
        index: usize,
    },
    /// Confidence level outside (0, 1).
    #[error("confidence level {0} is not between 0 and 1 (exclusive)")]
    BadLevel(f64),
    /// Reading or writing the calibration file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The calibration file is not readable as one.
    #[error("{path}: not a CausalDefend conformal calibration: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The calibration was made for another detector.
    #[error("{path}: calibrated for detector {calibrated}, but the model is {model}; run `causaldefend calibrate` for this model")]
    DetectorMismatch {
        /// The file.
        path: PathBuf,
        /// Digest in the file.
        calibrated: String,
        /// Digest of the model given.
        model: String,
    },
}
