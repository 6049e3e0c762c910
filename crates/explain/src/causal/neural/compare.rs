//! Measuring CI tests against cases with a known answer: type-I error
//! (rejections among independent cases), power (rejections among dependent
//! ones) and cost, the same way for every [`CiTest`], so the neural tester
//! can be put beside Fisher-z and the G-test.

use std::time::Instant;

use serde::Serialize;

use crate::causal::ci::CiTest;
use crate::causal::neural::sim::{simulate_cases, CaseStream, CiCase, Labels, SimConfig};
use crate::error::{Error, Result};

/// How one test did on a set of cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CiReport {
    /// The test's [`CiTest::name`].
    pub name: String,
    /// Level the p-values were compared with.
    pub alpha: f64,
    /// Share of null cases with `p ≤ alpha` (NaN without null cases).
    pub type_i_error: f64,
    /// Share of dependent cases with `p ≤ alpha` (NaN without any).
    pub power: f64,
    /// Mean wall time of one call, failed calls included.
    pub micros_per_test: f64,
    /// Null cases the test answered.
    pub n_null: usize,
    /// Dependent cases the test answered.
    pub n_dependent: usize,
    /// Cases the test refused with an error (not counted in the rates; a
    /// discrete test on continuous data, for example).
    pub n_failed: usize,
}

/// Runs every test on every case and reports rejection rates at `alpha`.
///
/// # Errors
/// [`Error::BadArgument`] when `alpha` is not in (0, 1).
pub fn compare_ci_tests(
    tests: &[&dyn CiTest],
    cases: &[CiCase],
    alpha: f64,
) -> Result<Vec<CiReport>> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::BadArgument {
            what: "alpha",
            reason: format!("{alpha} is not in (0, 1)"),
        });
    }
    let mut reports = Vec::with_capacity(tests.len());
    for test in tests {
        let (mut null, mut null_rej, mut dep, mut dep_rej, mut failed) = (0, 0, 0, 0, 0);
        let mut seconds = 0.0;
        for case in cases {
            let started = Instant::now();
            let outcome = test.test(&case.data, case.x, case.y, &case.z);
            seconds += started.elapsed().as_secs_f64();
            match outcome {
                Ok(o) => {
                    let reject = o.p_value <= alpha;
                    if case.dependent {
                        dep += 1;
                        dep_rej += usize::from(reject);
                    } else {
                        null += 1;
                        null_rej += usize::from(reject);
                    }
                }
                Err(error) => {
                    failed += 1;
                    tracing::debug!(message = "CI test refused a case.", test = test.name(), %error);
                }
            }
        }
        let rate = |hits: usize, of: usize| {
            if of == 0 {
                f64::NAN
            } else {
                hits as f64 / of as f64
            }
        };
        reports.push(CiReport {
            name: test.name().to_owned(),
            alpha,
            type_i_error: rate(null_rej, null),
            power: rate(dep_rej, dep),
            micros_per_test: seconds * 1e6 / cases.len().max(1) as f64,
            n_null: null,
            n_dependent: dep,
            n_failed: failed,
        });
    }
    Ok(reports)
}

/// `n` balanced cases with known structure, drawn like the training cases
/// but from a separate stream: even with the training seed they are other
/// cases, and any seed gives a reproducible set.
///
/// # Errors
/// A bad `sim` config or non-finite real series.
pub fn held_out_cases(
    seed: u64,
    n: usize,
    sim: &SimConfig,
    real_series: &[Vec<f64>],
) -> Result<Vec<CiCase>> {
    simulate_cases(
        sim,
        real_series,
        seed,
        CaseStream::HeldOut,
        n,
        Labels::Balanced,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal::ci::CiOutcome;
    use crate::causal::data::Dataset;

    /// Rejects exactly the dependent cases, by peeking at a marker column.
    struct Oracle;
    impl CiTest for Oracle {
        fn name(&self) -> &'static str {
            "oracle"
        }
        fn test(&self, data: &Dataset, _: usize, _: usize, _: &[usize]) -> Result<CiOutcome> {
            let dependent = data.name(0) == Some("dep");
            Ok(CiOutcome {
                p_value: if dependent { 0.001 } else { 0.5 },
                statistic: 0.0,
            })
        }
    }

    /// Fails on everything.
    struct Refuser;
    impl CiTest for Refuser {
        fn name(&self) -> &'static str {
            "refuser"
        }
        fn test(&self, _: &Dataset, _: usize, _: usize, _: &[usize]) -> Result<CiOutcome> {
            Err(Error::BadData("no".into()))
        }
    }

    fn case(dependent: bool) -> CiCase {
        let name = if dependent { "dep" } else { "ind" };
        let mut c = held_out_cases(1, 2, &SimConfig::default(), &[])
            .unwrap()
            .remove(0);
        c.data = Dataset::new(
            vec![vec![0.0; 20], vec![1.0; 20]],
            vec![name.into(), "y".into()],
        )
        .unwrap();
        c.z.clear();
        c.dependent = dependent;
        c
    }

    #[test]
    fn rates_count_rejections_per_class() {
        let cases = vec![case(true), case(false), case(false), case(true), case(true)];
        let r = compare_ci_tests(&[&Oracle, &Refuser], &cases, 0.05).unwrap();
        assert_eq!(r[0].name, "oracle");
        assert_eq!((r[0].n_null, r[0].n_dependent, r[0].n_failed), (2, 3, 0));
        assert_eq!((r[0].type_i_error, r[0].power), (0.0, 1.0));
        assert_eq!(r[1].n_failed, 5);
        assert!(r[1].power.is_nan());
        assert!(compare_ci_tests(&[&Oracle], &cases, 1.0).is_err());
    }

    #[test]
    fn held_out_cases_are_balanced_and_differ_from_training() {
        let sim = SimConfig {
            max_samples: 100,
            ..SimConfig::default()
        };
        let held = held_out_cases(17, 20, &sim, &[]).unwrap();
        assert_eq!(held.iter().filter(|c| c.dependent).count(), 10);
        let train =
            simulate_cases(&sim, &[], 17, CaseStream::Training, 20, Labels::Balanced).unwrap();
        assert!(held.iter().zip(&train).all(|(h, t)| h.data != t.data));
    }

    /// The trained tester finds dependence on cases it never saw, and its
    /// p-values keep the type-I error near alpha. A tester that ignored its
    /// input would have power ≈ alpha; one whose p-values were miscalibrated
    /// (null scores from the wrong cases) would overshoot alpha.
    #[test]
    fn tiny_tester_has_power_and_controls_type_i_error() {
        let tester = crate::causal::neural::train::test_support::tiny_tester();
        let sim = crate::causal::neural::train::test_support::tiny().sim;
        let cases = held_out_cases(99, 400, &sim, &[]).unwrap();
        let r = compare_ci_tests(&[tester], &cases, 0.05).unwrap().remove(0);
        assert_eq!((r.n_null, r.n_dependent, r.n_failed), (200, 200, 0));
        // Measured 0.42 and 0.02 (debug and release alike: everything is seeded).
        assert!(
            r.power > 0.3,
            "power {} is not clearly above alpha",
            r.power
        );
        assert!(r.type_i_error < 0.1, "type-I error {}", r.type_i_error);
    }
}
