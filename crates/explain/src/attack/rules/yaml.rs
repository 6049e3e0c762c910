//! Reading rules from YAML and validating each field, so that a mistake in a
//! rule file is reported at load with the rule and field it is in, never
//! discovered as a silent non-match later.
//!
//! Schema (top level `rules:`, a list of mappings):
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `id` | string, unique | rule name used in explanations and by [`super::RuleSet::merge`] |
//! | `technique` | ATT&CK id | must be active (not revoked or deprecated) in the table |
//! | `description` | string | why the behaviour indicates the technique |
//! | `confidence` | 0..=1, default 0.8 | how specific the rule is |
//! | `edge` | edge kind name(s) | [`event::EdgeKind::as_str`] names |
//! | `native_type` | string(s) | the source's own event type (syscall `openat`, Sysmon id `"10"`); `"10"` also matches the parser's `10:<access mask>` |
//! | `subject_kind`, `object_kind` | entity kind name(s) | [`event::EntityKind::as_str`] names |
//! | `format` | source name(s) | `auditd`, `sysmon-evtx`, `sysmon-json`, `darpa_tc`, `streamspot` |
//! | `subject_name`, `subject_cmdline`, `object_name`, `object_cmdline` | regex | must match the attribute (absent attribute: no match) |
//! | `not_subject_name`, `not_subject_cmdline`, `not_object_name`, `not_object_cmdline` | regex | must not match (absent attribute: no exclusion) |
//!
//! A field may hold one value or a list. Regexes use the `regex` crate's
//! syntax; `(?i)` makes them case-insensitive.

use std::collections::HashSet;
use std::path::Path;

use event::{EdgeKind, EntityKind, SourceFormat};
use regex::Regex;
use serde_norway::{Mapping, Value};

use super::condition::{Attr, Conditions, Side, TextCondition};
use super::Rule;
use crate::attack::table::{bad_file, AttackTable};
use crate::Result;

/// Confidence of a rule that does not say.
pub const DEFAULT_CONFIDENCE: f64 = 0.8;

/// Every source format by its name. The exhaustive match below stops the
/// build when `event` adds a format this list lacks.
const FORMATS: [SourceFormat; 5] = [
    SourceFormat::Auditd,
    SourceFormat::SysmonEvtx,
    SourceFormat::SysmonJson,
    SourceFormat::DarpaTc,
    SourceFormat::StreamSpot,
];
const _: () = {
    const fn listed(f: SourceFormat) {
        match f {
            SourceFormat::Auditd
            | SourceFormat::SysmonEvtx
            | SourceFormat::SysmonJson
            | SourceFormat::DarpaTc
            | SourceFormat::StreamSpot => {}
        }
    }
    listed(SourceFormat::Auditd);
};

/// The text-condition fields: name, end, attribute, negated.
const TEXT_FIELDS: [(&str, Side, Attr, bool); 8] = [
    ("subject_name", Side::Subject, Attr::Name, false),
    ("subject_cmdline", Side::Subject, Attr::Cmdline, false),
    ("object_name", Side::Object, Attr::Name, false),
    ("object_cmdline", Side::Object, Attr::Cmdline, false),
    ("not_subject_name", Side::Subject, Attr::Name, true),
    ("not_subject_cmdline", Side::Subject, Attr::Cmdline, true),
    ("not_object_name", Side::Object, Attr::Name, true),
    ("not_object_cmdline", Side::Object, Attr::Cmdline, true),
];

/// Parses a rule file's text. `origin` names it in errors.
pub(super) fn parse_rules(text: &str, origin: &Path, table: &AttackTable) -> Result<Vec<Rule>> {
    let doc: Value =
        serde_norway::from_str(text).map_err(|e| bad_file(origin, format!("YAML: {e}")))?;
    rules_from_doc(&doc, origin, table)
}

