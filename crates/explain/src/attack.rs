//! ATT&CK knowledge for explanations: which technique an event looks like.
//!
//! The technique table is data, not code: MITRE's Enterprise matrix
//! (`data/attack/`, updated from MITRE's STIX bundle with
//! [`AttackTable::read_stix_bundle`]), compiled in so nothing has to be installed.

mod capped;
mod json_items;
mod stix;
pub mod table;

pub use table::{AttackTable, Technique, TACTIC_ORDER};
