//! Picking a CI test by the name the config and the command line use.

use std::path::Path;

use crate::causal::{ChiSquare, CiTest, FisherZ, GTest};
use crate::error::{Error, Result};

/// Names `ci_by_name` knows.
pub const CI_TEST_NAMES: &[&str] = &["fisher-z", "g-test", "chi-square", "neural"];

/// The CI test called `name`; `neural` loads the trained tester from
/// `neural_checkpoint` (written by `train-ci-tester`).
///
/// # Errors
/// An unknown name (the error lists the known ones), or a neural checkpoint
/// that is missing or unreadable.
pub fn ci_by_name(name: &str, neural_checkpoint: Option<&Path>) -> Result<Box<dyn CiTest>> {
    match name {
        "fisher-z" => Ok(Box::new(FisherZ)),
        "g-test" => Ok(Box::new(GTest::new())),
        "chi-square" => Ok(Box::new(ChiSquare::new())),
        "neural" => {
            let path = neural_checkpoint.ok_or(Error::BadArgument {
                what: "ci_test",
                reason: "`neural` needs a tester checkpoint (train one with `causaldefend train-ci-tester`)".to_owned(),
            })?;
            Ok(Box::new(crate::causal::neural::NeuralCiTester::load(path)?))
        }
        other => Err(Error::BadArgument {
            what: "ci_test",
            reason: format!(
                "unknown CI test {other:?}; known: {}",
                CI_TEST_NAMES.join(", ")
            ),
        }),
    }
}
