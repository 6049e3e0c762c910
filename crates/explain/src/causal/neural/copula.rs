//! Rank (copula) transforms and the small linear algebra the features need.
//!
//! Ranks make the features blind to each variable's marginal scale: a
//! process that writes 10 000 times and one that writes 3 times look the
//! same once ranked, so the network learns dependence, not units. Normal
//! scores (the ranks pushed through the inverse normal CDF) keep that
//! invariance while letting a least-squares fit remove what Z explains.

/// Ranks in `1..=n`, ties sharing their average rank (count data are full
/// of ties: every zero gets the same rank).
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    ranks_and_distinct(values).0
}

/// [`average_ranks`] and the number of distinct values (one sort for both).
pub fn ranks_and_distinct(values: &[f64]) -> (Vec<f64>, usize) {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (va, vb) = (values.get(a), values.get(b));
        match (va, vb) {
            (Some(a), Some(b)) => a.total_cmp(b),
            _ => std::cmp::Ordering::Equal,
        }
    });
    let mut ranks = vec![0.0; n];
    let mut distinct = 0;
    let mut start = 0;
    while start < n {
        distinct += 1;
        let value = order.get(start).and_then(|&i| values.get(i)).copied();
        let mut end = start + 1;
        while end < n && order.get(end).and_then(|&i| values.get(i)).copied() == value {
            end += 1;
        }
        // Ranks start..end (0-based) share the mean of (start+1)..=end.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in order.get(start..end).unwrap_or(&[]) {
            if let Some(r) = ranks.get_mut(i) {
                *r = rank;
            }
        }
        start = end;
    }
    (ranks, distinct)
}

/// Inverse of the standard normal CDF, by Acklam's rational approximation
/// (absolute error below 1e-6 — the tests check known quantiles — which is
/// ample for a rank transform). `p` is clamped into the open unit interval.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_633_392e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let p = if p.is_nan() {
        0.5
    } else {
        p.clamp(1e-300, 1.0 - 1e-16)
    };
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Normal scores `Φ⁻¹(rank / (n + 1))`, centred. A constant column maps to
/// all zeros.
pub fn normal_scores(values: &[f64]) -> Vec<f64> {
    normal_scores_and_distinct(values).0
}

/// [`normal_scores`] and the number of distinct values.
pub fn normal_scores_and_distinct(values: &[f64]) -> (Vec<f64>, usize) {
    let n = values.len() as f64;
    let (ranks, distinct) = ranks_and_distinct(values);
    let mut s: Vec<f64> = ranks
        .into_iter()
        .map(|r| normal_quantile(r / (n + 1.0)))
        .collect();
    center(&mut s);
    (s, distinct)
}

/// Subtracts the mean in place.
pub fn center(v: &mut [f64]) {
    if v.is_empty() {
        return;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    for x in v.iter_mut() {
        *x -= m;
    }
}

/// Population variance (0 for fewer than two values).
pub fn variance(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n
}

/// Pearson correlation; 0 when either side is (numerically) constant, so a
/// silent variable reads as "no evidence of dependence" rather than NaN.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let ma = a.iter().take(n).sum::<f64>() / n as f64;
    let mb = b.iter().take(n).sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let scale = ma.abs().max(mb.abs()).max(1.0);
    if saa <= 1e-12 * n as f64 * scale || sbb <= 1e-12 * n as f64 * scale {
        return 0.0;
    }
    (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0)
}

/// Solves `(A + ridge·I) β = b` for a symmetric positive semi-definite `A`
/// (`k × k`, row-major) by Cholesky. The ridge keeps it positive definite
/// when Z holds constant or collinear columns; `None` only if even that
/// fails (non-finite input).
pub fn solve_ridge(a: &[f64], b: &[f64], k: usize, ridge: f64) -> Option<Vec<f64>> {
    if a.len() != k * k || b.len() != k {
        return None;
    }
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let mut sum = *a.get(i * k + j)? + if i == j { ridge } else { 0.0 };
            for m in 0..j {
                sum -= l.get(i * k + m)? * l.get(j * k + m)?;
            }
            let v = if i == j {
                if !sum.is_finite() || sum <= 0.0 {
                    return None;
                }
                sum.sqrt()
            } else {
                sum / l.get(j * k + j)?
            };
            *l.get_mut(i * k + j)? = v;
        }
    }
    // Forward then backward substitution.
    let mut y = vec![0.0; k];
    for i in 0..k {
        let mut sum = *b.get(i)?;
        for m in 0..i {
            sum -= l.get(i * k + m)? * y.get(m)?;
        }
        *y.get_mut(i)? = sum / l.get(i * k + i)?;
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut sum = *y.get(i)?;
        for m in i + 1..k {
            sum -= l.get(m * k + i)? * x.get(m)?;
        }
        *x.get_mut(i)? = sum / l.get(i * k + i)?;
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_average_rank() {
        assert_eq!(
            average_ranks(&[3.0, 0.0, 0.0, 5.0, 0.0]),
            vec![4.0, 2.0, 2.0, 5.0, 2.0]
        );
        assert_eq!(average_ranks(&[]), Vec::<f64>::new());
        assert_eq!(average_ranks(&[1.0, 1.0]), vec![1.5, 1.5]);
        assert_eq!(ranks_and_distinct(&[3.0, 0.0, 0.0, 5.0, 0.0]).1, 3);
        assert_eq!(ranks_and_distinct(&[]).1, 0);
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        for (p, want) in [
            (0.5, 0.0),
            (0.975, 1.959_963_985),
            (0.01, -2.326_347_874),
            (0.001, -3.090_232_306),
            (0.8, 0.841_621_234),
            (0.03, -1.880_793_608),
            (1e-6, -4.753_424_309),
        ] {
            let got = normal_quantile(p);
            assert!((got - want).abs() < 1e-6, "Φ⁻¹({p}) = {got}, want {want}");
        }
        assert!(normal_quantile(0.0).is_finite());
        assert!(normal_quantile(1.0).is_finite());
        assert!(normal_quantile(f64::NAN).is_finite());
    }

    #[test]
    fn constant_column_has_zero_scores_and_zero_correlation() {
        let s = normal_scores(&[4.0; 10]);
        assert!(s.iter().all(|v| v.abs() < 1e-12));
        let r = pearson(&s, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(r, 0.0);
    }

    #[test]
    fn ridge_solve_recovers_a_known_solution() {
        // A = [[4, 1], [1, 3]], x = [1, -2] → b = [2, -5].
        let x = solve_ridge(&[4.0, 1.0, 1.0, 3.0], &[2.0, -5.0], 2, 0.0).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] + 2.0).abs() < 1e-12);
        // A singular matrix is solvable with a ridge, not without.
        assert!(solve_ridge(&[0.0; 4], &[1.0, 1.0], 2, 0.0).is_none());
        assert!(solve_ridge(&[0.0; 4], &[1.0, 1.0], 2, 1e-3).is_some());
        assert!(solve_ridge(&[1.0], &[1.0, 2.0], 1, 0.0).is_none());
    }
}
