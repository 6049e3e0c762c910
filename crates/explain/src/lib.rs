//! Explain: turns an alert into the story an analyst needs.
//!
//! In: the provenance events around an alert (or a seed entity) and the
//! detector's node scores when there are any. Out: a reduced graph (tier 1:
//! backward and forward tracing with dependency-explosion controls and blast
//! radius toward critical assets), a causal graph over its entities (tiers 2
//! and 3: temporal PC-Stable with ATT&CK tactic priors and pluggable CI tests,
//! among them a trained neural tester), ranked attack chains mapped to ATT&CK,
//! a narrative and counterfactuals verified by reachability.

pub mod activity;
pub mod attack;
pub mod causal;
pub mod chains;
pub mod config;
pub mod counterfactual;
mod error;
pub mod explainer;
pub mod narrative;
pub mod provgraph;
pub mod reduce;
pub mod report;
pub mod view;

pub use config::ExplainConfig;
pub use error::{Error, Result};
pub use explainer::Explainer;
pub use provgraph::ProvGraph;
pub use reduce::{Reduced, Reducer, Seed};
pub use view::{Explanation, EXPLANATION_SCHEMA};
