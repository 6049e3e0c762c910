//! Cases with a known answer: small random structural causal models, and
//! semi-synthetic cases built from real provenance activity series.
//!
//! The tester learns "dependent or not" from these, and its p-values are
//! calibrated on more of the null ones, so this mixture *is* the definition
//! of the data the test is valid for. It tries to cover what PC-Stable asks
//! about provenance graphs: sparse, bursty counts as well as continuous
//! scores, nonlinear links, conditioning sets of 0 to 3 variables, and the
//! classic traps (a conditioned collider, a hidden confounder).
//!
//! Every case draws from its own generator, seeded from
//! `(seed, stream, index)`, so a case does not depend on the ones before it
//! and the training, calibration and held-out streams never share a case.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::causal::data::Dataset;
use crate::causal::neural::rng::{derive_seed, SimRng};
use crate::error::{Error, Result};

/// How simulated cases are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Fewest samples in a case (n is log-uniform between the bounds, so
    /// small samples, where tests struggle, are well represented).
    pub min_samples: usize,
    /// Most samples in a case.
    pub max_samples: usize,
    /// Largest conditioning set simulated.
    pub max_conditioning: usize,
    /// Share of count-valued cases among the fully simulated ones.
    pub count_fraction: f64,
    /// Share of provenance (semi-synthetic) cases when real series are given.
    pub provenance_fraction: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            min_samples: 50,
            max_samples: 2000,
            max_conditioning: 3,
            count_fraction: 0.4,
            provenance_fraction: 0.25,
        }
    }
}

impl SimConfig {
    /// Checks the bounds.
    ///
    /// # Errors
    /// [`Error::BadArgument`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |what, reason: String| Err(Error::BadArgument { what, reason });
        if self.min_samples < crate::causal::neural::features::MIN_SAMPLES {
            return bad(
                "sim.min_samples",
                format!(
                    "{} is below the {} samples a test needs",
                    self.min_samples,
                    crate::causal::neural::features::MIN_SAMPLES
                ),
            );
        }
        if self.max_samples < self.min_samples {
            return bad(
                "sim.max_samples",
                format!("{} is below min_samples", self.max_samples),
            );
        }
        for (what, v) in [
            ("sim.count_fraction", self.count_fraction),
            ("sim.provenance_fraction", self.provenance_fraction),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(what, format!("{v} is not a share in [0, 1]"));
            }
        }
        Ok(())
    }
}

/// What kind of values a case holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// Real-valued variables with Gaussian, uniform or Laplace noise.
    Continuous,
    /// Poisson counts, zero-inflated and bursty, rates driven by parents.
    Count,
    /// Real activity series with injected or broken dependence.
    Provenance,
}

/// The causal structure behind a case (and so its answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// Null: Z₁ causes both X and Y.
    CommonCause,
    /// Null: X → Z₁ → Y (or the reverse).
    Chain,
    /// Null: X and Y unrelated; Z roots or children of one of them.
    Unrelated,
    /// Null: real series, one circularly shifted.
    ShiftedSeries,
    /// Dependent: X → Y (or the reverse), Z anywhere else.
    Direct,
    /// Dependent: X → Z₁ ← Y with Z₁ conditioned on.
    Collider,
    /// Dependent: a hidden H causes X and Y.
    HiddenConfounder,
    /// Dependent: X → W → Y with W hidden.
    HiddenMediator,
    /// Dependent: a real series plus counts driven by another real series.
    InjectedSignal,
}

impl Structure {
    /// Whether X and Y are dependent given Z under this structure.
    pub fn dependent(self) -> bool {
        !matches!(
            self,
            Self::CommonCause | Self::Chain | Self::Unrelated | Self::ShiftedSeries
        )
    }
}

/// One CI question with a known answer.
#[derive(Debug, Clone)]
pub struct CiCase {
    /// The samples; X, Y and Z index its columns.
    pub data: Dataset,
    /// Tested variable.
    pub x: usize,
    /// Tested variable.
    pub y: usize,
    /// Conditioning set.
    pub z: Vec<usize>,
    /// True answer: X and Y are dependent given Z.
    pub dependent: bool,
    /// Kind of values.
    pub kind: DataKind,
    /// Structure that produced it.
    pub structure: Structure,
}

