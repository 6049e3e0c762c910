//! Causal discovery on the reduced graph (tiers 2 and 3).

pub mod ci;
pub mod data;
pub mod discretize;
pub mod fisher_z;
pub mod gtest;
pub mod rng;
pub mod stats;

pub use ci::{CiOutcome, CiTest};
pub use data::Dataset;
pub use fisher_z::FisherZ;
pub use gtest::{ChiSquare, GTest};
pub use rng::Rng;
