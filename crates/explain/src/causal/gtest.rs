//! G-test (likelihood ratio) and Pearson chi-square CI tests for discrete data.
//!
//! Each column is cut into at most `max_levels` levels (see
//! [`discretize`](crate::causal::discretize) for why the bins never split ties),
//! the samples are split into strata by the configuration of the conditioning
//! set, and the per-stratum statistics of the x × y tables are summed.
//!
//! Degrees of freedom are counted per stratum from the rows and columns that
//! are actually present, (r_s − 1)(c_s − 1), as causal-learn's and pcalg's G²
//! implementations do: with sparse, bursty counts most strata are small and
//! many cells are structurally empty, and the nominal (L−1)²·L^|z| would make
//! every test far too conservative.
//!
//! Too little data for the table: when n < `min_samples_per_df` × df, the
//! asymptotic chi-square law is unreliable and a rejection would mean nothing,
//! so the test answers p = 1, statistic 0 ("no evidence of dependence"), the
//! same heuristic as pcalg's `gSquareDis` (which uses 10 per df) and Tetrad. In
//! PC this removes edges whose dependence cannot be seen at that conditioning
//! size; raising `max_levels` makes it happen sooner.

use tracing::trace;

use crate::causal::ci::{CiOutcome, CiTest};
use crate::causal::data::Dataset;
use crate::causal::discretize::{discretize, Levels};
use crate::causal::stats::chi2_sf;
use crate::error::{Error, Result};

/// Default number of levels per column: 0, 1, 2+ for a quiet process's counts.
pub const DEFAULT_MAX_LEVELS: usize = 3;
/// Most levels per column the discrete tests accept. One stratum of an L×L
/// table already needs 5·(L−1)² samples to be testable (225 at L = 16), and the
/// count table holds strata × L² cells, so finer cuts only cost memory.
pub const MAX_TABLE_LEVELS: usize = 16;
/// Default samples required per degree of freedom before the test may reject.
pub const DEFAULT_MIN_SAMPLES_PER_DF: f64 = 5.0;

/// Settings shared by the two discrete tests.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TableSettings {
    max_levels: usize,
    min_samples_per_df: f64,
}

impl Default for TableSettings {
    fn default() -> Self {
        Self {
            max_levels: DEFAULT_MAX_LEVELS,
            min_samples_per_df: DEFAULT_MIN_SAMPLES_PER_DF,
        }
    }
}

impl TableSettings {
    fn with_max_levels(self, max_levels: usize) -> Result<Self> {
        if !(2..=MAX_TABLE_LEVELS).contains(&max_levels) {
            return Err(Error::BadArgument {
                what: "max_levels",
                reason: format!("must be in 2..={MAX_TABLE_LEVELS}, got {max_levels}"),
            });
        }
        Ok(Self { max_levels, ..self })
    }

    fn with_min_samples_per_df(self, min_samples_per_df: f64) -> Result<Self> {
        if !(min_samples_per_df.is_finite() && min_samples_per_df >= 0.0) {
            return Err(Error::BadArgument {
                what: "min_samples_per_df",
                reason: format!("must be finite and ≥ 0, got {min_samples_per_df}"),
            });
        }
        Ok(Self {
            min_samples_per_df,
            ..self
        })
    }
}

/// Which statistic to sum over the strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statistic {
    /// G = 2 Σ O ln(O / E).
    LikelihoodRatio,
    /// X² = Σ (O − E)² / E.
    Pearson,
}

/// G-test (likelihood-ratio chi-square) of X ⫫ Y | Z on discretized columns.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GTest {
    settings: TableSettings,
}

/// Pearson chi-square test of X ⫫ Y | Z on discretized columns.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChiSquare {
    settings: TableSettings,
}

