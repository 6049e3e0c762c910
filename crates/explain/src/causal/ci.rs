//! Conditional-independence tests: the pluggable part of PC-Stable.

use crate::causal::data::Dataset;
use crate::error::Result;

/// What a CI test says about X ⫫ Y | Z.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CiOutcome {
    /// p-value of the null hypothesis "X and Y are independent given Z"
    /// (small: dependent).
    pub p_value: f64,
    /// The test's statistic (test-specific scale; larger = more dependent).
    pub statistic: f64,
}

/// A conditional-independence test. Implementations: Fisher-z (continuous),
/// G-test and chi-square (discrete), and the trained neural tester.
pub trait CiTest: Send + Sync {
    /// Short stable name (`fisher-z`, `g-test`, `chi-square`, `neural`), used in outputs.
    fn name(&self) -> &'static str;

    /// Tests X ⫫ Y | Z on `data`; `x`, `y` and the members of `z` are column indices.
    ///
    /// # Errors
    /// An index out of range, or data the test cannot use (for example fewer samples than it needs).
    fn test(&self, data: &Dataset, x: usize, y: usize, z: &[usize]) -> Result<CiOutcome>;
}
