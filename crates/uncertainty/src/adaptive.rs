//! Staying calibrated when the benign baseline drifts.
//!
//! Split conformal's guarantee assumes tomorrow's benign windows look like
//! the calibration windows; hosts change. Two remedies, chosen in config:
//! * **ACI** (adaptive conformal inference, Gibbs and Candès 2021): after each
//!   window whose true label becomes known (an analyst's review, or ground
//!   truth in evaluation), `alpha_t += gamma * (alpha - err_t)`, where `err_t`
//!   is 1 when the true label was outside the set. Long-run miscoverage then
//!   tends to `alpha` whatever the drift.
//! * **Rolling** calibration: the benign calibration set is the most recent
//!   `window` windows known to be benign, so it follows the baseline.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::conformal::{Calibration, Label, Prediction};

/// How the calibration adapts to feedback.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Adaptivity {
    /// Fixed calibration.
    None,
    /// Adaptive conformal inference with step size `gamma`.
    Aci {
        /// Step size (0.005 is a common choice).
        gamma: f64,
    },
    /// Benign calibration = the last `window` benign windows.
    Rolling {
        /// How many.
        window: usize,
    },
}

/// A calibration that learns from feedback.
#[derive(Debug, Clone)]
pub struct OnlineConformal {
    calibration: Calibration,
    alpha: f64,
    alpha_t: f64,
    mode: Adaptivity,
    recent: VecDeque<f64>,
}

impl OnlineConformal {
    /// Starts from `calibration` at miscoverage `alpha`.
    pub fn new(calibration: Calibration, alpha: f64, mode: Adaptivity) -> Self {
        let recent = match mode {
            Adaptivity::Rolling { window } => {
                let b = calibration.benign();
                b.iter()
                    .skip(b.len().saturating_sub(window))
                    .copied()
                    .collect()
            }
            _ => VecDeque::new(),
        };
        Self {
            calibration,
            alpha,
            alpha_t: alpha,
            mode,
            recent,
        }
    }

    /// The miscoverage level in force now.
    pub fn alpha_t(&self) -> f64 {
        self.alpha_t
    }

    /// The current calibration.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The prediction for `score` at the current level.
    pub fn predict(&self, score: f64) -> Prediction {
        self.calibration.predict(score, self.alpha_t)
    }

    /// Learns that the window scoring `score` was `truth`.
    pub fn observe(&mut self, score: f64, truth: Label) {
        match self.mode {
            Adaptivity::None => {}
            Adaptivity::Aci { gamma } => {
                let covered = self.predict(score).set.contains(&truth);
                let err = if covered { 0.0 } else { 1.0 };
                // Clamped so that a long run of misses cannot drive the level
                // to where every set is empty or full forever.
                self.alpha_t = (self.alpha_t + gamma * (self.alpha - err)).clamp(-0.5, 1.5);
            }
            Adaptivity::Rolling { window } => {
                if truth == Label::Benign && score.is_finite() && window > 0 {
                    self.recent.push_back(score);
                    while self.recent.len() > window {
                        self.recent.pop_front();
                    }
                    let benign: Vec<f64> = self.recent.iter().copied().collect();
                    if let Ok(c) = Calibration::new(&benign, self.calibration.attack()) {
                        self.calibration = c;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aci_widens_after_misses_and_narrows_after_hits() {
        let c = Calibration::new(&[1.0, 2.0, 3.0], &[]).unwrap();
        // Three scores: the smallest p-value is 1/4, so alpha 0.3 can reject.
        let mut o = OnlineConformal::new(c, 0.3, Adaptivity::Aci { gamma: 0.05 });
        // A benign window scoring 10 gets {attack}: a miss, alpha_t goes down.
        o.observe(10.0, Label::Benign);
        assert!((o.alpha_t() - (0.3 + 0.05 * (0.3 - 1.0))).abs() < 1e-12);
        // A benign window scoring 0 is covered: alpha_t goes up by gamma*alpha.
        let before = o.alpha_t();
        o.observe(0.0, Label::Benign);
        assert!((o.alpha_t() - (before + 0.05 * 0.3)).abs() < 1e-12);
    }

    #[test]
    fn rolling_follows_the_baseline() {
        let c = Calibration::new(&[1.0, 2.0, 3.0], &[]).unwrap();
        let mut o = OnlineConformal::new(c, 0.3, Adaptivity::Rolling { window: 3 });
        assert!(o.predict(50.0).set == vec![Label::Attack]);
        for s in [50.0, 51.0, 52.0] {
            o.observe(s, Label::Benign);
        }
        assert_eq!(o.calibration().benign(), &[50.0, 51.0, 52.0]);
        assert_eq!(o.predict(50.0).set, vec![Label::Benign]);
        // attack feedback does not enter the benign set
        o.observe(1000.0, Label::Attack);
        assert_eq!(o.calibration().benign().len(), 3);
    }
}
