//! Causal discovery on the reduced graph (tiers 2 and 3).

pub mod ci;
pub mod data;
pub mod neural;

pub use ci::{CiOutcome, CiTest};
pub use data::Dataset;
