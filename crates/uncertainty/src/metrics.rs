//! Coverage and expected calibration error.

use crate::conformal::{Label, Prediction};

/// Share of predictions whose set holds the true label; `None` when empty.
pub fn coverage(predictions: &[Prediction], truth: &[Label]) -> Option<f64> {
    let n = predictions.len().min(truth.len());
    if n == 0 {
        return None;
    }
    let hit = predictions
        .iter()
        .zip(truth)
        .filter(|(p, t)| p.set.contains(t))
        .count();
    Some(hit as f64 / n as f64)
}

/// Expected calibration error of `confidence` against `correct` with `bins`
/// equal-width bins: `Σ |B|/n · |accuracy(B) − mean confidence(B)|`.
pub fn expected_calibration_error(
    confidence: &[f64],
    correct: &[bool],
    bins: usize,
) -> Option<f64> {
    let n = confidence.len().min(correct.len());
    if n == 0 || bins == 0 {
        return None;
    }
    let mut count = vec![0usize; bins];
    let mut conf = vec![0f64; bins];
    let mut acc = vec![0f64; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((c.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        count[b] += 1;
        conf[b] += c;
        acc[b] += f64::from(u8::from(ok));
    }
    Some(
        (0..bins)
            .filter(|&b| count[b] > 0)
            .map(|b| {
                let k = count[b] as f64;
                k / n as f64 * (acc[b] / k - conf[b] / k).abs()
            })
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_by_hand() {
        // bin 9: confidences 0.9, 0.9, accuracy 1/2 → |0.5 - 0.9| * 2/4
        // bin 5: 0.5, 0.5, accuracy 1/2 → 0
        let e = expected_calibration_error(&[0.9, 0.9, 0.5, 0.5], &[true, false, true, false], 10)
            .unwrap();
        assert!((e - 0.2).abs() < 1e-12);
        assert_eq!(expected_calibration_error(&[], &[], 10), None);
    }
}