/// Independent case streams under one seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStream {
    /// Cases the network is fitted to (and validated on).
    Training,
    /// Null cases whose scores calibrate p-values.
    Calibration,
    /// Cases for measuring a test, never seen in training.
    HeldOut,
}

impl CaseStream {
    fn salt(self) -> u64 {
        match self {
            Self::Training => 0x0074_7261_696e,
            Self::Calibration => 0x0063_616c_6962,
            Self::HeldOut => 0x0068_656c_646f,
        }
    }
}

/// The real activity series semi-synthetic cases are cut from: those at
/// least `min_samples` long. Fewer than three usable series (X, Y and a Z
/// must come from different entities) disables provenance cases.
#[derive(Debug, Clone, Default)]
pub struct ProvenancePool {
    series: Vec<Vec<f64>>,
    digest: String,
    given: usize,
}

impl ProvenancePool {
    /// Checks and keeps the usable series.
    ///
    /// # Errors
    /// [`Error::BadArgument`] when a value is not finite.
    pub fn new(series: &[Vec<f64>], min_samples: usize) -> Result<Self> {
        let mut h = Sha256::new();
        for (i, s) in series.iter().enumerate() {
            if let Some(t) = s.iter().position(|v| !v.is_finite()) {
                return Err(Error::BadArgument {
                    what: "real_series",
                    reason: format!("series {i} bin {t} is not finite"),
                });
            }
            h.update((s.len() as u64).to_le_bytes());
            for v in s {
                h.update(v.to_le_bytes());
            }
        }
        let usable: Vec<Vec<f64>> = series
            .iter()
            .filter(|s| s.len() >= min_samples)
            .cloned()
            .collect();
        if !series.is_empty() && usable.len() < 3 {
            tracing::warn!(
                message = "Too few real series are long enough; no provenance cases.",
                given = series.len(),
                usable = usable.len(),
                min_samples
            );
        }
        Ok(Self {
            series: if usable.len() >= 3 {
                usable
            } else {
                Vec::new()
            },
            digest: format!("{:x}", h.finalize()),
            given: series.len(),
        })
    }

    /// Whether provenance cases can be drawn.
    pub fn is_usable(&self) -> bool {
        self.series.len() >= 3
    }

    /// SHA-256 over every given series (lengths and values), for the record.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Series given, usable or not.
    pub fn given(&self) -> usize {
        self.given
    }

    /// Series kept.
    pub fn usable(&self) -> usize {
        self.series.len()
    }
}

/// Which answers a batch of cases has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// Even indices null, odd indices dependent: exactly balanced.
    Balanced,
    /// All null (p-value calibration).
    NullOnly,
}

/// Case `index` of `stream` under `seed`.
///
/// # Errors
/// Only if a generated dataset is malformed, which would be a bug.
pub fn case_at(
    cfg: &SimConfig,
    pool: &ProvenancePool,
    seed: u64,
    stream: CaseStream,
    index: u64,
    labels: Labels,
) -> Result<CiCase> {
    let mut rng = SimRng::new(derive_seed(seed, stream.salt(), index));
    let dependent = labels == Labels::Balanced && index % 2 == 1;
    if pool.is_usable() && rng.chance(cfg.provenance_fraction) {
        return provenance_case(cfg, pool, dependent, &mut rng);
    }
    let kind = if rng.chance(cfg.count_fraction) {
        DataKind::Count
    } else {
        DataKind::Continuous
    };
    scm_case(cfg, kind, dependent, &mut rng)
}

/// `count` cases of `stream`.
///
/// # Errors
/// A bad config or real series.
pub fn simulate_cases(
    cfg: &SimConfig,
    real_series: &[Vec<f64>],
    seed: u64,
    stream: CaseStream,
    count: usize,
    labels: Labels,
) -> Result<Vec<CiCase>> {
    cfg.validate()?;
    let pool = ProvenancePool::new(real_series, cfg.min_samples)?;
    (0..count as u64)
        .map(|i| case_at(cfg, &pool, seed, stream, i, labels))
        .collect()
}

