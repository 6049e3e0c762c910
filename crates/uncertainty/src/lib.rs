//! Uncertainty: how sure CausalDefend is about each window.
//!
//! In: plain anomaly scores (higher = more anomalous) of held-out benign
//! windows, and of labelled attack windows when there are any. Out: for a new
//! score, conformal p-values, a prediction set over {benign, attack} at a
//! chosen confidence level, a confidence, and an escalation decision. The
//! guarantee is split conformal prediction's: when calibration and test scores
//! are exchangeable, the true label is in the set with probability at least
//! `1 - alpha` (finite-sample, no distributional assumption). This crate knows
//! nothing about graphs or models: it sees scores only.

mod adaptive;
mod conformal;
mod error;
mod file;
mod metrics;
pub mod venn_abers;

pub use adaptive::{Adaptivity, OnlineConformal};
pub use conformal::{Calibration, Label, Prediction};
pub use error::{Error, Result};
pub use file::{CalibrationFile, CALIBRATION_KIND, CALIBRATION_VERSION};
pub use metrics::{coverage, expected_calibration_error};
