//! Finite-sample validity on exchangeable synthetic scores.

use causaldefend_uncertainty::{coverage, Calibration, Label};
use proptest::prelude::*;

/// A small seeded generator (SplitMix64) so that each case is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((x ^ (x >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Exponential(1), a skewed score distribution like reconstruction errors.
    fn score(&mut self) -> f64 {
        -(1.0 - self.next()).ln()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Coverage of benign test windows is at least 1 - alpha, up to the
    /// sampling error of a finite test set (4 standard deviations).
    #[test]
    fn benign_coverage_holds(seed in any::<u64>(), n_cal in 20usize..400, alpha in 0.01f64..0.3) {
        let mut rng = Rng(seed);
        let cal: Vec<f64> = (0..n_cal).map(|_| rng.score()).collect();
        let c = Calibration::new(&cal, &[]).unwrap();
        let n_test = 2000;
        let preds: Vec<_> = (0..n_test).map(|_| c.predict(rng.score(), alpha)).collect();
        let cov = coverage(&preds, &vec![Label::Benign; n_test]).unwrap();
        // Marginal over calibration draws, coverage is in [1-a, 1-a+1/(n+1)];
        // for one calibration draw it varies by about sqrt(a(1-a)/n).
        let slack = 4.0 * ((alpha * (1.0 - alpha)) / n_cal as f64).sqrt()
            + 4.0 * ((alpha * (1.0 - alpha)) / n_test as f64).sqrt();
        prop_assert!(cov >= 1.0 - alpha - slack, "coverage {} < {} - {}", cov, 1.0 - alpha, slack);
    }
}

/// Averaged over many calibration draws, coverage is within the exact
/// finite-sample bounds [1 - alpha, 1 - alpha + 1/(n+1)].
#[test]
fn average_coverage_is_within_the_finite_sample_bounds() {
    let (n_cal, alpha, draws) = (49usize, 0.1, 4000);
    let mut rng = Rng(7);
    let mut covered = 0usize;
    for _ in 0..draws {
        let cal: Vec<f64> = (0..n_cal).map(|_| rng.score()).collect();
        let c = Calibration::new(&cal, &[]).unwrap();
        if c.predict(rng.score(), alpha).set.contains(&Label::Benign) {
            covered += 1;
        }
    }
    let cov = covered as f64 / draws as f64;
    let sd = (alpha * (1.0 - alpha) / draws as f64).sqrt();
    let upper = 1.0 - alpha + 1.0 / (n_cal as f64 + 1.0);
    assert!(cov >= 1.0 - alpha - 3.0 * sd, "coverage {cov}");
    assert!(cov <= upper + 3.0 * sd, "coverage {cov} above {upper}");
}

/// p-values of null (benign) scores are uniform: a Kolmogorov-Smirnov test
/// against U(0,1) at the 1 % level, with the discreteness 1/(n+1) allowed.
#[test]
fn p_values_are_uniform_under_the_null() {
    for seed in 1..=20u64 {
        let mut rng = Rng(seed);
        let n_cal = 2000;
        let cal: Vec<f64> = (0..n_cal).map(|_| rng.score()).collect();
        let c = Calibration::new(&cal, &[]).unwrap();
        let n = 1000;
        let mut p: Vec<f64> = (0..n).map(|_| c.p_benign(rng.score())).collect();
        p.sort_by(f64::total_cmp);
        let d = p
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let lo = i as f64 / n as f64;
                let hi = (i + 1) as f64 / n as f64;
                (x - lo).abs().max((hi - x).abs())
            })
            .fold(0.0f64, f64::max);
        let critical = 1.63 / (n as f64).sqrt() + 1.0 / (n_cal as f64 + 1.0);
        assert!(d < critical, "seed {seed}: KS D = {d} >= {critical}");
    }
}

/// Mondrian: attack windows are covered at 1 - alpha by their own class.
#[test]
fn mondrian_covers_the_attack_class_too() {
    let mut rng = Rng(99);
    let benign: Vec<f64> = (0..300).map(|_| rng.score()).collect();
    let attack: Vec<f64> = (0..300).map(|_| 3.0 + rng.score()).collect();
    let c = Calibration::new(&benign, &attack).unwrap();
    let alpha = 0.1;
    let preds: Vec<_> = (0..3000)
        .map(|_| c.predict(3.0 + rng.score(), alpha))
        .collect();
    let cov = coverage(&preds, &vec![Label::Attack; preds.len()]).unwrap();
    assert!(cov >= 1.0 - alpha - 0.03, "attack coverage {cov}");
}