/// Validates a parsed YAML document into rules.
pub(super) fn rules_from_doc(doc: &Value, origin: &Path, table: &AttackTable) -> Result<Vec<Rule>> {
    let top = doc.as_mapping().ok_or_else(|| {
        bad_file(
            origin,
            "top level: expected a mapping with `rules:`".to_owned(),
        )
    })?;
    let mut list = None;
    for (k, v) in top {
        match k.as_str() {
            Some("rules") => list = Some(v),
            _ => {
                return Err(bad_file(
                    origin,
                    format!(
                        "top level: unknown field `{}` (expected `rules`)",
                        key_text(k)
                    ),
                ))
            }
        }
    }
    let items = list
        .and_then(Value::as_sequence)
        .ok_or_else(|| bad_file(origin, "top level: `rules` must be a list".to_owned()))?;
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let rule =
            rule_from_value(item, index, table).map_err(|f| bad_file(origin, f.to_string()))?;
        if !seen.insert(rule.id.clone()) {
            return Err(bad_file(
                origin,
                RuleFault::new(&rule.id, index, "id", "used by an earlier rule".to_owned())
                    .to_string(),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// What is wrong with one rule: which rule and which field.
struct RuleFault {
    /// The rule's id, or `#<index>` when it has none.
    rule: String,
    index: usize,
    field: String,
    reason: String,
}

impl RuleFault {
    fn new(rule: &str, index: usize, field: &str, reason: String) -> Self {
        Self {
            rule: rule.to_owned(),
            index,
            field: field.to_owned(),
            reason,
        }
    }
}

impl std::fmt::Display for RuleFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule `{}` (rules[{}]), field `{}`: {}",
            self.rule, self.index, self.field, self.reason
        )
    }
}

fn rule_from_value(
    item: &Value,
    index: usize,
    table: &AttackTable,
) -> std::result::Result<Rule, RuleFault> {
    let anon = format!("#{index}");
    let map: &Mapping = item
        .as_mapping()
        .ok_or_else(|| RuleFault::new(&anon, index, "-", "expected a mapping".to_owned()))?;
    let id = match map.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(RuleFault::new(
                &anon,
                index,
                "id",
                "missing or not a non-empty string".to_owned(),
            ))
        }
    };
    let fault = |field: &str, reason: String| RuleFault::new(&id, index, field, reason);

    let mut technique = None;
    let mut description = None;
    let mut confidence = DEFAULT_CONFIDENCE;
    let mut cond = Conditions::default();
    let mut negated = Vec::new();
    for (k, v) in map {
        let Some(field) = k.as_str() else {
            return Err(fault(
                &key_text(k),
                "field names must be strings".to_owned(),
            ));
        };
        let bad = |reason: String| fault(field, reason);
        match field {
            "id" => {}
            "technique" => {
                let t = string(v).map_err(bad)?;
                technique = Some(check_technique(t, table).map_err(bad)?);
            }
            "description" => description = Some(string(v).map_err(bad)?.to_owned()),
            "confidence" => {
                confidence = v
                    .as_f64()
                    .filter(|c| (0.0..=1.0).contains(c))
                    .ok_or_else(|| {
                        bad(format!(
                            "expected a number from 0 to 1, found {}",
                            value_text(v)
                        ))
                    })?;
            }
            "edge" => cond.edge = Some(names(v, |s| s.parse::<EdgeKind>().ok()).map_err(bad)?),
            "native_type" => {
                cond.native_type = Some(names(v, |s| Some(s.to_owned())).map_err(bad)?)
            }
            "subject_kind" => {
                cond.subject_kind = Some(names(v, |s| s.parse::<EntityKind>().ok()).map_err(bad)?)
            }
            "object_kind" => {
                cond.object_kind = Some(names(v, |s| s.parse::<EntityKind>().ok()).map_err(bad)?)
            }
            "format" => {
                cond.format =
                    Some(names(v, |s| FORMATS.into_iter().find(|f| f.as_str() == s)).map_err(bad)?);
            }
            other => {
                let Some((_, side, attr, neg)) = TEXT_FIELDS.iter().find(|t| t.0 == other) else {
                    return Err(bad("unknown field".to_owned()));
                };
                let pattern = string(v).map_err(bad)?;
                let regex = Regex::new(pattern).map_err(|e| bad(format!("bad regex: {e}")))?;
                let c = TextCondition {
                    side: *side,
                    attr: *attr,
                    regex,
                    negated: *neg,
                };
                if *neg {
                    negated.push(c);
                } else {
                    cond.text.push(c);
                }
            }
        }
    }
    cond.text.extend(negated);
    let technique = technique.ok_or_else(|| fault("technique", "missing".to_owned()))?;
    let description = description
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| fault("description", "missing or empty".to_owned()))?;
    if cond.is_empty() {
        return Err(fault(
            "-",
            "no match condition: the rule would match every event".to_owned(),
        ));
    }
    Ok(Rule {
        id,
        technique,
        description,
        confidence,
        conditions: cond,
    })
}

/// The technique id when it is active in the table.
fn check_technique(id: &str, table: &AttackTable) -> std::result::Result<String, String> {
    match table.get(id) {
        None => Err(format!(
            "{id} is not a technique of ATT&CK {}",
            table.version()
        )),
        Some(t) if t.revoked => Err(format!(
            "{id} ({}) is revoked in ATT&CK {}",
            t.name,
            table.version()
        )),
        Some(t) if t.deprecated => Err(format!(
            "{id} ({}) is deprecated in ATT&CK {}",
            t.name,
            table.version()
        )),
        Some(t) => Ok(t.id.clone()),
    }
}

fn string(v: &Value) -> std::result::Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("expected a string, found {}", value_text(v)))
}

/// One name or a non-empty list of names, each turned into a `T` by `parse`.
/// Numbers are taken as their text, so `native_type: 10` works as `"10"`.
fn names<T>(v: &Value, parse: impl Fn(&str) -> Option<T>) -> std::result::Result<Vec<T>, String> {
    let one = |x: &Value| -> std::result::Result<T, String> {
        let text = match x {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("expected a name, found {}", value_text(other))),
        };
        parse(&text).ok_or_else(|| format!("unknown value `{text}`"))
    };
    let out = match v {
        Value::Sequence(items) => items
            .iter()
            .map(one)
            .collect::<std::result::Result<Vec<_>, _>>()?,
        single => vec![one(single)?],
    };
    if out.is_empty() {
        return Err("empty list (leave the field out instead)".to_owned());
    }
    Ok(out)
}

fn key_text(k: &Value) -> String {
    k.as_str().map_or_else(|| value_text(k), str::to_owned)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("`{s}`"),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(_) => "a tagged value".to_owned(),
    }
}
