//! Split conformal p-values and (Mondrian) prediction sets.
//!
//! The nonconformity of a window to `benign` is its anomaly score; to
//! `attack` it is the negated score (an attack that looks normal does not
//! conform to the attack class). With `n` calibration scores of a class, the
//! p-value of a test score is `(1 + #{calibration at least as nonconforming}) / (n + 1)`,
//! which is super-uniform under exchangeability: `P(p <= a) <= a`. Class-
//! conditional (Mondrian) calibration uses each class's own scores, so the
//! guarantee holds per class, which matters because attacks are rare.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The two labels of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Normal behaviour.
    Benign,
    /// Attack activity.
    Attack,
}

impl Label {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Benign => "benign",
            Self::Attack => "attack",
        }
    }
}

/// Sorted calibration scores per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Benign scores, ascending.
    benign: Vec<f64>,
    /// Attack scores, ascending (empty: one-class calibration).
    attack: Vec<f64>,
}

/// What conformal prediction says about one score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// p-value of `benign`.
    pub p_benign: f64,
    /// p-value of `attack` (`None` without attack calibration).
    pub p_attack: Option<f64>,
    /// Labels whose p-value exceeds `alpha`.
    pub set: Vec<Label>,
    /// The most plausible label: by the Venn–Abers probability with attack
    /// calibration, by the larger p-value without.
    pub label: Label,
    /// How sure the label is. With attack calibration, the Venn–Abers
    /// probability of `label` (a calibrated probability: of the windows
    /// given 0.9, about nine in ten are right). Without, `1 - ` the
    /// second-largest p-value (the attack p-value taken as `1 - p_benign`):
    /// how strongly the other label is rejected, not a probability.
    pub confidence: f64,
    /// Venn–Abers probability of `attack` and its interval `(p0, p1)`, with
    /// attack calibration.
    pub probability_attack: Option<f64>,
    /// The interval `probability_attack` was merged from.
    pub probability_interval: Option<(f64, f64)>,
    /// The largest p-value: how typical the window is of its label.
    pub credibility: f64,
}

fn check(scores: &[f64], what: &'static str) -> Result<Vec<f64>> {
    if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::NotFinite { what, index });
    }
    let mut v = scores.to_vec();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// Number of values in ascending `sorted` that are `>= x`.
fn count_at_least(sorted: &[f64], x: f64) -> usize {
    sorted.len() - sorted.partition_point(|v| *v < x)
}

/// Number of values in ascending `sorted` that are `<= x`.
fn count_at_most(sorted: &[f64], x: f64) -> usize {
    sorted.partition_point(|v| *v <= x)
}

impl Calibration {
    /// Calibration from benign scores and, when available, attack scores.
    ///
    /// # Errors
    /// [`Error::EmptyCalibration`] without benign scores, [`Error::NotFinite`]
    /// for a NaN or infinite score.
    pub fn new(benign: &[f64], attack: &[f64]) -> Result<Self> {
        if benign.is_empty() {
            return Err(Error::EmptyCalibration);
        }
        Ok(Self {
            benign: check(benign, "benign")?,
            attack: check(attack, "attack")?,
        })
    }

    /// Benign calibration scores, ascending.
    pub fn benign(&self) -> &[f64] {
        &self.benign
    }

    /// Attack calibration scores, ascending.
    pub fn attack(&self) -> &[f64] {
        &self.attack
    }

    /// True with attack scores (Mondrian, two classes).
    pub fn is_mondrian(&self) -> bool {
        !self.attack.is_empty()
    }

    /// p-value of `benign` for `score`.
    pub fn p_benign(&self, score: f64) -> f64 {
        (1 + count_at_least(&self.benign, score)) as f64 / (self.benign.len() + 1) as f64
    }

    /// p-value of `attack` for `score` (lower scores are less attack-like).
    pub fn p_attack(&self, score: f64) -> Option<f64> {
        if self.attack.is_empty() {
            return None;
        }
        Some((1 + count_at_most(&self.attack, score)) as f64 / (self.attack.len() + 1) as f64)
    }

