//! A small seeded random stream for the simulator and the initialiser.
//!
//! Everything the neural tester draws (simulated cases, weights, shuffles)
//! comes from here rather than from `rand` or candle's generator: the same
//! seed then gives the same bits on every machine and every build, which is
//! what makes a checkpoint byte-reproducible.

/// SplitMix64 finaliser: a strong 64-bit mix, also used to derive
/// independent per-case seeds from `(seed, salt, index)`.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A seed for item `index` of the stream `salt` under `seed`. Each case gets
/// its own generator, so case `i` does not depend on how many draws the
/// cases before it made, and streams with different salts never overlap in
/// practice.
pub(crate) fn derive_seed(seed: u64, salt: u64, index: u64) -> u64 {
    mix(mix(seed ^ mix(salt)).wrapping_add(index))
}

/// SplitMix64 stream with the few distributions the simulator needs.
#[derive(Debug, Clone)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // The modulo bias is below 2^-40 for the sizes used here.
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal (Box–Muller; one value per call keeps the stream
    /// simple to reason about).
    pub fn normal(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Laplace with unit variance.
    pub fn laplace(&mut self) -> f64 {
        let u = self.uniform() - 0.5;
        let b = std::f64::consts::FRAC_1_SQRT_2;
        let tail = (1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE);
        -b * u.signum() * tail.ln()
    }

    /// Uniform with unit variance (on `[-√3, √3)`).
    pub fn uniform_noise(&mut self) -> f64 {
        let r = 3f64.sqrt();
        self.range(-r, r)
    }

    /// Poisson with mean `lambda` (negative or non-finite means are 0).
    /// Knuth's product method below 30, a rounded normal above: the
    /// simulator needs plausible counts, not exact tails.
    pub fn poisson(&mut self, lambda: f64) -> f64 {
        if !lambda.is_finite() || lambda <= 0.0 {
            return 0.0;
        }
        if lambda < 30.0 {
            let limit = (-lambda).exp();
            let mut k = 0.0;
            let mut p = self.uniform();
            while p > limit {
                k += 1.0;
                p *= self.uniform();
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.normal()).round().max(0.0)
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(mut draw: impl FnMut() -> f64, n: usize) -> (f64, f64) {
        let v: Vec<f64> = (0..n).map(|_| draw()).collect();
        let m = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        (m, var)
    }

    #[test]
    fn same_seed_same_stream_and_salts_differ() {
        let a: Vec<u64> = {
            let mut r = SimRng::new(5);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = SimRng::new(5);
            (0..8).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(derive_seed(1, 2, 3), derive_seed(1, 3, 3));
        assert_ne!(derive_seed(1, 2, 3), derive_seed(1, 2, 4));
    }

    #[test]
    fn noises_have_zero_mean_unit_variance() {
        let mut r = SimRng::new(1);
        type Draw = fn(&mut SimRng) -> f64;
        let cases: [(&str, Draw); 3] = [
            ("normal", SimRng::normal),
            ("laplace", SimRng::laplace),
            ("uniform", SimRng::uniform_noise),
        ];
        for (name, draw) in cases {
            let (m, v) = moments(|| draw(&mut r), 20_000);
            assert!(m.abs() < 0.05, "{name} mean {m}");
            assert!((v - 1.0).abs() < 0.08, "{name} variance {v}");
        }
    }

    #[test]
    fn poisson_mean_matches_lambda() {
        let mut r = SimRng::new(9);
        for lambda in [0.1, 2.0, 12.0, 80.0] {
            let (m, v) = moments(|| r.poisson(lambda), 20_000);
            assert!(
                (m - lambda).abs() < 0.05 * lambda + 0.02,
                "{lambda}: mean {m}"
            );
            assert!(
                (v - lambda).abs() < 0.1 * lambda + 0.02,
                "{lambda}: variance {v}"
            );
        }
        assert_eq!(r.poisson(-1.0), 0.0);
        assert_eq!(r.poisson(f64::NAN), 0.0);
    }
}
