//! ATT&CK technique mapping rules: YAML data (`config/attack_rules.yaml`)
//! compiled into per-edge-kind buckets so that one event is tested only
//! against the rules that can match its edge kind.
//!
//! A rule says "an event that looks like this is evidence of technique T";
//! the schema is in `rules/yaml.rs`. Rules are validated against the
//! [`AttackTable`] at load, so an explanation never names a revoked or
//! unknown technique.

mod condition;
mod yaml;

use std::path::Path;

use event::{EdgeKind, Event};

use self::condition::Conditions;
pub use self::yaml::DEFAULT_CONFIDENCE;
use super::capped::{self, was_cut};
use super::table::{bad_file, AttackTable};
use crate::Result;

/// The shipped rules, compiled in so that mapping needs no file.
const EMBEDDED_YAML: &str = include_str!("../../../../config/attack_rules.yaml");

/// Where the shipped rules came from, for error messages.
const EMBEDDED_PATH: &str = "config/attack_rules.yaml (embedded)";

/// Largest rule file read. Hand-written rule files are kilobytes; this
/// bounds what a wrong path (a log, a bundle) can make us load.
pub const MAX_RULES_BYTES: u64 = 16 * 1024 * 1024;

/// One mapping rule: conditions on an event plus the technique they indicate.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name (`lnx-shadow-read`); a later file's rule with the same id
    /// replaces this one in [`RuleSet::merge`].
    pub id: String,
    /// ATT&CK technique id, active in the table the rule was loaded against.
    pub technique: String,
    /// Why the behaviour indicates the technique, for the analyst.
    pub description: String,
    /// How specific the rule is, 0 to 1 ([`DEFAULT_CONFIDENCE`] unless set):
    /// a prior for ranking, not a calibrated probability.
    pub confidence: f64,
    conditions: Conditions,
}

impl Rule {
    /// True when `ev` meets every condition of the rule.
    pub fn matches(&self, ev: &Event) -> bool {
        self.conditions.holds(ev)
    }

    /// The edge kinds the rule is restricted to (`None`: any).
    pub fn edges(&self) -> Option<&[EdgeKind]> {
        self.conditions.edge.as_deref()
    }
}

/// A validated set of rules, indexed by edge kind.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// For each edge kind (by [`EdgeKind::index`]), the indices of the rules
    /// that may match it, ascending, so matches come in file order.
    by_edge: Vec<Vec<usize>>,
}

impl RuleSet {
    /// The shipped rules (`config/attack_rules.yaml`), validated against `table`.
    ///
    /// # Errors
    /// [`crate::Error::BadFile`] when a shipped rule names a technique that
    /// `table` does not hold as active (a test loads them against the embedded
    /// table).
    pub fn embedded(table: &AttackTable) -> Result<Self> {
        Self::parse_yaml(EMBEDDED_YAML, Path::new(EMBEDDED_PATH), table)
    }

    /// Loads a rule file (YAML, gzip or plain, at most [`MAX_RULES_BYTES`]).
    ///
    /// # Errors
    /// [`crate::Error::Io`] when it cannot be read; [`crate::Error::BadFile`]
    /// naming the file, the rule id (or index) and the field when a rule has
    /// an unknown field, an unknown edge, entity or format name, a bad regex,
    /// a confidence outside 0..=1, a duplicate id, or a technique that is
    /// absent, revoked or deprecated in `table`.
    pub fn load(path: &Path, table: &AttackTable) -> Result<Self> {
        let mut reader = capped::open_capped(path, MAX_RULES_BYTES)?;
        let doc: serde_norway::Value = serde_norway::from_reader(&mut reader).map_err(|e| {
            let reason = if was_cut(&reader) {
                format!("larger than {MAX_RULES_BYTES} bytes ({e})")
            } else {
                format!("YAML: {e}")
            };
            bad_file(path, reason)
        })?;
        let rules = yaml::rules_from_doc(&doc, path, table)?;
        tracing::debug!(message = "Loaded ATT&CK rules.", path = %path.display(), rules = rules.len());
        Ok(Self::from_rules(rules))
    }

    /// Parses rules from YAML text; `origin` names the text in errors.
    ///
    /// # Errors
    /// As [`RuleSet::load`], without the I/O.
    pub fn parse_yaml(text: &str, origin: &Path, table: &AttackTable) -> Result<Self> {
        yaml::parse_rules(text, origin, table).map(Self::from_rules)
    }

    fn from_rules(rules: Vec<Rule>) -> Self {
        let mut by_edge = vec![Vec::new(); EdgeKind::ALL.len()];
        for (i, rule) in rules.iter().enumerate() {
            for (bucket, kind) in by_edge.iter_mut().zip(EdgeKind::ALL) {
                if rule.edges().is_none_or(|e| e.contains(kind)) {
                    bucket.push(i);
                }
            }
        }
        Self { rules, by_edge }
    }

