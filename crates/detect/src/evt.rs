//! Alert thresholds for a target false-alarm rate, from few benign scores.
//!
//! The highest benign validation score is a threshold whose false-alarm
//! rate is about one in `n + 1` windows for `n` validation windows: with
//! tens of windows that is several alarms per host-hour. A SOC asks for at
//! most about one per host-hour (one in 360 ten-second windows), which no
//! affordable validation set pins down empirically. Extreme value theory
//! does: above a high threshold `u`, excesses of a score follow a
//! generalised Pareto distribution (Pickands–Balkema–de Haan), so the
//! quantile far in the tail is extrapolated from the tail that was seen.
//! This is the peaks-over-threshold rule of SPOT (Siffer et al., KDD 2017);
//! the distribution is fitted by probability-weighted moments (Hosking and
//! Wallis, Technometrics 1987), which are stable with tens of excesses,
//! where maximum likelihood often fails to converge.

/// Fewest excesses over `u` the fit is trusted with.
pub const MIN_EXCESSES: usize = 10;

/// A generalised Pareto fit of the excesses over `u`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailFit {
    /// The threshold the excesses are measured from.
    pub u: f64,
    /// Share of all scores above `u`.
    pub tail_share: f64,
    /// Scale (σ > 0).
    pub scale: f64,
    /// Shape in Hosking's sign (k = −ξ): k > 0 a bounded tail, k < 0 heavy.
    pub k: f64,
}

impl TailFit {
    /// The score exceeded with probability `p` (of all scores), `p` below
    /// the tail share.
    pub fn quantile(&self, p: f64) -> f64 {
        let r = (p / self.tail_share).clamp(f64::MIN_POSITIVE, 1.0);
        let excess = if self.k.abs() < 1e-9 {
            -self.scale * r.ln()
        } else {
            self.scale / self.k * (1.0 - r.powf(self.k))
        };
        self.u + excess
    }
}

/// Fits the top `tail_fraction` of `sorted` (ascending). `None` with fewer
/// than [`MIN_EXCESSES`] excesses or a degenerate tail (all excesses equal).
pub fn fit_tail(sorted: &[f64], tail_fraction: f64) -> Option<TailFit> {
    let n = sorted.len();
    let n_tail = ((n as f64 * tail_fraction).floor() as usize).max(MIN_EXCESSES);
    if n <= n_tail {
        return None;
    }
    let u = sorted[n - n_tail - 1];
    let excesses: Vec<f64> = sorted[n - n_tail..].iter().map(|x| x - u).collect();
    let m = excesses.len() as f64;
    // Probability-weighted moments with plotting positions (j - 0.35) / m.
    let a0 = excesses.iter().sum::<f64>() / m;
    let a1 = excesses
        .iter()
        .enumerate()
        .map(|(j, y)| (1.0 - (j as f64 + 0.65) / m) * y)
        .sum::<f64>()
        / m;
    let denom = a0 - 2.0 * a1;
    // NaN fails both comparisons and is refused with the rest.
    let positive = |x: f64| x > 0.0;
    if !positive(a0) || !positive(denom) {
        return None;
    }
    let k = a0 / denom - 2.0;
    let scale = 2.0 * a0 * a1 / denom;
    (scale > 0.0 && k.is_finite()).then_some(TailFit {
        u,
        tail_share: n_tail as f64 / n as f64,
        scale,
        k,
    })
}

/// The alert threshold for at most `per_hour` false alarms per host-hour of
/// `window_secs` windows, from benign validation scores `sorted`
/// (ascending), and how it was found. Never below the highest validation
/// score: a threshold that would have alarmed on the validation data is not
/// one to ship. With too few scores to fit a tail, that maximum is the
/// threshold, and the description says so.
pub fn threshold_for_rate(sorted: &[f64], per_hour: f64, window_secs: f64) -> (f64, String) {
    let max = sorted.last().copied().unwrap_or(0.0);
    let p = (per_hour * window_secs / 3600.0).clamp(0.0, 1.0);
    match fit_tail(sorted, 0.2) {
        Some(fit) if p < fit.tail_share => {
            let q = fit.quantile(p);
            let t = if q.is_finite() { q.max(max) } else { max };
            (
                t,
                format!(
                    "generalised Pareto tail (u {:.4}, scale {:.4}, k {:.3}) of {} benign validation \
                     window scores, quantile for {per_hour} false alarms per host-hour \
                     (p = {p:.5} per window): {q:.4}; highest validation score {max:.4}",
                    fit.u,
                    fit.scale,
                    fit.k,
                    sorted.len()
                ),
            )
        }
        _ => (
            max,
            format!(
                "highest of {} benign validation window scores (too few to fit a tail for {per_hour} \
                 false alarms per host-hour)",
                sorted.len()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic uniforms in (0, 1) (64-bit LCG, top 53 bits).
    fn uniforms(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            })
            .collect()
    }

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn recovers_an_exponential_tail() {
        // Exp(1): the excesses over any u are Exp(1), k = 0, scale 1.
        let x = sorted(uniforms(20_000, 7).into_iter().map(|u| -u.ln()).collect());
        let fit = fit_tail(&x, 0.2).unwrap();
        assert!(fit.k.abs() < 0.05, "{fit:?}");
        assert!((fit.scale - 1.0).abs() < 0.05, "{fit:?}");
        // P(X > x) = e^-x: the 1e-4 quantile is ln 1e4 = 9.21, twice as
        // far out as the sample's own highest point.
        let q = fit.quantile(1e-4);
        assert!((q - 1e4f64.ln()).abs() < 0.5, "{q}");
    }

    #[test]
    fn recovers_a_heavy_pareto_tail() {
        // Pareto with alpha 4: xi = 0.25, so k = -0.25; P(X > x) = x^-4.
        let x = sorted(
            uniforms(50_000, 11)
                .into_iter()
                .map(|u| u.powf(-0.25))
                .collect(),
        );
        let fit = fit_tail(&x, 0.2).unwrap();
        assert!((fit.k + 0.25).abs() < 0.06, "{fit:?}");
        let q = fit.quantile(1e-4);
        assert!((q - 10.0).abs() < 1.5, "{q}");
    }

    #[test]
    fn extrapolates_beyond_the_maximum_of_a_small_sample() {
        // 70 windows, a target of 1 alarm per hour of 10 s windows
        // (p = 1/360): beyond what 70 samples show, so above their maximum.
        let x = sorted(uniforms(70, 3).into_iter().map(|u| -u.ln()).collect());
        let (t, how) = threshold_for_rate(&x, 1.0, 10.0);
        let max = *x.last().unwrap();
        assert!(t >= max, "{t} < {max}");
        assert!(how.contains("generalised Pareto"), "{how}");
        // And close to the true quantile, ln 360 = 5.89.
        assert!((t - 360f64.ln()).abs() < 2.0, "{t}");
    }

    #[test]
    fn falls_back_to_the_maximum_with_few_scores() {
        let x = sorted(vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(fit_tail(&x, 0.2).is_none());
        let (t, how) = threshold_for_rate(&x, 1.0, 10.0);
        assert_eq!(t, 5.0);
        assert!(how.contains("too few"), "{how}");
        // A flat tail cannot be fitted either.
        assert!(fit_tail(&[1.0; 40], 0.2).is_none());
        assert_eq!(threshold_for_rate(&[], 1.0, 10.0).0, 0.0);
    }
}
