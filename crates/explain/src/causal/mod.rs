//! Causal discovery on the reduced graph (tiers 2 and 3).

pub mod causal_graph;
pub mod ci;
pub mod data;
pub mod discretize;
pub mod fisher_z;
pub mod gtest;
pub mod metrics;
pub mod neural;
pub mod pc;
pub mod rng;
pub mod scm;
pub mod select;
pub mod stats;

pub use causal_graph::{CausalEdge, CausalGraph};
pub use ci::{CiOutcome, CiTest};
pub use data::Dataset;
pub use fisher_z::FisherZ;
pub use gtest::{ChiSquare, GTest};
pub use metrics::{shd, shd_graphs};
pub use pc::{pc_stable, Background, PcConfig};
pub use rng::Rng;
pub use scm::Dag;
pub use select::{ci_by_name, CI_TEST_NAMES};
