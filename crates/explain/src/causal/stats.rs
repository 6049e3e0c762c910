//! Special functions behind the CI tests' p-values: log-gamma, the regularized
//! incomplete gamma functions, the chi-square and normal tails.
//!
//! Written here rather than taken from a statistics crate because we need only
//! these few, with known accuracy (about 1e-13 relative in the range CI tests
//! use), and without pulling a linear-algebra stack into the explain stage.
//! Like `f64` methods, they return NaN for arguments outside their domain;
//! the CI tests check their inputs before calling them.

/// Relative accuracy the series and continued fraction iterate to.
const EPS: f64 = 1e-15;
/// Iteration cap of the series and continued fraction; both converge in
/// O(sqrt(a)) steps, so this is only reached for absurd arguments (a > 1e8).
const MAX_ITER: usize = 100_000;
/// Floor that keeps the modified Lentz recursion away from division by zero.
const TINY: f64 = 1e-300;
/// Below this argument `ln_gamma` shifts upward before the Stirling series.
const STIRLING_FROM: f64 = 15.0;

/// ln Γ(x) for x > 0 (NaN otherwise).
///
/// Stirling's asymptotic series through the x⁻⁹ term, after shifting x up to
/// at least 15 with Γ(x) = Γ(x+k) / (x (x+1) … (x+k-1)); the first omitted
/// term is below 691/360360 · 15⁻¹¹ ≈ 2e-16.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    let mut shift = 0.0;
    let mut z = x;
    while z < STIRLING_FROM {
        shift += z.ln();
        z += 1.0;
    }
    let inv = 1.0 / z;
    let inv2 = inv * inv;
    // B_{2k} / (2k (2k-1) z^{2k-1}) for k = 1..5, evaluated by Horner in 1/z².
    let series = inv
        * (1.0 / 12.0
            + inv2
                * (-1.0 / 360.0 + inv2 * (1.0 / 1260.0 + inv2 * (-1.0 / 1680.0 + inv2 / 1188.0))));
    let half_ln_two_pi = 0.5 * (std::f64::consts::TAU).ln();
    (z - 0.5) * z.ln() - z + half_ln_two_pi + series - shift
}

/// Lower regularized incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0, x ≥ 0.
pub fn regularized_gamma_p(a: f64, x: f64) -> f64 {
    if a.is_nan() || x.is_nan() || a <= 0.0 || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return 0.0;
    }
    if x < a + 1.0 {
        gamma_p_series(a, x)
    } else {
        1.0 - gamma_q_fraction(a, x)
    }
}

/// Upper regularized incomplete gamma Q(a, x) = 1 − P(a, x), for a > 0, x ≥ 0.
///
/// Computed directly in the upper tail (continued fraction), so tiny
/// p-values keep their relative accuracy instead of cancelling to 0.
pub fn regularized_gamma_q(a: f64, x: f64) -> f64 {
    if a.is_nan() || x.is_nan() || a <= 0.0 || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_fraction(a, x)
    }
}

/// e^{-x} x^a / Γ(a), the common prefactor, in log space to avoid overflow.
fn gamma_prefactor(a: f64, x: f64) -> f64 {
    (a * x.ln() - x - ln_gamma(a)).exp()
}

/// P(a, x) by its power series Σ xⁿ / (a (a+1) … (a+n)); converges fast for x < a + 1.
fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut denom = a;
    let mut term = 1.0 / a;
    let mut sum = term;
    for _ in 0..MAX_ITER {
        denom += 1.0;
        term *= x / denom;
        sum += term;
        if term.abs() < sum.abs() * EPS {
            break;
        }
    }
    (sum * gamma_prefactor(a, x)).clamp(0.0, 1.0)
}

/// Q(a, x) by the continued fraction 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- …))),
/// evaluated with the modified Lentz method; converges fast for x ≥ a + 1.
fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_ITER {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    (h * gamma_prefactor(a, x)).clamp(0.0, 1.0)
}

/// P(X ≥ `statistic`) for X ~ χ²(`df`): the p-value of a chi-square or G statistic.
///
/// 1 for a statistic ≤ 0; NaN when `df` is not positive or an argument is NaN.
pub fn chi2_sf(statistic: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || statistic.is_nan() {
        return f64::NAN;
    }
    if statistic <= 0.0 {
        return 1.0;
    }
    regularized_gamma_q(0.5 * df, 0.5 * statistic)
}