/// Log-uniform sample size.
fn draw_n(cfg: &SimConfig, rng: &mut SimRng) -> usize {
    let lo = (cfg.min_samples.max(1) as f64).ln();
    let hi = (cfg.max_samples.max(cfg.min_samples).max(1) as f64).ln();
    (rng.range(lo, hi + 1e-9).exp().round() as usize).clamp(cfg.min_samples, cfg.max_samples)
}

#[derive(Debug, Clone, Copy)]
enum Link {
    Linear,
    Tanh,
    Quadratic,
    Sine,
}

#[derive(Debug, Clone, Copy)]
enum Noise {
    Gaussian,
    Uniform,
    Laplace,
}

/// Draws variables of one case: every variable of a case has the same kind.
struct Scm {
    n: usize,
    kind: DataKind,
}

/// Zero mean, unit variance (zeros for a constant input).
fn standardise(v: &[f64]) -> Vec<f64> {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt();
    if sd < 1e-12 {
        return vec![0.0; v.len()];
    }
    v.iter().map(|x| (x - m) / sd).collect()
}

impl Scm {
    fn noise(&self, rng: &mut SimRng) -> Vec<f64> {
        let kind = match rng.below(3) {
            0 => Noise::Gaussian,
            1 => Noise::Uniform,
            _ => Noise::Laplace,
        };
        (0..self.n)
            .map(|_| match kind {
                Noise::Gaussian => rng.normal(),
                Noise::Uniform => rng.uniform_noise(),
                Noise::Laplace => rng.laplace(),
            })
            .collect()
    }

    /// Counts with a per-variable base rate, a bursty (log-normal)
    /// multiplier per bin and optional zero inflation, like an entity's
    /// activity per time bin.
    fn counts(&self, log_signal: &[f64], rng: &mut SimRng) -> Vec<f64> {
        let base = rng.range(0.05f64.ln(), 20f64.ln()).exp();
        let burst = rng.range(0.0, 1.0);
        let zero_inflation = if rng.chance(0.5) {
            0.0
        } else {
            rng.range(0.0, 0.7)
        };
        (0..self.n)
            .map(|t| {
                let s = log_signal.get(t).copied().unwrap_or(0.0).clamp(-4.0, 4.0);
                let rate = base * (s + burst * rng.normal()).exp();
                let v = rng.poisson(rate);
                if rng.chance(zero_inflation) {
                    0.0
                } else {
                    v
                }
            })
            .collect()
    }

    fn root(&self, rng: &mut SimRng) -> Vec<f64> {
        match self.kind {
            DataKind::Count => self.counts(&[], rng),
            _ => self.noise(rng),
        }
    }

    /// A child of `parents`; `strength` scales every link.
    fn child(&self, parents: &[&[f64]], strength: f64, rng: &mut SimRng) -> Vec<f64> {
        let mut signal = vec![0.0; self.n];
        for p in parents {
            let p = match self.kind {
                DataKind::Count => standardise(&p.iter().map(|v| v.ln_1p()).collect::<Vec<_>>()),
                _ => standardise(p),
            };
            let link = match rng.below(4) {
                0 => Link::Linear,
                1 => Link::Tanh,
                2 => Link::Quadratic,
                _ => Link::Sine,
            };
            let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
            let c = sign * rng.range(0.5, 1.0) * strength;
            for (s, v) in signal.iter_mut().zip(&p) {
                let f = match link {
                    Link::Linear => *v,
                    Link::Tanh => (1.5 * v).tanh(),
                    Link::Quadratic => (v * v - 1.0) / std::f64::consts::SQRT_2,
                    Link::Sine => (2.0 * v).sin() * std::f64::consts::SQRT_2,
                };
                *s += c * f;
            }
        }
        match self.kind {
            DataKind::Count => self.counts(&signal, rng),
            _ => {
                let noise = self.noise(rng);
                signal.iter().zip(noise).map(|(s, e)| s + e).collect()
            }
        }
    }
}

/// Strength of a link that makes X and Y dependent: log-uniform, so weak
/// effects (where tests disagree) are as common as strong ones.
fn effect_strength(rng: &mut SimRng) -> f64 {
    rng.range(0.1f64.ln(), 2.0f64.ln()).exp()
}