macro_rules! discrete_test_builders {
    ($ty:ident) => {
        impl $ty {
            /// The test with [`DEFAULT_MAX_LEVELS`] and [`DEFAULT_MIN_SAMPLES_PER_DF`].
            pub fn new() -> Self {
                Self::default()
            }

            /// Cut each column into at most `max_levels` levels.
            ///
            /// # Errors
            /// [`Error::BadArgument`] unless 2 ≤ `max_levels` ≤ [`MAX_TABLE_LEVELS`].
            pub fn with_max_levels(self, max_levels: usize) -> Result<Self> {
                Ok(Self {
                    settings: self.settings.with_max_levels(max_levels)?,
                })
            }

            /// Answer p = 1 unless there are at least this many samples per degree of freedom.
            ///
            /// # Errors
            /// [`Error::BadArgument`] for a negative or non-finite value.
            pub fn with_min_samples_per_df(self, min_samples_per_df: f64) -> Result<Self> {
                Ok(Self {
                    settings: self.settings.with_min_samples_per_df(min_samples_per_df)?,
                })
            }

            /// Levels per column.
            pub fn max_levels(&self) -> usize {
                self.settings.max_levels
            }
        }
    };
}
discrete_test_builders!(GTest);
discrete_test_builders!(ChiSquare);

impl CiTest for GTest {
    fn name(&self) -> &'static str {
        "g-test"
    }

    fn test(&self, data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<CiOutcome> {
        run_test(data, x, y, z, self.settings, Statistic::LikelihoodRatio)
    }
}

impl CiTest for ChiSquare {
    fn name(&self) -> &'static str {
        "chi-square"
    }

    fn test(&self, data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<CiOutcome> {
        run_test(data, x, y, z, self.settings, Statistic::Pearson)
    }
}

/// The answer when the table cannot support a rejection.
const NO_EVIDENCE: CiOutcome = CiOutcome {
    p_value: 1.0,
    statistic: 0.0,
};

fn run_test(
    data: &Dataset,
    x: usize,
    y: usize,
    z: &[usize],
    settings: TableSettings,
    kind: Statistic,
) -> Result<CiOutcome> {
    if x == y || z.contains(&x) || z.contains(&y) {
        return Err(Error::BadArgument {
            what: "x, y, z",
            reason: format!("x = {x}, y = {y} and z = {z:?} must not overlap"),
        });
    }
    let lx = discretize(data.column(x)?, settings.max_levels);
    let ly = discretize(data.column(y)?, settings.max_levels);
    let lz = z
        .iter()
        .map(|&v| data.column(v).map(|c| discretize(c, settings.max_levels)))
        .collect::<Result<Vec<_>>>()?;
    let table = StratifiedTable::count(&lx, &ly, &lz);
    let (statistic, df) = table.statistic(kind);
    let n = data.n_samples() as f64;
    if df == 0 || n < settings.min_samples_per_df * df as f64 {
        trace!(
            message = "Too few samples for the table; answering independence.",
            x,
            y,
            z_len = z.len(),
            df,
            n_samples = data.n_samples()
        );
        return Ok(NO_EVIDENCE);
    }
    let statistic = statistic.max(0.0);
    Ok(CiOutcome {
        p_value: chi2_sf(statistic, df as f64),
        statistic,
    })
}

/// Counts of (stratum, x level, y level), the strata being the observed configurations of z.
struct StratifiedTable {
    n_strata: usize,
    nx: usize,
    ny: usize,
    counts: Vec<u32>,
}

impl StratifiedTable {
    fn count(lx: &Levels, ly: &Levels, lz: &[Levels]) -> Self {
        let n = lx.codes.len();
        // Stratum of each sample, relabelled densely after each z column so ids stay < n.
        let mut stratum = vec![0u32; n];
        let mut n_strata = usize::from(n > 0);
        for col in lz {
            let width = col.n_levels.max(1);
            let mut relabel: Vec<Option<u32>> = vec![None; n_strata * width];
            let mut next = 0u32;
            for (s, &code) in stratum.iter_mut().zip(&col.codes) {
                let key = *s as usize * width + usize::from(code);
                if let Some(slot) = relabel.get_mut(key) {
                    *s = *slot.get_or_insert_with(|| {
                        next += 1;
                        next - 1
                    });
                }
            }
            n_strata = next as usize;
        }
        let (nx, ny) = (lx.n_levels.max(1), ly.n_levels.max(1));
        let mut counts = vec![0u32; n_strata * nx * ny];
        for ((&s, &a), &b) in stratum.iter().zip(&lx.codes).zip(&ly.codes) {
            let cell = (s as usize * nx + usize::from(a)) * ny + usize::from(b);
            if let Some(c) = counts.get_mut(cell) {
                *c += 1;
            }
        }
        Self {
            n_strata,
            nx,
            ny,
            counts,
        }
    }

