//! Fisher-z test of zero partial correlation, the CI test for (roughly)
//! linear-Gaussian variables.
//!
//! The partial correlation of x and y given z comes from eliminating the z
//! variables one by one from the correlation matrix of (x, y, z) (Gaussian
//! elimination, i.e. the Schur complement). A z member whose remaining
//! variance is below [`PIVOT_TOLERANCE`] is a linear combination of earlier
//! members and is skipped: that is exactly what a pseudo-inverse would do, and
//! keeps collinear or constant conditioning sets (common with bursty counts of
//! processes that always act together) from producing NaN.

use crate::causal::ci::{CiOutcome, CiTest};
use crate::causal::data::Dataset;
use crate::causal::stats::normal_two_sided_p;
use crate::error::{Error, Result};

/// Residual variance (as a fraction of the variable's own variance) below which
/// a variable counts as fully explained by the conditioning set.
pub const PIVOT_TOLERANCE: f64 = 1e-10;

/// Relative spread below which a column counts as constant: its standard
/// deviation is below this fraction of max(|mean|, 1).
const CONSTANT_RELATIVE_SD: f64 = 1e-12;

/// |r| is capped just below 1 so that atanh stays finite (the p-value is 0 either way).
const MAX_ABS_CORRELATION: f64 = 1.0 - 1e-15;

/// Fisher-z CI test: z = atanh(r_xy·z) · sqrt(n − |z| − 3), two-sided normal p-value.
///
/// The statistic reported is |z|. A constant x or y, or one that the
/// conditioning set determines exactly, has partial correlation 0 and p = 1:
/// it carries no information about the other variable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FisherZ;

impl FisherZ {
    /// The test (it has no settings).
    pub fn new() -> Self {
        Self
    }
}

impl CiTest for FisherZ {
    fn name(&self) -> &'static str {
        "fisher-z"
    }

    fn test(&self, data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<CiOutcome> {
        let n = data.n_samples();
        let dof = n
            .checked_sub(z.len() + 3)
            .filter(|&d| d > 0)
            .ok_or_else(|| {
                Error::BadData(format!(
                    "Fisher-z needs more than |z| + 3 = {} samples, got {n}",
                    z.len() + 3
                ))
            })?;
        let r = partial_correlation(data, x, y, z)?;
        let r = r.clamp(-MAX_ABS_CORRELATION, MAX_ABS_CORRELATION);
        let statistic = (r.atanh() * (dof as f64).sqrt()).abs();
        Ok(CiOutcome {
            p_value: normal_two_sided_p(statistic),
            statistic,
        })
    }
}

