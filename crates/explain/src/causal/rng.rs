//! A small seeded random generator for simulations and tests.
//!
//! Causal-discovery evaluations must be reproducible from a seed on every
//! platform and across dependency upgrades, so we keep our own generator
//! instead of depending on a crate whose stream may change between versions.
//! The core is xoshiro256** (Blackman & Vigna), seeded through SplitMix64 so
//! that nearby seeds (0, 1, 2, …) give unrelated streams.

/// Deterministic pseudo-random generator (xoshiro256**, SplitMix64 seeding).
///
/// Not for cryptography: it drives simulations and permutation tests.
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
    /// Second normal deviate of the last Box–Muller pair, not yet handed out.
    spare_normal: Option<f64>,
}

/// One SplitMix64 step: advances `x` and returns a well-mixed output.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Below this mean Poisson draws multiply uniforms (cost grows with the mean);
/// above it they use transformed rejection (constant cost).
const POISSON_SMALL_MEAN: f64 = 30.0;

impl Rng {
    /// A generator whose whole stream is fixed by `seed`.
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut x = seed;
        let state = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        // SplitMix64 is a bijection of a counter, so four consecutive outputs are never all zero.
        Self {
            state,
            spare_normal: None,
        }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.state;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits (every value a multiple of 2⁻⁵³).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in 0..n without modulo bias (Lemire's multiply-shift with rejection).
    /// Returns 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Reject the low products that would make some outputs more likely.
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal deviate (Box–Muller; the pair's second value is kept for the next call).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // 1 - uniform() lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        self.spare_normal = Some(radius * angle.sin());
        radius * angle.cos()
    }

    /// Poisson deviate with mean `lambda`; 0 for a mean that is not positive and finite.
    ///
    /// Small means multiply uniforms until the product drops below e^-λ (Knuth);
    /// larger ones use Hörmann's transformed rejection with squeeze (PTRS, 1993),
    /// whose cost does not grow with the mean.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if !(lambda.is_finite() && lambda > 0.0) {
            return 0;
        }
        if lambda < POISSON_SMALL_MEAN {
            let limit = (-lambda).exp();
            let mut k = 0u64;
            let mut product = self.uniform();
            while product > limit {
                k += 1;
                product *= self.uniform();
            }
            return k;
        }
        self.poisson_ptrs(lambda)
    }

    /// PTRS for λ ≥ 10 (Hörmann 1993, "The transformed rejection method for
    /// generating Poisson random variables", algorithm PTRS).
    fn poisson_ptrs(&mut self, lambda: f64) -> u64 {
        let slam = lambda.sqrt();
        let loglam = lambda.ln();
        let b = 0.931 + 2.53 * slam;
        let a = -0.059 + 0.02483 * b;
        let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
        let v_r = 0.9277 - 3.6224 / (b - 2.0);
        loop {
            let u = self.uniform() - 0.5;
            let v = self.uniform();
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
            if us >= 0.07 && v <= v_r {
                return k as u64;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
            let rhs = -lambda + k * loglam - crate::causal::stats::ln_gamma(k + 1.0);
            if lhs <= rhs {
                return k as u64;
            }
        }
    }

    /// Shuffles `items` in place (Fisher–Yates), every permutation equally likely.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (m, v)
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let mut a = Rng::seed_from_u64(7);
        let mut b = Rng::seed_from_u64(7);
        let mut c = Rng::seed_from_u64(8);
        let xa: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..16).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn uniform_and_below_stay_in_range_and_cover_it() {
        let mut r = Rng::seed_from_u64(1);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            seen[r.below(7) as usize] += 1;
        }
        // Each bucket expects 1000 (sd ≈ 29).
        assert!(seen.iter().all(|&c| (880..1120).contains(&c)), "{seen:?}");
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::seed_from_u64(2);
        let xs: Vec<f64> = (0..20_000).map(|_| r.normal()).collect();
        let (m, v) = mean_var(&xs);
        // se(mean) ≈ 0.007, se(var) ≈ 0.01.
        assert!(m.abs() < 0.03, "mean {m}");
        assert!((v - 1.0).abs() < 0.05, "var {v}");
    }

    #[test]
    fn poisson_mean_equals_variance_for_small_and_large_means() {
        let mut r = Rng::seed_from_u64(3);
        for lambda in [0.3, 4.0, 45.0, 400.0] {
            let xs: Vec<f64> = (0..20_000).map(|_| r.poisson(lambda) as f64).collect();
            let (m, v) = mean_var(&xs);
            // se(mean) = sqrt(λ/20000); allow 5 se, and 8% on the variance.
            let se = (lambda / 20_000.0f64).sqrt();
            assert!((m - lambda).abs() < 5.0 * se, "λ={lambda} mean {m}");
            assert!((v / lambda - 1.0).abs() < 0.08, "λ={lambda} var {v}");
        }
        assert_eq!(r.poisson(0.0), 0);
        assert_eq!(r.poisson(f64::NAN), 0);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut r = Rng::seed_from_u64(4);
        let mut xs: Vec<usize> = (0..50).collect();
        r.shuffle(&mut xs);
        assert_ne!(xs, (0..50).collect::<Vec<_>>());
        xs.sort_unstable();
        assert_eq!(xs, (0..50).collect::<Vec<_>>());
    }
}
