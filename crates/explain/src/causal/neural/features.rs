//! From one CI question (X ⫫ Y | Z on a dataset) to a fixed-size vector.
//!
//! The network never sees raw data, only this summary, so the schema below
//! is a contract: a checkpoint records [`FEATURE_SCHEMA`] and refuses to run
//! against a build that computes something else. Change anything here
//! (order, scaling, bins) and bump the version.
//!
//! Steps:
//! 1. every column is replaced by its normal scores (ranks through Φ⁻¹), so
//!    the features ignore marginal scale and monotone transforms;
//! 2. X and Y are regressed, by ridge least squares, on a cubic Hermite
//!    basis `[s, s²−1, s³−3s]` of each Z column's scores; the residuals are
//!    what Z does not explain (the cubic terms catch the quadratic and
//!    saturating links a straight line leaves behind);
//! 3. the residual pair is summarised: correlations, a Fisher-z-like
//!    statistic, binned G statistics and mutual information, three
//!    nonlinear (variance and magnitude) correlations, and an 8×8 table of
//!    standardised cell deviations of the residuals' ranks — plus context
//!    the network needs to calibrate itself: n, |Z|, sparsity and ties.
//!
//! Heavy-tailed statistics are compressed with `sign(v)·ln(1+|v|)`, so a
//! strong dependence at n = 2000 does not saturate the network.

use crate::causal::data::Dataset;
use crate::causal::neural::copula::{
    average_ranks, center, normal_scores, normal_scores_and_distinct, pearson, solve_ridge,
    variance,
};
use crate::error::{Error, Result};

/// Version of the feature layout below, stored in every checkpoint.
pub const FEATURE_SCHEMA: &str = "neural-ci-features/v1";

/// Bins per axis of the residual rank table.
pub const HIST_BINS: usize = 8;

/// Scalar features before the table (see [`feature_names`]).
pub const SCALAR_FEATURES: usize = 20;

/// Length of the feature vector.
pub const FEATURE_DIM: usize = SCALAR_FEATURES + HIST_BINS * HIST_BINS;

/// Position of `distinct_fraction_x` (distinct values over n: 1 for
/// continuous data, small for counts); `distinct_fraction_y` follows it.
pub const DISTINCT_FRACTION_X: usize = 15;

/// Fewest samples a test accepts: below this no statistic means anything.
pub const MIN_SAMPLES: usize = 10;

/// Ridge added to `BᵀB`, relative to `n`: basis columns have unit-order
/// variance, so this shrinks by about 0.1 % — enough to keep a constant or
/// duplicated Z column solvable, too little to matter otherwise.
const RIDGE_PER_SAMPLE: f64 = 1e-3;

/// `ln(n)` is divided by this, so that n = 2000 maps to about 0.95.
const LOG_N_SCALE: f64 = 8.0;

/// Names of the features, in order (for reports and for checking the schema
/// by eye).
pub fn feature_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "abs_pearson",
        "abs_spearman",
        "slog_fisher_z",
        "slog_fisher_z_spearman",
        "slog_g8_standardised",
        "slog_g4_standardised",
        "mi8_nats",
        "abs_corr_rx2_ry",
        "abs_corr_rx_ry2",
        "abs_corr_absrx_absry",
        "slog_sqrt_n_max_nonlinear",
        "ln_n_over_8",
        "z_size_over_4",
        "zero_fraction_x",
        "zero_fraction_y",
        "distinct_fraction_x",
        "distinct_fraction_y",
        "unexplained_fraction_x",
        "unexplained_fraction_y",
        "mean_zero_fraction_z",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for i in 0..HIST_BINS {
        for j in 0..HIST_BINS {
            names.push(format!("slog_cell_{i}_{j}"));
        }
    }
    names
}

/// `sign(v)·ln(1+|v|)`.
fn slog(v: f64) -> f64 {
    v.signum() * v.abs().ln_1p()
}

/// Share of exact zeros.
fn zero_fraction(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.iter().filter(|x| **x == 0.0).count() as f64 / v.len() as f64
}

/// X, Y and the Z columns of a question.
type Columns<'a> = (&'a [f64], &'a [f64], Vec<&'a [f64]>);

