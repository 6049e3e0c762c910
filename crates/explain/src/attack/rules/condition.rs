//! The match conditions of one rule and how an event is tested against them.
//!
//! All conditions present must hold (AND); a list field holds when any of its
//! values does (OR). Cheap equality tests run before regexes.

use event::{EdgeKind, Entity, EntityKind, Event, SourceFormat};
use regex::Regex;

/// Which end of the edge a text condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The actor (`subject_*`).
    Subject,
    /// What it acted on (`object_*`).
    Object,
}

/// Which attribute of the entity a text condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr {
    /// [`Entity::name`]: executable, path, registry key, socket pair.
    Name,
    /// [`Entity::cmdline`].
    Cmdline,
}

/// A regex over one attribute of one end; `negated` conditions exclude.
#[derive(Debug, Clone)]
pub(crate) struct TextCondition {
    pub side: Side,
    pub attr: Attr,
    pub regex: Regex,
    /// True for `not_*` fields: the event is excluded when the regex matches.
    /// An absent attribute never excludes, just as it never matches a
    /// positive condition.
    pub negated: bool,
}

impl TextCondition {
    fn holds(&self, ev: &Event) -> bool {
        let entity: &Entity = match self.side {
            Side::Subject => &ev.subject,
            Side::Object => &ev.object,
        };
        let text = match self.attr {
            Attr::Name => entity.name.as_deref(),
            Attr::Cmdline => entity.cmdline.as_deref(),
        };
        match text {
            Some(t) => self.regex.is_match(t) != self.negated,
            None => self.negated,
        }
    }
}

/// True when a rule's `native_type` value names the event's native type:
/// equal to it, or equal to its event id before a `:` qualifier. The
/// Sysmon/Security parser writes access events as `<id>:<mask>`
/// (`10:0x1010`), so `"10"` means any Sysmon 10 and `"10:0x1010"` one mask.
fn native_type_matches(wanted: &str, native: &str) -> bool {
    native == wanted
        || native
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with(':'))
}

/// Every condition of a rule. `None` means "not constrained".
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    pub edge: Option<Vec<EdgeKind>>,
    pub native_type: Option<Vec<String>>,
    pub subject_kind: Option<Vec<EntityKind>>,
    pub object_kind: Option<Vec<EntityKind>>,
    pub format: Option<Vec<SourceFormat>>,
    /// Positive conditions first, then exclusions (the order they were read in otherwise).
    pub text: Vec<TextCondition>,
}

impl Conditions {
    /// True when nothing constrains the rule (it would match every event).
    pub fn is_empty(&self) -> bool {
        self.edge.is_none()
            && self.native_type.is_none()
            && self.subject_kind.is_none()
            && self.object_kind.is_none()
            && self.format.is_none()
            && self.text.is_empty()
    }

    /// True when `ev` meets every condition.
    pub fn holds(&self, ev: &Event) -> bool {
        fn any_of<T: PartialEq>(allowed: Option<&Vec<T>>, v: &T) -> bool {
            allowed.is_none_or(|a| a.contains(v))
        }
        any_of(self.edge.as_ref(), &ev.kind)
            && any_of(self.format.as_ref(), &ev.format)
            && any_of(self.subject_kind.as_ref(), &ev.subject.kind)
            && any_of(self.object_kind.as_ref(), &ev.object.kind)
            && self
                .native_type
                .as_ref()
                .is_none_or(|a| a.iter().any(|n| native_type_matches(n, &ev.native_type)))
            && self.text.iter().all(|c| c.holds(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::native_type_matches;

    #[test]
    fn native_type_matches_whole_or_id_before_qualifier() {
        assert!(native_type_matches("10", "10"));
        assert!(native_type_matches("10", "10:0x1010"));
        assert!(native_type_matches("10:0x1010", "10:0x1010"));
        assert!(!native_type_matches("10:0x1010", "10:0x1000"));
        assert!(!native_type_matches("1", "10"));
        assert!(!native_type_matches("1", "10:0x1010"));
        assert!(!native_type_matches("openat", "open"));
    }
}