/// Complementary error function erfc(x) = 1 − erf(x), via erfc(x) = Q(1/2, x²) for x ≥ 0.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x >= 0.0 {
        regularized_gamma_q(0.5, x * x)
    } else {
        1.0 + regularized_gamma_p(0.5, x * x)
    }
}

/// Standard normal CDF Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Two-sided normal p-value P(|Z| ≥ |z|) = erfc(|z| / √2).
pub fn normal_two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_python_lgamma() {
        // Reference: python3 -c "import math; print(repr(math.lgamma(x)))" for each x.
        let cases = [
            (0.5, 0.5723649429247004), // ln √π
            (1.0, 0.0),
            (2.5, 0.2846828704729196),
            (7.0, 6.579251212010102), // ln 720
            (33.3, 82.60372358165495),
            (1e-3, 6.907178885383854),
        ];
        for (x, want) in cases {
            let got = ln_gamma(x);
            assert!(
                (got - want).abs() < 1e-13 * want.abs().max(1.0),
                "lgamma({x}) = {got}, want {want}"
            );
        }
        assert!(ln_gamma(0.0).is_nan());
        assert!(ln_gamma(-1.5).is_nan());
    }

    #[test]
    fn chi2_sf_matches_closed_forms() {
        // Even df = 2k: Q(k, x/2) = e^{-x/2} Σ_{i<k} (x/2)^i / i!  (Poisson tail identity), so
        // df=2, x=3:   e^{-1.5}                              = 0.22313016014842982
        // df=4, x=9.49: e^{-4.745}(1 + 4.745)                = 0.049953...  (computed below)
        // df=10, x=30: e^{-15} Σ_{i<5} 15^i/i!               = 0.0008566412...
        // Odd df=1: P(χ²₁ ≥ x) = erfc(sqrt(x/2)); python3: math.erfc(math.sqrt(3.84/2)) = 0.05004352124870509
        let even = |df: u32, x: f64| {
            let h = x / 2.0;
            let mut term = 1.0;
            let mut sum = 0.0;
            for i in 0..df / 2 {
                if i > 0 {
                    term *= h / f64::from(i);
                }
                sum += term;
            }
            (-h).exp() * sum
        };
        assert!(close(chi2_sf(3.0, 2.0), 0.22313016014842982, 1e-13));
        for (df, x) in [(4u32, 9.49), (10, 30.0), (20, 5.0), (36, 80.0), (2, 200.0)] {
            let got = chi2_sf(x, f64::from(df));
            let want = even(df, x);
            assert!(close(got, want, 1e-12), "df={df} x={x}: {got} vs {want}");
        }
        assert!(close(chi2_sf(3.84, 1.0), 0.05004352124870509, 1e-12));
        // df=3: P = erfc(sqrt(x/2)) + sqrt(2x/π) e^{-x/2};
        // python3: x=7.81; math.erfc(math.sqrt(x/2))+math.sqrt(2*x/math.pi)*math.exp(-x/2) = 0.050106056350005944
        let x: f64 = 7.81;
        let want = 0.050106056350005944;
        assert!(close(chi2_sf(x, 3.0), want, 1e-12), "{}", chi2_sf(x, 3.0));
        assert_eq!(chi2_sf(0.0, 3.0), 1.0);
        assert_eq!(chi2_sf(-1.0, 3.0), 1.0);
        assert!(chi2_sf(1.0, 0.0).is_nan());
    }

    #[test]
    fn normal_tails_match_python_erfc() {
        // Reference: python3 -c "import math; print(repr(math.erfc(x)))".
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028513),
            (2.0, 0.004677734981047265),
            (5.0, 1.5374597944280351e-12),
            (-1.0, 1.842700792949715),
        ] {
            let got = erfc(x);
            assert!(close(got, want, 1e-12), "erfc({x}) = {got}, want {want}");
        }
        // Φ(1.959963984540054) = 0.975, the two-sided 5% point.
        assert!(close(normal_two_sided_p(1.959963984540054), 0.05, 1e-12));
        assert!(close(normal_cdf(1.959963984540054), 0.975, 1e-13));
        assert_eq!(normal_two_sided_p(0.0), 1.0);
        assert_eq!(normal_two_sided_p(60.0), 0.0);
    }
}