    /// The summed statistic and the degrees of freedom Σ_s (r_s − 1)(c_s − 1)
    /// over the rows and columns present in each stratum.
    fn statistic(&self, kind: Statistic) -> (f64, usize) {
        let mut total = 0.0;
        let mut df = 0usize;
        let cells = self.nx * self.ny;
        for s in 0..self.n_strata {
            let Some(block) = self.counts.get(s * cells..(s + 1) * cells) else {
                continue;
            };
            let mut rows = vec![0u32; self.nx];
            let mut cols = vec![0u32; self.ny];
            for (i, row) in block.chunks_exact(self.ny).enumerate() {
                for (j, &o) in row.iter().enumerate() {
                    if let Some(r) = rows.get_mut(i) {
                        *r += o;
                    }
                    if let Some(c) = cols.get_mut(j) {
                        *c += o;
                    }
                }
            }
            let n_s: u32 = rows.iter().sum();
            let rows_present = rows.iter().filter(|&&r| r > 0).count();
            let cols_present = cols.iter().filter(|&&c| c > 0).count();
            if rows_present < 2 || cols_present < 2 {
                continue;
            }
            df += (rows_present - 1) * (cols_present - 1);
            let n_s = f64::from(n_s);
            for (row, &r) in block.chunks_exact(self.ny).zip(&rows) {
                for (&o, &c) in row.iter().zip(&cols) {
                    if r == 0 || c == 0 {
                        continue;
                    }
                    let expected = f64::from(r) * f64::from(c) / n_s;
                    let observed = f64::from(o);
                    total += match kind {
                        Statistic::LikelihoodRatio if o > 0 => {
                            2.0 * observed * (observed / expected).ln()
                        }
                        Statistic::LikelihoodRatio => 0.0,
                        Statistic::Pearson => (observed - expected).powi(2) / expected,
                    };
                }
            }
        }
        (total, df)
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

    /// Samples realising a contingency table: `table[i][j]` copies of (x = i, y = j).
    fn from_table(table: &[&[usize]]) -> (Vec<f64>, Vec<f64>) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (i, row) in table.iter().enumerate() {
            for (j, &count) in row.iter().enumerate() {
                for _ in 0..count {
                    x.push(i as f64);
                    y.push(j as f64);
                }
            }
        }
        (x, y)
    }

    #[test]
    fn g_and_chi_square_match_a_hand_computed_2x2_table() {
        // Table [[30, 10], [10, 30]], n = 80: every expected count is 20, df = 1.
        //   G  = 2·(2·30·ln(30/20) + 2·10·ln(10/20)) = 120 ln 1.5 − 40 ln 2 = 20.929925750581912
        //   X² = 4·(10²/20) = 20
        // p-values with df = 1: P(χ²₁ ≥ s) = erfc(sqrt(s/2)); python3 standard library:
        //   math.erfc(math.sqrt((120*math.log(1.5)-40*math.log(2))/2)) = 4.763938479565467e-06
        //   math.erfc(math.sqrt(20/2))                                 = 7.744216431044074e-06
        let (x, y) = from_table(&[&[30, 10], &[10, 30]]);
        let data = dataset(vec![x, y]);
        let g = GTest::new().test(&data, 0, 1, &[]).unwrap();
        let want_g = 120.0 * 1.5f64.ln() - 40.0 * 2f64.ln();
        assert!((g.statistic - want_g).abs() < 1e-10, "G = {}", g.statistic);
        assert!(
            (g.p_value / 4.763938479565467e-06 - 1.0).abs() < 1e-9,
            "{}",
            g.p_value
        );
        let c = ChiSquare::new().test(&data, 0, 1, &[]).unwrap();
        assert!((c.statistic - 20.0).abs() < 1e-10);
        assert!(
            (c.p_value / 7.744216431044074e-06 - 1.0).abs() < 1e-9,
            "{}",
            c.p_value
        );
    }

