//! A trained neural conditional-independence test.
//!
//! Classifier-based CI testing (after CCIT, Sen et al. 2017), amortised:
//! instead of fitting a classifier per question, a small network is trained
//! once on simulated questions with known answers, and each test is then
//! one feature extraction plus one forward pass.
//!
//! - [`features`]: the question "X ⫫ Y | Z on this dataset" as a fixed-size
//!   vector (rank transforms, residuals on Z, dependence summaries);
//! - [`sim`]: random structural causal models and semi-synthetic cases cut
//!   from real activity series, each with its answer;
//! - [`model`]: the network; [`train`]: fitting and p-value calibration;
//!   [`infer`]: the same network in plain arrays for one-case scoring;
//! - [`tester`]: the [`CiTest`](crate::causal::CiTest) implementation;
//!   [`checkpoint`]: safetensors save and load;
//! - [`compare`]: type-I error, power and cost of any CI tests on held-out
//!   cases.
//!
//! State: a tester holds its weights and the sorted null scores (a few
//! thousand floats); testing keeps nothing between calls.

pub mod checkpoint;
pub mod compare;
pub mod copula;
pub mod features;
pub mod infer;
pub mod model;
mod rng;
pub mod sim;
pub mod tester;
pub mod train;

pub use compare::{compare_ci_tests, held_out_cases, CiReport};
pub use features::{ci_features, FEATURE_DIM, FEATURE_SCHEMA};
pub use sim::{CiCase, DataKind, SimConfig, Structure};
pub use tester::{NeuralCiMeta, NeuralCiTester};
pub use train::{train_ci_tester, NeuralCiConfig};