    /// Adds `other`'s rules on top of these (a SOC's file over the shipped
    /// one): a rule whose id is already here replaces the old rule in place,
    /// the others are appended in their order.
    pub fn merge(&mut self, other: RuleSet) {
        let mut rules = std::mem::take(&mut self.rules);
        for rule in other.rules {
            match rules.iter_mut().find(|r| r.id == rule.id) {
                Some(slot) => {
                    tracing::info!(message = "Rule replaced by a later file.", rule = %rule.id);
                    *slot = rule;
                }
                None => rules.push(rule),
            }
        }
        *self = Self::from_rules(rules);
    }

    /// The rules that match `ev`, in file order. Only the rules that can
    /// match `ev`'s edge kind are tested.
    pub fn matches<'a>(&'a self, ev: &'a Event) -> impl Iterator<Item = &'a Rule> + 'a {
        self.by_edge
            .get(ev.kind.index())
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| self.rules.get(i))
            .filter(move |r| r.matches(ev))
    }

    /// All rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use event::{Entity, EntityKind, SourceFormat, Timestamp};

    use super::*;

    fn table() -> AttackTable {
        AttackTable::embedded().unwrap()
    }

    fn event(kind: EdgeKind, exe: &str, cmdline: &str, object: &str) -> Event {
        let subject = Entity::named(EntityKind::Process, exe, None).with_cmdline(cmdline);
        Event {
            ts: Timestamp::from_nanos(0),
            kind,
            subject: Arc::new(subject),
            object: Arc::new(Entity::named(EntityKind::File, object, None)),
            native_type: "openat".into(),
            seq: 1,
            format: SourceFormat::Auditd,
        }
    }

    fn parse(yaml: &str) -> RuleSet {
        RuleSet::parse_yaml(yaml, Path::new("t.yaml"), &table()).unwrap()
    }

    const TWO_RULES: &str = r"
rules:
  - id: any-edge
    technique: T1082
    description: any event of uname
    subject_name: '/uname$'
  - id: reads
    technique: T1003.008
    description: shadow read
    edge: [read, open]
    object_name: '^/etc/shadow$'
";

    #[test]
    fn only_rules_for_the_event_edge_kind_are_tried_and_matches_keep_file_order() {
        let rules = parse(TWO_RULES);
        let read = event(EdgeKind::Read, "/usr/bin/uname", "uname", "/etc/shadow");
        let ids: Vec<_> = rules.matches(&read).map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["any-edge", "reads"]);
        let write = event(EdgeKind::Write, "/usr/bin/uname", "uname", "/etc/shadow");
        let ids: Vec<_> = rules.matches(&write).map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["any-edge"]);
        // The bucket of a kind no rule names still holds the edge-free rule.
        assert_eq!(rules.by_edge[EdgeKind::Mount.index()], [0]);
        assert_eq!(rules.by_edge[EdgeKind::Read.index()], [0, 1]);
    }

    #[test]
    fn confidence_defaults_and_is_kept() {
        let rules = parse(TWO_RULES);
        assert!((rules.rules()[0].confidence - DEFAULT_CONFIDENCE).abs() < f64::EPSILON);
    }

    #[test]
    fn negated_text_excludes_and_absent_attributes_neither_match_nor_exclude() {
        let rules = parse(
            r"
rules:
  - id: r
    technique: T1003.008
    description: d
    object_name: shadow
    not_subject_name: '/sudo$'
  - id: needs-cmdline
    technique: T1082
    description: d
    object_cmdline: x
",
        );
        let by_cat = event(EdgeKind::Read, "/usr/bin/cat", "cat", "/etc/shadow");
        let by_sudo = event(EdgeKind::Read, "/usr/bin/sudo", "sudo", "/etc/shadow");
        let mut nameless = by_cat.clone();
        nameless.subject = Arc::new(Entity::named(EntityKind::Process, "", None));
        Arc::make_mut(&mut nameless.subject).name = None;
        let ids = |e: &Event| rules.matches(e).map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&by_cat), ["r"]);
        assert!(ids(&by_sudo).is_empty());
        assert_eq!(ids(&nameless), ["r"], "no subject name: nothing to exclude");
    }

    #[test]
    fn merge_replaces_by_id_in_place_and_appends_new_rules() {
        let mut rules = parse(TWO_RULES);
        rules.merge(parse(
            r"
rules:
  - id: reads
    technique: T1003.008
    description: narrowed
    edge: [read]
    object_name: '^/etc/gshadow$'
  - id: extra
    technique: T1083
    description: new
    edge: [exec]
    subject_name: '/find$'
",
        ));
        let ids: Vec<_> = rules.rules().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["any-edge", "reads", "extra"]);
        assert_eq!(rules.get("reads").unwrap().description, "narrowed");
        let shadow = event(EdgeKind::Read, "/usr/bin/cat", "cat", "/etc/shadow");
        assert_eq!(rules.matches(&shadow).count(), 0);
        let exec = event(EdgeKind::Exec, "/usr/bin/find", "find /", "/usr/bin/find");
        assert_eq!(
            rules
                .matches(&exec)
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            ["extra"]
        );
    }

    #[test]
    fn a_rule_without_conditions_is_rejected() {
        let err = RuleSet::parse_yaml(
            "rules:\n  - id: all\n    technique: T1082\n    description: d\n",
            Path::new("t.yaml"),
            &table(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("rule `all` (rules[0])") && err.contains("no match condition"),
            "{err}"
        );
    }
}