    #[test]
    fn strata_sum_and_empty_rows_reduce_degrees_of_freedom() {
        // Stratum z=0: x, y ∈ {0,1} with table [[20,0],[0,20]]; stratum z=1: x is always 2
        // (one row present, df 0). Total df = 1, G = 2·40·ln 2 from stratum 0 alone.
        let (mut x, mut y) = from_table(&[&[20, 0], &[0, 20]]);
        let mut z = vec![0.0; 40];
        x.extend([2.0; 30]);
        y.extend((0..30).map(|i| f64::from(i % 2)));
        z.extend([1.0; 30]);
        let data = dataset(vec![x, y, z]);
        let g = GTest::new()
            .with_min_samples_per_df(0.0)
            .unwrap()
            .test(&data, 0, 1, &[2])
            .unwrap();
        assert!(
            (g.statistic - 80.0 * 2f64.ln()).abs() < 1e-9,
            "{}",
            g.statistic
        );
        let want_p = crate::causal::stats::chi2_sf(80.0 * 2f64.ln(), 1.0);
        assert!((g.p_value - want_p).abs() < 1e-15);
    }

    #[test]
    fn constant_column_gives_p_one() {
        let data = dataset(vec![vec![0.0, 1.0, 2.0, 1.0, 0.0, 2.0], vec![5.0; 6]]);
        for test in [&GTest::new() as &dyn CiTest, &ChiSquare::new()] {
            let out = test.test(&data, 0, 1, &[]).unwrap();
            assert_eq!(out, NO_EVIDENCE);
        }
    }

    #[test]
    fn too_small_for_the_table_answers_no_evidence() {
        // 3×3 table (df 4) from 12 samples: below 5 per df, so no rejection however skewed.
        let (x, y) = from_table(&[&[4, 0, 0], &[0, 4, 0], &[0, 0, 4]]);
        let data = dataset(vec![x, y]);
        assert_eq!(GTest::new().test(&data, 0, 1, &[]).unwrap(), NO_EVIDENCE);
        let strict = GTest::new().with_min_samples_per_df(1.0).unwrap();
        assert!(strict.test(&data, 0, 1, &[]).unwrap().p_value < 0.01);
    }

    #[test]
    fn detects_dependent_counts_and_accepts_independent_ones() {
        let mut rng = Rng::seed_from_u64(21);
        let a: Vec<f64> = (0..800).map(|_| rng.poisson(1.0) as f64).collect();
        let b: Vec<f64> = a.iter().map(|&v| rng.poisson(0.3 + v) as f64).collect();
        let c: Vec<f64> = (0..800).map(|_| rng.poisson(1.0) as f64).collect();
        let data = dataset(vec![a, b, c]);
        let g = GTest::new();
        assert!(g.test(&data, 0, 1, &[]).unwrap().p_value < 1e-6);
        assert!(g.test(&data, 0, 2, &[]).unwrap().p_value > 0.01);
        assert!(g.test(&data, 1, 2, &[0]).unwrap().p_value > 0.01);
    }

    #[test]
    fn rejects_bad_settings_and_overlapping_sets() {
        assert!(GTest::new().with_max_levels(1).is_err());
        assert!(ChiSquare::new().with_max_levels(17).is_err());
        assert!(ChiSquare::new().with_max_levels(16).is_ok());
        assert!(GTest::new().with_min_samples_per_df(f64::NAN).is_err());
        let data = dataset(vec![vec![0.0, 1.0], vec![1.0, 0.0]]);
        assert!(matches!(
            GTest::new().test(&data, 0, 1, &[1]),
            Err(Error::BadArgument { .. })
        ));
        assert!(matches!(
            GTest::new().test(&data, 0, 4, &[]),
            Err(Error::NoSuchVariable { .. })
        ));
    }
}