/// Checks indices and size; returns the columns.
fn columns<'a>(data: &'a Dataset, x: usize, y: usize, z: &[usize]) -> Result<Columns<'a>> {
    if x == y {
        return Err(Error::BadArgument {
            what: "x, y",
            reason: format!("a variable cannot be tested against itself ({x})"),
        });
    }
    if let Some(v) = z.iter().find(|v| **v == x || **v == y) {
        return Err(Error::BadArgument {
            what: "z",
            reason: format!("conditioning set contains tested variable {v}"),
        });
    }
    let n = data.n_samples();
    if n < MIN_SAMPLES {
        return Err(Error::BadData(format!(
            "{n} samples; the neural CI test needs at least {MIN_SAMPLES}"
        )));
    }
    let xs = data.column(x)?;
    let ys = data.column(y)?;
    let zs = z
        .iter()
        .map(|&i| data.column(i))
        .collect::<Result<Vec<_>>>()?;
    Ok((xs, ys, zs))
}

/// The centred cubic Hermite basis of each conditioning column's scores.
fn z_basis(zs: &[&[f64]]) -> Vec<Vec<f64>> {
    let mut basis = Vec::with_capacity(3 * zs.len());
    for col in zs {
        let s = normal_scores(col);
        let mut s2: Vec<f64> = s.iter().map(|v| v * v - 1.0).collect();
        let mut s3: Vec<f64> = s.iter().map(|v| v * v * v - 3.0 * v).collect();
        center(&mut s2);
        center(&mut s3);
        basis.push(s);
        basis.push(s2);
        basis.push(s3);
    }
    basis
}

/// `v` minus its ridge least-squares fit on `basis` (all centred).
fn residualize(v: &[f64], basis: &[Vec<f64>]) -> Vec<f64> {
    let k = basis.len();
    if k == 0 {
        return v.to_vec();
    }
    let n = v.len();
    let mut gram = vec![0.0; k * k];
    let mut rhs = vec![0.0; k];
    for (i, bi) in basis.iter().enumerate() {
        if let Some(r) = rhs.get_mut(i) {
            *r = bi.iter().zip(v).map(|(a, b)| a * b).sum();
        }
        for (j, bj) in basis.iter().enumerate().take(i + 1) {
            let dot: f64 = bi.iter().zip(bj).map(|(a, b)| a * b).sum();
            if let Some(g) = gram.get_mut(i * k + j) {
                *g = dot;
            }
            if let Some(g) = gram.get_mut(j * k + i) {
                *g = dot;
            }
        }
    }
    let Some(beta) = solve_ridge(&gram, &rhs, k, RIDGE_PER_SAMPLE * n as f64) else {
        tracing::debug!(
            message = "Ridge solve failed; using unresidualised scores.",
            k
        );
        return v.to_vec();
    };
    let mut r = v.to_vec();
    for (b, col) in beta.iter().zip(basis) {
        for (ri, ci) in r.iter_mut().zip(col) {
            *ri -= b * ci;
        }
    }
    r
}

/// Bin of each value by rank (ties share a bin).
fn rank_bins(ranks: &[f64], bins: usize) -> Vec<usize> {
    let n = ranks.len().max(1) as f64;
    ranks
        .iter()
        .map(|r| {
            let u = ((r - 0.5) / n).clamp(0.0, 1.0);
            ((u * bins as f64) as usize).min(bins.saturating_sub(1))
        })
        .collect()
}

/// Contingency summary of two binned variables: the standardised cell
/// deviations `(O − E)/√E` (E from the margins, so tied bins are no
/// evidence), the G statistic and its degrees of freedom.
struct Table {
    cells: Vec<f64>,
    g: f64,
    df: f64,
}

fn table(a: &[usize], b: &[usize], bins: usize) -> Table {
    let n = a.len().min(b.len());
    let mut counts = vec![0.0; bins * bins];
    for (&i, &j) in a.iter().zip(b) {
        if let Some(c) = counts.get_mut(i * bins + j) {
            *c += 1.0;
        }
    }
    let row: Vec<f64> = (0..bins)
        .map(|i| counts.iter().skip(i * bins).take(bins).sum())
        .collect();
    let col: Vec<f64> = (0..bins)
        .map(|j| counts.iter().skip(j).step_by(bins).sum())
        .collect();
    let nf = n.max(1) as f64;
    let mut cells = vec![0.0; bins * bins];
    let mut g = 0.0;
    for (i, ri) in row.iter().enumerate() {
        for (j, cj) in col.iter().enumerate() {
            let e = ri * cj / nf;
            let o = counts.get(i * bins + j).copied().unwrap_or(0.0);
            if e > 0.0 {
                if let Some(c) = cells.get_mut(i * bins + j) {
                    *c = (o - e) / e.sqrt();
                }
                if o > 0.0 {
                    g += 2.0 * o * (o / e).ln();
                }
            }
        }
    }
    let used = |m: &[f64]| m.iter().filter(|v| **v > 0.0).count() as f64;
    let df = (used(&row) - 1.0).max(0.0) * (used(&col) - 1.0).max(0.0);
    Table { cells, g, df }
}