/// Strength of a link involving Z.
fn z_strength(rng: &mut SimRng) -> f64 {
    rng.range(0.4, 2.0)
}

/// Each of `zs` with probability one half.
fn some_of<'a>(zs: &'a [Vec<f64>], rng: &mut SimRng) -> Vec<&'a [f64]> {
    zs.iter()
        .filter(|_| rng.chance(0.5))
        .map(Vec::as_slice)
        .collect()
}

fn scm_case(cfg: &SimConfig, kind: DataKind, dependent: bool, rng: &mut SimRng) -> Result<CiCase> {
    let n = draw_n(cfg, rng);
    let scm = Scm { n, kind };
    let max_k = cfg.max_conditioning;
    let structure = if dependent {
        match rng.below(20) {
            0..=7 => Structure::Direct,
            8..=11 if max_k >= 1 => Structure::Collider,
            8..=11 => Structure::Direct,
            12..=16 => Structure::HiddenConfounder,
            _ => Structure::HiddenMediator,
        }
    } else {
        match rng.below(20) {
            0..=6 if max_k >= 1 => Structure::CommonCause,
            7..=11 if max_k >= 1 => Structure::Chain,
            _ => Structure::Unrelated,
        }
    };
    let min_k = usize::from(matches!(
        structure,
        Structure::CommonCause | Structure::Chain | Structure::Collider
    ));
    let k = min_k + rng.below(max_k.saturating_sub(min_k) + 1);
    // Conditioning variables that are not the structural Z₁: roots, some of
    // them feeding X or Y below (which, conditioned on, changes no answer).
    let extra = k.saturating_sub(min_k);
    let others: Vec<Vec<f64>> = (0..extra).map(|_| scm.root(rng)).collect();

    let (x, y, z1) = match structure {
        Structure::CommonCause => {
            let z1 = scm.root(rng);
            let (s1, s2) = (z_strength(rng), z_strength(rng));
            let mut px = some_of(&others, rng);
            px.push(&z1);
            let x = scm.child(&px, s1, rng);
            let mut py = some_of(&others, rng);
            py.push(&z1);
            let y = scm.child(&py, s2, rng);
            (x, y, Some(z1))
        }
        Structure::Chain => {
            let px = some_of(&others, rng);
            let x = if px.is_empty() {
                scm.root(rng)
            } else {
                scm.child(&px, z_strength(rng), rng)
            };
            let z1 = scm.child(&[&x], z_strength(rng), rng);
            let mut py = some_of(&others, rng);
            py.push(&z1);
            let y = scm.child(&py, z_strength(rng), rng);
            (x, y, Some(z1))
        }
        Structure::Unrelated => {
            let px = some_of(&others, rng);
            let x = if px.is_empty() {
                scm.root(rng)
            } else {
                scm.child(&px, z_strength(rng), rng)
            };
            let py = some_of(&others, rng);
            let y = if py.is_empty() {
                scm.root(rng)
            } else {
                scm.child(&py, z_strength(rng), rng)
            };
            (x, y, None)
        }
        Structure::Direct => {
            let px = some_of(&others, rng);
            let x = if px.is_empty() {
                scm.root(rng)
            } else {
                scm.child(&px, z_strength(rng), rng)
            };
            let mut py = some_of(&others, rng);
            py.push(&x);
            // All links of Y share one strength; the X link is the effect.
            let y = scm.child(&py, effect_strength(rng), rng);
            (x, y, None)
        }
        Structure::Collider => {
            let x = scm.root(rng);
            let y = scm.root(rng);
            let z1 = scm.child(&[&x, &y], effect_strength(rng) + 0.3, rng);
            (x, y, Some(z1))
        }
        Structure::HiddenConfounder => {
            let h = scm.root(rng);
            let s = effect_strength(rng);
            let mut px = some_of(&others, rng);
            px.push(&h);
            let x = scm.child(&px, s, rng);
            let mut py = some_of(&others, rng);
            py.push(&h);
            let y = scm.child(&py, s, rng);
            (x, y, None)
        }
        Structure::HiddenMediator => {
            let px = some_of(&others, rng);
            let x = if px.is_empty() {
                scm.root(rng)
            } else {
                scm.child(&px, z_strength(rng), rng)
            };
            let w = scm.child(&[&x], effect_strength(rng) + 0.3, rng);
            let y = scm.child(&[&w], effect_strength(rng) + 0.3, rng);
            (x, y, None)
        }
        Structure::ShiftedSeries | Structure::InjectedSignal => {
            return Err(Error::BadArgument {
                what: "structure",
                reason: "provenance structures are not simulated".into(),
            })
        }
    };
    // A direction chosen at random: the network must not learn that X is
    // always the cause.
    let (x, y) = if rng.chance(0.5) { (y, x) } else { (x, y) };
    let mut columns = vec![x, y];
    columns.extend(z1);
    columns.extend(others);
    finish(columns, dependent, kind, structure)
}

