//! ATT&CK knowledge for explanations: which technique an event looks like.
//!
//! In: provenance [`event::Event`]s. Out: the mapping rules that match each
//! one, each naming an ATT&CK technique from the [`AttackTable`].
//! State: the technique table (a few hundred entries, fixed at load) and the
//! compiled rules; nothing grows while events are matched.
//!
//! Both the table and the rules are data, not code: the table is MITRE's
//! Enterprise matrix (`data/attack/`, updated from MITRE's STIX bundle with
//! [`AttackTable::read_stix_bundle`]), the rules are YAML
//! (`config/attack_rules.yaml`, extended by a SOC's own file with
//! [`RuleSet::merge`]). Both are compiled in, so nothing has to be installed.

mod capped;
mod json_items;
pub mod rules;
mod stix;
pub mod table;

pub use rules::{Rule, RuleSet};
pub use table::{AttackTable, Technique, TACTIC_ORDER};