/// Partial correlation of columns `x` and `y` given the columns in `z`, in [-1, 1].
///
/// 0 when x or y is constant or an exact linear function of z (there is no
/// residual variation left to correlate). Collinear or constant members of z
/// are skipped rather than inverted.
///
/// # Errors
/// [`Error::NoSuchVariable`] for an index out of range; [`Error::BadArgument`]
/// when x = y or z contains x or y.
pub fn partial_correlation(data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<f64> {
    check_distinct(x, y, z)?;
    let mut vars = Vec::with_capacity(z.len() + 2);
    vars.push(x);
    vars.push(y);
    vars.extend_from_slice(z);
    let columns = vars
        .iter()
        .map(|&v| data.column(v))
        .collect::<Result<Vec<_>>>()?;
    let mut corr = CorrelationMatrix::from_columns(&columns);
    if !corr.has_variance(0) || !corr.has_variance(1) {
        return Ok(0.0);
    }
    for pivot in 2..corr.k {
        corr.eliminate(pivot);
    }
    let sxx = corr.get(0, 0);
    let syy = corr.get(1, 1);
    if sxx <= PIVOT_TOLERANCE || syy <= PIVOT_TOLERANCE {
        return Ok(0.0);
    }
    Ok((corr.get(0, 1) / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// x ≠ y and neither in z: a CI statement about a variable and itself is a caller bug.
fn check_distinct(x: usize, y: usize, z: &[usize]) -> Result<()> {
    if x == y {
        return Err(Error::BadArgument {
            what: "x, y",
            reason: format!("x and y are both variable {x}"),
        });
    }
    if let Some(v) = z.iter().find(|&&v| v == x || v == y) {
        return Err(Error::BadArgument {
            what: "z",
            reason: format!("conditioning set contains tested variable {v}"),
        });
    }
    Ok(())
}

/// Dense symmetric k×k correlation matrix of a few columns, row-major.
struct CorrelationMatrix {
    k: usize,
    values: Vec<f64>,
    /// Whether each column varies at all; a constant one has an all-zero row.
    varies: Vec<bool>,
}

impl CorrelationMatrix {
    fn from_columns(columns: &[&[f64]]) -> Self {
        let k = columns.len();
        let n = columns.first().map_or(0, |c| c.len()).max(1) as f64;
        let centred: Vec<Vec<f64>> = columns
            .iter()
            .map(|c| {
                let mean = c.iter().sum::<f64>() / n;
                c.iter().map(|v| v - mean).collect()
            })
            .collect();
        let mut sd = Vec::with_capacity(k);
        let mut varies = Vec::with_capacity(k);
        for (c, raw) in centred.iter().zip(columns) {
            let ss: f64 = c.iter().map(|v| v * v).sum();
            let mean_abs = (raw.iter().sum::<f64>() / n).abs();
            let s = (ss / n).sqrt();
            varies.push(s > CONSTANT_RELATIVE_SD * mean_abs.max(1.0));
            sd.push(s);
        }
        let mut values = vec![0.0; k * k];
        for i in 0..k {
            for j in i..k {
                let (Some(ci), Some(cj), Some(&vi), Some(&vj)) =
                    (centred.get(i), centred.get(j), varies.get(i), varies.get(j))
                else {
                    continue;
                };
                if !(vi && vj) {
                    continue;
                }
                let dot: f64 = ci.iter().zip(cj).map(|(a, b)| a * b).sum();
                let denom =
                    n * sd.get(i).copied().unwrap_or(0.0) * sd.get(j).copied().unwrap_or(0.0);
                let r = if i == j {
                    1.0
                } else {
                    (dot / denom).clamp(-1.0, 1.0)
                };
                if let Some(slot) = values.get_mut(i * k + j) {
                    *slot = r;
                }
                if let Some(slot) = values.get_mut(j * k + i) {
                    *slot = r;
                }
            }
        }
        Self { k, values, varies }
    }

    fn get(&self, i: usize, j: usize) -> f64 {
        self.values.get(i * self.k + j).copied().unwrap_or(0.0)
    }

    fn has_variance(&self, i: usize) -> bool {
        self.varies.get(i).copied().unwrap_or(false)
    }

    /// Partials variable `p` out of every other one (one Gaussian elimination
    /// step), then zeroes its row and column. Skipped when p's residual variance
    /// is below [`PIVOT_TOLERANCE`]: p is then (a combination of) earlier pivots
    /// or constant, and eliminating it would divide by ~0.
    fn eliminate(&mut self, p: usize) {
        let pivot = self.get(p, p);
        if pivot > PIVOT_TOLERANCE {
            let col: Vec<f64> = (0..self.k).map(|i| self.get(i, p)).collect();
            for (i, &cip) in col.iter().enumerate() {
                if i == p || cip == 0.0 {
                    continue;
                }
                for (j, &cjp) in col.iter().enumerate() {
                    if j == p {
                        continue;
                    }
                    if let Some(slot) = self.values.get_mut(i * self.k + j) {
                        *slot -= cip * cjp / pivot;
                    }
                }
            }
        }
        for i in 0..self.k {
            if let Some(slot) = self.values.get_mut(i * self.k + p) {
                *slot = 0.0;
            }
            if let Some(slot) = self.values.get_mut(p * self.k + i) {
                *slot = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal::rng::Rng;

    fn dataset(columns: Vec<Vec<f64>>) -> Dataset {
        let names = (0..columns.len()).map(|i| format!("v{i}")).collect();
        Dataset::new(columns, names).unwrap()
    }

    fn gaussian(rng: &mut Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.normal()).collect()
    }

    #[test]
    fn statistic_and_p_value_follow_the_fisher_formula() {
        // x = 1..=10 and y = x with the last two swapped are both rank vectors, so
        // Pearson r = Spearman r = 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/990 = 0.9878787878787879.
        // With n = 10, |z| = 0 (python3 standard library):
        //   z = math.atanh(r) * math.sqrt(7)   = 6.746489143835086
        //   p = math.erfc(z / math.sqrt(2))    = 1.514653943220272e-11
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let y = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 9.0];
        let data = dataset(vec![x, y]);
        let r = partial_correlation(&data, 0, 1, &[]).unwrap();
        assert!((r - 0.9878787878787879).abs() < 1e-13, "r = {r}");
        let out = FisherZ.test(&data, 0, 1, &[]).unwrap();
        assert!(
            (out.statistic - 6.746489143835086).abs() < 1e-10,
            "{}",
            out.statistic
        );
        assert!(
            (out.p_value / 1.514653943220272e-11 - 1.0).abs() < 1e-8,
            "{}",
            out.p_value
        );
    }

    #[test]
    fn rejects_strong_correlation_and_accepts_independence() {
        let mut rng = Rng::seed_from_u64(11);
        let x = gaussian(&mut rng, 300);
        let y: Vec<f64> = x.iter().map(|v| 0.8 * v + 0.6 * rng.normal()).collect();
        let w = gaussian(&mut rng, 300);
        let data = dataset(vec![x, y, w]);
        assert!(FisherZ.test(&data, 0, 1, &[]).unwrap().p_value < 1e-10);
        assert!(FisherZ.test(&data, 0, 2, &[]).unwrap().p_value > 0.05);
    }

    #[test]
    fn conditioning_on_a_common_cause_removes_the_dependence() {
        let mut rng = Rng::seed_from_u64(12);
        let c = gaussian(&mut rng, 1000);
        let x: Vec<f64> = c.iter().map(|v| 1.5 * v + rng.normal()).collect();
        let y: Vec<f64> = c.iter().map(|v| -1.0 * v + rng.normal()).collect();
        let data = dataset(vec![x, y, c]);
        assert!(FisherZ.test(&data, 0, 1, &[]).unwrap().p_value < 1e-10);
        // The textbook first-order formula, from the pairwise correlations:
        // r_xy·c = (r_xy − r_xc r_yc) / sqrt((1 − r_xc²)(1 − r_yc²)).
        let r = |a, b| partial_correlation(&data, a, b, &[]).unwrap();
        let (rxy, rxc, ryc) = (r(0, 1), r(0, 2), r(1, 2));
        let want = (rxy - rxc * ryc) / ((1.0 - rxc * rxc) * (1.0 - ryc * ryc)).sqrt();
        let got = partial_correlation(&data, 0, 1, &[2]).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // Marginal |r| ≈ 0.56 here; given c it is sampling noise (sd ≈ 1/sqrt(997) ≈ 0.032).
        assert!(rxy.abs() > 0.4, "{rxy}");
        assert!(got.abs() < 0.1, "{got}");
        let given_c = FisherZ.test(&data, 0, 1, &[2]).unwrap();
        assert!(given_c.p_value > 0.001, "p = {}", given_c.p_value);
    }

    #[test]
    fn constant_column_is_independent_of_everything() {
        let mut rng = Rng::seed_from_u64(13);
        let x = gaussian(&mut rng, 50);
        let data = dataset(vec![x.clone(), vec![3.0; 50], x]);
        for z in [&[][..], &[2][..]] {
            let out = FisherZ.test(&data, 0, 1, z).unwrap();
            assert_eq!(out.p_value, 1.0);
            assert_eq!(out.statistic, 0.0);
        }
    }

    #[test]
    fn collinear_and_constant_conditioning_sets_give_finite_answers() {
        let mut rng = Rng::seed_from_u64(14);
        let z = gaussian(&mut rng, 400);
        let x: Vec<f64> = z.iter().map(|v| v + rng.normal()).collect();
        let y: Vec<f64> = z.iter().map(|v| v + rng.normal()).collect();
        let z2: Vec<f64> = z.iter().map(|v| 2.0 * v + 1.0).collect();
        let data = dataset(vec![x.clone(), y, z.clone(), z2, vec![0.0; 400], x]);
        // z and 2z+1 together, plus a constant: same answer as z alone.
        let alone = FisherZ.test(&data, 0, 1, &[2]).unwrap();
        let dup = FisherZ.test(&data, 0, 1, &[2, 3, 4]).unwrap();
        assert!(dup.p_value.is_finite() && dup.statistic.is_finite());
        let r_alone = partial_correlation(&data, 0, 1, &[2]).unwrap();
        let r_dup = partial_correlation(&data, 0, 1, &[2, 3, 4]).unwrap();
        assert!((r_alone - r_dup).abs() < 1e-9);
        assert!(alone.p_value > 0.01 && dup.p_value > 0.01);
        // x determined by z = a copy of x: nothing left to correlate.
        let det = FisherZ.test(&data, 0, 1, &[5]).unwrap();
        assert_eq!(det.p_value, 1.0);
    }

    #[test]
    fn too_few_samples_and_bad_indices_are_errors() {
        let data = dataset(vec![
            vec![1.0, 2.0, 3.0, 5.0],
            vec![2.0, 1.0, 4.0, 3.0],
            vec![0.0, 1.0, 0.0, 1.0],
        ]);
        assert!(matches!(
            FisherZ.test(&data, 0, 1, &[2]),
            Err(Error::BadData(_))
        ));
        assert!(FisherZ.test(&data, 0, 1, &[]).is_ok());
        assert!(matches!(
            FisherZ.test(&data, 0, 9, &[]),
            Err(Error::NoSuchVariable { index: 9, .. })
        ));
        assert!(matches!(
            FisherZ.test(&data, 0, 0, &[]),
            Err(Error::BadArgument { .. })
        ));
    }
}
