//! The calibration file: versioned, human-readable JSON (no pickle), tied to
//! one detector by the SHA-256 of its checkpoint file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::adaptive::Adaptivity;
use crate::conformal::Calibration;
use crate::error::{Error, Result};

/// `kind` of a calibration file.
pub const CALIBRATION_KIND: &str = "causaldefend-conformal-calibration";
/// Layout version.
pub const CALIBRATION_VERSION: u32 = 1;
/// Largest file read.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// What `causaldefend calibrate` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationFile {
    /// Always [`CALIBRATION_KIND`].
    pub kind: String,
    /// Always [`CALIBRATION_VERSION`].
    pub version: u32,
    /// SHA-256 of the detector checkpoint this calibrates.
    pub detector_sha256: String,
    /// The checkpoint's path when calibrated (informative).
    pub detector_path: String,
    /// Default confidence level (`1 - alpha`).
    pub confidence_level: f64,
    /// How detection adapts the calibration online.
    pub adaptivity: Adaptivity,
    /// Inputs the scores came from.
    pub sources: Vec<String>,
    /// Benign and (optional) attack calibration scores.
    pub calibration: Calibration,
    /// Program and version.
    pub created_by: String,
}

impl CalibrationFile {
    /// Writes the file as pretty JSON.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::BadFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        std::fs::write(path, text).map_err(io)
    }

    /// Reads and checks a file.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::BadFile`] naming what is wrong.
    pub fn load(path: &Path) -> Result<Self> {
        let f = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: String| Error::BadFile {
            path: path.to_path_buf(),
            reason,
        };
        let v: serde_json::Value = serde_json::from_reader(std::io::BufReader::new(
            std::io::Read::take(f, MAX_FILE_BYTES),
        ))
        .map_err(|e| bad(format!("not JSON: {e}")))?;
        match v.get("kind").and_then(|k| k.as_str()) {
            Some(CALIBRATION_KIND) => {}
            other => return Err(bad(format!("`kind` is {other:?}"))),
        }
        match v.get("version").and_then(serde_json::Value::as_u64) {
            Some(n) if n == u64::from(CALIBRATION_VERSION) => {}
            other => {
                return Err(bad(format!(
                    "version {other:?}, this build reads {CALIBRATION_VERSION}"
                )))
            }
        }
        let file: Self = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        // Re-validate the scores (a hand-edited file may hold NaN-like junk or be unsorted).
        let calibration = Calibration::new(file.calibration.benign(), file.calibration.attack())
            .map_err(|e| bad(e.to_string()))?;
        if !(file.confidence_level > 0.0 && file.confidence_level < 1.0) {
            return Err(bad(format!(
                "confidence_level {} is not in (0, 1)",
                file.confidence_level
            )));
        }
        Ok(Self {
            calibration,
            ..file
        })
    }

    /// Fails unless this file calibrates the detector whose checkpoint has `sha256`.
    ///
    /// # Errors
    /// [`Error::DetectorMismatch`].
    pub fn check_detector(&self, path: &Path, sha256: &str) -> Result<()> {
        if self.detector_sha256 == sha256 {
            Ok(())
        } else {
            Err(Error::DetectorMismatch {
                path: path.to_path_buf(),
                calibrated: self.detector_sha256.clone(),
                model: sha256.to_owned(),
            })
        }
    }
}