    /// The prediction at miscoverage `alpha` (confidence level `1 - alpha`).
    ///
    /// One-class calibration cannot reject `attack`, so its set is `{benign}`
    /// when benign is plausible and `{attack}` when it is not; with attack
    /// calibration the set is every label whose p-value exceeds `alpha`, and
    /// may hold both (ambiguous) or none (unlike anything seen).
    pub fn predict(&self, score: f64, alpha: f64) -> Prediction {
        let p_b = self.p_benign(score);
        let p_a = self.p_attack(score);
        let set = match p_a {
            Some(p_a) => {
                let mut s = Vec::new();
                if p_b > alpha {
                    s.push(Label::Benign);
                }
                if p_a > alpha {
                    s.push(Label::Attack);
                }
                s
            }
            None if p_b > alpha => vec![Label::Benign],
            None => vec![Label::Attack],
        };
        let pa_eff = p_a.unwrap_or(1.0 - p_b);
        let (mut label, best, second) = if p_b >= pa_eff {
            (Label::Benign, p_b, pa_eff)
        } else {
            (Label::Attack, pa_eff, p_b)
        };
        let mut confidence = 1.0 - second;
        let interval = crate::venn_abers::interval(&self.benign, &self.attack, score);
        let probability = interval.map(crate::venn_abers::merged);
        if let Some(p) = probability {
            (label, confidence) = if p >= 0.5 {
                (Label::Attack, p)
            } else {
                (Label::Benign, 1.0 - p)
            };
        }
        Prediction {
            p_benign: p_b,
            p_attack: p_a,
            set,
            label,
            confidence,
            credibility: best,
            probability_attack: probability,
            probability_interval: interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_by_hand() {
        let c = Calibration::new(&[1.0, 2.0, 3.0, 4.0], &[]).unwrap();
        // (1 + #{>= s}) / 5
        assert_eq!(c.p_benign(0.5), 1.0);
        assert_eq!(c.p_benign(2.0), 4.0 / 5.0);
        assert_eq!(c.p_benign(2.5), 3.0 / 5.0);
        assert_eq!(c.p_benign(10.0), 1.0 / 5.0);
        assert_eq!(c.p_attack(1.0), None);
        let m = Calibration::new(&[1.0, 2.0], &[5.0, 6.0, 7.0]).unwrap();
        assert_eq!(m.p_attack(5.5), Some(2.0 / 4.0));
        assert_eq!(m.p_attack(1.0), Some(1.0 / 4.0));
    }

    #[test]
    fn sets_and_confidence() {
        let c = Calibration::new(&(1..=99).map(f64::from).collect::<Vec<_>>(), &[]).unwrap();
        let low = c.predict(10.0, 0.05);
        assert_eq!(low.set, vec![Label::Benign]);
        assert_eq!(low.label, Label::Benign);
        let high = c.predict(1000.0, 0.05);
        assert_eq!(high.set, vec![Label::Attack]);
        assert!((high.confidence - 0.99).abs() < 1e-12);
        let m = Calibration::new(&[1.0, 2.0, 3.0], &[2.5, 3.5, 4.5]).unwrap();
        let both = m.predict(2.6, 0.1);
        assert_eq!(both.set, vec![Label::Benign, Label::Attack]);
        let none = m.predict(-100.0, 0.3);
        assert_eq!(none.set, vec![Label::Benign]);
        // With attack calibration the confidence is the Venn–Abers
        // probability of the label: far below every attack, `attack` gets
        // p0 = 0, p1 = 1/3 (pooled with the benign scores 1 and 2; 3 pools
        // with the attack at 2.5), merged (1/3) / (4/3) = 1/4.
        assert_eq!(none.label, Label::Benign);
        let (p0, p1) = none.probability_interval.unwrap();
        assert_eq!(p0, 0.0);
        assert!((p1 - 1.0 / 3.0).abs() < 1e-12);
        assert!((none.confidence - 0.75).abs() < 1e-12);
        let far = m.predict(100.0, 0.1);
        assert_eq!(far.label, Label::Attack);
        assert!(far.confidence > 0.5);
    }

    #[test]
    fn bad_scores_are_refused() {
        assert!(matches!(
            Calibration::new(&[], &[]),
            Err(Error::EmptyCalibration)
        ));
        let e = Calibration::new(&[1.0, f64::NAN], &[]).unwrap_err();
        assert_eq!(e.to_string(), "benign score 1 is not a finite number");
    }
}