/// `(G − df)/√(2 df)`: the G statistic on the scale of a standard normal
/// under independence; 0 when the table has no degrees of freedom.
fn standardised_g(t: &Table) -> f64 {
    if t.df > 0.0 {
        (t.g - t.df) / (2.0 * t.df).sqrt()
    } else {
        0.0
    }
}

/// The feature vector of "X ⫫ Y | Z" on `data` ([`FEATURE_DIM`] finite values).
///
/// # Errors
/// [`Error::NoSuchVariable`] for an index out of range, [`Error::BadArgument`]
/// when `x == y` or Z contains X or Y, [`Error::BadData`] below
/// [`MIN_SAMPLES`] samples.
pub fn ci_features(data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<Vec<f32>> {
    let (xs, ys, zs) = columns(data, x, y, z)?;
    let n = xs.len();
    let nf = n as f64;
    let (sx, distinct_x) = normal_scores_and_distinct(xs);
    let (sy, distinct_y) = normal_scores_and_distinct(ys);
    let basis = z_basis(&zs);
    let rx = residualize(&sx, &basis);
    let mut ry = residualize(&sy, &basis);

    let r = pearson(&rx, &ry);
    // Canonical sign: a negative link looks like a positive one, so the
    // network need not learn every table pattern twice.
    if r < 0.0 {
        for v in &mut ry {
            *v = -*v;
        }
    }
    let rank_x = average_ranks(&rx);
    let rank_y = average_ranks(&ry);
    let rs = pearson(&rank_x, &rank_y);
    let dof = (nf - basis.len() as f64 - 3.0).max(1.0).sqrt();
    let fisher = |c: f64| dof * c.abs().min(1.0 - 1e-9).atanh();

    let t8 = table(
        &rank_bins(&rank_x, HIST_BINS),
        &rank_bins(&rank_y, HIST_BINS),
        HIST_BINS,
    );
    let t4 = table(&rank_bins(&rank_x, 4), &rank_bins(&rank_y, 4), 4);

    let sq = |v: &[f64]| v.iter().map(|a| a * a).collect::<Vec<f64>>();
    let abs = |v: &[f64]| v.iter().map(|a| a.abs()).collect::<Vec<f64>>();
    let c_x2y = pearson(&sq(&rx), &ry).abs();
    let c_xy2 = pearson(&rx, &sq(&ry)).abs();
    let c_abs = pearson(&abs(&rx), &abs(&ry)).abs();
    let unexplained = |res: &[f64], scores: &[f64]| {
        let v = variance(scores);
        if v > 1e-12 {
            (variance(res) / v).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let z_zeros = if zs.is_empty() {
        0.0
    } else {
        zs.iter().map(|c| zero_fraction(c)).sum::<f64>() / zs.len() as f64
    };

    let scalars = [
        r.abs(),
        rs.abs(),
        slog(fisher(r)),
        slog(fisher(rs)),
        slog(standardised_g(&t8)),
        slog(standardised_g(&t4)),
        t8.g / (2.0 * nf),
        c_x2y,
        c_xy2,
        c_abs,
        slog(nf.sqrt() * c_x2y.max(c_xy2).max(c_abs)),
        nf.ln() / LOG_N_SCALE,
        z.len() as f64 / 4.0,
        zero_fraction(xs),
        zero_fraction(ys),
        distinct_x as f64 / nf,
        distinct_y as f64 / nf,
        unexplained(&rx, &sx),
        unexplained(&ry, &sy),
        z_zeros,
    ];
    let mut out = Vec::with_capacity(FEATURE_DIM);
    out.extend(scalars.iter().map(|v| *v as f32));
    out.extend(t8.cells.iter().map(|v| slog(*v) as f32));
    // Inputs are finite (Dataset guarantees it) and every division above is
    // guarded; this is a last line so that no NaN reaches the network.
    for v in &mut out {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal::neural::rng::SimRng;

    fn dataset(cols: Vec<Vec<f64>>) -> Dataset {
        let names = (0..cols.len()).map(|i| format!("v{i}")).collect();
        Dataset::new(cols, names).unwrap()
    }

    #[test]
    fn schema_names_match_the_length() {
        let names = feature_names();
        assert_eq!(names.len(), FEATURE_DIM);
        assert_eq!(names[DISTINCT_FRACTION_X], "distinct_fraction_x");
        assert_eq!(names[DISTINCT_FRACTION_X + 1], "distinct_fraction_y");
        assert_eq!(SCALAR_FEATURES + 64, FEATURE_DIM);
    }

    #[test]
    fn constant_and_all_zero_columns_give_finite_features() {
        let n = 40;
        let mut r = SimRng::new(3);
        let noise: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let d = dataset(vec![
            vec![0.0; n],
            vec![7.0; n],
            noise.clone(),
            vec![0.0; n],
        ]);
        for (x, y, z) in [
            (0usize, 1usize, vec![]),
            (0, 2, vec![]),
            (2, 0, vec![1usize]),
            (0, 1, vec![2, 3]),
            (2, 1, vec![0, 3]),
        ] {
            let f = ci_features(&d, x, y, &z).unwrap();
            assert_eq!(f.len(), FEATURE_DIM);
            assert!(f.iter().all(|v| v.is_finite()), "{x} {y} {z:?}: {f:?}");
        }
        // An all-zero X carries no evidence of dependence.
        let f = ci_features(&d, 0, 2, &[]).unwrap();
        assert_eq!(f[0], 0.0);
        assert_eq!(f[13], 1.0);
    }

    #[test]
    fn handles_conditioning_sets_up_to_four() {
        let n = 60;
        let mut r = SimRng::new(5);
        let cols: Vec<Vec<f64>> = (0..6)
            .map(|_| (0..n).map(|_| r.poisson(1.5)).collect())
            .collect();
        let d = dataset(cols);
        for k in 0..=4 {
            let z: Vec<usize> = (2..2 + k).collect();
            let f = ci_features(&d, 0, 1, &z).unwrap();
            assert_eq!(f.len(), FEATURE_DIM);
            assert!(f.iter().all(|v| v.is_finite()));
            assert!((f[12] - k as f32 / 4.0).abs() < 1e-6);
        }
    }

    #[test]
    fn strong_dependence_scores_higher_than_independence() {
        let n = 300;
        let mut r = SimRng::new(8);
        let x: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let y_dep: Vec<f64> = x.iter().map(|v| -v + 0.3 * r.normal()).collect();
        let y_ind: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let d = dataset(vec![x, y_dep, y_ind]);
        let dep = ci_features(&d, 0, 1, &[]).unwrap();
        let ind = ci_features(&d, 0, 2, &[]).unwrap();
        assert!(dep[0] > 0.9 && ind[0] < 0.2, "{} {}", dep[0], ind[0]);
        assert!(dep[4] > ind[4] + 1.0);
        // The sign was canonicalised: mass sits on the main diagonal.
        assert!(dep[SCALAR_FEATURES] > 0.0);
    }

    #[test]
    fn conditioning_on_the_common_cause_removes_the_correlation() {
        let n = 400;
        let mut r = SimRng::new(21);
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let x: Vec<f64> = z
            .iter()
            .map(|v| (2.0 * v).tanh() + 0.3 * r.normal())
            .collect();
        let y: Vec<f64> = z.iter().map(|v| v * v + 0.3 * r.normal()).collect();
        let d = dataset(vec![x, y, z]);
        let marginal = ci_features(&d, 0, 1, &[]).unwrap();
        let conditional = ci_features(&d, 0, 1, &[2]).unwrap();
        assert!(conditional[9] < 0.2, "{}", conditional[9]);
        assert!(marginal[5] > conditional[5]);
    }

    #[test]
    fn rejects_bad_questions() {
        let d = dataset(vec![vec![1.0; 20], vec![2.0; 20]]);
        assert!(matches!(
            ci_features(&d, 0, 0, &[]),
            Err(Error::BadArgument { .. })
        ));
        assert!(matches!(
            ci_features(&d, 0, 1, &[1]),
            Err(Error::BadArgument { .. })
        ));
        assert!(matches!(
            ci_features(&d, 0, 5, &[]),
            Err(Error::NoSuchVariable { index: 5, .. })
        ));
        let small = dataset(vec![vec![1.0; 5], vec![2.0; 5]]);
        assert!(matches!(
            ci_features(&small, 0, 1, &[]),
            Err(Error::BadData(_))
        ));
    }
}