/// A dataset `[x, y, z…]` and its case.
fn finish(
    columns: Vec<Vec<f64>>,
    dependent: bool,
    kind: DataKind,
    structure: Structure,
) -> Result<CiCase> {
    let k = columns.len().saturating_sub(2);
    let mut names = vec!["x".to_owned(), "y".to_owned()];
    names.extend((1..=k).map(|i| format!("z{i}")));
    Ok(CiCase {
        data: Dataset::new(columns, names)?,
        x: 0,
        y: 1,
        z: (2..2 + k).collect(),
        dependent,
        kind,
        structure,
    })
}

/// Bins `offset..offset + n` of `series`.
fn window(series: &[f64], offset: usize, n: usize) -> Vec<f64> {
    series.iter().skip(offset).take(n).copied().collect()
}

/// Rotates `v` left by `lag`.
fn rotate(v: &[f64], lag: usize) -> Vec<f64> {
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    (0..n)
        .map(|t| v.get((t + lag) % n).copied().unwrap_or(0.0))
        .collect()
}

/// Semi-synthetic case from three or more distinct real series, cut to a
/// common time window.
///
/// Null: Y's window is rotated by a lag between a fifth and four fifths of
/// its length, which breaks its alignment (and so any dependence) with X and
/// Z while keeping its own burstiness. Dependent: the same rotated Y plus
/// Poisson counts whose rate follows X, scaled to Y's level by a random
/// strength — so the only difference between the classes is the injected
/// signal.
fn provenance_case(
    cfg: &SimConfig,
    pool: &ProvenancePool,
    dependent: bool,
    rng: &mut SimRng,
) -> Result<CiCase> {
    let m = pool.series.len();
    let k = rng.below(cfg.max_conditioning.min(m.saturating_sub(2)) + 1);
    // Distinct series: a partial shuffle of the indices.
    let mut idx: Vec<usize> = (0..m).collect();
    for i in 0..(k + 2).min(m) {
        let j = i + rng.below(m - i);
        idx.swap(i, j);
    }
    let chosen: Vec<&Vec<f64>> = idx
        .iter()
        .take(k + 2)
        .filter_map(|&i| pool.series.get(i))
        .collect();
    let shortest = chosen.iter().map(|s| s.len()).min().unwrap_or(0);
    let n = draw_n(cfg, rng).min(shortest);
    let offset = rng.below(shortest - n + 1);
    let mut cols: Vec<Vec<f64>> = chosen.iter().map(|s| window(s, offset, n)).collect();
    let lag = n / 5 + rng.below((3 * n / 5).max(1));
    if let Some(y) = cols.get_mut(1) {
        *y = rotate(y, lag);
    }
    if dependent {
        let x = cols.first().cloned().unwrap_or_default();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let (mx, my) = (mean(&x), cols.get(1).map_or(0.0, |y| mean(y)));
        let strength = rng.range(0.05f64.ln(), 1.5f64.ln()).exp();
        if mx > 0.0 {
            let level = my.max(0.5) * strength / mx;
            if let Some(y) = cols.get_mut(1) {
                for (yt, xt) in y.iter_mut().zip(&x) {
                    *yt += rng.poisson(level * xt.max(0.0));
                }
            }
        }
    }
    let structure = if dependent {
        Structure::InjectedSignal
    } else {
        Structure::ShiftedSeries
    };
    finish(cols, dependent, DataKind::Provenance, structure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(seed: u64, count: usize, len: usize) -> Vec<Vec<f64>> {
        let mut r = SimRng::new(seed);
        (0..count)
            .map(|_| {
                let rate = r.range(0.1, 5.0);
                (0..len)
                    .map(|_| if r.chance(0.6) { 0.0 } else { r.poisson(rate) })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn cases_are_deterministic_and_balanced() {
        let cfg = SimConfig {
            max_samples: 200,
            ..SimConfig::default()
        };
        let real = series(1, 5, 300);
        let a = simulate_cases(&cfg, &real, 9, CaseStream::Training, 60, Labels::Balanced).unwrap();
        let b = simulate_cases(&cfg, &real, 9, CaseStream::Training, 60, Labels::Balanced).unwrap();
        assert_eq!(a.len(), 60);
        assert_eq!(a.iter().filter(|c| c.dependent).count(), 30);
        for (ca, cb) in a.iter().zip(&b) {
            assert_eq!(ca.data, cb.data);
            assert_eq!(ca.structure, cb.structure);
            assert_eq!(ca.structure.dependent(), ca.dependent);
            let n = ca.data.n_samples();
            assert!((50..=200).contains(&n), "{n}");
            assert!(ca.z.len() <= 3);
            assert_eq!(ca.data.n_vars(), 2 + ca.z.len());
        }
        let held =
            simulate_cases(&cfg, &real, 9, CaseStream::HeldOut, 60, Labels::Balanced).unwrap();
        assert!(a.iter().zip(&held).any(|(p, q)| p.data != q.data));
        for kind in [DataKind::Continuous, DataKind::Count, DataKind::Provenance] {
            assert!(a.iter().any(|c| c.kind == kind), "{kind:?} missing");
        }
    }

    #[test]
    fn null_only_gives_null_cases_and_counts_are_counts() {
        let cfg = SimConfig {
            max_samples: 120,
            ..SimConfig::default()
        };
        let cases =
            simulate_cases(&cfg, &[], 4, CaseStream::Calibration, 40, Labels::NullOnly).unwrap();
        assert!(cases
            .iter()
            .all(|c| !c.dependent && !c.structure.dependent()));
        for c in cases.iter().filter(|c| c.kind == DataKind::Count) {
            let x = c.data.column(0).unwrap();
            assert!(x.iter().all(|v| *v >= 0.0 && v.fract() == 0.0));
        }
    }

    #[test]
    fn provenance_null_breaks_alignment_and_dependent_injects_signal() {
        // A series and an exact copy: aligned they are perfectly dependent;
        // the null case must have rotated the copy away.
        let base = series(3, 1, 400).remove(0);
        let real = vec![base.clone(), base.clone(), base.clone()];
        let cfg = SimConfig {
            provenance_fraction: 1.0,
            max_conditioning: 0,
            min_samples: 300,
            max_samples: 300,
            ..SimConfig::default()
        };
        let pool = ProvenancePool::new(&real, cfg.min_samples).unwrap();
        let null = case_at(&cfg, &pool, 1, CaseStream::Training, 0, Labels::Balanced).unwrap();
        assert_eq!(null.structure, Structure::ShiftedSeries);
        assert_ne!(null.data.column(0).unwrap(), null.data.column(1).unwrap());
        let dep = case_at(&cfg, &pool, 1, CaseStream::Training, 1, Labels::Balanced).unwrap();
        assert_eq!(dep.structure, Structure::InjectedSignal);
        assert_eq!(dep.kind, DataKind::Provenance);
    }

    #[test]
    fn rejects_bad_series_and_config() {
        assert!(ProvenancePool::new(&[vec![1.0, f64::NAN]], 1).is_err());
        let pool = ProvenancePool::new(&vec![vec![1.0; 10]; 2], 5).unwrap();
        assert!(!pool.is_usable());
        let cfg = SimConfig {
            min_samples: 100,
            max_samples: 50,
            ..SimConfig::default()
        };
        assert!(cfg.validate().is_err());
        let cfg = SimConfig {
            count_fraction: 1.5,
            ..SimConfig::default()
        };
        assert!(cfg.validate().is_err());
    }
}
