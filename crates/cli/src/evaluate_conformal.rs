//! The conformal part of `evaluate`: coverage per class and level, set size,
//! escalation rate, ECE of the confidence, and coverage under drift with and
//! without adaptation.
//!
//! Calibration (auditd): benign = the GNN's scores of the held-out
//! validation windows of the training recordings (never trained on) and
//! every other window (odd positions past the warm-up) of the benign test
//! recordings; attack = attack windows of every other attack recording
//! (even positions by name). Test: the other benign test windows, and the
//! attack windows of the remaining attack recordings.

use serde::Serialize;
use uncertainty::{
    coverage, expected_calibration_error, Adaptivity, Calibration, Label, OnlineConformal,
};

use crate::conformal_cmd::{decide, EscalationPolicy};

/// Levels reported.
pub const LEVELS: [f64; 4] = [0.8, 0.9, 0.95, 0.99];

/// Figures at one confidence level.
#[derive(Debug, Clone, Serialize)]
pub struct LevelFigures {
    /// Confidence level.
    pub level: f64,
    /// Share of benign test windows whose set holds `benign`.
    pub benign_coverage: Option<f64>,
    /// Share of attack test windows whose set holds `attack`.
    pub attack_coverage: Option<f64>,
    /// Mean prediction-set size over all test windows.
    pub mean_set_size: f64,
    /// Share of test windows escalated by the policy.
    pub escalation_rate: f64,
}

/// Coverage of a stream under drift.
#[derive(Debug, Clone, Serialize)]
pub struct DriftFigures {
    /// Level.
    pub level: f64,
    /// Windows calibrated on (the start of the stream).
    pub calibration_windows: usize,
    /// Windows tested (the rest).
    pub test_windows: usize,
    /// Coverage with fixed calibration.
    pub fixed: Option<f64>,
    /// With ACI (gamma 0.01), fed the true label after each window.
    pub aci: Option<f64>,
    /// With a rolling calibration of the last benign windows.
    pub rolling: Option<f64>,
}

/// Everything conformal for one seed.
#[derive(Debug, Clone, Serialize)]
pub struct ConformalFigures {
    /// Benign calibration windows.
    pub benign_calibration: usize,
    /// Attack calibration windows.
    pub attack_calibration: usize,
    /// Benign test windows.
    pub benign_test: usize,
    /// Attack test windows.
    pub attack_test: usize,
    /// Per level.
    pub levels: Vec<LevelFigures>,
    /// ECE of the confidence of the predicted label (10 bins), all test windows.
    pub ece: Option<f64>,
    /// Drift experiment.
    pub drift: Option<DriftFigures>,
}

/// Scores of one seed, split by role.
pub struct Scores {
    /// Benign calibration scores.
    pub benign_cal: Vec<f64>,
    /// Attack calibration scores.
    pub attack_cal: Vec<f64>,
    /// Benign test scores, in stream order (recordings in order, windows in time order).
    pub benign_test: Vec<f64>,
    /// Attack test scores.
    pub attack_test: Vec<f64>,
}

fn stream_coverage(cal: &[f64], test: &[f64], alpha: f64, mode: Adaptivity) -> Option<f64> {
    let c = Calibration::new(cal, &[]).ok()?;
    let mut online = OnlineConformal::new(c, alpha, mode);
    let mut preds = Vec::with_capacity(test.len());
    for &s in test {
        preds.push(online.predict(s));
        online.observe(s, Label::Benign);
    }
    coverage(&preds, &vec![Label::Benign; preds.len()])
}

/// Computes the figures.
pub fn figures(s: &Scores, policy: &EscalationPolicy) -> Option<ConformalFigures> {
    let cal = Calibration::new(&s.benign_cal, &s.attack_cal).ok()?;
    let mut levels = Vec::new();
    let total = (s.benign_test.len() + s.attack_test.len()).max(1) as f64;
    for level in LEVELS {
        let alpha = 1.0 - level;
        let bp: Vec<_> = s
            .benign_test
            .iter()
            .map(|&x| cal.predict(x, alpha))
            .collect();
        let ap: Vec<_> = s
            .attack_test
            .iter()
            .map(|&x| cal.predict(x, alpha))
            .collect();
        let sizes: usize = bp.iter().chain(&ap).map(|p| p.set.len()).sum();
        let escalated = bp
            .iter()
            .chain(&ap)
            .filter(|p| decide(p, policy).0 == "escalate")
            .count();
        levels.push(LevelFigures {
            level,
            benign_coverage: coverage(&bp, &vec![Label::Benign; bp.len()]),
            attack_coverage: coverage(&ap, &vec![Label::Attack; ap.len()]),
            mean_set_size: sizes as f64 / total,
            escalation_rate: escalated as f64 / total,
        });
    }
    // Confidence does not depend on the level: one ECE.
    let mut conf = Vec::new();
    let mut correct = Vec::new();
    for (scores, truth) in [
        (&s.benign_test, Label::Benign),
        (&s.attack_test, Label::Attack),
    ] {
        for &x in scores.iter() {
            let p = cal.predict(x, 0.1);
            conf.push(p.confidence);
            correct.push(p.label == truth);
        }
    }
    let ece = expected_calibration_error(&conf, &correct, 10);
    // Drift: calibrate on the first 30 % of the benign test stream, test on the rest.
    let n_cal = (s.benign_test.len() * 3) / 10;
    let drift = (n_cal >= 10 && s.benign_test.len() > n_cal).then(|| {
        let (c, t) = s.benign_test.split_at(n_cal);
        let alpha = 0.1;
        DriftFigures {
            level: 1.0 - alpha,
            calibration_windows: c.len(),
            test_windows: t.len(),
            fixed: stream_coverage(c, t, alpha, Adaptivity::None),
            aci: stream_coverage(c, t, alpha, Adaptivity::Aci { gamma: 0.01 }),
            rolling: stream_coverage(c, t, alpha, Adaptivity::Rolling { window: c.len() }),
        }
    });
    Some(ConformalFigures {
        benign_calibration: s.benign_cal.len(),
        attack_calibration: s.attack_cal.len(),
        benign_test: s.benign_test.len(),
        attack_test: s.attack_test.len(),
        levels,
        ece,
        drift,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_on_separable_scores() {
        let s = Scores {
            benign_cal: (0..100).map(|i| f64::from(i) / 100.0).collect(),
            attack_cal: (0..20).map(|i| 5.0 + f64::from(i) / 20.0).collect(),
            benign_test: (0..100).map(|i| f64::from(i) / 100.0 + 0.005).collect(),
            attack_test: (0..20).map(|i| 5.0 + f64::from(i) / 20.0 + 0.01).collect(),
        };
        let f = figures(&s, &EscalationPolicy::default()).unwrap();
        let l90 = &f.levels[1];
        assert!(l90.benign_coverage.unwrap() >= 0.88);
        assert!(l90.attack_coverage.unwrap() >= 0.85);
        assert!(f.drift.is_some());
    }
}
