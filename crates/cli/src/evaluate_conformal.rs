//! The conformal part of `evaluate`: coverage per class and level, set size,
//! escalation rate, ECE of the confidence, and coverage under drift with and
//! without adaptation.
//!
//! Calibration (auditd): benign = the GNN's scores of the held-out
//! validation windows of the training recordings (never trained on) and
//! half the windows past the warm-up of the benign test recordings, picked
//! by a coin per window (`evaluate::calibrates`); attack = attack windows of every other attack recording
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
    /// Random calibration/test splits these figures are the mean of (1: one split).
    pub splits: usize,
}

/// The mean of the figures of several random calibration/test splits of
/// the same windows. One split of a hundred-odd test windows measures
/// coverage to ±3 points (binomial noise); the guarantee of split conformal
/// is over the draw of the split, so its mean over many draws is what
/// "coverage within 2 points of nominal" can be checked against.
pub fn mean_of(all: &[ConformalFigures]) -> Option<ConformalFigures> {
    let first = all.first()?;
    let n = all.len() as f64;
    let mean = |get: &dyn Fn(&ConformalFigures) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = all.iter().filter_map(get).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let count = |get: &dyn Fn(&ConformalFigures) -> usize| -> usize {
        (all.iter().map(get).sum::<usize>() as f64 / n).round() as usize
    };
    let levels = (0..first.levels.len())
        .map(|i| {
            let at = |get: &dyn Fn(&LevelFigures) -> Option<f64>| {
                mean(&|c: &ConformalFigures| c.levels.get(i).and_then(get))
            };
            LevelFigures {
                level: first.levels[i].level,
                benign_coverage: at(&|l| l.benign_coverage),
                attack_coverage: at(&|l| l.attack_coverage),
                mean_set_size: at(&|l| Some(l.mean_set_size)).unwrap_or(f64::NAN),
                escalation_rate: at(&|l| Some(l.escalation_rate)).unwrap_or(f64::NAN),
            }
        })
        .collect();
    let drift = first.drift.as_ref().map(|d| {
        let at = |get: &dyn Fn(&DriftFigures) -> Option<f64>| {
            mean(&|c: &ConformalFigures| c.drift.as_ref().and_then(get))
        };
        DriftFigures {
            level: d.level,
            calibration_windows: count(&|c| c.drift.as_ref().map_or(0, |d| d.calibration_windows)),
            test_windows: count(&|c| c.drift.as_ref().map_or(0, |d| d.test_windows)),
            fixed: at(&|d| d.fixed),
            aci: at(&|d| d.aci),
            rolling: at(&|d| d.rolling),
        }
    });
    Some(ConformalFigures {
        benign_calibration: count(&|c| c.benign_calibration),
        attack_calibration: count(&|c| c.attack_calibration),
        benign_test: count(&|c| c.benign_test),
        attack_test: count(&|c| c.attack_test),
        levels,
        ece: mean(&|c| c.ece),
        drift,
        splits: all.iter().map(|c| c.splits).sum(),
    })
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
    /// Attack windows per group (per ATT&CK technique on the auditd set).
    /// When given, each group's windows are tested against an attack
    /// calibration of every *other* group's (leave one group out), and `attack_cal` /
    /// `attack_test` are unused: with 16 recordings of one or two attack
    /// windows each, halving them left 8 calibration windows, too few for
    /// attack p-values below 1/9 or a fitted probability.
    pub attack_groups: Vec<Vec<f64>>,
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
    // Attack test windows, each with the calibration it is judged by.
    let loo = !s.attack_groups.is_empty();
    let all_attack: Vec<f64> = if loo {
        s.attack_groups.concat()
    } else {
        s.attack_cal.clone()
    };
    let cal = Calibration::new(&s.benign_cal, &all_attack).ok()?;
    let groups: Vec<(Calibration, &[f64])> = if loo {
        (0..s.attack_groups.len())
            .map(|g| {
                let others: Vec<f64> = s
                    .attack_groups
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != g)
                    .flat_map(|(_, v)| v.iter().copied())
                    .collect();
                Calibration::new(&s.benign_cal, &others)
                    .ok()
                    .map(|c| (c, s.attack_groups[g].as_slice()))
            })
            .collect::<Option<Vec<_>>>()?
    } else {
        vec![(cal.clone(), s.attack_test.as_slice())]
    };
    let attack_test_count: usize = groups.iter().map(|(_, xs)| xs.len()).sum();
    let attack_predictions = |alpha: f64| -> Vec<uncertainty::Prediction> {
        groups
            .iter()
            .flat_map(|(c, xs)| xs.iter().map(move |&x| c.predict(x, alpha)))
            .collect()
    };
    let mut levels = Vec::new();
    let total = (s.benign_test.len() + attack_test_count).max(1) as f64;
    for level in LEVELS {
        let alpha = 1.0 - level;
        let bp: Vec<_> = s
            .benign_test
            .iter()
            .map(|&x| cal.predict(x, alpha))
            .collect();
        let ap = attack_predictions(alpha);
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
    let benign_predictions = s.benign_test.iter().map(|&x| cal.predict(x, 0.1));
    for (p, truth) in benign_predictions.map(|p| (p, Label::Benign)).chain(
        attack_predictions(0.1)
            .into_iter()
            .map(|p| (p, Label::Attack)),
    ) {
        conf.push(p.confidence);
        correct.push(p.label == truth);
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
        attack_calibration: all_attack.len(),
        benign_test: s.benign_test.len(),
        attack_test: attack_test_count,
        levels,
        ece,
        drift,
        splits: 1,
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
            attack_groups: Vec::new(),
        };
        let f = figures(&s, &EscalationPolicy::default()).unwrap();
        let l90 = &f.levels[1];
        assert!(l90.benign_coverage.unwrap() >= 0.88);
        assert!(l90.attack_coverage.unwrap() >= 0.85);
        assert!(f.drift.is_some());
    }

    #[test]
    fn mean_of_splits_averages_each_figure() {
        let one = |shift: f64| {
            let s = Scores {
                benign_cal: (0..100).map(|i| f64::from(i) / 100.0).collect(),
                attack_cal: (0..20).map(|i| 5.0 + f64::from(i) / 20.0).collect(),
                benign_test: (0..100).map(|i| f64::from(i) / 100.0 + shift).collect(),
                attack_test: (0..20).map(|i| 5.0 + f64::from(i) / 20.0).collect(),
                attack_groups: Vec::new(),
            };
            figures(&s, &EscalationPolicy::default()).unwrap()
        };
        let (a, b) = (one(0.005), one(0.05));
        let m = mean_of(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(m.splits, 2);
        for i in 0..LEVELS.len() {
            let want =
                (a.levels[i].benign_coverage.unwrap() + b.levels[i].benign_coverage.unwrap()) / 2.0;
            assert!((m.levels[i].benign_coverage.unwrap() - want).abs() < 1e-12);
        }
        // Shifted test scores cover less than unshifted ones at 0.9.
        assert!(b.levels[1].benign_coverage < a.levels[1].benign_coverage);
        assert!((m.ece.unwrap() - (a.ece.unwrap() + b.ece.unwrap()) / 2.0).abs() < 1e-12);
        assert!(mean_of(&[]).is_none());
    }

    #[test]
    fn leave_one_recording_out_judges_each_group_by_the_others() {
        // Ten "recordings" of two attack windows each, well above benign.
        let groups: Vec<Vec<f64>> = (0..10)
            .map(|g| vec![5.0 + f64::from(g) / 10.0, 5.05 + f64::from(g) / 10.0])
            .collect();
        let s = Scores {
            benign_cal: (0..100).map(|i| f64::from(i) / 100.0).collect(),
            attack_cal: vec![-1.0],
            benign_test: (0..100).map(|i| f64::from(i) / 100.0 + 0.005).collect(),
            attack_test: vec![-1.0],
            attack_groups: groups,
        };
        let f = figures(&s, &EscalationPolicy::default()).unwrap();
        // every attack window calibrates (for the others) and is tested once;
        // attack_cal / attack_test are ignored
        assert_eq!(f.attack_calibration, 20);
        assert_eq!(f.attack_test, 20);
        // Exchangeable groups: attack coverage near the level (each group's
        // p-values come from the other 18 windows).
        let l80 = &f.levels[0];
        let c = l80.attack_coverage.unwrap();
        assert!((0.7..=0.95).contains(&c), "{l80:?}");
        // separable: the fitted probabilities are confident and right
        assert!(f.ece.unwrap() < 0.1, "{:?}", f.ece);
    }
}
